; bench_stream_tx.asm - ipcemu guest benchmark: one-way IPC stream, the sending side.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/bench_stream_rx.kex fixtures/kolibri/bench_stream_tx.kex \
;               --params 2=1000000
; Params: number of messages (default 1000000).
;
; Process names hold at most 11 characters, so both stream programs are named "bench_strea": the
; sender looks for a process of that name that is not itself (its own PID comes from function 9
; with ecx = -1), sleeping one tick between scans. It then sends the messages as fast as it can:
; 20 bytes each, the first dword being the sequence number 0, 1, 2, ...; a send that returns 1 (no
; area yet), 2 (locked) or 3 (full) yields (68.1) and is retried. Then it prints
;     PASS bench_stream_tx <n>
;     DONE <passes> <fails>
; and sends the 8-byte end message "end" 0 + dword n, and ends.

include 'include/test.inc'
include 'include/lib.inc'

MSG_LEN = 20

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 1000000
@@:     mov     [count], eax

        mov     ebx, info_buf
        call    get_own_pid
        mov     edi, eax                        ; own PID: skip it while scanning
        mov     esi, peer_name
        mov     edx, FIND_FOLD or FIND_MAX255 or 11
        call    wait_peer
        mov     [rx_pid], eax

        mov     ecx, eax
        mov     edx, msg
        mov     esi, MSG_LEN
        mov     edi, [count]
  .next:
        mov     eax, [msg]
        cmp     eax, edi
        jae     .sent_all
  .send:                                        ; send_retry written out: no call in the loop
        mov     eax, 60
        mov     ebx, 2
        int     0x40
        test    eax, eax
        jz      .sent
        cmp     eax, 3
        ja      .failed
        mov     eax, 68                         ; 1/2/3: let the receiver drain, then retry
        mov     ebx, 1
        int     0x40
        jmp     .send
  .sent:
        inc     dword [msg]
        jmp     .next

  .sent_all:
        PRINT   'PASS bench_stream_tx '
        mov     eax, [msg]
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        call    print_done
        mov     eax, [msg]
        mov     [end_count], eax
        mov     ecx, [rx_pid]
        mov     edx, end_msg
        mov     esi, 8
        call    send_retry
        mov     eax, -1
        int     0x40

  .failed:
        mov     ebx, eax
        PRINT   'FAIL bench_stream_tx send returned '
        mov     eax, ebx
        call    print_dec
        PRINT   ' after '
        mov     eax, [msg]
        call    print_dec
        PRINTLN ' messages'
        inc     dword [test_fails]
        FINISH

        TEST_LIB
        IPC_LIB

align 4
count           dd 0
rx_pid          dd 0
msg             dd 0                            ; sequence number
                db 'stream-data-....'           ; 16 more bytes: 20 in all
end_msg         db 'end', 0
end_count       dd 0
peer_name       db 'bench_strea'                ; "bench_stream_rx" cut to 11 characters

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
info_buf:       rb 1024
                rb 4096
STACK_TOP:
MEM_END:
