; pp_cli.asm - lean ping-pong benchmark client: finds pp_srv by name, sends N (params, default
; 100000) 20-byte messages, each after the previous answer came back, then prints
; "PASS pp_cli N" and sends a 4-byte quit. One guest store per round trip in the loop.
include 'include/test.inc'
include 'include/lib.inc'
HEADER

START:
        mov     dword [count], 100000
        mov     esi, PARAMS
        xor     eax, eax
.num:   movzx   edx, byte [esi]
        sub     edx, '0'
        cmp     edx, 9
        ja      .parsed
        imul    eax, 10
        add     eax, edx
        inc     esi
        jmp     .num
.parsed:
        test    eax, eax
        jz      @f
        mov     [count], eax
@@:     mov     dword [area + 4], 8             ; empty area: data starts at +8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, area
        mov     edx, 64
        int     0x40
        mov     eax, 40
        mov     ebx, 0x40
        int     0x40
        mov     esi, srv_name                   ; scan slots for "pp_srv"
        mov     edx, 8                          ; exact, "pp_srv" and two zero bytes
        xor     edi, edi
        mov     ebx, info
        call    wait_peer
        mov     [srv], eax
        mov     edi, [count]
.round: mov     eax, 60
        mov     ebx, 2
        mov     ecx, [srv]
        mov     edx, msg
        mov     esi, 20
        int     0x40
        test    eax, eax
        jz      .sent
        mov     eax, 5                          ; server not ready yet: wait a tick (inline,
        mov     ebx, 1                          ; not send_retry: no call in the loop)
        int     0x40
        jmp     .round
.sent:  mov     eax, 10
        int     0x40
        mov     dword [area + 4], 8
        dec     edi
        jnz     .round
        PRINT   'PASS pp_cli '
        mov     eax, [count]
        call    print_dec
        PRINTLN ''
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [srv]
        mov     edx, msg
        mov     esi, 4
        int     0x40
        mov     eax, -1
        int     0x40

TEST_LIB
IPC_LIB

msg     db      'ping-pong 20 bytes..'
srv_name db     'pp_srv', 0, 0

align 4096
I_END:
count     rd 1
srv       rd 1
area      rb 64
info      rb 1024
PARAMS    rb 256
PATH      rb 256
align 16
          rb 4096
STACK_TOP:
MEM_END:
