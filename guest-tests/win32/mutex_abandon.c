/* mutex_abandon.c - ipcemu Win32 guest test: an abandoned named mutex.
 *
 * Run:    ipcemu run fixtures/win32/mutex_abandon.exe      (no arguments)
 * A thread creates and takes the named mutex "ipcemu_abandon" (CreateMutexA with bInitialOwner)
 * and ends without releasing it. The main thread (with its own handle from OpenMutexA):
 *     PASS mutex_abandon owned by the thread: wait times out
 *     PASS mutex_abandon wait after the owner ended returns WAIT_ABANDONED
 *     PASS mutex_abandon ReleaseMutex by the new owner
 *     PASS mutex_abandon ReleaseMutex when not owner fails with ERROR_NOT_OWNER
 *     PASS mutex_abandon recursive acquire
 *     PASS mutex_abandon released twice after two waits
 *     PASS mutex_abandon third release fails
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

static HANDLE held, go;

static DWORD WINAPI owner(LPVOID arg)
{
    (void)arg;
    HANDLE m = CreateMutexA(NULL, TRUE, "ipcemu_abandon");
    if (!m)
        return 1;
    SetEvent(held);
    WaitForSingleObject(go, INFINITE);
    return 0; /* ends owning the mutex (its handle stays open: the process still has it) */
}

int test_main(unsigned n)
{
    (void)n;
    held = CreateEventA(NULL, TRUE, FALSE, NULL);
    go = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (!held || !go)
        fatal("CreateEventA", 0);
    HANDLE t = CreateThread(NULL, 0, owner, NULL, 0, NULL);
    if (!t)
        fatal("CreateThread", 0);
    if (WaitForSingleObject(held, 5000) != WAIT_OBJECT_0)
        fatal("the thread did not take the mutex", 0);
    HANDLE m = OpenMutexA(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, "ipcemu_abandon");
    if (!m)
        fatal("OpenMutexA", 0);
    check_eq(WaitForSingleObject(m, 0), WAIT_TIMEOUT, "owned by the thread: wait times out");
    SetEvent(go);
    if (WaitForSingleObject(t, 5000) != WAIT_OBJECT_0)
        fatal("the thread did not end", 0);
    check_eq(WaitForSingleObject(m, 1000), WAIT_ABANDONED,
             "wait after the owner ended returns WAIT_ABANDONED");
    check(ReleaseMutex(m), "ReleaseMutex by the new owner");
    SetLastError(0);
    BOOL r = ReleaseMutex(m);
    check(!r && GetLastError() == ERROR_NOT_OWNER,
          "ReleaseMutex when not owner fails with ERROR_NOT_OWNER");
    check(WaitForSingleObject(m, 0) == WAIT_OBJECT_0 && WaitForSingleObject(m, 0) == WAIT_OBJECT_0,
          "recursive acquire");
    check(ReleaseMutex(m) && ReleaseMutex(m), "released twice after two waits");
    check(!ReleaseMutex(m), "third release fails");
    CloseHandle(m);
    CloseHandle(t);
    CloseHandle(held);
    CloseHandle(go);
    return 0;
}
