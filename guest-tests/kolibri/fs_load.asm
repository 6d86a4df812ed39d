; fs_load - 68.27 gives a kpack-compressed file unpacked, as the kernel's load_file does.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_load.kex --root DIR
; Needs:  DIR/rd/1/packed.bin: "hello, kpack! " 100 times, kpack-compressed (the test packs it).
include 'include/test.inc'
        HEADER

START:
        mov     eax, 68
        mov     ebx, 27
        mov     ecx, name
        int     0x40
        CHECK_NE eax, 0, '68.27 of a kpack file returns an address'
        CHECK_EQ edx, 1400, '68.27 returns the unpacked size'
        test    eax, eax
        jz      .done
        ; every 14-byte piece is "hello, kpack! "
        mov     ebx, eax
        xor     edx, edx                ; pieces that differ
        mov     ebp, 100
  .piece:
        mov     esi, ebx
        mov     edi, piece
        mov     ecx, 14
        repe    cmpsb
        je      @f
        inc     edx
@@:
        add     ebx, 14
        dec     ebp
        jnz     .piece
        CHECK_EQ edx, 0, '68.27 gives the unpacked bytes'
  .done:
        FINISH

TEST_LIB

name    db '/sys/packed.bin', 0
piece   db 'hello, kpack! '

I_END:
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
