/* ipcemu/rt.h - a freestanding runtime for ELF32 guests of ipcemu, no C library needed:
 *
 *   - _start: takes argc/argv from the Linux entry stack, calls main(argc, argv) and ends the
 *     process with exit_group(main's result). Define IPCEMU_NO_START before including this file to
 *     write your own _start.
 *   - sys_write(fd, buf, len) (int 0x80, eax = 4) and sys_exit_group(status) (int 0x80, eax = 252).
 *   - memcpy, memset, memcmp (gcc may call them even in freestanding code).
 *   - output built up one line at a time and written with one write(), so lines of programs that
 *     run side by side never mix: out_s, out_c, out_u (decimal), out_x (0x hex), out_end.
 *   - test results: result_begin(ok) starts "PASS <name> " or "FAIL <name> " and counts it;
 *     done() prints "DONE <passes> <fails>" and returns the exit status (0, or 1 after a FAIL).
 *   - str_eq, str_len, parse_u32 for command-line arguments.
 *
 * Build: gcc -m32 -ffreestanding -nostdlib -static -fno-pie -no-pie -I guest-sdk/kos/include x.c
 *
 * Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef IPCEMU_RT_H
#define IPCEMU_RT_H

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define RT_UNUSED __attribute__((unused))

/* ---- system calls (Linux i386, int 0x80) ---- */

static inline int sys_write(int fd, const void *buf, u32 len)
{
    int ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "0"(4), "b"(fd), "c"(buf), "d"(len)
                     : "memory");
    return ret;
}

static inline void __attribute__((noreturn)) sys_exit_group(int status)
{
    for (;;)
        __asm__ volatile("int $0x80" : : "a"(252), "b"(status) : "memory");
}

/* ---- the library routines gcc may emit calls to ---- */

#ifndef IPCEMU_NO_LIBC_SHIMS
void *memcpy(void *dst, const void *src, u32 n);
void *memset(void *dst, int c, u32 n);
int memcmp(const void *a, const void *b, u32 n);

/* no-tree-loop-distribute-patterns: keep gcc from turning these loops into calls to themselves */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memcpy(void *dst, const void *src, u32 n)
{
    u8 *d = dst;
    const u8 *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memset(void *dst, int c, u32 n)
{
    u8 *d = dst;
    while (n--)
        *d++ = (u8)c;
    return dst;
}

int memcmp(const void *a, const void *b, u32 n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}
#endif

/* ---- strings and numbers ---- */

static inline u32 str_len(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

static inline int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Decimal (or 0x hex) text to a number; `fallback` when s is 0, empty or not a number. */
static inline u32 parse_u32(const char *s, u32 fallback)
{
    u32 v = 0, base = 10;
    if (!s || !*s)
        return fallback;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return fallback;
    }
    for (; *s; s++) {
        u32 d;
        if (*s >= '0' && *s <= '9')
            d = (u32)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (u32)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (u32)(*s - 'A' + 10);
        else
            return fallback;
        v = v * base + d;
    }
    return v;
}

/* ---- line output ---- */

#define RT_LINE_MAX 256
static char rt_line[RT_LINE_MAX] RT_UNUSED;
static u32 rt_len RT_UNUSED;

static inline void out_c(char c)
{
    if (rt_len < RT_LINE_MAX - 1) /* keep room for the newline */
        rt_line[rt_len++] = c;
}

static inline void out_s(const char *s)
{
    while (*s)
        out_c(*s++);
}

static inline void out_u(u32 v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out_c(tmp[--n]);
}

static inline void out_x(u32 v)
{
    out_s("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        out_c("0123456789abcdef"[(v >> shift) & 15]);
}

/* ends the line and writes it with one write() to fd 1 */
static inline void out_end(void)
{
    rt_line[rt_len++] = '\n';
    sys_write(1, rt_line, rt_len);
    rt_len = 0;
}

/* ---- test results ---- */

/* the name in "PASS <name> ..." lines; set it first thing in main */
static const char *test_name RT_UNUSED = "guest";
static u32 test_passes RT_UNUSED, test_fails RT_UNUSED;

/* starts a result line "PASS <name> " or "FAIL <name> " and counts it; finish with out_* + out_end */
static inline void result_begin(int ok)
{
    out_s(ok ? "PASS " : "FAIL ");
    out_s(test_name);
    out_c(' ');
    if (ok)
        test_passes++;
    else
        test_fails++;
}

/* a whole result line with a fixed text; returns ok */
static inline int result(int ok, const char *what)
{
    result_begin(ok);
    out_s(what);
    out_end();
    return ok;
}

/* prints "DONE <passes> <fails>" and returns the exit status: 0, or 1 after any FAIL */
static inline int done(void)
{
    out_s("DONE ");
    out_u(test_passes);
    out_c(' ');
    out_u(test_fails);
    out_end();
    return test_fails ? 1 : 0;
}

/* ---- entry ---- */

#ifndef IPCEMU_NO_START
int main(int argc, char **argv);

/* sp points at argc, followed by argv[0..argc-1], NULL, envp..., NULL, auxv */
__attribute__((used, noreturn)) void ipcemu_entry(u32 *sp);
__attribute__((used, noreturn)) void ipcemu_entry(u32 *sp)
{
    sys_exit_group(main((int)sp[0], (char **)(sp + 1)));
}

/* entry: clear the frame pointer, keep the entry esp, align the stack to 16 at the call */
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    xorl %ebp, %ebp\n"
        "    movl %esp, %eax\n"
        "    andl $-16, %esp\n"
        "    subl $12, %esp\n"
        "    pushl %eax\n"
        "    call ipcemu_entry\n"
        "    hlt\n");
#endif

#endif
