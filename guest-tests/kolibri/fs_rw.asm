; fs_rw - KolibriOS file functions on files: create (70.2), write (70.3), read (70.0), info
; (70.5), set size (70.4), 80.0 with a UTF-8 name, a relative name, 68.27 (load a whole file).
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_rw.kex --root DIR
; Needs:  DIR/tmp0/1/ (a folder) and DIR/rd/1/Hello.txt holding "hi" (the test makes them).
; Leaves: DIR/tmp0/1/a.txt holding "hello" (the test checks it on the host).
include 'include/test.inc'
        HEADER

macro F70 blk
{
        mov     eax, 70
        mov     ebx, blk
        int     0x40
}

START:
        ; 70.2: create /tmp0/1/a.txt with 11 bytes
        F70     b_create
        CHECK_EQ eax, 0, '70.2 create returns 0'
        CHECK_EQ ebx, 11, '70.2 create writes 11 bytes'
        ; 70.3: write "FILE" at offset 7
        F70     b_write
        CHECK_EQ eax, 0, '70.3 write returns 0'
        CHECK_EQ ebx, 4, '70.3 write writes 4 bytes'
        ; 70.0: read 64 bytes from 0: end of file after 11
        F70     b_read_all
        CHECK_EQ eax, 6, '70.0 read past the end returns 6'
        CHECK_EQ ebx, 11, '70.0 read returns 11 bytes'
        mov     esi, buf
        mov     edi, want_all
        mov     ecx, 11
        repe    cmpsb
        sete    al
        movzx   eax, al
        CHECK_EQ eax, 1, '70.0 read gives hello, FILE'
        ; 70.0: 4 bytes at offset 7
        F70     b_read_4
        CHECK_EQ eax, 0, '70.0 read of 4 bytes returns 0'
        CHECK_EQ ebx, 4, '70.0 read of 4 bytes reads 4'
        CHECK_EQ dword [buf2], 'FILE', '70.0 read at offset 7 gives FILE'
        ; 70.5: info
        F70     b_info
        CHECK_EQ eax, 0, '70.5 info returns 0'
        CHECK_EQ dword [bdfe + 32], 11, '70.5 size is 11'
        mov     eax, dword [bdfe]
        and     eax, 0x10
        CHECK_EQ eax, 0, '70.5 a file is not a folder'
        ; 70.4: set size 5, then info again
        F70     b_size
        CHECK_EQ eax, 0, '70.4 set size returns 0'
        F70     b_info
        CHECK_EQ dword [bdfe + 32], 5, '70.5 size is 5 after 70.4'
        ; 80.0 with a UTF-8 name (encoding 3)
        mov     eax, 80
        mov     ebx, b80_read
        int     0x40
        CHECK_EQ eax, 6, '80.0 read past the end returns 6'
        CHECK_EQ ebx, 5, '80.0 read returns 5 bytes'
        ; a relative name is looked for in the current folder (/sys), case-insensitively
        F70     b_rel
        CHECK_EQ eax, 6, '70.0 relative read returns 6'
        CHECK_EQ ebx, 2, '70.0 relative read returns 2 bytes'
        movzx   eax, word [buf3]
        CHECK_EQ eax, 'hi', '70.0 relative read gives hi'
        ; a missing file
        F70     b_missing
        CHECK_EQ eax, 5, '70.0 of a missing file returns 5'
        ; 68.27: the whole file in the heap
        mov     eax, 68
        mov     ebx, 27
        mov     ecx, name_a
        int     0x40
        CHECK_NE eax, 0, '68.27 returns an address'
        CHECK_EQ edx, 5, '68.27 returns size 5'
        test    eax, eax
        jz      @f
        CHECK_EQ dword [eax], 'hell', '68.27 loads the file'
@@:
        mov     eax, 68
        mov     ebx, 27
        mov     ecx, name_missing
        int     0x40
        CHECK_EQ eax, 0, '68.27 of a missing file returns 0'
        FINISH

TEST_LIB

name_a          db '/tmp0/1/a.txt', 0
name_missing    db '/tmp0/1/nothing', 0
name_a_utf8     db '/TMP0/1/a.txt', 0
hello_data      db 'hello, file'
want_all        db 'hello, FILE'
data_file       db 'FILE'

; blocks: +0 subfunction, +4 offset/flags, +8, +12 size, +16 buffer, +20 0 + dd name (or name)
b_create        dd 2, 0, 0, 11, hello_data
                db 0
                dd name_a
b_write         dd 3, 7, 0, 4, data_file
                db 0
                dd name_a
b_read_all      dd 0, 0, 0, 64, buf
                db 0
                dd name_a
b_read_4        dd 0, 7, 0, 4, buf2
                db '/tmp0/1/a.txt', 0       ; the name in the block itself
b_info          dd 5, 0, 0, 0, bdfe
                db 0
                dd name_a
b_size          dd 4, 5, 0, 0, 0
                db 0
                dd name_a
b_rel           dd 0, 0, 0, 16, buf3
                db 'hello.txt', 0
b_missing       dd 0, 0, 0, 16, buf3
                db 0
                dd name_missing
b80_read        dd 0, 0, 0, 64, buf
                dd 3, name_a_utf8

I_END:
buf     rb 64
buf2    rb 16
buf3    rb 16
bdfe    rb 40
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
