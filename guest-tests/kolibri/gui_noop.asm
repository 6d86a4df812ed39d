; gui_noop - headless GUI functions: 0 (window), 4 (text), 7 (image), 8 (button),
; 12 (redraw begin/end), 13 (rectangle), 38 (line), 47 (number) accept plausible
; arguments and preserve every register except eax; 2 (key) and 17 (button) return 1
; (buffer empty).
include 'include/test.inc'
HEADER
START:
        mov     eax, 0                  ; define window
        mov     ebx, 100 * 65536 + 300
        mov     ecx, 100 * 65536 + 200
        mov     edx, 0x34FFFFFF
        xor     esi, esi
        mov     edi, title
        call    call_checked
        CHECK_EQ eax, 0, '0 (define window) preserves registers'

        mov     eax, 12                 ; redraw begin
        mov     ebx, 1
        call    call_checked
        CHECK_EQ eax, 0, '12.1 (redraw begin) preserves registers'

        mov     eax, 4                  ; text, zero terminated
        mov     ebx, 10 * 65536 + 30
        mov     ecx, 0x80000000
        mov     edx, title
        xor     esi, esi
        xor     edi, edi
        call    call_checked
        CHECK_EQ eax, 0, '4 (draw text) preserves registers'

        mov     eax, 7                  ; 2x2 image
        mov     ebx, image
        mov     ecx, 2 * 65536 + 2
        mov     edx, 10 * 65536 + 50
        call    call_checked
        CHECK_EQ eax, 0, '7 (put image) preserves registers'

        mov     eax, 8                  ; button id 2
        mov     ebx, 10 * 65536 + 80
        mov     ecx, 60 * 65536 + 20
        mov     edx, 2
        mov     esi, 0x00CCCCCC
        call    call_checked
        CHECK_EQ eax, 0, '8 (define button) preserves registers'

        mov     eax, 13                 ; rectangle
        mov     ebx, 10 * 65536 + 100
        mov     ecx, 90 * 65536 + 20
        mov     edx, 0x00FF0000
        call    call_checked
        CHECK_EQ eax, 0, '13 (rectangle) preserves registers'

        mov     eax, 38                 ; line
        mov     ebx, 10 * 65536 + 200
        mov     ecx, 120 * 65536 + 130
        mov     edx, 0x000000FF
        call    call_checked
        CHECK_EQ eax, 0, '38 (line) preserves registers'

        mov     eax, 47                 ; 6-digit decimal number from ecx
        mov     ebx, 0x00060000
        mov     ecx, 12345
        mov     edx, 10 * 65536 + 140
        mov     esi, 0x00000000
        call    call_checked
        CHECK_EQ eax, 0, '47 (draw number) preserves registers'

        mov     eax, 12                 ; redraw end
        mov     ebx, 2
        call    call_checked
        CHECK_EQ eax, 0, '12.2 (redraw end) preserves registers'

        mov     eax, 2
        int     0x40
        CHECK_EQ eax, 1, '2 (get key) returns 1: buffer empty'
        mov     eax, 17
        int     0x40
        CHECK_EQ eax, 1, '17 (get button) returns 1: buffer empty'

        FINISH

; call_checked: int 0x40 with the registers as given; eax = 0 if ebx, ecx, edx,
; esi, edi, ebp and esp came back unchanged, else a bit mask of the changed ones
call_checked:
        mov     [s_ebx], ebx
        mov     [s_ecx], ecx
        mov     [s_edx], edx
        mov     [s_esi], esi
        mov     [s_edi], edi
        mov     [s_ebp], ebp
        mov     [s_esp], esp
        int     0x40
        xor     eax, eax
        cmp     ebx, [s_ebx]
        je      @f
        or      eax, 1
@@:     cmp     ecx, [s_ecx]
        je      @f
        or      eax, 2
@@:     cmp     edx, [s_edx]
        je      @f
        or      eax, 4
@@:     cmp     esi, [s_esi]
        je      @f
        or      eax, 8
@@:     cmp     edi, [s_edi]
        je      @f
        or      eax, 16
@@:     cmp     ebp, [s_ebp]
        je      @f
        or      eax, 32
@@:     cmp     esp, [s_esp]
        je      @f
        or      eax, 64
@@:     ret

TEST_LIB

title   db      'gui_noop', 0
image   db      0xFF, 0, 0,  0, 0xFF, 0,  0, 0, 0xFF,  0xFF, 0xFF, 0xFF

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
s_ebx   rd 1
s_ecx   rd 1
s_edx   rd 1
s_esi   rd 1
s_edi   rd 1
s_ebp   rd 1
s_esp   rd 1
rb 4096
STACK_TOP:
MEM_END:
