/* bad_hdr.c - ipcemu KasperskyOS-style guest test: every way a call can be refused before or
 * instead of the exchange, against echo_srv.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/bad_hdr.yaml fixtures/kos/echo_srv.elf fixtures/kos/bad_hdr.elf
 * Args:   none
 * Needs:  the connections of fixtures/kos/bad_hdr.yaml: bad_hdr -> echo_srv "echo_connection" and
 *         echo_srv -> bad_hdr "bad_hdr_server" (which gives bad_hdr a server handle nobody calls)
 * Output: (one line per check, in this order; all PASS)
 *         PASS bad_hdr ServiceLocatorConnect("nope") -> INVALID_HANDLE
 *         PASS bad_hdr ServiceLocatorRegister("nope") -> INVALID_HANDLE
 *         PASS bad_hdr ServiceLocatorRegister("echo_connection") by its client -> INVALID_HANDLE
 *         PASS bad_hdr connected to echo_connection
 *         PASS bad_hdr ServiceLocatorConnect twice -> the same handle
 *         PASS bad_hdr registered bad_hdr_server
 *         PASS bad_hdr Call with a 24-byte message -> rcOk
 *         PASS bad_hdr Call with a 65536-byte message -> rcOk
 *         PASS bad_hdr Call with a 16-byte message into a 16-byte reply buffer -> rcOk
 *         PASS bad_hdr Call with msgOut size 0 -> rcInvalidArgument
 *         PASS bad_hdr Call with msgOut size 15 -> rcInvalidArgument
 *         PASS bad_hdr Call with msgOut size 65537 -> rcInvalidArgument
 *         PASS bad_hdr Call with msgIn capacity 15 -> rcInvalidArgument
 *         PASS bad_hdr Call with msgIn capacity 65537 -> rcInvalidArgument
 *         PASS bad_hdr Call with msgOut NULL -> rcInvalidArgument
 *         PASS bad_hdr Call with msgOut 0xFFFFFFF0 (unmapped) -> rcInvalidArgument
 *         PASS bad_hdr Call with msgOut 0xFFFFFFF8 (wraps past 4 GiB) -> rcInvalidArgument
 *         PASS bad_hdr Call with msgIn 0xFFFFFFF8 (wraps past 4 GiB) -> rcInvalidArgument
 *         PASS bad_hdr Call on handle 12345 -> rcBadHandle
 *         PASS bad_hdr Call on INVALID_HANDLE -> rcBadHandle
 *         PASS bad_hdr Call on its server handle -> rcBadHandle
 *         PASS bad_hdr Recv on its client handle -> rcBadHandle
 *         PASS bad_hdr Reply on its client handle -> rcBadHandle
 *         PASS bad_hdr Recv on handle 12345 -> rcBadHandle
 *         PASS bad_hdr Reply on handle 12345 -> rcBadHandle
 *         PASS bad_hdr Reply on its server handle without a request -> rcNoRequest
 *         PASS bad_hdr Call with a 48-byte message into a 16-byte reply buffer -> rcBufferTooSmall
 *         PASS bad_hdr Call with a 24-byte message after the errors -> rcOk
 *         PASS bad_hdr quit acknowledged
 *         DONE 29 0
 *         exit status 0, or 1 after any FAIL line.
 *         echo_srv prints "served 5 requests" and "replies too big for the client's buffer: 1".
 *
 * A refused Call must leave the reply buffer untouched (still the stated capacity and 0xEE bytes);
 * one that wrote to it is reported as "a wrong reply". An accepted one must get its request back
 * byte for byte, with nothing written after it. Only five requests reach echo_srv: the three good ones at the start, the
 * 48-byte one whose reply does not fit, and the good one at the end; then quit.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct {
    SMsgHdr hdr;
    u8 data[KOS_MSG_MAX - KOS_MSG_HDR_SIZE];
} big_out, big_in;

static struct small_msg out, in;

#define BAD_PTR_UNMAPPED ((void *)0xFFFFFFF0u) /* 16 bytes up to 4 GiB, nothing mapped there */
#define BAD_PTR_WRAPS    ((void *)0xFFFFFFF8u) /* a 16-byte header here wraps past 4 GiB */

/* fills `out` with a message of `size` bytes (payload pattern from `seed`), mid 1 */
static void make_out(u32 size, u32 seed)
{
    set_hdr(&out.hdr, size, 1);
    for (u32 k = 0; k + KOS_MSG_HDR_SIZE < size && k < sizeof out.data; k++)
        out.data[k] = (u8)(seed + k * 3);
}

/* Call(h, msgOut, msgIn) and a result line. When msgIn is `in`, it is prepared with capacity
 * `stated` (0xEE bytes after the size); an accepted call must return the request byte for byte,
 * a refused one must leave `in` untouched. */
static void check_call(const char *what, Handle h, const void *msgOut, void *msgIn, u32 stated,
                       Retcode want)
{
    if (msgIn == &in) {
        clear_rx(&in, sizeof in);
        in.hdr.size = stated;
    }
    Retcode rc = Call(h, msgOut, msgIn);
    if (msgIn == &in) {
        if (rc == rcOk) {
            if (in.hdr.size != out.hdr.size || memcmp(&in, &out, out.hdr.size) != 0)
                rc = RC_BAD_REPLY;
            for (u32 k = out.hdr.size; k < sizeof in; k++) /* nothing written past the reply */
                if (((u8 *)&in)[k] != 0xEE)
                    rc = RC_BAD_REPLY;
        } else {
            int same = in.hdr.size == stated;
            for (u32 k = 4; k < sizeof in; k++)
                if (((u8 *)&in)[k] != 0xEE)
                    same = 0;
            if (!same)
                rc = RC_BAD_REPLY;
        }
    }
    expect_rc(what, rc, want);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_name = "bad_hdr";

    /* the service locator */
    expect_invalid_handle("ServiceLocatorConnect(\"nope\")", ServiceLocatorConnect("nope"));
    expect_invalid_handle("ServiceLocatorRegister(\"nope\")",
                          ServiceLocatorRegister("nope", 0, 0, 0));
    expect_invalid_handle("ServiceLocatorRegister(\"echo_connection\") by its client",
                          ServiceLocatorRegister("echo_connection", 0, 0, 0));
    Handle h = connect_or_fail("echo_connection");
    if (h == INVALID_HANDLE)
        return done();
    Handle again = ServiceLocatorConnect("echo_connection");
    result_begin(again == h);
    out_s("ServiceLocatorConnect twice -> ");
    if (again == h) {
        out_s("the same handle");
    } else {
        out_s("handle ");
        out_u(again);
        out_s(", then ");
        out_u(h);
    }
    out_end();
    Handle s = register_or_fail("bad_hdr_server");

    /* good messages, at the limits */
    make_out(KOS_MSG_HDR_SIZE + 8, 1);
    check_call("Call with a 24-byte message", h, &out.hdr, &in, sizeof in, rcOk);

    set_hdr(&big_out.hdr, KOS_MSG_MAX, 2);
    for (u32 k = 0; k < sizeof big_out.data; k++)
        big_out.data[k] = (u8)(k ^ (k >> 8));
    memset(&big_in, 0xEE, sizeof big_in);
    big_in.hdr.size = KOS_MSG_MAX;
    Retcode rc = Call(h, &big_out.hdr, &big_in.hdr);
    if (rc == rcOk && memcmp(&big_in, &big_out, KOS_MSG_MAX) != 0)
        rc = RC_BAD_REPLY;
    expect_rc("Call with a 65536-byte message", rc, rcOk);

    make_out(KOS_MSG_HDR_SIZE, 3);
    check_call("Call with a 16-byte message into a 16-byte reply buffer", h, &out.hdr, &in,
               KOS_MSG_HDR_SIZE, rcOk);

    /* bad sizes and pointers: refused before anything reaches the server */
    make_out(0, 4);
    check_call("Call with msgOut size 0", h, &out.hdr, &in, sizeof in, rcInvalidArgument);
    make_out(15, 5);
    check_call("Call with msgOut size 15", h, &out.hdr, &in, sizeof in, rcInvalidArgument);
    make_out(KOS_MSG_MAX + 1, 6);
    check_call("Call with msgOut size 65537", h, &out.hdr, &in, sizeof in, rcInvalidArgument);
    make_out(KOS_MSG_HDR_SIZE + 8, 7);
    check_call("Call with msgIn capacity 15", h, &out.hdr, &in, 15, rcInvalidArgument);
    /* (in is 272 bytes, but 65537 is refused as a size before memory is looked at) */
    check_call("Call with msgIn capacity 65537", h, &out.hdr, &in, KOS_MSG_MAX + 1,
               rcInvalidArgument);
    check_call("Call with msgOut NULL", h, 0, &in, sizeof in, rcInvalidArgument);
    check_call("Call with msgOut 0xFFFFFFF0 (unmapped)", h, BAD_PTR_UNMAPPED, &in, sizeof in,
               rcInvalidArgument);
    check_call("Call with msgOut 0xFFFFFFF8 (wraps past 4 GiB)", h, BAD_PTR_WRAPS, &in, sizeof in,
               rcInvalidArgument);
    check_call("Call with msgIn 0xFFFFFFF8 (wraps past 4 GiB)", h, &out.hdr, BAD_PTR_WRAPS, 0,
               rcInvalidArgument);

    /* handles */
    check_call("Call on handle 12345", 12345, &out.hdr, &in, sizeof in, rcBadHandle);
    check_call("Call on INVALID_HANDLE", INVALID_HANDLE, &out.hdr, &in, sizeof in, rcBadHandle);
    if (s != INVALID_HANDLE)
        check_call("Call on its server handle", s, &out.hdr, &in, sizeof in, rcBadHandle);
    clear_rx(&in, sizeof in);
    expect_rc("Recv on its client handle", Recv(h, &in.hdr), rcBadHandle);
    expect_rc("Reply on its client handle", Reply(h, &out.hdr), rcBadHandle);
    clear_rx(&in, sizeof in);
    expect_rc("Recv on handle 12345", Recv(12345, &in.hdr), rcBadHandle);
    expect_rc("Reply on handle 12345", Reply(12345, &out.hdr), rcBadHandle);
    if (s != INVALID_HANDLE)
        expect_rc("Reply on its server handle without a request", Reply(s, &out.hdr),
                  rcNoRequest);

    /* a reply that does not fit: echo_srv's Reply and this Call both get rcBufferTooSmall */
    make_out(KOS_MSG_HDR_SIZE + 32, 8);
    check_call("Call with a 48-byte message into a 16-byte reply buffer", h, &out.hdr, &in,
               KOS_MSG_HDR_SIZE, rcBufferTooSmall);

    /* the connection still works */
    make_out(KOS_MSG_HDR_SIZE + 8, 9);
    check_call("Call with a 24-byte message after the errors", h, &out.hdr, &in, sizeof in, rcOk);

    send_quit(h);
    return done();
}
