/* kos/types.h - the types and constants of ipcemu's KasperskyOS-style IPC personality:
 * Handle, Retcode and its rc* codes, the message header SMsgHdr, KOS_MSG_MAX.
 * The ABI is described in docs/kos.md.
 *
 * Written for ipcemu (not KasperskyOS code). SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef IPCEMU_KOS_TYPES_H
#define IPCEMU_KOS_TYPES_H

/* exact-width types without any C library */
typedef unsigned int kos_u32;
typedef int kos_i32;
typedef char kos_assert_u32_size[sizeof(kos_u32) == 4 ? 1 : -1];

/* An IPC handle: a small per-entity number handed out by the service locator. */
typedef kos_u32 Handle;
#define INVALID_HANDLE ((Handle)0)

/* The result of Call, Recv and Reply: the value of eax after the trap. Unsigned 32 bits. */
typedef kos_u32 Retcode;

#define rcOk               ((Retcode)0) /* done */
#define rcInvalidArgument  ((Retcode)1) /* bad header size or a buffer outside guest memory */
#define rcNotConnected     ((Retcode)2) /* the server of the connection is not (or no longer) running */
#define rcSecurityDisallow ((Retcode)3) /* the policy denied the request or the response */
#define rcBufferTooSmall   ((Retcode)4) /* the message does not fit the receiver's stated capacity */
#define rcPeerEnded        ((Retcode)5) /* the other side ended during the exchange */
#define rcNoRequest        ((Retcode)6) /* Reply without a received, unanswered request */
#define rcBadHandle        ((Retcode)7) /* unknown handle, or a handle of the wrong side */
#define rcTimeout          ((Retcode)8) /* reserved; not produced yet */

/* Every IPC message starts with this 16-byte header; the payload follows it directly. */
typedef struct SMsgHdr {
    kos_u32 size;     /* bytes of the whole message, header included (16..KOS_MSG_MAX).
                         In a receive buffer: its capacity on input, the length written on output. */
    kos_u32 riid;     /* interface id: carried unchanged by the kernel, matched by policy rules */
    kos_u32 mid;      /* method id: carried unchanged by the kernel, matched by policy rules */
    kos_u32 reserved; /* ignored by the kernel and carried unchanged; write 0 */
} SMsgHdr;

typedef char kos_assert_hdr_size[sizeof(SMsgHdr) == 16 ? 1 : -1];

#define KOS_MSG_HDR_SIZE 16u
#define KOS_MSG_MAX      65536u /* largest message, header included */

/* The payload that follows a header. */
#define KOS_MSG_PAYLOAD(hdr) ((void *)((char *)(hdr) + KOS_MSG_HDR_SIZE))

#endif
