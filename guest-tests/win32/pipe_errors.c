/* pipe_errors.c - ipcemu Win32 guest test: pipe error paths and blocking writes, one process.
 *
 * Run:    ipcemu run fixtures/win32/pipe_errors.exe    (no arguments)
 * Checks, each against the error code Windows gives:
 *   - a write into a full anonymous pipe (16-byte buffer) waits until a reader thread drains it;
 *   - WriteFile after the read end is closed fails with ERROR_NO_DATA (232);
 *   - ReadFile on a write end fails with ERROR_ACCESS_DENIED (5);
 *   - CreateFileA and WaitNamedPipeA of a pipe nobody created fail with ERROR_FILE_NOT_FOUND (2);
 *   - CreateNamedPipeA with a name outside \\.\pipe\ fails with ERROR_INVALID_NAME (123), a
 *     second instance over nMaxInstances with ERROR_PIPE_BUSY (231);
 *   - ReadFile on a server end no client has connected to: ERROR_PIPE_LISTENING (536);
 *   - a client connected before ConnectNamedPipe: ConnectNamedPipe gives ERROR_PIPE_CONNECTED;
 *   - PeekNamedPipe reports the bytes available and the rest of the message without taking them;
 *   - a second client gets ERROR_PIPE_BUSY, and WaitNamedPipeA(…, 20) times out with
 *     ERROR_SEM_TIMEOUT (121) while the instance is in use;
 *   - after DisconnectNamedPipe the old client's handle gives ERROR_PIPE_NOT_CONNECTED (233);
 *   - CreateProcessA of a program that does not exist fails with ERROR_FILE_NOT_FOUND;
 *   - a bad handle: ERROR_INVALID_HANDLE (6).
 * Output: one PASS line per check (17). Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define NAME "\\\\.\\pipe\\ipcemu_errors"

static HANDLE g_rd;
static unsigned g_drained;

static DWORD WINAPI drain(LPVOID arg)
{
    (void)arg;
    static char buf[64];
    DWORD got = 0;
    /* the writer is blocked on the full pipe by now: give it time to block first */
    Sleep(5);
    while (g_drained < 100 && ReadFile(g_rd, buf, 10, &got, NULL))
        g_drained += got;
    return 0;
}

int test_main(unsigned n)
{
    (void)n;
    static char big[100], buf[64];
    DWORD put = 0, got = 0;

    /* A blocking write into a 16-byte pipe, drained by another thread. */
    HANDLE rd, wr;
    if (!CreatePipe(&rd, &wr, NULL, 16))
        fatal("CreatePipe", GetLastError());
    if (!WriteFile(wr, big, 16, &put, NULL))
        fatal("WriteFile 16", GetLastError());
    g_rd = rd;
    HANDLE th = CreateThread(NULL, 0, drain, NULL, 0, NULL);
    check(WriteFile(wr, big, 84, &put, NULL) && put == 84, "write into a full pipe waits for room");
    WaitForSingleObject(th, INFINITE);
    check_eq(g_drained, 100, "reader drained all 100 bytes");
    CloseHandle(th);

    SetLastError(0);
    check(!ReadFile(wr, buf, 1, &got, NULL) && GetLastError() == ERROR_ACCESS_DENIED,
          "ReadFile on a write end: ERROR_ACCESS_DENIED");
    CloseHandle(rd);
    check(!WriteFile(wr, big, 1, &put, NULL) && GetLastError() == ERROR_NO_DATA,
          "WriteFile after the read end closed: ERROR_NO_DATA");
    CloseHandle(wr);
    check(!WriteFile(wr, big, 1, &put, NULL) && GetLastError() == ERROR_INVALID_HANDLE,
          "WriteFile on a closed handle: ERROR_INVALID_HANDLE");

    /* Named pipes. */
    check(CreateFileA(NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL) ==
                  INVALID_HANDLE_VALUE &&
              GetLastError() == ERROR_FILE_NOT_FOUND,
          "CreateFileA of a missing pipe: ERROR_FILE_NOT_FOUND");
    check(!WaitNamedPipeA(NAME, 10) && GetLastError() == ERROR_FILE_NOT_FOUND,
          "WaitNamedPipeA of a missing pipe: ERROR_FILE_NOT_FOUND");
    check(CreateNamedPipeA("\\\\.\\nopipe\\x", PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 64, 64, 0,
                           NULL) == INVALID_HANDLE_VALUE &&
              GetLastError() == ERROR_INVALID_NAME,
          "CreateNamedPipeA outside \\\\.\\pipe\\: ERROR_INVALID_NAME");
    HANDLE srv = CreateNamedPipeA(NAME, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                                  1, 64, 64, 0, NULL);
    if (srv == INVALID_HANDLE_VALUE)
        fatal("CreateNamedPipeA", GetLastError());
    check(CreateNamedPipeA(NAME, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 1, 64, 64, 0, NULL) ==
                  INVALID_HANDLE_VALUE &&
              GetLastError() == ERROR_PIPE_BUSY,
          "second instance over the maximum: ERROR_PIPE_BUSY");
    check(!ReadFile(srv, buf, 8, &got, NULL) && GetLastError() == ERROR_PIPE_LISTENING,
          "ReadFile before a client: ERROR_PIPE_LISTENING");
    HANDLE cli = CreateFileA(NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (cli == INVALID_HANDLE_VALUE)
        fatal("CreateFileA", GetLastError());
    check(!ConnectNamedPipe(srv, NULL) && GetLastError() == ERROR_PIPE_CONNECTED,
          "client first: ConnectNamedPipe gives ERROR_PIPE_CONNECTED");
    if (!WriteFile(cli, "0123456789", 10, &put, NULL) || !WriteFile(cli, "ab", 2, &put, NULL))
        fatal("WriteFile client", GetLastError());
    DWORD avail = 0, left = 0;
    check(PeekNamedPipe(srv, buf, 4, &got, &avail, &left) && got == 4 && avail == 12 && left == 6 &&
              rt_memeq(buf, "0123", 4),
          "PeekNamedPipe: 4 copied, 12 available, 6 left in the message");
    check(ReadFile(srv, buf, 64, &got, NULL) && got == 10 && rt_memeq(buf, "0123456789", 10),
          "ReadFile after a peek reads the whole first message");
    check(CreateFileA(NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL) ==
                  INVALID_HANDLE_VALUE &&
              GetLastError() == ERROR_PIPE_BUSY,
          "a second client: ERROR_PIPE_BUSY");
    check(!WaitNamedPipeA(NAME, 20) && GetLastError() == ERROR_SEM_TIMEOUT,
          "WaitNamedPipeA while the instance is in use: ERROR_SEM_TIMEOUT");
    DisconnectNamedPipe(srv);
    check(!WriteFile(cli, "x", 1, &put, NULL) && GetLastError() == ERROR_PIPE_NOT_CONNECTED,
          "the client after DisconnectNamedPipe: ERROR_PIPE_NOT_CONNECTED");
    CloseHandle(cli);
    CloseHandle(srv);

    STARTUPINFOA si = {0};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi = {0};
    char cmd[] = "ipcemu_no_such_program.exe";
    check(!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi) &&
              GetLastError() == ERROR_FILE_NOT_FOUND,
          "CreateProcessA of a missing program: ERROR_FILE_NOT_FOUND");
    return 0;
}
