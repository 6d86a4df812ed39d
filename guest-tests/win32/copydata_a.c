/* copydata_a.c - ipcemu Win32 guest test: the receiving side of WM_COPYDATA between processes.
 *
 * Run with copydata_b.exe, in either order (argv[1] = messages, default 100, the same for both):
 *     ipcemu run fixtures/win32/copydata_a.exe fixtures/win32/copydata_b.exe
 * A registers class "ipcemu_cd_a" and makes a message-only window (CreateWindowExA with parent
 * HWND_MESSAGE) titled "ipcemu copydata A", then runs GetMessageA/DispatchMessageA. B finds it
 * with FindWindowExA(HWND_MESSAGE, NULL, "ipcemu_cd_a", NULL) and sends N WM_COPYDATA messages
 * (SendMessageA; wParam = B's own message-only window). A's window procedure checks each payload
 * (dwData = i + 1, bytes from copydata_common.h), that wParam is the window FindWindowExA finds
 * for "ipcemu_cd_b", and returns the payload's checksum; a last WM_COPYDATA with dwData CD_END and
 * no data makes it call PostQuitMessage(0), so GetMessageA returns 0.
 * Output:
 *     PASS copydata_a message-only window created
 *     PASS copydata_a WM_CREATE seen
 *     PASS copydata_a N payloads checked
 *     PASS copydata_a wParam is the sender's window
 *     PASS copydata_a GetMessageA returned 0 after PostQuitMessage
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 100
#include "rt.h"
#include "copydata_common.h"

static unsigned expected_n, good, bad, bad_sender, creates;

static LRESULT CALLBACK proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
    static unsigned char want[256];
    if (msg == WM_CREATE)
        creates++;
    if (msg != WM_COPYDATA)
        return DefWindowProcA(h, msg, wp, lp);
    const COPYDATASTRUCT *cds = (const COPYDATASTRUCT *)lp;
    HWND b = FindWindowExA(HWND_MESSAGE, NULL, CD_CLASS_B, NULL);
    if (!b || (HWND)wp != b)
        bad_sender++;
    if (cds->dwData == CD_END) {
        if (cds->cbData != 0)
            bad++;
        PostQuitMessage(0);
        return 1;
    }
    unsigned i = (unsigned)cds->dwData - 1;
    unsigned len = cd_payload(want, i);
    if (i != good + bad || cds->cbData != len || !cds->lpData || !rt_memeq(cds->lpData, want, len)) {
        bad++;
        return 0;
    }
    good++;
    return cd_sum(want, len);
}

int test_main(unsigned n)
{
    expected_n = n;
    HWND w = message_window(CD_CLASS_A, CD_TITLE_A, proc);
    check(w != NULL, "message-only window created");
    check_eq(creates, 1, "WM_CREATE seen");
    MSG m;
    BOOL r;
    while ((r = GetMessageA(&m, NULL, 0, 0)) > 0) {
        TranslateMessage(&m);
        DispatchMessageA(&m);
    }
    struct rt_line l = {0};
    rt_putu(&l, good);
    rt_puts(&l, " payloads checked");
    l.buf[l.len] = 0;
    check(good == expected_n && bad == 0, l.buf);
    check_eq(bad_sender, 0, "wParam is the sender's window");
    check(r == 0 && m.message == WM_QUIT, "GetMessageA returned 0 after PostQuitMessage");
    DestroyWindow(w);
    return 0;
}
