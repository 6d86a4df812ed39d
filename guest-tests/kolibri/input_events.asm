; input_events - keys, a button and the mouse from the host arrive as events at their guest
; time. Run with: --keys 1=Hi\n@0.5 --button 1=7@1 --mouse 1=130,75,1@1.5 (input_events.args).
; Defines a window at (100,50) and button 7, then waits (function 10): event 2 comes at 0.5 s
; with the keys 'H', 'i', Enter (function 2: scancode << 16 | ASCII << 8, then 1 when empty);
; event 3 at 1 s, function 17 gives 7 << 8 (left mouse button bit cleared), then 1; event 6
; at 1.5 s (mask 0x27), function 37.0/37.1/37.2 give the screen position, the position in
; the window and the buttons.
include 'include/test.inc'
include 'include/lib.inc'
HEADER
START:
        mov     eax, 0                  ; window at (100,50), 200x100, white
        mov     ebx, 100 * 65536 + 200
        mov     ecx, 50 * 65536 + 100
        mov     edx, 0x00FFFFFF
        int     0x40
        mov     eax, 8                  ; button 7 at (10,10), 60x20
        mov     ebx, 10 * 65536 + 60
        mov     ecx, 10 * 65536 + 20
        mov     edx, 7
        mov     esi, 0x00CCCCCC
        int     0x40
        mov     eax, 40
        mov     ebx, 0x27               ; redraw, key, button, mouse
        int     0x40

        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 1, '2 before any key: buffer empty (1)'

        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 2, '10 returns event 2 (key)'
        call    uptime
        cmp     eax, 50
        CHECK_TRUE jae, 'the keys came at 0.5 s of guest time'
        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 0x234800, '2: H is scancode 0x23, ASCII 0x48'
        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 0x176900, '2: i is scancode 0x17, ASCII 0x69'
        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 0x1C0D00, '2: Enter is scancode 0x1C, ASCII 13'
        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 1, '2 after the last key: 1'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, '11: no event left once the keys are read'

        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 3, '10 returns event 3 (button)'
        call    uptime
        cmp     eax, 100
        CHECK_TRUE jae, 'the button came at 1 s of guest time'
        mov     eax, 17
        int     0x40
        CHECK_EQ eax, 7 shl 8, '17: button 7 as id << 8'
        mov     eax, 17
        int     0x40
        CHECK_EQ eax, 1, '17 after reading: 1'

        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 6, '10 returns event 6 (mouse)'
        mov     eax, 37
        mov     ebx, 0
        int     0x40
        CHECK_EQ eax, 130 * 65536 + 75, '37.0: screen position'
        mov     eax, 37
        mov     ebx, 1
        int     0x40
        CHECK_EQ eax, 30 * 65536 + 25, '37.1: position in the window'
        mov     eax, 37
        mov     ebx, 2
        int     0x40
        CHECK_EQ eax, 1, '37.2: left button held'
        mov     eax, 11
        int     0x40
        CHECK_EQ eax, 0, '11: event 6 resets when read'
        FINISH

TEST_LIB
IPC_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
rb 4096
STACK_TOP:
MEM_END:
