/* cecho.c - ipcemu guest test: an ELF32 client of echo_srv, using KolibriOS int 0x40 for IPC and
 * Linux int 0x80 for its output.
 *
 * Run:    ipcemu run fixtures/kolibri/echo_srv.kex fixtures/elf/cecho.elf
 * Output: PASS cecho found echo_srv
 *         PASS cecho 10 round trips
 *         DONE 2 0
 *         (FAIL cecho ... lines instead when something goes wrong); exit status 0 or 1.
 *
 * Finds echo_srv by name with function 9 (sleeping one tick with function 5 between scans), sets its
 * own IPC area (60.1) and mask 0x40 (40), sends 10 messages of different lengths (60.2, retrying on
 * 1/2/3), waits for each reply with function 10 and checks it is byte-identical and from the server
 * PID, prints its lines, then sends "quit" and ends with exit_group.
 *
 * Freestanding: no C library; _start and the system call wrappers are below. Built by
 * guest-tests/build-fixtures.sh. Written for ipcemu.
 */

typedef unsigned int u32;

#define ROUNDS    10
#define AREA_SIZE 512

/* ---- system calls ---- */

#include "rt.h"

/* KolibriOS int 0x40: eax = function, ebx/ecx/edx/esi arguments, result in eax */
static u32 kos(u32 eax, u32 ebx, u32 ecx, u32 edx, u32 esi)
{
    u32 ret;
    __asm__ volatile("int $0x40"
                     : "=a"(ret)
                     : "0"(eax), "b"(ebx), "c"(ecx), "d"(edx), "S"(esi)
                     : "memory");
    return ret;
}

/* ---- the few library routines the compiler may call ---- */

void *memcpy(void *dst, const void *src, u32 n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, u32 n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* ---- output ---- */

static u32 passes, fails;

static char *fmt_u32(char *p, u32 v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *fmt_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

/* one whole line per write, so that it is not split by other programs' output */
static void result(int ok, const char *text, u32 num, const char *tail)
{
    char line[128];
    char *p = fmt_str(line, ok ? "PASS cecho " : "FAIL cecho ");
    p = fmt_str(p, text);
    if (tail) {
        p = fmt_u32(p, num);
        p = fmt_str(p, tail);
    }
    *p++ = '\n';
    sys_write(1, line, (u32)(p - line));
    if (ok)
        passes++;
    else
        fails++;
}

static void done_line(void)
{
    char line[40];
    char *p = fmt_str(line, "DONE ");
    p = fmt_u32(p, passes);
    *p++ = ' ';
    p = fmt_u32(p, fails);
    *p++ = '\n';
    sys_write(1, line, (u32)(p - line));
}

/* ---- IPC ---- */

static u32 area_words[AREA_SIZE / 4];   /* +0 lock, +4 end of used data, +8 messages */
static unsigned char info[1024];       /* function 9 buffer */

#define AREA ((volatile unsigned char *)area_words)
#define AREA_LOCK (*(volatile u32 *)&area_words[0])
#define AREA_END (*(volatile u32 *)&area_words[1])

static u32 rd32(const volatile unsigned char *p)
{
    return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static int name_is(const unsigned char *field, const char *want)
{
    for (int i = 0; i < 11; i++) {
        unsigned char a = field[i], b = (unsigned char)want[i];
        if (a == ' ')
            a = 0;
        if (a >= 'a' && a <= 'z')
            a -= 32;
        if (b >= 'a' && b <= 'z')
            b -= 32;
        if (a != b)
            return 0;
        if (!b)
            return 1;
    }
    return 1;
}

/* PID of the first process named `name`, or 0 */
static u32 find_proc(const char *name)
{
    u32 max = 1;
    for (u32 slot = 1; slot <= max; slot++) {
        max = kos(9, (u32)info, slot, 0, 0);
        if (max > 255)
            max = 255;
        if ((info[50] | info[51] << 8) == 9)
            continue;
        if (name_is(info + 10, name))
            return rd32(info + 30);
    }
    return 0;
}

/* 60.2 with retries while the receiver has no area yet (1), is locked (2) or full (3) */
static u32 send_retry(u32 pid, const void *msg, u32 len)
{
    for (;;) {
        u32 r = kos(60, 2, pid, (u32)msg, len);
        if (r == 0 || r > 3)
            return r;
        kos(68, 1, 0, 0, 0);
    }
}

int cmain(void)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char msg[64];
    u32 srv, bad = 0, rounds = 0;

    AREA_LOCK = 0;
    AREA_END = 8;
    kos(60, 1, (u32)area_words, AREA_SIZE, 0);
    kos(40, 0x40, 0, 0, 0);

    while (!(srv = find_proc("echo_srv")))
        kos(5, 1, 0, 0, 0);
    result(1, "found echo_srv", 0, 0);

    for (u32 i = 0; i < ROUNDS; i++) {
        /* "cecho <i> " followed by a few letters: lengths 12..21 */
        char *p = fmt_str(msg, "cecho ");
        p = fmt_u32(p, i);
        *p++ = ' ';
        for (u32 k = 0; k < 4 + i; k++)
            *p++ = alphabet[(i * 7 + k) % (sizeof alphabet - 1)];
        u32 len = (u32)(p - msg);

        u32 r = send_retry(srv, msg, len);
        if (r != 0) {
            result(0, "send returned ", r, " before the end");
            done_line();
            sys_exit_group(1);
        }

        int got = 0;
        while (!got) {
            if (kos(10, 0, 0, 0, 0) != 7)
                continue;
            AREA_LOCK = 1;
            u32 end = AREA_END, off = 8;
            while (off + 8 <= end) {
                u32 from = rd32(AREA + off), n = rd32(AREA + off + 4);
                if (off + 8 + n > end)
                    break;
                int same = from == srv && n == len;
                for (u32 k = 0; same && k < n; k++)
                    same = AREA[off + 8 + k] == (unsigned char)msg[k];
                if (!same || got)
                    bad++;
                got = 1;
                off += 8 + n;
            }
            AREA_END = 8;
            AREA_LOCK = 0;
        }
        rounds++;
    }

    if (bad == 0)
        result(1, "", rounds, " round trips");
    else
        result(0, "bad replies: ", bad, " in 10 round trips");
    done_line();
    send_retry(srv, "quit", 4);
    sys_exit_group(fails ? 1 : 0);
}

__asm__(".text\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    xorl %ebp, %ebp\n"
        "    andl $-16, %esp\n"
        "    call cmain\n"
        "    movl %eax, %ebx\n"
        "    movl $252, %eax\n"
        "    int $0x80\n"
        "    hlt\n");
