/* hello.c - ipcemu Win32 guest test: the plain default C runtime.
 *
 * Built with nothing but i686-w64-mingw32-gcc (mingw-w64's crt2.o start-up: mainCRTStartup,
 * TLS callbacks, __getmainargs, atexit, stdio of msvcrt.dll), so it exercises everything a
 * personality must give an ordinary console program before main runs.
 *
 * Run:    ipcemu run fixtures/win32/hello.exe            (no arguments)
 * Output: PASS hello printf 42
 *         PASS hello argc 1
 *         PASS hello malloc
 *         PASS hello atexit
 * Exit status 0, or 1 after a FAIL line.
 * Written for ipcemu.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void at_exit_handler(void)
{
    printf("PASS hello atexit\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    printf("PASS hello printf %d\n", 42);
    if (argc >= 1 && argv[0] != NULL && argv[argc] == NULL)
        printf("PASS hello argc %d\n", argc);
    else {
        printf("FAIL hello argc %d\n", argc);
        failures++;
    }
    char *p = malloc(100);
    if (p != NULL) {
        strcpy(p, "abc");
        p[3] = 'd';
        p[4] = 0;
    }
    if (p != NULL && strlen(p) == 4 && strcmp(p, "abcd") == 0)
        printf("PASS hello malloc\n");
    else {
        printf("FAIL hello malloc\n");
        failures++;
    }
    free(p);
    if (atexit(at_exit_handler) != 0) {
        printf("FAIL hello atexit registration\n");
        failures++;
    }
    fflush(stdout);
    return failures ? 1 : 0;
}
