; fs_dir - KolibriOS file functions on folders: create folder (70.9), read folder (70.1) with
; CP866 and UTF-16 names, delete (70.8) of a non-empty folder, a file and an empty folder.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_dir.kex --root DIR
; Needs:  DIR/tmp0/1/ (an empty folder; the test makes it).
; Leaves: DIR/tmp0/1/keep.txt and DIR/tmp0/1/kept/ (the test checks them on the host).
include 'include/test.inc'
        HEADER

macro F70 blk
{
        mov     eax, 70
        mov     ebx, blk
        int     0x40
}

START:
        F70     b_mkdir
        CHECK_EQ eax, 0, '70.9 create folder returns 0'
        F70     b_mkdir
        CHECK_EQ eax, 0, '70.9 of an existing folder returns 0'
        F70     b_mkdir_kept
        CHECK_EQ eax, 0, '70.9 create a second folder returns 0'
        F70     b_create_in
        CHECK_EQ eax, 0, '70.2 create a file in the folder returns 0'
        F70     b_create_keep
        CHECK_EQ eax, 0, '70.2 create keep.txt returns 0'
        ; 70.1 CP866: 3 entries (d, keep.txt, kept), sorted, asked for 10
        F70     b_list
        CHECK_EQ eax, 6, '70.1 returns 6 when fewer entries than asked'
        CHECK_EQ ebx, 3, '70.1 returns 3 entries'
        CHECK_EQ dword [list + 4], 3, '70.1 header: 3 entries in the buffer'
        CHECK_EQ dword [list + 8], 3, '70.1 header: 3 entries in the folder'
        mov     eax, dword [list + 32]
        and     eax, 0x10
        CHECK_EQ eax, 0x10, '70.1 entry 0 is a folder'
        movzx   eax, word [list + 32 + 40]
        CHECK_EQ eax, 'd', '70.1 entry 0 is d'
        mov     eax, dword [list + 32 + 304 + 40]
        CHECK_EQ eax, 'keep', '70.1 entry 1 is keep.txt'
        CHECK_EQ dword [list + 32 + 304 + 32], 3, '70.1 entry 1 has 3 bytes'
        ; 70.1 UTF-16, from entry 1, 1 entry
        F70     b_list16
        CHECK_EQ eax, 0, '70.1 returns 0 when the count is filled'
        CHECK_EQ ebx, 1, '70.1 returns 1 entry'
        movzx   eax, byte [list + 32 + 4]
        CHECK_EQ eax, 2, '70.1 UTF-16 entry says encoding 2'
        CHECK_EQ dword [list + 32 + 40], 0x0065006b, '70.1 UTF-16 name starts ke'
        ; delete
        F70     b_del_d
        CHECK_EQ eax, 10, '70.8 of a folder that is not empty returns 10'
        F70     b_del_in
        CHECK_EQ eax, 0, '70.8 of a file returns 0'
        F70     b_del_d
        CHECK_EQ eax, 0, '70.8 of an empty folder returns 0'
        F70     b_del_d
        CHECK_EQ eax, 5, '70.8 of a missing folder returns 5'
        F70     b_list
        CHECK_EQ ebx, 2, '70.1 returns 2 entries after the deletes'
        FINISH

TEST_LIB

x_data  db 'xyz'

b_mkdir         dd 9, 0, 0, 0, 0
                db '/tmp0/1/d', 0
b_mkdir_kept    dd 9, 0, 0, 0, 0
                db '/tmp0/1/kept', 0
b_create_in     dd 2, 0, 0, 3, x_data
                db '/tmp0/1/d/in.txt', 0
b_create_keep   dd 2, 0, 0, 3, x_data
                db '/tmp0/1/keep.txt', 0
b_list          dd 1, 0, 1, 10, list
                db '/tmp0/1', 0
b_list16        dd 1, 1, 2, 1, list
                db '/tmp0/1', 0
b_del_d         dd 8, 0, 0, 0, 0
                db '/tmp0/1/d', 0
b_del_in        dd 8, 0, 0, 0, 0
                db '/tmp0/1/d/in.txt', 0

I_END:
list    rb 32 + 10 * 560
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
