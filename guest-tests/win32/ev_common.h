/* ev_common.h - the objects ev_ping.exe and ev_pong.exe share. Written for ipcemu. */
#ifndef IPCEMU_WIN32_EV_COMMON_H
#define IPCEMU_WIN32_EV_COMMON_H

struct ev_shared {
    HANDLE map, ping, pong;
    volatile DWORD *counter;
};

/* Create or open the mapping and both events (whichever process comes first creates them;
 * a new mapping is zero-filled, so the counter starts at 0). */
static void ev_open(struct ev_shared *s)
{
    s->map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                "ipcemu_ev.map");
    if (!s->map)
        fatal("CreateFileMappingA", 0);
    s->counter = MapViewOfFile(s->map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (!s->counter)
        fatal("MapViewOfFile", 0);
    s->ping = CreateEventA(NULL, FALSE, FALSE, "ipcemu_ev.ping");
    s->pong = CreateEventA(NULL, FALSE, FALSE, "ipcemu_ev.pong");
    if (!s->ping || !s->pong)
        fatal("CreateEventA", 0);
}

static void ev_close(struct ev_shared *s)
{
    UnmapViewOfFile((LPCVOID)s->counter);
    CloseHandle(s->ping);
    CloseHandle(s->pong);
    CloseHandle(s->map);
}

#endif
