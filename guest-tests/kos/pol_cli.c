/* pol_cli.c - ipcemu KasperskyOS-style guest test: a client of calc_srv that checks what a policy
 * lets through.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/pol.yaml --policy fixtures/kos/deny_mid2.toml \
 *             --params 1=1 --params 2=deny2 fixtures/kos/calc_srv.elf fixtures/kos/pol_cli.elf
 *         (and without --policy, with --params 2=allow)
 * Args:   [MODE]  "allow" (default): every call must return rcOk;
 *                 "deny2": mid 1 (add) calls must return rcOk, mid 2 (multiply) calls
 *                 rcSecurityDisallow with the reply buffer left untouched.
 * Output: PASS pol_cli mode <MODE>
 *         PASS pol_cli connected to calc_connection
 *         PASS pol_cli 5 add calls -> rcOk
 *         PASS pol_cli 5 mul calls -> rcOk                 (allow)
 *         PASS pol_cli 5 mul calls -> rcSecurityDisallow   (deny2)
 *         PASS pol_cli quit acknowledged
 *         DONE 5 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * Five rounds of add(i + 1, 10) and multiply(i + 1, 10), alternating; the results are checked when
 * the call is allowed. Quit (mid 0xFFFF) is sent in every mode so that calc_srv can end.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

#define ROUNDS 5

/* one calc call; rcOk needs the right result, a denied call must leave the reply buffer alone */
static Retcode calc(Handle h, u32 mid, u32 a, u32 b)
{
    struct small_msg req, rsp;
    set_hdr(&req.hdr, KOS_MSG_HDR_SIZE + 8, mid);
    memcpy(req.data, &a, 4);
    memcpy(req.data + 4, &b, 4);
    clear_rx(&rsp, sizeof rsp);
    Retcode rc = Call(h, &req.hdr, &rsp.hdr);
    if (rc == rcOk) {
        u32 r;
        memcpy(&r, rsp.data, 4);
        if (rsp.hdr.size != KOS_MSG_HDR_SIZE + 4 || rsp.hdr.mid != mid ||
            r != (mid == MID_ADD ? a + b : a * b))
            return RC_BAD_REPLY;
    } else if (!rx_untouched(&rsp, sizeof rsp)) {
        return RC_BAD_REPLY; /* a refused call must not write to the reply buffer */
    }
    return rc;
}

static void report(const char *method, u32 bad, Retcode want, Retcode first_wrong)
{
    result_begin(bad == 0);
    if (bad == 0) {
        out_u(ROUNDS);
        out_c(' ');
        out_s(method);
        out_s(" calls -> ");
        out_rc(want);
    } else {
        out_u(bad);
        out_s(" of ");
        out_u(ROUNDS);
        out_c(' ');
        out_s(method);
        out_s(" calls -> ");
        out_rc(first_wrong);
        out_s(" (the first), expected ");
        out_rc(want);
    }
    out_end();
}

int main(int argc, char **argv)
{
    test_name = "pol_cli";
    const char *mode = argc > 1 ? argv[1] : "allow";
    int known = str_eq(mode, "allow") || str_eq(mode, "deny2");
    Retcode want_mul = str_eq(mode, "deny2") ? rcSecurityDisallow : rcOk;
    result_begin(known);
    out_s("mode ");
    out_s(mode);
    if (!known)
        out_s(" is unknown (allow or deny2); checking as allow");
    out_end();

    Handle h = connect_or_fail("calc_connection");
    if (h == INVALID_HANDLE)
        return done();

    u32 bad_add = 0, bad_mul = 0;
    Retcode wrong_add = rcOk, wrong_mul = rcOk;
    for (u32 i = 0; i < ROUNDS; i++) {
        Retcode rc = calc(h, MID_ADD, i + 1, 10);
        if (rc != rcOk && bad_add++ == 0)
            wrong_add = rc;
        rc = calc(h, MID_MUL, i + 1, 10);
        if (rc != want_mul && bad_mul++ == 0)
            wrong_mul = rc;
    }
    report("add", bad_add, rcOk, wrong_add);
    report("mul", bad_mul, want_mul, wrong_mul);

    send_quit(h);
    return done();
}
