/* calc_srv.c - ipcemu KasperskyOS-style guest test: a server with two methods for several clients.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/calc.yaml --params 1=3 fixtures/kos/calc_srv.elf \
 *             fixtures/kos/calc_cli1.elf fixtures/kos/calc_cli2.elf fixtures/kos/calc_cli3.elf
 * Args:   [Q]  quit messages to serve before it ends (default 2: one per client)
 * Output: PASS calc_srv registered calc_connection
 *         PASS calc_srv served <T> requests: <A> add <M> mul <Q> quit
 *         DONE 2 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * Registers "calc_connection" and serves, in the order they arrive:
 *   mid 1 (add):      payload {u32 a, u32 b} -> reply payload {u32 a + b}  (mod 2^32)
 *   mid 2 (multiply): payload {u32 a, u32 b} -> reply payload {u32 a * b}  (mod 2^32)
 *   mid 0xFFFF (quit): empty reply; after the Q-th one the server ends.
 * Replies carry the request's riid and mid. Anything else (another mid, a payload that is not 8
 * bytes) gets an empty reply and counts as malformed: a FAIL line at the end. A failed Reply is a
 * FAIL line (the first one at once) and serving goes on; a failed Recv ends the server.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct small_msg req, rsp;

int main(int argc, char **argv)
{
    test_name = "calc_srv";
    u32 quits_wanted = parse_u32(argc > 1 ? argv[1] : 0, 2);

    Handle h = register_or_fail("calc_connection");
    if (h == INVALID_HANDLE)
        return done();

    u32 total = 0, adds = 0, muls = 0, quits = 0, malformed = 0, reply_errors = 0;
    while (quits < quits_wanted) {
        req.hdr.size = sizeof req;
        Retcode rc = Recv(h, &req.hdr);
        if (rc != rcOk) {
            result_begin(0);
            out_s("Recv after ");
            out_u(total);
            out_s(" requests -> ");
            out_rc(rc);
            out_end();
            return done();
        }
        total++;

        u32 a, b, mid = req.hdr.mid;
        set_hdr(&rsp.hdr, KOS_MSG_HDR_SIZE, mid);
        rsp.hdr.riid = req.hdr.riid;
        memcpy(&a, req.data, 4);
        memcpy(&b, req.data + 4, 4);
        if (mid == MID_QUIT) {
            quits++;
        } else if ((mid == MID_ADD || mid == MID_MUL) && req.hdr.size == KOS_MSG_HDR_SIZE + 8) {
            u32 r = mid == MID_ADD ? a + b : a * b;
            memcpy(rsp.data, &r, 4);
            rsp.hdr.size = KOS_MSG_HDR_SIZE + 4;
            if (mid == MID_ADD)
                adds++;
            else
                muls++;
        } else {
            malformed++;
        }

        rc = Reply(h, &rsp.hdr);
        if (rc != rcOk && reply_errors++ == 0) {
            result_begin(0);
            out_s("Reply to request ");
            out_u(total);
            out_s(" (mid ");
            out_u(mid);
            out_s(") -> ");
            out_rc(rc);
            out_end();
        }
    }

    result_begin(reply_errors == 0);
    out_s("served ");
    out_u(total);
    out_s(" requests: ");
    out_u(adds);
    out_s(" add ");
    out_u(muls);
    out_s(" mul ");
    out_u(quits);
    out_s(" quit");
    if (reply_errors) {
        out_s(", ");
        out_u(reply_errors);
        out_s(" replies failed");
    }
    out_end();
    if (malformed) {
        result_begin(0);
        out_u(malformed);
        out_s(" malformed requests");
        out_end();
    }
    return done();
}
