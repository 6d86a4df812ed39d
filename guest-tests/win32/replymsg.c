/* replymsg.c - ipcemu Win32 guest test: ReplyMessage, InSendMessage(Ex) and SendNotifyMessageA.
 *
 * Run:    ipcemu run fixtures/win32/replymsg.exe
 * A second thread owns message-only window W; the main thread owns message-only window M.
 *   1. Outside any window procedure InSendMessage is FALSE, InSendMessageEx ISMEX_NOSEND.
 *   2. The main thread sends WM_Q to W. W's procedure sees InSendMessage TRUE and
 *      InSendMessageEx ISMEX_SEND, calls ReplyMessage(55) (TRUE; then ISMEX_SEND|ISMEX_REPLIED;
 *      a second ReplyMessage is FALSE), sleeps 100 ms and returns 99. SendMessageA returns 55,
 *      at once: W's procedure has not finished yet, and no guest time has passed.
 *   3. The main thread's own window: InSendMessage is FALSE in its procedure, ReplyMessage FALSE.
 *   4. SendNotifyMessageA(W, WM_N, 5, 6) returns TRUE at once; W's procedure then gets (5, 6)
 *      with InSendMessageEx ISMEX_NOTIFY.
 *   5. SendNotifyMessageA to the caller's own window runs its procedure before returning.
 *   6. SendNotifyMessageA with WM_COPYDATA fails with ERROR_MESSAGE_SYNC_ONLY; to a window that
 *      does not exist with ERROR_INVALID_WINDOW_HANDLE.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define WM_Q (WM_APP + 1)
#define WM_N (WM_APP + 2)
#define WM_OWN (WM_APP + 3)

static HWND w_win, m_win;
static HANDLE ready, notified;
static volatile LONG in_send, ismex, reply1, reply2, ismex_after, w_done;
static volatile LONG n_wp, n_lp, n_ismex, own_in_send = -1, own_reply = -1, own_notify_ran;

static LRESULT CALLBACK w_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_Q) {
        in_send = InSendMessage();
        ismex = (LONG)InSendMessageEx(NULL);
        reply1 = ReplyMessage(55);
        ismex_after = (LONG)InSendMessageEx(NULL);
        reply2 = ReplyMessage(66);
        Sleep(100);
        w_done = 1;
        return 99;
    }
    if (msg == WM_N) {
        Sleep(50);
        n_wp = (LONG)wp;
        n_lp = (LONG)lp;
        n_ismex = (LONG)InSendMessageEx(NULL);
        SetEvent(notified);
        return 0;
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static LRESULT CALLBACK m_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_OWN) {
        own_in_send = InSendMessage();
        own_reply = ReplyMessage(1);
        return 7;
    }
    if (msg == WM_N) {
        own_notify_ran = 1;
        return 0;
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static DWORD WINAPI w_main(LPVOID arg)
{
    (void)arg;
    w_win = message_window("ipcemu_reply_w", "ipcemu_reply_w", w_proc);
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
    m_win = message_window("ipcemu_reply_m", "ipcemu_reply_m", m_proc);
    ready = CreateEventA(NULL, TRUE, FALSE, NULL);
    notified = CreateEventA(NULL, FALSE, FALSE, NULL);
    DWORD tid;
    HANDLE th = CreateThread(NULL, 0, w_main, NULL, 0, &tid);
    if (!ready || !notified || !th)
        fatal("set-up", 0);
    check_eq(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "second window ready");

    /* 1 */
    check(!InSendMessage() && InSendMessageEx(NULL) == ISMEX_NOSEND,
          "outside a window procedure: InSendMessage FALSE, ISMEX_NOSEND");

    /* 2 */
    DWORD t0 = GetTickCount();
    LRESULT r = SendMessageA(w_win, WM_Q, 0, 0);
    DWORD took = GetTickCount() - t0;
    LONG done_then = w_done;
    check_eq((unsigned)r, 55, "SendMessageA returns ReplyMessage's 55, not the procedure's 99");
    check(done_then == 0 && took == 0, "at once: the procedure had not finished");
    check(in_send && ismex == ISMEX_SEND, "in W's procedure: InSendMessage TRUE, ISMEX_SEND");
    check(reply1 == TRUE && ismex_after == (ISMEX_SEND | ISMEX_REPLIED),
          "ReplyMessage TRUE, then ISMEX_SEND | ISMEX_REPLIED");
    check(reply2 == FALSE, "a second ReplyMessage is FALSE");
    Sleep(150);
    check_eq(w_done, 1, "the procedure went on after its reply");

    /* 3 */
    r = SendMessageA(m_win, WM_OWN, 0, 0);
    check(r == 7 && own_in_send == FALSE && own_reply == FALSE,
          "own window: InSendMessage FALSE, ReplyMessage FALSE");

    /* 4 */
    t0 = GetTickCount();
    check(SendNotifyMessageA(w_win, WM_N, 5, 6), "SendNotifyMessageA to W: TRUE");
    check(GetTickCount() - t0 == 0 && n_wp == 0, "at once, before W's procedure ran");
    check_eq(WaitForSingleObject(notified, 10000), WAIT_OBJECT_0, "W's procedure ran");
    check(n_wp == 5 && n_lp == 6 && n_ismex == ISMEX_NOTIFY,
          "with (5, 6) and InSendMessageEx ISMEX_NOTIFY");

    /* 5 */
    check(SendNotifyMessageA(m_win, WM_N, 0, 0) && own_notify_ran,
          "SendNotifyMessageA to the own window ran its procedure before returning");

    /* 6 */
    COPYDATASTRUCT cds = {1, 0, NULL};
    SetLastError(0);
    check(!SendNotifyMessageA(w_win, WM_COPYDATA, 0, (LPARAM)&cds) &&
              GetLastError() == ERROR_MESSAGE_SYNC_ONLY,
          "WM_COPYDATA: FALSE, ERROR_MESSAGE_SYNC_ONLY");
    SetLastError(0);
    check(!SendNotifyMessageA((HWND)0x4321, WM_N, 0, 0) &&
              GetLastError() == ERROR_INVALID_WINDOW_HANDLE,
          "a bad window: FALSE, ERROR_INVALID_WINDOW_HANDLE");

    PostThreadMessageA(tid, WM_QUIT, 0, 0);
    check_eq(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "the second thread ended");
    return rt_failures ? 1 : 0;
}
