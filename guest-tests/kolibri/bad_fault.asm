; bad_fault - MUST make the emulator fail (no .expected file).
; Prints "PASS before fault", then reads the unmapped address 0x7FFFFFF0.
; Expected emulator behaviour: it reports a guest memory fault (unmapped read at
; 0x7FFFFFF0) and exits with a non-zero status; "FAIL no fault" is never printed.
include 'include/test.inc'
HEADER
START:
        PRINTLN 'PASS before fault'
        mov     eax, [0x7FFFFFF0]       ; far beyond MEM_END: unmapped
        PRINTLN 'FAIL no fault'
        mov     eax, -1
        int     0x40

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
rb 4096
STACK_TOP:
MEM_END:
