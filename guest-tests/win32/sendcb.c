/* sendcb.c - ipcemu Win32 guest test: SendMessageCallbackA, an asynchronous send whose answer
 * comes back to the sender as a call of its callback.
 *
 * Run:    ipcemu run fixtures/win32/sendcb.exe     (argv[1] = messages, default 10)
 * A second thread owns message-only window W, whose procedure answers WM_ADD with
 * wParam + lParam (and sees InSendMessageEx ISMEX_CALLBACK); the main thread owns window M.
 *   1. N SendMessageCallbackA(W, WM_ADD, i, 100, cb, 1000 + i) return TRUE at once, before W
 *      handled any.
 *   2. The callbacks do not run in Sleep or WaitForSingleObject, only in the sender's
 *      message-loop calls (PeekMessageA): then each runs once, in order, with
 *      (W, WM_ADD, 1000 + i, i + 100).
 *   3. To the caller's own window: the procedure runs, then the callback with its result,
 *      before SendMessageCallbackA returns.
 *   4. WM_COPYDATA: ERROR_MESSAGE_SYNC_ONLY; a bad window: ERROR_INVALID_WINDOW_HANDLE.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 10
#include "rt.h"

#define WM_ADD (WM_APP + 1)
#define MAXN 1000

static HWND w_win, m_win;
static HANDLE ready;
static volatile LONG handled, bad_kind, cb_calls, cb_bad, own_cb, own_proc;

static LRESULT CALLBACK w_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_ADD) {
        if (InSendMessageEx(NULL) != ISMEX_CALLBACK)
            bad_kind++;
        handled++;
        return (LRESULT)(wp + lp);
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static LRESULT CALLBACK m_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_ADD) {
        own_proc++;
        return 5;
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static VOID CALLBACK cb(HWND h, UINT msg, ULONG_PTR data, LRESULT res)
{
    if (h == m_win) {
        if (own_proc == 1 && msg == WM_ADD && data == 9 && res == 5)
            own_cb++;
        return;
    }
    LONG i = cb_calls;
    if (h != w_win || msg != WM_ADD || data != (ULONG_PTR)(1000 + i) || res != (LRESULT)(i + 100))
        cb_bad++;
    cb_calls++;
}

static DWORD WINAPI w_main(LPVOID arg)
{
    (void)arg;
    w_win = message_window("ipcemu_sendcb_w", "ipcemu_sendcb_w", w_proc);
    SetEvent(ready);
    MSG msg;
    BOOL r;
    while ((r = GetMessageA(&msg, NULL, 0, 0)) > 0)
        DispatchMessageA(&msg);
    return r == 0 ? 0 : 1;
}

int test_main(unsigned n)
{
    if (n > MAXN)
        n = MAXN;
    m_win = message_window("ipcemu_sendcb_m", "ipcemu_sendcb_m", m_proc);
    ready = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD tid;
    HANDLE th = CreateThread(NULL, 0, w_main, NULL, 0, &tid);
    if (!ready || !th)
        fatal("CreateThread", 0);
    check_eq(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "second window ready");

    /* 1 */
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++)
        ok += SendMessageCallbackA(w_win, WM_ADD, i, 100, cb, 1000 + i) ? 1 : 0;
    check(ok == n && handled == 0, "N SendMessageCallbackA return TRUE at once");

    /* 2 */
    Sleep(20);
    check_eq(handled, n, "W handled them");
    check(bad_kind == 0, "with InSendMessageEx ISMEX_CALLBACK");
    check_eq(cb_calls, 0, "no callback ran in Sleep");
    HANDLE never = CreateEventA(NULL, TRUE, FALSE, NULL);
    WaitForSingleObject(never, 20);
    check_eq(cb_calls, 0, "nor in WaitForSingleObject");
    MSG msg;
    PeekMessageA(&msg, NULL, 0, 0, PM_NOREMOVE);
    check_eq(cb_calls, n, "PeekMessageA ran every callback");
    check_eq(cb_bad, 0, "in order, with (W, WM_ADD, dwData, lResult)");

    /* 3 */
    check(SendMessageCallbackA(m_win, WM_ADD, 0, 0, cb, 9) && own_cb == 1,
          "own window: procedure then callback, before returning");

    /* 4 */
    COPYDATASTRUCT cds = {1, 0, NULL};
    SetLastError(0);
    check(!SendMessageCallbackA(w_win, WM_COPYDATA, 0, (LPARAM)&cds, cb, 0) &&
              GetLastError() == ERROR_MESSAGE_SYNC_ONLY,
          "WM_COPYDATA: ERROR_MESSAGE_SYNC_ONLY");
    SetLastError(0);
    check(!SendMessageCallbackA((HWND)0x4321, WM_ADD, 0, 0, cb, 0) &&
              GetLastError() == ERROR_INVALID_WINDOW_HANDLE,
          "a bad window: ERROR_INVALID_WINDOW_HANDLE");

    PostThreadMessageA(tid, WM_QUIT, 0, 0);
    check_eq(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "the second thread ended");
    return rt_failures ? 1 : 0;
}
