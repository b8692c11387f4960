/*
 * tests/guests/hostile_spin.c - a hostile guest: interrupts off and a tight
 * loop, never exiting on its own. Host interrupts still exit to the kernel
 * (external-interrupt exiting is always on), so the other VMs and the host
 * keep running; the VMM stops it when it passes its time limit
 * (vmm.limit_ms).
 */
#include "lib/guest.h"

int guest_main(void)
{
    guest_printf("hostile: interrupts off, spinning forever\n");
    __asm__ volatile("cli; 1: jmp 1b");
    return 1;
}
