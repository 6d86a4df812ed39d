; shm_peer - function 68.22 across processes, opener side: opens "ipcemu.pair" (SHM_OPEN +
; SHM_WRITE; waits with 5 delay until shm_host.kex has created it), checks the size and the
; creator's magic number, and answers with the magic plus one in the next dword.
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

MAGIC = 0x12345678

START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40
        mov     ecx, 1000                       ; at most 10 s of guest time
  .open:
        push    ecx
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        xor     edx, edx
        mov     esi, 0x00 + 0x01                ; SHM_OPEN + SHM_WRITE
        int     0x40
        pop     ecx
        test    eax, eax
        jnz     .opened
        cmp     edx, 5                          ; E_NOTFOUND: not created yet
        jne     .opened
        push    ecx
        mov     eax, 5
        mov     ebx, 1
        int     0x40
        pop     ecx
        loop    .open
  .opened:
        mov     [view], eax
        CHECK_NE eax, 0, 'shm_peer opened the area of another process'
        CHECK_EQ edx, 4096, 'shm_peer: edx = the area''s size'
        mov     edi, [view]
        test    edi, edi
        jz      .done
        CHECK_EQ [edi], MAGIC, 'shm_peer sees the creator''s store'
        mov     eax, [edi]
        inc     eax
        mov     [edi + 4], eax

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
