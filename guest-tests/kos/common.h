/* common.h - what the KasperskyOS-style guest tests share: return-code names, result lines for
 * expected return codes, the method numbers of the test protocols.
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KOS_TEST_COMMON_H
#define KOS_TEST_COMMON_H

#include <coresrv/syscalls.h>
#include <coresrv/sl/sl_api.h>
#include <ipcemu/rt.h>

#define MID_QUIT 0xFFFFu /* every test server: reply (empty payload) and count a quit */
#define MID_ADD  1u      /* calc_srv: payload {u32 a, u32 b} -> payload {u32 a + b} */
#define MID_MUL  2u      /* calc_srv: payload {u32 a, u32 b} -> payload {u32 a * b} */

/* not a kernel code: a test's own "the reply was wrong" */
#define RC_BAD_REPLY ((Retcode)0x100)

static inline const char *rc_name(Retcode rc)
{
    switch (rc) {
    case rcOk: return "rcOk";
    case rcInvalidArgument: return "rcInvalidArgument";
    case rcNotConnected: return "rcNotConnected";
    case rcSecurityDisallow: return "rcSecurityDisallow";
    case rcBufferTooSmall: return "rcBufferTooSmall";
    case rcPeerEnded: return "rcPeerEnded";
    case rcNoRequest: return "rcNoRequest";
    case rcBadHandle: return "rcBadHandle";
    case rcTimeout: return "rcTimeout";
    case RC_BAD_REPLY: return "a wrong reply";
    default: return 0;
    }
}

/* the name of a return code, or "rc <number>" */
static inline void out_rc(Retcode rc)
{
    const char *name = rc_name(rc);
    if (name) {
        out_s(name);
    } else {
        out_s("rc ");
        out_u(rc);
    }
}

/* "PASS <name> <what> -> <want>" or "FAIL <name> <what> -> <got>, expected <want>" */
static inline int expect_rc(const char *what, Retcode got, Retcode want)
{
    int ok = got == want;
    result_begin(ok);
    out_s(what);
    out_s(" -> ");
    out_rc(got);
    if (!ok) {
        out_s(", expected ");
        out_rc(want);
    }
    out_end();
    return ok;
}

/* "PASS <name> <what> -> INVALID_HANDLE" or "FAIL <name> <what> -> handle <h>, expected ..." */
static inline int expect_invalid_handle(const char *what, Handle h)
{
    int ok = h == INVALID_HANDLE;
    result_begin(ok);
    out_s(what);
    out_s(" -> ");
    if (ok) {
        out_s("INVALID_HANDLE");
    } else {
        out_s("handle ");
        out_u(h);
        out_s(", expected INVALID_HANDLE");
    }
    out_end();
    return ok;
}

/* ServiceLocatorConnect with a result line "connected to <name>"; INVALID_HANDLE is a FAIL */
static inline Handle connect_or_fail(const char *connection)
{
    Handle h = ServiceLocatorConnect(connection);
    result_begin(h != INVALID_HANDLE);
    if (h != INVALID_HANDLE) {
        out_s("connected to ");
        out_s(connection);
    } else {
        out_s("ServiceLocatorConnect(\"");
        out_s(connection);
        out_s("\") -> INVALID_HANDLE");
    }
    out_end();
    return h;
}

/* ServiceLocatorRegister with a result line "registered <name>"; the kernel must also write
 * iid 0. INVALID_HANDLE or another iid is a FAIL (and INVALID_HANDLE is returned then). */
static inline Handle register_or_fail(const char *connection)
{
    unsigned int iid = 0xFFFFFFFFu;
    Handle h = ServiceLocatorRegister(connection, 0, 0, &iid);
    int ok = h != INVALID_HANDLE && iid == 0;
    result_begin(ok);
    if (ok) {
        out_s("registered ");
        out_s(connection);
    } else {
        out_s("ServiceLocatorRegister(\"");
        out_s(connection);
        out_s("\") -> handle ");
        out_u(h);
        out_s(", iid ");
        out_x(iid);
    }
    out_end();
    return ok ? h : INVALID_HANDLE;
}

/* a message with room for small payloads */
struct small_msg {
    SMsgHdr hdr;
    u8 data[256];
};

/* fills a message header */
static inline void set_hdr(SMsgHdr *m, u32 size, u32 mid)
{
    m->size = size;
    m->riid = 0;
    m->mid = mid;
    m->reserved = 0;
}

/* fills a receive buffer with 0xEE and states its capacity */
static inline void clear_rx(void *buf, u32 capacity)
{
    memset(buf, 0xEE, capacity);
    ((SMsgHdr *)buf)->size = capacity;
}

/* whether a receive buffer prepared by clear_rx is as it was (nothing written) */
static inline int rx_untouched(const void *buf, u32 capacity)
{
    const u8 *p = buf;
    if (((const SMsgHdr *)buf)->size != capacity)
        return 0;
    for (u32 k = 4; k < capacity; k++)
        if (p[k] != 0xEE)
            return 0;
    return 1;
}

/* Sends the quit message (mid 0xFFFF, no payload) and expects an empty reply with mid 0xFFFF:
 * "PASS <name> quit acknowledged" or "FAIL <name> quit -> ..." */
static inline void send_quit(Handle h)
{
    struct small_msg q, r;
    set_hdr(&q.hdr, sizeof q.hdr, MID_QUIT);
    clear_rx(&r, sizeof r);
    Retcode rc = Call(h, &q.hdr, &r.hdr);
    if (rc == rcOk && (r.hdr.size != sizeof r.hdr || r.hdr.mid != MID_QUIT))
        rc = RC_BAD_REPLY;
    if (rc == rcOk) {
        result(1, "quit acknowledged");
    } else {
        result_begin(0);
        out_s("quit -> ");
        out_rc(rc);
        out_end();
    }
}

#endif
