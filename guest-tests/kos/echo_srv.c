/* echo_srv.c - ipcemu KasperskyOS-style guest test: the echo server.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/echo.yaml fixtures/kos/echo_srv.elf fixtures/kos/echo_cli.elf
 * Args:   none
 * Output: PASS echo_srv registered echo_connection
 *         PASS echo_srv served <N> requests            (N = requests before the quit)
 *         PASS echo_srv replies too big for the client's buffer: <K>   (only when K > 0: bad_hdr)
 *         DONE <passes> 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * Registers "echo_connection" (the kernel must write iid 0), then Recv -> Reply with the very same
 * message (header and payload unchanged) until a request with mid 0xFFFF (quit), which it also
 * answers before it ends. A Reply that returns rcBufferTooSmall (the client stated a smaller reply
 * buffer, as bad_hdr does on purpose) is counted, not a failure. Any other error is a FAIL; a Recv
 * error ends the server.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct {
    SMsgHdr hdr;
    u8 data[KOS_MSG_MAX - KOS_MSG_HDR_SIZE];
} buf;

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_name = "echo_srv";

    Handle h = register_or_fail("echo_connection");
    if (h == INVALID_HANDLE)
        return done();

    u32 served = 0, too_small = 0, reply_errors = 0;
    for (;;) {
        buf.hdr.size = sizeof buf;
        Retcode rc = Recv(h, &buf.hdr);
        if (rc == rcOk && (buf.hdr.size < KOS_MSG_HDR_SIZE || buf.hdr.size > KOS_MSG_MAX))
            rc = RC_BAD_REPLY;
        if (rc != rcOk) {
            result_begin(0);
            out_s("Recv after ");
            out_u(served);
            out_s(" requests -> ");
            out_rc(rc);
            if (rc == RC_BAD_REPLY) {
                out_s(": size ");
                out_u(buf.hdr.size);
            }
            out_end();
            return done();
        }
        int quit = buf.hdr.mid == MID_QUIT;
        rc = Reply(h, &buf.hdr);
        if (rc == rcBufferTooSmall) {
            too_small++;
        } else if (rc != rcOk) {
            if (reply_errors++ == 0) { /* the first one only */
                result_begin(0);
                out_s("Reply to request ");
                out_u(served + 1);
                out_s(" -> ");
                out_rc(rc);
                out_end();
            }
        }
        if (quit)
            break;
        served++;
    }

    result_begin(reply_errors == 0);
    out_s("served ");
    out_u(served);
    out_s(" requests");
    if (reply_errors) {
        out_s(", ");
        out_u(reply_errors);
        out_s(" replies failed");
    }
    out_end();
    if (too_small) {
        result_begin(1);
        out_s("replies too big for the client's buffer: ");
        out_u(too_small);
        out_end();
    }
    return done();
}
