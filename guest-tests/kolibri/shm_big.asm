; shm_big - ipcemu's limit on named shared memory (68.22): all areas of a world hold at most
; 256 MiB together. Each copy of this program creates an area of 60 MiB under a name of its own
; (from its PID), prints whether it got one (edx = 0) or E_NOMEM (30), then keeps its view
; for 1 s of guest time so that the copies' areas are all alive at once. Five copies ask for
; 300 MiB: four get an area, the fifth E_NOMEM (crates/cli/tests/guests.rs).
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

START:
        mov     eax, 9                          ; own PID -> the name's last 8 characters
        mov     ebx, info
        mov     ecx, -1
        int     0x40
        mov     edx, dword [info + 30]
        mov     edi, area_name + 11
        mov     ecx, 8
  .hex:
        rol     edx, 4
        mov     eax, edx
        and     eax, 15
        mov     al, [digits + eax]
        stosb
        loop    .hex

        mov     eax, 68
        mov     ebx, 11
        int     0x40
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        mov     edx, 60 shl 20
        mov     esi, 0x08 + 0x01                ; SHM_CREATE + SHM_WRITE
        int     0x40
        test    eax, eax
        jz      .refused
        mov     byte [eax + (60 shl 20) - 1], 1 ; its last byte is there
        PRINTLN 'shm_big: created a 60 MiB area'
        jmp     .hold
  .refused:
        cmp     edx, 30
        jne     .other
        PRINTLN 'shm_big: E_NOMEM'
        jmp     .hold
  .other:
        PRINTLN 'FAIL shm_big: another error'
  .hold:
        mov     eax, 5
        mov     ebx, 100
        int     0x40
        mov     eax, -1
        int     0x40

TEST_LIB

digits    db '0123456789ABCDEF'
area_name db 'ipcemu.big.00000000', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
info    rb 1024
rb 4096
STACK_TOP:
MEM_END:
