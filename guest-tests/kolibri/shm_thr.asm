; shm_thr - function 68.22/68.23 with a thread: opens belong to the thread that made them. A
; thread (51.1) opens the main thread's area and ends without closing it: its open is closed
; with it (the main thread's close then frees the area), but its view stays mapped in the
; process and keeps showing the area's bytes, as in the kernel, which frees a thread's SMAP
; objects when it ends and user memory only with the process. A thread cannot close another
; thread's view (68.23 looks at the caller's own).
; Written for ipcemu; no KolibriOS code is included.
include 'include/test.inc'
HEADER

START:
        mov     eax, 68
        mov     ebx, 11
        int     0x40
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        mov     edx, 4096
        mov     esi, 0x08 + 0x01                ; SHM_CREATE + SHM_WRITE
        int     0x40
        mov     [v_main], eax
        CHECK_NE eax, 0, 'main created the area'
        mov     edi, [v_main]
        mov     dword [edi], 0xFEEDBEEF

        mov     eax, 51
        mov     ebx, 1
        mov     ecx, thread_entry
        mov     edx, thread_stack_top
        int     0x40
        CHECK_NE eax, -1, '51.1 starts the thread'
        mov     ecx, 1000                       ; wait for it to end (at most 10 s)
  .wait:
        cmp     dword [t_done], 1
        je      .ended
        push    ecx
        mov     eax, 5
        mov     ebx, 1
        int     0x40
        pop     ecx
        loop    .wait
  .ended:
        mov     eax, 5                          ; let it end
        mov     ebx, 2
        int     0x40
        CHECK_EQ [t_edx], 4096, 'the thread opened the area (edx = size)'
        mov     edx, [v_main]
        CHECK_NE [v_thr], edx, 'the thread''s view is a view of its own'
        CHECK_EQ [t_close], 0, 'the thread''s 68.23 of a name it has no view of did nothing'

        ; the main view is still open after the thread's close attempt
        mov     edi, [v_main]
        CHECK_EQ [edi + 4], 0x7EAD, 'main sees the thread''s store'
        ; the ended thread's view stays mapped in the process
        mov     esi, [v_thr]
        CHECK_EQ [esi], 0xFEEDBEEF, 'the ended thread''s view still shows the area'
        mov     dword [edi + 8], 0x5A5A
        CHECK_EQ [esi + 8], 0x5A5A, 'and still shares its bytes'

        ; the thread's open went with it: main's close is the last one
        mov     eax, 68
        mov     ebx, 23
        mov     ecx, area_name
        int     0x40
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        xor     edx, edx
        mov     esi, 0
        int     0x40
        CHECK_EQ edx, 5, 'after main''s close the area is gone (the thread''s open ended with it)'
        FINISH

thread_entry:
        mov     eax, 68
        mov     ebx, 23                         ; not this thread's view: nothing happens
        mov     ecx, area_name
        int     0x40
        mov     [t_close], eax
        mov     edi, [v_main]
        mov     eax, [edi]                      ; main's view is still there
        cmp     eax, 0xFEEDBEEF
        jne     .out
        mov     eax, 68
        mov     ebx, 22
        mov     ecx, area_name
        xor     edx, edx
        mov     esi, 0x01                       ; SHM_OPEN + SHM_WRITE
        int     0x40
        mov     [v_thr], eax
        mov     [t_edx], edx
        test    eax, eax
        jz      .out
        mov     dword [eax + 4], 0x7EAD
  .out:
        mov     dword [t_done], 1
        mov     eax, -1
        int     0x40

TEST_LIB

area_name db 'ipcemu.thr', 0

I_END:
PARAMS  rb 256
PATH    rb 256
align 16
v_main  rd 1
v_thr   rd 1
t_edx   rd 1
t_close rd 1
t_done  rd 1
rb 1024
thread_stack_top:
rb 4096
STACK_TOP:
MEM_END:
