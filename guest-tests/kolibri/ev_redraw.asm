; ev_redraw - a new process starts with its redraw flag set: with the default mask 7,
; functions 11/23/10 report event 1 (and keep reporting it) until function 0 (define
; window) clears the flag; function 12 (redraw begin/end) does not clear it.
; With both IPC and redraw pending, the higher code (7) is reported first.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 1, 'new process: 11 returns 1 (redraw)'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 1, '11 returns 1 again (flag stays)'
        mov     eax, 23
        xor     ebx, ebx
        int     0x40
        CHECK_EQ eax, 1, '23 with timeout 0 returns 1'
        mov     eax, 23
        mov     ebx, 100
        int     0x40
        CHECK_EQ eax, 1, '23 with timeout 100 returns 1'
        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 1, '10 returns 1'

        mov     eax, 12                 ; redraw begin / end change nothing
        mov     ebx, 1
        int     0x40
        mov     eax, 12
        mov     ebx, 2
        int     0x40
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 1, 'after function 12: 11 still returns 1'

        ; priority: IPC (7) before redraw (1)
        mov     eax, 40
        mov     ebx, 0x47
        int     0x40
        mov     dword [area+0], 0
        mov     dword [area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [own_pid]
        mov     edx, msg
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 0, 'self-send returns 0'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 7, 'redraw and IPC pending: 11 returns 7 first'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 1, 'then 11 returns 1'

        ; define the window: clears the redraw flag
        mov     eax, 0
        mov     ebx, 100 * 65536 + 300
        mov     ecx, 100 * 65536 + 200
        mov     edx, 0x34FFFFFF
        xor     esi, esi
        mov     edi, title
        int     0x40
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, 'after function 0: 11 returns 0'
        mov     eax, 23
        xor     ebx, ebx
        int     0x40
        CHECK_EQ eax, 0, 'after function 0: 23 with timeout 0 returns 0'

        FINISH

TEST_LIB
IPC_LIB

msg     db      'ping'
title   db      'ev_redraw', 0

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
