/*
 * linux/nestor-guest.c - what linux/init needs of the machine beneath it
 * that a shell cannot do. Built static (glibc) into the initramfs.
 *
 *   nestor-guest exit N       end the VM with status N (0 = pass): N to the
 *                             VMM's exit port 0xF4 (vmm-server/exits.c), the
 *                             port test guests end on. Debian's cloud kernel
 *                             has no /dev/port, so the port is reached
 *                             directly after ioperm(2).
 *   nestor-guest tsc          print the time-stamp counter (SDM Vol. 2B RDTSC):
 *                             on Bochs (clock sync=none) the instructions
 *                             executed since power-on, the benchmarks' unit.
 *   nestor-guest bochs-off    bare on Bochs: shut the emulator down (its
 *                             "Shutdown" port, nestor/verdict.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>

#define NESTOR_EXIT_PORT      0xF4      /* vmm-server/exits.c GUEST_EXIT_PORT */
#define BOCHS_SHUTDOWN_PORT   0x8900    /* nestor/verdict.h NESTOR_BOCHS_SHUTDOWN_PORT */
#define BOCHS_SHUTDOWN_STRING "Shutdown"

static int usage(void)
{
    fprintf(stderr, "usage: nestor-guest exit STATUS | tsc | bochs-off\n");
    return 2;
}

static int port_access(unsigned port)
{
    if (ioperm(port, 1, 1) != 0) {
        perror("nestor-guest: ioperm");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "tsc") == 0) {
        unsigned lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        printf("%llu\n", (unsigned long long)hi << 32 | lo);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "bochs-off") == 0) {
        if (!port_access(BOCHS_SHUTDOWN_PORT))
            return 1;
        for (const char *p = BOCHS_SHUTDOWN_STRING; *p; p++)
            outb((unsigned char)*p, BOCHS_SHUTDOWN_PORT);
        fprintf(stderr, "nestor-guest: the emulator did not shut down (not Bochs?)\n");
        return 1;
    }
    if (argc != 3 || strcmp(argv[1], "exit") != 0)
        return usage();
    char *end;
    long status = strtol(argv[2], &end, 0);
    if (*end || end == argv[2] || status < 0 || status > 255) {
        fprintf(stderr, "nestor-guest: bad status '%s'\n", argv[2]);
        return 2;
    }
    if (!port_access(NESTOR_EXIT_PORT))
        return 1;
    outb((unsigned char)status, NESTOR_EXIT_PORT);
    fprintf(stderr, "nestor-guest: the VM did not end (not under Nestor?)\n");
    return 1;
}
