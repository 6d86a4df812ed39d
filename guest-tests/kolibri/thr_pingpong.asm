; thr_pingpong.asm - ipcemu guest test: two threads of one process bounce a counter with function 60.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/thr_pingpong.kex [--params 1=COUNT]
; Params: number of bounces N (default 1000).
;
; The main thread sets its IPC area and mask 0x40 and starts a second thread (function 51.1), which
; sets its own area and mask. The main thread sends the 4-byte counter 1 to the thread's TID; each
; thread checks that a received counter comes from the other thread and is the next expected value
; (main receives 2, 4, 6, ..., the thread 1, 3, 5, ...) and sends it back plus one, until the value N
; has been sent and received. Then each thread sends the marker 0xFFFFFFFF to the other and waits for
; the other's marker, so both know the other is finished. Only the main thread prints, after the
; marker, so the output does not depend on scheduling. With the default N = 1000:
;     PASS thr_pingpong thread created
;     PASS thr_pingpong thread has its own PID
;     PASS thr_pingpong thread PID matches 51.1 result
;     PASS thr_pingpong main received 500 messages
;     PASS thr_pingpong thread received 500 messages
;     PASS thr_pingpong final count 1000
;     DONE 6 0

include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 256
FIN       = 0xFFFFFFFF

; per-thread state block
ST_AREA   = 0           ; address of the thread's IPC area
ST_PEER   = 4           ; PID of the other thread
ST_FIRST  = 8           ; counter to send first (0 = none)
ST_EXPECT = 12          ; next counter expected
ST_RECV   = 16          ; counters received
ST_ERRORS = 20          ; wrong sender, length or value, failed sends
ST_DONE   = 24          ; byte: this thread has finished bouncing
ST_FINOUT = 25          ; byte: marker sent
ST_FININ  = 26          ; byte: marker received
ST_MSG    = 28          ; 4-byte outgoing message
ST_SIZE   = 32

        HEADER

START:
        cld
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 1000
@@:     mov     [count], eax

        mov     ebx, info_main
        call    get_own_pid
        mov     [pid_main], eax

        mov     ebx, st_main
        mov     dword [ebx + ST_AREA], area_main
        mov     dword [ebx + ST_FIRST], 1
        mov     dword [ebx + ST_EXPECT], 2
        call    setup_area

        mov     eax, 51
        mov     ebx, 1
        mov     ecx, thread_entry
        mov     edx, thread_stack_top
        int     0x40
        mov     [tid_thread], eax
        CHECK_NE eax, -1, 'thr_pingpong thread created'
        cmp     eax, -1
        jne     @f
        FINISH
@@:
        mov     [st_main + ST_PEER], eax
        mov     ebx, st_main
        call    run_pingpong

        CHECK_NE [pid_main], [tid_thread], 'thr_pingpong thread has its own PID'
        CHECK_EQ [pid_thread], [tid_thread], 'thr_pingpong thread PID matches 51.1 result'
        mov     ebx, st_main
        mov     esi, name_main
        call    report_thread
        mov     ebx, st_thread
        mov     esi, name_thread
        call    report_thread

        mov     eax, [st_main + ST_RECV]
        add     eax, [st_thread + ST_RECV]
        cmp     eax, [count]
        jne     .final_bad
        mov     eax, [last]
        cmp     eax, [count]
        jne     .final_bad
        PRINT   'PASS thr_pingpong final count '
        mov     eax, [last]
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        FINISH
  .final_bad:
        PRINT   'FAIL thr_pingpong final count '
        mov     eax, [last]
        call    print_dec
        PRINT   ' received '
        mov     eax, [st_main + ST_RECV]
        add     eax, [st_thread + ST_RECV]
        call    print_dec
        PRINT   ' want '
        mov     eax, [count]
        call    print_dec
        PRINTLN ''
        inc     dword [test_fails]
        FINISH

; the second thread: registers are 0, esp = thread_stack_top
thread_entry:
        mov     ebx, info_thread
        call    get_own_pid
        mov     [pid_thread], eax

        mov     ebx, st_thread
        mov     dword [ebx + ST_AREA], area_thread
        mov     eax, [pid_main]
        mov     [ebx + ST_PEER], eax
        mov     dword [ebx + ST_FIRST], 0
        mov     dword [ebx + ST_EXPECT], 1
        call    setup_area
        call    run_pingpong
        mov     eax, -1
        int     0x40

; setup_area: ebx = state. Empties and registers the thread's IPC area, sets mask 0x40.
setup_area:
        push    ecx
        push    edx
        mov     ecx, [ebx + ST_AREA]
        mov     edx, AREA_SIZE
        call    ipc_setup
        pop     edx
        pop     ecx
        ret

; run_pingpong: ebx = state. Returns when this thread has finished bouncing, has sent its marker
; and has received the other thread's marker.
run_pingpong:
        pushad
        cmp     dword [count], 0
        jne     @f
        mov     byte [ebx + ST_DONE], 1
        jmp     .loop
@@:     mov     eax, [ebx + ST_FIRST]
        test    eax, eax
        jz      .loop
        call    bounce
  .loop:
        cmp     byte [ebx + ST_DONE], 0
        je      .wait
        cmp     byte [ebx + ST_FINOUT], 0
        jne     @f
        mov     byte [ebx + ST_FINOUT], 1
        mov     eax, FIN
        call    send_value
@@:     cmp     byte [ebx + ST_FININ], 0
        jne     .out
  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        mov     esi, [ebx + ST_AREA]
        mov     dword [esi], 1                  ; lock while parsing
        lea     edi, [esi + 8]
        mov     ebp, [esi + 4]
        add     ebp, esi                        ; end of used data
        xor     edx, edx                        ; counter to send after unlocking, 0 = none
  .msg:
        lea     eax, [edi + 8]
        cmp     eax, ebp
        ja      .drained
        mov     ecx, [edi + 4]
        lea     eax, [edi + 8 + ecx]
        cmp     eax, ebp
        ja      .drained
        mov     eax, [ebx + ST_PEER]
        cmp     [edi], eax
        jne     .bad
        cmp     ecx, 4
        jne     .bad
        mov     eax, [edi + 8]
        cmp     eax, FIN
        jne     .counter
        mov     byte [ebx + ST_FININ], 1
        jmp     .next
  .counter:
        inc     dword [ebx + ST_RECV]
        cmp     eax, [ebx + ST_EXPECT]
        je      @f
        inc     dword [ebx + ST_ERRORS]
@@:     lea     edx, [eax + 2]
        mov     [ebx + ST_EXPECT], edx
        xor     edx, edx
        cmp     eax, [count]
        jb      @f
        mov     byte [ebx + ST_DONE], 1         ; received the last counter
        jmp     .next
@@:     lea     edx, [eax + 1]
        jmp     .next
  .bad:
        inc     dword [ebx + ST_ERRORS]
  .next:
        lea     edi, [edi + 8 + ecx]
        jmp     .msg
  .drained:
        mov     dword [esi + 4], 8
        mov     dword [esi], 0                  ; unlock
        test    edx, edx
        jz      .loop
        mov     eax, edx
        call    bounce
        jmp     .loop
  .out:
        popad
        ret

; bounce: ebx = state, eax = counter to send to the other thread
bounce:
        mov     [last], eax
        call    send_value
        cmp     eax, [count]
        jb      @f
        mov     byte [ebx + ST_DONE], 1         ; sent the last counter
@@:     ret

; send_value: ebx = state, eax = dword to send to the other thread (retrying on 1, 2, 3).
; A failed send counts as an error and ends the bouncing. Preserves all registers.
send_value:
        pushad
        mov     [ebx + ST_MSG], eax
        mov     ecx, [ebx + ST_PEER]
        lea     edx, [ebx + ST_MSG]
        mov     esi, 4
        call    send_retry
        test    eax, eax
        jz      @f
        inc     dword [ebx + ST_ERRORS]
        mov     byte [ebx + ST_DONE], 1
        mov     byte [ebx + ST_FININ], 1        ; do not wait for a peer that cannot be reached
@@:     popad
        ret

; report_thread: ebx = state, esi = "main" / "thread". One PASS or FAIL line.
report_thread:
        pushad
        cmp     dword [ebx + ST_ERRORS], 0
        jne     .bad
        PRINT   'PASS thr_pingpong '
        call    print_str
        PRINT   ' received '
        mov     eax, [ebx + ST_RECV]
        call    print_dec
        PRINTLN ' messages'
        inc     dword [test_passes]
        popad
        ret
  .bad:
        PRINT   'FAIL thr_pingpong '
        call    print_str
        PRINT   ' received '
        mov     eax, [ebx + ST_RECV]
        call    print_dec
        PRINT   ' messages, '
        mov     eax, [ebx + ST_ERRORS]
        call    print_dec
        PRINTLN ' errors'
        inc     dword [test_fails]
        popad
        ret

        TEST_LIB
        IPC_LIB

align 4
count           dd 0
last            dd 0
pid_main        dd 0
pid_thread      dd 0
tid_thread      dd 0
st_main:        dd 0, 0, 0, 0, 0, 0, 0, 0
st_thread:      dd 0, 0, 0, 0, 0, 0, 0, 0
name_main       db 'main', 0
name_thread     db 'thread', 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
info_main:      rb 1024
info_thread:    rb 1024
area_main:      rb AREA_SIZE
area_thread:    rb AREA_SIZE
                rb 4096
thread_stack_top:
                rb 4096
STACK_TOP:
MEM_END:
