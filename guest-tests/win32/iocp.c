/* iocp.c - ipcemu Win32 guest test: I/O completion ports, as a queue between threads and as
 * the completion queue of an overlapped named-pipe server.
 *
 * Run:    ipcemu run fixtures/win32/iocp.exe     (argv[1] = messages per client, default 4)
 *   1. A port (CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0)) as a work queue:
 *      three worker threads wait in GetQueuedCompletionStatus; the main thread posts 30 items
 *      (PostQueuedCompletionStatus: bytes = item, key = 7, lpOverlapped = a tag); each worker
 *      posts its result to a second port; the main thread collects all 30, then posts key 0 to
 *      stop the workers. Packets come out first in, first out.
 *      GetQueuedCompletionStatusEx takes several packets at once (and times out when empty).
 *   2. An empty port with a 50 ms timeout: FALSE, WAIT_TIMEOUT, *lpOverlapped NULL, after 50 ms.
 *   3. Two overlapped instances of \\.\pipe\ipcemu_iocp associated with one port (keys 1
 *      and 2): connects, reads and writes all complete through the port (the key says which
 *      instance, the OVERLAPPED which operation); clients send N messages each and get them
 *      back reversed; a client's close comes out as FALSE with ERROR_BROKEN_PIPE.
 *   4. An operation whose hEvent has its low bit set sets the event but makes no packet.
 *   5. CreateIoCompletionPort on a handle without FILE_FLAG_OVERLAPPED: NULL,
 *      ERROR_INVALID_PARAMETER; GetQueuedCompletionStatus on an event: ERROR_INVALID_HANDLE.
 *   6. GetQueuedCompletionStatusEx with fAlertable: queued APCs run when no packet is there,
 *      and the call returns FALSE with WAIT_IO_COMPLETION (0 entries); an APC queued by another
 *      thread ends a wait on an empty port the same way; a packet comes before the APCs (which
 *      stay queued); without fAlertable the APCs do not run.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 4
#include "rt.h"

#define PIPE_NAME "\\\\.\\pipe\\ipcemu_iocp"
#define ITEMS 30
#define WORKERS 3
#define BUF 64

static HANDLE work, results, main_thread;
static volatile LONG apc_sum, apc_calls;

static VOID CALLBACK apc(ULONG_PTR v)
{
    apc_sum += (LONG)v;
    apc_calls++;
}

/* Queues an APC (value 100) to the main thread after 20 ms. */
static DWORD WINAPI later_apc(LPVOID arg)
{
    (void)arg;
    Sleep(20);
    QueueUserAPC(apc, main_thread, 100);
    return 0;
}
static unsigned msgs;
static volatile LONG client_ok, client_bad, order_bad;

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    DWORD last = 0;
    int first = 1;
    for (;;) {
        DWORD bytes;
        ULONG_PTR key;
        LPOVERLAPPED ov;
        if (!GetQueuedCompletionStatus(work, &bytes, &key, &ov, INFINITE))
            fatal("worker GetQueuedCompletionStatus", GetLastError());
        if (key == 0)
            return 0;
        if (key != 7 || (DWORD)(UINT_PTR)ov != bytes * 3 + 1)
            InterlockedIncrement((LONG *)&order_bad);
        if (!first && bytes <= last)
            InterlockedIncrement((LONG *)&order_bad); /* each worker sees items in order */
        first = 0;
        last = bytes;
        PostQueuedCompletionStatus(results, bytes * bytes, 9, NULL);
    }
}

static DWORD WINAPI client(LPVOID arg)
{
    DWORD no = (DWORD)(UINT_PTR)arg;
    Sleep(10 * no);
    if (!WaitNamedPipeA(PIPE_NAME, 10000))
        fatal("WaitNamedPipeA", no);
    HANDLE h = CreateFileA(PIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("CreateFileA", no);
    DWORD mode = PIPE_READMODE_MESSAGE;
    SetNamedPipeHandleState(h, &mode, NULL, NULL);
    for (unsigned j = 0; j < msgs; j++) {
        struct rt_line l = {0};
        rt_puts(&l, "client ");
        rt_putu(&l, no);
        rt_puts(&l, " says ");
        rt_putu(&l, j);
        DWORD n;
        char r[BUF];
        if (!WriteFile(h, l.buf, l.len, &n, NULL) || !ReadFile(h, r, sizeof r, &n, NULL))
            fatal("client I/O", no);
        int same = n == l.len;
        for (unsigned i = 0; same && i < n; i++)
            same = r[i] == l.buf[n - 1 - i];
        InterlockedIncrement(same ? (LONG *)&client_ok : (LONG *)&client_bad);
    }
    CloseHandle(h);
    return 0;
}

static DWORD WINAPI connect_only(LPVOID arg)
{
    (void)arg;
    if (!WaitNamedPipeA(PIPE_NAME, 10000))
        fatal("WaitNamedPipeA (connect only)", 0);
    HANDLE h = CreateFileA(PIPE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("CreateFileA (connect only)", 0);
    Sleep(10);
    CloseHandle(h);
    return 0;
}

struct inst {
    HANDLE pipe;
    OVERLAPPED ov;
    char buf[BUF], out[BUF];
    int reading;
};

int test_main(unsigned n)
{
    msgs = n;
    DWORD bytes;
    ULONG_PTR key;
    LPOVERLAPPED ov;

    /* 1 */
    work = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    results = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    check(work && results, "CreateIoCompletionPort(INVALID_HANDLE_VALUE) makes ports");
    HANDLE ws[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        ws[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    Sleep(10); /* the workers wait */
    for (DWORD i = 1; i <= ITEMS; i++)
        PostQueuedCompletionStatus(work, i, 7, (LPOVERLAPPED)(UINT_PTR)(i * 3 + 1));
    DWORD sum = 0, got = 0;
    BOOL ok;
    while (got < ITEMS) {
        if (!GetQueuedCompletionStatus(results, &bytes, &key, &ov, 10000))
            fatal("main GetQueuedCompletionStatus", GetLastError());
        if (key == 9)
            sum += bytes;
        got++;
    }
    check_eq(sum, ITEMS * (ITEMS + 1) * (2 * ITEMS + 1) / 6, "30 items through three workers (sum of squares)");
    for (int i = 0; i < WORKERS; i++)
        PostQueuedCompletionStatus(work, 0, 0, NULL);
    check_eq(WaitForMultipleObjects(WORKERS, ws, TRUE, 10000), WAIT_OBJECT_0, "key 0 stopped the workers");
    check_eq(order_bad, 0, "packets first in, first out, with their bytes, key and OVERLAPPED");
    PostQueuedCompletionStatus(results, 1, 1, NULL);
    PostQueuedCompletionStatus(results, 2, 2, NULL);
    GetQueuedCompletionStatus(results, &bytes, &key, &ov, 0);
    DWORD first = bytes;
    GetQueuedCompletionStatus(results, &bytes, &key, &ov, 0);
    check(first == 1 && bytes == 2, "two posted packets come out in order");
    for (DWORD i = 1; i <= 5; i++)
        PostQueuedCompletionStatus(results, i * 10, 11, (LPOVERLAPPED)(UINT_PTR)i);
    OVERLAPPED_ENTRY ents[8];
    ULONG removed = 0;
    ok = GetQueuedCompletionStatusEx(results, ents, 8, &removed, 0, FALSE);
    int ents_ok = ok && removed == 5;
    for (ULONG i = 0; ents_ok && i < removed; i++)
        ents_ok = ents[i].lpCompletionKey == 11 && ents[i].dwNumberOfBytesTransferred == (i + 1) * 10 &&
                  ents[i].lpOverlapped == (LPOVERLAPPED)(UINT_PTR)(i + 1);
    check(ents_ok, "GetQueuedCompletionStatusEx takes five packets at once, in order");
    SetLastError(0);
    check(!GetQueuedCompletionStatusEx(results, ents, 8, &removed, 20, FALSE) && GetLastError() == WAIT_TIMEOUT,
          "and on an empty port times out (WAIT_TIMEOUT)");

    /* 2 */
    DWORD t0 = GetTickCount();
    ov = (LPOVERLAPPED)1;
    SetLastError(0);
    ok = GetQueuedCompletionStatus(results, &bytes, &key, &ov, 50);
    DWORD took = GetTickCount() - t0;
    check(!ok && GetLastError() == WAIT_TIMEOUT && ov == NULL, "empty port: FALSE, WAIT_TIMEOUT, no OVERLAPPED");
    check(took >= 50 && took <= 51, "after 50 ms");

    /* 3 */
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    static struct inst in[2];
    for (int i = 0; i < 2; i++) {
        in[i].pipe = CreateNamedPipeA(PIPE_NAME, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                      PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 2, 512,
                                      512, 0, NULL);
        if (in[i].pipe == INVALID_HANDLE_VALUE)
            fatal("CreateNamedPipeA", i);
        if (CreateIoCompletionPort(in[i].pipe, port, (ULONG_PTR)(i + 1), 0) != port)
            fatal("associate", i);
        if (ConnectNamedPipe(in[i].pipe, &in[i].ov) || GetLastError() != ERROR_IO_PENDING)
            fatal("ConnectNamedPipe", GetLastError());
    }
    HANDLE cl[2];
    for (int i = 0; i < 2; i++)
        cl[i] = CreateThread(NULL, 0, client, (LPVOID)(UINT_PTR)(i + 1), 0, NULL);
    unsigned connects = 0, replies = 0, closes = 0, wrong = 0, active = 2;
    while (active > 0) {
        ok = GetQueuedCompletionStatus(port, &bytes, &key, &ov, 10000);
        if (!ov)
            fatal("port GetQueuedCompletionStatus", GetLastError());
        if (key < 1 || key > 2 || ov != &in[key - 1].ov) {
            wrong++;
            continue;
        }
        struct inst *s = &in[key - 1];
        if (!ok) {
            if (GetLastError() != ERROR_BROKEN_PIPE)
                fatal("completion", GetLastError());
            closes++;
            DisconnectNamedPipe(s->pipe);
            active--;
            continue;
        }
        if (s->reading && bytes > 0) {
            for (DWORD i = 0; i < bytes; i++)
                s->out[i] = s->buf[bytes - 1 - i];
            s->reading = 0;
            if (!WriteFile(s->pipe, s->out, bytes, NULL, &s->ov) && GetLastError() != ERROR_IO_PENDING)
                fatal("WriteFile", GetLastError());
            continue;
        }
        if (!s->reading && bytes == 0)
            connects++;
        else
            replies++;
        s->reading = 1;
        if (!ReadFile(s->pipe, s->buf, BUF, NULL, &s->ov)) {
            DWORD e = GetLastError();
            if (e != ERROR_IO_PENDING && e != ERROR_BROKEN_PIPE)
                fatal("ReadFile", e);
            /* a failure at once makes no packet: count the close here */
            if (e == ERROR_BROKEN_PIPE) {
                closes++;
                DisconnectNamedPipe(s->pipe);
                active--;
            }
        }
    }
    WaitForMultipleObjects(2, cl, TRUE, 10000);
    check_eq(connects, 2, "both connects came through the port");
    check_eq(replies, 2 * n, "every reply's write came through the port");
    check(client_ok == (LONG)(2 * n) && client_bad == 0, "every client got its messages back reversed");
    check_eq(closes, 2, "each client's close: FALSE with ERROR_BROKEN_PIPE");
    check_eq(wrong, 0, "every packet had its instance's key and OVERLAPPED");

    /* 4 */
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    struct inst *s = &in[0];
    HANDLE c2 = CreateThread(NULL, 0, connect_only, NULL, 0, NULL);
    s->ov.hEvent = (HANDLE)((UINT_PTR)ev | 1);
    if (ConnectNamedPipe(s->pipe, &s->ov) || GetLastError() != ERROR_IO_PENDING)
        fatal("ConnectNamedPipe (low bit)", GetLastError());
    check_eq(WaitForSingleObject(ev, 10000), WAIT_OBJECT_0, "hEvent | 1: the event is set");
    check(!GetQueuedCompletionStatus(port, &bytes, &key, &ov, 0) && GetLastError() == WAIT_TIMEOUT,
          "and no packet was queued");
    WaitForSingleObject(c2, 10000);
    CloseHandle(s->pipe);

    /* 5 */
    HANDLE plain = CreateNamedPipeA(PIPE_NAME "_plain", PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 512, 512, 0, NULL);
    SetLastError(0);
    check(CreateIoCompletionPort(plain, port, 3, 0) == NULL && GetLastError() == ERROR_INVALID_PARAMETER,
          "a handle without FILE_FLAG_OVERLAPPED: ERROR_INVALID_PARAMETER");
    SetLastError(0);
    check(!GetQueuedCompletionStatus(ev, &bytes, &key, &ov, 0) && GetLastError() == ERROR_INVALID_HANDLE,
          "GetQueuedCompletionStatus on an event: ERROR_INVALID_HANDLE");

    /* 6 */
    if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &main_thread, 0,
                         FALSE, DUPLICATE_SAME_ACCESS))
        fatal("DuplicateHandle", 0);
    HANDLE q = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    QueueUserAPC(apc, main_thread, 1);
    QueueUserAPC(apc, main_thread, 2);
    SetLastError(0);
    check(!GetQueuedCompletionStatusEx(q, ents, 8, &removed, 50, FALSE) && GetLastError() == WAIT_TIMEOUT &&
              apc_calls == 0,
          "not alertable: the APCs wait, the call times out");
    removed = 9;
    SetLastError(0);
    ok = GetQueuedCompletionStatusEx(q, ents, 8, &removed, INFINITE, TRUE);
    check(!ok && GetLastError() == WAIT_IO_COMPLETION && removed == 0 && apc_calls == 2 && apc_sum == 3,
          "alertable: queued APCs run, FALSE with WAIT_IO_COMPLETION and 0 entries");
    PostQueuedCompletionStatus(q, 5, 6, NULL);
    QueueUserAPC(apc, main_thread, 10);
    ok = GetQueuedCompletionStatusEx(q, ents, 8, &removed, INFINITE, TRUE);
    check(ok && removed == 1 && ents[0].dwNumberOfBytesTransferred == 5 && apc_calls == 2,
          "a packet comes before the queued APC");
    SleepEx(0, TRUE);
    check(apc_calls == 3 && apc_sum == 13, "which stayed queued");
    HANDLE h6 = CreateThread(NULL, 0, later_apc, NULL, 0, NULL);
    t0 = GetTickCount();
    SetLastError(0);
    ok = GetQueuedCompletionStatusEx(q, ents, 8, &removed, 1000, TRUE);
    took = GetTickCount() - t0;
    check(!ok && GetLastError() == WAIT_IO_COMPLETION && apc_sum == 113 && took >= 20 && took < 1000,
          "an APC from another thread ends an alertable wait on an empty port");
    WaitForSingleObject(h6, 10000);
    return rt_failures ? 1 : 0;
}
