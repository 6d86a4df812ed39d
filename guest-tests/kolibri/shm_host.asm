; shm_host - function 68.22 across processes, creator side: creates the area "ipcemu.pair"
; (SHM_CREATE + SHM_WRITE), stores a magic number at its start, then waits (5 delay, guest
; time) until shm_peer.kex, which opens the same area in its own process, has stored the magic
; plus one in the next dword. Run with shm_peer.kex, in either order.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

MAGIC = 0x12345678

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
        mov     [view], eax
        CHECK_NE eax, 0, 'shm_host created the area'
        CHECK_EQ edx, 0, 'shm_host: edx = 0 for a new area'
        mov     edi, [view]
        test    edi, edi
        jz      .done
        mov     dword [edi], MAGIC

        mov     ecx, 1000                       ; at most 10 s of guest time
  .wait:
        cmp     dword [edi + 4], MAGIC + 1
        je      .answered
        push    ecx
        mov     eax, 5
        mov     ebx, 1
        int     0x40
        pop     ecx
        loop    .wait
  .answered:
        CHECK_EQ [edi + 4], MAGIC + 1, 'shm_host sees the peer''s store in the shared area'

        mov     eax, 68
        mov     ebx, 23
        mov     ecx, area_name
        int     0x40
  .done:
        FINISH

TEST_LIB

area_name db 'ipcemu.pair', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
view    rd 1
rb 4096
STACK_TOP:
MEM_END:
