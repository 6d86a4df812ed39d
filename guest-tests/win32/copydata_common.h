/* copydata_common.h - shared by copydata_a.exe and copydata_b.exe. Written for ipcemu. */
#ifndef IPCEMU_WIN32_COPYDATA_COMMON_H
#define IPCEMU_WIN32_COPYDATA_COMMON_H

#define CD_CLASS_A "ipcemu_cd_a"
#define CD_TITLE_A "ipcemu copydata A"
#define CD_CLASS_B "ipcemu_cd_b"
#define CD_TITLE_B "ipcemu copydata B"
#define CD_END 0xE0D /* COPYDATASTRUCT.dwData of the last message (no payload): A ends */

/* Payload of message i (dwData = i + 1): 1..200 bytes; returns the length. */
static unsigned cd_payload(unsigned char *buf, unsigned i)
{
    unsigned len = 1 + (i * 53) % 200;
    for (unsigned k = 0; k < len; k++)
        buf[k] = (unsigned char)(i + k * 31);
    return len;
}

/* What A's window procedure returns for a payload: a checksum, never 0. */
static LRESULT cd_sum(const unsigned char *p, unsigned len)
{
    DWORD s = 0x12345;
    for (unsigned k = 0; k < len; k++)
        s = s * 33 + p[k];
    return (LRESULT)(s | 1);
}

#endif
