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

; ---- local helpers (each program carries its own copy; test.inc stays untouched) ----

; parse_uint: esi -> text. Skips blanks, reads a decimal number: eax = value and CF = 0, or
; eax = 0 and CF = 1 when there is no digit. esi is left after the number.
parse_uint:
        push    ebx
        push    edx
  .blank:
        cmp     byte [esi], ' '
        je      .skip
        cmp     byte [esi], 9
        jne     .digits
  .skip:
        inc     esi
        jmp     .blank
  .digits:
        xor     eax, eax
        xor     ebx, ebx
  .digit:
        movzx   edx, byte [esi]
        sub     edx, '0'
        cmp     edx, 9
        ja      .end
        imul    eax, eax, 10
        add     eax, edx
        inc     esi
        inc     ebx
        jmp     .digit
  .end:
        test    ebx, ebx                        ; clears CF
        jnz     .out
        stc
  .out:
        pop     edx
        pop     ebx
        ret

align 4
count           dd 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
                rb 4096
STACK_TOP:
MEM_END:
