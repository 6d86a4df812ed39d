; pcbcli.asm - PC-IPC read-wait benchmark client (DOS .COM, NASM): waits until PC-IPC is
; installed, takes an ID, then sends N 20-byte requests to ID 1 (pcbsrv), read-waiting for each
; answer; N comes from the command tail (default 100000). Prints "PASS pcbcli" and sends "quit".
; Block and buffers at 8000h, away from the code page (see pcbsrv.asm).
        bits    16
        org     100h
%ifndef VECTOR
%define VECTOR 0x60
%endif
BLK     equ     8000h
BUF     equ     8100h
me      equ     8200h
count   equ     8204h           ; dword

start:
        mov     dword [count], 100000
        mov     si, 81h                         ; command tail
        xor     eax, eax
        xor     ecx, ecx
.skip:  lodsb
        cmp     al, ' '
        je      .skip
.digit: sub     al, '0'
        cmp     al, 9
        ja      .parsed
        imul    ecx, ecx, 10
        movzx   eax, al
        add     ecx, eax
        lodsb
        jmp     .digit
.parsed:
        test    ecx, ecx
        jz      .wait_install
        mov     [count], ecx
.wait_install:
        mov     word [BLK + 12], BUF
        mov     [BLK + 14], ds
.poll:  mov     word [BLK + 0], 0
        mov     word [BLK + 4], 01h             ; inquire until installed
        call    pc
        test    word [BLK + 6], 04h
        jz      .poll
        mov     bp, 8                           ; let the server take ID 1 first
.yield: mov     ah, 30h                         ; (INT 21h/30h clears BX and CX)
        int     21h
        dec     bp
        jnz     .yield
        mov     word [BLK + 4], 08h             ; request ID
        call    pc
        mov     ax, [BLK + 0]
        mov     [me], ax
        mov     di, BUF                         ; a 20-byte request
        mov     cx, 20
        mov     al, 'r'
        rep     stosb
        mov     ecx, [count]
.round:
        push    ecx
.send:  mov     ax, [me]
        mov     [BLK + 0], ax
        mov     word [BLK + 2], 1
        mov     word [BLK + 4], 07h
        mov     word [BLK + 10], 20
        call    pc
        cmp     word [BLK + 8], 06h             ; server has no ID yet: try again
        je      .send
        cmp     word [BLK + 8], 0
        jne     .fail
        mov     word [BLK + 4], 0Ah             ; read-wait the answer
        mov     word [BLK + 10], 0
        call    pc
        cmp     word [BLK + 8], 0
        jne     .fail
        cmp     word [BLK + 10], 20
        jne     .fail
        pop     ecx
        dec     ecx
        jnz     .round
        mov     dx, ok
        mov     ah, 09h
        int     21h
        mov     dword [BUF], 'quit'
        mov     word [BLK + 2], 1
        mov     word [BLK + 4], 07h
        mov     word [BLK + 10], 4
        call    pc
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

ok      db      'PASS pcbcli', 13, 10, '$'
bad     db      'FAIL pcbcli PC-IPC error', 13, 10, '$'
