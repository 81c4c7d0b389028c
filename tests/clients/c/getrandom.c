/*
 * getrandom.c: reads random bytes through the libc's getrandom(), as a program would.
 *
 *   getrandom [READS]
 *
 * Prints one line per read, "read <hex>" (32 bytes; every tenth read also takes 4096 bytes,
 * printed as "big <hex of its first 32>"), then forks once: the child and the parent each
 * read 4 more, printed "child <hex>" / "parent <hex>", the parent after the child exited.
 * Last line: "done <reads>". The test judges the lines (no two equal, the child's differ
 * from the parent's) and counts the getrandom system calls in the trace.
 *
 * glibc >= 2.41 serves getrandom() from the vDSO's __kernel_getrandom when the kernel offers
 * it (state memory mapped MAP_DROPPABLE, wiped in the child on fork); otherwise, and with
 * every other libc, each call is the system call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *tag, const unsigned char *bytes)
{
    printf("%s ", tag);
    for (int i = 0; i < 32; i++)
        printf("%02x", bytes[i]);
    putchar('\n');
}

static void read_and_show(const char *tag, size_t len)
{
    static unsigned char buf[4096];
    ssize_t got = getrandom(buf, len, 0);
    if (got != (ssize_t)len) {
        printf("FAIL getrandom(%zu) returned %zd\n", len, got);
        exit(1);
    }
    show(tag, buf);
}

int main(int argc, char **argv)
{
    int reads = argc > 1 ? atoi(argv[1]) : 1000;
    for (int i = 0; i < reads; i++) {
        read_and_show("read", 32);
        if (i % 10 == 9)
            read_and_show("big", 4096);
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    for (int i = 0; i < 4; i++)
        read_and_show(child == 0 ? "child" : "parent", 32);
    if (child == 0) {
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("done %d\n", reads);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
