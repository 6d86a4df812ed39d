; ipc_area - function 60.1 (set IPC area) always returns eax=0 and validates nothing:
; a normal area, an area at address 0, an area of size 0 and a nonsense address/size.
include 'include/test.inc'
HEADER
START:
        ; a normal 64-byte area, initialised the usual way (lock 0, offset 8)
        mov     dword [area+0], 0
        mov     dword [area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40
        CHECK_EQ eax, 0, '60.1 normal area returns 0'

        ; an area at address 0 (later sends would treat it as "no area")
        mov     eax, 60
        mov     ebx, 1
        xor     ecx, ecx
        mov     edx, 64
        int     0x40
        CHECK_EQ eax, 0, '60.1 area at address 0 returns 0'

        ; an area of size 0
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        xor     edx, edx
        int     0x40
        CHECK_EQ eax, 0, '60.1 area of size 0 returns 0'

        ; an unmapped address with a huge size: still no validation
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, 0xFFFFFFF0
        mov     edx, 0xFFFFFFFF
        int     0x40
        CHECK_EQ eax, 0, '60.1 unmapped address and huge size returns 0'

        FINISH
TEST_LIB
I_END:
PARAMS rb 256
PATH   rb 256
align 16
area   rb 64
rb 4096
STACK_TOP:
MEM_END:
