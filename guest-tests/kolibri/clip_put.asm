; clip_put - the clipboard across processes, writer side: puts one slot with a text on the
; clipboard (54.2) and ends. clip_get.kex, another process, reads it. Run with clip_get.kex.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

START:
        mov     eax, 54
        mov     ebx, 2
        mov     ecx, text_end - text
        mov     edx, text
        int     0x40
        CHECK_EQ eax, 0, 'clip_put wrote a slot'
        FINISH

TEST_LIB

text    db '....from clip_put', 0
text_end:

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
rb 4096
STACK_TOP:
MEM_END:
