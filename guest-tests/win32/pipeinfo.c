/* pipeinfo.c - ipcemu Win32 guest test: what the two ends of a named pipe learn about it and
 * about each other. One source, built as the server (pinfo_srv.exe) and the client
 * (pinfo_cli.exe, -DCLIENT).
 *
 * Run:    ipcemu run fixtures/win32/pinfo_srv.exe fixtures/win32/pinfo_cli.exe   (any order)
 * The server makes \\.\pipe\ipcemu_pinfo (message type, message-read mode, at most 3
 * instances, 1000 bytes out, 2000 in).
 *   - GetNamedPipeInfo: server end | message type, 1000 / 2000, 3 instances; at the client: the
 *     same sizes and type, client end.
 *   - GetNamedPipeHandleStateA: the server's message-read mode, 1 instance; the client's byte
 *     mode, then message mode and PIPE_NOWAIT after SetNamedPipeHandleState; a collection
 *     count asked for: ERROR_INVALID_PARAMETER.
 *   - GetNamedPipeClientProcessId before a client: ERROR_PIPE_NOT_CONNECTED; after: the pid
 *     the client sends in its first message. GetNamedPipeServerProcessId at the client: the
 *     pid the server sends back; at the server: its own.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define PIPE_NAME "\\\\.\\pipe\\ipcemu_pinfo"

#ifndef CLIENT

int test_main(unsigned n)
{
    (void)n;
    HANDLE h = CreateNamedPipeA(PIPE_NAME, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                3, 1000, 2000, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("CreateNamedPipeA", 0);
    DWORD flags, out, in, max, state, inst, pid;
    check(GetNamedPipeInfo(h, &flags, &out, &in, &max) && flags == (PIPE_SERVER_END | PIPE_TYPE_MESSAGE) &&
              out == 1000 && in == 2000 && max == 3,
          "GetNamedPipeInfo at the server: server end, message type, 1000/2000, 3 instances");
    check(GetNamedPipeHandleStateA(h, &state, &inst, NULL, NULL, NULL, 0) && state == PIPE_READMODE_MESSAGE &&
              inst == 1,
          "GetNamedPipeHandleStateA at the server: message-read mode, 1 instance");
    SetLastError(0);
    check(!GetNamedPipeClientProcessId(h, &pid) && GetLastError() == ERROR_PIPE_NOT_CONNECTED,
          "GetNamedPipeClientProcessId before a client: ERROR_PIPE_NOT_CONNECTED");
    if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        fatal("ConnectNamedPipe", GetLastError());
    DWORD said = 0, got;
    if (!ReadFile(h, &said, sizeof said, &got, NULL) || got != 4)
        fatal("ReadFile", GetLastError());
    check(GetNamedPipeClientProcessId(h, &pid) && pid == said && pid != GetCurrentProcessId(),
          "GetNamedPipeClientProcessId: the client's process id");
    check(GetNamedPipeServerProcessId(h, &pid) && pid == GetCurrentProcessId(),
          "GetNamedPipeServerProcessId at the server: its own");
    DWORD me = GetCurrentProcessId(), w;
    WriteFile(h, &me, sizeof me, &w, NULL);
    ReadFile(h, &said, sizeof said, &got, NULL); /* until the client goes */
    return rt_failures ? 1 : 0;
}

#else

int test_main(unsigned n)
{
    (void)n;
    while (!WaitNamedPipeA(PIPE_NAME, NMPWAIT_WAIT_FOREVER))
        Sleep(1);
    HANDLE h = CreateFileA(PIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("CreateFileA", GetLastError());
    DWORD flags, out, in, max, state, inst, pid;
    check(GetNamedPipeInfo(h, &flags, &out, &in, &max) && flags == PIPE_TYPE_MESSAGE && out == 1000 &&
              in == 2000 && max == 3,
          "GetNamedPipeInfo at the client: client end, the server's sizes");
    check(GetNamedPipeHandleStateA(h, &state, &inst, NULL, NULL, NULL, 0) && state == 0,
          "GetNamedPipeHandleStateA at the client: byte-read mode");
    DWORD mode = PIPE_READMODE_MESSAGE | PIPE_NOWAIT;
    SetNamedPipeHandleState(h, &mode, NULL, NULL);
    check(GetNamedPipeHandleStateA(h, &state, NULL, NULL, NULL, NULL, 0) &&
              state == (PIPE_READMODE_MESSAGE | PIPE_NOWAIT),
          "after SetNamedPipeHandleState: message mode, PIPE_NOWAIT");
    DWORD count = 0;
    SetLastError(0);
    check(!GetNamedPipeHandleStateA(h, &state, NULL, &count, NULL, NULL, 0) &&
              GetLastError() == ERROR_INVALID_PARAMETER,
          "a collection count asked for: ERROR_INVALID_PARAMETER");
    mode = PIPE_READMODE_MESSAGE;
    SetNamedPipeHandleState(h, &mode, NULL, NULL);
    DWORD me = GetCurrentProcessId(), w, got, said = 0;
    WriteFile(h, &me, sizeof me, &w, NULL);
    if (!ReadFile(h, &said, sizeof said, &got, NULL) || got != 4)
        fatal("ReadFile", GetLastError());
    check(GetNamedPipeServerProcessId(h, &pid) && pid == said && pid != me,
          "GetNamedPipeServerProcessId at the client: the server's process id");
    check(GetNamedPipeClientProcessId(h, &pid) && pid == me, "GetNamedPipeClientProcessId at the client: its own");
    CloseHandle(h);
    return rt_failures ? 1 : 0;
}

#endif
