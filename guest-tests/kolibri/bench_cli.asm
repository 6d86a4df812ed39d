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
include 'include/lib.inc'

AREA_SIZE = 256
MSG_LEN   = 20

        HEADER

START:
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 100000
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
        IPC_LIB

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
