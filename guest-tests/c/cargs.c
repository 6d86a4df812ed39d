/* cargs.c - prints its argc and argv, one per line, through int 0x80 write: pins the Linux
 * entry stack ipcemu builds for ELF guests (argc, argv from --params split at blanks, NULL,
 * empty envp, empty auxv). */
typedef unsigned int u32;

#include "rt.h"

static u32 len(const char *s) {
    u32 n = 0;
    while (s[n]) n++;
    return n;
}

static void put(const char *s) { sys_write(1, s, len(s)); }

static void put_uint(u32 v) {
    char b[12];
    int i = 11;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b + i);
}

/* The kernel-style entry: esp points at argc. */
__attribute__((used)) static void cmain(u32 *sp) {
    u32 argc = sp[0];
    char **argv = (char **)(sp + 1);
    put("PASS cargs argc ");
    put_uint(argc);
    put("\n");
    for (u32 i = 0; i < argc; i++) {
        put("PASS cargs argv ");
        put_uint(i);
        put(" ");
        put(argv[i]);
        put("\n");
    }
    if (argv[argc] != 0) {
        put("FAIL cargs argv is not NULL-terminated\n");
        sys_exit_group(1);
    }
    if (((char **)(sp + 1 + argc + 1))[0] != 0) {
        put("FAIL cargs envp is not empty\n");
        sys_exit_group(1);
    }
    sys_exit_group(0);
}

__asm__(".globl _start\n_start:\n  movl %esp, %eax\n  andl $-16, %esp\n  pushl %eax\n  pushl %eax\n  pushl %eax\n  pushl %eax\n  call cmain\n  hlt\n");
