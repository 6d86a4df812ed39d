; ipc_wrap - the send arithmetic is 32-bit and wraps around.
; A 64-byte area sits 16 bytes into a scratch block filled with 0xCC.
; 1. offset 0xFFFFFFF8, length 0: 0xFFFFFFF8 + 8 + 0 wraps to 0 <= 64, so the send
;    succeeds; the new offset is 0 and the 8-byte header is written at
;    area + 0xFFFFFFF8 = area - 8 (sender PID at area-8, length 0 at area-4).
; 2. offset 0xFFFFFFF0, length 0: 0xFFFFFFF8 > 64, overflow (3), nothing written.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        mov     edi, scratch            ; fill the scratch block with 0xCC
        mov     ecx, 96
        mov     al, 0xCC
        rep     stosb

        AREA = scratch + 16
        mov     dword [AREA+0], 0
        mov     dword [AREA+4], 0xFFFFFFF8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, AREA
        mov     edx, 64
        int     0x40

        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg
        xor     esi, esi
        int     0x40
        CHECK_EQ eax, 0, 'offset 0xFFFFFFF8 + 8 wraps to 0: send returns 0'
        CHECK_EQ dword [AREA+4], 0, 'new offset wrapped to 0'
        CHECK_EQ dword [AREA-8], [own_pid], 'sender PID written at area-8'
        CHECK_EQ dword [AREA-4], 0, 'length 0 written at area-4'
        CHECK_EQ dword [AREA+0], 0, 'lock dword untouched'
        CHECK_EQ dword [AREA+8], 0xCCCCCCCC, 'area+8 untouched'
        CHECK_EQ dword [AREA-12], 0xCCCCCCCC, 'area-12 untouched'

        ; offset 0xFFFFFFF0: 0xFFFFFFF0 + 8 = 0xFFFFFFF8 > 64
        mov     dword [AREA-8], 0xCCCCCCCC
        mov     dword [AREA-4], 0xCCCCCCCC
        mov     dword [AREA+4], 0xFFFFFFF0
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg
        xor     esi, esi
        int     0x40
        CHECK_EQ eax, 3, 'offset 0xFFFFFFF0 + 8 = 0xFFFFFFF8 > 64: returns 3'
        CHECK_EQ dword [AREA+4], 0xFFFFFFF0, 'overflow: offset unchanged'
        CHECK_EQ dword [AREA-16], 0xCCCCCCCC, 'overflow: area-16 untouched'
        CHECK_EQ dword [AREA-8], 0xCCCCCCCC, 'overflow: area-8 untouched'

        FINISH

TEST_LIB
IPC_LIB

msg     db      'MSG!'

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
own_pid rd 1
align 16
scratch: rb 96
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
