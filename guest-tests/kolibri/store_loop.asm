; store_loop.asm - ipcemu guest benchmark: compute.asm's loop plus one guest store per iteration,
; to a data page that is never executed (docs/performance.md, the stores rows).
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/store_loop.kex [--params 1=MILLIONS]
; Params: iterations in millions (default 100).
;
; The image is one flat MENUET01 region (code and data mixed, mapped executable), as real
; KolibriOS programs are. Prints the mixed register and the last stored value as checksums:
;     PASS store_loop 0xXXXXXXXX
;     PASS store_loop stored value matches
;     DONE 2 0

include 'include/test.inc'
include 'include/lib.inc'

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 100
@@:     mov     edi, eax                        ; outer rounds
        xor     eax, eax
        xor     edx, edx
        test    edi, edi
        jz      .done
  .outer:
        mov     ecx, 1000000
  .inner:
        add     eax, ecx
        xor     edx, eax
        rol     edx, 5
        mov     [scratch], edx                  ; the one store
        dec     ecx
        jnz     .inner
        dec     edi
        jnz     .outer
  .done:
        mov     ebx, edx
        PRINT   'PASS store_loop '
        mov     eax, ebx
        call    print_hex
        PRINTLN ''
        inc     dword [test_passes]
        CHECK_EQ [scratch], ebx, 'store_loop stored value matches'
        FINISH

        TEST_LIB
        IPC_LIB

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
align 4096
scratch:        rd 1024                         ; a page of its own, only ever written as data
                rb 4096
STACK_TOP:
MEM_END:
