; fan_cli.asm - ipcemu guest test: one of several fan-in clients of fan_srv.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fan_srv.kex fixtures/kolibri/fan_cli.kex \
;               fixtures/kolibri/fan_cli.kex fixtures/kolibri/fan_cli.kex
; Params: none.
;
; Finds the process named fan_srv with function 9 (sleeping one tick between scans until it exists),
; sends 200 messages of 4 bytes holding the sequence numbers 0..199, retrying while the server's area
; has not been set yet (1), is locked (2) or full (3), prints
;     PASS fan_cli sent 200
;     DONE <passes> <fails>
; and then sends the 8-byte end message "bye!" + dword 200 and ends.

include 'include/test.inc'

PER_CLIENT = 200

        HEADER

START:
        cld
        mov     esi, srv_name
        xor     edi, edi
        call    wait_peer
        mov     [srv_pid], eax

  .send:
        mov     eax, [seq]
        cmp     eax, PER_CLIENT
        jae     .sent_all
        mov     ecx, [srv_pid]
        mov     edx, seq
        mov     esi, 4
        call    send_retry
        test    eax, eax
        jnz     .failed
        inc     dword [seq]
        jmp     .send

  .sent_all:
        PRINT   'PASS fan_cli sent '
        mov     eax, [seq]
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        call    print_done
        mov     eax, [seq]
        mov     [bye_count], eax
        mov     ecx, [srv_pid]
        mov     edx, bye_msg
        mov     esi, 8
        call    send_retry
        test    eax, eax
        jz      .end
        mov     ebx, eax
        PRINT   'FAIL fan_cli end message: send returned '
        mov     eax, ebx
        call    print_dec
        PRINTLN ''
  .end:
        mov     eax, -1
        int     0x40

  .failed:
        mov     ebx, eax
        PRINT   'FAIL fan_cli send returned '
        mov     eax, ebx
        call    print_dec
        PRINT   ' after '
        mov     eax, [seq]
        call    print_dec
        PRINTLN ' messages'
        inc     dword [test_fails]
        FINISH

        TEST_LIB

; ---- local helpers (each program carries its own copy; test.inc stays untouched) ----

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
srv_pid         dd 0
seq             dd 0
bye_msg         db 'bye!'
bye_count       dd 0
srv_name        db 'fan_srv', 0, 0, 0, 0        ; 11 bytes

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
info_buf:       rb 1024
                rb 4096
STACK_TOP:
MEM_END:
