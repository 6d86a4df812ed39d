; shm_ro - function 68.22: a view opened without SHM_WRITE is read-only. The program creates
; an area (its own view is writable), opens a second view with SHM_OPEN + SHM_READ, reads the
; first view's store through it, prints its address, then stores to it: the store must end the
; program with a fault report naming that address (the kernel maps such a view without PG_RW).
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        mov     edx, 4096
        mov     esi, 0x08 + 0x01                ; SHM_CREATE + SHM_WRITE
        int     0x40
        mov     [v1], eax
        CHECK_NE eax, 0, 'shm_ro created the area'
        mov     edi, [v1]
        mov     dword [edi], 0x0DDBA11

        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        xor     edx, edx
        mov     esi, 0x00 + 0x00                ; SHM_OPEN + SHM_READ
        int     0x40
        mov     [v2], eax
        CHECK_EQ edx, 4096, 'shm_ro opened a read-only view'
        mov     esi, [v2]
        CHECK_EQ [esi], 0x0DDBA11, 'the read-only view can be read'

        PRINT   'storing to the read-only view at '
        mov     eax, [v2]
        call    print_hex
        PRINTLN ''
        mov     dword [esi + 8], 1
        PRINTLN 'FAIL a store to a read-only view did not fault'
        FINISH

TEST_LIB

area_name db 'ipcemu.rofault', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
v1      rd 1
v2      rd 1
rb 4096
STACK_TOP:
MEM_END:
