/* echo_cli.c - ipcemu KasperskyOS-style guest test: the client of echo_srv.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/echo.yaml fixtures/kos/echo_srv.elf fixtures/kos/echo_cli.elf
 * Args:   [N]  round trips (default 10000), e.g. --params 2=500
 * Output: PASS echo_cli connected to echo_connection
 *         PASS echo_cli <N> round trips
 *         PASS echo_cli quit acknowledged
 *         DONE 3 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * Call i sends a message with mid 1 + i % 1000 and a payload of (i * 37) % 201 bytes (every length
 * 0..200 in each 201 calls) filled with a pattern that depends on i, into a 272-byte reply buffer
 * filled with 0xEE. The reply must be the request byte for byte (size, riid, mid, reserved,
 * payload), and the byte after it must still be 0xEE. A Call that does not return rcOk stops the
 * loop. Then it sends quit (mid 0xFFFF) so that the server ends.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct small_msg req, rsp;

int main(int argc, char **argv)
{
    test_name = "echo_cli";
    u32 rounds = parse_u32(argc > 1 ? argv[1] : 0, 10000);

    Handle h = connect_or_fail("echo_connection");
    if (h == INVALID_HANDLE)
        return done();

    u32 bad = 0, first_bad = 0, i;
    Retcode rc = rcOk;
    for (i = 0; i < rounds; i++) {
        u32 len = (i * 37) % 201;
        set_hdr(&req.hdr, KOS_MSG_HDR_SIZE + len, 1 + i % 1000);
        for (u32 k = 0; k < len; k++)
            req.data[k] = (u8)(i * 13 + k * 7 + (k >> 3));
        clear_rx(&rsp, sizeof rsp);

        rc = Call(h, &req.hdr, &rsp.hdr);
        if (rc != rcOk)
            break;
        if (memcmp(&rsp, &req, KOS_MSG_HDR_SIZE + len) != 0 || rsp.data[len] != 0xEE) {
            if (bad++ == 0)
                first_bad = i;
        }
    }

    if (rc != rcOk) {
        result_begin(0);
        out_s("Call ");
        out_u(i);
        out_s(" -> ");
        out_rc(rc);
        out_end();
    } else if (bad) {
        result_begin(0);
        out_u(bad);
        out_s(" wrong replies in ");
        out_u(rounds);
        out_s(" round trips, the first in call ");
        out_u(first_bad);
        out_end();
    } else {
        result_begin(1);
        out_u(rounds);
        out_s(" round trips");
        out_end();
    }

    send_quit(h);
    return done();
}
