; sendto.asm - send N messages to a process found by name: a driver for programs we did not
; write (they only receive). Params: "NAME N" (default N = 1). Finds NAME with function 9
; (retrying every tick until it exists), waits until it has an IPC area (send returns 1 until
; then), sends N 20-byte messages "sendto NNNNNNNNNNNN", and prints one result line:
;   PASS sendto N to NAME        every message was delivered
;   FULL sendto K of N to NAME   the receiver's area filled up after K (it does not drain it)
;   FAIL sendto ...              the receiver vanished (code 4)
include 'include/test.inc'
include 'include/lib.inc'
HEADER

START:
        mov     esi, PARAMS                     ; name: up to 11 bytes before a blank
        mov     edi, target
        mov     ecx, 11
.name:  mov     al, [esi]
        cmp     al, ' '
        je      .name_end
        test    al, al
        jz      .name_end
        stosb
        inc     esi
        loop    .name
.name_end:
        call    parse_uint_sp
        jc      .find
        mov     [count], eax
.find:  mov     esi, target                     ; exact name, every slot (no 255 limit)
        mov     edx, 11
        xor     edi, edi
        mov     ebx, info
        call    wait_peer
        mov     [pid], eax
        xor     ebx, ebx                        ; messages delivered
.send:  cmp     ebx, [count]
        jae     .all
        lea     eax, [ebx + 1]                  ; "sendto " + 12-digit sequence number
        mov     edi, msg + 19
        mov     ecx, 12
.digit: xor     edx, edx
        push    ebx
        mov     ebx, 10
        div     ebx
        pop     ebx
        add     dl, '0'
        mov     [edi], dl
        dec     edi
        loop    .digit
        push    ebx                             ; (not send_retry: 3 = full is an answer here,
.again: mov     eax, 60                         ; and a retry waits a tick instead of yielding)
        mov     ebx, 2
        mov     ecx, [pid]
        mov     edx, msg
        mov     esi, 20
        int     0x40
        cmp     eax, 1                          ; no area yet, or locked: wait a tick
        je      .later
        cmp     eax, 2
        je      .later
        pop     ebx
        cmp     eax, 3
        je      .full
        cmp     eax, 4
        je      .gone
        inc     ebx
        jmp     .send
.later: mov     eax, 5
        mov     ebx, 1
        int     0x40
        jmp     .again
.all:   PRINT   'PASS sendto '
        mov     eax, ebx
        call    print_dec
        jmp     .to
.full:  PRINT   'FULL sendto '
        mov     eax, ebx
        call    print_dec
        PRINT   ' of '
        mov     eax, [count]
        call    print_dec
        jmp     .to
.gone:  PRINT   'FAIL sendto: the receiver ended after '
        mov     eax, ebx
        call    print_dec
.to:    PRINT   ' to '
        mov     esi, target
        call    print_str
        PRINTLN ''
        mov     eax, -1
        int     0x40

TEST_LIB
IPC_LIB

msg     db      'sendto 000000000000'
        db      0
count   dd      1
target  db      12 dup 0

align 4
I_END:
pid       rd 1
info      rb 1024
PARAMS    rb 256
PATH      rb 256
align 16
          rb 4096
STACK_TOP:
MEM_END:
