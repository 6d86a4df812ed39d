; ipc_errors - every result code of function 60.2 (send), in the kernel's check order:
; 4 unknown PID, 1 no area, 2 locked, 3 overflow, 0 sent; plus exact fit, a zero-length
; message, and -1 for unknown subfunctions of function 60.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        ; unknown PID (checked before anything else: we have no area yet either)
        mov     ecx, 0x7FFFFFFF
        mov     edx, msg
        mov     esi, 4
        call    send_msg
        CHECK_EQ eax, 4, 'send to unknown PID returns 4'

        ; to ourselves, no area set yet
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 4
        call    send_msg
        CHECK_EQ eax, 1, 'send to self without area returns 1'

        ; an area at address 0 counts as no area
        xor     ecx, ecx
        mov     edx, 64
        call    set_area
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 4
        call    send_msg
        CHECK_EQ eax, 1, 'send to self with area at address 0 returns 1'

        ; a real 64-byte area, followed by a guard dword
        mov     dword [area+0], 1               ; locked
        mov     dword [area+4], 8
        mov     dword [area+64], 0xDEADBEEF     ; guard just past the area
        mov     ecx, area
        mov     edx, 64
        call    set_area

        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 4
        call    send_msg
        CHECK_EQ eax, 2, 'send to locked area returns 2'
        CHECK_EQ dword [area+4], 8, 'locked area: offset unchanged'

        ; locked and too long at once: the lock is checked first
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 49
        call    send_msg
        CHECK_EQ eax, 2, 'locked area with too long message returns 2'

        ; unlocked; 8 + 8 + 49 = 65 > 64: overflow by one byte
        mov     dword [area+0], 0
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 49
        call    send_msg
        CHECK_EQ eax, 3, 'overflow by one byte returns 3'
        CHECK_EQ dword [area+4], 8, 'overflow: offset unchanged'
        CHECK_EQ dword [area+8], 0, 'overflow: no header written'

        ; 8 + 8 + 48 = 64 = size: exact fit is accepted
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 48
        call    send_msg
        CHECK_EQ eax, 0, 'exact fit returns 0'
        CHECK_EQ dword [area+0], 0, 'exact fit: lock still 0'
        CHECK_EQ dword [area+4], 64, 'exact fit: offset is 64'
        CHECK_EQ dword [area+8], [own_pid], 'exact fit: sender PID'
        CHECK_EQ dword [area+12], 48, 'exact fit: length 48'
        CHECK_EQ dword [area+16], 0x03020100, 'exact fit: first data bytes'
        CHECK_EQ dword [area+60], 0x2F2E2D2C, 'exact fit: last data bytes'
        CHECK_EQ dword [area+64], 0xDEADBEEF, 'exact fit: guard after area intact'

        ; the full area rejects even an empty message
        mov     ecx, [own_pid]
        mov     edx, msg
        xor     esi, esi
        call    send_msg
        CHECK_EQ eax, 3, 'full area rejects zero-length message with 3'

        ; zero-length message into a fresh 32-byte area: header only
        mov     dword [area2+0], 0
        mov     dword [area2+4], 8
        mov     dword [area2+16], 0xAAAAAAAA
        mov     ecx, area2
        mov     edx, 32
        call    set_area
        mov     ecx, [own_pid]
        mov     edx, msg
        xor     esi, esi
        call    send_msg
        CHECK_EQ eax, 0, 'zero-length message returns 0'
        CHECK_EQ dword [area2+4], 16, 'zero-length: offset is 16'
        CHECK_EQ dword [area2+8], [own_pid], 'zero-length: sender PID'
        CHECK_EQ dword [area2+12], 0, 'zero-length: length 0'
        CHECK_EQ dword [area2+16], 0xAAAAAAAA, 'zero-length: no data written'

        ; unknown subfunctions
        mov     eax, 60
        xor     ebx, ebx
        int     0x40
        CHECK_EQ eax, -1, '60.0 returns -1'
        mov     eax, 60
        mov     ebx, 3
        int     0x40
        CHECK_EQ eax, -1, '60.3 returns -1'
        mov     eax, 60
        mov     ebx, 0xFFFFFFFF
        int     0x40
        CHECK_EQ eax, -1, '60.0xFFFFFFFF returns -1'

        FINISH

; set_area: ecx = address, edx = size; eax = result
set_area:
        push    ebx
        mov     eax, 60
        mov     ebx, 1
        int     0x40
        pop     ebx
        ret

; send_msg: ecx = PID, edx = message, esi = length; eax = result
send_msg:
        push    ebx
        mov     eax, 60
        mov     ebx, 2
        int     0x40
        pop     ebx
        ret

TEST_LIB
IPC_LIB

; message data: bytes 0, 1, 2, ... 63
msg:
repeat 64
        db      % - 1
end repeat

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
own_pid rd 1
align 16
area:   rb 68
align 16
area2:  rb 32
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
