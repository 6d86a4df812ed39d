/* coresrv/sl/sl_api.h - the service locator of ipcemu's KasperskyOS-style IPC personality:
 * turns a connection name (the "id" of a connection in the init file) into an IPC handle.
 *
 * Trap: int 0x91, eax = 4 (connect) or 5 (register), arguments in ebx/ecx/edx/esi, Handle in eax.
 * The ABI is described in docs/kos.md.
 *
 * Written for ipcemu (not KasperskyOS code). SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef IPCEMU_CORESRV_SL_SL_API_H
#define IPCEMU_CORESRV_SL_SL_API_H

#include <coresrv/syscalls.h>

/* Client: the client handle of this entity's connection named `connection`, or INVALID_HANDLE
 * when this entity has no such client connection. */
static inline Handle ServiceLocatorConnect(const char *connection)
{
    Handle h;
    __asm__ volatile("int $0x91"
                     : "=a"(h)
                     : "0"(KOS_FN_SL_CONNECT), "b"(connection)
                     : "memory");
    return h;
}

/* Server: the server handle of the connection(s) named `connection` that this entity serves, or
 * INVALID_HANDLE. `unused` and `unusedSize` are ignored. When `iid` is not 0 the kernel writes the
 * interface id there (always 0: each connection has one interface, riid 0). */
static inline Handle ServiceLocatorRegister(const char *connection, void *unused,
                                            unsigned int unusedSize, unsigned int *iid)
{
    Handle h;
    __asm__ volatile("int $0x91"
                     : "=a"(h)
                     : "0"(KOS_FN_SL_REGISTER), "b"(connection), "c"(unused), "d"(unusedSize),
                       "S"(iid)
                     : "memory");
    return h;
}

#endif
