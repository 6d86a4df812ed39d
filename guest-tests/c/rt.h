/* rt.h - the freestanding runtime our C guests share: Linux i386 int 0x80 write and exit_group.
 * (Each guest has its own _start, since what it reads from the entry stack differs.)
 * Written for ipcemu. */
#ifndef IPCEMU_GUEST_RT_H
#define IPCEMU_GUEST_RT_H

static int sys_write(int fd, const void *buf, unsigned len)
{
    int ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "0"(4), "b"(fd), "c"(buf), "d"(len)
                     : "memory");
    return ret;
}

static void __attribute__((noreturn)) sys_exit_group(int status)
{
    for (;;)
        __asm__ volatile("int $0x80" : : "a"(252), "b"(status) : "memory");
}

#endif
