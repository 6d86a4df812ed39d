/* events.c - ipcemu Win32 guest test: events, semaphores and the wait functions in one process.
 *
 * Run:    ipcemu run fixtures/win32/events.exe       (no arguments)
 * Output (in this order):
 *     PASS events manual-reset initially set stays set
 *     PASS events ResetEvent
 *     PASS events auto-reset initially set is consumed by one wait
 *     PASS events auto-reset wait times out (WAIT_TIMEOUT)
 *     PASS events SetEvent twice wakes one wait
 *     PASS events wait-any returns the signalled index
 *     PASS events wait-any takes only the lowest signalled
 *     PASS events wait-any times out
 *     PASS events wait-all times out when one is unset
 *     PASS events wait-all consumed nothing on timeout
 *     PASS events wait-all succeeds when all are set
 *     PASS events wait-all consumed the auto-reset events
 *     PASS events wait-any woken by another thread
 *     PASS events semaphore initial count
 *     PASS events ReleaseSemaphore previous count
 *     PASS events ReleaseSemaphore over the maximum fails (ERROR_TOO_MANY_POSTS)
 *     PASS events semaphore count after release
 *     PASS events new named event clears the last error
 *     PASS events CreateEventA on an existing name sets ERROR_ALREADY_EXISTS
 *     PASS events named event state shared between handles
 *     PASS events OpenEventA on a missing name fails (ERROR_FILE_NOT_FOUND)
 *     PASS events wait on a bad handle: WAIT_FAILED
 *     PASS events wait on a bad handle: ERROR_INVALID_HANDLE
 *     PASS events wait on a closed handle: WAIT_FAILED + ERROR_INVALID_HANDLE
 *     PASS events SetEvent on a bad handle fails
 *     PASS events a handle of the wrong type: ReleaseSemaphore on an event fails (ERROR_INVALID_HANDLE)
 *     PASS events a name longer than MAX_PATH fails (ERROR_FILENAME_EXCED_RANGE)
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

static DWORD WINAPI setter(LPVOID arg)
{
    Sleep(20);
    SetEvent((HANDLE)arg);
    return 0;
}

static HANDLE ev(BOOL manual, BOOL initial)
{
    HANDLE h = CreateEventA(NULL, manual, initial, NULL);
    if (!h)
        fatal("CreateEventA", 0);
    return h;
}

int test_main(unsigned n)
{
    (void)n;
    /* manual and auto reset, initial state */
    HANDLE m = ev(TRUE, TRUE);
    check(WaitForSingleObject(m, 0) == WAIT_OBJECT_0 && WaitForSingleObject(m, 0) == WAIT_OBJECT_0,
          "manual-reset initially set stays set");
    check(ResetEvent(m) && WaitForSingleObject(m, 0) == WAIT_TIMEOUT, "ResetEvent");
    HANDLE a = ev(FALSE, TRUE);
    check(WaitForSingleObject(a, 0) == WAIT_OBJECT_0 && WaitForSingleObject(a, 0) == WAIT_TIMEOUT,
          "auto-reset initially set is consumed by one wait");
    check_eq(WaitForSingleObject(a, 10), WAIT_TIMEOUT, "auto-reset wait times out (WAIT_TIMEOUT)");
    SetEvent(a);
    SetEvent(a);
    check(WaitForSingleObject(a, 0) == WAIT_OBJECT_0 && WaitForSingleObject(a, 0) == WAIT_TIMEOUT,
          "SetEvent twice wakes one wait");

    /* WaitForMultipleObjects */
    HANDLE b = ev(FALSE, FALSE), c = ev(FALSE, FALSE);
    HANDLE two[2] = {b, m};
    SetEvent(m);
    check_eq(WaitForMultipleObjects(2, two, FALSE, 0), WAIT_OBJECT_0 + 1,
             "wait-any returns the signalled index");
    ResetEvent(m);
    HANDLE three[3] = {a, b, c};
    SetEvent(b);
    SetEvent(c);
    check(WaitForMultipleObjects(3, three, FALSE, 0) == WAIT_OBJECT_0 + 1 &&
              WaitForSingleObject(b, 0) == WAIT_TIMEOUT && WaitForSingleObject(c, 0) == WAIT_OBJECT_0,
          "wait-any takes only the lowest signalled");
    check_eq(WaitForMultipleObjects(3, three, FALSE, 20), WAIT_TIMEOUT, "wait-any times out");
    SetEvent(a);
    SetEvent(b);
    check_eq(WaitForMultipleObjects(3, three, TRUE, 20), WAIT_TIMEOUT,
             "wait-all times out when one is unset");
    check(WaitForSingleObject(a, 0) == WAIT_OBJECT_0 && WaitForSingleObject(b, 0) == WAIT_OBJECT_0,
          "wait-all consumed nothing on timeout");
    SetEvent(a);
    SetEvent(b);
    SetEvent(c);
    check_eq(WaitForMultipleObjects(3, three, TRUE, 0), WAIT_OBJECT_0,
             "wait-all succeeds when all are set");
    check(WaitForSingleObject(a, 0) == WAIT_TIMEOUT && WaitForSingleObject(b, 0) == WAIT_TIMEOUT &&
              WaitForSingleObject(c, 0) == WAIT_TIMEOUT,
          "wait-all consumed the auto-reset events");
    HANDLE t = CreateThread(NULL, 0, setter, c, 0, NULL);
    if (!t)
        fatal("CreateThread", 0);
    check_eq(WaitForMultipleObjects(3, three, FALSE, 5000), WAIT_OBJECT_0 + 2,
             "wait-any woken by another thread");
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);

    /* semaphores */
    HANDLE s = CreateSemaphoreA(NULL, 2, 3, NULL);
    if (!s)
        fatal("CreateSemaphoreA", 0);
    check(WaitForSingleObject(s, 0) == WAIT_OBJECT_0 && WaitForSingleObject(s, 0) == WAIT_OBJECT_0 &&
              WaitForSingleObject(s, 0) == WAIT_TIMEOUT,
          "semaphore initial count");
    LONG prev = -1;
    check(ReleaseSemaphore(s, 2, &prev) && prev == 0, "ReleaseSemaphore previous count");
    SetLastError(0);
    prev = -1;
    BOOL r = ReleaseSemaphore(s, 2, &prev);
    check(!r && GetLastError() == ERROR_TOO_MANY_POSTS,
          "ReleaseSemaphore over the maximum fails (ERROR_TOO_MANY_POSTS)");
    check(ReleaseSemaphore(s, 1, &prev) && prev == 2, "semaphore count after release");
    CloseHandle(s);

    /* names */
    SetLastError(1234);
    HANDLE n1 = CreateEventA(NULL, TRUE, FALSE, "ipcemu_events.named");
    check(n1 && GetLastError() == 0, "new named event clears the last error");
    HANDLE n2 = CreateEventA(NULL, FALSE, TRUE, "ipcemu_events.named");
    check(n2 && n2 != n1 && GetLastError() == ERROR_ALREADY_EXISTS,
          "CreateEventA on an existing name sets ERROR_ALREADY_EXISTS");
    /* the second call's manual/initial arguments are ignored: still manual-reset and unset */
    int shared = WaitForSingleObject(n2, 0) == WAIT_TIMEOUT;
    SetEvent(n1);
    shared &= WaitForSingleObject(n2, 0) == WAIT_OBJECT_0 && WaitForSingleObject(n2, 0) == WAIT_OBJECT_0;
    check(shared, "named event state shared between handles");
    SetLastError(0);
    HANDLE n3 = OpenEventA(SYNCHRONIZE, FALSE, "ipcemu_events.missing");
    check(!n3 && GetLastError() == ERROR_FILE_NOT_FOUND,
          "OpenEventA on a missing name fails (ERROR_FILE_NOT_FOUND)");
    CloseHandle(n1);
    CloseHandle(n2);

    /* bad handles */
    SetLastError(0);
    DWORD w = WaitForSingleObject((HANDLE)0x12345678, 0);
    DWORD e = GetLastError();
    check_eq(w, WAIT_FAILED, "wait on a bad handle: WAIT_FAILED");
    check_eq(e, ERROR_INVALID_HANDLE, "wait on a bad handle: ERROR_INVALID_HANDLE");
    HANDLE gone = ev(TRUE, TRUE);
    CloseHandle(gone);
    SetLastError(0);
    w = WaitForSingleObject(gone, 0);
    check(w == WAIT_FAILED && GetLastError() == ERROR_INVALID_HANDLE,
          "wait on a closed handle: WAIT_FAILED + ERROR_INVALID_HANDLE");
    SetLastError(0);
    r = SetEvent((HANDLE)0x12345678);
    check(!r && GetLastError() == ERROR_INVALID_HANDLE, "SetEvent on a bad handle fails");
    SetLastError(0);
    r = ReleaseSemaphore(m, 1, NULL);
    check(!r && GetLastError() == ERROR_INVALID_HANDLE,
          "a handle of the wrong type: ReleaseSemaphore on an event fails (ERROR_INVALID_HANDLE)");
    static char longname[300];
    for (int i = 0; i < 299; i++)
        longname[i] = 'n';
    SetLastError(0);
    HANDLE ln = CreateEventA(NULL, TRUE, FALSE, longname);
    check(ln == NULL && GetLastError() == ERROR_FILENAME_EXCED_RANGE,
          "a name longer than MAX_PATH fails (ERROR_FILENAME_EXCED_RANGE)");

    CloseHandle(a);
    CloseHandle(b);
    CloseHandle(c);
    CloseHandle(m);
    return 0;
}
