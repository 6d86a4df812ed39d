/* ovpipe.c - ipcemu Win32 guest test: a named-pipe server with overlapped I/O, one thread
 * serving several instances at once (the classic Windows "overlapped server" pattern).
 *
 * Run:    ipcemu run fixtures/win32/ovpipe.exe     (argv[1] = messages per client, default 5)
 *   1. The server makes 3 instances of \\.\pipe\ipcemu_ov with FILE_FLAG_OVERLAPPED, each with
 *      a manual-reset event (created signalled) in its OVERLAPPED; ConnectNamedPipe returns
 *      FALSE with ERROR_IO_PENDING for each and resets the event; GetOverlappedResult with
 *      bWait FALSE fails with ERROR_IO_INCOMPLETE.
 *   2. Three client threads (plain, blocking handles) each send N messages and read the
 *      replies. The server waits for the three events with WaitForMultipleObjects and, per
 *      instance, moves connect -> read -> write -> read ...: GetOverlappedResult gives each
 *      step's result; a client's close ends its instance's read with ERROR_BROKEN_PIPE. Every
 *      reply is the message in upper case.
 *   3. CancelIo of a pending ConnectNamedPipe: GetOverlappedResult then fails with
 *      ERROR_OPERATION_ABORTED and the event is set; CancelIoEx with nothing pending fails
 *      with ERROR_NOT_FOUND.
 *   4. GetOverlappedResult with bWait TRUE waits: for a client that connects 30 ms later, then
 *      for its 4-byte message. A read with no event in its OVERLAPPED resets the handle, and
 *      WaitForSingleObject on the handle returns when the read ends.
 *   5. Closing a handle with a pending operation ends it (HasOverlappedIoCompleted).
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 5
#include "rt.h"

#define PIPE_NAME "\\\\.\\pipe\\ipcemu_ov"
#define LATE_NAME "\\\\.\\pipe\\ipcemu_ov_late"
#define INSTANCES 3
#define BUF 64

enum { CONNECTING, READING, WRITING, DONE };

struct inst {
    HANDLE pipe;
    OVERLAPPED ov;
    int state;
    char buf[BUF];
    char reply[BUF];
};

static unsigned msgs;
static volatile LONG client_ok, client_bad;

static HANDLE make_instance(const char *name, DWORD max)
{
    HANDLE h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, max, 512, 512,
                                0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("CreateNamedPipeA", 0);
    return h;
}

static DWORD WINAPI client(LPVOID arg)
{
    DWORD no = (DWORD)(UINT_PTR)arg;
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
        rt_puts(&l, " message ");
        rt_putu(&l, j);
        DWORD n;
        if (!WriteFile(h, l.buf, l.len, &n, NULL) || n != l.len)
            fatal("client WriteFile", no);
        char r[BUF];
        if (!ReadFile(h, r, sizeof r, &n, NULL) || n != l.len)
            fatal("client ReadFile", no);
        int same = 1;
        for (unsigned i = 0; i < n; i++) {
            char c = l.buf[i];
            if (c >= 'a' && c <= 'z')
                c -= 32;
            if (r[i] != c)
                same = 0;
        }
        if (same)
            InterlockedIncrement((LONG *)&client_ok);
        else
            InterlockedIncrement((LONG *)&client_bad);
    }
    CloseHandle(h);
    return 0;
}

static unsigned pending_reads, immediate_reads;

/* Start a read on instance i; returns 0 when the client is gone (the instance is done). */
static int start_read(struct inst *s)
{
    s->state = READING;
    if (ReadFile(s->pipe, s->buf, BUF, NULL, &s->ov)) {
        immediate_reads++; /* finished at once: the event is set, the loop takes it */
        return 1;
    }
    DWORD e = GetLastError();
    if (e == ERROR_IO_PENDING) {
        pending_reads++;
        return 1;
    }
    if (e != ERROR_BROKEN_PIPE)
        fatal("ReadFile", e);
    return 0;
}

static DWORD WINAPI late_client(LPVOID arg)
{
    (void)arg;
    Sleep(30);
    HANDLE h = CreateFileA(LATE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fatal("late CreateFileA", 0);
    Sleep(20);
    DWORD n;
    WriteFile(h, "late", 4, &n, NULL);
    Sleep(20);
    WriteFile(h, "more", 4, &n, NULL);
    Sleep(20);
    CloseHandle(h);
    return 0;
}

int test_main(unsigned n)
{
    msgs = n;
    static struct inst in[INSTANCES];
    HANDLE events[INSTANCES];
    unsigned pending_connects = 0, reset = 0;

    /* 1 */
    for (int i = 0; i < INSTANCES; i++) {
        in[i].pipe = make_instance(PIPE_NAME, INSTANCES);
        in[i].ov.hEvent = events[i] = CreateEventA(NULL, TRUE, TRUE, NULL);
        in[i].state = CONNECTING;
        if (!ConnectNamedPipe(in[i].pipe, &in[i].ov) && GetLastError() == ERROR_IO_PENDING)
            pending_connects++;
        if (WaitForSingleObject(events[i], 0) == WAIT_TIMEOUT)
            reset++;
    }
    check_eq(pending_connects, INSTANCES, "ConnectNamedPipe: ERROR_IO_PENDING on every instance");
    check_eq(reset, INSTANCES, "and the events were reset");
    DWORD got = 0;
    SetLastError(0);
    check(!GetOverlappedResult(in[0].pipe, &in[0].ov, &got, FALSE) &&
              GetLastError() == ERROR_IO_INCOMPLETE,
          "GetOverlappedResult(bWait FALSE) on a pending connect: ERROR_IO_INCOMPLETE");

    /* 2 */
    HANDLE th[INSTANCES];
    for (int i = 0; i < INSTANCES; i++)
        th[i] = CreateThread(NULL, 0, client, (LPVOID)(UINT_PTR)i, 0, NULL);
    unsigned done = 0, connected = 0, served = 0, broken = 0, wrong = 0;
    while (done < INSTANCES) {
        DWORD w = WaitForMultipleObjects(INSTANCES, events, FALSE, 10000);
        if (w >= WAIT_OBJECT_0 + INSTANCES)
            fatal("WaitForMultipleObjects", w);
        struct inst *s = &in[w - WAIT_OBJECT_0];
        BOOL ok = GetOverlappedResult(s->pipe, &s->ov, &got, FALSE);
        DWORD e = ok ? 0 : GetLastError();
        switch (s->state) {
        case CONNECTING:
            if (!ok)
                fatal("overlapped connect", e);
            connected++;
            if (!start_read(s))
                fatal("first read", 0);
            break;
        case READING:
            if (!ok) {
                if (e != ERROR_BROKEN_PIPE)
                    fatal("overlapped read", e);
                broken++;
                DisconnectNamedPipe(s->pipe);
                ResetEvent(s->ov.hEvent);
                s->state = DONE;
                done++;
                break;
            }
            for (DWORD i = 0; i < got; i++) {
                char c = s->buf[i];
                s->reply[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
            }
            s->state = WRITING;
            if (!WriteFile(s->pipe, s->reply, got, NULL, &s->ov) && GetLastError() != ERROR_IO_PENDING)
                fatal("WriteFile", GetLastError());
            break;
        case WRITING:
            if (!ok)
                fatal("overlapped write", e);
            served++;
            if (!start_read(s)) {
                broken++;
                DisconnectNamedPipe(s->pipe);
                ResetEvent(s->ov.hEvent);
                s->state = DONE;
                done++;
            }
            break;
        default:
            wrong++;
            ResetEvent(s->ov.hEvent);
        }
    }
    for (int i = 0; i < INSTANCES; i++)
        WaitForSingleObject(th[i], 10000);
    check_eq(connected, INSTANCES, "every instance connected through its event");
    check_eq(served, INSTANCES * n, "every message answered by an overlapped write");
    check_eq(client_ok, INSTANCES * n, "every client got its message back in upper case");
    check_eq(client_bad, 0, "no wrong reply");
    check_eq(broken, INSTANCES, "each client's close ended its read with ERROR_BROKEN_PIPE");
    check(pending_reads > 0, "some reads were pending (ERROR_IO_PENDING)");
    check(wrong == 0, "no event of a finished instance");

    /* 3 */
    struct inst c = {0};
    c.pipe = in[0].pipe; /* the first instance, disconnected: it can listen again */
    c.ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    check(!ConnectNamedPipe(c.pipe, &c.ov) && GetLastError() == ERROR_IO_PENDING,
          "a new overlapped connect is pending");
    check(CancelIo(c.pipe), "CancelIo");
    SetLastError(0);
    check(!GetOverlappedResult(c.pipe, &c.ov, &got, FALSE) &&
              GetLastError() == ERROR_OPERATION_ABORTED,
          "the cancelled connect: ERROR_OPERATION_ABORTED");
    check_eq(WaitForSingleObject(c.ov.hEvent, 0), WAIT_OBJECT_0, "its event is set");
    SetLastError(0);
    check(!CancelIoEx(c.pipe, NULL) && GetLastError() == ERROR_NOT_FOUND,
          "CancelIoEx with nothing pending: ERROR_NOT_FOUND");

    /* 4 */
    struct inst l = {0};
    l.pipe = make_instance(LATE_NAME, 1);
    l.ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE lt = CreateThread(NULL, 0, late_client, NULL, 0, NULL);
    DWORD t0 = GetTickCount();
    if (ConnectNamedPipe(l.pipe, &l.ov) || GetLastError() != ERROR_IO_PENDING)
        fatal("late ConnectNamedPipe", GetLastError());
    check(GetOverlappedResult(l.pipe, &l.ov, &got, TRUE), "GetOverlappedResult(bWait TRUE): connected");
    DWORD took = GetTickCount() - t0;
    check(took >= 30 && took <= 31, "when the client came (30 ms)");
    if (ReadFile(l.pipe, l.buf, BUF, NULL, &l.ov) || GetLastError() != ERROR_IO_PENDING)
        fatal("late ReadFile", GetLastError());
    check(GetOverlappedResult(l.pipe, &l.ov, &got, TRUE) && got == 4 && rt_memeq(l.buf, "late", 4),
          "GetOverlappedResult(bWait TRUE): its 4-byte message");

    /* 4b: no event: the handle itself is signalled when the operation ends */
    OVERLAPPED bare = {0};
    if (ReadFile(l.pipe, l.buf, BUF, NULL, &bare) || GetLastError() != ERROR_IO_PENDING)
        fatal("ReadFile without an event", GetLastError());
    check_eq(WaitForSingleObject(l.pipe, 0), WAIT_TIMEOUT, "without an event the handle is reset");
    check_eq(WaitForSingleObject(l.pipe, 1000), WAIT_OBJECT_0, "and signalled when the read ends");
    check(GetOverlappedResult(l.pipe, &bare, &got, FALSE) && got == 4 && rt_memeq(l.buf, "more", 4),
          "GetOverlappedResult: the second message");

    /* 5 */
    if (ReadFile(l.pipe, l.buf, BUF, NULL, &l.ov) || GetLastError() != ERROR_IO_PENDING)
        fatal("last ReadFile", GetLastError());
    check(!HasOverlappedIoCompleted(&l.ov), "a read is pending");
    CloseHandle(l.pipe);
    check(HasOverlappedIoCompleted(&l.ov), "closing the handle ended it");
    WaitForSingleObject(lt, 10000);
    return rt_failures ? 1 : 0;
}
