/* die_srv.c - ipcemu KasperskyOS-style guest test: a server that ends without replying.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/die.yaml fixtures/kos/die_srv.elf fixtures/kos/die_cli.elf
 * Args:   none
 * Output: PASS die_srv registered die_connection
 *         PASS die_srv received a request, ending without a reply
 *         DONE 2 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * Registers "die_connection", receives one request and ends (exit_group) with the request still
 * unanswered: die_cli's Call must then return rcPeerEnded.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct small_msg req;

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_name = "die_srv";

    Handle h = register_or_fail("die_connection");
    if (h == INVALID_HANDLE)
        return done();

    req.hdr.size = sizeof req;
    Retcode rc = Recv(h, &req.hdr);
    if (rc == rcOk) {
        result(1, "received a request, ending without a reply");
    } else {
        result_begin(0);
        out_s("Recv -> ");
        out_rc(rc);
        out_end();
    }
    return done(); /* exit_group with the request unanswered */
}
