/* chan.c - ipcemu Win32 guest test: ping-pong through the channel of chan.h.
 *
 * Built twice, as chan_a.exe and chan_b.exe (-DTEST_NAME); run both together, in either order:
 *     ipcemu run fixtures/win32/chan_a.exe fixtures/win32/chan_b.exe   [argv[1] = N, default 10000]
 * Both open channel "ipcemu_chan". The one that created it is the server: it receives N buffers
 * and answers each; the client sends N buffers of varied length and content and checks each
 * answer (the buffer with every byte XOR 0x5A).
 * Output (ROLE is server or client, by start order):
 *     PASS <name> opened channel as ROLE
 *     PASS <name> ROLE exchanged N buffers
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 10000
#include "rt.h"
#include "chan.h"

#define CAP 256

/* Message i: its sequence number, then a pattern; 4..CAP bytes. */
static DWORD make_msg(BYTE *buf, DWORD i)
{
    DWORD len = 4 + (i * 37 + 11) % (CAP - 3);
    buf[0] = (BYTE)i;
    buf[1] = (BYTE)(i >> 8);
    buf[2] = (BYTE)(i >> 16);
    buf[3] = (BYTE)(i >> 24);
    for (DWORD j = 4; j < len; j++)
        buf[j] = (BYTE)(i * 13 + j * 7);
    return len;
}

int test_main(unsigned n)
{
    static BYTE want[CAP], got[CAP];
    struct chan c;
    if (!chan_open(&c, "ipcemu_chan", CAP))
        fatal("chan_open", 0);
    const char *role = c.server ? "server" : "client";
    {
        struct rt_line l = {0};
        rt_puts(&l, "PASS " TEST_NAME " opened channel as ");
        rt_puts(&l, role);
        rt_flush(&l);
    }
    for (DWORD i = 0; i < n; i++) {
        DWORD wlen = make_msg(want, i);
        if (c.server) {
            DWORD len = chan_receive(&c, got, CAP);
            if (len == (DWORD)-1)
                fatal("chan_receive failed at buffer", i);
            if (len != wlen || !rt_memeq(got, want, len))
                fatal("server got a wrong buffer at", i);
            for (DWORD j = 0; j < len; j++)
                got[j] ^= 0x5A;
            if (!chan_send(&c, got, len))
                fatal("chan_send (reply) failed at buffer", i);
        } else {
            if (!chan_send(&c, want, wlen))
                fatal("chan_send failed at buffer", i);
            DWORD len = chan_receive(&c, got, CAP);
            if (len == (DWORD)-1)
                fatal("chan_receive (reply) failed at buffer", i);
            for (DWORD j = 0; j < wlen; j++)
                want[j] ^= 0x5A;
            if (len != wlen || !rt_memeq(got, want, len))
                fatal("client got a wrong reply at", i);
        }
    }
    chan_close(&c);
    struct rt_line l = {0};
    rt_puts(&l, "PASS " TEST_NAME " ");
    rt_puts(&l, role);
    rt_puts(&l, " exchanged ");
    rt_putu(&l, n);
    rt_puts(&l, " buffers");
    rt_flush(&l);
    return 0;
}
