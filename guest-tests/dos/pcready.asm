; pcready.asm - ipcemu guest test (DOS .COM, PC-IPC): a program that finds PC-IPC already loaded.
; Written for ipcemu; no PC-IPC code is included.
;
; Run:    ipcemu run fixtures/dos/pcready.com          (PC-IPC starts installed and enabled, as
;                                                      when the TSR was loaded before the program)
; Expect: fixtures/dos/pcready.expected; exit code = number of FAIL lines.
;
; It never calls install (04h): inquire shows installed + enabled, request-ID gives an ID, a
; message sent to that ID is read back. [initial state: installed and enabled by default]

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

start:
        mov     word [freew], 0
        PC      PC_INQUIRE, 0, 0, 0, freew
        CHECK_EQ R_ERR, E_OK, 'inquire returns 0'
        CHECK_BITS R_STATUS, ST_INSTALLED | ST_ENABLED, ST_INSTALLED | ST_ENABLED, 'status: installed and enabled'
        CHECK_NE [freew], 0, 'inquire: message space is free'
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'request ID without install returns 0'
        mov     ax, R_CALLER
        mov     [id_a], ax
        CHECK_NE [id_a], 0, 'the new ID is not 0'
        PC      PC_SEND, [id_a], [id_a], 5, hello
        CHECK_EQ R_ERR, E_OK, 'send to own ID returns 0'
        PC      PC_READ, [id_a], 0, BUF_LEN, buf
        CHECK_EQ R_ERR, E_OK, 'read returns 0'
        CHECK_EQ R_SIZE, 5, 'read: size 5'
        CHECK_MEM buf, 'hello', 'read: "hello"'
        DONE_EXIT

        PCIPC_LIB

hello   db      'hello'

        section .bss
BUF_LEN equ     32
buf     resb    BUF_LEN
freew   resw    1
id_a    resw    1
