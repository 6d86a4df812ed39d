; self_kill - a program that ends itself with 18.2 on its own slot: it is reported as killed.
; Written for ipcemu; no KolibriOS code is included.
;
; Run: ipcemu run fixtures/kolibri/self_kill.kex    (exit status 1: "self_kill[3] was killed")
; Finds its slot with function 9 (slot -1: +4 is the slot), prints a PASS line, then calls 18.2
; on that slot; a line after the call would mean 18.2 returned.
include 'include/test.inc'
HEADER
START:
        mov     eax, 9
        mov     ebx, info
        mov     ecx, -1
        int     0x40
        movzx   ecx, word [info + 4]
        CHECK_EQ ecx, 3, 'own slot is 3'
        mov     eax, 18
        mov     ebx, 2
        int     0x40
        PRINTLN 'FAIL 18.2 on the own slot returned'
        FINISH

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
