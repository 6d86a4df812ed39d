/* transact.c - ipcemu Win32 guest test: TransactNamedPipe and CallNamedPipeA, a request and its
 * reply in one call on a message pipe.
 *
 * Run:    ipcemu run fixtures/win32/transact.exe
 * A server thread serves one instance of \\.\pipe\ipcemu_tx (message type, message-read mode)
 * to one client after another: for each request it writes "re:" + the request; for "big" a
 * 40-byte reply; for "push" the reply and then an extra message "extra".
 *   1. CallNamedPipeA("hello") connects, sends, reads "re:hello" and closes (the server then
 *      sees the client gone).
 *   2. CallNamedPipeA("big") with an 8-byte buffer: FALSE, ERROR_MORE_DATA, 8 bytes.
 *   3. A client handle in message-read mode: two TransactNamedPipe calls get their replies;
 *      after "push" the "extra" message is unread, so the next TransactNamedPipe fails with
 *      ERROR_PIPE_BUSY; ReadFile takes "extra" and TransactNamedPipe works again.
 *   4. While that client holds the only instance: CallNamedPipeA with NMPWAIT_NOWAIT fails
 *      with ERROR_PIPE_BUSY, with a 50 ms timeout with ERROR_SEM_TIMEOUT after 50 ms.
 *   5. TransactNamedPipe on a handle in byte-read mode: ERROR_BAD_PIPE. CallNamedPipeA of a
 *      name nobody made: ERROR_FILE_NOT_FOUND.
 *   6. An overlapped client handle: TransactNamedPipe with an OVERLAPPED returns
 *      ERROR_IO_PENDING and GetOverlappedResult(bWait TRUE) gives the reply.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define PIPE_NAME "\\\\.\\pipe\\ipcemu_tx"
#define CLIENTS 4

static volatile LONG server_saw_close;

static DWORD WINAPI server(LPVOID arg)
{
    (void)arg;
    HANDLE h = CreateNamedPipeA(PIPE_NAME, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                1, 512, 512, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("CreateNamedPipeA", 0);
    for (int c = 0; c < CLIENTS; c++) {
        if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
            fatal("ConnectNamedPipe", GetLastError());
        for (;;) {
            char req[64], rep[64];
            DWORD n, w;
            if (!ReadFile(h, req, sizeof req, &n, NULL)) {
                if (GetLastError() == ERROR_BROKEN_PIPE)
                    server_saw_close++;
                break;
            }
            DWORD len;
            if (n == 3 && rt_memeq(req, "big", 3)) {
                for (len = 0; len < 40; len++)
                    rep[len] = (char)('a' + len % 26);
            } else {
                rep[0] = 'r';
                rep[1] = 'e';
                rep[2] = ':';
                for (DWORD i = 0; i < n; i++)
                    rep[3 + i] = req[i];
                len = n + 3;
            }
            WriteFile(h, rep, len, &w, NULL);
            if (n == 4 && rt_memeq(req, "push", 4))
                WriteFile(h, "extra", 5, &w, NULL);
        }
        DisconnectNamedPipe(h);
    }
    CloseHandle(h);
    return 0;
}

int test_main(unsigned n)
{
    (void)n;
    HANDLE th = CreateThread(NULL, 0, server, NULL, 0, NULL);
    Sleep(1); /* the server makes its instance */
    char buf[64];
    DWORD got;

    /* 1 */
    check(CallNamedPipeA(PIPE_NAME, "hello", 5, buf, sizeof buf, &got, NMPWAIT_WAIT_FOREVER) && got == 8 &&
              rt_memeq(buf, "re:hello", 8),
          "CallNamedPipeA(\"hello\"): \"re:hello\"");
    Sleep(1);
    check_eq(server_saw_close, 1, "and it closed its end (the server saw the client go)");

    /* 2 */
    SetLastError(0);
    BOOL ok = CallNamedPipeA(PIPE_NAME, "big", 3, buf, 8, &got, NMPWAIT_WAIT_FOREVER);
    check(!ok && GetLastError() == ERROR_MORE_DATA && got == 8 && rt_memeq(buf, "abcdefgh", 8),
          "a 40-byte reply into 8 bytes: FALSE, ERROR_MORE_DATA, 8 bytes");

    /* 3 */
    if (!WaitNamedPipeA(PIPE_NAME, 10000))
        fatal("WaitNamedPipeA", 0);
    HANDLE c = CreateFileA(PIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (c == INVALID_HANDLE_VALUE)
        fatal("CreateFileA", 0);
    SetLastError(0);
    check(!TransactNamedPipe(c, "x", 1, buf, sizeof buf, &got, NULL) && GetLastError() == ERROR_BAD_PIPE,
          "TransactNamedPipe in byte-read mode: ERROR_BAD_PIPE");
    DWORD mode = PIPE_READMODE_MESSAGE;
    SetNamedPipeHandleState(c, &mode, NULL, NULL);
    check(TransactNamedPipe(c, "one", 3, buf, sizeof buf, &got, NULL) && got == 6 && rt_memeq(buf, "re:one", 6),
          "TransactNamedPipe(\"one\"): \"re:one\"");
    check(TransactNamedPipe(c, "push", 4, buf, sizeof buf, &got, NULL) && got == 7 && rt_memeq(buf, "re:push", 7),
          "TransactNamedPipe(\"push\"): \"re:push\"");
    Sleep(1); /* the extra message has come */
    SetLastError(0);
    check(!TransactNamedPipe(c, "two", 3, buf, sizeof buf, &got, NULL) && GetLastError() == ERROR_PIPE_BUSY,
          "with a message unread: ERROR_PIPE_BUSY");
    check(ReadFile(c, buf, sizeof buf, &got, NULL) && got == 5 && rt_memeq(buf, "extra", 5), "ReadFile takes it");
    check(TransactNamedPipe(c, "two", 3, buf, sizeof buf, &got, NULL) && got == 6 && rt_memeq(buf, "re:two", 6),
          "then TransactNamedPipe works again");

    /* 4 */
    SetLastError(0);
    check(!CallNamedPipeA(PIPE_NAME, "x", 1, buf, sizeof buf, &got, NMPWAIT_NOWAIT) &&
              GetLastError() == ERROR_PIPE_BUSY,
          "the instance busy: CallNamedPipeA(NMPWAIT_NOWAIT) fails with ERROR_PIPE_BUSY");
    DWORD t0 = GetTickCount();
    SetLastError(0);
    ok = CallNamedPipeA(PIPE_NAME, "x", 1, buf, sizeof buf, &got, 50);
    DWORD took = GetTickCount() - t0;
    check(!ok && GetLastError() == ERROR_SEM_TIMEOUT && took >= 50 && took <= 51,
          "with a 50 ms timeout: ERROR_SEM_TIMEOUT after 50 ms");
    CloseHandle(c);

    /* 5 */
    SetLastError(0);
    check(!CallNamedPipeA("\\\\.\\pipe\\ipcemu_nobody", "x", 1, buf, sizeof buf, &got, 0) &&
              GetLastError() == ERROR_FILE_NOT_FOUND,
          "CallNamedPipeA of a name nobody made: ERROR_FILE_NOT_FOUND");

    /* 6 */
    if (!WaitNamedPipeA(PIPE_NAME, 10000))
        fatal("WaitNamedPipeA", 1);
    HANDLE oc = CreateFileA(PIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED,
                            NULL);
    if (oc == INVALID_HANDLE_VALUE)
        fatal("CreateFileA (overlapped)", 0);
    SetNamedPipeHandleState(oc, &mode, NULL, NULL);
    OVERLAPPED ov = {0};
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    ok = TransactNamedPipe(oc, "async", 5, buf, sizeof buf, &got, &ov);
    check(!ok && GetLastError() == ERROR_IO_PENDING, "overlapped TransactNamedPipe: ERROR_IO_PENDING");
    check(GetOverlappedResult(oc, &ov, &got, TRUE) && got == 8 && rt_memeq(buf, "re:async", 8),
          "GetOverlappedResult(bWait TRUE): \"re:async\"");
    CloseHandle(oc);
    check_eq(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "the server served its four clients");
    return rt_failures ? 1 : 0;
}
