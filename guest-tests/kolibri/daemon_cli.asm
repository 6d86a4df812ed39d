; daemon_cli - the client of daemon: finds it by name, sends "ping", expects "pong".
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/daemon.kex fixtures/kolibri/daemon_cli.kex --start-at 2=0.5
; Finds the process named "daemon" with function 9 (sleeping a tick between scans), sends it the
; 4-byte message "ping" (function 60.2, retrying while it has no area yet) and waits for the
; answer, which must be "pong" from the daemon's PID. Prints PASS/FAIL lines, the time it
; started at (26.9, in hundredths of a second) and DONE <passes> <fails>.
include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 64

        HEADER

START:
        call    uptime
        mov     [started], eax
        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup
        mov     esi, name
        mov     edx, 11
        xor     edi, edi
        mov     ebx, info
        call    wait_peer
        mov     [daemon_pid], eax
        mov     ecx, eax
        mov     edx, ping
        mov     esi, 4
        call    send_retry
        CHECK_EQ eax, 0, 'daemon_cli ping sent'
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        CHECK_EQ dword [area + 8], [daemon_pid], 'daemon_cli answer from the daemon'
        CHECK_EQ dword [area + 12], 4, 'daemon_cli answer is 4 bytes'
        CHECK_EQ dword [area + 16], 'pong', 'daemon_cli answer is pong'
        PRINT   'daemon_cli started at tick '
        mov     eax, [started]
        call    print_dec
        PRINTLN ''
        FINISH

        TEST_LIB
        IPC_LIB

name    db      'daemon', 0, 0, 0, 0, 0
ping    db      'ping'
align 4
started         dd 0
daemon_pid      dd 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
area:           rb AREA_SIZE
info:           rb 1024
                rb 4096
STACK_TOP:
MEM_END:
