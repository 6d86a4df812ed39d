/* kos_bench_cli.c - ipcemu KasperskyOS-style guest: the client side of the round-trip benchmark.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/bench.yaml --params 2=1000000 \
 *             fixtures/kos/kos_bench_srv.elf fixtures/kos/kos_bench_cli.elf
 * Args:   [N]  round trips (default 100000)
 * Output: one line at the end: "PASS kos_bench_cli <N> round trips", or
 *         "FAIL kos_bench_cli ..." on an error; exit status 0 or 1.
 *
 * N calls with a 4-byte payload (the round number) on "bench_connection"; each reply must carry the
 * same number back. Then quit (mid 0xFFFF), which ends the server.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct small_msg req, rsp;

int main(int argc, char **argv)
{
    test_name = "kos_bench_cli";
    u32 rounds = parse_u32(argc > 1 ? argv[1] : 0, 100000);

    Handle h = ServiceLocatorConnect("bench_connection");
    if (h == INVALID_HANDLE) {
        result(0, "ServiceLocatorConnect(\"bench_connection\") -> INVALID_HANDLE");
        return 1;
    }
    Retcode rc = rcOk;
    u32 i;
    for (i = 0; i < rounds && rc == rcOk; i++) {
        set_hdr(&req.hdr, KOS_MSG_HDR_SIZE + 4, 1);
        memcpy(req.data, &i, 4);
        rsp.hdr.size = sizeof rsp;
        rc = Call(h, &req.hdr, &rsp.hdr);
        if (rc == rcOk && (rsp.hdr.size != KOS_MSG_HDR_SIZE + 4 || memcmp(rsp.data, &i, 4) != 0))
            rc = RC_BAD_REPLY;
    }
    set_hdr(&req.hdr, KOS_MSG_HDR_SIZE, MID_QUIT);
    rsp.hdr.size = sizeof rsp;
    Retcode quit = Call(h, &req.hdr, &rsp.hdr);
    if (rc != rcOk || quit != rcOk) {
        result_begin(0);
        if (rc != rcOk) {
            out_s("call ");
            out_u(i - 1);
            out_s(" -> ");
            out_rc(rc);
        } else {
            out_s("quit -> ");
            out_rc(quit);
        }
        out_end();
        return 1;
    }
    result_begin(1);
    out_u(rounds);
    out_s(" round trips");
    out_end();
    return 0;
}
