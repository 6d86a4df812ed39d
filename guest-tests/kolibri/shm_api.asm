; shm_api - function 68.22/68.23, named shared memory, in one process: every result the
; kernel's shmem_open gives (kernel/trunk/core/heap.inc): E_NOMEM before 68.11, E_PARAM for a
; null name, a zero size or an unknown mode, E_NOTFOUND, E_ACCESS for a view with more access
; than the area, edx = 0 when created and the size in whole pages when opened, the size
; argument given back when SHM_CREATE finds the name taken; two views of one area share their
; bytes; the last close frees the area (created again, it reads as zeros); names are kept to 31
; bytes and compared over 32. Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

SHM_OPEN        = 0x00
SHM_OPEN_ALWAYS = 0x04
SHM_CREATE      = 0x08
SHM_READ        = 0x00
SHM_WRITE       = 0x01

; SHM name, size, flags: 68.22 with ecx = name, edx = size, esi = flags (eax, edx results)
macro SHM name, size, flags
{
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, name
        mov     edx, size
        mov     esi, flags
        int     0x40
}
; UNSHM name: 68.23
macro UNSHM name
{
        mov     eax, 68
        mov     ebx, 23
        mov     ecx, name
        int     0x40
}

START:
        SHM     n_api, 4096, SHM_CREATE + SHM_WRITE
        CHECK_EQ eax, 0, 'before 68.11 there is no view (eax = 0)'
        CHECK_EQ edx, 30, 'before 68.11 the error is E_NOMEM'
        SHM     n_api, 0, SHM_OPEN
        CHECK_EQ edx, 5, 'the failed create left no area (E_NOTFOUND)'

        mov     eax, 68
        mov     ebx, 11
        int     0x40
        CHECK_NE eax, 0, '68.11 initialises the heap'

        SHM     0, 4096, SHM_CREATE + SHM_WRITE
        CHECK_EQ eax, 0, 'a null name gives eax = 0'
        CHECK_EQ edx, 33, 'a null name is E_PARAM'
        SHM     0x80000000, 0x1234, SHM_CREATE
        CHECK_EQ eax, 0, 'a kernel-space name gives eax = 0'
        CHECK_EQ edx, 0x1234, 'a kernel-space name leaves edx'
        SHM     n_none, 4096, SHM_OPEN
        CHECK_EQ eax, 0, 'opening a missing area gives eax = 0'
        CHECK_EQ edx, 5, 'opening a missing area is E_NOTFOUND'
        SHM     n_none, 0, SHM_CREATE + SHM_WRITE
        CHECK_EQ edx, 33, 'creating with size 0 is E_PARAM'
        SHM     n_none, 4096, 0x0C
        CHECK_EQ edx, 33, 'open mode 0x0C on a missing name is E_PARAM'

        SHM     n_api, 5000, SHM_CREATE + SHM_WRITE
        mov     [v1], eax
        CHECK_NE eax, 0, 'SHM_CREATE gives a view'
        CHECK_EQ edx, 0, 'SHM_CREATE gives edx = 0'
        mov     eax, [v1]
        and     eax, 0xFFF
        CHECK_EQ eax, 0, 'the view is page aligned'
        mov     edi, [v1]
        mov     ecx, 8192
        call    is_zero
        CHECK_EQ eax, 1, 'a new area reads as zeros (8192 bytes: 5000 in whole pages)'
        mov     edi, [v1]
        mov     dword [edi], 0x600DF00D
        mov     byte [edi + 8191], 0x5A

        SHM     n_api, 777, SHM_CREATE + SHM_WRITE
        CHECK_EQ eax, 0, 'SHM_CREATE of a taken name gives eax = 0'
        CHECK_EQ edx, 777, 'SHM_CREATE of a taken name gives back the size argument (the kernel jumps to .exit)'

        SHM     n_api, 0, SHM_OPEN + SHM_WRITE
        mov     [v2], eax
        CHECK_NE eax, 0, 'SHM_OPEN gives a view'
        CHECK_EQ edx, 8192, 'SHM_OPEN gives the size in whole pages'
        mov     edx, [v1]
        CHECK_NE [v2], edx, 'the second view is at another address'
        mov     esi, [v2]
        CHECK_EQ [esi], 0x600DF00D, 'the second view shows the first one''s store'
        movzx   eax, byte [esi + 8191]
        CHECK_EQ eax, 0x5A, 'the second view shows the last byte'
        mov     dword [esi + 4], 0xCAFE
        mov     edi, [v1]
        CHECK_EQ [edi + 4], 0xCAFE, 'the first view shows the second one''s store'

        SHM     n_api, 4096, SHM_OPEN_ALWAYS + SHM_WRITE
        mov     [v3], eax
        CHECK_NE eax, 0, 'SHM_OPEN_ALWAYS of an existing area gives a view'
        CHECK_EQ edx, 8192, 'SHM_OPEN_ALWAYS of an existing area gives its size'
        SHM     n_api, 4096, 0x0C + SHM_WRITE
        CHECK_EQ eax, 0, 'open mode 0x0C on an existing name gives eax = 0'
        CHECK_EQ edx, 33, 'open mode 0x0C on an existing name is E_PARAM'

        UNSHM   n_api
        CHECK_EQ eax, 0, '68.23 returns eax = 0'
        UNSHM   n_api
        SHM     n_api, 0, SHM_OPEN
        mov     [v2], eax
        CHECK_EQ edx, 8192, 'with one view left the area is still there'
        UNSHM   n_api
        UNSHM   n_api
        SHM     n_api, 0, SHM_OPEN
        CHECK_EQ edx, 5, 'after the last close the area is gone'
        UNSHM   n_api
        CHECK_EQ eax, 0, 'closing a name with no view returns eax = 0'
        UNSHM   0
        CHECK_EQ eax, 0, '68.23 with a null name returns eax = 0'

        SHM     n_api, 100, SHM_OPEN_ALWAYS + SHM_WRITE
        mov     [v1], eax
        CHECK_NE eax, 0, 'SHM_OPEN_ALWAYS of a missing name creates it'
        CHECK_EQ edx, 0, 'SHM_OPEN_ALWAYS that creates gives edx = 0'
        mov     edi, [v1]
        mov     ecx, 4096
        call    is_zero
        CHECK_EQ eax, 1, 'the area created again reads as zeros'
        UNSHM   n_api

        ; an area created read-only: no writable view for others, a read-only one is fine
        SHM     n_ro, 4096, SHM_CREATE + SHM_READ
        mov     [v1], eax
        CHECK_NE eax, 0, 'SHM_CREATE + SHM_READ gives a view'
        mov     edi, [v1]
        mov     dword [edi], 0x0BADCAFE
        CHECK_EQ [edi], 0x0BADCAFE, 'the creator''s view is writable whatever the access'
        SHM     n_ro, 0, SHM_OPEN + SHM_WRITE
        CHECK_EQ eax, 0, 'a writable view of a read-only area gives eax = 0'
        CHECK_EQ edx, 10, 'a writable view of a read-only area is E_ACCESS'
        SHM     n_ro, 0, SHM_OPEN + SHM_READ
        mov     [v2], eax
        CHECK_EQ edx, 4096, 'a read-only view of a read-only area opens'
        mov     esi, [v2]
        CHECK_EQ [esi], 0x0BADCAFE, 'the read-only view shows the creator''s store'
        UNSHM   n_ro
        UNSHM   n_ro

        ; names: 31 bytes are kept, 32 compared
        SHM     n31, 4096, SHM_CREATE + SHM_WRITE
        CHECK_EQ edx, 0, 'a 31-byte name is created'
        SHM     n31, 0, SHM_OPEN
        CHECK_EQ edx, 4096, 'the same 31-byte name opens it'
        SHM     n32, 4096, SHM_CREATE + SHM_WRITE
        CHECK_EQ edx, 0, 'a 32-byte name is created (kept as its first 31 bytes)'
        SHM     n32, 0, SHM_OPEN
        CHECK_EQ edx, 5, 'the same 32-byte name never matches the kept 31'
        SHM     n32_kept, 0, SHM_OPEN
        CHECK_EQ edx, 4096, 'its first 31 bytes open it'
        SHM     n_short, 0, SHM_OPEN
        CHECK_EQ edx, 5, 'a shorter name does not match'

        FINISH

; is_zero: edi = address, ecx = length; eax = 1 if all bytes are 0, else 0
is_zero:
        push    ecx edi
        xor     eax, eax
        repe    scasb
        sete    al
        pop     edi ecx
        ret

TEST_LIB

n_api   db 'ipcemu.api', 0
n_none  db 'ipcemu.none', 0
n_ro    db 'ipcemu.ro', 0
n31     db 'abcdefghijklmnopqrstuvwxyz01234', 0
n32     db 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 0
n32_kept db 'ABCDEFGHIJKLMNOPQRSTUVWXYZ01234', 0
n_short db 'abcdefghijklmnopqrstuvwxyz0123', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
v1      rd 1
v2      rd 1
v3      rd 1
rb 4096
STACK_TOP:
MEM_END:
