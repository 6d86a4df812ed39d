; ipc_layout - two messages sent to ourselves land back to back in the IPC area:
; +0 lock (stays 0), +4 end offset, then per message: sender PID, length, data.
; Message 1 is 5 bytes, message 2 is 3 bytes, so message 2 starts unaligned at +21.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        ; 64-byte area, empty (offset 8)
        mov     dword [area+0], 0
        mov     dword [area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40

        mov     eax, 60                 ; message 1: "ABCDE"
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg1
        mov     esi, 5
        int     0x40
        CHECK_EQ eax, 0, 'first send returns 0'

        mov     eax, 60                 ; message 2: "xyz"
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg2
        mov     esi, 3
        int     0x40
        CHECK_EQ eax, 0, 'second send returns 0'

        CHECK_EQ dword [area+0], 0, 'lock dword still 0'
        CHECK_EQ dword [area+4], 8 + (8 + 5) + (8 + 3), 'offset is 8 + 13 + 11 = 32'
        ; message 1 at +8
        CHECK_EQ dword [area+8], [own_pid], 'message 1 sender PID is own PID'
        CHECK_EQ dword [area+12], 5, 'message 1 length 5'
        CHECK_EQ dword [area+16], 'ABCD', 'message 1 data bytes 0..3'
        movzx   eax, byte [area+20]
        CHECK_EQ eax, 'E', 'message 1 data byte 4'
        ; message 2 at +21
        CHECK_EQ dword [area+21], [own_pid], 'message 2 sender PID is own PID'
        CHECK_EQ dword [area+25], 3, 'message 2 length 3'
        movzx   eax, word [area+29]
        CHECK_EQ eax, 'xy', 'message 2 data bytes 0..1'
        movzx   eax, byte [area+31]
        CHECK_EQ eax, 'z', 'message 2 data byte 2'
        ; nothing written past the end offset
        CHECK_EQ dword [area+32], 0, 'nothing written after offset 32'

        FINISH

TEST_LIB
IPC_LIB

msg1    db      'ABCDE'
msg2    db      'xyz'

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
