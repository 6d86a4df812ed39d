; unknown_fn - an unknown function number (200) returns eax = -1 and preserves
; ebx, ecx, edx, esi, edi, ebp and esp. (The emulator also logs the call.)
include 'include/test.inc'
HEADER
START:
        mov     ebx, 0x11111111
        mov     ecx, 0x22222222
        mov     edx, 0x33333333
        mov     esi, 0x44444444
        mov     edi, 0x55555555
        mov     ebp, 0x66666666
        mov     [s_esp], esp
        mov     eax, 200
        int     0x40
        mov     [r_eax], eax
        mov     [r_ebx], ebx
        mov     [r_ecx], ecx
        mov     [r_edx], edx
        mov     [r_esi], esi
        mov     [r_edi], edi
        mov     [r_ebp], ebp
        mov     [r_esp], esp
        CHECK_EQ dword [r_eax], -1, 'function 200 returns -1'
        CHECK_EQ dword [r_ebx], 0x11111111, 'ebx preserved'
        CHECK_EQ dword [r_ecx], 0x22222222, 'ecx preserved'
        CHECK_EQ dword [r_edx], 0x33333333, 'edx preserved'
        CHECK_EQ dword [r_esi], 0x44444444, 'esi preserved'
        CHECK_EQ dword [r_edi], 0x55555555, 'edi preserved'
        CHECK_EQ dword [r_ebp], 0x66666666, 'ebp preserved'
        CHECK_EQ dword [r_esp], [s_esp], 'esp preserved'
        FINISH

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
s_esp   rd 1
r_eax   rd 1
r_ebx   rd 1
r_ecx   rd 1
r_edx   rd 1
r_esi   rd 1
r_edi   rd 1
r_ebp   rd 1
r_esp   rd 1
rb 4096
STACK_TOP:
MEM_END:
