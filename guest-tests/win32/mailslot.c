/* mailslot.c - ipcemu Win32 guest test: mailslots between processes. One source, built as the
 * reader (mslot_srv.exe) and as a writer (mslot_cli.exe, -DWRITER).
 *
 * Run:    ipcemu run fixtures/win32/mslot_srv.exe fixtures/win32/mslot_cli.exe
 *                    fixtures/win32/mslot_cli.exe        (any order; argv[1] = messages, default 5)
 * The reader creates \\.\mailslot\ipcemu_box (64-byte messages at most, reads wait for ever)
 * and checks it on its own first: GetMailslotInfo (no message: next size MAILSLOT_NO_MESSAGE),
 * a second CreateMailslotA of the name fails with ERROR_ALREADY_EXISTS; on a second mailslot
 * nobody writes to, a read with timeout 0 fails at once with ERROR_SEM_TIMEOUT, and after
 * SetMailslotInfo(30) after 30 ms. Then it reads 2 * N messages from
 * the two writers: every message whole, each writer's in order. A message larger than the
 * reader's buffer stays (ERROR_INSUFFICIENT_BUFFER) and is read with a larger one. At the end
 * it writes "done" to \\.\mailslot\ipcemu_box_w<n> of each writer.
 * Each writer waits (Sleep) until it can open the box, writes N messages
 * "w<pid> #<i>" through \\*\mailslot\ipcemu_box (the broadcast form reaches the same world) or
 * \\.\mailslot\..., checks that a message over the maximum fails and that its handle cannot be
 * read, then waits for the reader's "done" in a mailslot of its own.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 5
#include "rt.h"

#define BOX "\\\\.\\mailslot\\ipcemu_box"
#define BOX_ANY "\\\\*\\mailslot\\ipcemu_box"

#ifndef WRITER

int test_main(unsigned n)
{
    HANDLE box = CreateMailslotA(BOX, 64, MAILSLOT_WAIT_FOREVER, NULL);
    if (box == INVALID_HANDLE_VALUE)
        fatal("CreateMailslotA", 0);
    DWORD max, next, count, timeout;
    check(GetMailslotInfo(box, &max, &next, &count, &timeout) && max == 64 && next == MAILSLOT_NO_MESSAGE &&
              count == 0 && timeout == MAILSLOT_WAIT_FOREVER,
          "GetMailslotInfo of an empty mailslot");
    SetLastError(0);
    check(CreateMailslotA(BOX, 0, 0, NULL) == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ALREADY_EXISTS,
          "a second CreateMailslotA of the name: ERROR_ALREADY_EXISTS");
    char buf[128];
    DWORD got;
    /* a mailslot nobody writes to */
    HANDLE quiet = CreateMailslotA(BOX "_quiet", 0, 0, NULL);
    SetLastError(0);
    check(!ReadFile(quiet, buf, sizeof buf, &got, NULL) && GetLastError() == ERROR_SEM_TIMEOUT,
          "a read with timeout 0 and no message: ERROR_SEM_TIMEOUT at once");
    SetMailslotInfo(quiet, 30);
    DWORD t0 = GetTickCount();
    SetLastError(0);
    BOOL ok = ReadFile(quiet, buf, sizeof buf, &got, NULL);
    DWORD took = GetTickCount() - t0;
    check(!ok && GetLastError() == ERROR_SEM_TIMEOUT && took >= 30 && took <= 31,
          "after SetMailslotInfo(30): ERROR_SEM_TIMEOUT after 30 ms");
    CloseHandle(quiet);

    /* The writers' messages: "w<pid> #<i>", each writer's in order. */
    DWORD pids[2] = {0, 0}, last[2] = {0, 0}, counts[2] = {0, 0}, bad = 0, small_ok = 0;
    for (unsigned m = 0; m < 2 * n; m++) {
        if (m == 3) {
            /* a buffer too small for the next message: it stays */
            SetLastError(0);
            if (!ReadFile(box, buf, 2, &got, NULL) && GetLastError() == ERROR_INSUFFICIENT_BUFFER)
                small_ok = 1;
        }
        if (!ReadFile(box, buf, sizeof buf - 1, &got, NULL))
            fatal("ReadFile", GetLastError());
        buf[got] = 0;
        DWORD pid = 0, i = 0;
        const char *s = buf;
        if (*s++ != 'w')
            bad++;
        while (*s >= '0' && *s <= '9')
            pid = pid * 10 + (DWORD)(*s++ - '0');
        if (s[0] != ' ' || s[1] != '#')
            bad++;
        s += 2;
        while (*s >= '0' && *s <= '9')
            i = i * 10 + (DWORD)(*s++ - '0');
        int w = pids[0] == pid ? 0 : pids[1] == pid ? 1 : pids[0] == 0 ? 0 : pids[1] == 0 ? 1 : -1;
        if (w < 0) {
            bad++;
            continue;
        }
        pids[w] = pid;
        if (counts[w] > 0 && i != last[w] + 1)
            bad++;
        last[w] = i;
        counts[w]++;
    }
    check(small_ok, "a buffer too small: ERROR_INSUFFICIENT_BUFFER, the message stays");
    check(counts[0] == n && counts[1] == n && bad == 0, "2N whole messages, each writer's in order");
    check(GetMailslotInfo(box, NULL, &next, &count, NULL) && count == 0, "nothing left");
    for (int w = 0; w < 2; w++) {
        struct rt_line l = {0};
        rt_puts(&l, "\\\\.\\mailslot\\ipcemu_box_w");
        rt_putu(&l, pids[w]);
        l.buf[l.len] = 0;
        HANDLE h = INVALID_HANDLE_VALUE;
        while ((h = CreateFileA(l.buf, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL)) ==
               INVALID_HANDLE_VALUE)
            Sleep(1);
        DWORD wr;
        WriteFile(h, "done", 4, &wr, NULL);
        CloseHandle(h);
    }
    check(1, "told both writers");
    return rt_failures ? 1 : 0;
}

#else

int test_main(unsigned n)
{
    DWORD me = GetCurrentProcessId();
    struct rt_line own = {0};
    rt_puts(&own, "\\\\.\\mailslot\\ipcemu_box_w");
    rt_putu(&own, me);
    own.buf[own.len] = 0;
    HANDLE mine = CreateMailslotA(own.buf, 0, MAILSLOT_WAIT_FOREVER, NULL);
    if (mine == INVALID_HANDLE_VALUE)
        fatal("CreateMailslotA (own)", 0);
    HANDLE box;
    /* one writer uses the broadcast form of the name */
    const char *name = (me & 1) ? BOX_ANY : BOX;
    while ((box = CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL)) ==
           INVALID_HANDLE_VALUE) {
        if (GetLastError() != ERROR_FILE_NOT_FOUND)
            fatal("CreateFileA", GetLastError());
        Sleep(1);
    }
    unsigned sent = 0;
    for (unsigned i = 1; i <= n; i++) {
        struct rt_line l = {0};
        rt_puts(&l, "w");
        rt_putu(&l, me);
        rt_puts(&l, " #");
        rt_putu(&l, i);
        DWORD wr;
        if (WriteFile(box, l.buf, l.len, &wr, NULL) && wr == l.len)
            sent++;
    }
    check(sent == n, "wrote N messages");
    char big[100] = {0};
    DWORD wr;
    SetLastError(0);
    check(!WriteFile(box, big, sizeof big, &wr, NULL), "a message over the mailslot's maximum fails");
    char r[8];
    SetLastError(0);
    check(!ReadFile(box, r, sizeof r, &wr, NULL) && GetLastError() == ERROR_ACCESS_DENIED,
          "a writer's handle cannot be read (ERROR_ACCESS_DENIED)");
    char msg[16];
    DWORD got;
    check(ReadFile(mine, msg, sizeof msg, &got, NULL) && got == 4 && rt_memeq(msg, "done", 4),
          "the reader said done");
    return rt_failures ? 1 : 0;
}

#endif
