; thr_life - life of a thread created with function 51.1.
; The thread starts with esp = the given stack top and the other general registers 0,
; its own event mask (7), its own redraw flag and no IPC area of its own. It records
; what it sees in shared memory, sets its own area, sends its PID (read with function 9)
; to the main thread, waits for the main thread's reply and ends with function -1.
; The main thread checks everything, waits for the thread to end, then: send to the
; TID returns 4, 18.21 returns 0, its old slot reads as free (state 9).
; Finally 18.18 with an unknown PID returns -1.
include 'include/test.inc'
HEADER
START:
        mov     eax, 9
        mov     ebx, info
        mov     ecx, -1
        int     0x40
        mov     eax, [info+30]
        mov     [main_pid], eax

        mov     eax, 40                 ; main waits for IPC only
        mov     ebx, 0x40
        int     0x40
        mov     dword [main_area+0], 0
        mov     dword [main_area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, main_area
        mov     edx, 64
        int     0x40

        mov     eax, 51
        mov     ebx, 1
        mov     ecx, thread_entry
        mov     edx, thread_stack_top
        int     0x40
        mov     [tid], eax
        CHECK_NE eax, -1, '51.1 returns a TID'
        CHECK_NE eax, [main_pid], 'TID differs from own PID'

        mov     eax, 10                 ; wait for the thread's message
        int     0x40
        CHECK_EQ eax, 7, 'main: 10 returns 7 (message from the thread)'
        CHECK_EQ dword [main_area+4], 8 + 8 + 4, 'main area holds one 4-byte message'
        CHECK_EQ dword [main_area+8], [tid], 'message sender PID is the TID'
        CHECK_EQ dword [main_area+12], 4, 'message length 4'
        CHECK_EQ dword [main_area+16], [tid], 'thread read its own PID = TID with function 9'

        ; what the thread recorded before sending
        CHECK_EQ dword [t_esp], thread_stack_top, 'thread started with esp = stack top'
        CHECK_EQ dword [t_regs], 0, 'thread started with eax..ebp = 0'
        CHECK_EQ dword [t_event], 1, 'thread has its own redraw flag (11 returns 1)'
        CHECK_EQ dword [t_mask], 7, 'thread has its own mask (40 returns 7)'
        CHECK_EQ dword [t_noarea], 1, 'thread has no area at start (self-send returns 1)'
        CHECK_EQ dword [t_send], 0, 'thread send to main returned 0'

        ; the thread is alive, waiting for our reply: find its slot
        mov     eax, 18
        mov     ebx, 21
        mov     ecx, [tid]
        int     0x40
        mov     [t_slot], eax
        CHECK_NE eax, 0, '18.21 finds the live thread'

        mov     eax, 60                 ; reply: goes to the thread's own area
        mov     ebx, 2
        mov     ecx, [tid]
        mov     edx, reply
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 0, 'send to the thread returns 0'
        CHECK_EQ dword [main_area+4], 20, 'reply did not go into the main area'

        ; wait (at most ~200 x 5 hundredths) until the thread is gone
        mov     edi, 200
  .wait_end:
        mov     eax, 18
        mov     ebx, 21
        mov     ecx, [tid]
        int     0x40
        test    eax, eax
        jz      .ended
        dec     edi
        jz      .ended                  ; give up: eax is still the nonzero slot
        mov     eax, 5
        mov     ebx, 5
        int     0x40
        jmp     .wait_end
  .ended:
        CHECK_EQ eax, 0, '18.21 for the ended thread returns 0'

        CHECK_EQ dword [t_event2], 7, 'thread: 10 returned 7 for the reply'
        CHECK_EQ dword [thr_area+4], 20, 'thread area holds the reply'
        CHECK_EQ dword [thr_area+8], [main_pid], 'reply sender PID is the main PID'
        CHECK_EQ dword [thr_area+16], 'PONG', 'reply data'

        mov     eax, 60
        mov     ebx, 2
        mov     ecx, [tid]
        mov     edx, reply
        mov     esi, 4
        int     0x40
        CHECK_EQ eax, 4, 'send to the ended thread returns 4'

        mov     word [info+50], 0
        mov     eax, 9
        mov     ebx, info
        mov     ecx, [t_slot]
        int     0x40
        movzx   eax, word [info+50]
        CHECK_EQ eax, 9, 'old slot of the thread is free (state 9)'

        mov     eax, 18
        mov     ebx, 18
        mov     ecx, 0x7FFFFFFF
        int     0x40
        CHECK_EQ eax, -1, '18.18 with unknown PID returns -1'

        FINISH

; ---- the thread -------------------------------------------------------------
thread_entry:
        mov     [t_esp], esp
        or      eax, ebx
        or      eax, ecx
        or      eax, edx
        or      eax, esi
        or      eax, edi
        or      eax, ebp
        mov     [t_regs], eax

        mov     eax, 11                 ; own redraw flag, own default mask
        int     0x40
        mov     [t_event], eax
        mov     eax, 40
        mov     ebx, 0x40
        int     0x40
        mov     [t_mask], eax

        mov     eax, 9                  ; own PID
        mov     ebx, t_info
        mov     ecx, -1
        int     0x40
        mov     eax, [t_info+30]
        mov     [t_pid], eax

        mov     eax, 60                 ; no area of its own yet
        mov     ebx, 2
        mov     ecx, [t_pid]
        mov     edx, t_pid
        mov     esi, 4
        int     0x40
        mov     [t_noarea], eax

        mov     dword [thr_area+0], 0
        mov     dword [thr_area+4], 8
        mov     eax, 60
        mov     ebx, 1
        mov     ecx, thr_area
        mov     edx, 64
        int     0x40

        mov     eax, 60                 ; tell main our PID
        mov     ebx, 2
        mov     ecx, [main_pid]
        mov     edx, t_pid
        mov     esi, 4
        int     0x40
        mov     [t_send], eax

        mov     eax, 10                 ; wait for the reply
        int     0x40
        mov     [t_event2], eax

        mov     eax, -1
        int     0x40

TEST_LIB

reply   db      'PONG'

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
main_pid rd 1
tid      rd 1
t_slot   rd 1
; written by the thread
t_esp    rd 1
t_regs   rd 1
t_event  rd 1
t_mask   rd 1
t_pid    rd 1
t_noarea rd 1
t_send   rd 1
t_event2 rd 1
align 16
main_area: rb 64
thr_area:  rb 64
align 16
info:   rb 1024
t_info: rb 1024
align 16
rb 1024
thread_stack_top:
rb 4096
STACK_TOP:
MEM_END:
