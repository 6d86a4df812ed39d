; params - the loader fills the header's parameter and path buffers.
; Prints the parameter buffer as "PARAMS <text>", then checks that the path buffer is
; non-empty and contains the program's file name "params".
; params.expected is the output for:   --params 1="hello world"
; i.e. the parameter buffer holds the zero-terminated string "hello world".
include 'include/test.inc'
HEADER
START:
        mov     byte [PARAMS + 255], 0  ; stay inside the buffer whatever it holds
        mov     byte [PATH + 255], 0
        PRINT   'PARAMS '
        mov     esi, PARAMS
        call    print_str
        PRINT   10

        movzx   eax, byte [PATH]
        CHECK_NE eax, 0, 'path buffer is non-empty'

        ; search "params" anywhere in the path
        xor     edx, edx                ; 1 when found
        mov     ebx, PATH
  .next:
        cmp     byte [ebx], 0
        je      .done
        mov     esi, ebx
        mov     edi, name
        mov     ecx, 6
        repe    cmpsb
        jne     .skip
        mov     edx, 1
        jmp     .done
  .skip:
        inc     ebx
        jmp     .next
  .done:
        CHECK_EQ edx, 1, 'path contains params'

        FINISH

TEST_LIB

name    db      'params'

I_END:
PARAMS  rb 256
PATH    rb 256
rb 4096
STACK_TOP:
MEM_END:
