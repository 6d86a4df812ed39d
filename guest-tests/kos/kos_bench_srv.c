/* kos_bench_srv.c - ipcemu KasperskyOS-style guest: the server side of the round-trip benchmark.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/bench.yaml --params 2=1000000 \
 *             fixtures/kos/kos_bench_srv.elf fixtures/kos/kos_bench_cli.elf
 * Args:   none
 * Output: one line at the end: "PASS kos_bench_srv served <N> requests" (N without the quit), or
 *         "FAIL kos_bench_srv ..." on an error; exit status 0 or 1.
 *
 * Registers "bench_connection" and answers every request with the request itself until mid 0xFFFF.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct small_msg buf;

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_name = "kos_bench_srv";

    unsigned int iid;
    Handle h = ServiceLocatorRegister("bench_connection", 0, 0, &iid);
    if (h == INVALID_HANDLE) {
        result(0, "ServiceLocatorRegister(\"bench_connection\") -> INVALID_HANDLE");
        return 1;
    }
    u32 served = 0;
    for (;;) {
        buf.hdr.size = sizeof buf;
        Retcode rc = Recv(h, &buf.hdr);
        if (rc == rcOk)
            rc = Reply(h, &buf.hdr);
        if (rc != rcOk) {
            result_begin(0);
            out_s("after ");
            out_u(served);
            out_s(" requests: ");
            out_rc(rc);
            out_end();
            return 1;
        }
        if (buf.hdr.mid == MID_QUIT)
            break;
        served++;
    }
    result_begin(1);
    out_s("served ");
    out_u(served);
    out_s(" requests");
    out_end();
    return 0;
}
