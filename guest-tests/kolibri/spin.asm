; spin.asm - never blocks and never ends: polls the clock (26.9) and yields (68.1) for ever.
; Pins that a lone busy guest is still stopped by --timeout (guest time; exit 4) and by
; --wall-timeout. Prints nothing.
include 'include/test.inc'
HEADER

START:
.again: mov     eax, 26
        mov     ebx, 9
        int     0x40
        mov     eax, 68
        mov     ebx, 1
        int     0x40
        jmp     .again

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
        rb 4096
STACK_TOP:
MEM_END:
