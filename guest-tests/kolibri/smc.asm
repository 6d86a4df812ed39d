; smc.asm - self-modifying and run-time generated code keep working when guest stores take
; Unicorn's fast path (patches/unicorn/, docs/performance.md): every case below changes code that
; already ran, or runs code written into a page that until then only saw data stores.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
include 'include/lib.inc'

        HEADER
START:
        ; 1. patch the immediate of a routine that already ran (same page as this code)
        call    get_val
        CHECK_EQ eax, 1, 'smc routine returns its first immediate'
        mov     dword [get_val + 1], 2
        call    get_val
        CHECK_EQ eax, 2, 'smc patched immediate is seen on the next call'

        ; 2. patch and call in a loop: every call sees the value written just before it
        xor     ebx, ebx                        ; mismatches
        mov     ecx, 1000
  .patch_loop:
        mov     [get_val + 1], ecx
        call    get_val
        cmp     eax, ecx
        je      @f
        inc     ebx
@@:     loop    .patch_loop
        CHECK_EQ ebx, 0, 'smc 1000 patch-and-call rounds see each new value'

        ; 3. the instruction right after the store, in the same translation block
        mov     byte [.next + 1], 7
  .next:
        mov     al, 0
        movzx   eax, al
        CHECK_EQ eax, 7, 'smc a store to the next instruction takes effect'

        ; 4. a thunk generated at run time in a page that only saw data stores before
        mov     edi, thunk_page                 ; many plain data stores first (fast path)
        mov     ecx, 4096 / 4
        xor     eax, eax
        rep     stosd
        mov     edi, thunk_page
        mov     ecx, 100000
  .fill:
        mov     [edi + 2048], ecx
        loop    .fill
        xor     ebx, ebx                        ; mismatches
        mov     ecx, 1000
  .gen_loop:
        mov     byte [thunk_page], 0xB8         ; mov eax, imm32
        mov     [thunk_page + 1], ecx
        mov     byte [thunk_page + 5], 0xC3     ; ret
        call    thunk_page
        cmp     eax, ecx
        je      @f
        inc     ebx
@@:     mov     [thunk_page + 2048], eax        ; a data store to the page that now holds code
        loop    .gen_loop
        CHECK_EQ ebx, 0, 'smc a generated thunk is rewritten and rerun 1000 times'

        ; 5. an unpacker: decode an XOR-encoded routine into the data page and run it
        mov     esi, packed
        mov     edi, thunk_page + 256
        mov     ecx, packed_end - packed
  .unpack:
        lodsb
        xor     al, 0x5A
        stosb
        loop    .unpack
        mov     eax, 40
        call    thunk_page + 256
        CHECK_EQ eax, 12345 + 40 * 3, 'smc an unpacked routine runs'

        ; 6. the same page unpacked again with different code: the old translation is gone
        mov     byte [thunk_page + 256], 0xB8
        mov     dword [thunk_page + 257], 777
        mov     byte [thunk_page + 261], 0xC3
        call    thunk_page + 256
        CHECK_EQ eax, 777, 'smc code rewritten after it ran is retranslated'
        FINISH

get_val:
        mov     eax, 1
        ret

; eax = 12345 + 3 * eax, position independent, stored XOR 0x5A
packed:
        lea     eax, [eax + eax * 2]
        add     eax, 12345
        ret
packed_end:
repeat packed_end - packed
        load    b byte from packed + % - 1
        store   byte b xor 0x5A at packed + % - 1
end repeat

        TEST_LIB
        IPC_LIB

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
align 4096
thunk_page:     rb 4096
                rb 4096
STACK_TOP:
MEM_END:
