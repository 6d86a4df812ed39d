; bad_store - MUST make the emulator fail (no .expected file).
; Prints "PASS before fault", then stores to the unmapped address 0x7FFFFFF0 with a register
; changed right after it in the same block.
; Expected emulator behaviour: it reports a guest memory fault (unmapped write at 0x7FFFFFF0)
; at the store's eip, with the registers as they were before the store (ecx = 0x11111111, not
; the 0x22222222 of the next instruction), and exits with a non-zero status.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER
START:
        PRINTLN 'PASS before fault'
        mov     ecx, 0x11111111
        mov     dword [0x7FFFFFF0], ecx ; far beyond MEM_END: unmapped
        mov     ecx, 0x22222222
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
