; pcver.asm - ipcemu guest test (DOS .COM, PC-IPC): the version command, on a chosen vector.
; Written for ipcemu; no PC-IPC code is included.
;
; Built twice (guest-tests/build-fixtures.sh):
;     nasm -f bin -o fixtures/dos/pcver.com pcver.asm                    (INT 60h)
;     nasm -f bin -DVECTOR=0x61 -o fixtures/dos/pcver61.com pcver.asm    (INT 61h)
; Run:    ipcemu run fixtures/dos/pcver.com
;         ipcemu run --pcipc-vector 0x61 fixtures/dos/pcver61.com
; Expect: fixtures/dos/pcver.expected = fixtures/dos/pcver61.expected (the same lines);
;         exit code = number of FAIL lines. On a vector nobody handles the guest is ended instead.
;
; [version works before install] (nothing is installed here); [version writes "PC-IPC 1.00" (no
; terminator), size = 11; a stated capacity below that gives 08h]; [size 0 = not stated].

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

; FILLBUF - fill buf with '*'
%macro FILLBUF 0
        cld
        mov     al, '*'
        mov     cx, BUF_LEN
        mov     di, buf
        rep     stosb
%endmacro

start:
        FILLBUF
        PC      PC_VERS, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'version (size 0) returns 0'
        CHECK_EQ R_SIZE, 11, 'version: size 11'
        CHECK_MEM buf, 'PC-IPC 1.00*', 'version: "PC-IPC 1.00", no terminator'
        CHECK_BITS R_STATUS, ST_ERROR, 0, 'version: status error bit clear'

        FILLBUF
        PC      PC_VERS, 0, 0, 11, buf
        CHECK_EQ R_ERR, E_OK, 'version with capacity 11 returns 0'
        CHECK_EQ R_SIZE, 11, 'capacity 11: size 11'
        CHECK_MEM buf, 'PC-IPC 1.00*', 'capacity 11: "PC-IPC 1.00"'

        FILLBUF
        PC      PC_VERS, 0, 0, BUF_LEN, buf
        CHECK_EQ R_ERR, E_OK, 'version with capacity 32 returns 0'
        CHECK_EQ R_SIZE, 11, 'capacity 32: size 11'
        CHECK_MEM buf, 'PC-IPC 1.00*', 'capacity 32: only 11 bytes written'

        FILLBUF
        PC      PC_VERS, 0, 0, 4, buf
        CHECK_EQ R_ERR, E_BADDATA, 'version with capacity 4 returns 08h'
        CHECK_BITS R_STATUS, ST_ERROR, ST_ERROR, 'capacity 4: status error bit set'
        CHECK_MEM buf, '*****', 'capacity 4: buffer untouched'

        FILLBUF
        PC      PC_VERS, 0, 0, 10, buf
        CHECK_EQ R_ERR, E_BADDATA, 'version with capacity 10 returns 08h'
        CHECK_MEM buf, '*', 'capacity 10: buffer untouched'

        DONE_EXIT

        PCIPC_LIB

        section .bss
BUF_LEN equ     32
buf     resb    BUF_LEN
