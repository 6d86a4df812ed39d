; fs_child - started by fs_exec through function 70.7: reads the parent's PID from its command
; line and sends it "pong" over function 60, or "path" when its path buffer does not hold the
; KolibriOS path it was started from (/rd/1/fs_child.kex). Prints nothing.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
include 'include/lib.inc'
        HEADER

START:
        cld
        mov     esi, PARAMS
        call    parse_uint
        mov     ecx, eax
        mov     esi, PATH
        mov     edi, want_path
        push    ecx
        mov     ecx, want_len
        repe    cmpsb
        pop     ecx
        mov     edx, msg_pong
        je      @f
        mov     edx, msg_path
@@:
        mov     esi, 4
        call    send_retry
        mov     eax, -1
        int     0x40

TEST_LIB
IPC_LIB

msg_pong        db 'pong'
msg_path        db 'path'
want_path       db '/rd/1/fs_child.kex', 0
want_len = $ - want_path

I_END:
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
