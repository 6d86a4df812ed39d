; ipc_offset0 - a receiver that starts its area's offset dword at 0 instead of 8.
; The kernel stores the new offset (0 + 8 + 4 = 12) first, then writes the header at
; +0 (sender PID, over the lock dword) and +4 (length, over the offset), data at +8.
; Result: [+0] = sender PID, [+4] = 4, [+8] = data. A second send then finds the
; lock dword nonzero and returns 2.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        mov     dword [area+0], 0
        mov     dword [area+4], 0       ; offset 0 instead of 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40

        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 0, 'send into offset-0 area returns 0'
        CHECK_EQ dword [area+0], [own_pid], 'sender PID landed on +0 (lock dword)'
        CHECK_EQ dword [area+4], 4, 'length 4 overwrote the new offset at +4'
        CHECK_EQ dword [area+8], 'WXYZ', 'data at +8'
        CHECK_EQ dword [area+12], 0, 'nothing written after the data'

        ; the lock dword now holds our PID (nonzero): the area counts as locked
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 2, 'second send returns 2 (locked by the PID)'
        CHECK_EQ dword [area+4], 4, 'second send left +4 alone'
        CHECK_EQ dword [area+8], 'WXYZ', 'second send left the data alone'

        FINISH

TEST_LIB
IPC_LIB

msg     db      'WXYZ'

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
own_pid rd 1
align 16
area:   rb 64
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
