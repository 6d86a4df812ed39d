/* npipe_cli.c - ipcemu Win32 guest test: a client of npipe_srv.exe (which see).
 *
 * Built twice: npipe_cli1.exe (-DCLIENT_NO=1) and npipe_cli2.exe (-DCLIENT_NO=2).
 * Until the pipe exists and is free it retries: WaitNamedPipeA(name, 10000) fails with
 * ERROR_FILE_NOT_FOUND (2) when there is no instance yet (then Sleep(10) and again), and
 * CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL) fails with
 * ERROR_PIPE_BUSY (231) when another client got the instance first (then WaitNamedPipeA again).
 * Then SetNamedPipeHandleState(PIPE_READMODE_MESSAGE), 5 messages (the first 100 bytes), each
 * answered by "ack " + the message upper-cased; then CloseHandle.
 * Output:
 *     PASS npipe_cliC connected
 *     PASS npipe_cliC 5 replies
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"
#include "npipe_common.h"

#ifndef CLIENT_NO
#error "build with -DCLIENT_NO=1 or 2"
#endif

int test_main(unsigned n)
{
    (void)n;
    HANDLE p = INVALID_HANDLE_VALUE;
    for (int tries = 0; tries < 3000 && p == INVALID_HANDLE_VALUE; tries++) {
        if (!WaitNamedPipeA(NPIPE_NAME, 10000)) {
            DWORD e = GetLastError();
            if (e != ERROR_FILE_NOT_FOUND && e != ERROR_SEM_TIMEOUT)
                fatal("WaitNamedPipeA", e);
            Sleep(10);
            continue;
        }
        p = CreateFileA(NPIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (p == INVALID_HANDLE_VALUE) {
            DWORD e = GetLastError();
            if (e != ERROR_PIPE_BUSY && e != ERROR_FILE_NOT_FOUND)
                fatal("CreateFileA", e);
        }
    }
    if (!check(p != INVALID_HANDLE_VALUE, "connected"))
        return 1;
    DWORD mode = PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(p, &mode, NULL, NULL))
        fatal("SetNamedPipeHandleState", 0);
    static char msg[512], want[600], reply[600];
    unsigned ok = 0;
    for (unsigned i = 0; i < NPIPE_MSGS; i++) {
        unsigned len = npipe_msg(msg, CLIENT_NO, i);
        DWORD put = 0, got = 0;
        if (!WriteFile(p, msg, len, &put, NULL) || put != len)
            fatal("WriteFile", i);
        if (!ReadFile(p, reply, sizeof reply, &got, NULL))
            fatal("ReadFile", i);
        unsigned wlen = npipe_reply(want, msg, len);
        if (got == wlen && rt_memeq(reply, want, wlen))
            ok++;
    }
    CloseHandle(p);
    struct rt_line l = {0};
    rt_putu(&l, ok);
    rt_puts(&l, " replies");
    l.buf[l.len] = 0;
    check(ok == NPIPE_MSGS, l.buf);
    return 0;
}
