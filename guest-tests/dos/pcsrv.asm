; pcsrv.asm - ipcemu guest test (DOS .COM, PC-IPC): the server of the ping/pong pair.
; Written for ipcemu; no PC-IPC code is included.
;
; Run with a client, in either start order, e.g.
;     ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pccli.com
;     ipcemu run fixtures/dos/pccli.com fixtures/dos/pcsrv.com
;     ipcemu run fixtures/dos/pcsrv.com fixtures/kolibri/pc32cli.kex
;     ipcemu run --pcipc-preinstalled fixtures/dos/pcprobe.com fixtures/dos/pcsrv.com
;     ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pccli.com fixtures/dos/pcprobe.com --params 1=2
; Params: how many "quit" messages end the server (one per client; default 1).
;
; Protocol (all clients): request "ping <decimal>" -> reply "pong <same decimal>" (same length) to
; the sender's ID; "quit" (4 bytes) counts one client as finished, and no reply is sent.
;
; Start-up: inquire as ID 0; only if PC-IPC is not installed (status bit 04h clear) install it as
; ID 0 (so a server started after others never resets their IDs), then request an ID at once. When
; the server installs, no one can hold an ID yet (request-ID returns 0Ch before install), and
; the clients make four more system calls after they see PC-IPC installed before they request an
; ID, which lets the scheduler run the server's request-ID first even with --quantum 1; so the
; server is ID 1. pccli and pc32cli rely on that ("the server is ID 1"); pcprobe does not (it is
; for worlds where someone else installed PC-IPC, --pcipc-preinstalled).
;
; Then it loops on read-wait (0Ah) as its ID - blocked in the scheduler while nothing is there -
; and prints nothing until the end:
;     PASS pcsrv served <n>          (n = pings answered; FAIL pcsrv ... on bad requests or
;     DONE 1 0                        failed replies)
; It deletes its ID and exits with code = fails.

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

start:
        mov     si, 81h                         ; PSP command tail
        call    parse_uint
        jc      .one
        test    ax, ax
        jnz     .set
  .one:
        mov     ax, 1
  .set:
        mov     [quits_left], ax

        PC      PC_INQUIRE, 0, 0, 0, freew
        test    word R_STATUS, ST_INSTALLED
        jnz     .installed
        PC      PC_INSTALL, 0, 0, 0, freew
        test    ax, ax
        jnz     .setup_failed
  .installed:
        PC      PC_REQID, 0, 0, 0, freew
        test    ax, ax
        jnz     .setup_failed
        mov     ax, R_CALLER
        mov     [my_id], ax

  .serve:
        PC      PC_READW, [my_id], 0, BUF_LEN, rbuf
        cmp     ax, E_BADDATA
        je      .too_long
        test    ax, ax
        jnz     .read_failed
        mov     cx, R_SIZE
        mov     bx, R_TO                        ; the sender
        cmp     cx, 4
        jne     .not_quit
        cmp     word [rbuf], 'qu'
        jne     .not_quit
        cmp     word [rbuf + 2], 'it'
        jne     .not_quit
        dec     word [quits_left]
        jnz     .serve
        jmp     .finish
  .not_quit:
        cmp     cx, 6
        jb      .bad
        cmp     word [rbuf], 'pi'
        jne     .bad
        cmp     word [rbuf + 2], 'ng'
        jne     .bad
        cmp     byte [rbuf + 4], ' '
        jne     .bad
        mov     byte [rbuf + 1], 'o'            ; "ping N" -> "pong N", in place
        PC      PC_SEND, [my_id], bx, cx, rbuf
        test    ax, ax
        jnz     .send_failed
        inc     word [served]
        jmp     .serve
  .send_failed:
        inc     word [bad_sends]
        jmp     .serve
  .too_long:
        ; longer than BUF_LEN: take it (size 0 = whole message) into the free memory at 2000:0000
        PCSEG   PC_READ, [my_id], 0, 0, 2000h, 0
  .bad:
        inc     word [bad_reqs]
        jmp     .serve

  .finish:
        mov     ax, [bad_reqs]
        or      ax, [bad_sends]
        jnz     .failed
        PRINT   'PASS pcsrv served '
        mov     ax, [served]
        call    print_dec
        call    newline
        inc     word [passes]
        jmp     .out
  .failed:
        PRINT   'FAIL pcsrv served '
        mov     ax, [served]
        call    print_dec
        PRINT   ', bad requests '
        mov     ax, [bad_reqs]
        call    print_dec
        PRINT   ', failed replies '
        mov     ax, [bad_sends]
        call    print_dec
        call    newline
        inc     word [fails]
  .out:
        PC      PC_DELID, [my_id], 0, 0, freew
        DONE_EXIT

  .setup_failed:
        PRINT   'FAIL pcsrv start-up: command '
        push    ax
        mov     ax, R_CMD
        call    print_hex
        PRINT   ' returned '
        pop     ax
        call    print_hex
        call    newline
        inc     word [fails]
        DONE_EXIT

  .read_failed:
        PRINT   'FAIL pcsrv read-wait returned '
        call    print_hex
        PRINT   ' after serving '
        mov     ax, [served]
        call    print_dec
        call    newline
        inc     word [fails]
        DONE_EXIT

        PCIPC_LIB

        section .data
served      dw      0
bad_reqs    dw      0
bad_sends   dw      0

        section .bss
my_id       resw    1
quits_left  resw    1
freew       resw    1
BUF_LEN     equ     64
rbuf        resb    BUF_LEN
