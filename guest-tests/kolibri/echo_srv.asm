; echo_srv.asm - ipcemu guest test: the server half of the two-process IPC echo pair.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/echo_srv.kex fixtures/kolibri/echo_cli.kex --params 2=1000
; Params: number of "quit" messages to wait for before ending (default 1: one per client).
;
; Sets a 4 KiB IPC area (function 60.1) and event mask 0x40, then waits with function 10. On each
; event 7 it locks the area (+0 = 1), sends every message back unchanged to its sender (retrying
; while the receiver's area is locked (2) or full (3); 1 and 4 count as lost replies), then resets
; +4 to 8 and unlocks. A 4-byte message "quit" is not echoed; once enough of them have arrived it prints
;     PASS echo_srv served <n> messages
; and DONE <passes> <fails>, and ends.

include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 4096

        HEADER

START:
        cld
        mov     esi, PARAMS
        call    parse_uint
        jnc     @f
        mov     eax, 1
@@:     test    eax, eax
        jnz     @f
        inc     eax
@@:     mov     [quits_wanted], eax

        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup                       ; empty, unlocked, only event 7 (IPC)

  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait

        mov     dword [area], 1                 ; lock while parsing
        mov     edi, area + 8                   ; first message
        mov     ebp, [area + 4]
        add     ebp, area                       ; end of used data
  .next:
        lea     eax, [edi + 8]
        cmp     eax, ebp
        ja      .drained
        mov     esi, [edi + 4]                  ; length
        lea     eax, [edi + 8 + esi]
        cmp     eax, ebp
        ja      .drained                        ; truncated message: ignore the rest
        cmp     esi, 4
        jne     .echo
        cmp     dword [edi + 8], 'quit'
        jne     .echo
        inc     dword [quits_seen]
        jmp     .advance
  .echo:
        mov     ecx, [edi]                      ; sender PID
        lea     edx, [edi + 8]                  ; data, esi = length
  .send:                                        ; (not send_retry: 1 is final for a reply)
        mov     eax, 60
        mov     ebx, 2
        int     0x40
        test    eax, eax
        jz      .sent
        cmp     eax, 2
        jb      .lost                           ; 1: sender has no area
        cmp     eax, 3
        ja      .lost                           ; 4: sender gone
        mov     eax, 68                         ; 2/3: let the client run, then retry
        mov     ebx, 1
        int     0x40
        jmp     .send
  .lost:
        inc     dword [lost]
        mov     [lost_code], eax
        jmp     .advance
  .sent:
        inc     dword [served]
  .advance:
        lea     edi, [edi + 8 + esi]
        jmp     .next
  .drained:
        mov     dword [area + 4], 8
        mov     dword [area], 0                 ; unlock
        mov     eax, [quits_seen]
        cmp     eax, [quits_wanted]
        jb      .wait

        cmp     dword [lost], 0
        jne     .bad
        PRINT   'PASS echo_srv served '
        mov     eax, [served]
        call    print_dec
        PRINTLN ' messages'
        inc     dword [test_passes]
        FINISH
  .bad:
        PRINT   'FAIL echo_srv served '
        mov     eax, [served]
        call    print_dec
        PRINT   ' messages, lost '
        mov     eax, [lost]
        call    print_dec
        PRINT   ' replies, last error '
        mov     eax, [lost_code]
        call    print_dec
        PRINTLN ''
        inc     dword [test_fails]
        FINISH

        TEST_LIB
        IPC_LIB

align 4
quits_wanted    dd 0
quits_seen      dd 0
served          dd 0
lost            dd 0
lost_code       dd 0

align 16
I_END:
PARAMS:         rb 256
PATH:           rb 1024
area:           rb AREA_SIZE
                rb 4096
STACK_TOP:
MEM_END:
