/* wide.c - ipcemu Win32 guest test: the W (UTF-16) variants of the object, pipe and USER32
 * functions, in one process.
 *
 * Run:    ipcemu run fixtures/win32/wide.exe    (no arguments)
 * Checks: GetCommandLineW ends with the same text as GetCommandLineA; an event created with
 * CreateEventW(L"ipcemu_wide.ev") is the one OpenEventA("ipcemu_wide.ev") opens (names are one
 * namespace whatever the character set); CreateMutexW/OpenMutexW; CreateFileMappingW/
 * OpenFileMappingW share memory; a message pipe through CreateNamedPipeW/WaitNamedPipeW/
 * CreateFileW; a window class and message-only window by RegisterClassW/CreateWindowExW found
 * with FindWindowExW, SendMessageW (same thread: the window procedure runs at once),
 * PostMessageW + GetMessageW + DispatchMessageW; RegisterWindowMessageW gives the number
 * RegisterWindowMessageA gives for the same name; WriteConsoleW prints a line.
 * Output: one PASS line per check (12). Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

static unsigned g_msgs;

static LRESULT CALLBACK proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_APP + 7) {
        g_msgs++;
        return (LRESULT)(wp + lp);
    }
    return DefWindowProcW(h, msg, wp, lp);
}

static int wends(const wchar_t *w, const char *a)
{
    unsigned nw = 0, na = rt_strlen(a);
    while (w[nw])
        nw++;
    if (nw < na)
        return 0;
    for (unsigned i = 0; i < na; i++)
        if (w[nw - na + i] != (wchar_t)(unsigned char)a[i])
            return 0;
    return 1;
}

int test_main(unsigned n)
{
    (void)n;
    const char *ca = GetCommandLineA();
    check(wends(GetCommandLineW(), ca), "GetCommandLineW matches GetCommandLineA");

    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, L"ipcemu_wide.ev");
    HANDLE ev2 = OpenEventA(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, "ipcemu_wide.ev");
    SetEvent(ev2);
    check(ev && ev2 && WaitForSingleObject(ev, 0) == WAIT_OBJECT_0,
          "CreateEventW and OpenEventA name one event");

    HANDLE mx = CreateMutexW(NULL, FALSE, L"ipcemu_wide.mx");
    HANDLE mx2 = OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, L"ipcemu_wide.mx");
    check(mx && mx2 && WaitForSingleObject(mx2, 0) == WAIT_OBJECT_0 && ReleaseMutex(mx),
          "CreateMutexW and OpenMutexW");

    HANDLE fm = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                   L"ipcemu_wide.map");
    HANDLE fm2 = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, L"ipcemu_wide.map");
    volatile DWORD *v1 = fm ? MapViewOfFile(fm, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    volatile DWORD *v2 = fm2 ? MapViewOfFile(fm2, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    if (v1 && v2)
        v1[3] = 0x57494445;
    check(v1 && v2 && v2[3] == 0x57494445, "CreateFileMappingW and OpenFileMappingW share memory");

    HANDLE srv = CreateNamedPipeW(L"\\\\.\\pipe\\ipcemu_wide", PIPE_ACCESS_DUPLEX,
                                  PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 256, 256, 0, NULL);
    BOOL waited = WaitNamedPipeW(L"\\\\.\\pipe\\ipcemu_wide", 100);
    HANDLE cli = CreateFileW(L"\\\\.\\pipe\\ipcemu_wide", GENERIC_READ | GENERIC_WRITE, 0, NULL,
                             OPEN_EXISTING, 0, NULL);
    char buf[16];
    DWORD put = 0, got = 0;
    check(srv != INVALID_HANDLE_VALUE && waited && cli != INVALID_HANDLE_VALUE &&
              WriteFile(cli, "wide", 4, &put, NULL) && ReadFile(srv, buf, sizeof buf, &got, NULL) &&
              got == 4 && rt_memeq(buf, "wide", 4),
          "CreateNamedPipeW, WaitNamedPipeW, CreateFileW");

    WNDCLASSW wc = {0};
    wc.lpfnWndProc = proc;
    wc.hInstance = GetModuleHandleA(NULL);
    wc.lpszClassName = L"ipcemu_wide_class";
    check(RegisterClassW(&wc) != 0, "RegisterClassW");
    HWND w = CreateWindowExW(0, L"ipcemu_wide_class", L"Wide title", 0, 0, 0, 0, 0, HWND_MESSAGE,
                             NULL, wc.hInstance, NULL);
    check(w != NULL && FindWindowExW(HWND_MESSAGE, NULL, L"IPCEMU_WIDE_CLASS", L"wide TITLE") == w,
          "CreateWindowExW, found by FindWindowExW (case-insensitive)");
    check(SendMessageW(w, WM_APP + 7, 40, 2) == 42, "SendMessageW runs the window procedure");
    MSG m;
    PostMessageW(w, WM_APP + 7, 1, 2);
    check(GetMessageW(&m, NULL, 0, 0) > 0 && m.hwnd == w && DispatchMessageW(&m) == 3 &&
              g_msgs == 2,
          "PostMessageW, GetMessageW, DispatchMessageW");
    UINT ra = RegisterWindowMessageA("ipcemu_wide_msg");
    check(ra >= 0xC000 && RegisterWindowMessageW(L"IPCEMU_WIDE_MSG") == ra,
          "RegisterWindowMessageW = RegisterWindowMessageA");
    DWORD wrote = 0;
    const wchar_t line[] = L"PASS wide WriteConsoleW\n";
    WriteConsoleW(GetStdHandle(STD_OUTPUT_HANDLE), line, sizeof line / 2 - 1, &wrote, NULL);
    check(wrote == sizeof line / 2 - 1, "WriteConsoleW count");
    return 0;
}
