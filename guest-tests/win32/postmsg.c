/* postmsg.c - ipcemu Win32 guest test: a worker pool fed by PostThreadMessageA.
 *
 * Run:    ipcemu run fixtures/win32/postmsg.exe     (argv[1] = work items, default 30)
 * The main thread starts 3 workers; each makes its message queue (PeekMessageA with
 * PM_NOREMOVE) and sets its "ready" event. The main thread posts the items round-robin
 * (PostThreadMessageA(worker, WM_APP+1, index, value)); each worker takes them with GetMessageA,
 * checks they come in posting order, and posts the result back to the main thread
 * (PostThreadMessageA(main, WM_APP+2, index, value * value + worker)). The main thread collects
 * the results with GetMessageA, then posts WM_QUIT to each worker: GetMessageA returns 0 there,
 * and the worker returns the number of items it handled (its exit code).
 * Output:
 *     PASS postmsg workers ready
 *     PASS postmsg PostThreadMessageA to a bad thread id fails (ERROR_INVALID_THREAD_ID)
 *     PASS postmsg posted N items
 *     PASS postmsg N results
 *     PASS postmsg workers saw their items in order
 *     PASS postmsg WM_QUIT ended the workers (exit codes add up to N)
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 30
#include "rt.h"

#define WORKERS 3
#define WM_WORK (WM_APP + 1)
#define WM_RESULT (WM_APP + 2)
#define MAX_ITEMS 100000

struct worker {
    DWORD no, main_tid, tid;
    HANDLE ready, thread;
    volatile LONG out_of_order;
};

static DWORD WINAPI worker_main(LPVOID arg)
{
    struct worker *w = arg;
    MSG msg;
    PeekMessageA(&msg, NULL, WM_USER, WM_USER, PM_NOREMOVE); /* create the queue */
    SetEvent(w->ready);
    DWORD handled = 0, last = 0;
    BOOL r;
    while ((r = GetMessageA(&msg, NULL, 0, 0)) > 0) {
        if (msg.message != WM_WORK || msg.hwnd != NULL)
            continue;
        DWORD index = (DWORD)msg.wParam, value = (DWORD)msg.lParam;
        if (handled > 0 && index <= last)
            w->out_of_order = 1;
        last = index;
        handled++;
        while (!PostThreadMessageA(w->main_tid, WM_RESULT, index, (LPARAM)(value * value + w->no)))
            Sleep(1); /* the queue is full: let the main thread catch up */
    }
    return r == 0 ? handled : 0xFFFFFFFF;
}

static DWORD item_value(DWORD i)
{
    return i * 7 + 3;
}

int test_main(unsigned n)
{
    static struct worker ws[WORKERS];
    static unsigned char seen[MAX_ITEMS];
    if (n > MAX_ITEMS)
        n = MAX_ITEMS;
    MSG msg;
    PeekMessageA(&msg, NULL, WM_USER, WM_USER, PM_NOREMOVE); /* our own queue first */
    DWORD me = GetCurrentThreadId();
    HANDLE ready[WORKERS];
    for (DWORD k = 0; k < WORKERS; k++) {
        ws[k].no = k;
        ws[k].main_tid = me;
        ws[k].ready = ready[k] = CreateEventA(NULL, TRUE, FALSE, NULL);
        ws[k].thread = CreateThread(NULL, 0, worker_main, &ws[k], 0, &ws[k].tid);
        if (!ws[k].ready || !ws[k].thread)
            fatal("CreateThread", k);
    }
    check_eq(WaitForMultipleObjects(WORKERS, ready, TRUE, 10000), WAIT_OBJECT_0, "workers ready");

    SetLastError(0);
    BOOL bad = PostThreadMessageA(0x7FFFFFF0, WM_WORK, 0, 0);
    check(!bad && GetLastError() == ERROR_INVALID_THREAD_ID,
          "PostThreadMessageA to a bad thread id fails (ERROR_INVALID_THREAD_ID)");

    /* Post in batches, collecting results in between, so no queue grows without bound. */
    DWORD posted = 0, results = 0, wrong = 0;
    while (results < n) {
        while (posted < n && posted - results < 64) {
            struct worker *w = &ws[posted % WORKERS];
            if (!PostThreadMessageA(w->tid, WM_WORK, posted, (LPARAM)item_value(posted)))
                fatal("PostThreadMessageA", posted);
            posted++;
        }
        BOOL r = GetMessageA(&msg, NULL, 0, 0);
        if (r <= 0)
            fatal("GetMessageA in the main thread", (unsigned)r);
        if (msg.message != WM_RESULT)
            continue;
        DWORD index = (DWORD)msg.wParam, v = item_value(index);
        if (index >= n || seen[index] || (DWORD)msg.lParam != v * v + index % WORKERS)
            wrong++;
        else
            seen[index] = 1;
        results++;
    }
    struct rt_line l = {0};
    rt_puts(&l, "posted ");
    rt_putu(&l, posted);
    rt_puts(&l, " items");
    l.buf[l.len] = 0;
    check(posted == n, l.buf);
    l.len = 0;
    rt_putu(&l, results - wrong);
    rt_puts(&l, " results");
    l.buf[l.len] = 0;
    check(wrong == 0, l.buf);
    int order = 1;
    for (DWORD k = 0; k < WORKERS; k++)
        order &= !ws[k].out_of_order;
    check(order, "workers saw their items in order");

    DWORD sum = 0;
    int ended = 1;
    for (DWORD k = 0; k < WORKERS; k++) {
        DWORD code = 0;
        PostThreadMessageA(ws[k].tid, WM_QUIT, 0, 0);
        ended &= WaitForSingleObject(ws[k].thread, 10000) == WAIT_OBJECT_0 &&
                 GetExitCodeThread(ws[k].thread, &code);
        sum += code;
        CloseHandle(ws[k].thread);
        CloseHandle(ws[k].ready);
    }
    check(ended && sum == n, "WM_QUIT ended the workers (exit codes add up to N)");
    return 0;
}
