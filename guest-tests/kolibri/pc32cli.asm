; pc32cli.asm - ipcemu guest test: a 32-bit KolibriOS client of the DOS server pcsrv, over PC-IPC
; (int 0x60), to show DOS and 32-bit guests talking.
; Written for ipcemu; no KolibriOS or PC-IPC code is included.
;
; Run:    ipcemu run fixtures/dos/pcsrv.com fixtures/kolibri/pc32cli.kex      (either start order)
;         ipcemu run fixtures/dos/pcsrv.com fixtures/kolibri/pc32cli.kex --params 2=500
; Params: number of round trips (default 10).
;
; The same protocol as pccli (see guest-tests/dos/pccli.asm and pcsrv.asm): wait until PC-IPC is
; installed (inquire as ID 0, yielding with 68.1 while status bit 04h is clear), make four more
; yields (so a server that installed a moment ago has requested ID 1 first), request an ID (any
; value but 1, the server's), then for N = 0, 1, ... send "ping N" to ID 1 (retrying while the
; send returns 06h), read-wait for the answer and check it is "pong N" from ID 1. Prints
;     PASS pc32cli <n> round trips     (or FAIL pc32cli ...)
;     DONE <passes> <fails>
; then sends "quit" to the server, deletes its ID and ends (function -1).

include 'include/test.inc'
include 'include/lib.inc'

VECTOR    = 0x60
SERVER_ID = 1
BUF_LEN   = 32

        HEADER

START:
        cld
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 10
@@:     mov     [count], eax

  .wait_install:
        PC      PC_INQUIRE, 0, 0, 0, freew
        test    word [pcb + 6], ST_INSTALLED
        jnz     .installed
        call    yield
        jmp     .wait_install
  .installed:
        mov     ecx, 4
@@:     call    yield
        loop    @b
        PC      PC_REQID, 0, 0, 0, freew
        test    eax, eax
        jnz     .reqid_failed
        movzx   eax, word [pcb + 0]
        mov     [my_id], eax
        cmp     eax, SERVER_ID
        je      .got_server_id

  .round:
        mov     eax, [round]
        cmp     eax, [count]
        jae     .finished
        mov     edi, sbuf + 5                   ; "ping " + decimal round number
        call    utoa
        sub     edi, sbuf
        mov     [slen], edi
  .send:
        PC      PC_SEND, [my_id], SERVER_ID, [slen], sbuf
        cmp     eax, E_BADDEST
        jne     .sent
        call    yield
        jmp     .send
  .sent:
        test    eax, eax
        jnz     .send_failed
        PC      PC_READW, [my_id], 0, BUF_LEN, rbuf
        test    eax, eax
        jnz     .read_failed
        cmp     word [pcb + 2], SERVER_ID
        jne     .bad
        movzx   ecx, word [pcb + 10]
        cmp     ecx, [slen]
        jne     .bad
        cmp     dword [rbuf], 'pong'
        jne     .bad
        sub     ecx, 4
        mov     esi, rbuf + 4
        mov     edi, sbuf + 4
        repe    cmpsb
        je      .next
  .bad:
        inc     dword [bad]
  .next:
        inc     dword [round]
        jmp     .round

  .finished:
        cmp     dword [bad], 0
        jne     .mismatch
        PRINT   'PASS pc32cli '
        mov     eax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     dword [test_passes]
        jmp     .quit
  .mismatch:
        PRINT   'FAIL pc32cli '
        mov     eax, [bad]
        call    print_dec
        PRINT   ' bad replies in '
        mov     eax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     dword [test_fails]
  .quit:
        call    print_done
  .send_quit:
        PC      PC_SEND, [my_id], SERVER_ID, 4, quit_msg
        cmp     eax, E_BADDEST
        jne     .bye
        call    yield
        jmp     .send_quit
  .bye:
        PC      PC_DELID, [my_id], 0, 0, freew
        mov     eax, -1
        int     0x40

  .got_server_id:
        PRINTLN 'FAIL pc32cli got ID 1 itself: the server is not ID 1'
        inc     dword [test_fails]
        PC      PC_DELID, [my_id], 0, 0, freew
        FINISH

  .reqid_failed:
        mov     ebx, eax
        PRINT   'FAIL pc32cli request-ID returned '
        mov     eax, ebx
        call    print_hex
        PRINTLN ''
        inc     dword [test_fails]
        FINISH

  .send_failed:
        mov     ebx, eax
        PRINT   'FAIL pc32cli send returned '
        jmp     .after
  .read_failed:
        mov     ebx, eax
        PRINT   'FAIL pc32cli read-wait returned '
  .after:
        mov     eax, ebx
        call    print_hex
        PRINT   ' after '
        mov     eax, [round]
        call    print_dec
        PRINTLN ' round trips'
        inc     dword [test_fails]
        jmp     .quit

; yield: function 68.1 (switch to another thread)
yield:
        push    eax ebx
        mov     eax, 68
        mov     ebx, 1
        int     0x40
        pop     ebx eax
        ret

; utoa: eax = number, edi -> buffer; writes the decimal digits, edi is left after them
utoa:
        push    eax ebx ecx edx
        mov     ebx, 10
        xor     ecx, ecx
  .div:
        xor     edx, edx
        div     ebx
        push    edx
        inc     ecx
        test    eax, eax
        jnz     .div
  .out:
        pop     eax
        add     al, '0'
        stosb
        loop    .out
        pop     edx ecx ebx eax
        ret

        TEST_LIB
        IPC_LIB

align 4
count           dd 0
round           dd 0
bad             dd 0
my_id           dd 0
slen            dd 0
freew           dd 0
sbuf            db 'ping ', 12 dup 0
quit_msg        db 'quit'

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
                PC_BSS
rbuf:           rb BUF_LEN
                rb 4096
STACK_TOP:
MEM_END:
