; fs_cwd - function 30, the current folder, as the kernel's sys_current_directory
; (kernel/trunk/fs/fs_lfn.inc): 30.1 sets it (an absolute name replaces it, a relative one is
; appended, "./" and "../" are folded), 30.2 copies it out in CP866 (eax = bytes with the
; zero, or the buffer size when it was cut), 30.5 in UTF-8 or UTF-16, 30.4 sets it from a name
; in a given encoding; a 70.x name without a leading '/' is in the current folder. A zero-size
; or kernel-space buffer gives eax = 0; 30.3 and other subfunctions leave eax. A "../" above
; the partition leaves the folder as it was (ipcemu's choice; the kernel fails there). The
; folder belongs to the thread: a 51.1 thread starts with a copy of its creator's.
; Run with --root over a folder holding tmp0/1 (crates/cli/tests/files.rs).
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
        HEADER

macro SETDIR name
{
        mov     eax, 30
        mov     ebx, 1
        mov     ecx, name
        int     0x40
}
; GETDIR sub, buf, size, enc: eax = result
macro GETDIR sub, buf, size, enc
{
        mov     eax, 30
        mov     ebx, sub
        mov     ecx, buf
        mov     edx, size
        mov     esi, enc
        int     0x40
}
; SAME a, b, n: eax = 1 when the n bytes at a and b are equal
macro SAME a, b, n
{
        mov     esi, a
        mov     edi, b
        mov     ecx, n
        repe    cmpsb
        sete    al
        movzx   eax, al
}

START:
        SETDIR  d_tmp
        CHECK_EQ eax, 30, '30.1 leaves eax'
        GETDIR  2, buf, 256, 0
        CHECK_EQ eax, 8, '30.2 returns the length with the zero'
        SAME    buf, d_tmp, 8
        CHECK_EQ eax, 1, '30.2 gives /tmp0/1'

        mov     eax, 70                         ; 70.2 with a relative name
        mov     ebx, b_create
        int     0x40
        CHECK_EQ eax, 0, '70.2 of a relative name creates the file in the current folder'

        SETDIR  d_rel
        GETDIR  2, buf, 256, 0
        SAME    buf, w_rel, w_rel_end - w_rel
        CHECK_EQ eax, 1, 'a relative name is appended: /tmp0/1/sub'
        SETDIR  d_dots
        GETDIR  2, buf, 256, 0
        CHECK_EQ eax, w_dots_end - w_dots, 'the folded folder''s length'
        SAME    buf, w_dots, w_dots_end - w_dots
        CHECK_EQ eax, 1, './ and ../ are folded: /tmp0/1/x/y'
        SETDIR  d_above
        GETDIR  2, buf, 256, 0
        SAME    buf, w_dots, w_dots_end - w_dots
        CHECK_EQ eax, 1, 'a ../ above the partition leaves the folder'

        mov     dword [buf], 0x55555555
        mov     dword [buf + 4], 0x55555555
        GETDIR  2, buf, 5, 0
        CHECK_EQ eax, 5, 'a short buffer: eax = its size'
        SAME    buf, w_cut, 6
        CHECK_EQ eax, 1, 'the folder is cut to 4 bytes and a zero, nothing written past it'

        GETDIR  5, buf, 256, 3
        CHECK_EQ eax, w_dots_end - w_dots, '30.5 in UTF-8: the same bytes'
        SAME    buf, w_dots, w_dots_end - w_dots
        CHECK_EQ eax, 1, '30.5 in UTF-8 gives /tmp0/1/x/y'
        GETDIR  5, buf, 256, 2
        CHECK_EQ eax, 2 * (w_dots_end - w_dots), '30.5 in UTF-16: two bytes a unit'
        CHECK_EQ dword [buf], 0x0074002F, '30.5 in UTF-16 starts with "/t"'
        CHECK_EQ dword [buf + 2 * (w_dots_end - w_dots) - 4], 0x0079, 'and ends with a zero unit'

        mov     eax, 30                         ; 30.4: a UTF-8 name
        mov     ebx, 4
        mov     ecx, d_utf8
        mov     edx, 3
        int     0x40
        GETDIR  5, buf, 256, 3
        SAME    buf, d_utf8, d_utf8_end - d_utf8
        CHECK_EQ eax, 1, '30.4 with edx = 3 takes a UTF-8 name'
        GETDIR  2, buf, 256, 0
        movzx   eax, byte [buf + 8]
        CHECK_EQ eax, 0xA4, '30.2 gives its Cyrillic letter in CP866'

        GETDIR  2, buf, 0, 0
        CHECK_EQ eax, 0, 'a zero-size buffer gives 0'
        GETDIR  2, 0x7FFFFFF0, 256, 0
        CHECK_EQ eax, 0, 'a buffer reaching kernel space gives 0'
        GETDIR  3, 0, 0, 0
        CHECK_EQ eax, 30, '30.3 leaves eax'
        GETDIR  9, 0, 0, 0
        CHECK_EQ eax, 30, '30.9 leaves eax'

        ; the folder is the thread's: a new thread starts in its creator's, and sets its own
        SETDIR  d_tmp
        mov     eax, 51
        mov     ebx, 1
        mov     ecx, thread_entry
        mov     edx, thread_stack_top
        int     0x40
        mov     ecx, 1000
  .wait:
        cmp     dword [t_done], 1
        je      .joined
        push    ecx
        mov     eax, 5
        mov     ebx, 1
        int     0x40
        pop     ecx
        loop    .wait
  .joined:
        SAME    t_buf1, d_tmp, 8
        CHECK_EQ eax, 1, 'a new thread starts in its creator''s folder'
        SAME    t_buf2, d_rd, 6
        CHECK_EQ eax, 1, 'the thread sets its own'
        GETDIR  2, buf, 256, 0
        SAME    buf, d_tmp, 8
        CHECK_EQ eax, 1, 'and the creator''s folder stays'
        FINISH

thread_entry:
        GETDIR  2, t_buf1, 64, 0
        SETDIR  d_rd
        GETDIR  2, t_buf2, 64, 0
        mov     dword [t_done], 1
        mov     eax, -1
        int     0x40

        TEST_LIB

d_tmp           db '/tmp0/1', 0
d_rel           db 'sub', 0
d_rd            db '/rd/1', 0
d_dots          db '../x/./y', 0
d_above         db '/tmp0/../../x', 0
w_rel           db '/tmp0/1/sub', 0
w_rel_end:
w_dots          db '/tmp0/1/x/y', 0
w_dots_end:
w_cut           db '/tmp', 0, 0x55
d_utf8          db '/tmp0/1/', 0xD0, 0xB4, 0      ; "/tmp0/1/д"
d_utf8_end:
f_rel           db 'rel.txt', 0
rel_data        db 'relative'
b_create        dd 2, 0, 0, 8, rel_data
                db 0
                dd f_rel

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
buf     rb 512
t_buf1  rb 64
t_buf2  rb 64
t_done  rd 1
rb 1024
thread_stack_top:
rb 4096
STACK_TOP:
MEM_END:
