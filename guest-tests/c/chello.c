/* chello.c - ipcemu guest test: the smallest ELF32 guest, Linux int 0x80 write and exit_group.
 *
 * Run:    ipcemu run fixtures/elf/chello.elf
 * Output: "PASS chello hello from C" (fixtures/elf/chello.expected); exit status 0, or 1 if the
 *         write did not report the whole line as written.
 *
 * Freestanding: no C library; _start and the system call wrappers are below. Built by
 * guest-tests/build-fixtures.sh. Written for ipcemu.
 */

#include "rt.h"

int cmain(void);

/* entry: clear the frame pointer, align the stack, run cmain, exit with its result */
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

int cmain(void)
{
    static const char line[] = "PASS chello hello from C\n";
    int n = sys_write(1, line, sizeof line - 1);
    if (n != (int)(sizeof line - 1))
        sys_exit_group(1);
    sys_exit_group(0);
}
