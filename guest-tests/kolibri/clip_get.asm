; clip_get - the clipboard across processes, reader side: waits (5 delay, guest time) until
; the clipboard holds a slot, reads it (54.1) and checks clip_put.kex's text, then drops it
; (54.3). Run with clip_put.kex, in either order.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40
        mov     ecx, 1000                       ; at most 10 s of guest time
  .wait:
        push    ecx
        mov     eax, 54
        xor     ebx, ebx
        int     0x40
        pop     ecx
        test    eax, eax
        jnz     .there
        push    ecx
        mov     eax, 5
        mov     ebx, 1
        int     0x40
        pop     ecx
        loop    .wait
  .there:
        CHECK_EQ eax, 1, 'clip_get sees one slot'
        mov     eax, 54
        mov     ebx, 1
        xor     ecx, ecx
        int     0x40
        mov     esi, eax
        CHECK_EQ [esi], text_end - text, 'clip_get: the slot''s count'
        add     esi, 4
        mov     edi, text + 4
        mov     ecx, text_end - text - 4
        repe    cmpsb
        sete    al
        movzx   eax, al
        CHECK_EQ eax, 1, 'clip_get reads clip_put''s text'
        mov     eax, 54
        mov     ebx, 3
        int     0x40
        CHECK_EQ eax, 0, 'clip_get drops the slot'
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
