; trapper.asm - ipcemu guest benchmark: system call overhead, function 26.9 in a tight loop.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/trapper.kex [--params 1=COUNT]
; Params: number of calls (default 1000000).
;
; Calls function 26.9 (uptime in 1/100 s) COUNT times; the uptime must never go backwards.
;     PASS trapper <n>            (FAIL trapper ... if the uptime went backwards)
;     DONE <passes> <fails>

include 'include/test.inc'
include 'include/lib.inc'

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 1000000
@@:     mov     edi, eax                        ; calls left
        mov     [count], eax
        xor     esi, esi                        ; previous uptime
        xor     ebp, ebp                        ; times it went backwards
        test    edi, edi
        jz      .done
  .call:
        mov     eax, 26
        mov     ebx, 9
        int     0x40
        cmp     eax, esi
        jae     @f
        inc     ebp
@@:     mov     esi, eax
        dec     edi
        jnz     .call
  .done:
        test    ebp, ebp
        jnz     .bad
        PRINT   'PASS trapper '
        mov     eax, [count]
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        FINISH
  .bad:
        PRINT   'FAIL trapper '
        mov     eax, [count]
        call    print_dec
        PRINT   ' calls, uptime went backwards '
        mov     eax, ebp
        call    print_dec
        PRINTLN ' times'
        inc     dword [test_fails]
        FINISH

        TEST_LIB
        IPC_LIB

align 4
count           dd 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
                rb 4096
STACK_TOP:
MEM_END:
