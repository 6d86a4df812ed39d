; pcprobe.asm - ipcemu guest test (DOS .COM, PC-IPC): a client that finds its server by probing
; IDs, while the server may start later.
; Written for ipcemu; no PC-IPC code is included.
;
; Run:    ipcemu run --pcipc-preinstalled fixtures/dos/pcprobe.com fixtures/dos/pcsrv.com
;             (PC-IPC already installed: the probe gets ID 1 and finds the server, which starts
;              later, at ID 2)
;         ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pcprobe.com      (either start order)
;         ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pccli.com fixtures/dos/pcprobe.com --params 1=2
; Params: number of round trips, the probe included (command tail, default 10).
;
; Waits until PC-IPC is installed (inquire as ID 0, spinning on INT 21h/30h), makes four more
; such calls (as pccli, so that a server that installed a moment ago is ID 1 and a pccli in the
; same world finds it), requests its own ID (it does not assume the value), then probes: sends "ping 0" to IDs 1..32 in turn, skipping its
; own, until a send does not return 06h (invalid destination); after a round with only 06h it
; makes a DOS call (so the scheduler runs the others) and probes again. The ID that took the
; message is the server: the answer must be "pong 0" from that ID. The remaining round trips go
; to it as in pccli. The first ID that accepts a message must be the server, so other clients of
; pcsrv must have higher IDs (they do when they start after the server or after the probe).
; Prints
;     PASS pcprobe found the server by probing
;     PASS pcprobe <n> round trips
;     DONE <passes> <fails>
; then sends "quit" to the server, deletes its ID and exits with code = fails.

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

start:
        mov     si, 81h                         ; PSP command tail
        call    parse_uint
        jnc     .count
        mov     ax, 10
  .count:
        test    ax, ax                          ; the probe is a round trip: at least one
        jnz     .count_ok
        inc     ax
  .count_ok:
        mov     [count], ax

  .wait_install:
        PC      PC_INQUIRE, 0, 0, 0, freew
        test    word R_STATUS, ST_INSTALLED
        jnz     .installed
        YIELD
        jmp     .wait_install
  .installed:
        ; as pccli: give a server that installed a moment ago its turn to request ID 1 first
        ; (this client does not need it, a pccli in the same world does)
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

        ; ---- probe with "ping 0" ---------------------------------------------------------------
        mov     ax, 0
        mov     di, sbuf + 5
        call    utoa
        sub     di, sbuf
        mov     [slen], di
  .probe_round:
        mov     bx, 1
  .probe:
        cmp     bx, [my_id]
        je      .probe_next
        PC      PC_SEND, [my_id], bx, [slen], sbuf
        test    ax, ax
        jz      .found
        cmp     ax, E_BADDEST
        jne     .send_failed
  .probe_next:
        inc     bx
        cmp     bx, MAX_IDS
        jbe     .probe
        YIELD                                   ; nobody yet: let the others run
        jmp     .probe_round
  .found:
        mov     [srv_id], bx
        call    get_reply
        cmp     word [bad], 0
        jne     .probe_bad
        PRINTLN 'PASS pcprobe found the server by probing'
        inc     word [passes]
        jmp     .next
  .probe_bad:
        PRINTLN 'FAIL pcprobe: the ID that took "ping 0" did not answer "pong 0"'
        inc     word [fails]

        ; ---- the other round trips -------------------------------------------------------------
  .next:
        inc     word [round]
        mov     ax, [round]
        cmp     ax, [count]
        jae     .finished
        mov     di, sbuf + 5
        call    utoa
        sub     di, sbuf
        mov     [slen], di
        PC      PC_SEND, [my_id], [srv_id], [slen], sbuf
        test    ax, ax
        jnz     .send_failed
        call    get_reply
        jmp     .next

  .finished:
        cmp     word [bad], 0
        jne     .mismatch
        PRINT   'PASS pcprobe '
        mov     ax, [count]
        call    print_dec
        PRINTLN ' round trips'
        inc     word [passes]
        jmp     .quit
  .mismatch:
        PRINT   'FAIL pcprobe '
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
        cmp     word [srv_id], 0
        je      .bye
        PC      PC_SEND, [my_id], [srv_id], 4, quit_msg
  .bye:
        PC      PC_DELID, [my_id], 0, 0, freew
        jmp     exit_fails

  .reqid_failed:
        PRINT   'FAIL pcprobe request-ID returned '
        call    print_hex
        call    newline
        inc     word [fails]
        DONE_EXIT

  .send_failed:
        PRINT   'FAIL pcprobe send returned '
        call    print_hex
        PRINT   ' after '
        push    ax
        mov     ax, [round]
        call    print_dec
        pop     ax
        PRINTLN ' round trips'
        inc     word [fails]
        jmp     .quit

; get_reply: read-wait for the answer to sbuf; a wrong one (or an error) counts in [bad]. An error
; of read-wait ends the program (after a FAIL line).
get_reply:
        pusha
        PC      PC_READW, [my_id], 0, BUF_LEN, rbuf
        test    ax, ax
        jnz     .failed
        mov     ax, R_TO
        cmp     ax, [srv_id]
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
        je      .out
  .bad:
        inc     word [bad]
  .out:
        popa
        ret
  .failed:
        PRINT   'FAIL pcprobe read-wait returned '
        call    print_hex
        call    newline
        inc     word [fails]
        PC      PC_DELID, [my_id], 0, 0, freew
        DONE_EXIT

        PCIPC_LIB

        section .data
round       dw      0
bad         dw      0
srv_id      dw      0
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
