; fan_srv.asm - ipcemu guest test: fan-in server, several fan_cli processes send to one small area.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fan_srv.kex fixtures/kolibri/fan_cli.kex \
;               fixtures/kolibri/fan_cli.kex fixtures/kolibri/fan_cli.kex
;         (or --params 1=C with C copies of fan_cli.kex)
; Params: number of clients C (default 3).
;
; Keeps a deliberately small 256-byte IPC area (room for 20 messages), so the clients see 2 (locked)
; and 3 (full) and have to retry. Each client sends 200 messages of 4 bytes (sequence numbers 0..199)
; and then the 8-byte end message "bye!" + dword 200. The server counts messages per sender PID,
; checks that each sender's sequence numbers arrive in order and that its end message carries the
; number received, and after C end messages prints
;     PASS fan_srv <C> clients <C*200> messages
;     DONE <passes> <fails>
; and ends.

include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE   = 256
PER_CLIENT  = 200
MAX_CLIENTS = 64

        HEADER

START:
        cld
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 3
@@:     mov     [wanted], eax

        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup                       ; empty, unlocked, only event 7 (IPC)

  .check_done:
        mov     eax, [byes]
        cmp     eax, [wanted]
        jae     .report
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait

        mov     dword [area], 1                 ; lock while parsing
        mov     edi, area + 8
        mov     ebp, [area + 4]
        add     ebp, area
  .msg:
        lea     eax, [edi + 8]
        cmp     eax, ebp
        ja      .drained
        mov     ecx, [edi + 4]
        lea     eax, [edi + 8 + ecx]
        cmp     eax, ebp
        ja      .drained
        mov     eax, [edi]
        call    client_index                    ; ebx = index or -1
        cmp     ebx, -1
        je      .bad
        cmp     byte [c_bye + ebx], 0
        jne     .bad                            ; nothing may follow the end message
        cmp     ecx, 4
        je      .data
        cmp     ecx, 8
        jne     .bad
        cmp     dword [edi + 8], 'bye!'
        jne     .bad
        mov     byte [c_bye + ebx], 1
        inc     dword [byes]
        mov     eax, [edi + 12]
        cmp     eax, [c_next + ebx * 4]
        je      .next
        inc     dword [seq_errors]              ; client sent a different number than arrived
        jmp     .next
  .data:
        inc     dword [total]
        mov     eax, [edi + 8]
        cmp     eax, [c_next + ebx * 4]
        je      @f
        inc     dword [seq_errors]
@@:     inc     eax
        mov     [c_next + ebx * 4], eax
        jmp     .next
  .bad:
        inc     dword [bad_msgs]
  .next:
        lea     edi, [edi + 8 + ecx]
        jmp     .msg
  .drained:
        mov     dword [area + 4], 8
        mov     dword [area], 0                 ; unlock
        jmp     .check_done

  .report:
        ; every client must have sent exactly PER_CLIENT messages
        xor     ecx, ecx
  .per_client:
        cmp     ecx, [clients]
        jae     .checked
        cmp     dword [c_next + ecx * 4], PER_CLIENT
        je      @f
        inc     dword [short_clients]
@@:     inc     ecx
        jmp     .per_client
  .checked:
        mov     eax, [wanted]
        imul    eax, eax, PER_CLIENT
        cmp     eax, [total]
        jne     .fail
        mov     eax, [clients]
        cmp     eax, [wanted]
        jne     .fail
        cmp     dword [seq_errors], 0
        jne     .fail
        cmp     dword [bad_msgs], 0
        jne     .fail
        cmp     dword [short_clients], 0
        jne     .fail
        PRINT   'PASS fan_srv '
        mov     eax, [clients]
        call    print_dec
        PRINT   ' clients '
        mov     eax, [total]
        call    print_dec
        PRINTLN ' messages'
        inc     dword [test_passes]
        FINISH
  .fail:
        PRINT   'FAIL fan_srv '
        mov     eax, [clients]
        call    print_dec
        PRINT   ' clients '
        mov     eax, [total]
        call    print_dec
        PRINT   ' messages, want '
        mov     eax, [wanted]
        call    print_dec
        PRINT   ' clients; sequence errors '
        mov     eax, [seq_errors]
        call    print_dec
        PRINT   ', bad messages '
        mov     eax, [bad_msgs]
        call    print_dec
        PRINT   ', clients without 200 '
        mov     eax, [short_clients]
        call    print_dec
        PRINTLN ''
        inc     dword [test_fails]
        FINISH

; client_index: eax = sender PID -> ebx = its index in the client table (added if new), or -1
; when the table is full
client_index:
        xor     ebx, ebx
  .find:
        cmp     ebx, [clients]
        jae     .new
        cmp     [c_pid + ebx * 4], eax
        je      .out
        inc     ebx
        jmp     .find
  .new:
        cmp     ebx, MAX_CLIENTS
        jae     .full
        mov     [c_pid + ebx * 4], eax
        inc     dword [clients]
  .out:
        ret
  .full:
        mov     ebx, -1
        ret

        TEST_LIB
        IPC_LIB

align 4
wanted          dd 0
clients         dd 0
byes            dd 0
total           dd 0
seq_errors      dd 0
bad_msgs        dd 0
short_clients   dd 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
c_pid:          rd MAX_CLIENTS
c_next:         rd MAX_CLIENTS
c_bye:          rb MAX_CLIENTS
area:           rb AREA_SIZE
                rb 4096
STACK_TOP:
MEM_END:
