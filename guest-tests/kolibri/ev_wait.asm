; ev_wait - waiting functions: 23 with timeout 0 and nothing pending returns 0 at once;
; 23 with timeout 50 and nothing pending returns 0 after at least 50 hundredths
; (function 26.9 uptime); 10 returns a pending IPC event at once; 23 returns a pending
; event before its timeout.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        ; clear the initial redraw flag, then allow redraw + IPC
        mov     eax, 0
        mov     ebx, 100 * 65536 + 300
        mov     ecx, 100 * 65536 + 200
        mov     edx, 0x34FFFFFF
        xor     esi, esi
        mov     edi, title
        int     0x40
        mov     eax, 40
        mov     ebx, 0x47
        int     0x40

        mov     eax, 23
        xor     ebx, ebx
        int     0x40
        CHECK_EQ eax, 0, '23 with timeout 0, nothing pending: returns 0'

        call    uptime
        mov     [t0], eax
        mov     eax, 23
        mov     ebx, 50
        int     0x40
        CHECK_EQ eax, 0, '23 with timeout 50, nothing pending: returns 0'
        call    uptime
        sub     eax, [t0]
        cmp     eax, 50
        CHECK_TRUE jae, '23 with timeout 50 waited at least 50 hundredths'

        ; 10 with a pending IPC event
        mov     dword [area+0], 0
        mov     dword [area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40
        call    send_self
        CHECK_EQ eax, 0, 'first self-send returns 0'
        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 7, '10 with a message pending returns 7'

        ; 23 with a pending IPC event and a long timeout
        call    send_self
        CHECK_EQ eax, 0, 'second self-send returns 0'
        call    uptime
        mov     [t0], eax
        mov     eax, 23
        mov     ebx, 1000
        int     0x40
        CHECK_EQ eax, 7, '23 with a message pending returns 7'
        call    uptime
        sub     eax, [t0]
        cmp     eax, 1000
        CHECK_TRUE jb, '23 with a message pending did not wait for its timeout'

        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, 'nothing pending afterwards'

        FINISH

TEST_LIB
IPC_LIB

msg     db      'ping'
title   db      'ev_wait', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
own_pid rd 1
t0      rd 1
align 16
area:   rb 64
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
