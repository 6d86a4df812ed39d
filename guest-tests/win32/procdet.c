/* procdet.c - ipcemu Win32 guest test: DLL_PROCESS_DETACH when the process ends (the default
 * mingw-w64 C runtime, like tlscb.c; the callback is registered in .CRT$XLB).
 *
 * Run:    ipcemu run fixtures/win32/procdet.exe
 * main starts a thread that waits for ever, then returns; the runtime's exit calls
 * ExitProcess(5). As Windows does, the waiting thread is ended first, without a
 * DLL_THREAD_DETACH; then the image's TLS callback is called with DLL_PROCESS_DETACH, once, in
 * the thread that ended the process, with a non-NULL lpReserved (process termination). The
 * callback writes its PASS lines with WriteFile (the C runtime is shutting down).
 * Output: PASS lines, exit status 5 (main's return value); a FAIL line on a wrong detach.
 * Written for ipcemu.
 */
#include <windows.h>

static volatile LONG thread_attach, thread_detach, process_detach, worker_started;
static volatile DWORD main_tid;

static void say(const char *s)
{
    DWORD n, len = 0;
    while (s[len])
        len++;
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), s, len, &n, NULL);
}

static void NTAPI callback(PVOID h, DWORD reason, PVOID reserved)
{
    (void)h;
    if (reason == DLL_THREAD_ATTACH)
        thread_attach++;
    if (reason == DLL_THREAD_DETACH)
        thread_detach++;
    if (reason != DLL_PROCESS_DETACH)
        return;
    process_detach++;
    say(process_detach == 1 ? "PASS procdet DLL_PROCESS_DETACH once\n"
                             : "FAIL procdet DLL_PROCESS_DETACH more than once\n");
    say(reserved ? "PASS procdet lpReserved is non-NULL (the process is terminating)\n"
                 : "FAIL procdet lpReserved is NULL\n");
    say(GetCurrentThreadId() == main_tid ? "PASS procdet called in the thread that ended the process\n"
                                         : "FAIL procdet called in another thread\n");
    say(thread_attach == 1 && thread_detach == 0
            ? "PASS procdet the waiting thread was ended without DLL_THREAD_DETACH\n"
            : "FAIL procdet the waiting thread got DLL_THREAD_DETACH\n");
}

__attribute__((section(".CRT$XLB"), used)) PIMAGE_TLS_CALLBACK procdet_callback = callback;

static DWORD WINAPI waiter(LPVOID ev)
{
    worker_started = 1;
    WaitForSingleObject((HANDLE)ev, INFINITE);
    return 0;
}

int main(void)
{
    main_tid = GetCurrentThreadId();
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE h = CreateThread(NULL, 0, waiter, ev, 0, NULL);
    for (int i = 0; i < 1000 && !worker_started; i++)
        Sleep(1);
    say(h && worker_started ? "PASS procdet main returns with a thread still waiting\n"
                            : "FAIL procdet the waiting thread did not start\n");
    say(process_detach == 0 ? "PASS procdet no DLL_PROCESS_DETACH before the end\n"
                            : "FAIL procdet DLL_PROCESS_DETACH before the end\n");
    return 5;
}
