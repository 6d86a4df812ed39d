/* rt.h - the tiny runtime our Win32 guests share (no C library): the entry point, output through
 * WriteFile(GetStdHandle(STD_OUTPUT_HANDLE)), PASS/FAIL lines, argv[1] from GetCommandLineA, and
 * the few string helpers the programs need. One translation unit per program includes it.
 *
 * A program defines `int test_main(int n)` (n = argv[1] as a decimal number, or the program's
 * DEFAULT_N when there is no argument) and gets `_start`, which calls ExitProcess(test_main(n)).
 * Every PASS/FAIL line is written with a single WriteFile call, so lines of several threads do
 * not interleave inside a line.
 *
 * Written for ipcemu.
 */
#ifndef IPCEMU_WIN32_RT_H
#define IPCEMU_WIN32_RT_H

#include <windows.h>

#ifndef TEST_NAME
#error "define TEST_NAME (the program's name in its PASS/FAIL lines) before including rt.h"
#endif
#ifndef DEFAULT_N
#define DEFAULT_N 0
#endif

/* Helpers a program may leave unused. */
#define RT_STATIC static __attribute__((unused))

/* gcc may emit calls to these for structure copies and initialisers, even freestanding. */
void *memset(void *dst, int c, unsigned n);
void *memcpy(void *dst, const void *src, unsigned n);
void *memset(void *dst, int c, unsigned n)
{
    volatile unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}
void *memcpy(void *dst, const void *src, unsigned n)
{
    volatile unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

RT_STATIC unsigned rt_strlen(const char *s)
{
    unsigned n = 0;
    while (s[n])
        n++;
    return n;
}

RT_STATIC int rt_memeq(const void *a, const void *b, unsigned n)
{
    const unsigned char *x = a, *y = b;
    for (unsigned i = 0; i < n; i++)
        if (x[i] != y[i])
            return 0;
    return 1;
}

RT_STATIC int rt_streq(const char *a, const char *b)
{
    unsigned n = rt_strlen(a);
    return n == rt_strlen(b) && rt_memeq(a, b, n);
}

/* A line being built: text is appended with the rt_put* helpers, then written at once. */
struct rt_line {
    unsigned len;
    char buf[400];
};

RT_STATIC void rt_puts(struct rt_line *l, const char *s)
{
    while (*s && l->len < sizeof l->buf - 1)
        l->buf[l->len++] = *s++;
}

RT_STATIC void rt_putu(struct rt_line *l, unsigned v)
{
    char tmp[12];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i > 0 && l->len < sizeof l->buf - 1)
        l->buf[l->len++] = tmp[--i];
}

RT_STATIC void rt_putx(struct rt_line *l, unsigned v)
{
    rt_puts(l, "0x");
    for (int sh = 28; sh >= 0; sh -= 4)
        if (l->len < sizeof l->buf - 1)
            l->buf[l->len++] = "0123456789abcdef"[(v >> sh) & 15];
}

/* Write bytes to the standard output handle; returns 1 if all were written. */
RT_STATIC int rt_write(const void *p, unsigned n)
{
    DWORD done = 0;
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    return WriteFile(out, p, n, &done, NULL) && done == n;
}

RT_STATIC void rt_flush(struct rt_line *l)
{
    l->buf[l->len++] = '\n';
    rt_write(l->buf, l->len);
    l->len = 0;
}

RT_STATIC int rt_failures;

/* "PASS <name> <what>" or "FAIL <name> <what>"; returns ok. */
RT_STATIC int check(int ok, const char *what)
{
    struct rt_line l = {0};
    rt_puts(&l, ok ? "PASS " : "FAIL ");
    rt_puts(&l, TEST_NAME " ");
    rt_puts(&l, what);
    rt_flush(&l);
    if (!ok)
        InterlockedIncrement((LONG *)&rt_failures);
    return ok;
}

/* Like check, with the values seen in a FAIL line: "FAIL <name> <what> (got X, want Y)". */
RT_STATIC int check_eq(unsigned got, unsigned want, const char *what)
{
    struct rt_line l = {0};
    rt_puts(&l, got == want ? "PASS " : "FAIL ");
    rt_puts(&l, TEST_NAME " ");
    rt_puts(&l, what);
    if (got != want) {
        rt_puts(&l, " (got ");
        rt_putx(&l, got);
        rt_puts(&l, ", want ");
        rt_putx(&l, want);
        rt_puts(&l, ")");
        InterlockedIncrement((LONG *)&rt_failures);
    }
    rt_flush(&l);
    return got == want;
}

/* A failure that ends the program at once (a blocking call failed, continuing could hang). */
RT_STATIC void __attribute__((noreturn)) fatal(const char *what, unsigned value)
{
    struct rt_line l = {0};
    rt_puts(&l, "FAIL " TEST_NAME " ");
    rt_puts(&l, what);
    rt_puts(&l, " (");
    rt_putx(&l, value);
    rt_puts(&l, ", last error ");
    rt_putu(&l, GetLastError());
    rt_puts(&l, ")");
    rt_flush(&l);
    ExitProcess(1);
}

/* Register a class with this window procedure and make a message-only window of it. */
RT_STATIC HWND message_window(const char *cls, const char *title, WNDPROC proc)
{
    WNDCLASSA wc = {0};
    wc.lpfnWndProc = proc;
    wc.hInstance = GetModuleHandleA(NULL);
    wc.lpszClassName = cls;
    if (!RegisterClassA(&wc))
        fatal("RegisterClassA", 0);
    HWND h = CreateWindowExA(0, cls, title, 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, wc.hInstance, NULL);
    if (!h)
        fatal("CreateWindowExA(HWND_MESSAGE)", 0);
    return h;
}

/* The first argument after the program name, as a decimal number (dflt when absent). */
RT_STATIC unsigned rt_arg1(unsigned dflt)
{
    const char *p = GetCommandLineA();
    if (!p)
        return dflt;
    if (*p == '"') {
        p++;
        while (*p && *p != '"')
            p++;
        if (*p)
            p++;
    } else {
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return dflt;
    unsigned v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (unsigned)(*p++ - '0');
    return v;
}

int test_main(unsigned n);

/* The entry point (linked with -e _start): no C runtime start-up, no arguments. */
void __cdecl start(void);
void __cdecl start(void)
{
    int rc = test_main(rt_arg1(DEFAULT_N));
    if (rt_failures)
        rc = 1;
    ExitProcess((UINT)rc);
}

#endif
