; sleep_time - function 26.9 (uptime, hundredths of a second) never goes backwards;
; function 5 (sleep) with 100 advances it by at least 100; sleep 0 returns at once.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        call    uptime
        mov     [t0], eax
        call    uptime
        mov     [t1], eax
        cmp     eax, [t0]
        CHECK_TRUE jae, '26.9 twice without sleeping: non-decreasing'

        mov     eax, 5
        mov     ebx, 100
        int     0x40
        call    uptime
        mov     [t2], eax
        sub     eax, [t1]
        cmp     eax, 100
        CHECK_TRUE jae, 'sleep 100 advanced 26.9 by at least 100'

        mov     eax, 5
        xor     ebx, ebx
        mov     ecx, 0x11111111         ; markers: the call must preserve them
        mov     edx, 0x22222222
        int     0x40
        mov     eax, ecx
        xor     eax, 0x11111111
        xor     edx, 0x22222222
        or      eax, edx
        or      eax, ebx
        CHECK_EQ eax, 0, 'sleep 0 returns with registers preserved'
        call    uptime
        cmp     eax, [t2]
        CHECK_TRUE jae, '26.9 after sleep 0: non-decreasing'

        FINISH

TEST_LIB
IPC_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
t0      rd 1
t1      rd 1
t2      rd 1
rb 4096
STACK_TOP:
MEM_END:
