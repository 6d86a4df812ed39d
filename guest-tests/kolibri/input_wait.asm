; input_wait - MUST end in a deadlock report (no .expected file): defines a window and waits
; for a key (mask 2) that never comes. The report says the thread "waits for input".
include 'include/test.inc'
HEADER
START:
        mov     eax, 0
        mov     ebx, 10 * 65536 + 100
        mov     ecx, 10 * 65536 + 100
        mov     edx, 0x00FFFFFF
        int     0x40
        mov     eax, 40
        mov     ebx, 2
        int     0x40
        PRINTLN 'PASS waiting for a key'
        mov     eax, 10
        int     0x40
        PRINTLN 'FAIL function 10 returned'
        mov     eax, -1
        int     0x40

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
rb 4096
STACK_TOP:
MEM_END:
