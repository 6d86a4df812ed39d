/* sendnest.c - ipcemu Win32 guest test: SendMessageA between two threads that send to each other.
 *
 * Run:    ipcemu run fixtures/win32/sendnest.exe     (argv[1] = rounds, default 20)
 * The main thread makes window M, a second thread makes window W. For each round the main
 * thread sends WM_ASK (wParam = round) to W. W's window procedure, before answering, sends
 * WM_NEED (wParam = round) back to M, whose window procedure returns round * 3 + 1; W answers
 * that value + 1000. On Windows a thread waiting in SendMessageA still runs the window
 * procedures of messages sent to it, so this works; without that, both threads would wait for
 * each other for ever. At the end the main thread posts WM_QUIT to the second thread.
 * Output:
 *     PASS sendnest second window ready
 *     PASS sendnest N nested answers
 *     PASS sendnest M's window procedure ran N times inside SendMessageA
 *     PASS sendnest depth of nesting seen is 1
 *     PASS sendnest the second thread ended with 0
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 20
#include "rt.h"

#define WM_ASK (WM_APP + 1)
#define WM_NEED (WM_APP + 2)

static HWND main_win, second_win;
static HANDLE ready;
static volatile LONG in_send, need_calls, max_depth, depth;

static LRESULT CALLBACK main_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_NEED) {
        LONG d = ++depth;
        if (d > max_depth)
            max_depth = d;
        if (in_send)
            need_calls++;
        --depth;
        return (LRESULT)(wp * 3 + 1);
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static LRESULT CALLBACK second_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_ASK) {
        LRESULT r = SendMessageA(main_win, WM_NEED, wp, 0);
        return r + 1000;
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static DWORD WINAPI second_main(LPVOID arg)
{
    (void)arg;
    second_win = message_window("ipcemu_sendnest_w", "ipcemu_sendnest_w", second_proc);
    SetEvent(ready);
    MSG msg;
    BOOL r;
    while ((r = GetMessageA(&msg, NULL, 0, 0)) > 0)
        DispatchMessageA(&msg);
    return r == 0 ? 0 : 1;
}

int test_main(unsigned n)
{
    main_win = message_window("ipcemu_sendnest_m", "ipcemu_sendnest_m", main_proc);
    ready = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD tid;
    HANDLE th = CreateThread(NULL, 0, second_main, NULL, 0, &tid);
    if (!ready || !th)
        fatal("CreateThread", 0);
    check_eq(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "second window ready");
    unsigned good = 0;
    for (unsigned i = 0; i < n; i++) {
        in_send = 1;
        LRESULT r = SendMessageA(second_win, WM_ASK, i, 0);
        in_send = 0;
        if (r == (LRESULT)(i * 3 + 1 + 1000))
            good++;
    }
    struct rt_line l = {0};
    rt_putu(&l, good);
    rt_puts(&l, " nested answers");
    l.buf[l.len] = 0;
    check(good == n, l.buf);
    l.len = 0;
    rt_puts(&l, "M's window procedure ran ");
    rt_putu(&l, (unsigned)need_calls);
    rt_puts(&l, " times inside SendMessageA");
    l.buf[l.len] = 0;
    check(need_calls == (LONG)n, l.buf);
    check_eq((unsigned)max_depth, 1, "depth of nesting seen is 1");
    PostThreadMessageA(tid, WM_QUIT, 0, 0);
    WaitForSingleObject(th, 10000);
    DWORD code = 99;
    GetExitCodeThread(th, &code);
    check_eq(code, 0, "the second thread ended with 0");
    return 0;
}
