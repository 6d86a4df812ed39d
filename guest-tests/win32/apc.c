/* apc.c - ipcemu Win32 guest test: APCs (QueueUserAPC), alertable waits, and the completion
 * routines of ReadFileEx/WriteFileEx on an overlapped named pipe.
 *
 * Run:    ipcemu run fixtures/win32/apc.exe
 *   1. Three APCs queued to the own thread run, in order, in one SleepEx(0, TRUE), which
 *      returns WAIT_IO_COMPLETION; a plain Sleep does not run them.
 *   2. Objects come first: WaitForSingleObjectEx on a signalled event returns WAIT_OBJECT_0 and
 *      leaves the APC queued; on an unsignalled one it runs it (WAIT_IO_COMPLETION).
 *   3. A thread blocked in WaitForSingleObjectEx(INFINITE, alertable) / SleepEx(100, TRUE) /
 *      MsgWaitForMultipleObjectsEx(MWMO_ALERTABLE) is woken by an APC another thread queues
 *      20 ms later, runs it on its own thread, and returns WAIT_IO_COMPLETION; SleepEx(50, TRUE)
 *      with nothing queued returns 0 after 50 ms.
 *   4. ReadFileEx/WriteFileEx on an overlapped pipe: the read waits for a client that writes
 *      20 ms later; its completion routine runs in the next alertable wait with (0, bytes,
 *      lpOverlapped); a read that finds data returns TRUE and its routine still waits for an
 *      alertable wait; the client's close ends a pending read with ERROR_BROKEN_PIPE.
 *   5. QueueUserAPC with a bad thread handle, ReadFileEx on a handle without
 *      FILE_FLAG_OVERLAPPED: FALSE with ERROR_INVALID_HANDLE / ERROR_INVALID_PARAMETER.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define PIPE_NAME "\\\\.\\pipe\\ipcemu_apc"

static HANDLE main_thread;
static DWORD main_tid;
static volatile LONG order[8], ran, wrong_thread;
static volatile DWORD io_code = 0xFFFFFFFF, io_bytes, io_calls;
static volatile LPOVERLAPPED io_ov;

static VOID CALLBACK apc(ULONG_PTR v)
{
    if (GetCurrentThreadId() != main_tid)
        wrong_thread++;
    if (ran < 8)
        order[ran] = (LONG)v;
    ran++;
}

static VOID CALLBACK done(DWORD code, DWORD bytes, LPOVERLAPPED ov)
{
    io_code = code;
    io_bytes = bytes;
    io_ov = ov;
    io_calls++;
}

/* The helper: waits 20 ms, then queues an APC (value v) to the main thread. */
static DWORD WINAPI later_apc(LPVOID arg)
{
    Sleep(20);
    QueueUserAPC(apc, main_thread, (ULONG_PTR)arg);
    return 0;
}

static void in_20ms(ULONG_PTR v)
{
    HANDLE h = CreateThread(NULL, 0, later_apc, (LPVOID)v, 0, NULL);
    if (!h)
        fatal("CreateThread", 0);
    CloseHandle(h);
}

static DWORD WINAPI pipe_client(LPVOID arg)
{
    (void)arg;
    Sleep(20);
    HANDLE h = CreateFileA(PIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("client CreateFileA", 0);
    DWORD n;
    Sleep(20);
    WriteFile(h, "first", 5, &n, NULL);
    char r[16];
    ReadFile(h, r, sizeof r, &n, NULL); /* the server's reply */
    WriteFile(h, "second", 6, &n, NULL);
    Sleep(40);
    CloseHandle(h);
    return 0;
}

int test_main(unsigned n)
{
    (void)n;
    main_tid = GetCurrentThreadId();
    if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &main_thread, 0,
                         FALSE, DUPLICATE_SAME_ACCESS))
        fatal("DuplicateHandle", 0);

    /* 1 */
    QueueUserAPC(apc, main_thread, 1);
    QueueUserAPC(apc, main_thread, 2);
    QueueUserAPC(apc, main_thread, 3);
    Sleep(10);
    check_eq(ran, 0, "a plain Sleep runs no APC");
    check_eq(SleepEx(0, TRUE), WAIT_IO_COMPLETION, "SleepEx(0, TRUE): WAIT_IO_COMPLETION");
    check(ran == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3, "it ran the three APCs in order");

    /* 2 */
    HANDLE ev = CreateEventA(NULL, TRUE, TRUE, NULL);
    QueueUserAPC(apc, main_thread, 4);
    check_eq(WaitForSingleObjectEx(ev, INFINITE, TRUE), WAIT_OBJECT_0,
             "a signalled object comes first (WAIT_OBJECT_0)");
    check_eq(ran, 3, "and the APC stays queued");
    ResetEvent(ev);
    check_eq(WaitForSingleObjectEx(ev, 0, TRUE), WAIT_IO_COMPLETION,
             "an unsignalled one: the APC runs (WAIT_IO_COMPLETION)");
    check(ran == 4 && order[3] == 4, "APC 4 ran");

    /* 3 */
    DWORD t0 = GetTickCount();
    in_20ms(5);
    check_eq(WaitForSingleObjectEx(ev, INFINITE, TRUE), WAIT_IO_COMPLETION,
             "a blocked WaitForSingleObjectEx is woken by an APC");
    DWORD took = GetTickCount() - t0;
    check(ran == 5 && order[4] == 5 && took >= 20 && took <= 21, "after 20 ms, APC 5 ran");
    t0 = GetTickCount();
    in_20ms(6);
    check_eq(SleepEx(100, TRUE), WAIT_IO_COMPLETION, "SleepEx(100, TRUE) is woken by an APC");
    took = GetTickCount() - t0;
    check(ran == 6 && took >= 20 && took <= 21, "after 20 ms");
    t0 = GetTickCount();
    in_20ms(7);
    check_eq(MsgWaitForMultipleObjectsEx(0, NULL, INFINITE, QS_ALLINPUT, MWMO_ALERTABLE),
             WAIT_IO_COMPLETION, "MsgWaitForMultipleObjectsEx(MWMO_ALERTABLE) too");
    check(ran == 7 && order[6] == 7, "APC 7 ran");
    Sleep(30); /* the helpers end */
    t0 = GetTickCount();
    check_eq(SleepEx(50, TRUE), 0, "SleepEx(50, TRUE) with nothing queued returns 0");
    took = GetTickCount() - t0;
    check(took >= 50 && took <= 51, "after 50 ms");
    check_eq(wrong_thread, 0, "every APC ran on the main thread");

    /* 4 */
    HANDLE pipe = CreateNamedPipeA(PIPE_NAME, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 512, 512, 0,
                                   NULL);
    if (pipe == INVALID_HANDLE_VALUE)
        fatal("CreateNamedPipeA", 0);
    HANDLE cl = CreateThread(NULL, 0, pipe_client, NULL, 0, NULL);
    if (!ConnectNamedPipe(pipe, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        fatal("ConnectNamedPipe", GetLastError());
    OVERLAPPED ov = {0};
    char buf[16] = {0};
    t0 = GetTickCount();
    check(ReadFileEx(pipe, buf, sizeof buf, &ov, done), "ReadFileEx starts (TRUE)");
    check_eq(io_calls, 0, "its routine has not run");
    check_eq(SleepEx(INFINITE, TRUE), WAIT_IO_COMPLETION, "SleepEx(INFINITE, TRUE) ran the routine");
    check(io_calls == 1 && io_code == 0 && io_bytes == 5 && io_ov == &ov && rt_memeq(buf, "first", 5),
          "with (0, 5, lpOverlapped) and the bytes in the buffer");
    check(GetTickCount() - t0 == 20, "when the client wrote (20 ms)");
    check(WriteFileEx(pipe, "reply", 5, &ov, done), "WriteFileEx (TRUE)");
    check_eq(SleepEx(0, TRUE), WAIT_IO_COMPLETION, "its routine runs in the next alertable wait");
    check(io_calls == 2 && io_code == 0 && io_bytes == 5, "with (0, 5)");
    Sleep(10); /* the client has written its second message */
    check(ReadFileEx(pipe, buf, sizeof buf, &ov, done), "ReadFileEx that finds data: TRUE");
    check_eq(io_calls, 2, "its routine still waits");
    check_eq(SleepEx(0, TRUE), WAIT_IO_COMPLETION, "until an alertable wait");
    check(io_calls == 3 && io_bytes == 6 && rt_memeq(buf, "second", 6), "which gives the 6 bytes");
    check(ReadFileEx(pipe, buf, sizeof buf, &ov, done), "a last ReadFileEx is pending");
    check_eq(WaitForSingleObjectEx(ev, INFINITE, TRUE), WAIT_IO_COMPLETION,
             "the client's close ends it (routine run)");
    check(io_calls == 4 && io_code == ERROR_BROKEN_PIPE, "with ERROR_BROKEN_PIPE");
    WaitForSingleObject(cl, 10000);

    /* 5 */
    SetLastError(0);
    check(!QueueUserAPC(apc, (HANDLE)0x4321, 9) && GetLastError() == ERROR_INVALID_HANDLE,
          "QueueUserAPC to a bad handle: ERROR_INVALID_HANDLE");
    HANDLE plain = CreateNamedPipeA(PIPE_NAME "2", PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 512, 512, 0, NULL);
    SetLastError(0);
    check(!ReadFileEx(plain, buf, sizeof buf, &ov, done) && GetLastError() == ERROR_INVALID_PARAMETER,
          "ReadFileEx without FILE_FLAG_OVERLAPPED: ERROR_INVALID_PARAMETER");
    return rt_failures ? 1 : 0;
}
