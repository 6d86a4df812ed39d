; pc32.asm - ipcemu guest test: a 32-bit KolibriOS program using PC-IPC (int 0x60).
; Written for ipcemu; no KolibriOS or PC-IPC code is included.
;
; Run:    ipcemu run fixtures/kolibri/pc32.kex       (alone; also with --pcipc-preinstalled)
; Expect: fixtures/kolibri/pc32.expected
;
; 32-bit guests push the LINEAR address of the 16-byte parameter block, execute int 0x60 and
; pop it (push pcb / int 0x60 / add esp, 4); the block's data pointer is linear too
; (docs/pc-ipc.md, "The call"). Self-contained: installs PC-IPC as ID 0 only if it is not
; installed yet, checks the version, requests an ID, sends a message to that same ID and reads it
; back with read-wait (which returns at once when a message is there), checks that registers,
; flags and the stack are unchanged across the call and that a data pointer outside the program's
; memory gives 08h, and deletes its ID.

include 'include/test.inc'
include 'include/lib.inc'

VECTOR   = 0x60

FLAGS_SET = 0x0ED7      ; OF DF IF SF ZF AF PF CF (and bit 1)
FLAGS_CLR = 0x0202      ; IF only
FLAGS_CMP = 0x0CD5      ; the arithmetic flags and DF

        HEADER

START:
        cld
        ; ---- installed ----------------------------------------------------------------------------
        PC      PC_INQUIRE, 0, 0, 0, freew
        test    dword [r_status], ST_INSTALLED
        jnz     .installed
        PC      PC_INSTALL, 0, 0, 0, freew
  .installed:
        PC      PC_INQUIRE, 0, 0, 0, freew
        CHECK_EQ dword [r_err], 0, 'inquire as ID 0 returns 0'
        mov     eax, [r_status]
        and     eax, ST_ENABLED or ST_INSTALLED
        CHECK_EQ eax, ST_ENABLED or ST_INSTALLED, 'PC-IPC is installed and enabled'

        ; ---- version ------------------------------------------------------------------------------
        mov     dword [vbuf + 8], '****'
        PC      PC_VERS, 0, 0, 0, vbuf
        CHECK_EQ dword [r_err], 0, 'version returns 0'
        CHECK_EQ dword [r_size], 11, 'version: size 11'
        CHECK_EQ dword [vbuf], 'PC-I', 'version: bytes 0-3 "PC-I"'
        CHECK_EQ dword [vbuf + 4], 'PC 1', 'version: bytes 4-7 "PC 1"'
        CHECK_EQ dword [vbuf + 8], '.00*', 'version: bytes 8-10 ".00", no terminator'

        ; ---- an ID and a message to itself -----------------------------------------------------
        PC      PC_REQID, 0, 0, 0, freew
        CHECK_EQ dword [r_err], 0, 'request-ID returns 0'
        mov     eax, [r_caller]
        mov     [id_a], eax
        CHECK_NE eax, 0, 'the new ID is not 0'

        PC      PC_INQUIRE, [id_a], 0, 0, freew
        movzx   eax, word [freew]
        mov     [free0], eax
        CHECK_EQ dword [r_size], 0, 'inquire as the new ID: 0 messages'

        PC      PC_SEND, [id_a], [id_a], 7, msg
        CHECK_EQ dword [r_err], 0, 'send to its own ID returns 0'
        ; [status 10h: messages waiting for the caller] - it sent one to itself
        CHECK_EQ dword [r_status], ST_ENABLED or ST_INSTALLED or ST_MESSAGES, 'send to self: status 16h'

        PC      PC_INQUIRE, [id_a], 0, 0, freew
        CHECK_EQ dword [r_size], 1, 'inquire: 1 message'
        movzx   eax, word [freew]
        mov     ebx, [free0]
        sub     ebx, 7 + 8
        CHECK_EQ eax, ebx, 'inquire: 15 bytes fewer free (7 + 8)'

        mov     dword [rbuf], '****'
        mov     dword [rbuf + 4], '****'
        PC      PC_READW, [id_a], 0, 0, rbuf
        CHECK_EQ dword [r_err], 0, 'read-wait with a message there returns 0'
        CHECK_EQ dword [r_size], 7, 'read-wait: size 7'
        CHECK_EQ dword [r_to], [id_a], 'read-wait: to ID = itself'
        CHECK_EQ dword [rbuf], 'koli', 'read-wait: bytes 0-3 "koli"'
        CHECK_EQ dword [rbuf + 4], 'bri*', 'read-wait: bytes 4-6 "bri", nothing after'
        CHECK_EQ dword [r_status], ST_ENABLED or ST_INSTALLED, 'read-wait: status 06h'

        PC      PC_INQUIRE, [id_a], 0, 0, freew
        movzx   eax, word [freew]
        CHECK_EQ eax, [free0], 'after the read: free space as before'

        ; ---- registers, flags and stack unchanged --------------------------------------------------
        mov     eax, [id_a]
        mov     ebx, FLAGS_SET
        mov     ecx, 0x11111111
        call    reg_run
        CHECK_EQ dword [r_err], 0, 'inquire, flags set: returns 0'
        mov     esi, 0
        call    reg_checks
        mov     eax, 0xFF
        mov     ebx, FLAGS_CLR
        mov     ecx, 0x87654321
        call    reg_run
        CHECK_EQ dword [r_err], 1, 'command 0FFh, flags clear: returns 01h'
        mov     esi, 1
        call    reg_checks

        ; ---- a data pointer outside the program's memory ------------------------------------------
        PC      PC_SEND, [id_a], [id_a], 16, 0xFFFFFF00
        CHECK_EQ dword [r_err], E_BADDATA, 'send from linear 0xFFFFFF00 returns 08h'
        PC      PC_INQUIRE, [id_a], 0, 0, freew
        CHECK_EQ dword [r_size], 0, 'the failed send queued nothing'

        PC      PC_DELID, [id_a], 0, 0, freew
        CHECK_EQ dword [r_err], 0, 'delete-ID returns 0'

        FINISH

; reg_run: eax = command (caller = id_a for inquire), ebx = flags, ecx = base value.
; Calls PC-IPC with eax..ebp = base + n * 0x01010101 and the given flags, and stores what came
; back in s_* (expected values in x_*).
reg_run:
        mov     word [pcb + 4], ax
        mov     edx, [id_a]
        mov     word [pcb + 0], dx
        mov     word [pcb + 2], 0
        mov     word [pcb + 10], 0
        mov     dword [pcb + 12], freew
        mov     word [pcb + 6], PC_SENTINEL
        mov     word [pcb + 8], PC_SENTINEL
        mov     [x_fl], ebx
        mov     eax, ecx
        mov     edi, x_regs
        mov     edx, 7
  .fill:
        stosd
        add     eax, 0x01010101
        dec     edx
        jnz     .fill
        mov     [x_esp], esp
        sub     dword [x_esp], 4
        push    pcb
        push    dword [x_fl]
        popfd
        mov     eax, [x_regs + 0]
        mov     ebx, [x_regs + 4]
        mov     ecx, [x_regs + 8]
        mov     edx, [x_regs + 12]
        mov     esi, [x_regs + 16]
        mov     edi, [x_regs + 20]
        mov     ebp, [x_regs + 24]
        int     VECTOR
        pushfd
        mov     [s_regs + 0], eax
        mov     [s_regs + 4], ebx
        mov     [s_regs + 8], ecx
        mov     [s_regs + 12], edx
        mov     [s_regs + 16], esi
        mov     [s_regs + 20], edi
        mov     [s_regs + 24], ebp
        pop     dword [s_fl]
        mov     [s_esp], esp
        mov     eax, [esp]
        mov     [s_top], eax
        add     esp, 4
        cld
        call    get_results
        ret

; reg_checks: esi = 0 (first run) or 1 (second run); selects the names
reg_checks:
        test    esi, esi
        jnz     .second
        CHECK_EQ [s_regs + 0], [x_regs + 0], 'inquire, flags set: EAX unchanged'
        CHECK_EQ [s_regs + 4], [x_regs + 4], 'inquire, flags set: EBX unchanged'
        CHECK_EQ [s_regs + 8], [x_regs + 8], 'inquire, flags set: ECX unchanged'
        CHECK_EQ [s_regs + 12], [x_regs + 12], 'inquire, flags set: EDX unchanged'
        CHECK_EQ [s_regs + 16], [x_regs + 16], 'inquire, flags set: ESI unchanged'
        CHECK_EQ [s_regs + 20], [x_regs + 20], 'inquire, flags set: EDI unchanged'
        CHECK_EQ [s_regs + 24], [x_regs + 24], 'inquire, flags set: EBP unchanged'
        CHECK_EQ [s_esp], [x_esp], 'inquire, flags set: ESP unchanged'
        CHECK_EQ [s_top], pcb, 'inquire, flags set: [esp] (block address) unchanged'
        mov     eax, [s_fl]
        and     eax, FLAGS_CMP
        CHECK_EQ eax, FLAGS_SET and FLAGS_CMP, 'inquire, flags set: CF PF AF ZF SF DF OF unchanged'
        ret
  .second:
        CHECK_EQ [s_regs + 0], [x_regs + 0], 'command 0FFh, flags clear: EAX unchanged'
        CHECK_EQ [s_regs + 4], [x_regs + 4], 'command 0FFh, flags clear: EBX unchanged'
        CHECK_EQ [s_regs + 8], [x_regs + 8], 'command 0FFh, flags clear: ECX unchanged'
        CHECK_EQ [s_regs + 12], [x_regs + 12], 'command 0FFh, flags clear: EDX unchanged'
        CHECK_EQ [s_regs + 16], [x_regs + 16], 'command 0FFh, flags clear: ESI unchanged'
        CHECK_EQ [s_regs + 20], [x_regs + 20], 'command 0FFh, flags clear: EDI unchanged'
        CHECK_EQ [s_regs + 24], [x_regs + 24], 'command 0FFh, flags clear: EBP unchanged'
        CHECK_EQ [s_esp], [x_esp], 'command 0FFh, flags clear: ESP unchanged'
        CHECK_EQ [s_top], pcb, 'command 0FFh, flags clear: [esp] (block address) unchanged'
        mov     eax, [s_fl]
        and     eax, FLAGS_CMP
        CHECK_EQ eax, FLAGS_CLR and FLAGS_CMP, 'command 0FFh, flags clear: CF PF AF ZF SF DF OF unchanged'
        ret

        TEST_LIB
        IPC_LIB

msg     db      'kolibri'

align 4
I_END:
PARAMS  rb 256
PATH    rb 256
        PC_BSS
id_a    rd 1
free0   rd 1
freew   rd 1
x_regs  rd 7
x_fl    rd 1
x_esp   rd 1
s_regs  rd 7
s_fl    rd 1
s_esp   rd 1
s_top   rd 1
vbuf    rb 16
rbuf    rb 16
rb 4096
STACK_TOP:
MEM_END:
