; sys_slots - the kernel's system layout as function 9 shows it, and 18.2/18.18 refusing it.
; Written for ipcemu; no KolibriOS code is included.
;
; Run alone: ipcemu run fixtures/kolibri/sys_slots.kex
; Slot 1 is "IDLE" (PID 1), slot 2 is "OS" (PID 2), the first program is in slot 3 with PID 3.
; Function 9 writes the whole 76-byte record (+0..+75) and nothing after it: the window box of
; function 0 at +34, state dword at +50, client box at +54, window state at +70, event mask at
; +71, keyboard mode at +75. 18.2 on slots 1 and 2 and 18.18 on PIDs 1 and 2 end nothing.
include 'include/test.inc'
HEADER
START:
        ; a headless window: x 10, width 300, y 20, height 200
        xor     eax, eax
        mov     ebx, 10 shl 16 + 300
        mov     ecx, 20 shl 16 + 200
        mov     edx, 0x14FFFFFF
        int     0x40
        mov     eax, 40                 ; event mask 0x27
        mov     ebx, 0x27
        int     0x40

        ; slot 1: IDLE
        mov     ecx, 1
        call    info_of
        mov     esi, name_idle
        call    cmp_name
        CHECK_EQ eax, 0, 'slot 1 is IDLE'
        CHECK_EQ dword [info+30], 1, 'slot 1 PID is 1'
        CHECK_EQ dword [info+50], 0, 'slot 1 state is 0'
        CHECK_EQ dword [info+26], 0xFFFFFF, 'slot 1 memory is 16 MiB'
        mov     ecx, 2
        call    info_of
        mov     esi, name_os
        call    cmp_name
        CHECK_EQ eax, 0, 'slot 2 is OS'
        CHECK_EQ dword [info+30], 2, 'slot 2 PID is 2'
        CHECK_EQ dword [info+50], 0, 'slot 2 state is 0'

        ; slot 3: this program
        mov     ecx, 3
        call    info_of
        mov     [max_slot], eax
        CHECK_EQ eax, 3, '9 returns highest slot 3'
        mov     esi, name_own
        call    cmp_name
        CHECK_EQ eax, 0, 'slot 3 is sys_slots'
        CHECK_EQ dword [info+30], 3, 'slot 3 PID is 3'
        movzx   eax, word [info+4]
        CHECK_EQ eax, 3, '+4 window stack position is the slot'
        CHECK_EQ dword [info+22], 0, '+22 base is 0'
        CHECK_EQ dword [info+26], MEM_END - 1, '+26 is memory size - 1'
        CHECK_EQ dword [info+34], 10, '+34 window left'
        CHECK_EQ dword [info+38], 20, '+38 window top'
        CHECK_EQ dword [info+42], 300, '+42 window width'
        CHECK_EQ dword [info+46], 200, '+46 window height'
        CHECK_EQ dword [info+50], 0, '+50 state dword is 0'
        CHECK_EQ dword [info+54], 0, '+54 client left'
        CHECK_EQ dword [info+58], 0, '+58 client top'
        CHECK_EQ dword [info+62], 300, '+62 client width'
        CHECK_EQ dword [info+66], 200, '+66 client height'
        movzx   eax, byte [info+70]
        CHECK_EQ eax, 0, '+70 window state is 0'
        CHECK_EQ dword [info+71], 0x27, '+71 event mask'
        movzx   eax, byte [info+75]
        CHECK_EQ eax, 0, '+75 keyboard mode is 0'
        movzx   eax, byte [info+76]
        CHECK_EQ eax, 0x5A, '+76 is not written'

        ; 18.2 on slots 1 and 2, 18.18 on PIDs 1 and 2: refused
        mov     eax, 18
        mov     ebx, 2
        mov     ecx, 1
        int     0x40
        mov     eax, 18
        mov     ebx, 2
        mov     ecx, 2
        int     0x40
        mov     eax, 18
        mov     ebx, 18
        mov     ecx, 1
        int     0x40
        CHECK_EQ eax, 0, '18.18 PID 1 returns 0'
        mov     eax, 18
        mov     ebx, 18
        mov     ecx, 2
        int     0x40
        CHECK_EQ eax, 0, '18.18 PID 2 returns 0'
        mov     ecx, 1
        call    info_of
        mov     esi, name_idle
        call    cmp_name
        CHECK_EQ eax, 0, 'slot 1 is still IDLE'
        movzx   eax, word [info+50]
        CHECK_EQ eax, 0, 'slot 1 is still used'
        mov     ecx, 2
        call    info_of
        mov     esi, name_os
        call    cmp_name
        CHECK_EQ eax, 0, 'slot 2 is still OS'
        movzx   eax, word [info+50]
        CHECK_EQ eax, 0, 'slot 2 is still used'
        mov     eax, 18
        mov     ebx, 21
        mov     ecx, 2
        int     0x40
        CHECK_EQ eax, 2, '18.21 PID 2 is slot 2'
        FINISH

; info_of: fill the buffer with 0x5A, then function 9 for slot ecx; eax = its result
info_of:
        push    ebx ecx edi
        push    ecx
        mov     edi, info
        mov     ecx, 1024
        mov     al, 0x5A
        rep     stosb
        pop     ecx
        mov     eax, 9
        mov     ebx, info
        int     0x40
        pop     edi ecx ebx
        ret

; cmp_name: compare the 11 name bytes at info+10 with esi; eax = 0 if equal, else 1
cmp_name:
        push    ecx esi edi
        mov     edi, info + 10
        mov     ecx, 11
        repe    cmpsb
        setne   al
        movzx   eax, al
        pop     edi esi ecx
        ret

TEST_LIB

name_own  db    'sys_slots', 0, 0
name_idle db    'IDLE', 0, 0, 0, 0, 0, 0, 0
name_os   db    'OS', 0, 0, 0, 0, 0, 0, 0, 0, 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
max_slot rd 1
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
