; daemon - a server that makes sure only one copy of itself runs, then answers one request.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/daemon.kex fixtures/kolibri/daemon_cli.kex --start-at 2=0.5
; At start it scans the slots from 2 upward with function 9 and ends every other process named
; "daemon" with 18.2 (never itself: it passes over its own PID; slot 2 is the kernel's OS thread,
; which is named differently and which 18.2 would refuse anyway). It prints
;     PASS daemon <pid> ended <n> other copies
; then sets an IPC area (function 60) and waits for one message; it answers "ping" with "pong"
; and prints
;     PASS daemon <pid> answered ping from <pid>
;     DONE <passes> <fails>
include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 64

        HEADER

START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        mov     ecx, 2
  .scan:
        mov     eax, 9
        mov     ebx, info
        int     0x40
        mov     [max_slot], eax
        cmp     word [info + 50], 9             ; free slot
        je      .next
        push    ecx
        mov     esi, name
        mov     edi, info + 10
        mov     ecx, 11
        repe    cmpsb
        pop     ecx
        jne     .next
        mov     eax, [info + 30]
        cmp     eax, [own_pid]
        je      .next
        mov     eax, 18                         ; another copy: end it
        mov     ebx, 2
        int     0x40
        inc     dword [ended]
  .next:
        inc     ecx
        cmp     ecx, [max_slot]
        jbe     .scan

        PRINT   'PASS daemon '
        mov     eax, [own_pid]
        call    print_dec
        PRINT   ' ended '
        mov     eax, [ended]
        call    print_dec
        PRINTLN ' other copies'
        inc     dword [test_passes]

        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        cmp     dword [area + 4], 8 + 8 + 4     ; exactly one 4-byte message
        jne     .bad
        cmp     dword [area + 16], 'ping'
        jne     .bad
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [area + 8]                 ; the sender
        mov     edx, pong
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 0, 'daemon reply sent'
        PRINT   'PASS daemon '
        mov     eax, [own_pid]
        call    print_dec
        PRINT   ' answered ping from '
        mov     eax, [area + 8]
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        FINISH
  .bad:
        PRINTLN 'FAIL daemon got something other than one ping'
        inc     dword [test_fails]
        FINISH

        TEST_LIB
        IPC_LIB

name    db      'daemon', 0, 0, 0, 0, 0
pong    db      'pong'
align 4
own_pid         dd 0
max_slot        dd 0
ended           dd 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
area:           rb AREA_SIZE
info:           rb 1024
                rb 4096
STACK_TOP:
MEM_END:
