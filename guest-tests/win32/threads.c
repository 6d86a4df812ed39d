/* threads.c - ipcemu Win32 guest test: threads of one process.
 *
 * Run:    ipcemu run fixtures/win32/threads.exe       (no arguments)
 * Checks: CreateThread passes the parameter and returns a thread id; CREATE_SUSPENDED threads do
 * not run before ResumeThread (which returns the previous suspend count, 1); WaitForSingleObject
 * on a thread handle returns when it ends; GetExitCodeThread gives STILL_ACTIVE (259) while it
 * runs and its return value after; TlsAlloc/TlsSetValue/TlsGetValue and
 * SetLastError/GetLastError are per thread; GetCurrentThreadId differs between threads and
 * matches the id CreateThread returned. (Between SetLastError and GetLastError only Sleep is
 * called, which leaves the last error alone; TlsGetValue sets it to 0, as on Windows.)
 * Output: PASS threads <what> lines (see the check calls below, in this order):
 *     PASS threads TlsAlloc
 *     PASS threads CreateThread
 *     PASS threads thread parameter
 *     PASS threads thread id from CreateThread
 *     PASS threads thread ids differ
 *     PASS threads TLS slot starts at 0 in a new thread
 *     PASS threads TLS value per thread
 *     PASS threads last error per thread
 *     PASS threads GetExitCodeThread
 *     PASS threads suspended thread has not run
 *     PASS threads ResumeThread returns previous count
 *     PASS threads STILL_ACTIVE while waiting
 *     PASS threads suspended thread ran after ResumeThread
 *     PASS threads exit code of resumed thread
 *     PASS threads main TLS value kept
 *     PASS threads main last error kept
 *     PASS threads TlsFree
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

static DWORD tls;
static volatile LONG ran, errors_set;

struct job {
    DWORD param;    /* set by main */
    DWORD tid_seen; /* GetCurrentThreadId() in the thread */
    DWORD tls_start, tls_after, err_after;
};

static DWORD WINAPI worker(LPVOID arg)
{
    struct job *j = arg;
    j->tid_seen = GetCurrentThreadId();
    j->tls_start = (DWORD)(UINT_PTR)TlsGetValue(tls);
    TlsSetValue(tls, (LPVOID)(UINT_PTR)(j->param * 3));
    Sleep(1); /* let the other threads set their values in between */
    j->tls_after = (DWORD)(UINT_PTR)TlsGetValue(tls);
    /* TlsGetValue clears the last error, so it is tested after it: every thread sets its own,
     * then waits (Sleep does not touch the last error) until all three have */
    SetLastError(j->param + 1000);
    InterlockedIncrement(&errors_set);
    while (errors_set < 3)
        Sleep(1);
    j->err_after = GetLastError();
    InterlockedIncrement(&ran);
    return j->param + 7;
}

static DWORD WINAPI blocked(LPVOID arg)
{
    HANDLE go = arg;
    InterlockedIncrement(&ran);
    WaitForSingleObject(go, INFINITE);
    return 99;
}

int test_main(unsigned n)
{
    (void)n;
    static struct job jobs[3];
    HANDLE h[3];
    DWORD ids[3];
    DWORD me = GetCurrentThreadId();

    tls = TlsAlloc();
    check(tls != TLS_OUT_OF_INDEXES, "TlsAlloc");
    TlsSetValue(tls, (LPVOID)0x1234);

    int ok = 1;
    for (int i = 0; i < 3; i++) {
        jobs[i].param = 100 + (DWORD)i;
        h[i] = CreateThread(NULL, 0, worker, &jobs[i], 0, &ids[i]);
        ok &= h[i] != NULL;
    }
    check(ok, "CreateThread");
    if (!ok)
        return 1;
    /* our own last error, while the workers set theirs (only Sleep in between) */
    SetLastError(4242);
    while (ran < 3)
        Sleep(1);
    DWORD main_err = GetLastError();
    for (int i = 0; i < 3; i++)
        if (WaitForSingleObject(h[i], 5000) != WAIT_OBJECT_0)
            fatal("WaitForSingleObject(thread)", (unsigned)i);

    int param_ok = 1, id_ok = 1, differ = 1, start_ok = 1, tls_ok = 1, err_ok = 1, code_ok = 1;
    for (int i = 0; i < 3; i++) {
        struct job *j = &jobs[i];
        DWORD code = 0;
        param_ok &= j->param == 100 + (DWORD)i;
        id_ok &= j->tid_seen == ids[i] && ids[i] != 0;
        differ &= j->tid_seen != me;
        for (int k = 0; k < i; k++)
            differ &= ids[k] != ids[i];
        start_ok &= j->tls_start == 0;
        tls_ok &= j->tls_after == j->param * 3;
        err_ok &= j->err_after == j->param + 1000;
        code_ok &= GetExitCodeThread(h[i], &code) && code == j->param + 7;
        CloseHandle(h[i]);
    }
    check(param_ok && ran == 3, "thread parameter");
    check(id_ok, "thread id from CreateThread");
    check(differ, "thread ids differ");
    check(start_ok, "TLS slot starts at 0 in a new thread");
    check(tls_ok, "TLS value per thread");
    check(err_ok, "last error per thread");
    check(code_ok, "GetExitCodeThread");

    /* A suspended thread: it must not run before ResumeThread. */
    HANDLE go = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD sid = 0;
    ran = 0;
    HANDLE s = CreateThread(NULL, 0, blocked, go, CREATE_SUSPENDED, &sid);
    if (!go || !s)
        fatal("CreateThread(CREATE_SUSPENDED)", 0);
    Sleep(20);
    check_eq((unsigned)ran, 0, "suspended thread has not run");
    check_eq(ResumeThread(s), 1, "ResumeThread returns previous count");
    DWORD code = 0;
    while (ran == 0)
        Sleep(1);
    check(WaitForSingleObject(s, 10) == WAIT_TIMEOUT && GetExitCodeThread(s, &code) &&
              code == STILL_ACTIVE,
          "STILL_ACTIVE while waiting");
    SetEvent(go);
    check_eq(WaitForSingleObject(s, 5000), WAIT_OBJECT_0, "suspended thread ran after ResumeThread");
    check(GetExitCodeThread(s, &code) && code == 99, "exit code of resumed thread");
    CloseHandle(s);
    CloseHandle(go);

    check_eq((unsigned)(UINT_PTR)TlsGetValue(tls), 0x1234, "main TLS value kept");
    check_eq(main_err, 4242, "main last error kept");
    check(TlsFree(tls), "TlsFree");
    return 0;
}
