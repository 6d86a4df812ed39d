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

MSG_LEN = 20

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 1000000
@@:     mov     [count], eax

        mov     eax, 9
        mov     ebx, info_buf
        mov     ecx, -1
        int     0x40
        mov     edi, [info_buf + 30]            ; own PID: skip it while scanning
        mov     esi, peer_name
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
  .send:
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

; find_proc: esi -> 11-byte process name (zero padded), edi = PID to skip (0 = none).
; Scans slots 1..max with function 9 (skipping free slots, state 9) and returns eax = the PID of
; the first process with that name (case-insensitive, blank = zero), or 0.
find_proc:
        push    ebx
        push    ecx
        push    ebp
        mov     ebp, 1                          ; highest slot, refreshed by every call
        mov     ecx, 1
  .slot:
        cmp     ecx, ebp
        ja      .none
        mov     eax, 9
        mov     ebx, info_buf
        int     0x40
        mov     ebp, eax
        cmp     ebp, 255
        jbe     @f
        mov     ebp, 255
@@:     cmp     word [info_buf + 50], 9
        je      .next
        mov     eax, [info_buf + 30]
        cmp     eax, edi
        je      .next
        call    name_match
        je      .out
  .next:
        inc     ecx
        jmp     .slot
  .none:
        xor     eax, eax
  .out:
        pop     ebp
        pop     ecx
        pop     ebx
        ret

; name_match: ZF = 1 when the 11 bytes at esi equal the name at info_buf + 10
name_match:
        push    eax
        push    ecx
        push    edx
        xor     ecx, ecx
  .byte:
        mov     al, [esi + ecx]
        call    .fold
        mov     dl, al
        mov     al, [info_buf + 10 + ecx]
        call    .fold
        cmp     al, dl
        jne     .out
        inc     ecx
        cmp     ecx, 11
        jb      .byte                           ; falls through with ZF = 1
  .out:
        pop     edx
        pop     ecx
        pop     eax
        ret
  .fold:                                        ; al: a-z -> A-Z, blank -> 0
        cmp     al, ' '
        jne     @f
        xor     al, al
@@:     cmp     al, 'a'
        jb      @f
        cmp     al, 'z'
        ja      @f
        sub     al, 32
@@:     ret

; wait_peer: like find_proc, but sleeps one tick (function 5) between scans until the peer exists
wait_peer:
        call    find_proc
        test    eax, eax
        jnz     .out
        push    ebx
        mov     eax, 5
        mov     ebx, 1
        int     0x40
        pop     ebx
        jmp     wait_peer
  .out:
        ret

; send_retry: ecx = PID, edx = message, esi = length. Retries (yielding with 68.1) while the result
; is 1 (no area yet), 2 (locked) or 3 (full). eax = 0, or the final error (4 = no such PID).
send_retry:
        push    ebx
  .again:
        mov     eax, 60
        mov     ebx, 2
        int     0x40
        test    eax, eax
        jz      .out
        cmp     eax, 3
        ja      .out
        mov     eax, 68
        mov     ebx, 1
        int     0x40
        jmp     .again
  .out:
        pop     ebx
        ret

; print_done: print "DONE <passes> <fails>" without ending the thread
print_done:
        pushad
        PRINT   'DONE '
        mov     eax, [test_passes]
        call    print_dec
        mov     al, ' '
        call    print_char
        mov     eax, [test_fails]
        call    print_dec
        mov     al, 10
        call    print_char
        popad
        ret

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
