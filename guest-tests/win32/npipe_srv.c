/* npipe_srv.c - ipcemu Win32 guest test: a message-mode named pipe server for several clients.
 *
 * Run with the clients, in any order (argv[1] = number of clients, default 2):
 *     ipcemu run fixtures/win32/npipe_srv.exe fixtures/win32/npipe_cli1.exe fixtures/win32/npipe_cli2.exe
 * One instance of \\.\pipe\ipcemu_np (CreateNamedPipeA: PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE |
 * PIPE_READMODE_MESSAGE | PIPE_WAIT, 1 instance, 512-byte buffers), served one client after the
 * other: ConnectNamedPipe (ERROR_PIPE_CONNECTED, 535, counts as connected), then ReadFile and
 * WriteFile until ReadFile fails with ERROR_BROKEN_PIPE (109: the client closed its end), then
 * DisconnectNamedPipe and the next ConnectNamedPipe on the same handle.
 * Each client's first message is 100 bytes; the server reads it with a 64-byte buffer and must
 * get FALSE + ERROR_MORE_DATA (234) with 64 bytes, then the other 36 bytes with the next read.
 * Every message is answered with "ack " + the message upper-cased (npipe_common.h).
 * Output:
 *     PASS npipe_srv CreateNamedPipeA
 *     PASS npipe_srv client 1 served (5 messages, ERROR_MORE_DATA seen)   (clients in the order
 *     PASS npipe_srv client 2 served (5 messages, ERROR_MORE_DATA seen)    they connected)
 *     PASS npipe_srv served 2 clients
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#define DEFAULT_N 2
#include "rt.h"
#include "npipe_common.h"

int test_main(unsigned clients)
{
    HANDLE p = CreateNamedPipeA(NPIPE_NAME, PIPE_ACCESS_DUPLEX,
                                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 512, 512,
                                0, NULL);
    if (!check(p != INVALID_HANDLE_VALUE, "CreateNamedPipeA"))
        return 1;
    static char msg[512], want[512], reply[600];
    unsigned served = 0;
    for (unsigned k = 0; k < clients; k++) {
        if (!ConnectNamedPipe(p, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
            fatal("ConnectNamedPipe", k);
        unsigned who = 0, count = 0;
        int more_data = 0, ok = 1;
        for (;;) {
            DWORD got = 0, got2 = 0;
            /* the first message of a client is read in two parts */
            DWORD first = count == 0 ? 64 : sizeof msg;
            if (!ReadFile(p, msg, first, &got, NULL)) {
                DWORD e = GetLastError();
                if (e == ERROR_BROKEN_PIPE)
                    break;
                if (e != ERROR_MORE_DATA || count != 0 || got != 64) {
                    ok = 0;
                    break;
                }
                more_data = 1;
                if (!ReadFile(p, msg + got, sizeof msg - got, &got2, NULL)) {
                    ok = 0;
                    break;
                }
                got += got2;
            }
            /* "client C message I..." */
            if (count == 0) {
                if (got < 8)
                    who = 0;
                else
                    who = (unsigned)(msg[7] - '0');
            }
            unsigned wlen = npipe_msg(want, who, count);
            if (got != wlen || !rt_memeq(msg, want, wlen)) {
                ok = 0;
                break;
            }
            unsigned rlen = npipe_reply(reply, msg, got);
            DWORD put = 0;
            if (!WriteFile(p, reply, rlen, &put, NULL) || put != rlen) {
                ok = 0;
                break;
            }
            count++;
        }
        struct rt_line l = {0};
        rt_puts(&l, "client ");
        rt_putu(&l, who);
        rt_puts(&l, " served (");
        rt_putu(&l, count);
        rt_puts(&l, " messages");
        rt_puts(&l, more_data ? ", ERROR_MORE_DATA seen)" : ", no ERROR_MORE_DATA)");
        l.buf[l.len] = 0;
        check(ok && more_data && count == NPIPE_MSGS, l.buf);
        served++;
        if (!DisconnectNamedPipe(p))
            fatal("DisconnectNamedPipe", k);
    }
    CloseHandle(p);
    struct rt_line l = {0};
    rt_puts(&l, "served ");
    rt_putu(&l, served);
    rt_puts(&l, " clients");
    l.buf[l.len] = 0;
    check(served == clients, l.buf);
    return 0;
}
