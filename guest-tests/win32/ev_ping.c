/* ev_ping.c - ipcemu Win32 guest test (and benchmark): event ping-pong between two processes.
 *
 * Run together with ev_pong.exe, in either order (argv[1] = rounds, default 10000, the same for
 * both):
 *     ipcemu run fixtures/win32/ev_ping.exe fixtures/win32/ev_pong.exe
 * Shared: mapping "ipcemu_ev.map" (a DWORD counter), auto-reset events "ipcemu_ev.ping" and
 * "ipcemu_ev.pong". Each round ev_ping makes the counter odd (2i+1) and sets "ping"; ev_pong
 * waits for it, checks the counter, makes it 2i+2 and sets "pong"; ev_ping waits and checks.
 * Output: PASS ev_ping N rounds
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 10000
#include "rt.h"
#include "ev_common.h"

int test_main(unsigned n)
{
    struct ev_shared s;
    ev_open(&s);
    for (DWORD i = 0; i < n; i++) {
        if (*s.counter != 2 * i)
            fatal("counter before ping is wrong in round", i);
        *s.counter = 2 * i + 1;
        if (!SetEvent(s.ping))
            fatal("SetEvent(ping) in round", i);
        if (WaitForSingleObject(s.pong, INFINITE) != WAIT_OBJECT_0)
            fatal("WaitForSingleObject(pong) in round", i);
        if (*s.counter != 2 * i + 2)
            fatal("counter after pong is wrong in round", i);
    }
    ev_close(&s);
    struct rt_line l = {0};
    rt_puts(&l, "PASS " TEST_NAME " ");
    rt_putu(&l, n);
    rt_puts(&l, " rounds");
    rt_flush(&l);
    return 0;
}
