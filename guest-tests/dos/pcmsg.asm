; pcmsg.asm - ipcemu guest test (DOS .COM, PC-IPC): messages between two IDs of one program.
; Written for ipcemu; no PC-IPC code is included.
;
; Run:    ipcemu run fixtures/dos/pcmsg.com            (alone)
; Expect: fixtures/dos/pcmsg.expected; exit code = number of FAIL lines.
;
; Installs (as ID 0; a reset if already installed), requests two IDs A and B and checks send,
; inquire, read, status bit 10h, FIFO order, stated read capacity and zero-length messages.
; Free space is always 16384 - sum(size + 8) over the queued messages (docs/pc-ipc.md,
; "message space"). "[rule]" comments name the decision of docs/pc-ipc.md a check pins.

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

ST_ON   equ     ST_ENABLED | ST_INSTALLED               ; 06h

; FILLBUF - fill buf with '*' (to see how many bytes a read wrote)
%macro FILLBUF 0
        push    ax
        push    cx
        push    di
        cld
        mov     al, '*'
        mov     cx, BUF_LEN
        mov     di, buf
        rep     stosb
        pop     di
        pop     cx
        pop     ax
%endmacro

; INQ id - inquire as id into freew
%macro INQ 1
        mov     word [freew], 0
        PC      PC_INQUIRE, %1, 0, 0, freew
%endmacro

start:
        PC      PC_INSTALL, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'install returns 0'
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'request ID A returns 0'
        mov     ax, R_CALLER
        mov     [id_a], ax
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'request ID B returns 0'
        mov     ax, R_CALLER
        mov     [id_b], ax
        CHECK_NE [id_a], [id_b], 'A and B differ'

        ; ---- one message ------------------------------------------------------------------------
        PC      PC_SEND, [id_a], [id_b], 5, hello
        CHECK_EQ R_ERR, E_OK, 'send A->B "hello" returns 0'
        ; [status 10h: messages waiting for the CALLER's ID] - A has none
        CHECK_EQ R_STATUS, ST_ON, 'send: status 06h (no error, nothing for A)'

        INQ     [id_b]
        CHECK_EQ R_ERR, E_OK, 'inquire as B returns 0'
        CHECK_EQ R_SIZE, 1, 'inquire as B: 1 message'
        CHECK_EQ [freew], POOL_SIZE - (5 + MSG_OVERHEAD), 'inquire: 16371 bytes free'
        CHECK_EQ R_STATUS, ST_ON | ST_MESSAGES, 'inquire as B: status 16h'
        INQ     [id_a]
        CHECK_EQ R_SIZE, 0, 'inquire as A: 0 messages'
        CHECK_EQ R_STATUS, ST_ON, 'inquire as A: status 06h'

        ; [read: size 0 on input = "not stated", the whole message is written; output size =
        ;  message length, to ID = sender]
        FILLBUF
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'read as B (size 0) returns 0'
        CHECK_EQ R_SIZE, 5, 'read: size 5'
        CHECK_EQ R_TO, [id_a], 'read: to ID = sender A'
        CHECK_MEM buf, 'hello*', 'read: "hello" written, nothing after it'
        ; [status bit 10h is computed after the command]: nothing left for B
        CHECK_EQ R_STATUS, ST_ON, 'read of the last message: status 06h'
        INQ     [id_b]
        CHECK_EQ [freew], POOL_SIZE, 'after the read: 16384 bytes free'

        ; [read with nothing: status bit 4 clear, size 0, error 0]
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'read with nothing waiting returns 0'
        CHECK_EQ R_SIZE, 0, 'read with nothing waiting: size 0'
        CHECK_EQ R_STATUS, ST_ON, 'read with nothing waiting: status 06h (bit 10h clear)'

        ; ---- FIFO per receiving ID ---------------------------------------------------------------
        ; queue (oldest first): one (A->B), back (B->A), two (A->B), three (A->B)
        PC      PC_SEND, [id_a], [id_b], 3, s_one
        PC      PC_SEND, [id_b], [id_a], 4, s_back
        ; bit 10h is about the caller: the sender B has "one" waiting
        CHECK_EQ R_STATUS, ST_ON | ST_MESSAGES, 'send B->A while B has a message: status 16h'
        PC      PC_SEND, [id_a], [id_b], 3, s_two
        CHECK_EQ R_STATUS, ST_ON | ST_MESSAGES, 'send A->B while A has a message: status 16h'
        PC      PC_SEND, [id_a], [id_b], 5, s_three
        CHECK_EQ R_ERR, E_OK, 'four sends return 0'
        INQ     [id_b]
        CHECK_EQ R_SIZE, 3, 'B has 3 messages'
        CHECK_EQ [freew], POOL_SIZE - (3+8) - (4+8) - (3+8) - (5+8), 'four messages: 16337 bytes free'
        INQ     [id_a]
        CHECK_EQ R_SIZE, 1, 'A has 1 message'

        ; A's message is second in the queue; A reads it first (per-ID queues)
        FILLBUF
        PC      PC_READ, [id_a], 0, 0, buf
        CHECK_EQ R_SIZE, 4, 'A reads: size 4'
        CHECK_EQ R_TO, [id_b], 'A reads: from B'
        CHECK_MEM buf, 'back*', 'A reads "back"'
        FILLBUF
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_MEM buf, 'one*', 'B reads "one" first'
        CHECK_EQ R_STATUS, ST_ON | ST_MESSAGES, 'B read 1 of 3: status 16h (more waiting)'
        FILLBUF
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_MEM buf, 'two*', 'B reads "two" second'
        CHECK_EQ R_SIZE, 3, 'B read 2 of 3: size 3'
        FILLBUF
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_MEM buf, 'three*', 'B reads "three" third'
        CHECK_EQ R_SIZE, 5, 'B read 3 of 3: size 5'
        CHECK_EQ R_STATUS, ST_ON, 'B read 3 of 3: status 06h'
        INQ     [id_b]
        CHECK_EQ [freew], POOL_SIZE, 'queue drained: 16384 bytes free'

        ; ---- stated capacity ----------------------------------------------------------------------
        ; [a message longer than a stated capacity gives 08h and stays queued; the buffer is
        ;  checked before anything changes]
        PC      PC_SEND, [id_a], [id_b], 5, hello
        FILLBUF
        PC      PC_READ, [id_b], 0, 2, buf
        CHECK_EQ R_ERR, E_BADDATA, 'read with capacity 2 of a 5-byte message returns 08h'
        CHECK_EQ R_STATUS, ST_ON | ST_ERROR | ST_MESSAGES, 'capacity too small: status 1Eh'
        CHECK_MEM buf, '**', 'capacity too small: buffer untouched'
        INQ     [id_b]
        CHECK_EQ R_SIZE, 1, 'capacity too small: the message stays queued'
        CHECK_EQ [freew], POOL_SIZE - 13, 'capacity too small: still 16371 bytes free'
        PC      PC_READ, [id_b], 0, 4, buf
        CHECK_EQ R_ERR, E_BADDATA, 'read with capacity 4 returns 08h'
        FILLBUF
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'then read with capacity 0 returns 0'
        CHECK_MEM buf, 'hello*', 'then read with capacity 0 gets "hello"'
        ; a capacity equal to the length is enough; a larger one is fine too
        PC      PC_SEND, [id_a], [id_b], 5, hello
        PC      PC_SEND, [id_a], [id_b], 5, hello
        PC      PC_READ, [id_b], 0, 5, buf
        CHECK_EQ R_ERR, E_OK, 'read with capacity 5 of a 5-byte message returns 0'
        CHECK_EQ R_SIZE, 5, 'capacity 5: size 5'
        FILLBUF
        PC      PC_READ, [id_b], 0, BUF_LEN, buf
        CHECK_EQ R_ERR, E_OK, 'read with capacity 64 returns 0'
        CHECK_EQ R_SIZE, 5, 'capacity 64: size 5'
        CHECK_MEM buf, 'hello*', 'capacity 64: only 5 bytes written'

        ; ---- zero-length message ------------------------------------------------------------------
        ; [each message costs size + 8]: an empty one costs 8
        PC      PC_SEND, [id_a], [id_b], 0, hello
        CHECK_EQ R_ERR, E_OK, 'zero-length send returns 0'
        INQ     [id_b]
        CHECK_EQ R_SIZE, 1, 'zero-length message is queued'
        CHECK_EQ [freew], POOL_SIZE - MSG_OVERHEAD, 'zero-length message costs 8 bytes'
        CHECK_EQ R_STATUS, ST_ON | ST_MESSAGES, 'zero-length message: status 16h for B'
        ; the read tells it from "nothing waiting" only by the to ID (the sender)
        FILLBUF
        PC      PC_READ, [id_b], 0FFFFh, 0, buf
        CHECK_EQ R_ERR, E_OK, 'read of the zero-length message returns 0'
        CHECK_EQ R_SIZE, 0, 'zero-length read: size 0'
        CHECK_EQ R_TO, [id_a], 'zero-length read: to ID = sender A'
        CHECK_MEM buf, '*', 'zero-length read: nothing written'
        INQ     [id_b]
        CHECK_EQ R_SIZE, 0, 'zero-length message consumed'
        CHECK_EQ [freew], POOL_SIZE, 'zero-length message consumed: 16384 bytes free'

        DONE_EXIT

        PCIPC_LIB

        section .data
hello   db      'hello'
s_one   db      'one'
s_back  db      'back'
s_two   db      'two'
s_three db      'three'

        section .bss
id_a    resw    1
id_b    resw    1
freew   resw    1
BUF_LEN equ     64
buf     resb    BUF_LEN
