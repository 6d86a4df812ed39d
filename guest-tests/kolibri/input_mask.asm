; input_mask - the event mask (function 40) decides which input wakes a thread, and masked
; input waits. Run with: --keys 1=a@0.2 --button 1=5@0.5 (input_mask.args). With mask 4
; (buttons only) the key at 0.2 s does not wake function 10; the button at 0.5 s does
; (event 3). The key is still in the buffer: with mask 2, function 11 returns event 2 and
; function 2 the key.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     eax, 0
        mov     ebx, 10 * 65536 + 100
        mov     ecx, 10 * 65536 + 100
        mov     edx, 0x00000080
        int     0x40
        mov     eax, 8                  ; button 5
        mov     ebx, 5 * 65536 + 20
        mov     ecx, 5 * 65536 + 20
        mov     edx, 5
        mov     esi, 0x00808080
        int     0x40
        mov     eax, 40
        mov     ebx, 4                  ; buttons only
        int     0x40

        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 3, 'mask 4: 10 returns event 3, not the earlier key'
        call    uptime
        cmp     eax, 50
        CHECK_TRUE jae, 'woken at 0.5 s by the button, not at 0.2 s by the key'
        mov     eax, 17
        int     0x40
        CHECK_EQ eax, 5 shl 8, '17: button 5'
        mov     eax, 40
        mov     ebx, 2                  ; keys only
        int     0x40
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 2, 'mask 2: the masked key is pending (event 2)'
        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 0x1E6100, '2: a is scancode 0x1E, ASCII 0x61'
        FINISH

TEST_LIB
IPC_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
rb 4096
STACK_TOP:
MEM_END:
