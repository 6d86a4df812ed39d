/* timers.c - ipcemu Win32 guest test: SetTimer, KillTimer and WM_TIMER in a message loop.
 *
 * Run:    ipcemu run fixtures/win32/timers.exe     (argv[1] = ticks to count, default 5)
 * Times are guest time (GetTickCount, MSG.time), which ipcemu keeps exactly, so the periods
 * below are checked exactly.
 *   1. A window timer (id 7, 50 ms) on a message-only window: GetMessageA waits for it, and
 *      N WM_TIMER messages come 50 ms apart, each dispatched to the window procedure
 *      (wParam = 7, lParam = 0).
 *   2. SetTimer again with the same window and id replaces the timer (now 20 ms): still one
 *      timer, the next ticks come 20 ms apart.
 *   3. A thread timer (no window) with a TimerProc: SetTimer returns its id; DispatchMessageA
 *      calls the TimerProc with (NULL, WM_TIMER, id, GetTickCount()) N times, 30 ms apart
 *      (give or take the millisecond boundary the few microseconds between tick and call may
 *      cross).
 *   4. Posted messages come before a due timer's WM_TIMER.
 *   5. A period below USER_TIMER_MINIMUM (10 ms) is 10 ms.
 *   6. KillTimer stops a timer (TRUE), a second KillTimer returns FALSE; with every timer
 *      killed no WM_TIMER comes (MsgWaitForMultipleObjects for QS_TIMER times out).
 *   7. SetTimer and KillTimer on a window that does not exist fail with
 *      ERROR_INVALID_WINDOW_HANDLE.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 5
#include "rt.h"

#define WM_PING (WM_APP + 1)

static volatile LONG win_ticks, wrong_ticks, proc_ticks, proc_wrong;
static UINT_PTR thread_timer;
static DWORD proc_last, proc_min_gap = 0xFFFFFFFF;

static LRESULT CALLBACK win_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_TIMER) {
        if (wp == 7 && lp == 0)
            win_ticks++;
        else if (wp != 9 || lp != 0)
            wrong_ticks++;
        return 0;
    }
    return DefWindowProcA(h, msg, wp, lp);
}

static VOID CALLBACK timer_proc(HWND h, UINT msg, UINT_PTR id, DWORD time)
{
    if (h != NULL || msg != WM_TIMER || id != thread_timer)
        proc_wrong++;
    if (proc_ticks > 0 && time - proc_last < proc_min_gap)
        proc_min_gap = time - proc_last;
    proc_last = time;
    proc_ticks++;
}

/* Take messages until `count` WM_TIMER messages of window `w` (id `id`) came; returns the
 * smallest and largest gap between them (MSG.time). */
static void ticks(HWND w, UINT_PTR id, unsigned count, DWORD *min_gap, DWORD *max_gap)
{
    MSG msg;
    DWORD last = 0;
    unsigned seen = 0;
    *min_gap = 0xFFFFFFFF;
    *max_gap = 0;
    while (seen < count) {
        if (GetMessageA(&msg, NULL, 0, 0) <= 0)
            fatal("GetMessageA", 0);
        if (msg.message == WM_TIMER && msg.hwnd == w && msg.wParam == id) {
            if (seen > 0) {
                DWORD gap = msg.time - last;
                if (gap < *min_gap)
                    *min_gap = gap;
                if (gap > *max_gap)
                    *max_gap = gap;
            }
            last = msg.time;
            seen++;
        }
        DispatchMessageA(&msg);
    }
}

int test_main(unsigned n)
{
    if (n < 2)
        n = 2;
    HWND w = message_window("ipcemu_timers", "ipcemu_timers", win_proc);
    DWORD lo, hi;

    /* 1. a window timer */
    DWORD t0 = GetTickCount();
    check_eq(SetTimer(w, 7, 50, NULL), 7, "SetTimer(window, 7, 50 ms) returns 7");
    ticks(w, 7, n, &lo, &hi);
    check(lo == 50 && hi == 50, "window timer ticks are 50 ms apart");
    check_eq(win_ticks, n, "the window procedure got every WM_TIMER (wParam 7, lParam 0)");
    win_ticks = 0;
    DWORD took = GetTickCount() - t0; /* t0 was read a few microseconds before SetTimer */
    check(took >= 50 * n && took <= 50 * n + 1, "N ticks took N * 50 ms of guest time");

    /* 2. the same window and id replace the timer */
    check_eq(SetTimer(w, 7, 20, NULL), 7, "SetTimer on the same window and id returns the id");
    ticks(w, 7, n, &lo, &hi);
    check(lo == 20 && hi == 20, "the replaced timer ticks 20 ms apart");

    /* 3. a thread timer with a TimerProc (window timer 7 still runs beside it) */
    thread_timer = SetTimer(NULL, 0, 30, timer_proc);
    check(thread_timer != 0, "SetTimer(NULL, 0, 30 ms, TimerProc) returns an id");
    MSG msg;
    while (proc_ticks < (LONG)n) {
        if (GetMessageA(&msg, NULL, 0, 0) <= 0)
            fatal("GetMessageA", 1);
        DispatchMessageA(&msg);
    }
    check(proc_wrong == 0, "the TimerProc got (NULL, WM_TIMER, id, time)");
    /* dwTime is GetTickCount at the call, a few microseconds after the tick */
    check(proc_min_gap >= 29 && proc_min_gap <= 31, "the TimerProc ran every 30 ms");
    check(KillTimer(NULL, thread_timer), "KillTimer(NULL, id) of the thread timer");

    /* 4. a posted message comes before a due timer */
    Sleep(100); /* timer 7 is due now */
    PostMessageA(w, WM_PING, 1, 2);
    if (GetMessageA(&msg, NULL, 0, 0) <= 0)
        fatal("GetMessageA", 2);
    check(msg.message == WM_PING, "a posted message comes before the due WM_TIMER");
    if (GetMessageA(&msg, NULL, 0, 0) <= 0)
        fatal("GetMessageA", 3);
    check(msg.message == WM_TIMER && msg.wParam == 7, "then the WM_TIMER");

    /* 5. the minimum period */
    check_eq(SetTimer(w, 9, 1, NULL), 9, "SetTimer(window, 9, 1 ms)");
    ticks(w, 9, 3, &lo, &hi);
    check(lo == 10 && hi == 10, "a 1 ms period is USER_TIMER_MINIMUM (10 ms)");

    /* 6. KillTimer */
    check(KillTimer(w, 7), "KillTimer(window, 7)");
    check(!KillTimer(w, 7), "a second KillTimer(window, 7) returns FALSE");
    check(KillTimer(w, 9), "KillTimer(window, 9)");
    while (PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE))
        ;
    DWORD r = MsgWaitForMultipleObjects(0, NULL, FALSE, 500, QS_TIMER);
    check_eq(r, WAIT_TIMEOUT, "no WM_TIMER once every timer is killed");
    check(!PeekMessageA(&msg, NULL, 0, 0, PM_REMOVE), "the queue is empty");

    /* 7. a window that does not exist */
    SetLastError(0);
    check(SetTimer((HWND)0x1234, 1, 10, NULL) == 0 && GetLastError() == ERROR_INVALID_WINDOW_HANDLE,
          "SetTimer on a bad window fails with ERROR_INVALID_WINDOW_HANDLE");
    SetLastError(0);
    check(!KillTimer((HWND)0x1234, 1) && GetLastError() == ERROR_INVALID_WINDOW_HANDLE,
          "KillTimer on a bad window fails with ERROR_INVALID_WINDOW_HANDLE");
    check(wrong_ticks == 0, "no WM_TIMER with a wrong id reached the window");
    return rt_failures ? 1 : 0;
}
