; heap_realloc - function 68.20 (reallocate a heap block) as the kernel's user_realloc
; (kernel/trunk/core/heap.inc): edx = 0 allocates like 68.12; a larger size keeps the address
; when the space after the block is free (the new bytes read as zero), else the block moves to
; the first place that fits with its bytes, and the old place is free again (and zeroed); a
; smaller size keeps the address and the bytes that remain; size 0 frees the block and returns
; 0; a pointer that is no block start, or a size the heap cannot hold, returns 0 and changes
; nothing. Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

; REALLOC size, ptr: 68.20 (eax = result)
macro REALLOC size, ptr
{
        mov     eax, 68
        mov     ebx, 20
        mov     ecx, size
        mov     edx, ptr
        int     0x40
}
macro ALLOC size
{
        mov     eax, 68
        mov     ebx, 12
        mov     ecx, size
        int     0x40
}

START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40

        REALLOC 4096, 0
        mov     [p], eax
        CHECK_NE eax, 0, 'edx = 0 allocates a block'
        mov     edi, [p]
        mov     ecx, 4096
        mov     al, 0x11
        rep     stosb

        REALLOC 10000, [p]
        CHECK_EQ eax, [p], 'growing with free space after it keeps the address'
        mov     edi, [p]
        mov     ecx, 4096
        mov     al, 0x11
        call    all_equal
        CHECK_EQ eax, 1, 'the old bytes are kept'
        mov     edi, [p]
        add     edi, 4096
        mov     ecx, 8192
        xor     al, al
        call    all_equal
        CHECK_EQ eax, 1, 'the new bytes read as zero (10000 bytes: three pages)'
        mov     edi, [p]
        mov     ecx, 12288
        mov     al, 0x22
        rep     stosb

        ALLOC   4096
        mov     [q], eax
        cmp     eax, [p]
        CHECK_TRUE ja, 'the next block lies after it'

        REALLOC 20000, [p]
        mov     [r], eax
        CHECK_NE eax, 0, 'growing past the next block succeeds'
        CHECK_NE eax, [p], 'and moves the block'
        mov     edi, [r]
        mov     ecx, 12288
        mov     al, 0x22
        call    all_equal
        CHECK_EQ eax, 1, 'the moved block keeps its bytes'
        mov     edi, [r]
        add     edi, 12288
        mov     ecx, 20480 - 12288
        xor     al, al
        call    all_equal
        CHECK_EQ eax, 1, 'its new bytes read as zero'

        ALLOC   12288
        CHECK_EQ eax, [p], 'the old place is free again (first fit)'
        mov     edi, eax
        mov     ecx, 12288
        xor     al, al
        call    all_equal
        CHECK_EQ eax, 1, 'and reads as zero'

        mov     edi, [r]
        mov     dword [edi + 4096], 0x33333333
        REALLOC 100, [r]
        CHECK_EQ eax, [r], 'shrinking keeps the address'
        mov     edi, [r]
        mov     ecx, 4096
        mov     al, 0x22
        call    all_equal
        CHECK_EQ eax, 1, 'and the bytes that remain'
        REALLOC 8192, [r]
        CHECK_EQ eax, [r], 'growing again in place'
        mov     edi, [r]
        CHECK_EQ [edi + 4096], 0, 'a page dropped by the shrink reads as zero again'

        REALLOC 0x7FFFFFFF, [r]
        CHECK_EQ eax, 0, 'a size the heap cannot hold returns 0'
        mov     edi, [r]
        CHECK_EQ [edi], 0x22222222, 'and leaves the block as it was'
        REALLOC 100, not_a_block
        CHECK_EQ eax, 0, 'a pointer that is no block start returns 0'
        mov     edx, [r]
        add     edx, 4
        REALLOC 100, edx
        CHECK_EQ eax, 0, 'a pointer inside a block returns 0'

        REALLOC 0, [q]
        CHECK_EQ eax, 0, 'size 0 returns 0'
        mov     eax, 68
        mov     ebx, 13
        mov     ecx, [q]
        int     0x40
        CHECK_EQ eax, 0, 'size 0 freed the block (68.13 finds none)'

        FINISH

; all_equal: edi = address, ecx = length, al = byte; eax = 1 if all bytes are al, else 0
all_equal:
        push    ecx edi
        repe    scasb
        sete    al
        movzx   eax, al
        pop     edi ecx
        ret

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
p       rd 1
q       rd 1
r       rd 1
not_a_block rb 64
rb 4096
STACK_TOP:
MEM_END:
