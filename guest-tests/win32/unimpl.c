/* unimpl.c - ipcemu Win32 guest test: a call of a function ipcemu does not implement.
 *
 * Run:    ipcemu run fixtures/win32/unimpl.exe    (no arguments)
 * Imports KERNEL32.dll!Beep, which ipcemu does not implement: ipcemu warns at load time, and the
 * call ends the process with a report that names the function (exit status 1); with --strict the
 * program is refused at load. Output before the call:
 *     PASS unimpl reached the call
 * and, if the call ever returned (it must not):
 *     FAIL unimpl an unimplemented function returned
 * Written for ipcemu.
 */
#include "rt.h"

int test_main(unsigned n)
{
    (void)n;
    check(1, "reached the call");
    Beep(750, 300);
    check(0, "an unimplemented function returned");
    return 1;
}
