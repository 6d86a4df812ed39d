/* chan.h - a synchronous two-process channel: one named file mapping holds the buffer, a named
 * mutex guards it, and named auto-reset events say "a buffer was sent" and "the buffer was
 * received". After the idea of a 2003 CodeProject article ("Synchronous Interprocess
 * communication, A wrapper"); this is our own code, written for ipcemu.
 *
 * Names, for channel NAME:   NAME.map     the mapping (paging-file backed, CreateFileMappingA on
 *                                         INVALID_HANDLE_VALUE): two slots of (DWORD length,
 *                                         cap bytes), [0] client->server, [1] server->client
 *                            NAME.lock    the mutex guarding the mapping
 *                            NAME.sent.D  auto-reset event, set by send in direction D
 *                            NAME.recv.D  auto-reset event, set by receive in direction D
 *                                         (D = 0 client->server, 1 server->client)
 * Whoever creates the mapping (GetLastError() != ERROR_ALREADY_EXISTS after CreateFileMappingA)
 * is the server, the other one the client; the roles only tell the two apart.
 * Sends are not queued: the last buffer sent in a direction is the one received, and chan_send
 * blocks until the other side has taken it.
 * Each direction has its own "sent"/"received" pair (and slot): with one pair shared by both
 * directions a ping-pong races: the replier's "sent" and its wait for "received" can consume
 * the events meant for (or set by) itself, so a side would receive its own reply.
 */
#ifndef IPCEMU_WIN32_CHAN_H
#define IPCEMU_WIN32_CHAN_H

#include <windows.h>

struct chan {
    HANDLE map, lock, sent[2], recv[2];
    volatile BYTE *view; /* two slots: DWORD length, then `cap` bytes */
    DWORD cap;
    int server;
};

/* The slot of direction d. */
static volatile BYTE *chan_slot(struct chan *c, int d)
{
    return c->view + (d ? 4 + c->cap : 0);
}

/* Name + suffix into out (size 64); 0 if it does not fit. */
static int chan_name(char *out, const char *name, const char *suffix)
{
    unsigned i = 0;
    for (; *name; name++)
        if (i < 63)
            out[i++] = *name;
    for (; *suffix; suffix++)
        if (i < 63)
            out[i++] = *suffix;
    out[i] = 0;
    return i < 63;
}

static void chan_close(struct chan *c)
{
    if (c->view)
        UnmapViewOfFile((LPCVOID)c->view);
    HANDLE *hs[] = {&c->map, &c->lock, &c->sent[0], &c->recv[0], &c->sent[1], &c->recv[1]};
    for (unsigned i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        if (*hs[i])
            CloseHandle(*hs[i]);
        *hs[i] = NULL;
    }
    c->view = NULL;
}

/* Open (or create) channel `name` for buffers of up to cap bytes; 1 on success. */
static int chan_open(struct chan *c, const char *name, DWORD cap)
{
    char n[64];
    c->map = c->lock = c->sent[0] = c->recv[0] = c->sent[1] = c->recv[1] = NULL;
    c->view = NULL;
    c->cap = cap;
    if (cap > 0x100000 || !chan_name(n, name, ".map"))
        return 0;
    c->map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 2 * (cap + 4), n);
    if (!c->map)
        return 0;
    c->server = GetLastError() != ERROR_ALREADY_EXISTS;
    c->view = MapViewOfFile(c->map, FILE_MAP_ALL_ACCESS, 0, 0, 2 * (cap + 4));
    chan_name(n, name, ".lock");
    c->lock = CreateMutexA(NULL, FALSE, n);
    chan_name(n, name, ".sent.0");
    c->sent[0] = CreateEventA(NULL, FALSE, FALSE, n);
    chan_name(n, name, ".recv.0");
    c->recv[0] = CreateEventA(NULL, FALSE, FALSE, n);
    chan_name(n, name, ".sent.1");
    c->sent[1] = CreateEventA(NULL, FALSE, FALSE, n);
    chan_name(n, name, ".recv.1");
    c->recv[1] = CreateEventA(NULL, FALSE, FALSE, n);
    if (!c->view || !c->lock || !c->sent[0] || !c->recv[0] || !c->sent[1] || !c->recv[1]) {
        chan_close(c);
        return 0;
    }
    return 1;
}

/* Copy len bytes (at most cap) into the shared buffer, signal "sent", wait for "received".
 * Returns 1 on success. */
static int chan_send(struct chan *c, const void *buf, DWORD len)
{
    int d = c->server; /* our direction */
    if (len > c->cap)
        return 0;
    DWORD w = WaitForSingleObject(c->lock, INFINITE);
    if (w != WAIT_OBJECT_0 && w != WAIT_ABANDONED)
        return 0;
    volatile BYTE *slot = chan_slot(c, d);
    const BYTE *s = buf;
    for (DWORD i = 0; i < len; i++)
        slot[4 + i] = s[i];
    *(volatile DWORD *)slot = len;
    if (!ReleaseMutex(c->lock) || !SetEvent(c->sent[d]))
        return 0;
    return WaitForSingleObject(c->recv[d], INFINITE) == WAIT_OBJECT_0;
}

/* Wait for "sent", copy the buffer out (at most size bytes), signal "received".
 * Returns the length of the buffer that was sent (may exceed size: then it was cut), or
 * (DWORD)-1 on failure. */
static DWORD chan_receive(struct chan *c, void *buf, DWORD size)
{
    int d = !c->server; /* the other side's direction */
    if (WaitForSingleObject(c->sent[d], INFINITE) != WAIT_OBJECT_0)
        return (DWORD)-1;
    DWORD w = WaitForSingleObject(c->lock, INFINITE);
    if (w != WAIT_OBJECT_0 && w != WAIT_ABANDONED)
        return (DWORD)-1;
    volatile BYTE *slot = chan_slot(c, d);
    DWORD len = *(volatile DWORD *)slot;
    if (len > c->cap)
        len = c->cap;
    BYTE *out = buf;
    for (DWORD i = 0; i < len && i < size; i++)
        out[i] = slot[4 + i];
    if (!ReleaseMutex(c->lock) || !SetEvent(c->recv[d]))
        return (DWORD)-1;
    return len;
}

#endif
