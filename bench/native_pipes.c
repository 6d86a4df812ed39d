/* native_pipes.c - the native reference for ipcemu's benchmarks: two processes on pipes.
 *
 *   native_pipes pingpong N   N round trips of a 20-byte message (parent -> child -> parent)
 *   native_pipes stream N     N 20-byte messages one way; the reader drains what is there
 *
 * Prints one line: "<workload> <count> <seconds>". Pin both processes to one CPU with taskset,
 * as the ipcemu figures are single-threaded. Built by scripts/bench.py (gcc -O2, and gcc -m32
 * -static for the qemu-i386 figure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define MSG 20

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void full_read(int fd, char *b, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r <= 0) exit(2);
        b += r;
        n -= (size_t)r;
    }
}

static void full_write(int fd, const char *b, size_t n) {
    while (n > 0) {
        ssize_t r = write(fd, b, n);
        if (r <= 0) exit(2);
        b += r;
        n -= (size_t)r;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s pingpong|stream N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    int a[2], b[2];
    if (pipe(a) || pipe(b)) return 2;
    char msg[MSG];
    memset(msg, 'x', MSG);
    if (strcmp(argv[1], "pingpong") == 0) {
        pid_t p = fork();
        if (p == 0) {
            for (long i = 0; i < n; i++) {
                full_read(a[0], msg, MSG);
                full_write(b[1], msg, MSG);
            }
            _exit(0);
        }
        double t0 = now();
        for (long i = 0; i < n; i++) {
            full_write(a[1], msg, MSG);
            full_read(b[0], msg, MSG);
        }
        double t = now() - t0;
        waitpid(p, NULL, 0);
        printf("pingpong %ld %.6f\n", n, t);
    } else {
        pid_t p = fork();
        if (p == 0) {
            static char buf[65536];
            long got = 0, want = n * MSG;
            while (got < want) {
                ssize_t r = read(a[0], buf, sizeof buf);
                if (r <= 0) _exit(2);
                got += r;
            }
            full_write(b[1], "k", 1);
            _exit(0);
        }
        double t0 = now();
        for (long i = 0; i < n; i++) full_write(a[1], msg, MSG);
        full_read(b[0], msg, 1);
        double t = now() - t0;
        waitpid(p, NULL, 0);
        printf("stream %ld %.6f\n", n, t);
    }
    return 0;
}
