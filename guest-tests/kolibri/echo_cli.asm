; echo_cli.asm - ipcemu guest test: the client half of the two-process IPC echo pair.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/echo_srv.kex fixtures/kolibri/echo_cli.kex --params 2=1000
; Params: number of round trips (default 100). Large counts (1000000) serve as a benchmark: nothing
;         is printed per message.
;
; Sets its own 256-byte IPC area and mask 0x40, finds the process named echo_srv with function 9
; (sleeping one tick between scans until it exists), then for each round trip sends the 20-byte
; message "msg-NNNNNNNNNN echo\0" (NNNNNNNNNN = round trip number, from 0) and waits for the reply,
; which must come from the server PID and be byte-identical. Prints
;     PASS echo_cli <n> round trips        (or FAIL echo_cli ... with the number of bad replies)
;     DONE <passes> <fails>
; and only then sends "quit" to the server (so the two programs' lines do not overlap) and ends.

include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 256
MSG_LEN   = 20

        HEADER

START:
        cld
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 100
@@:     mov     [count], eax

        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup                       ; empty, unlocked, only event 7 (IPC)

        mov     esi, srv_name
        mov     edx, FIND_FOLD or FIND_MAX255 or 11
        xor     edi, edi
        mov     ebx, info_buf
        call    wait_peer
        mov     [srv_pid], eax

        mov     ebp, [count]                    ; round trips left
  .round:
        test    ebp, ebp
        jz      .finished
        mov     ecx, [srv_pid]
        mov     edx, msg
        mov     esi, MSG_LEN
        call    send_retry
        test    eax, eax
        jnz     .send_failed
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        mov     dword [area], 1                 ; lock while parsing
        mov     edi, area + 8
        mov     ebx, [area + 4]
        add     ebx, area
        xor     edx, edx                        ; replies found in this batch
  .msg:
        lea     eax, [edi + 8]
        cmp     eax, ebx
        ja      .drained
        mov     ecx, [edi + 4]
        lea     eax, [edi + 8 + ecx]
        cmp     eax, ebx
        ja      .drained
        inc     edx
        mov     eax, [srv_pid]
        cmp     [edi], eax
        jne     .bad
        cmp     ecx, MSG_LEN
        jne     .bad
        push    ecx
        push    esi
        push    edi
        lea     esi, [edi + 8]
        mov     edi, msg
        repe    cmpsb
        pop     edi
        pop     esi
        pop     ecx
        je      .next
  .bad:
        inc     dword [bad]
  .next:
        lea     edi, [edi + 8 + ecx]
        jmp     .msg
  .drained:
        mov     dword [area + 4], 8
        mov     dword [area], 0                 ; unlock
        test    edx, edx
        jz      .wait                           ; nothing yet (stale event)
        dec     edx
        add     [bad], edx                      ; more than one reply is wrong too
        call    bump_msg
        dec     ebp
        jmp     .round

  .finished:
        cmp     dword [bad], 0
        jne     .mismatch
        PRINT   'PASS echo_cli '
        mov     eax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     dword [test_passes]
        jmp     .quit
  .mismatch:
        PRINT   'FAIL echo_cli '
        mov     eax, [bad]
        call    print_dec
        PRINT   ' bad replies in '
        mov     eax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     dword [test_fails]
  .quit:
        call    print_done
        mov     ecx, [srv_pid]
        mov     edx, quit_msg
        mov     esi, 4
        call    send_retry
        mov     eax, -1
        int     0x40

  .send_failed:
        mov     ebx, eax
        PRINT   'FAIL echo_cli send returned '
        mov     eax, ebx
        call    print_dec
        PRINT   ' after '
        mov     eax, [count]
        sub     eax, ebp
        call    print_dec
        PRINTLN ' round trips'
        inc     dword [test_fails]
        call    print_done
        mov     eax, -1
        int     0x40

; bump_msg: add one to the ten decimal digits of msg
bump_msg:
        push    eax
        mov     eax, msg + 4 + 9
  .digit:
        inc     byte [eax]
        cmp     byte [eax], '9'
        jbe     .out
        mov     byte [eax], '0'
        dec     eax
        cmp     eax, msg + 4
        jae     .digit
  .out:
        pop     eax
        ret

        TEST_LIB
        IPC_LIB

align 4
count           dd 0
srv_pid         dd 0
bad             dd 0
srv_name        db 'echo_srv', 0, 0, 0          ; 11 bytes
msg             db 'msg-', '0000000000', ' echo', 0
quit_msg        db 'quit'

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
info_buf:       rb 1024
area:           rb AREA_SIZE
                rb 4096
STACK_TOP:
MEM_END:
