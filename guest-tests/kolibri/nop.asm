; nop.asm - ipcemu guest benchmark: start-up cost. Prints nothing and ends at once (function -1).
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/nop.kex
; Params: none (ignored). Output: none.

include 'include/test.inc'

        HEADER

START:
        or      eax, -1
        int     0x40

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
                rb 256
STACK_TOP:
MEM_END:
