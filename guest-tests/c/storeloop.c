/* storeloop.c - ipcemu guest benchmark: a loop with one store per iteration to a variable in the
 * read-write .data segment (docs/performance.md, "ELF store loop vs qemu-i386").
 *
 * Run:    ipcemu run fixtures/elf/storeloop.elf [MILLIONS]     (default 100)
 *         qemu-i386 fixtures/elf/storeloop.elf [MILLIONS]
 * Output: "PASS storeloop 0xXXXXXXXX" (the mixed value, the same under both); exit status 0.
 *
 * Freestanding: no C library (rt.h). Built by guest-tests/build-fixtures.sh. Written for ipcemu.
 */
typedef unsigned int u32;

#include "rt.h"

volatile u32 sink = 1; /* .data: initialised, so not in .bss */

static void put_hex(u32 v)
{
    char b[11] = "0x";
    for (int i = 0; i < 8; i++)
        b[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    b[10] = '\n';
    sys_write(1, b, sizeof b);
}

__attribute__((used)) static void cmain(u32 *sp)
{
    u32 argc = sp[0];
    char **argv = (char **)(sp + 1);
    u32 millions = 100;
    if (argc > 1) {
        millions = 0;
        for (const char *p = argv[1]; *p >= '0' && *p <= '9'; p++)
            millions = millions * 10 + (u32)(*p - '0');
    }
    u32 a = 0, d = 0;
    for (u32 o = 0; o < millions; o++) {
        for (u32 c = 1000000; c; c--) {
            a += c;
            d ^= a;
            d = (d << 5) | (d >> 27);
            sink = d;
        }
    }
    static const char pass[] = "PASS storeloop ";
    sys_write(1, pass, sizeof pass - 1);
    put_hex(sink);
    sys_exit_group(sink == d ? 0 : 1);
}

__asm__(".globl _start\n_start:\n  movl %esp, %eax\n  andl $-16, %esp\n  pushl %eax\n  pushl %eax\n  pushl %eax\n  pushl %eax\n  call cmain\n  hlt\n");
