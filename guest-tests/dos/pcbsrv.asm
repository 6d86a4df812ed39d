; pcbsrv.asm - PC-IPC read-wait benchmark server (DOS .COM, NASM): installs PC-IPC if needed,
; takes an ID (1 when it installs first), then answers every message with the same bytes until
; it gets "quit". Its parameter block and buffer sit at 8000h, away from the code page: under
; Unicorn a store to a page with translated code costs a code invalidation.
;   ipcemu run fixtures/dos/pcbsrv.com fixtures/dos/pcbcli.com --params 2=100000
        bits    16
        org     100h
%ifndef VECTOR
%define VECTOR 0x60
%endif
BLK     equ     8000h           ; caller, to, cmd, status, error, size, ptr (16 bytes)
BUF     equ     8100h

start:
        mov     word [BLK + 0], 0
        mov     word [BLK + 4], 01h             ; inquire
        mov     word [BLK + 12], BUF
        mov     [BLK + 14], ds
        call    pc
        test    word [BLK + 6], 04h
        jnz     .installed
        mov     word [BLK + 4], 04h             ; install as ID 0
        call    pc
.installed:
        mov     word [BLK + 0], 0
        mov     word [BLK + 4], 08h             ; request ID
        call    pc
        mov     ax, [BLK + 0]
        mov     [me], ax
.serve:
        mov     ax, [me]
        mov     [BLK + 0], ax
        mov     word [BLK + 4], 0Ah             ; read-wait
        mov     word [BLK + 10], 0
        call    pc
        cmp     word [BLK + 8], 0
        jne     .fail
        cmp     word [BLK + 10], 4
        jne     .answer
        cmp     word [BUF], 'qu'
        jne     .answer
        cmp     word [BUF + 2], 'it'
        je      .done
.answer:                                        ; to-ID already holds the sender
        mov     word [BLK + 4], 07h             ; send the same size and bytes back
        call    pc
        cmp     word [BLK + 8], 0
        jne     .fail
        inc     word [served]
        jmp     .serve
.done:
        mov     dx, ok
        mov     ah, 09h
        int     21h
        mov     ax, 4C00h
        int     21h
.fail:
        mov     dx, bad
        mov     ah, 09h
        int     21h
        mov     ax, 4C01h
        int     21h

pc:     push    ds
        push    BLK
        int     VECTOR
        add     sp, 4
        ret

ok      db      'PASS pcbsrv', 13, 10, '$'
bad     db      'FAIL pcbsrv PC-IPC error', 13, 10, '$'
me      equ     8200h
served  equ     8202h
