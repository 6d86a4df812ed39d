/* tlscb.c - ipcemu Win32 guest test: TLS callbacks for threads (the default mingw-w64 C runtime,
 * like hello.c; the callback is registered in .CRT$XLB, where the runtime's TLS directory
 * finds it).
 *
 * Run:    ipcemu run fixtures/win32/tlscb.exe
 * The image's TLS callback counts DLL_PROCESS_ATTACH, DLL_THREAD_ATTACH and DLL_THREAD_DETACH.
 * Three threads are started and waited for (the last ends with ExitThread): each sees its own
 * DLL_THREAD_ATTACH before its function runs, and after they ended there were three
 * DLL_THREAD_DETACH calls; the process attach came once, before main.
 * Output: PASS lines, exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include <stdio.h>
#include <windows.h>

static volatile LONG process_attach, thread_attach, thread_detach, main_started;
static volatile LONG attach_tid[8];

static void NTAPI callback(PVOID h, DWORD reason, PVOID reserved)
{
    (void)h;
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH && !main_started)
        process_attach++;
    if (reason == DLL_THREAD_ATTACH) {
        LONG i = thread_attach++;
        if (i < 8)
            attach_tid[i] = (LONG)GetCurrentThreadId();
    }
    if (reason == DLL_THREAD_DETACH)
        thread_detach++;
}

__attribute__((section(".CRT$XLB"), used)) PIMAGE_TLS_CALLBACK tlscb_callback = callback;

static DWORD WINAPI worker(LPVOID arg)
{
    DWORD me = GetCurrentThreadId();
    int seen = 0;
    for (int i = 0; i < 8 && i < thread_attach; i++)
        if ((DWORD)attach_tid[i] == me)
            seen = 1;
    if ((int)(UINT_PTR)arg == 2)
        ExitThread(seen ? 7 : 8);
    return seen ? 7 : 8;
}

static int failures;

static void check(int ok, const char *what)
{
    printf("%s tlscb %s\n", ok ? "PASS" : "FAIL", what);
    if (!ok)
        failures++;
}

int main(void)
{
    main_started = 1;
    check(process_attach == 1, "DLL_PROCESS_ATTACH once, before main");
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        HANDLE h = CreateThread(NULL, 0, worker, (LPVOID)(UINT_PTR)i, 0, NULL);
        DWORD code = 0;
        if (!h || WaitForSingleObject(h, 10000) != WAIT_OBJECT_0 || !GetExitCodeThread(h, &code) || code != 7)
            ok = 0;
        CloseHandle(h);
    }
    check(ok, "each thread saw its own DLL_THREAD_ATTACH before its function ran");
    check(thread_attach == 3, "three DLL_THREAD_ATTACH");
    check(thread_detach == 3, "three DLL_THREAD_DETACH (one thread ended with ExitThread)");
    fflush(stdout);
    return failures ? 1 : 0;
}
