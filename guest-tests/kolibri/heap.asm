; heap - function 68 heap: 68.11 init returns a nonzero heap size; 68.12 returns
; page-aligned, zero-filled, writable, non-overlapping blocks; 68.13 frees a block
; start (1) and refuses a pointer that is no block start (0); 68.1 yields.
include 'include/test.inc'
HEADER
START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40
        CHECK_NE eax, 0, '68.11 returns a nonzero heap size'

        mov     eax, 68
        mov     ebx, 12
        mov     ecx, 4096
        int     0x40
        mov     [p1], eax
        CHECK_NE eax, 0, '68.12 4096 returns a pointer'
        and     eax, 0xFFF
        CHECK_EQ eax, 0, '68.12 4096 is page aligned'

        mov     eax, 68
        mov     ebx, 12
        mov     ecx, 10000
        int     0x40
        mov     [p2], eax
        CHECK_NE eax, 0, '68.12 10000 returns a pointer'
        and     eax, 0xFFF
        CHECK_EQ eax, 0, '68.12 10000 is page aligned'

        ; distinct and not overlapping: p1 + 4096 <= p2 or p2 + 10000 <= p1
        mov     eax, [p1]
        mov     edx, [p2]
        mov     ecx, 1
        lea     ebx, [eax + 4096]
        cmp     ebx, edx
        jbe     .apart
        lea     ebx, [edx + 10000]
        cmp     ebx, eax
        jbe     .apart
        xor     ecx, ecx
  .apart:
        CHECK_EQ ecx, 1, 'the two blocks do not overlap'

        mov     edi, [p1]
        mov     ecx, 4096
        call    is_zero
        CHECK_EQ eax, 1, 'block 1 is zero-filled'
        mov     edi, [p2]
        mov     ecx, 10000
        call    is_zero
        CHECK_EQ eax, 1, 'block 2 is zero-filled'

        ; write both blocks completely, then read them back
        mov     edi, [p1]
        mov     ecx, 4096
        mov     al, 0x11
        rep     stosb
        mov     edi, [p2]
        mov     ecx, 10000
        mov     al, 0x22
        rep     stosb
        mov     edi, [p1]
        mov     ecx, 4096
        mov     al, 0x11
        repe    scasb
        sete    al
        movzx   eax, al
        CHECK_EQ eax, 1, 'block 1 is writable and keeps its bytes'
        mov     edi, [p2]
        mov     ecx, 10000
        mov     al, 0x22
        repe    scasb
        sete    al
        movzx   eax, al
        CHECK_EQ eax, 1, 'block 2 is writable and keeps its bytes'

        ; a pointer into our image is no block start
        mov     eax, 68
        mov     ebx, 13
        mov     ecx, not_a_block
        int     0x40
        CHECK_EQ eax, 0, '68.13 on a bogus pointer returns 0'

        mov     eax, 68
        mov     ebx, 13
        mov     ecx, [p1]
        int     0x40
        CHECK_EQ eax, 1, '68.13 frees block 1'
        mov     eax, 68
        mov     ebx, 13
        mov     ecx, [p2]
        int     0x40
        CHECK_EQ eax, 1, '68.13 frees block 2'

        mov     eax, 68
        mov     ebx, 1
        mov     ecx, 0x33333333         ; marker: must be preserved
        int     0x40
        CHECK_EQ ecx, 0x33333333, '68.1 yields and returns'

        FINISH

; is_zero: edi = address, ecx = length; eax = 1 if all bytes are 0, else 0
is_zero:
        push    ecx edi
        xor     eax, eax
        repe    scasb
        sete    al
        pop     edi ecx
        ret

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
p1      rd 1
p2      rd 1
align 16
not_a_block: rb 64
rb 4096
STACK_TOP:
MEM_END:
