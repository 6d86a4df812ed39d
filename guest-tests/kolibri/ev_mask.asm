; ev_mask - function 40 (event mask) and event 7 (IPC):
; 40 returns the previous mask (7 for a new process); an IPC message that arrives while
; event 7 is masked is kept and reported once the mask allows it; reading event 7 resets
; it; several messages before one read give a single event 7.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     ebx, info
        call    get_own_pid
        mov     [own_pid], eax

        mov     eax, 40
        xor     ebx, ebx                ; mask 0: nothing reported
        int     0x40
        CHECK_EQ eax, 7, '40 returns the default mask 7'

        mov     dword [area+0], 0
        mov     dword [area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 256
        int     0x40

        call    send_self
        CHECK_EQ eax, 0, 'self-send with mask 0 returns 0'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, 'mask 0: 11 returns 0 although a message arrived'

        mov     eax, 40
        mov     ebx, 0x40               ; event 7 only
        int     0x40
        CHECK_EQ eax, 0, '40 returns the previous mask 0'

        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 7, 'mask 0x40: the kept IPC event is reported (7)'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, 'event 7 was reset by reading it'

        ; three messages, then one read
        mov     dword [area+4], 8
        call    send_self
        call    send_self
        call    send_self
        CHECK_EQ dword [area+4], 8 + 3 * 12, 'three messages stored'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 7, 'three messages: 11 returns 7'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, 'three messages gave only one event 7'

        mov     eax, 40
        mov     ebx, 0x40
        int     0x40
        CHECK_EQ eax, 0x40, '40 returns the mask set before (0x40)'

        FINISH

TEST_LIB
IPC_LIB

msg     db      'ping'

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
own_pid rd 1
align 16
area:   rb 256
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
