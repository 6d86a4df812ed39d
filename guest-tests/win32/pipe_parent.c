/* pipe_parent.c - ipcemu Win32 guest test: an anonymous pipe to a child's standard output.
 *
 * Run:    ipcemu run fixtures/win32/pipe_parent.exe    (no arguments; pipe_child.exe must be in the
 *         same folder as pipe_parent.exe)
 * CreatePipe with an inheritable write end (SECURITY_ATTRIBUTES.bInheritHandle) and a read end
 * made non-inheritable (SetHandleInformation); CreateProcessA(NULL, "pipe_child.exe ipcemu", ...,
 * bInheritHandles TRUE, ...) with STARTUPINFOA.dwFlags = STARTF_USESTDHANDLES, hStdOutput = the
 * write end (hStdInput/hStdError = the parent's own); the parent closes its write end and reads
 * with ReadFile until it fails with ERROR_BROKEN_PIPE (109), then checks the bytes and the child's
 * exit code (GetExitCodeProcess after WaitForSingleObject on the process handle).
 * The child is named without a path on the command line (lpApplicationName NULL): Windows looks
 * in the folder of the parent's image first.
 * Output:
 *     PASS pipe_parent CreatePipe
 *     PASS pipe_parent CreateProcessA
 *     PASS pipe_parent read until ERROR_BROKEN_PIPE
 *     PASS pipe_parent child output (N bytes)          N = 119
 *     PASS pipe_parent child exit code 0
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"
#include "pipe_common.h"

int test_main(unsigned n)
{
    (void)n;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd = NULL, wr = NULL;
    if (!check(CreatePipe(&rd, &wr, &sa, 0), "CreatePipe"))
        return 1;
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);

    STARTUPINFOA si = {0};
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi = {0};
    char cmd[] = "pipe_child.exe ipcemu";
    if (!check(CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi),
               "CreateProcessA"))
        return 1;
    CloseHandle(pi.hThread);
    CloseHandle(wr); /* else our own write end keeps the pipe from breaking */

    static char buf[1024];
    DWORD total = 0, got = 0, err = 0;
    for (;;) {
        if (total >= sizeof buf)
            fatal("the child wrote more than expected", total);
        if (!ReadFile(rd, buf + total, 16, &got, NULL)) {
            err = GetLastError();
            break;
        }
        total += got;
    }
    check_eq(err, ERROR_BROKEN_PIPE, "read until ERROR_BROKEN_PIPE");
    const char *want = PIPE_CHILD_LINES;
    struct rt_line l = {0};
    rt_puts(&l, "child output (");
    rt_putu(&l, total);
    rt_puts(&l, " bytes)");
    l.buf[l.len] = 0;
    check(total == rt_strlen(want) && rt_memeq(buf, want, total), l.buf);
    CloseHandle(rd);

    DWORD code = 12345;
    if (WaitForSingleObject(pi.hProcess, 10000) != WAIT_OBJECT_0)
        fatal("the child did not end", 0);
    check(GetExitCodeProcess(pi.hProcess, &code) && code == 0, "child exit code 0");
    CloseHandle(pi.hProcess);
    return 0;
}
