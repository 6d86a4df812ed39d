; pp_srv.asm - lean ping-pong benchmark server: answers every 20-byte message with the same
; bytes, straight from its IPC area, and ends on a 4-byte message. One guest store per message
; (resetting the area's end offset) and no calls in the loop, so the benchmark measures ipcemu's
; IPC path rather than Unicorn's per-store cost. Data lives on its own page.
;   ipcemu run fixtures/kolibri/pp_srv.kex fixtures/kolibri/pp_cli.kex --params 2=1000000
include 'include/test.inc'
HEADER

START:
        mov     dword [area + 4], 8             ; empty area: data starts at +8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40
        mov     eax, 40
        mov     ebx, 0x40
        int     0x40
        xor     ebp, ebp
.wait:  mov     eax, 10
        int     0x40
        mov     dword [area + 4], 8             ; one message per wake-up in a ping-pong
        cmp     dword [area + 12], 4
        je      .quit
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, dword [area + 8]           ; the sender
        mov     edx, area + 16                  ; its bytes, sent back as they are
        mov     esi, 20
        int     0x40
        inc     ebp
        jmp     .wait
.quit:  PRINT   'PASS pp_srv '
        mov     eax, ebp
        call    print_dec
        PRINTLN ''
        mov     eax, -1
        int     0x40

TEST_LIB

align 4096
I_END:
area      rb 64
PARAMS    rb 256
PATH      rb 256
align 16
          rb 4096
STACK_TOP:
MEM_END:
