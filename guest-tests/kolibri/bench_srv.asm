; bench_srv.asm - ipcemu guest benchmark: minimal IPC echo server for round-trip timing.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/bench_srv.kex fixtures/kolibri/bench_cli.kex --params 2=100000
; Params: none.
;
; Like echo_srv without its checks: 4 KiB area, mask 0x40, every message is sent straight back to
; its sender (retrying on 2 locked / 3 full, dropping on 1 / 4). The 4-byte message "quit" ends it
; after printing
;     PASS bench_srv <n>          (n = messages echoed)
;     DONE <passes> <fails>

include 'include/test.inc'
include 'include/lib.inc'

AREA_SIZE = 4096

        HEADER

START:
        mov     ecx, area
        mov     edx, AREA_SIZE
        call    ipc_setup                       ; empty, unlocked, only event 7 (IPC)
        xor     ebp, ebp                        ; messages echoed

  .wait:
        mov     eax, 10
        int     0x40
        cmp     eax, 7
        jne     .wait
        mov     dword [area], 1                 ; lock while parsing
        mov     edi, area + 8
        xor     ebx, ebx                        ; "quit" seen
  .next:
        mov     eax, [area + 4]
        add     eax, area
        lea     ecx, [edi + 8]
        cmp     ecx, eax
        ja      .drained
        mov     esi, [edi + 4]                  ; length
        cmp     esi, 4
        jne     .echo
        cmp     dword [edi + 8], 'quit'
        jne     .echo
        inc     ebx
        jmp     .advance
  .echo:
        push    ebx
        mov     ecx, [edi]
        lea     edx, [edi + 8]
  .send:                                        ; (not send_retry: 1 is final for a reply)
        mov     eax, 60
        mov     ebx, 2
        int     0x40
        cmp     eax, 2
        jb      .sent                           ; 0 sent, 1 dropped
        cmp     eax, 3
        ja      .sent                           ; 4 dropped
        mov     eax, 68
        mov     ebx, 1
        int     0x40
        jmp     .send
  .sent:
        pop     ebx
        test    eax, eax
        jnz     .advance
        inc     ebp
  .advance:
        lea     edi, [edi + 8 + esi]
        jmp     .next
  .drained:
        mov     dword [area + 4], 8
        mov     dword [area], 0                 ; unlock
        test    ebx, ebx
        jz      .wait

        PRINT   'PASS bench_srv '
        mov     eax, ebp
        call    print_dec
        PRINTLN ''
        inc     dword [test_passes]
        FINISH

        TEST_LIB
        IPC_LIB

align 4096                      ; data on its own pages: guest stores never hit a code page
I_END:
PARAMS:         rb 256
PATH:           rb 1024
area:           rb AREA_SIZE
                rb 4096
STACK_TOP:
MEM_END:
