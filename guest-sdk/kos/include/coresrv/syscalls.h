/* coresrv/syscalls.h - Call, Recv and Reply for ipcemu's KasperskyOS-style IPC personality.
 *
 * Trap: int 0x91; eax = function number, ebx/ecx/edx = arguments, Retcode in eax; every other
 * register is preserved. The kernel reads and writes the message buffers, hence the "memory"
 * clobber. The ABI is described in docs/kos.md.
 *
 * Written for ipcemu (not KasperskyOS code). SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef IPCEMU_CORESRV_SYSCALLS_H
#define IPCEMU_CORESRV_SYSCALLS_H

#include <kos/types.h>

#define KOS_TRAP_VECTOR 0x91
#define KOS_FN_CALL     1
#define KOS_FN_RECV     2
#define KOS_FN_REPLY    3
#define KOS_FN_SL_CONNECT  4
#define KOS_FN_SL_REGISTER 5

/* Client: send the request msgOut on the client handle and block until the response has been
 * written to msgIn (msgIn->size = its capacity on input, the response length on output). */
static inline Retcode Call(Handle handle, const SMsgHdr *msgOut, SMsgHdr *msgIn)
{
    Retcode rc;
    __asm__ volatile("int $0x91"
                     : "=a"(rc)
                     : "0"(KOS_FN_CALL), "b"(handle), "c"(msgOut), "d"(msgIn)
                     : "memory");
    return rc;
}

/* Server: block until a request arrives on the server handle and write it to msgIn
 * (msgIn->size = its capacity on input, the request length on output). */
static inline Retcode Recv(Handle handle, SMsgHdr *msgIn)
{
    Retcode rc;
    __asm__ volatile("int $0x91"
                     : "=a"(rc)
                     : "0"(KOS_FN_RECV), "b"(handle), "c"(msgIn)
                     : "memory");
    return rc;
}

/* Server: answer the request last received on the server handle with msgOut. */
static inline Retcode Reply(Handle handle, const SMsgHdr *msgOut)
{
    Retcode rc;
    __asm__ volatile("int $0x91"
                     : "=a"(rc)
                     : "0"(KOS_FN_REPLY), "b"(handle), "c"(msgOut)
                     : "memory");
    return rc;
}

#endif
