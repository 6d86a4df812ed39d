; pcinst.asm - ipcemu guest test (DOS .COM, PC-IPC): install, reset and the not-installed state.
; Written for ipcemu; no PC-IPC code is included.
;
; Run:    ipcemu run fixtures/dos/pcinst.com --pcipc-not-installed   (alone; PC-IPC must start NOT
;         installed: fixtures/dos/pcinst.args)
; Expect: fixtures/dos/pcinst.expected; exit code = number of FAIL lines.
;
; Each check names the rule of docs/pc-ipc.md it pins ("[rule]" comments).

        bits    16
        org     100h
        section .text
%include "include/pcipc.inc"

; NI cmd, 'name' - a command that needs installation returns 0Ch with status exactly 08h
%macro NI 2
%strcat %%n1 %2, ' before install returns 0Ch'
%strcat %%n2 %2, ' before install: status 08h'
        PC      %1, 0, 0, 1, buf
        CHECK_EQ R_ERR, E_NOTINST, %%n1
        CHECK_EQ R_STATUS, ST_ERROR, %%n2
%endmacro

start:
        ; ---- before install -------------------------------------------------------------------
        ; [initial state: not installed, not enabled; every command but 04h install, 01h inquire
        ;  and 0Bh version returns 0Ch] [status: 08h set exactly when the error is not 0;
        ;  02h/04h clear while not installed; 10h clear (nothing queued)]
        NI      PC_SEND,    'send'
        NI      PC_READ,    'read'
        NI      PC_REQID,   'request-ID'
        ; read-wait too: it returns 0Ch at once instead of blocking (a block would deadlock here)
        NI      PC_READW,   'read-wait'
        NI      PC_ENABLE,  'enable'
        NI      PC_DISABLE, 'disable'
        NI      PC_DELID,   'delete-ID'

        ; [inquire works before install]: free = whole pool, 0 messages, status 0 (nothing set)
        mov     word [freew], 0
        PC      PC_INQUIRE, 0, 0, 0, freew
        CHECK_EQ R_ERR, E_OK, 'inquire before install returns 0'
        CHECK_EQ R_STATUS, 0, 'inquire before install: status 0 (not installed, not enabled)'
        CHECK_EQ R_SIZE, 0, 'inquire before install: 0 messages'
        CHECK_EQ [freew], POOL_SIZE, 'inquire before install: 16384 bytes free'

        ; [version works before install]
        PC      PC_VERS, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'version before install returns 0'
        CHECK_EQ R_SIZE, 11, 'version before install: size 11'

        ; [install/reset from ID 0 only: 02h for any other ID] While NOT installed no ID but 0
        ; exists; 03h is only for "a caller ID that is not recognised while installed", so an
        ; install from ID 5 before installation gives 02h.
        PC      PC_INSTALL, 5, 0, 0, buf
        CHECK_EQ R_ERR, E_ONLY0, 'install from ID 5 before install returns 02h'
        CHECK_EQ R_STATUS, ST_ERROR, 'failed install: status 08h (still not installed)'
        PC      PC_INQUIRE, 0, 0, 0, freew
        CHECK_EQ R_STATUS, 0, 'inquire after failed install: still not installed'

        ; ---- install ----------------------------------------------------------------------------
        ; [install from ID 0: installed + enabled]
        PC      PC_INSTALL, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'install from ID 0 returns 0'
        CHECK_EQ R_STATUS, ST_ENABLED | ST_INSTALLED, 'install: status 06h (enabled, installed)'

        ; [ID pool: request-ID hands out the lowest free ID of 1..32, in the caller field]
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'request-ID returns 0'
        CHECK_EQ R_CALLER, 1, 'first ID is 1'
        CHECK_EQ R_STATUS, ST_ENABLED | ST_INSTALLED, 'request-ID: status 06h'
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_CALLER, 2, 'second ID is 2'

        ; [install/reset: 02h for any other known ID]
        PC      PC_INSTALL, 1, 0, 0, buf
        CHECK_EQ R_ERR, E_ONLY0, 'install from ID 1 returns 02h'
        CHECK_EQ R_STATUS, ST_ENABLED | ST_INSTALLED | ST_ERROR, 'failed install: status 0Eh'
        ; [03h for a caller ID that is not recognised while installed]
        PC      PC_INSTALL, 7, 0, 0, buf
        CHECK_EQ R_ERR, E_NOINST, 'install from ID 7 (not handed out) returns 03h'
        ; [a failed install changes nothing]: ID 1 still sends
        PC      PC_SEND, 1, 2, 5, hello
        CHECK_EQ R_ERR, E_OK, 'IDs 1 and 2 still exist after the failed installs'

        ; queue a second message, to ID 0 [ID 0 always exists once installed: a valid destination]
        PC      PC_SEND, 2, 0, 3, abc
        CHECK_EQ R_ERR, E_OK, 'send from ID 2 to ID 0 returns 0'
        ; [free = pool - sum(size + 8)] = 16384 - 13 - 11; [status 10h: messages for the caller]
        PC      PC_INQUIRE, 0, 0, 0, freew
        CHECK_EQ R_SIZE, 1, 'ID 0 has 1 message waiting'
        CHECK_EQ R_STATUS, ST_ENABLED | ST_INSTALLED | ST_MESSAGES, 'inquire by ID 0: status 16h'
        CHECK_EQ [freew], POOL_SIZE - 13 - 11, 'two queued messages: 16360 bytes free'

        ; disable by ID 1, so that the reset must also re-enable
        PC      PC_DISABLE, 1, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'disable by ID 1 returns 0'
        ; [status 10h is about the caller's ID]: ID 1 has nothing waiting, so 04h only
        CHECK_EQ R_STATUS, ST_INSTALLED, 'disabled by ID 1: status 04h'

        ; ---- reset --------------------------------------------------------------------------------
        ; [install/reset: drops every queued message and every handed-out ID, then installed +
        ;  enabled]
        PC      PC_INSTALL, 0, 0, 0, buf
        CHECK_EQ R_ERR, E_OK, 'reset from ID 0 returns 0'
        CHECK_EQ R_STATUS, ST_ENABLED | ST_INSTALLED, 'reset: status 06h (enabled again, no messages)'
        mov     word [freew], 0
        PC      PC_INQUIRE, 0, 0, 0, freew
        CHECK_EQ [freew], POOL_SIZE, 'reset dropped the messages: 16384 bytes free'
        CHECK_EQ R_SIZE, 0, 'reset dropped the messages: ID 0 has 0 waiting'
        ; [caller not recognised: 07h for send, read]
        PC      PC_SEND, 1, 0, 5, hello
        CHECK_EQ R_ERR, E_BADSENDER, 'reset dropped ID 1: send from 1 returns 07h'
        CHECK_EQ R_STATUS, ST_ENABLED | ST_INSTALLED | ST_ERROR, 'send from dropped ID: status 0Eh'
        PC      PC_READ, 2, 0, 0, buf
        CHECK_EQ R_ERR, E_BADSENDER, 'reset dropped ID 2: read as 2 returns 07h'
        ; [lowest free ID]: the pool starts again at 1
        PC      PC_REQID, 0, 0, 0, buf
        CHECK_EQ R_CALLER, 1, 'first ID after the reset is 1 again'
        ; [enabled after reset]: the new ID 1 can send (to ID 0) and ID 0 reads it
        PC      PC_SEND, 1, 0, 5, hello
        CHECK_EQ R_ERR, E_OK, 'send after reset returns 0 (enabled)'
        PC      PC_READ, 0, 0, 0, buf
        CHECK_EQ R_SIZE, 5, 'ID 0 reads the 5-byte message'
        CHECK_EQ R_TO, 1, 'it is from ID 1'

        DONE_EXIT

        PCIPC_LIB

        section .data
hello   db      'hello'
abc     db      'abc'

        section .bss
freew   resw    1
buf     resb    64
