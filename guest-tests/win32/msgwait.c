/* msgwait.c - ipcemu Win32 guest test: MsgWaitForMultipleObjects(Ex) and GetQueueStatus, a
 * thread that waits for kernel objects and its message queue at once.
 *
 * Run:    ipcemu run fixtures/win32/msgwait.exe
 * The main thread has a message-only window and an auto-reset event E; a helper thread posts,
 * sends and signals on cue (each step starts when the main thread sets `go` and names it).
 *   1. Nothing there: MsgWait with a zero timeout returns WAIT_TIMEOUT.
 *   2. The helper posts a message: MsgWait(E, QS_POSTMESSAGE) returns WAIT_OBJECT_0 + 1.
 *   3. The helper sets E: MsgWait returns WAIT_OBJECT_0 and took E (auto-reset: now unset).
 *   4. A wake mask without QS_POSTMESSAGE: a posted message does not end the wait; the
 *      helper's SetEvent 50 ms later does.
 *   5. Old input: after PeekMessageA(PM_NOREMOVE) saw a message, MsgWait(QS_ALLINPUT) waits
 *      (WAIT_TIMEOUT after 100 ms), and MsgWaitForMultipleObjectsEx with MWMO_INPUTAVAILABLE
 *      returns WAIT_OBJECT_0 + 0 at once.
 *   6. GetQueueStatus: the high word says what is in the queue, the low word what came since
 *      the last look; a second call's low word is 0.
 *   7. The helper sends a message (SendMessageA): MsgWait(QS_SENDMESSAGE) returns; PeekMessageA
 *      runs the window procedure and the helper gets its answer.
 *   8. A thread timer: MsgWait(QS_TIMER) returns WAIT_OBJECT_0 + 0 when it is due (40 ms).
 *   9. fWaitAll: E set and no input does not end the wait; the message posted after it does.
 *  10. 64 handles, or a bad handle: WAIT_FAILED with ERROR_INVALID_PARAMETER / _HANDLE.
 *  11. WaitMessage waits for a message the helper posts 20 ms later.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define WM_NOTE (WM_APP + 1)
#define WM_ASK (WM_APP + 2)

static HANDLE ev, go, done;
static HWND win;
static DWORD main_tid;
static volatile LONG step, answer, asked;

static LRESULT CALLBACK win_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_ASK) {
        asked++;
        return (LRESULT)(wp * 2);
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static DWORD WINAPI helper(LPVOID arg)
{
    (void)arg;
    for (;;) {
        WaitForSingleObject(go, INFINITE);
        switch (step) {
        case 2:
        case 5:
        case 6:
            Sleep(20);
            PostThreadMessageA(main_tid, WM_NOTE, (WPARAM)step, 0);
            break;
        case 3:
            Sleep(20);
            SetEvent(ev);
            break;
        case 4:
            Sleep(20);
            PostThreadMessageA(main_tid, WM_NOTE, 4, 0);
            Sleep(50);
            SetEvent(ev);
            break;
        case 7:
            Sleep(20);
            answer = (LONG)SendMessageA(win, WM_ASK, 21, 0);
            break;
        case 9:
            Sleep(20);
            SetEvent(ev);
            Sleep(30);
            PostThreadMessageA(main_tid, WM_NOTE, 9, 0);
            break;
        case 11:
            Sleep(20);
            PostThreadMessageA(main_tid, WM_NOTE, 11, 0);
            break;
        default:
            return 0;
        }
        SetEvent(done);
    }
}

static void cue(LONG s)
{
    step = s;
    SetEvent(go);
}

static void drain(void)
{
    MSG msg;
    while (PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE))
        DispatchMessageA(&msg);
}

int test_main(unsigned n)
{
    (void)n;
    MSG msg;
    PeekMessageA(&msg, NULL, 0, 0, PM_NOREMOVE); /* our queue */
    main_tid = GetCurrentThreadId();
    win = message_window("ipcemu_msgwait", "ipcemu_msgwait", win_proc);
    ev = CreateEventA(NULL, FALSE, FALSE, NULL);
    go = CreateEventA(NULL, FALSE, FALSE, NULL);
    done = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE th = CreateThread(NULL, 0, helper, NULL, 0, NULL);
    if (!ev || !go || !done || !th)
        fatal("set-up", 0);

    /* 1 */
    check_eq(MsgWaitForMultipleObjects(1, &ev, FALSE, 0, QS_ALLINPUT), WAIT_TIMEOUT,
             "nothing there: WAIT_TIMEOUT at once");

    /* 2 */
    cue(2);
    check_eq(MsgWaitForMultipleObjects(1, &ev, FALSE, INFINITE, QS_POSTMESSAGE), WAIT_OBJECT_0 + 1,
             "a posted message ends the wait with WAIT_OBJECT_0 + 1");
    check(PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE) && msg.message == WM_NOTE && msg.wParam == 2,
          "and PeekMessageA takes it");
    WaitForSingleObject(done, INFINITE);

    /* 3 */
    cue(3);
    check_eq(MsgWaitForMultipleObjects(1, &ev, FALSE, INFINITE, QS_ALLINPUT), WAIT_OBJECT_0,
             "SetEvent ends the wait with WAIT_OBJECT_0");
    check_eq(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "the wait took the auto-reset event");
    WaitForSingleObject(done, INFINITE);

    /* 4 */
    cue(4);
    DWORD t0 = GetTickCount();
    check_eq(MsgWaitForMultipleObjects(1, &ev, FALSE, INFINITE, QS_SENDMESSAGE), WAIT_OBJECT_0,
             "without QS_POSTMESSAGE in the mask a posted message does not end the wait");
    DWORD took = GetTickCount() - t0;
    check(took >= 70 && took <= 71, "the event 70 ms later did");
    WaitForSingleObject(done, INFINITE);
    drain();

    /* 5 */
    cue(5);
    WaitForSingleObject(done, INFINITE);
    check(PeekMessageA(&msg, NULL, 0, 0, PM_NOREMOVE) && msg.wParam == 5, "a message waits (PM_NOREMOVE)");
    t0 = GetTickCount();
    check_eq(MsgWaitForMultipleObjects(0, NULL, FALSE, 100, QS_ALLINPUT), WAIT_TIMEOUT,
             "input already seen is not new: WAIT_TIMEOUT");
    took = GetTickCount() - t0;
    check(took >= 100 && took <= 101, "after the 100 ms timeout");
    check_eq(MsgWaitForMultipleObjectsEx(0, NULL, 100, QS_ALLINPUT, MWMO_INPUTAVAILABLE), WAIT_OBJECT_0,
             "MWMO_INPUTAVAILABLE: input in the queue ends the wait at once");
    drain();

    /* 6 */
    cue(6);
    WaitForSingleObject(done, INFINITE);
    DWORD qs = GetQueueStatus(QS_ALLINPUT); /* QS_ALLINPUT has no QS_ALLPOSTMESSAGE */
    check_eq(qs, (QS_POSTMESSAGE << 16) | QS_POSTMESSAGE, "GetQueueStatus: a posted message, new");
    qs = GetQueueStatus(QS_ALLINPUT);
    check_eq(qs, QS_POSTMESSAGE << 16, "GetQueueStatus again: there, not new");
    qs = GetQueueStatus(QS_ALLPOSTMESSAGE);
    check_eq(qs, (QS_ALLPOSTMESSAGE << 16) | QS_ALLPOSTMESSAGE,
             "GetQueueStatus(QS_ALLPOSTMESSAGE) has its own new bit");
    drain();
    check_eq(GetQueueStatus(QS_ALLINPUT), 0, "GetQueueStatus after the queue is empty");

    /* 7 */
    cue(7);
    check_eq(MsgWaitForMultipleObjects(1, &ev, FALSE, INFINITE, QS_SENDMESSAGE), WAIT_OBJECT_0 + 1,
             "a sent message ends a QS_SENDMESSAGE wait");
    check_eq(asked, 0, "the window procedure has not run yet");
    PeekMessageA(&msg, NULL, 0, 0, PM_NOREMOVE);
    check_eq(asked, 1, "PeekMessageA ran it");
    WaitForSingleObject(done, INFINITE);
    check_eq(answer, 42, "the helper got the answer");

    /* 8 */
    UINT_PTR tm = SetTimer(NULL, 0, 40, NULL);
    t0 = GetTickCount();
    check_eq(MsgWaitForMultipleObjects(0, NULL, FALSE, 1000, QS_TIMER), WAIT_OBJECT_0,
             "a due timer ends a QS_TIMER wait");
    took = GetTickCount() - t0;
    check(took >= 40 && took <= 41, "after the timer's 40 ms");
    check(PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE) && msg.message == WM_TIMER && msg.wParam == tm,
          "and its WM_TIMER is there");
    KillTimer(NULL, tm);

    /* 9 */
    cue(9);
    t0 = GetTickCount();
    check_eq(MsgWaitForMultipleObjects(1, &ev, TRUE, INFINITE, QS_POSTMESSAGE), WAIT_OBJECT_0,
             "fWaitAll: the event and then input end the wait");
    took = GetTickCount() - t0;
    check(took >= 50 && took <= 51, "only when the message came (50 ms), not at the event (20 ms)");
    check_eq(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "fWaitAll took the event");
    WaitForSingleObject(done, INFINITE);
    drain();

    /* 10 */
    HANDLE many[64];
    for (int i = 0; i < 64; i++)
        many[i] = ev;
    SetLastError(0);
    check(MsgWaitForMultipleObjects(64, many, FALSE, 0, QS_ALLINPUT) == WAIT_FAILED &&
              GetLastError() == ERROR_INVALID_PARAMETER,
          "64 handles: WAIT_FAILED, ERROR_INVALID_PARAMETER");
    HANDLE bad = (HANDLE)0x4321;
    SetLastError(0);
    check(MsgWaitForMultipleObjects(1, &bad, FALSE, 0, QS_ALLINPUT) == WAIT_FAILED &&
              GetLastError() == ERROR_INVALID_HANDLE,
          "a bad handle: WAIT_FAILED, ERROR_INVALID_HANDLE");

    /* 11 */
    cue(11);
    t0 = GetTickCount();
    check(WaitMessage(), "WaitMessage returns TRUE");
    took = GetTickCount() - t0;
    check(took >= 20 && took <= 21, "when the helper's message came (20 ms)");
    check(PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE) && msg.wParam == 11, "and the message is there");
    WaitForSingleObject(done, INFINITE);

    cue(0);
    check_eq(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "the helper ended");
    return rt_failures ? 1 : 0;
}
