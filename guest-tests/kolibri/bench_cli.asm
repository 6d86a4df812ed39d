; bench_cli.asm - ipcemu guest benchmark: IPC round trips against bench_srv.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/bench_srv.kex fixtures/kolibri/bench_cli.kex --params 2=100000
; Params: number of round trips (default 100000).
;
; Sets a 256-byte area and mask 0x40, finds bench_srv by name (sleeping one tick between scans),
; then repeats: send one 20-byte message, wait for event 7, count the replies in the area. No
; content checks. At the end prints
;     PASS bench_cli <n>          (FAIL bench_cli ... if the reply count differs)
;     DONE <passes> <fails>
; and then sends "quit" to the server and ends.

include 'include/test.inc'

AREA_SIZE = 256
MSG_LEN   = 20

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 100000
@@:     mov     [count], eax

        mov     dword [area], 0
        mov     dword [area + 4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, AREA_SIZE
        int     0x40
        mov     eax, 40
        mov     ebx, 0x40
        int     0x40

        mov     esi, srv_name
        xor     edi, edi
        call    wait_peer
        mov     [srv_pid], eax

        xor     ebp, ebp                        ; replies received
        xor     edi, edi                        ; messages sent
  .round:
        cmp     edi, [count]
        jae     .finished
        mov     ecx, [srv_pid]
        mov     edx, msg
        mov     esi, MSG_LEN
        call    send_retry
        test    eax, eax
        jnz     .finished                       ; server gone: the count check reports it
        inc     edi
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        mov     dword [area], 1                 ; lock while counting
        mov     esi, area + 8
        mov     ebx, [area + 4]
        add     ebx, area
  .msg:
        lea     eax, [esi + 8]
        cmp     eax, ebx
        ja      .drained
        inc     ebp
        add     eax, [esi + 4]
        mov     esi, eax
        jmp     .msg
  .drained:
        mov     dword [area + 4], 8
        mov     dword [area], 0                 ; unlock
        cmp     ebp, edi
        jb      .wait
        jmp     .round

  .finished:
        cmp     ebp, [count]
        jne     .bad
        PRINT   'PASS bench_cli '
        mov     eax, ebp
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        jmp     .quit
  .bad:
        PRINT   'FAIL bench_cli '
        mov     eax, ebp
        call    print_dec
        PRINT   ' replies, want '
        mov     eax, [count]
        call    print_dec
        PRINTLN ''
        inc     dword [test_fails]
  .quit:
        call    print_done
        mov     ecx, [srv_pid]
        mov     edx, quit_msg
        mov     esi, 4
        call    send_retry
        mov     eax, -1
        int     0x40

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
srv_pid         dd 0
msg             db 'bench-message-20byte'   ; 20 bytes
quit_msg        db 'quit'
srv_name        db 'bench_srv', 0, 0        ; 11 bytes

align 4096                      ; data on its own pages: guest stores never hit a code page
I_END:
PARAMS:         rb 256
PATH:           rb 1024
info_buf:       rb 1024
area:           rb AREA_SIZE
                rb 4096
STACK_TOP:
MEM_END:
