/* npipe_common.h - shared by npipe_srv.exe and npipe_cli.exe. Written for ipcemu. */
#ifndef IPCEMU_WIN32_NPIPE_COMMON_H
#define IPCEMU_WIN32_NPIPE_COMMON_H

#define NPIPE_NAME "\\\\.\\pipe\\ipcemu_np"
#define NPIPE_MSGS 5 /* messages each client sends; message 0 is the long one */
#define NPIPE_LONG 100 /* length of message 0: more than the server's first read (64 bytes) */

/* Message i of client c into buf; returns its length. */
static unsigned npipe_msg(char *buf, unsigned c, unsigned i)
{
    struct rt_line l = {0};
    rt_puts(&l, "client ");
    rt_putu(&l, c);
    rt_puts(&l, " message ");
    rt_putu(&l, i);
    if (i == 0)
        for (unsigned k = l.len; k < NPIPE_LONG; k++)
            l.buf[l.len++] = (char)('a' + k % 26);
    for (unsigned k = 0; k < l.len; k++)
        buf[k] = l.buf[k];
    return l.len;
}

/* The server's answer to a message: the same bytes, upper-cased, behind "ack ". */
static unsigned npipe_reply(char *out, const char *msg, unsigned len)
{
    out[0] = 'a';
    out[1] = 'c';
    out[2] = 'k';
    out[3] = ' ';
    for (unsigned k = 0; k < len; k++) {
        char ch = msg[k];
        out[4 + k] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
    return len + 4;
}

#endif
