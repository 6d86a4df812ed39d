/* limits.c - ipcemu Win32 guest test: the limits that keep a guest from growing host memory
 * without bound fail the calls the way Windows fails them, and the guest goes on.
 *
 * Run:    ipcemu run fixtures/win32/limits.exe
 *   1. CreateEventA until it fails: it fails with ERROR_NO_SYSTEM_RESOURCES once the process
 *      holds 65 536 handles; after closing them all an event can be made again.
 *   2. Message-only windows until CreateWindowExA fails: 10 000 per process, then
 *      ERROR_NOT_ENOUGH_QUOTA; after DestroyWindow of one, one more can be made.
 *   3. RegisterWindowMessageA of new names until it fails: the atom table (shared with window
 *      classes) is full, ERROR_NOT_ENOUGH_MEMORY; a name registered before still gets its atom.
 * Output: PASS lines (see the checks), exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include "rt.h"

#define MAX_TRY 70000

static HANDLE evs[MAX_TRY];
static HWND wins[MAX_TRY];

int test_main(unsigned n)
{
    (void)n;
    /* 1 */
    unsigned made = 0;
    while (made < MAX_TRY && (evs[made] = CreateEventA(NULL, FALSE, FALSE, NULL)) != NULL)
        made++;
    DWORD e = GetLastError();
    check(made > 65000 && made <= 65536, "CreateEventA until the handle table is full");
    check_eq(e, ERROR_NO_SYSTEM_RESOURCES, "then ERROR_NO_SYSTEM_RESOURCES");
    for (unsigned i = 0; i < made; i++)
        CloseHandle(evs[i]);
    HANDLE again = CreateEventA(NULL, FALSE, FALSE, NULL);
    check(again != NULL, "after closing them an event can be made again");
    CloseHandle(again);

    /* 2 */
    WNDCLASSA wc = {0};
    wc.lpfnWndProc = DefWindowProcA;
    wc.hInstance = GetModuleHandleA(NULL);
    wc.lpszClassName = "ipcemu_limits";
    if (!RegisterClassA(&wc))
        fatal("RegisterClassA", 0);
    made = 0;
    while (made < MAX_TRY &&
           (wins[made] = CreateWindowExA(0, "ipcemu_limits", "", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL,
                                         wc.hInstance, NULL)) != NULL)
        made++;
    e = GetLastError();
    check_eq(made, 10000, "10 000 windows per process");
    check_eq(e, ERROR_NOT_ENOUGH_QUOTA, "then ERROR_NOT_ENOUGH_QUOTA");
    check(DestroyWindow(wins[0]), "DestroyWindow of one");
    HWND one = CreateWindowExA(0, "ipcemu_limits", "", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, wc.hInstance, NULL);
    check(one != NULL, "and one more can be made");

    /* 3 */
    UINT first = RegisterWindowMessageA("ipcemu_limits_first");
    made = 0;
    for (;;) {
        struct rt_line l = {0};
        rt_puts(&l, "ipcemu_limits_msg_");
        rt_putu(&l, made);
        l.buf[l.len] = 0;
        if (!RegisterWindowMessageA(l.buf))
            break;
        if (++made > MAX_TRY)
            break;
    }
    e = GetLastError();
    check(made > 16000 && made < 0x3FFF, "RegisterWindowMessageA until the atom table is full");
    check_eq(e, ERROR_NOT_ENOUGH_MEMORY, "then ERROR_NOT_ENOUGH_MEMORY");
    check_eq(RegisterWindowMessageA("ipcemu_limits_first"), first, "a name registered before keeps its atom");
    return rt_failures ? 1 : 0;
}
