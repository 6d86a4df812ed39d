/* die_cli.c - ipcemu KasperskyOS-style guest test: the client of die_srv, which ends instead of
 * replying.
 *
 * Run:    ipcemu run --kos-init fixtures/kos/die.yaml fixtures/kos/die_srv.elf fixtures/kos/die_cli.elf
 * Args:   none
 * Output: PASS die_cli connected to die_connection
 *         PASS die_cli Call while the server ends -> rcPeerEnded
 *         PASS die_cli Call after the server ended -> rcNotConnected
 *         DONE 3 0
 *         exit status 0, or 1 after any FAIL line.
 *
 * The first Call is received by die_srv, which then ends: it must return rcPeerEnded and leave the
 * reply buffer untouched. The second Call finds no server: rcNotConnected.
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#include "common.h"

static struct small_msg req, rsp;

/* rc, or RC_BAD_REPLY when an unsuccessful Call wrote to the reply buffer */
static Retcode call_untouched(Handle h)
{
    clear_rx(&rsp, sizeof rsp);
    Retcode rc = Call(h, &req.hdr, &rsp.hdr);
    if (rc != rcOk && !rx_untouched(&rsp, sizeof rsp))
        return RC_BAD_REPLY;
    return rc;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_name = "die_cli";

    Handle h = connect_or_fail("die_connection");
    if (h == INVALID_HANDLE)
        return done();

    set_hdr(&req.hdr, KOS_MSG_HDR_SIZE + 4, 1);
    memcpy(req.data, "die!", 4);
    expect_rc("Call while the server ends", call_untouched(h), rcPeerEnded);
    expect_rc("Call after the server ended", call_untouched(h), rcNotConnected);
    return done();
}
