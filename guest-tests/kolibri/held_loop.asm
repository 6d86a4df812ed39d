; held_loop.asm - one 60.2 message to itself, then a long loop with no system call.
; Written for ipcemu; no KolibriOS code is included.
;
; A message hook that holds the message makes the kernel run the send again later (the
; thread's eip is put back on its `int 0x40` from inside the interrupt hook). The loop after it
; must then run exactly once and give the same checksum as without the hook, even when the
; run is paused and resumed in the middle of the loop (crates/registry/tests/delay_hook.rs).
;
; Parameters: outer rounds of 1,000,000 iterations (default 50).

include 'include/test.inc'
include 'include/lib.inc'

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 50
@@:     mov     [rounds], eax
        mov     eax, 9                          ; own PID (function 9, slot -1 = this thread)
        mov     ebx, info
        mov     ecx, -1
        int     0x40
        mov     eax, [info + 30]
        mov     [pid], eax
        mov     eax, 60                         ; IPC area
        mov     ebx, 1
        mov     ecx, area
        mov     edx, area_end - area
        int     0x40
        mov     eax, 60                         ; the message (a hook may hold it)
        mov     ebx, 2
        mov     ecx, [pid]
        mov     edx, msg
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 0, 'held_loop send returns 0'
        inc     dword [after_send]              ; this point is reached once
        mov     edi, [rounds]
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
        mov     [sum], edx
        CHECK_EQ [after_send], 1, 'held_loop code after the send ran once'
        CHECK_EQ dword [area + 16], 'ping', 'held_loop message delivered'
        PRINT   'PASS held_loop '
        mov     eax, [sum]
        call    print_hex
        PRINTLN ''
        inc     dword [test_passes]
        FINISH

        TEST_LIB
        IPC_LIB

msg             db      'ping'
align 4
rounds          dd      0
pid             dd      0
after_send      dd      0
sum             dd      0
area:           dd      0, 8                    ; unlocked, first free byte at 8
                rb      56
area_end:

align 16
I_END:
info:           rb      1024
PARAMS:         rb      256
PATH:           rb      1024
                rb      4096
STACK_TOP:
MEM_END:
