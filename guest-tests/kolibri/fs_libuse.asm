; fs_libuse - function 68.19 loads our own fasm-built MS COFF library (lib/fs_lib.asm) from the
; file system; the program finds the exports by name in the table 68.19 returns (as a program's
; import code does), calls lib_init and every export. Loading it again gives the same table; a
; missing file and a file that is not a library give 0.
; Written for ipcemu; no KolibriOS code is included.
;
; Run:    ipcemu run fixtures/kolibri/fs_libuse.kex --root DIR
; Needs:  DIR/rd/1/lib/fs_lib.obj (fixtures/kolibri/fs_lib.obj) and DIR/rd/1/hello.txt.
include 'include/test.inc'
        HEADER

; IMPORT 'name', var - find an export by name, store its address in var (0 if missing)
macro IMPORT name, var
{
        local   .str, .skip
        jmp     .skip
  .str  db      name, 0
  .skip:
        mov     esi, .str
        call    find_export
        mov     [var], eax
}

START:
        cld
        mov     eax, 68
        mov     ebx, 19
        mov     ecx, lib_name
        int     0x40
        mov     [exports], eax
        CHECK_NE eax, 0, '68.19 returns an export table'
        test    eax, eax
        jz      .end
        IMPORT  'lib_init', p_init
        IMPORT  'add2', p_add2
        IMPORT  'get_msg', p_msg
        IMPORT  'counter', p_counter
        IMPORT  'far_call', p_far
        IMPORT  'scratch', p_scratch
        IMPORT  'nothing', p_none
        CHECK_EQ [p_none], 0, 'a name the library does not export is not found'
        mov     eax, [exports]
        mov     eax, [eax]
        mov     esi, s_lib_init
        call    str_eq
        CHECK_EQ eax, 1, 'the first export is lib_init'
        CHECK_NE [p_init], 0, 'lib_init is exported'
        CHECK_NE [p_add2], 0, 'add2 is exported'
        CHECK_NE [p_msg], 0, 'get_msg is exported'
        CHECK_NE [p_counter], 0, 'counter is exported'
        CHECK_NE [p_far], 0, 'far_call is exported'
        CHECK_NE [p_scratch], 0, 'scratch is exported'
        cmp     [p_init], 0
        je      .end
        cmp     [p_scratch], 0
        je      .end
        ; lib_init(eax = alloc, ebx = free, ecx = realloc, edx = load): ours are 0
        xor     eax, eax
        xor     ebx, ebx
        xor     ecx, ecx
        xor     edx, edx
        call    [p_init]
        CHECK_EQ eax, 0, 'lib_init returns 0'
        push    2
        push    40
        call    [p_add2]
        CHECK_EQ eax, 42, 'add2(40, 2) is 42'
        call    [p_msg]
        mov     esi, s_msg
        call    str_eq
        CHECK_EQ eax, 1, 'get_msg points at the library text (DIR32)'
        call    [p_counter]
        CHECK_EQ eax, 1, 'counter() is 1'
        call    [p_counter]
        CHECK_EQ eax, 2, 'counter() is 2: the library data is writable'
        call    [p_far]
        CHECK_EQ eax, 0x600e, 'far_call reaches the other section (REL32) after lib_init'
        call    [p_scratch]
        mov     edi, eax
        mov     ecx, 64
        xor     eax, eax
        repe    scasb
        sete    al
        movzx   eax, al
        CHECK_EQ eax, 1, 'the section without file data is zero-filled'
        ; again: the same table (the library is loaded once per process)
        mov     eax, 68
        mov     ebx, 19
        mov     ecx, lib_name
        int     0x40
        CHECK_EQ eax, [exports], '68.19 again returns the same table'
        call    [p_counter]
        CHECK_EQ eax, 3, 'the library state is kept'
  .end:
        mov     eax, 68
        mov     ebx, 19
        mov     ecx, missing_name
        int     0x40
        CHECK_EQ eax, 0, '68.19 of a missing file returns 0'
        mov     eax, 68
        mov     ebx, 19
        mov     ecx, text_name
        int     0x40
        CHECK_EQ eax, 0, '68.19 of a file that is not a library returns 0'
        FINISH

; find_export: esi -> name; eax = the function of that name in [exports], or 0
find_export:
        push    ebx
        mov     ebx, [exports]
  .next:
        mov     eax, [ebx]
        test    eax, eax
        jz      .out
        call    str_eq
        test    eax, eax
        jnz     .found
        add     ebx, 8
        jmp     .next
  .found:
        mov     eax, [ebx + 4]
  .out:
        pop     ebx
        ret

; str_eq: eax -> string, esi -> string; eax = 1 when equal, else 0
str_eq:
        push    esi
        push    edi
        push    ecx
        mov     edi, eax
  .c:
        mov     cl, [esi]
        cmp     cl, [edi]
        jne     .no
        inc     esi
        inc     edi
        test    cl, cl
        jnz     .c
        mov     eax, 1
        jmp     .r
  .no:
        xor     eax, eax
  .r:
        pop     ecx
        pop     edi
        pop     esi
        ret

TEST_LIB

lib_name        db '/sys/lib/fs_lib.obj', 0
missing_name    db '/sys/lib/none.obj', 0
text_name       db '/sys/hello.txt', 0
s_lib_init      db 'lib_init', 0
s_msg           db 'library text', 0

I_END:
exports         dd ?
p_init          dd ?
p_add2          dd ?
p_msg           dd ?
p_counter       dd ?
p_far           dd ?
p_scratch       dd ?
p_none          dd ?
PARAMS  rb 256
PATH    rb 256
        rb 4096
STACK_TOP:
MEM_END:
