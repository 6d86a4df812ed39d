; fs_lib - a KolibriOS library for ipcemu's tests: an MS COFF object as KolibriOS libraries are
; built (fasm "format MS COFF", an EXPORTS table of name/function pointer pairs ending with 0).
; Loaded by fs_libuse.kex with function 68.19. Written for ipcemu; no KolibriOS code is included.
;
; Exports:
;   lib_init       stdcall-free: called by the program with eax/ebx/ecx/edx = memory functions;
;                  remembers that it ran, returns 0
;   add2(a, b)     stdcall: a + b
;   get_msg()      address of the zero-terminated "library text" (a DIR32 relocation)
;   counter()      increments a counter in the library's data, returns it
;   far_call()     calls a function in another code section (a REL32 relocation), returns
;                  what it returns (0x600d) plus the lib_init flag (1 after lib_init)
;   scratch()      address of a 64-byte zero-filled buffer in a section without file data
format MS COFF

public EXPORTS

section '.flat' code readable align 16

lib_init:
        mov     [inited], 1
        xor     eax, eax
        ret

add2:
        mov     eax, [esp + 4]
        add     eax, [esp + 8]
        ret     8

get_msg:
        mov     eax, msg
        ret

counter:
        inc     dword [count]
        mov     eax, [count]
        ret

far_call:
        call    other
        add     eax, [inited]
        ret

scratch:
        mov     eax, buffer
        ret

section '.text2' code readable align 16
other:
        mov     eax, 0x600d
        ret

section '.data' data readable writable align 16

inited  dd 0
count   dd 0
msg     db 'library text', 0

align 4
EXPORTS:
        dd      sz_lib_init, lib_init
        dd      sz_add2, add2
        dd      sz_get_msg, get_msg
        dd      sz_counter, counter
        dd      sz_far_call, far_call
        dd      sz_scratch, scratch
        dd      0

sz_lib_init     db 'lib_init', 0
sz_add2         db 'add2', 0
sz_get_msg      db 'get_msg', 0
sz_counter      db 'counter', 0
sz_far_call     db 'far_call', 0
sz_scratch      db 'scratch', 0

section '.bss' data readable writable align 16
buffer  rb 64
