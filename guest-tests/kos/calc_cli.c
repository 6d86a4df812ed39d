/* calc_cli.c - ipcemu KasperskyOS-style guest test: one client of calc_srv. Built several times
 * with -DCLIENT_NO=1, 2, 3 into calc_cli1.elf, calc_cli2.elf, calc_cli3.elf, since an entity's name
 * is its file stem and each client must be its own entity.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/calc.yaml --params 1=3 fixtures/kos/calc_srv.elf \
 *             fixtures/kos/calc_cli1.elf fixtures/kos/calc_cli2.elf fixtures/kos/calc_cli3.elf
 * Args:   [R]  rounds (default 10); each round is one add and one multiply call
 * Output: PASS calc_cli<n> connected to calc_connection
 *         PASS calc_cli<n> <R> add calls
 *         PASS calc_cli<n> <R> mul calls
 *         PASS calc_cli<n> quit acknowledged
 *         DONE 4 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * Round i: a = 1000 * n + 7 * i, b = 0x9E3779B9 * (i + 1) + n (mod 2^32); calls mid 1 (add) and
 * mid 2 (multiply) with payload {a, b} and checks rcOk, a 20-byte reply with the same mid and the
 * result a + b or a * b (mod 2^32). Then quit (mid 0xFFFF).
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

#ifndef CLIENT_NO
#define CLIENT_NO 1
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

/* one calc call: rcOk and *out = the result, or the error (RC_BAD_REPLY for a wrong reply shape) */
static Retcode calc(Handle h, u32 mid, u32 a, u32 b, u32 *out)
{
    struct small_msg req, rsp;
    set_hdr(&req.hdr, KOS_MSG_HDR_SIZE + 8, mid);
    memcpy(req.data, &a, 4);
    memcpy(req.data + 4, &b, 4);
    clear_rx(&rsp, sizeof rsp);
    Retcode rc = Call(h, &req.hdr, &rsp.hdr);
    if (rc != rcOk)
        return rc;
    if (rsp.hdr.size != KOS_MSG_HDR_SIZE + 4 || rsp.hdr.mid != mid)
        return RC_BAD_REPLY;
    memcpy(out, rsp.data, 4);
    return rcOk;
}

/* "PASS <name> <n> <method> calls" or "FAIL <name> <bad> of <n> <method> calls failed, ..." */
static void report(const char *method, u32 rounds, u32 bad, u32 first_bad, Retcode first_rc)
{
    result_begin(bad == 0);
    if (bad == 0) {
        out_u(rounds);
        out_c(' ');
        out_s(method);
        out_s(" calls");
    } else {
        out_u(bad);
        out_s(" of ");
        out_u(rounds);
        out_c(' ');
        out_s(method);
        out_s(" calls failed, the first (round ");
        out_u(first_bad);
        out_s(") with ");
        out_rc(first_rc);
    }
    out_end();
}

int main(int argc, char **argv)
{
    test_name = "calc_cli" STR(CLIENT_NO);
    u32 rounds = parse_u32(argc > 1 ? argv[1] : 0, 10);

    Handle h = connect_or_fail("calc_connection");
    if (h == INVALID_HANDLE)
        return done();

    u32 bad_add = 0, bad_mul = 0, first_add = 0, first_mul = 0;
    Retcode rc_add = rcOk, rc_mul = rcOk;
    for (u32 i = 0; i < rounds; i++) {
        u32 a = 1000u * CLIENT_NO + 7u * i;
        u32 b = 0x9E3779B9u * (i + 1) + CLIENT_NO;
        u32 r = 0;
        Retcode rc = calc(h, MID_ADD, a, b, &r);
        if (rc == rcOk && r != a + b)
            rc = RC_BAD_REPLY;
        if (rc != rcOk && bad_add++ == 0) {
            first_add = i;
            rc_add = rc;
        }
        r = 0;
        rc = calc(h, MID_MUL, a, b, &r);
        if (rc == rcOk && r != a * b)
            rc = RC_BAD_REPLY;
        if (rc != rcOk && bad_mul++ == 0) {
            first_mul = i;
            rc_mul = rc;
        }
    }
    report("add", rounds, bad_add, first_add, rc_add);
    report("mul", rounds, bad_mul, first_mul, rc_mul);

    send_quit(h);
    return done();
}
