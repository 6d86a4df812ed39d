; compute.asm - ipcemu guest benchmark: a pure compute loop with no system calls.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/compute.kex [--params 1=MILLIONS]
; Params: iterations in millions (default 100).
;
; Runs a five-instruction loop (add / xor / rol / dec / jnz) one million times per outer round, with
; no system call inside, then prints the final value of the mixed register as a checksum:
;     PASS compute 0xXXXXXXXX
;     DONE 1 0
; With the default 100 million iterations the output is in fixtures/kolibri/compute.expected.

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
        dec     ecx
        jnz     .inner
        dec     edi
        jnz     .outer
  .done:
        mov     ebx, edx
        PRINT   'PASS compute '
        mov     eax, ebx
        call    print_hex
        PRINTLN ''
        inc     dword [test_passes]
        FINISH

        TEST_LIB
        IPC_LIB

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
                rb 4096
STACK_TOP:
MEM_END:
