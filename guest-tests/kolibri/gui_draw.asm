; gui_draw - draws a window the test looks at in a screenshot (--screenshot 1=FILE@1):
; window (50,40) 199x149 (200x150 pixels) light grey 0xC0C0C0; rectangle (function 13) at
; (20,30) 40x10 red; line (38) from (10,100) to (110,100) blue; pixel (1) at (5,5) green;
; text (4) 'HELLO' black at (20,60); number (47) 42 in 3 digits black at (20,80);
; button 3 (8) at (120,20) 50x20 0x00FF00. Then it waits for the button (10/17).
include 'include/test.inc'
HEADER
START:
        mov     eax, 12
        mov     ebx, 1
        int     0x40
        mov     eax, 0
        mov     ebx, 50 * 65536 + 199
        mov     ecx, 40 * 65536 + 149
        mov     edx, 0x00C0C0C0
        int     0x40
        mov     eax, 13
        mov     ebx, 20 * 65536 + 40
        mov     ecx, 30 * 65536 + 10
        mov     edx, 0x00FF0000
        int     0x40
        mov     eax, 38
        mov     ebx, 10 * 65536 + 110
        mov     ecx, 100 * 65536 + 100
        mov     edx, 0x000000FF
        int     0x40
        mov     eax, 1
        mov     ebx, 5
        mov     ecx, 5
        mov     edx, 0x0000FF00
        int     0x40
        mov     eax, 4
        mov     ebx, 20 * 65536 + 60
        mov     ecx, 0x80000000
        mov     edx, text
        int     0x40
        mov     eax, 47
        mov     ebx, 3 shl 16
        mov     ecx, 42
        mov     edx, 20 * 65536 + 80
        xor     esi, esi
        int     0x40
        mov     eax, 8
        mov     ebx, 120 * 65536 + 50
        mov     ecx, 20 * 65536 + 20
        mov     edx, 3
        mov     esi, 0x0000FF00
        int     0x40
        mov     eax, 12
        mov     ebx, 2
        int     0x40
        mov     eax, 40
        mov     ebx, 4
        int     0x40
        mov     eax, 10
        int     0x40
        CHECK_EQ eax, 3, 'button event'
        mov     eax, 17
        int     0x40
        CHECK_EQ eax, 3 shl 8, 'button 3 pressed'
        FINISH

TEST_LIB

text    db      'HELLO', 0

I_END:
PARAMS  rb 256
PATH    rb 256
rb 4096
STACK_TOP:
MEM_END:
