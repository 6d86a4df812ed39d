/* pipe_child.c - ipcemu Win32 guest test: the child of pipe_parent.exe (which see).
 *
 * Writes PIPE_CHILD_LINES (below) to its standard output, which pipe_parent.exe redirected to the
 * write end of an anonymous pipe, in three WriteFile calls, then exits with status 0. It prints no
 * PASS/FAIL line itself (run alone it just prints the lines).
 * Written for ipcemu.
 */
#include "rt.h"
#include "pipe_common.h"

int test_main(unsigned n)
{
    (void)n;
    const char *all = PIPE_CHILD_LINES;
    unsigned len = rt_strlen(all);
    /* uneven pieces, so the reader sees the stream in more than one read */
    unsigned a = 7, b = len / 2;
    if (!rt_write(all, a) || !rt_write(all + a, b - a) || !rt_write(all + b, len - b))
        return 1;
    return 0;
}
