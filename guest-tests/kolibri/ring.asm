; ring.asm - ipcemu scale benchmark: N processes named "ring" pass a token around R times.
;
; Params: "N R" (ring size, rounds; default "2 10"). Each member waits until it sees N processes
; named "ring" (function 9 scan), takes its place in slot order, and forwards every token to the
; next member (the last wraps to the first) through function 60. The first member starts the
; token at hop 1; the member that would forward hop N*R prints the result line and sends the
; stop token (0xFFFFFFFF) around; every member forwards it once and ends.
;   ipcemu run --max-slots 1100 ring.kex ring.kex ... --params 1="1000 5" (params of every member)
include 'include/test.inc'
include 'include/lib.inc'
HEADER

START:
        mov     esi, PARAMS
        call    parse_uint_sp
        jc      .defaults
        mov     [ring_n], eax
        call    parse_uint_sp
        jc      .defaults
        mov     [rounds], eax
.defaults:
        ; own PID
        mov     ebx, info
        call    get_own_pid
        mov     [my_pid], eax
        ; area, mask
        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup                       ; empty, unlocked, only event 7 (IPC)

.scan:                                  ; find my index and the next member
        xor     edi, edi                ; members seen
        mov     dword [first_pid], 0
        mov     dword [next_pid], 0
        mov     dword [my_index], -1
        mov     ebp, 1                  ; slot
.slot:
        mov     eax, 9
        mov     ebx, info
        mov     ecx, ebp
        int     0x40
        mov     [max_slot], eax
        cmp     word [info + 50], 9
        je      .skip
        cmp     dword [info + 10], 'ring'
        jne     .skip
        cmp     byte [info + 14], 0
        jne     .skip
        mov     eax, dword [info + 30]
        test    edi, edi
        jnz     @f
        mov     [first_pid], eax
@@:
        cmp     dword [my_index], -1
        je      .not_after_me
        cmp     dword [next_pid], 0
        jne     .not_after_me
        mov     [next_pid], eax
.not_after_me:
        cmp     eax, [my_pid]
        jne     @f
        mov     [my_index], edi
@@:
        inc     edi
.skip:
        inc     ebp
        cmp     ebp, [max_slot]
        jbe     .slot
        cmp     edi, [ring_n]
        jae     .complete
        mov     eax, 5                  ; not everyone is there yet
        mov     ebx, 1
        int     0x40
        jmp     .scan
.complete:
        cmp     dword [next_pid], 0
        jne     @f
        mov     eax, [first_pid]        ; last member wraps around
        mov     [next_pid], eax
@@:
        mov     eax, [ring_n]
        mul     dword [rounds]
        mov     [last_hop], eax
        cmp     dword [my_index], 0
        jne     .wait
        mov     dword [token], 1        ; the first member starts
        call    forward

.wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        mov     eax, dword [area + 16]        ; the token (one message per wake-up in a ring)
        mov     dword [area + 4], 8
        cmp     eax, -1
        je      .stop
        cmp     eax, [last_hop]
        jb      .pass
        ; the last hop: report and start the stop token
        PRINT   'PASS ring '
        mov     eax, [ring_n]
        call    print_dec
        PRINT   ' members '
        mov     eax, [last_hop]
        call    print_dec
        PRINTLN ' hops'
        mov     dword [token], -1
        call    forward
        mov     byte [stopper], 1
        jmp     .wait
.pass:
        inc     eax
        mov     [token], eax
        call    forward
        jmp     .wait
.stop:
        cmp     byte [stopper], 1
        je      .end                    ; the stop token came back
        mov     dword [token], -1
        call    forward
.end:
        mov     eax, -1
        int     0x40

; forward: send [token] to [next_pid], retrying while the receiver is not ready (send_retry's
; policy, written out: this is the benchmark's hop, and a call would add guest stores to it)
forward:
        pushad
.again:
        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [next_pid]
        mov     edx, token
        mov     esi, 4
        int     0x40
        cmp     eax, 1
        jb      .done
        cmp     eax, 3
        ja      .done
        mov     eax, 68
        mov     ebx, 1
        int     0x40
        jmp     .again
.done:
        popad
        ret

TEST_LIB
IPC_LIB

align 4
ring_n    dd 2
rounds    dd 10
AREA_SIZE = 64

align 4096                      ; data on its own pages
I_END:
my_pid    rd 1
first_pid rd 1
next_pid  rd 1
my_index  rd 1
max_slot  rd 1
last_hop  rd 1
token     rd 1
stopper   rb 4
area      rb AREA_SIZE
info      rb 1024
PARAMS    rb 256
PATH      rb 256
align 16
          rb 4096
STACK_TOP:
MEM_END:
