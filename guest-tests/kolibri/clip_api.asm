; clip_api - function 54 (the clipboard) as the kernel's sys_clipboard
; (kernel/trunk/core/clipboard.inc), in one process: 54.0 counts the slots; 54.2 adds a slot
; whose first dword is the byte count given (the rest is the caller's bytes after its first
; dword) and returns 0; 54.1 returns a heap copy of a slot, or 1 for a slot that does not exist;
; 54.3 drops the last slot (1 when there is none); 54.4 finds no lock to reset (1); a buffer
; reaching kernel space gives -1; another subfunction leaves eax as it was; 1 024 slots at most.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

macro CLIP sub, c, d
{
        mov     eax, 54
        mov     ebx, sub
        mov     ecx, c
        mov     edx, d
        int     0x40
}

START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40

        CLIP    0, 0, 0
        CHECK_EQ eax, 0, '54.0: an empty clipboard has 0 slots'
        CLIP    1, 0, 0
        CHECK_EQ eax, 1, '54.1 of a slot that does not exist returns 1'
        CLIP    3, 0, 0
        CHECK_EQ eax, 1, '54.3 with no slot returns 1'

        CLIP    2, text_end - text, text
        CHECK_EQ eax, 0, '54.2 writes a slot'
        CLIP    2, 8, second
        CHECK_EQ eax, 0, '54.2 writes a second slot'
        CLIP    0, 0, 0
        CHECK_EQ eax, 2, '54.0 counts 2 slots'

        CLIP    1, 0, 0
        mov     [copy], eax
        CHECK_NE eax, 0, '54.1 returns a copy'
        mov     esi, [copy]
        CHECK_EQ [esi], text_end - text, 'its first dword is the byte count'
        CHECK_EQ [esi + 4], dword [text + 4], 'then the bytes after the caller''s first dword'
        mov     esi, [copy]
        add     esi, 4
        mov     edi, text + 4
        mov     ecx, text_end - text - 4
        repe    cmpsb
        sete    al
        movzx   eax, al
        CHECK_EQ eax, 1, 'all of them'
        CLIP    1, 1, 0
        mov     esi, eax
        CHECK_EQ [esi], 8, 'slot 1 holds the second write'
        CHECK_EQ [esi + 4], 'WXYZ', 'with its bytes'
        mov     eax, 68
        mov     ebx, 13
        mov     ecx, esi
        int     0x40
        CHECK_EQ eax, 1, 'the copy is a heap block (68.13 frees it)'

        CLIP    3, 0, 0
        CHECK_EQ eax, 0, '54.3 drops the last slot'
        CLIP    0, 0, 0
        CHECK_EQ eax, 1, 'one slot is left'
        CLIP    1, 1, 0
        CHECK_EQ eax, 1, 'the dropped slot is gone'

        CLIP    2, 16, 0x7FFFFFF8
        CHECK_EQ eax, -1, '54.2 of a buffer reaching kernel space returns -1'
        CLIP    2, 3, text
        CHECK_EQ eax, 1, '54.2 of fewer than 4 bytes returns 1 (ipcemu: the kernel would wrap)'
        CLIP    4, 0, 0
        CHECK_EQ eax, 1, '54.4 finds no lock held and returns 1'
        CLIP    5, 0, 0
        CHECK_EQ eax, 54, 'another subfunction leaves eax'
        CLIP    3, 0, 0
        CHECK_EQ eax, 0, 'the last slot is dropped'
        CLIP    0, 0, 0
        CHECK_EQ eax, 0, 'the clipboard is empty again'

        ; the kernel's limit: 1 024 slots
        xor     edi, edi
  .fill:
        CLIP    2, 4, text
        test    eax, eax
        jnz     .full
        inc     edi
        cmp     edi, 2000
        jb      .fill
  .full:
        CHECK_EQ edi, 1024, '54.2 takes 1 024 slots'
        CHECK_EQ eax, 1, 'and then returns 1'
        xor     edi, edi
  .drop:
        CLIP    3, 0, 0
        test    eax, eax
        jnz     .dropped
        inc     edi
        jmp     .drop
  .dropped:
        CHECK_EQ edi, 1024, '54.3 drops them all'

        FINISH

TEST_LIB

text    db '....Hello, clipboard!', 0
text_end:
second  db '----WXYZ'

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
copy    rd 1
rb 4096
STACK_TOP:
MEM_END:
