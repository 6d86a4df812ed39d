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
include 'include/lib.inc'

PER_CLIENT = 200

        HEADER

START:
        cld
        mov     esi, srv_name
        mov     edx, FIND_FOLD or FIND_MAX255 or 11
        xor     edi, edi
        mov     ebx, info_buf
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
        IPC_LIB

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
