; fs_ren - KolibriOS file functions 70.10 (rename/move) and 70.6 (set attributes).
; Written for ipcemu; no KolibriOS code is included. Semantics from the kernel's sources
; (kernel/trunk/blkdev/disk.inc dyndisk_handler for the new name, fs/fat.inc fat_Rename and
; fat_SetFileInfo, docs/sysfuncs.txt), see docs/kolibrios.md.
;
; Run:    ipcemu run fixtures/kolibri/fs_ren.kex --root DIR
; Needs:  DIR/tmp0/1/ (an empty folder; the test makes it).
; Leaves: DIR/tmp0/1/sub/c.txt holding "abc", DIR/tmp0/1/d2/ (a folder), DIR/tmp0/1/x.txt, and
;         DIR/tmp0/1/ro.txt, read-only, modified 2024-03-05 06:07:08 UTC (the test checks them).
include 'include/test.inc'
        HEADER

macro F70 blk
{
        mov     eax, 70
        mov     ebx, blk
        int     0x40
}

START:
        F70     b_create_a
        CHECK_EQ eax, 0, '70.2 create a.txt returns 0'
        ; a relative new name: in the folder of the file
        F70     b_ren_rel
        CHECK_EQ eax, 0, '70.10 rename a.txt to b.txt returns 0'
        F70     b_info_a
        CHECK_EQ eax, 5, 'a.txt is gone (5)'
        F70     b_info_b
        CHECK_EQ eax, 0, 'b.txt exists'
        CHECK_EQ dword [bdfe + 32], 3, 'b.txt has the 3 bytes'
        ; an absolute new name: from the partition's root folder
        F70     b_mkdir_sub
        CHECK_EQ eax, 0, '70.9 create sub returns 0'
        F70     b_ren_abs
        CHECK_EQ eax, 0, '70.10 move b.txt to /sub/c.txt returns 0'
        F70     b_info_c
        CHECK_EQ eax, 0, '/tmp0/1/sub/c.txt exists'
        ; errors
        F70     b_create_x
        CHECK_EQ eax, 0, '70.2 create x.txt returns 0'
        F70     b_ren_onto
        CHECK_EQ eax, 10, '70.10 onto an existing name returns 10'
        F70     b_ren_missing
        CHECK_EQ eax, 5, '70.10 of a missing file returns 5'
        F70     b_ren_out
        CHECK_EQ eax, 5, '70.10 to a name above the partition returns 5'
        F70     b_ren_noparent
        CHECK_EQ eax, 5, '70.10 into a missing folder returns 5'
        F70     b_ren_virtual
        CHECK_EQ eax, 10, '70.10 of a partition folder returns 10'
        ; a folder
        F70     b_mkdir_d
        CHECK_EQ eax, 0, '70.9 create d returns 0'
        F70     b_ren_dir
        CHECK_EQ eax, 0, '70.10 rename the folder d to d2 returns 0'
        F70     b_info_d2
        CHECK_EQ eax, 0, 'd2 exists'
        mov     eax, dword [bdfe]
        and     eax, 0x10
        CHECK_EQ eax, 0x10, 'd2 is a folder'
        ; 70.6: read-only and the times
        F70     b_create_ro
        CHECK_EQ eax, 0, '70.2 create ro.txt returns 0'
        F70     b_setinfo
        CHECK_EQ eax, 0, '70.6 set attributes returns 0'
        F70     b_info_ro
        CHECK_EQ eax, 0, '70.5 info of ro.txt returns 0'
        mov     eax, dword [bdfe]
        and     eax, 0x11
        CHECK_EQ eax, 1, 'ro.txt is read-only, not a folder'
        CHECK_EQ dword [bdfe + 24], 0x00060708, 'its modification time is 06:07:08'
        CHECK_EQ dword [bdfe + 28], 0x07E80305, 'its modification date is 2024-03-05'
        F70     b_setinfo_missing
        CHECK_EQ eax, 5, '70.6 of a missing file returns 5'
        FINISH

TEST_LIB

name_a          db '/tmp0/1/a.txt', 0
name_b          db '/tmp0/1/b.txt', 0
name_c          db '/tmp0/1/sub/c.txt', 0
name_sub        db '/tmp0/1/sub', 0
name_x          db '/tmp0/1/x.txt', 0
name_missing    db '/tmp0/1/nothing.txt', 0
name_d          db '/tmp0/1/d', 0
name_d2         db '/tmp0/1/d2', 0
name_part       db '/tmp0/1', 0
name_ro         db '/tmp0/1/ro.txt', 0
new_b           db 'b.txt', 0
new_abs         db '/sub/c.txt', 0
new_onto        db 'sub/c.txt', 0
new_y           db 'y.txt', 0
new_out         db '../../x.txt', 0
new_noparent    db 'nodir/x.txt', 0
new_d2          db 'd2', 0
new_z           db 'z', 0
abc             db 'abc'

; blocks: +0 subfunction, +4, +8, +12 size, +16 buffer or new name, +20 0 + dd name
b_create_a      dd 2, 0, 0, 3, abc
                db 0
                dd name_a
b_ren_rel       dd 10, 0, 0, 0, new_b
                db 0
                dd name_a
b_info_a        dd 5, 0, 0, 0, bdfe
                db 0
                dd name_a
b_info_b        dd 5, 0, 0, 0, bdfe
                db 0
                dd name_b
b_mkdir_sub     dd 9, 0, 0, 0, 0
                db 0
                dd name_sub
b_ren_abs       dd 10, 0, 0, 0, new_abs
                db 0
                dd name_b
b_info_c        dd 5, 0, 0, 0, bdfe
                db 0
                dd name_c
b_create_x      dd 2, 0, 0, 3, abc
                db 0
                dd name_x
b_ren_onto      dd 10, 0, 0, 0, new_onto
                db 0
                dd name_x
b_ren_missing   dd 10, 0, 0, 0, new_y
                db 0
                dd name_missing
b_ren_out       dd 10, 0, 0, 0, new_out
                db 0
                dd name_x
b_ren_noparent  dd 10, 0, 0, 0, new_noparent
                db 0
                dd name_x
b_ren_virtual   dd 10, 0, 0, 0, new_z
                db 0
                dd name_part
b_mkdir_d       dd 9, 0, 0, 0, 0
                db 0
                dd name_d
b_ren_dir       dd 10, 0, 0, 0, new_d2
                db 0
                dd name_d
b_info_d2       dd 5, 0, 0, 0, bdfe
                db 0
                dd name_d2
b_create_ro     dd 2, 0, 0, 3, abc
                db 0
                dd name_ro
b_setinfo       dd 6, 0, 0, 0, attrs
                db 0
                dd name_ro
b_info_ro       dd 5, 0, 0, 0, bdfe
                db 0
                dd name_ro
b_setinfo_missing dd 6, 0, 0, 0, attrs
                db 0
                dd name_missing

; 32 bytes of a BDFE: read-only; creation, access and modification 2024-03-05 06:07:08
attrs           dd 1, 1
                dd 0x00060708, 0x07E80305
                dd 0x00060708, 0x07E80305
                dd 0x00060708, 0x07E80305

I_END:
bdfe    rb 40
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
