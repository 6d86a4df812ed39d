; board_rw - the debug board is a byte queue: 63.1 appends (and prints) a byte,
; 63.2 returns the oldest unread byte with ebx=1, or eax=0, ebx=0 when none is left.
; Everything written, including our own PASS lines, stays unread until read.
; The program writes the line "hi" itself, so the output contains a line "hi".
include 'include/test.inc'
HEADER
START:
        call    drain
        call    read_byte
        mov     [r_eax], eax
        mov     [r_ebx], ebx
        CHECK_EQ dword [r_eax], 0, 'empty board: 63.2 returns eax=0'
        CHECK_EQ dword [r_ebx], 0, 'empty board: 63.2 returns ebx=0'

        ; the two PASS lines just printed are unread: read their first 5 bytes
        mov     dword [flags], 1
        xor     edi, edi
  .read5:
        call    read_byte
        mov     [got+edi], al
        and     [flags], ebx
        inc     edi
        cmp     edi, 5
        jb      .read5
        call    drain                   ; drop the rest before printing again
        CHECK_EQ dword [got], 'PASS', 'own PASS line reads back with 63.2'
        movzx   eax, byte [got+4]
        CHECK_EQ eax, ' ', 'fifth byte read back is a space'
        CHECK_EQ dword [flags], 1, '63.2 returned ebx=1 for each of them'

        ; write "hi", newline and read the three bytes back
        call    drain
        mov     al, 'h'
        call    write_byte
        mov     al, 'i'
        call    write_byte
        mov     al, 10
        call    write_byte
        call    read_byte
        mov     [b1], eax
        mov     [f1], ebx
        call    read_byte
        mov     [b2], eax
        mov     [f2], ebx
        call    read_byte
        mov     [b3], eax
        mov     [f3], ebx
        call    read_byte
        mov     [r_eax], eax
        mov     [r_ebx], ebx
        CHECK_EQ dword [b1], 'h', 'read back h'
        CHECK_EQ dword [b2], 'i', 'read back i'
        CHECK_EQ dword [b3], 10, 'read back newline'
        mov     eax, [f1]
        and     eax, [f2]
        and     eax, [f3]
        CHECK_EQ eax, 1, 'ebx=1 for the three bytes'
        CHECK_EQ dword [r_eax], 0, 'then nothing unread: eax=0'
        CHECK_EQ dword [r_ebx], 0, 'then nothing unread: ebx=0'

        FINISH

; read_byte: 63.2; eax = byte, ebx = 1, or eax = 0, ebx = 0 when nothing is unread
read_byte:
        mov     eax, 63
        mov     ebx, 2
        int     0x40
        ret

; write_byte: 63.1 with the byte in al
write_byte:
        pushad
        mov     cl, al
        mov     eax, 63
        mov     ebx, 1
        int     0x40
        popad
        ret

; drain: read until nothing is unread (at most 1 MiB, to stay finite)
drain:
        pushad
        mov     ecx, 0x100000
  .next:
        call    read_byte
        test    ebx, ebx
        jz      .done
        dec     ecx
        jnz     .next
  .done:
        popad
        ret

TEST_LIB

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
r_eax   rd 1
r_ebx   rd 1
flags   rd 1
b1      rd 1
b2      rd 1
b3      rd 1
f1      rd 1
f2      rd 1
f3      rd 1
got:    rb 8
rb 4096
STACK_TOP:
MEM_END:
