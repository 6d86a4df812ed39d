; fs_ro - with --root-ro every write function returns 10 (access denied); reads still work.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_ro.kex --root DIR --root-ro
; Needs:  DIR/rd/1/ro.txt holding "abc" (the test makes it and checks it is unchanged).
include 'include/test.inc'
        HEADER

macro F70 blk
{
        mov     eax, 70
        mov     ebx, blk
        int     0x40
}

START:
        F70     b_create
        CHECK_EQ eax, 10, '70.2 create returns 10'
        F70     b_write
        CHECK_EQ eax, 10, '70.3 write returns 10'
        F70     b_size
        CHECK_EQ eax, 10, '70.4 set size returns 10'
        F70     b_del
        CHECK_EQ eax, 10, '70.8 delete returns 10'
        F70     b_mkdir
        CHECK_EQ eax, 10, '70.9 create folder returns 10'
        F70     b_read
        CHECK_EQ eax, 6, '70.0 read still works'
        CHECK_EQ ebx, 3, '70.0 read returns 3 bytes'
        FINISH

TEST_LIB

x_data  db 'xyz'

b_create        dd 2, 0, 0, 3, x_data
                db '/sys/new.txt', 0
b_write         dd 3, 0, 0, 3, x_data
                db '/sys/ro.txt', 0
b_size          dd 4, 0, 0, 0, 0
                db '/sys/ro.txt', 0
b_del           dd 8, 0, 0, 0, 0
                db '/sys/ro.txt', 0
b_mkdir         dd 9, 0, 0, 0, 0
                db '/sys/newdir', 0
b_read          dd 0, 0, 0, 16, buf
                db '/sys/ro.txt', 0

I_END:
buf     rb 16
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
