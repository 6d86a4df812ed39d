/* copydata_b.c - ipcemu Win32 guest test: the sending side of WM_COPYDATA (see copydata_a.c).
 *
 * B makes its own message-only window ("ipcemu_cd_b", passed as wParam), finds A's window with
 * FindWindowExA(HWND_MESSAGE, NULL, "ipcemu_cd_a", NULL) (retrying with Sleep(10) until A has
 * made it), checks that FindWindowA does not find it (message-only windows are not top-level
 * windows and are not enumerated), sends N WM_COPYDATA messages with SendMessageA and checks
 * each return value (the payload's checksum), then sends the CD_END message.
 * Output:
 *     PASS copydata_b found A with FindWindowExA(HWND_MESSAGE)
 *     PASS copydata_b FindWindowA does not see message-only windows
 *     PASS copydata_b N replies checked
 *     PASS copydata_b end message delivered
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 100
#include "rt.h"
#include "copydata_common.h"

static LRESULT CALLBACK proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    return DefWindowProcA(h, msg, wp, lp);
}

int test_main(unsigned n)
{
    static unsigned char buf[256];
    HWND me = message_window(CD_CLASS_B, CD_TITLE_B, proc);
    HWND a = NULL;
    for (int tries = 0; tries < 3000 && !a; tries++) {
        a = FindWindowExA(HWND_MESSAGE, NULL, CD_CLASS_A, CD_TITLE_A);
        if (!a)
            Sleep(10);
    }
    if (!check(a != NULL, "found A with FindWindowExA(HWND_MESSAGE)"))
        return 1;
    check(FindWindowA(CD_CLASS_A, NULL) == NULL, "FindWindowA does not see message-only windows");
    unsigned good = 0;
    for (unsigned i = 0; i < n; i++) {
        COPYDATASTRUCT cds;
        cds.dwData = i + 1;
        cds.cbData = cd_payload(buf, i);
        cds.lpData = buf;
        LRESULT r = SendMessageA(a, WM_COPYDATA, (WPARAM)me, (LPARAM)&cds);
        if (r == cd_sum(buf, cds.cbData))
            good++;
    }
    struct rt_line l = {0};
    rt_putu(&l, good);
    rt_puts(&l, " replies checked");
    l.buf[l.len] = 0;
    check(good == n, l.buf);
    COPYDATASTRUCT end = {CD_END, 0, NULL};
    check_eq((unsigned)SendMessageA(a, WM_COPYDATA, (WPARAM)me, (LPARAM)&end), 1,
             "end message delivered");
    DestroyWindow(me);
    return 0;
}
