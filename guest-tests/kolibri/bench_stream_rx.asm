; bench_stream_rx.asm - ipcemu guest benchmark: one-way IPC stream, the receiving side.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/bench_stream_rx.kex fixtures/kolibri/bench_stream_tx.kex \
;               --params 2=1000000
; Params: none.
;
; Sets a 64 KiB IPC area and mask 0x40. On every event 7 it drains the whole area: lock (+0 = 1),
; walk all messages, reset +4 to 8, unlock. 20-byte messages are counted and their first dword must
; be the count so far (in-order delivery); the 8-byte message "end" 0 + dword n ends the stream:
;     PASS bench_stream_rx <n>    (FAIL ... if n differs from the count or the order was broken)
;     DONE <passes> <fails>

include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 65536
MSG_LEN   = 20

        HEADER

START:
        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup                       ; empty, unlocked, only event 7 (IPC)
        xor     ebp, ebp                        ; data messages received

  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        mov     dword [area], 1                 ; lock while draining
        mov     edi, area + 8
        mov     ebx, [area + 4]
        add     ebx, area
  .msg:
        lea     eax, [edi + 8]
        cmp     eax, ebx
        ja      .drained
        mov     ecx, [edi + 4]
        cmp     ecx, MSG_LEN
        jne     .other
        cmp     [edi + 8], ebp
        je      @f
        inc     dword [order_errors]
@@:     inc     ebp
        jmp     .next
  .other:
        cmp     ecx, 8
        jne     .bad
        cmp     dword [edi + 8], 'end'
        jne     .bad
        mov     eax, [edi + 12]
        mov     [end_count], eax
        mov     byte [got_end], 1
        jmp     .next
  .bad:
        inc     dword [order_errors]
  .next:
        lea     edi, [edi + 8 + ecx]
        jmp     .msg
  .drained:
        mov     dword [area + 4], 8
        mov     dword [area], 0                 ; unlock
        cmp     byte [got_end], 0
        je      .wait

        cmp     ebp, [end_count]
        jne     .fail
        cmp     dword [order_errors], 0
        jne     .fail
        PRINT   'PASS bench_stream_rx '
        mov     eax, ebp
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        FINISH
  .fail:
        PRINT   'FAIL bench_stream_rx '
        mov     eax, ebp
        call    print_dec
        PRINT   ' received, sender says '
        mov     eax, [end_count]
        call    print_dec
        PRINT   ', order errors '
        mov     eax, [order_errors]
        call    print_dec
        PRINTLN ''
        inc     dword [test_fails]
        FINISH

        TEST_LIB
        IPC_LIB

align 4
end_count       dd 0
order_errors    dd 0
got_end         db 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
area:           rb AREA_SIZE
                rb 4096
STACK_TOP:
MEM_END:
