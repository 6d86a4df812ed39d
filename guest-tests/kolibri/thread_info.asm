; thread_info - function 9 (thread information) and 18.21 (slot of a PID).
; Own slot (-1): name = file name "thread_info", base 0, +26 = memory size - 1,
; PID nonzero, state 0, eax = highest slot used >= 2. Slot 1 is "IDLE" with PID 1.
; A free slot writes only the state word (+50 = 9). 18.21 maps our PID to our slot
; (found by scanning slots with function 9) and an unknown PID to 0.
include 'include/test.inc'
HEADER
START:
        mov     al, 0x5A
        call    fill_info
        mov     eax, 9
        mov     ebx, info
        mov     ecx, -1
        int     0x40
        mov     [max_slot], eax
        cmp     eax, 2
        CHECK_TRUE jae, '9 returns highest slot >= 2'
        mov     esi, name_own
        call    cmp_name
        CHECK_EQ eax, 0, 'own name is thread_info'
        CHECK_EQ dword [info+22], 0, 'own base address is 0'
        CHECK_EQ dword [info+26], MEM_END - 1, 'own +26 is memory size - 1'
        mov     eax, [info+30]
        mov     [own_pid], eax
        CHECK_NE eax, 0, 'own PID is nonzero'
        movzx   eax, word [info+50]
        CHECK_EQ eax, 0, 'own state is 0 (running)'

        ; slot 1: the idle thread
        mov     al, 0x5A
        call    fill_info
        mov     eax, 9
        mov     ebx, info
        mov     ecx, 1
        int     0x40
        mov     esi, name_idle
        call    cmp_name
        CHECK_EQ eax, 0, 'slot 1 name is IDLE, zero padded'
        CHECK_EQ dword [info+30], 1, 'slot 1 PID is 1'
        movzx   eax, word [info+50]
        CHECK_EQ eax, 0, 'slot 1 state is 0'

        ; a free slot: only the word at +50 is written
        mov     al, 0x5A
        call    fill_info
        mov     eax, 9
        mov     ebx, info
        mov     ecx, 200
        int     0x40
        movzx   eax, word [info+50]
        CHECK_EQ eax, 9, 'free slot 200: state 9'
        xor     ecx, ecx                ; byte index
        xor     edx, edx                ; bytes that changed
  .free_scan:
        cmp     ecx, 50
        je      .free_next
        cmp     ecx, 51
        je      .free_next
        cmp     byte [info+ecx], 0x5A
        je      .free_next
        inc     edx
  .free_next:
        inc     ecx
        cmp     ecx, 1024
        jb      .free_scan
        CHECK_EQ edx, 0, 'free slot 200: rest of the buffer untouched'

        ; find our slot by scanning 1..max_slot for our PID
        mov     dword [own_slot], 0
        mov     ecx, 1
  .slot_scan:
        mov     dword [info+30], 0
        mov     word [info+50], 9
        mov     eax, 9
        mov     ebx, info
        int     0x40
        cmp     word [info+50], 9
        je      .slot_next
        mov     eax, [info+30]
        cmp     eax, [own_pid]
        jne     .slot_next
        mov     [own_slot], ecx
        jmp     .slot_done
  .slot_next:
        inc     ecx
        cmp     ecx, [max_slot]
        jbe     .slot_scan
  .slot_done:
        mov     eax, [own_slot]
        cmp     eax, 2
        CHECK_TRUE jae, 'own PID found by scanning, in slot >= 2'
        mov     eax, [max_slot]
        cmp     eax, [own_slot]
        CHECK_TRUE jae, 'highest slot >= own slot'

        mov     eax, 18
        mov     ebx, 21
        mov     ecx, [own_pid]
        int     0x40
        CHECK_EQ eax, [own_slot], '18.21 with own PID returns own slot'
        mov     eax, 18
        mov     ebx, 21
        mov     ecx, 0x7FFFFFFF
        int     0x40
        CHECK_EQ eax, 0, '18.21 with unknown PID returns 0'

        FINISH

; fill_info: fill the 1 KiB info buffer with byte al
fill_info:
        pushad
        mov     edi, info
        mov     ecx, 1024
        rep     stosb
        popad
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

name_own  db    'thread_info'           ; exactly 11 bytes, no padding
name_idle db    'IDLE', 0, 0, 0, 0, 0, 0, 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
own_pid  rd 1
own_slot rd 1
max_slot rd 1
align 16
info:   rb 1024
rb 4096
STACK_TOP:
MEM_END:
