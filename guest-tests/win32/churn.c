/* churn.c - ipcemu Win32 guest test: threads created and ended one after another.
 *
 * Run:    ipcemu run fixtures/win32/churn.exe [--params 1=N]     (default N 1000)
 * Creates N threads one at a time; each returns its parameter; the main thread waits for it,
 * checks its exit code and closes its handle. A host that keeps what ended threads used grows
 * with N; ipcemu must not (docs/robustness.md).
 * Output:
 *     PASS churn <N> threads created and ended
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 1000
#include "rt.h"

static DWORD WINAPI body(LPVOID arg)
{
    return (DWORD)(ULONG_PTR)arg;
}

int test_main(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        HANDLE h = CreateThread(NULL, 0, body, (LPVOID)(ULONG_PTR)(i ^ 0x5A5A), 0, NULL);
        if (!h)
            fatal("CreateThread", i);
        DWORD code = 0;
        if (WaitForSingleObject(h, INFINITE) != WAIT_OBJECT_0 || !GetExitCodeThread(h, &code) ||
            code != (i ^ 0x5A5A))
            fatal("thread result", i);
        CloseHandle(h);
    }
    struct rt_line l = {0};
    rt_putu(&l, n);
    rt_puts(&l, " threads created and ended");
    l.buf[l.len] = 0;
    check(1, l.buf);
    return 0;
}
