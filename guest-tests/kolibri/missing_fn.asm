; missing_fn - functions ipcemu does not have fail with the kernel's own failure value:
; 68.16 (get a driver's service handle) returns 0 like the kernel's f68 (which zeroes eax
; before its table jump), so a program's "test eax, eax / jz" error path runs; function 6 (removed from the
; kernel: undefined_syscall) returns -1. Each is called twice (ipcemu names each once in a
; warning; with --strict the first ends the program with a report naming 68.16).
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER
START:
        mov     eax, 68
        mov     ebx, 16
        mov     ecx, drvname
        int     0x40
        CHECK_EQ eax, 0, '68.16 returns 0 (no driver service)'
        mov     eax, 68
        mov     ebx, 16
        mov     ecx, drvname
        int     0x40
        CHECK_EQ eax, 0, '68.16 again returns 0'
        mov     eax, 6
        int     0x40
        CHECK_EQ eax, -1, 'function 6 returns -1'
        mov     eax, 6
        int     0x40
        CHECK_EQ eax, -1, 'function 6 again returns -1'
        FINISH

TEST_LIB

drvname db      'ipcemu-drv', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
rb 4096
STACK_TOP:
MEM_END:
