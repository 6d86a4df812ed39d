; fs_exec - function 70.7 starts a program from the file system: the parent starts
; /sys/fs_child.kex with its own PID as the command line; the child answers "pong" over
; function 60 (or "path" when its path buffer does not hold /rd/1/fs_child.kex). Then 70.7 of
; a file that is not an executable returns -31 and of a missing file -5.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_exec.kex --root DIR
; Needs:  DIR/rd/1/fs_child.kex and DIR/rd/1/hello.txt (the test copies and makes them).
include 'include/test.inc'
include 'include/lib.inc'
        HEADER

START:
        cld
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax
        ; own PID in decimal into cmdline
        mov     edi, cmdline + 11
        mov     byte [edi], 0
        mov     ecx, 10
  .digit:
        xor     edx, edx
        div     ecx
        add     dl, '0'
        dec     edi
        mov     [edi], dl
        test    eax, eax
        jnz     .digit
        mov     [b_exec + 8], edi

        mov     ecx, area
        mov     edx, 64
        call    ipc_setup

        mov     eax, 70
        mov     ebx, b_exec
        int     0x40
        mov     [child], eax
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait

        mov     eax, [child]
        cmp     eax, 0
        CHECK_TRUE jg, '70.7 returns a PID'
        CHECK_NE eax, [own_pid], '70.7 returns another PID than the caller'
        CHECK_EQ dword [area + 8], [child], 'the message comes from the started program'
        CHECK_EQ dword [area + 12], 4, 'the message has 4 bytes'
        CHECK_EQ dword [area + 16], 'pong', 'the child got our PID and its path'

        mov     eax, 70
        mov     ebx, b_exec_text
        int     0x40
        CHECK_EQ eax, -31, '70.7 of a file that is not an executable returns -31'
        mov     eax, 70
        mov     ebx, b_exec_none
        int     0x40
        CHECK_EQ eax, -5, '70.7 of a missing file returns -5'
        FINISH

TEST_LIB
IPC_LIB

b_exec          dd 7, 0, 0, 0, 0
                db '/sys/fs_child.kex', 0
b_exec_text     dd 7, 0, 0, 0, 0
                db '/sys/hello.txt', 0
b_exec_none     dd 7, 0, 0, 0, 0
                db '/sys/none.kex', 0

I_END:
own_pid dd ?
child   dd ?
cmdline rb 12
area    rb 64
info    rb 1024
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
