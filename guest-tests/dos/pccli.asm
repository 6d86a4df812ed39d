; pccli.asm - ipcemu guest test (DOS .COM, PC-IPC): the client of the ping/pong pair.
; Written for ipcemu; no PC-IPC code is included.
;
; Run:    ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pccli.com        (either start order)
;         ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pccli.com --params 2=1000
; Params: number of round trips (command tail, default 100).
;
; Waits until PC-IPC is installed (inquire as ID 0; while status bit 04h is clear it spins on
; INT 21h/30h, a system call, so the emulator's quantum preempts it and the server gets to run),
; makes four more such calls (so a server that installed a moment ago has had its turn to
; request ID 1, even with --quantum 1), and requests its own ID (it does not assume the value).
; The server is ID 1 (pcsrv requests its ID right after installing, see pcsrv.asm); if the
; client itself got ID 1, it fails at once ("the server is not ID 1" - e.g. with
; --pcipc-preinstalled and the client started first; pcprobe copes with such worlds).
; For round trip N = 0, 1, ... it sends "ping N" to ID 1, retrying while the send returns 06h
; (ID 1 not handed out yet), read-waits (0Ah) for the answer and checks it is "pong N" from ID 1.
; Prints
;     PASS pccli <n> round trips        (or FAIL pccli ...)
;     DONE <passes> <fails>
; and only then sends "quit" to the server (so the server's lines come after these), deletes its
; ID and exits with code = fails.

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

SERVER_ID equ   1

start:
        mov     si, 81h                         ; PSP command tail
        call    parse_uint
        jnc     .count
        mov     ax, 100
  .count:
        mov     [count], ax

  .wait_install:
        PC      PC_INQUIRE, 0, 0, 0, freew
        test    word R_STATUS, ST_INSTALLED
        jnz     .installed
        YIELD
        jmp     .wait_install
  .installed:
        ; A server that has just installed requests its ID with its next call; a few system calls
        ; here let the scheduler run it first even with a tiny quantum (--quantum 1: a thread
        ; gives up the CPU after two calls), so it is ID 1 and this client is not.
        mov     cx, 4
  .settle:
        push    cx
        YIELD
        pop     cx
        loop    .settle
        PC      PC_REQID, 0, 0, 0, freew
        test    ax, ax
        jnz     .reqid_failed
        mov     ax, R_CALLER
        mov     [my_id], ax
        cmp     ax, SERVER_ID
        je      .got_server_id

  .round:
        mov     ax, [round]
        cmp     ax, [count]
        jae     .finished
        mov     di, sbuf + 5                    ; "ping " + decimal round number
        call    utoa
        sub     di, sbuf
        mov     [slen], di
  .send:
        PC      PC_SEND, [my_id], SERVER_ID, [slen], sbuf
        cmp     ax, E_BADDEST
        jne     .sent
        YIELD                                   ; the server has no ID yet
        jmp     .send
  .sent:
        test    ax, ax
        jnz     .send_failed
        PC      PC_READW, [my_id], 0, BUF_LEN, rbuf
        test    ax, ax
        jnz     .read_failed
        cmp     word R_TO, SERVER_ID
        jne     .bad
        mov     cx, R_SIZE
        cmp     cx, [slen]
        jne     .bad
        cmp     word [rbuf], 'po'
        jne     .bad
        cmp     word [rbuf + 2], 'ng'
        jne     .bad
        sub     cx, 4
        mov     si, rbuf + 4
        mov     di, sbuf + 4
        cld
        repe    cmpsb
        je      .next
  .bad:
        inc     word [bad]
  .next:
        inc     word [round]
        jmp     .round

  .finished:
        cmp     word [bad], 0
        jne     .mismatch
        PRINT   'PASS pccli '
        mov     ax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     word [passes]
        jmp     .quit
  .mismatch:
        PRINT   'FAIL pccli '
        mov     ax, [bad]
        call    print_dec
        PRINT   ' bad replies in '
        mov     ax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     word [fails]
  .quit:
        call    print_done
        call    flush
  .send_quit:
        PC      PC_SEND, [my_id], SERVER_ID, 4, quit_msg
        cmp     ax, E_BADDEST
        jne     .bye
        YIELD
        jmp     .send_quit
  .bye:
        PC      PC_DELID, [my_id], 0, 0, freew
        jmp     exit_fails

  .reqid_failed:
        PRINT   'FAIL pccli request-ID returned '
        call    print_hex
        call    newline
        inc     word [fails]
        DONE_EXIT

  .got_server_id:
        ; the server did not get ID 1 (it was preempted between its install and its request-ID,
        ; e.g. with --quantum 1): use pcprobe for such worlds
        PRINTLN 'FAIL pccli got ID 1 itself: the server is not ID 1'
        inc     word [fails]
        PC      PC_DELID, [my_id], 0, 0, freew
        DONE_EXIT

  .send_failed:
        PRINT   'FAIL pccli send returned '
        call    print_hex
        jmp     .after
  .read_failed:
        PRINT   'FAIL pccli read-wait returned '
        call    print_hex
  .after:
        PRINT   ' after '
        mov     ax, [round]
        call    print_dec
        PRINTLN ' round trips'
        inc     word [fails]
        jmp     .quit

        PCIPC_LIB

        section .data
round       dw      0
bad         dw      0
sbuf        db      'ping '
            times 8 db 0
quit_msg    db      'quit'

        section .bss
my_id       resw    1
count       resw    1
slen        resw    1
freew       resw    1
BUF_LEN     equ     32
rbuf        resb    BUF_LEN
