; pcerrs.asm - ipcemu guest test (DOS .COM, PC-IPC): error codes 01h and 04h-0Bh, delete-ID, and
; registers unchanged across the interrupt.
; Written for ipcemu; no PC-IPC code is included.
;
; Run:    ipcemu run fixtures/dos/pcerrs.com           (alone)
; Expect: fixtures/dos/pcerrs.expected; exit code = number of FAIL lines.
;
; Installs (as ID 0), requests IDs A and B (1 and 2 after the reset). Every check provokes exactly
; one error condition, so no check depends on the order in which PC-IPC tests its conditions.
; (02h, 03h and 0Ch are in pcinst.asm.) "[rule]" comments name the decision of docs/pc-ipc.md
; a check pins. Far data pointers: linear = segment * 16 + offset, no wrap at 1 MiB, and DOS
; guests have exactly 1 MiB (linear 00000h-FFFFFh).

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

ST_ON   equ     ST_ENABLED | ST_INSTALLED               ; 06h
ST_ONE  equ     ST_ON | ST_ERROR                        ; 0Eh

FLAGS_ALL equ   0CD7h   ; OF DF SF ZF AF PF CF set (and the reserved bit 1); TF, IF clear
FLAGS_CMP equ   0CD5h   ; the arithmetic flags and DF

; INQ id - inquire as id into freew
%macro INQ 1
        mov     word [freew], 0
        PC      PC_INQUIRE, %1, 0, 0, freew
%endmacro

; REGRUN cmd, caller, flags, base, 'prefix' - call PC-IPC with AX..BP = base + 1111h*n,
; DS = 2000h, ES = 3000h and the given flags, then check everything came back unchanged.
%macro REGRUN 5
        mov     word [pcb + PB_CMD], %1
        mov     ax, %2
        mov     [pcb + PB_CALLER], ax
        mov     word [pcb + PB_TO], 0
        mov     word [pcb + PB_SIZE], 0
        mov     word [pcb + PB_PTR], freew
        mov     [pcb + PB_PTR + 2], cs
        mov     word [pcb + PB_STATUS], SENTINEL
        mov     word [pcb + PB_ERROR], SENTINEL
        mov     [sp0], sp
        push    cs                              ; the block's far pointer: segment, then offset
        push    pcb
        mov     ax, 2000h
        mov     ds, ax
        mov     ax, 3000h
        mov     es, ax
        push    word %3
        popf
        mov     ax, (%4 + 1111h * 0) & 0FFFFh
        mov     bx, (%4 + 1111h * 1) & 0FFFFh
        mov     cx, (%4 + 1111h * 2) & 0FFFFh
        mov     dx, (%4 + 1111h * 3) & 0FFFFh
        mov     si, (%4 + 1111h * 4) & 0FFFFh
        mov     di, (%4 + 1111h * 5) & 0FFFFh
        mov     bp, (%4 + 1111h * 6) & 0FFFFh
        int     VECTOR
        pushf
        mov     [cs:r_ax], ax
        mov     [cs:r_bx], bx
        mov     [cs:r_cx], cx
        mov     [cs:r_dx], dx
        mov     [cs:r_si], si
        mov     [cs:r_di], di
        mov     [cs:r_bp], bp
        pop     word [cs:r_fl]
        mov     [cs:r_ds], ds
        mov     [cs:r_es], es
        mov     [cs:r_sp], sp
        mov     bp, sp
        mov     ax, [bp]                        ; ss:sp: the pushed offset
        mov     [cs:r_s0], ax
        mov     ax, [bp + 2]                    ; the pushed segment
        mov     [cs:r_s1], ax
        add     sp, 4
        push    cs
        pop     ds
        push    cs
        pop     es
        cld
%strcat %%n1 %5, ': AX unchanged'
%strcat %%n2 %5, ': BX unchanged'
%strcat %%n3 %5, ': CX unchanged'
%strcat %%n4 %5, ': DX unchanged'
%strcat %%n5 %5, ': SI unchanged'
%strcat %%n6 %5, ': DI unchanged'
%strcat %%n7 %5, ': BP unchanged'
%strcat %%n8 %5, ': DS unchanged'
%strcat %%n9 %5, ': ES unchanged'
%strcat %%na %5, ': SP unchanged'
%strcat %%nb %5, ': stack words unchanged (offset)'
%strcat %%nc %5, ': stack words unchanged (segment)'
%strcat %%nd %5, ': CF PF AF ZF SF DF OF unchanged'
        CHECK_EQ [r_ax], (%4 + 1111h * 0) & 0FFFFh, %%n1
        CHECK_EQ [r_bx], (%4 + 1111h * 1) & 0FFFFh, %%n2
        CHECK_EQ [r_cx], (%4 + 1111h * 2) & 0FFFFh, %%n3
        CHECK_EQ [r_dx], (%4 + 1111h * 3) & 0FFFFh, %%n4
        CHECK_EQ [r_si], (%4 + 1111h * 4) & 0FFFFh, %%n5
        CHECK_EQ [r_di], (%4 + 1111h * 5) & 0FFFFh, %%n6
        CHECK_EQ [r_bp], (%4 + 1111h * 6) & 0FFFFh, %%n7
        CHECK_EQ [r_ds], 2000h, %%n8
        CHECK_EQ [r_es], 3000h, %%n9
        mov     ax, [sp0]
        sub     ax, 4
        CHECK_EQ [r_sp], ax, %%na
        CHECK_EQ [r_s0], pcb, %%nb
        CHECK_EQ [r_s1], cs, %%nc
        mov     ax, [r_fl]
        and     ax, FLAGS_CMP
        CHECK_EQ ax, (%3) & FLAGS_CMP, %%nd
%endmacro

start:
        PC      PC_INSTALL, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'install returns 0'
        PC      PC_REQID, 0, 0, 0, buf
        mov     ax, R_CALLER
        mov     [id_a], ax
        PC      PC_REQID, 0, 0, 0, buf
        mov     ax, R_CALLER
        mov     [id_b], ax
        CHECK_EQ [id_a], 1, 'ID A is 1'
        CHECK_EQ [id_b], 2, 'ID B is 2'

        ; ---- registers, flags and stack unchanged ([the call]) -----------------------------------
        REGRUN  PC_INQUIRE, [id_a], FLAGS_ALL, 1234h, 'inquire, flags set'
        CHECK_EQ R_ERR, E_OK, 'inquire, flags set: returns 0'
        CHECK_EQ [freew], POOL_SIZE, 'inquire, flags set: 16384 bytes free'
        REGRUN  0FFh, [id_a], 0002h, 8765h, 'command 0FFh, flags clear'
        CHECK_EQ R_ERR, E_INVALID, 'command 0FFh, flags clear: returns 01h'

        ; ---- 01h: invalid command ([unknown command: 01h, including 00h and 05h]) -----------------
        PC      00h, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_INVALID, 'command 00h returns 01h'
        CHECK_EQ R_STATUS, ST_ONE, 'command 00h: status 0Eh'
        PC      05h, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_INVALID, 'command 05h returns 01h'
        PC      0Ch, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_INVALID, 'command 0Ch returns 01h'
        PC      0FFh, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_INVALID, 'command 0FFh returns 01h'
        ; the command code is a whole word: 0106h is not read (06h)
        PC      0106h, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_INVALID, 'command 0106h returns 01h'

        ; ---- 05h, 04h: disable / enable ----------------------------------------------------------
        ; [disable: 05h for an unrecognised caller]
        PC      PC_DISABLE, 25, 0, 0, buf
        CHECK_EQ R_ERR, E_NODISABLE, 'disable by ID 25 (not handed out) returns 05h'
        CHECK_EQ R_STATUS, ST_ONE, 'failed disable: status 0Eh (still enabled)'
        PC      PC_DISABLE, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'disable by A returns 0'
        CHECK_EQ R_STATUS, ST_INSTALLED, 'disabled: status 04h'
        ; [while disabled: send returns 04h]
        PC      PC_SEND, [id_a], [id_b], 5, hello
        CHECK_EQ R_ERR, E_DISABLED, 'send while disabled returns 04h'
        CHECK_EQ R_STATUS, ST_INSTALLED | ST_ERROR, 'send while disabled: status 0Ch'
        ; [while disabled: read, inquire, request/delete ID still work]
        INQ     [id_b]
        CHECK_EQ R_ERR, E_OK, 'inquire while disabled returns 0'
        CHECK_EQ R_SIZE, 0, 'send while disabled queued nothing'
        CHECK_EQ [freew], POOL_SIZE, 'send while disabled: 16384 bytes free'
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'read while disabled returns 0'
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'request-ID while disabled returns 0'
        PC      PC_DELID, R_CALLER, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'delete-ID while disabled returns 0'
        ; [disable: 05h when another ID already disabled it; twice by the same ID is fine]
        PC      PC_DISABLE, [id_b], 0, 0, buf
        CHECK_EQ R_ERR, E_NODISABLE, 'disable by B while disabled by A returns 05h'
        PC      PC_DISABLE, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'disable by A again returns 0'
        ; [enable: any other caller is ignored without an error]
        PC      PC_ENABLE, [id_b], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'enable by B returns 0'
        CHECK_EQ R_STATUS, ST_INSTALLED, 'enable by B is ignored: status 04h'
        PC      PC_ENABLE, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'enable by ID 0 returns 0'
        PC      PC_ENABLE, 25, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'enable by ID 25 (not handed out) returns 0'
        PC      PC_SEND, [id_a], [id_b], 5, hello
        CHECK_EQ R_ERR, E_DISABLED, 'after the ignored enables send still returns 04h'
        ; [enable: only the ID that disabled re-enables]
        PC      PC_ENABLE, [id_a], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'enable by A returns 0'
        CHECK_EQ R_STATUS, ST_ON, 'enabled again: status 06h'
        PC      PC_SEND, [id_a], [id_b], 5, hello
        CHECK_EQ R_ERR, E_OK, 'send after enable by A returns 0'
        PC      PC_READ, [id_b], 0, 0, buf
        CHECK_EQ R_SIZE, 5, 'and B reads it'

        ; ---- 06h, 07h: unrecognised IDs ------------------------------------------------------------
        ; [destination not recognised: 06h]
        PC      PC_SEND, [id_a], 25, 5, hello
        CHECK_EQ R_ERR, E_BADDEST, 'send to ID 25 (not handed out) returns 06h'
        CHECK_EQ R_STATUS, ST_ONE, 'send to ID 25: status 0Eh'
        PC      PC_SEND, [id_a], 0FFFFh, 5, hello
        CHECK_EQ R_ERR, E_BADDEST, 'send to ID 0FFFFh returns 06h'
        ; [caller not recognised: 07h for send, read and read-wait]
        PC      PC_SEND, 25, [id_a], 5, hello
        CHECK_EQ R_ERR, E_BADSENDER, 'send from ID 25 returns 07h'
        PC      PC_READ, 25, 0, 0, buf
        CHECK_EQ R_ERR, E_BADSENDER, 'read as ID 25 returns 07h'
        ; (returns at once: blocking here would be a deadlock)
        PC      PC_READW, 25, 0, 0, buf
        CHECK_EQ R_ERR, E_BADSENDER, 'read-wait as ID 25 returns 07h'
        INQ     [id_a]
        CHECK_EQ [freew], POOL_SIZE, 'nothing was queued by the failed sends'

        ; ---- 08h: invalid data buffer ----------------------------------------------------------------
        ; [the data buffer is checked before anything changes: outside guest memory gives 08h]
        ; FFFF:FFF0 is linear 10FFE0h, past the 1 MiB of a DOS guest
        PCSEG   PC_SEND, [id_a], [id_b], 64, 0FFFFh, 0FFF0h
        CHECK_EQ R_ERR, E_BADDATA, 'send from FFFF:FFF0 returns 08h'
        CHECK_EQ R_STATUS, ST_ONE, 'send from FFFF:FFF0: status 0Eh'
        ; F000:FFF0 is linear FFFF0h: 16 bytes below 1 MiB, so 64 bytes run past the end
        PCSEG   PC_SEND, [id_a], [id_b], 64, 0F000h, 0FFF0h
        CHECK_EQ R_ERR, E_BADDATA, 'send of 64 bytes from F000:FFF0 returns 08h'
        INQ     [id_b]
        CHECK_EQ R_SIZE, 0, 'failed sends queued nothing'
        CHECK_EQ [freew], POOL_SIZE, 'failed sends: 16384 bytes free'
        ; ... and 16 bytes end exactly at 1 MiB: fine
        PCSEG   PC_SEND, [id_a], [id_b], 16, 0F000h, 0FFF0h
        CHECK_EQ R_ERR, E_OK, 'send of 16 bytes from F000:FFF0 returns 0'
        PC      PC_READ, [id_b], 0, BUF_LEN, buf
        CHECK_EQ R_SIZE, 16, 'B reads the 16 bytes'
        ; reads into a buffer past the end: 08h and the message stays
        PC      PC_SEND, [id_a], [id_b], 5, hello
        PCSEG   PC_READ, [id_b], 0, 0, 0FFFFh, 0FFF0h
        CHECK_EQ R_ERR, E_BADDATA, 'read into FFFF:FFF0 returns 08h'
        CHECK_EQ R_STATUS, ST_ONE | ST_MESSAGES, 'read into FFFF:FFF0: status 1Eh (message stays)'
        PCSEG   PC_READ, [id_b], 0, 0, 0F000h, 0FFFCh
        CHECK_EQ R_ERR, E_BADDATA, 'read of 5 bytes into F000:FFFC (4 bytes left) returns 08h'
        INQ     [id_b]
        CHECK_EQ R_SIZE, 1, 'the message is still queued'
        PCSEG   PC_READ, [id_b], 0, 0, 0F000h, 0FFFBh
        CHECK_EQ R_ERR, E_OK, 'read of 5 bytes into F000:FFFB (ends at 1 MiB) returns 0'
        push    ds
        mov     ax, 0F000h
        mov     ds, ax
        mov     si, 0FFFBh
        mov     di, buf
        mov     cx, 5
        rep     movsb
        pop     ds
        CHECK_MEM buf, 'hello', 'F000:FFFB holds "hello"'
        ; [read: a message longer than a stated capacity gives 08h and stays queued]
        PC      PC_SEND, [id_a], [id_b], 5, hello
        PC      PC_READ, [id_b], 0, 4, buf
        CHECK_EQ R_ERR, E_BADDATA, 'read with capacity 4 of 5 bytes returns 08h'
        PC      PC_READ, [id_b], 0, 5, buf
        CHECK_EQ R_ERR, E_OK, 'read with capacity 5 returns 0'
        ; inquire writes a word: the whole word must fit
        PCSEG   PC_INQUIRE, [id_a], 0, 0, 0FFFFh, 0FFF0h
        CHECK_EQ R_ERR, E_BADDATA, 'inquire into FFFF:FFF0 returns 08h'
        PCSEG   PC_INQUIRE, [id_a], 0, 0, 0F000h, 0FFFFh
        CHECK_EQ R_ERR, E_BADDATA, 'inquire into F000:FFFF (1 byte left) returns 08h'
        PCSEG   PC_INQUIRE, [id_a], 0, 0, 0F000h, 0FFFEh
        CHECK_EQ R_ERR, E_OK, 'inquire into F000:FFFE returns 0'
        PCSEG   PC_VERS, 0, 0, 0, 0FFFFh, 0FFF0h
        CHECK_EQ R_ERR, E_BADDATA, 'version into FFFF:FFF0 returns 08h'

        ; ---- 09h: no more IDs ([request-ID: lowest free of 1..32; 09h when none is left]) ------
        xor     cx, cx                          ; IDs handed out
        xor     dx, dx                          ; the last one
  .req:
        PC      PC_REQID, 0, 0, 0, buf
        test    ax, ax
        jnz     .req_end
        inc     cx
        mov     dx, R_CALLER
        cmp     cx, 100                         ; safety net
        jb      .req
  .req_end:
        CHECK_EQ cx, MAX_IDS - 2, '30 more IDs handed out'
        CHECK_EQ dx, MAX_IDS, 'the last ID is 32'
        CHECK_EQ R_ERR, E_NOIDS, 'request-ID with 32 IDs handed out returns 09h'
        CHECK_EQ R_STATUS, ST_ONE, 'request-ID with none left: status 0Eh'
        PC      PC_DELID, 17, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'delete ID 17 returns 0'
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_CALLER, 17, 'request-ID then hands out 17 (the lowest free)'
        ; give back 3..32
        xor     dx, dx                          ; failures
        mov     cx, 3
  .del:
        PC      PC_DELID, cx, 0, 0, buf
        or      dx, ax
        inc     cx
        cmp     cx, MAX_IDS
        jbe     .del
        CHECK_EQ dx, 0, 'delete IDs 3..32 returns 0 for each'

        ; ---- 0Ah: delete-ID ----------------------------------------------------------------------
        ; [delete-ID: 0Ah for ID 0 or an ID not handed out]
        PC      PC_DELID, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_NORELINQ, 'delete ID 0 returns 0Ah'
        CHECK_EQ R_STATUS, ST_ONE, 'delete ID 0: status 0Eh'
        PC      PC_DELID, 25, 0, 0, buf
        CHECK_EQ R_ERR, E_NORELINQ, 'delete ID 25 (not handed out) returns 0Ah'
        ; [delete-ID frees the caller's ID; messages still addressed to it are dropped; if that ID
        ;  had disabled IPC, IPC is re-enabled]
        PC      PC_REQID, 0, 0, 0, buf
        mov     ax, R_CALLER
        mov     [id_c], ax
        PC      PC_SEND, [id_a], [id_c], 5, hello
        PC      PC_SEND, [id_a], [id_c], 3, hello
        INQ     [id_c]
        CHECK_EQ R_SIZE, 2, 'C has 2 messages'
        PC      PC_DISABLE, [id_c], 0, 0, buf
        CHECK_EQ R_STATUS, ST_INSTALLED | ST_MESSAGES, 'disabled by C'
        PC      PC_DELID, [id_c], 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'delete ID C returns 0'
        CHECK_EQ R_STATUS, ST_ON, 'delete of the disabler re-enables: status 06h'
        INQ     [id_a]
        CHECK_EQ [freew], POOL_SIZE, "delete dropped C's messages: 16384 bytes free"
        PC      PC_SEND, [id_a], [id_c], 5, hello
        CHECK_EQ R_ERR, E_BADDEST, 'send to the deleted ID returns 06h'
        PC      PC_READ, [id_c], 0, 0, buf
        CHECK_EQ R_ERR, E_BADSENDER, 'read as the deleted ID returns 07h'
        PC      PC_DELID, [id_c], 0, 0, buf
        CHECK_EQ R_ERR, E_NORELINQ, 'delete the deleted ID again returns 0Ah'

        ; ---- 0Bh: message space full ([one pool of 16384; each message costs size + 8; a send
        ;      that does not fit fails with 0Bh and changes nothing]) ------------------------------
        ; the data is whatever lies at DS:0000 (the PSP and this program)
        PC      PC_SEND, [id_a], [id_b], POOL_SIZE - MSG_OVERHEAD + 1, 0
        CHECK_EQ R_ERR, E_FULL, 'send of 16377 bytes (costs 16385) returns 0Bh'
        CHECK_EQ R_STATUS, ST_ONE, 'send of 16377 bytes: status 0Eh'
        INQ     [id_b]
        CHECK_EQ [freew], POOL_SIZE, 'after it 16384 bytes are still free'
        CHECK_EQ R_SIZE, 0, 'after it B has 0 messages'
        PC      PC_SEND, [id_a], [id_b], POOL_SIZE - MSG_OVERHEAD, 0
        CHECK_EQ R_ERR, E_OK, 'send of 16376 bytes (costs 16384) returns 0'
        INQ     [id_b]
        CHECK_EQ [freew], 0, 'the pool is full: 0 bytes free'
        PC      PC_SEND, [id_a], [id_b], 1, hello
        CHECK_EQ R_ERR, E_FULL, 'send of 1 byte into the full pool returns 0Bh'
        PC      PC_SEND, [id_a], [id_b], 0, hello
        CHECK_EQ R_ERR, E_FULL, 'send of 0 bytes into the full pool returns 0Bh'
        PC      PC_SEND, [id_b], [id_a], 1, hello
        CHECK_EQ R_ERR, E_FULL, 'the pool is shared: send B->A returns 0Bh'
        INQ     [id_b]
        CHECK_EQ [freew], 0, 'the failed sends changed nothing: 0 bytes free'
        CHECK_EQ R_SIZE, 1, 'the failed sends changed nothing: B has 1 message'
        PC      PC_READ, [id_b], 0, 0, big
        CHECK_EQ R_SIZE, POOL_SIZE - MSG_OVERHEAD, 'B reads the 16376 bytes'
        INQ     [id_b]
        CHECK_EQ [freew], POOL_SIZE, 'after the read 16384 bytes are free'
        ; two messages that fill the pool exactly: 16367 + 8 + 1 + 8 = 16384
        PC      PC_SEND, [id_a], [id_b], POOL_SIZE - 2 * MSG_OVERHEAD - 1, 0
        CHECK_EQ R_ERR, E_OK, 'send of 16367 bytes returns 0'
        INQ     [id_b]
        CHECK_EQ [freew], 9, 'then 9 bytes are free'
        PC      PC_SEND, [id_a], [id_b], 2, hello
        CHECK_EQ R_ERR, E_FULL, 'send of 2 bytes (costs 10) returns 0Bh'
        PC      PC_SEND, [id_a], [id_b], 1, hello
        CHECK_EQ R_ERR, E_OK, 'send of 1 byte (costs 9) returns 0'
        PC      PC_SEND, [id_a], [id_b], 0, hello
        CHECK_EQ R_ERR, E_FULL, 'then a 0-byte send returns 0Bh'
        PC      PC_READ, [id_b], 0, 0, big
        PC      PC_READ, [id_b], 0, 0, big
        CHECK_EQ R_SIZE, 1, 'B reads both'
        INQ     [id_b]
        CHECK_EQ [freew], POOL_SIZE, 'the pool is empty again'

        DONE_EXIT

        PCIPC_LIB

        section .data
hello   db      'hello'

        section .bss
id_a    resw    1
id_b    resw    1
id_c    resw    1
freew   resw    1
sp0     resw    1
r_ax    resw    1
r_bx    resw    1
r_cx    resw    1
r_dx    resw    1
r_si    resw    1
r_di    resw    1
r_bp    resw    1
r_fl    resw    1
r_ds    resw    1
r_es    resw    1
r_sp    resw    1
r_s0    resw    1
r_s1    resw    1
BUF_LEN equ     64
buf     resb    BUF_LEN
big     resb    POOL_SIZE
