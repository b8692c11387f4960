/*
 * linux/nestor-exit.c - end the VM from Linux user space with a status:
 * `nestor-exit N` writes N to the VMM's exit port (0xF4, the port test
 * guests end on: vmm-server/exits.c), which ends the VM with status N
 * (0 = pass). Debian's cloud kernel has no /dev/port, so the port is
 * reached directly after ioperm(2). Built static (glibc) into the initramfs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define NESTOR_EXIT_PORT 0xF4

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: nestor-exit STATUS (0-255; 0 = pass)\n");
        return 2;
    }
    char *end;
    long status = strtol(argv[1], &end, 0);
    if (*end || status < 0 || status > 255) {
        fprintf(stderr, "nestor-exit: bad status '%s'\n", argv[1]);
        return 2;
    }
    if (ioperm(NESTOR_EXIT_PORT, 1, 1) != 0) {
        perror("nestor-exit: ioperm");
        return 1;
    }
    outb((unsigned char)status, NESTOR_EXIT_PORT);
    fprintf(stderr, "nestor-exit: the VM did not end (not under Nestor?)\n");
    return 1;
}
