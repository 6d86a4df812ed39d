; fs_escape - paths that try to leave the --root folder get the kernel's errors and touch
; nothing outside: ".." above "/" (5), a symbolic link inside the root that points out (10),
; the host path of a file outside the root given as the parameter (5: it is looked for below
; the root), 68.27 through the link (0).
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_escape.kex --root DIR --params 1=/HOST/PATH/secret
; Needs:  DIR/rd/1/out -> a host folder outside DIR that holds "secret" (the test makes it
;         and checks afterwards that nothing was created or changed there).
include 'include/test.inc'
        HEADER

macro F70 blk
{
        mov     eax, 70
        mov     ebx, blk
        int     0x40
}

START:
        F70     b_dotdot
        CHECK_EQ eax, 5, '70.0 of /sys/../../../secret returns 5'
        F70     b_dotdot_rel
        CHECK_EQ eax, 5, '70.0 of ../../../../secret returns 5'
        F70     b_link
        CHECK_EQ eax, 10, '70.0 through a link out of the root returns 10'
        F70     b_link_create
        CHECK_EQ eax, 10, '70.2 through a link out of the root returns 10'
        F70     b_link_info
        CHECK_EQ eax, 10, '70.5 of a link out of the root returns 10'
        F70     b_host
        CHECK_EQ eax, 5, '70.0 of a host path returns 5'
        F70     b_host_create
        CHECK_EQ eax, 5, '70.2 of a host path returns 5'
        mov     eax, 68
        mov     ebx, 27
        mov     ecx, name_link
        int     0x40
        CHECK_EQ eax, 0, '68.27 through a link out of the root returns 0'
        FINISH

TEST_LIB

x_data          db 'pwned'
name_link       db '/sys/out/secret', 0

b_dotdot        dd 0, 0, 0, 16, buf
                db '/sys/../../../secret', 0
b_dotdot_rel    dd 0, 0, 0, 16, buf
                db '../../../../secret', 0
b_link          dd 0, 0, 0, 16, buf
                db 0
                dd name_link
b_link_create   dd 2, 0, 0, 5, x_data
                db '/sys/out/new', 0
b_link_info     dd 5, 0, 0, 0, buf
                db '/sys/out', 0
b_host          dd 0, 0, 0, 16, buf
                db 0
                dd PARAMS
b_host_create   dd 2, 0, 0, 5, x_data
                db 0
                dd PARAMS

I_END:
buf     rb 64
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
