/* sendtimeout.c - ipcemu Win32 guest test: SendMessageTimeoutA between two threads, and
 * PostMessageA(HWND_BROADCAST) to the top-level windows of the world.
 *
 * Run:    ipcemu run fixtures/win32/sendtimeout.exe
 * A second thread owns window W (a top-level window, never shown); its window procedure
 * answers WM_FAST at once (42) and WM_SLOW after Sleep(wParam ms) (wParam + 1). The main thread
 * owns window M (also top-level) and a message-only window Q.
 *   1. SendMessageTimeoutA(W, WM_FAST, 1000 ms) returns TRUE and stores 42 at lpdwResult.
 *   2. SendMessageTimeoutA(W, WM_SLOW 300 ms, timeout 100 ms) returns FALSE with ERROR_TIMEOUT
 *      after 100 ms of guest time and leaves *lpdwResult alone; W still handles the message.
 *   3. WM_SLOW 50 ms with a 1000 ms timeout: TRUE, 51, after 50 ms.
 *   4. To the caller's own window: the window procedure runs at once (TRUE, its result).
 *   5. A window that does not exist: FALSE, ERROR_INVALID_WINDOW_HANDLE.
 *   6. SMTO_BLOCK: W's procedure for WM_BACK sends WM_NEED back to M. With SMTO_NORMAL the
 *      waiting main thread runs M's procedure and gets W's answer; with SMTO_BLOCK it does not,
 *      so the call times out (ERROR_TIMEOUT), and the main thread's next GetMessageA runs it.
 *   7. PostMessageA(HWND_BROADCAST, a registered message) reaches W and M (top-level windows),
 *      not the message-only window Q.
 *   9. SendMessageA(HWND_BROADCAST) returns once both top-level windows handled the message;
 *      SendMessageTimeoutA(HWND_BROADCAST, 100 ms) gives up on W's slow answer after 100 ms.
 *   8. SendNotifyMessageA and SendMessageCallbackA to HWND_BROADCAST: M's procedure (and the
 *      callback) run before the call returns, W gets it through its queue, Q not; W's answer
 *      comes back to the callback in the main thread's next PeekMessageA.
 *  10. SMTO_ABORTIFHUNG (IsHungAppWindow's rule: no look at the queue for 5 s, and not
 *      waiting for input): W idle in GetMessageA for 6 s is not hung (TRUE, 42); W busy for
 *      6 s in a window procedure is, after 5 s: FALSE, ERROR_TIMEOUT at once, where
 *      SMTO_NORMAL waits for its time-out; once W pumps again it answers.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define WM_FAST (WM_APP + 1)
#define WM_SLOW (WM_APP + 2)
#define WM_BACK (WM_APP + 3)
#define WM_NEED (WM_APP + 4)
#define WM_OWN (WM_APP + 5)

static HWND w_win, m_win, q_win;
static HANDLE ready;
static UINT bcast;
static volatile LONG slow_done, need_runs, w_bcast, m_bcast, q_bcast, back_answer;

static LRESULT CALLBACK w_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_FAST)
        return 42;
    if (msg == WM_SLOW) {
        Sleep((DWORD)wp);
        slow_done++;
        return (LRESULT)(wp + 1);
    }
    if (msg == WM_BACK) {
        back_answer = (LONG)SendMessageA(m_win, WM_NEED, wp, 0);
        return back_answer + 1;
    }
    if (msg == bcast && bcast) {
        if (wp == 50)
            Sleep(300);
        w_bcast++;
        return (LRESULT)(200 + wp);
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static LRESULT CALLBACK m_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_NEED) {
        need_runs++;
        return (LRESULT)(wp * 10);
    }
    if (msg == WM_OWN)
        return 77;
    if (msg == bcast && bcast) {
        m_bcast++;
        return (LRESULT)(100 + wp);
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static volatile LONG bcb_m, bcb_w, bcb_bad;

static VOID CALLBACK bcb(HWND h, UINT msg, ULONG_PTR data, LRESULT res)
{
    if (msg != bcast || data != 99)
        bcb_bad++;
    else if (h == m_win && res == 105)
        bcb_m++;
    else if (h == w_win && res == 205)
        bcb_w++;
    else
        bcb_bad++;
}

static LRESULT CALLBACK q_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == bcast && bcast)
        q_bcast++;
    return DefWindowProcA(h, msg, wp, lp);
}

static HWND top_window(const char *cls, WNDPROC proc)
{
    WNDCLASSA wc = {0};
    wc.lpfnWndProc = proc;
    wc.hInstance = GetModuleHandleA(NULL);
    wc.lpszClassName = cls;
    if (!RegisterClassA(&wc))
        fatal("RegisterClassA", 0);
    HWND h = CreateWindowExA(0, cls, cls, 0, 0, 0, 0, 0, NULL, NULL, wc.hInstance, NULL);
    if (!h)
        fatal("CreateWindowExA", 0);
    return h;
}

static DWORD WINAPI w_main(LPVOID arg)
{
    (void)arg;
    w_win = top_window("ipcemu_smto_w", w_proc);
    SetEvent(ready);
    MSG msg;
    BOOL r;
    while ((r = GetMessageA(&msg, NULL, 0, 0)) > 0)
        DispatchMessageA(&msg);
    return r == 0 ? 0 : 1;
}

int test_main(unsigned n)
{
    (void)n;
    m_win = top_window("ipcemu_smto_m", m_proc);
    q_win = message_window("ipcemu_smto_q", "ipcemu_smto_q", q_proc);
    ready = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD tid;
    HANDLE th = CreateThread(NULL, 0, w_main, NULL, 0, &tid);
    if (!ready || !th)
        fatal("CreateThread", 0);
    check_eq(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "second window ready");

    /* 1 */
    DWORD_PTR res = 0;
    check(SendMessageTimeoutA(w_win, WM_FAST, 0, 0, SMTO_NORMAL, 1000, &res) && res == 42,
          "WM_FAST: TRUE, result 42");

    /* 2 */
    res = 12345;
    DWORD t0 = GetTickCount();
    SetLastError(0);
    LRESULT ok = SendMessageTimeoutA(w_win, WM_SLOW, 300, 0, SMTO_NORMAL, 100, &res);
    DWORD took = GetTickCount() - t0;
    check(!ok && GetLastError() == ERROR_TIMEOUT, "WM_SLOW 300 ms, timeout 100 ms: FALSE, ERROR_TIMEOUT");
    check(took >= 100 && took <= 101, "after 100 ms");
    check_eq((unsigned)res, 12345, "lpdwResult untouched");
    Sleep(300);
    check_eq(slow_done, 1, "the receiver still handled the message");

    /* 3 */
    t0 = GetTickCount();
    ok = SendMessageTimeoutA(w_win, WM_SLOW, 50, 0, SMTO_NORMAL, 1000, &res);
    took = GetTickCount() - t0;
    check(ok && res == 51, "WM_SLOW 50 ms, timeout 1000 ms: TRUE, result 51");
    check(took >= 50 && took <= 51, "after 50 ms");

    /* 4 */
    check(SendMessageTimeoutA(m_win, WM_OWN, 0, 0, SMTO_NORMAL, 0, &res) && res == 77,
          "own window: the window procedure ran (TRUE, 77)");

    /* 5 */
    SetLastError(0);
    check(!SendMessageTimeoutA((HWND)0x4321, WM_FAST, 0, 0, SMTO_NORMAL, 100, &res) &&
              GetLastError() == ERROR_INVALID_WINDOW_HANDLE,
          "a bad window: FALSE, ERROR_INVALID_WINDOW_HANDLE");

    /* 6 */
    ok = SendMessageTimeoutA(w_win, WM_BACK, 3, 0, SMTO_NORMAL, 1000, &res);
    check(ok && res == 31 && need_runs == 1, "SMTO_NORMAL: M's procedure ran while waiting (TRUE, 31)");
    SetLastError(0);
    ok = SendMessageTimeoutA(w_win, WM_BACK, 4, 0, SMTO_BLOCK, 200, &res);
    check(!ok && GetLastError() == ERROR_TIMEOUT && need_runs == 1,
          "SMTO_BLOCK: M's procedure did not run, the call timed out");
    MSG msg;
    PeekMessageA(&msg, NULL, 0, 0, PM_NOREMOVE);
    check(need_runs == 2, "the next PeekMessageA ran it");
    Sleep(10);
    check_eq(back_answer, 40, "and W got its answer");

    /* 7 */
    bcast = RegisterWindowMessageA("ipcemu_smto_broadcast");
    check(bcast >= 0xC000, "RegisterWindowMessageA");
    check(PostMessageA(HWND_BROADCAST, bcast, 1, 2), "PostMessageA(HWND_BROADCAST)");
    while (PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE))
        DispatchMessageA(&msg);
    Sleep(10);
    check(m_bcast == 1 && w_bcast == 1, "the broadcast reached both top-level windows");
    check_eq(q_bcast, 0, "not the message-only window");

    /* 8 */
    check(SendNotifyMessageA(HWND_BROADCAST, bcast, 3, 4) && m_bcast == 2,
          "SendNotifyMessageA(HWND_BROADCAST): the own top-level window got it before the call returned");
    Sleep(10);
    check(w_bcast == 2 && q_bcast == 0, "the other thread's top-level window got it, the message-only one not");
    check(SendMessageCallbackA(HWND_BROADCAST, bcast, 5, 6, bcb, 99) && m_bcast == 3 && bcb_m == 1 && bcb_w == 0,
          "SendMessageCallbackA(HWND_BROADCAST): own window and its callback before the call returned");
    Sleep(10);
    PeekMessageA(&msg, NULL, 0, 0, PM_NOREMOVE);
    check(w_bcast == 3 && bcb_w == 1 && bcb_bad == 0, "the other window's answer came back to its callback");

    /* 9 */
    check(SendMessageA(HWND_BROADCAST, bcast, 7, 8) && m_bcast == 4 && w_bcast == 4 && q_bcast == 0,
          "SendMessageA(HWND_BROADCAST) returns once both top-level windows handled it");
    DWORD t1 = GetTickCount();
    ok = SendMessageTimeoutA(HWND_BROADCAST, bcast, 50, 0, SMTO_NORMAL, 100, &res);
    took = GetTickCount() - t1;
    check(ok && m_bcast == 5 && w_bcast == 4 && took >= 100 && took <= 101,
          "SendMessageTimeoutA(HWND_BROADCAST, 100 ms): M at once, W's slow answer given up after 100 ms");
    Sleep(300);
    check_eq(w_bcast, 5, "W still handled it");

    /* 10 */
    Sleep(6000);
    check(SendMessageTimeoutA(w_win, WM_FAST, 0, 0, SMTO_ABORTIFHUNG, 1000, &res) && res == 42,
          "SMTO_ABORTIFHUNG: W waiting in GetMessageA for 6 s is not hung (TRUE, 42)");
    PostMessageA(w_win, WM_SLOW, 6000, 0);
    Sleep(5500);
    t1 = GetTickCount();
    SetLastError(0);
    res = 7;
    ok = SendMessageTimeoutA(w_win, WM_FAST, 0, 0, SMTO_ABORTIFHUNG, 3000, &res);
    took = GetTickCount() - t1;
    check(!ok && GetLastError() == ERROR_TIMEOUT && took == 0 && res == 7,
          "W busy for 5.5 s is hung: FALSE, ERROR_TIMEOUT at once");
    t1 = GetTickCount();
    ok = SendMessageTimeoutA(w_win, WM_FAST, 0, 0, SMTO_NORMAL, 100, &res);
    took = GetTickCount() - t1;
    check(!ok && took >= 100 && took <= 101, "SMTO_NORMAL waits for its 100 ms time-out instead");
    Sleep(1000);
    check(SendMessageTimeoutA(w_win, WM_FAST, 0, 0, SMTO_ABORTIFHUNG, 1000, &res) && res == 42,
          "once W pumps again it answers");

    PostThreadMessageA(tid, WM_QUIT, 0, 0);
    check_eq(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "the second thread ended");
    return rt_failures ? 1 : 0;
}
