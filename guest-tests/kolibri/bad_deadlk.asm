; bad_deadlk ("bad_deadlock", shortened to fit the 11-byte process name) - MUST make
; the emulator fail (no .expected file).
; Prints "PASS before deadlock", sets the event mask to IPC only (0x40, so the pending
; redraw event is masked) and calls function 10 with no IPC area and no other thread
; or process that could ever send: nothing can wake it.
; Expected emulator behaviour: it detects that every thread is blocked forever,
; reports a deadlock and exits with a non-zero status; "FAIL ..." is never printed.
include 'include/test.inc'
HEADER
START:
        PRINTLN 'PASS before deadlock'
        mov     eax, 40
        mov     ebx, 0x40
        int     0x40
        mov     eax, 10                 ; waits forever
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
