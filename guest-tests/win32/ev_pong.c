/* ev_pong.c - ipcemu Win32 guest test (and benchmark): the other side of ev_ping.exe (which see).
 *
 * Output: PASS ev_pong N rounds
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
        if (WaitForSingleObject(s.ping, INFINITE) != WAIT_OBJECT_0)
            fatal("WaitForSingleObject(ping) in round", i);
        if (*s.counter != 2 * i + 1)
            fatal("counter after ping is wrong in round", i);
        *s.counter = 2 * i + 2;
        if (!SetEvent(s.pong))
            fatal("SetEvent(pong) in round", i);
    }
    ev_close(&s);
    struct rt_line l = {0};
    rt_puts(&l, "PASS " TEST_NAME " ");
    rt_putu(&l, n);
    rt_puts(&l, " rounds");
    rt_flush(&l);
    return 0;
}
