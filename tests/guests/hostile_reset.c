/*
 * tests/guests/hostile_reset.c - a hostile guest that resets its VM through
 * CF9h (06h) on every boot, forever: the VMM restarts it a bounded number of
 * times (VMM_MAX_RESETS) and then stops it as a reset loop.
 */
#include "lib/guest.h"

#define PORT_CF9       0xCF9
#define CF9_HARD_RESET 0x06

int guest_main(void)
{
    guest_printf("hostile-reset: resetting\n");
    outb(PORT_CF9, CF9_HARD_RESET);
    guest_printf("hostile-reset: still running after a reset\n");
    return guest_report("hostile-reset");
}
