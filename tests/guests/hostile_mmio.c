/*
 * tests/guests/hostile_mmio.c - a hostile guest: stores far outside its RAM
 * and devices. The EPT has nothing there; the VMM must stop this VM with the
 * address in the reason.
 */
#include "lib/guest.h"

#define WILD_GPA 0xC0DE0000u

int guest_main(void)
{
    guest_printf("hostile: storing to guest-physical 0x%x\n", WILD_GPA);
    *(volatile uint32_t *)WILD_GPA = 0xDEADBEEF;
    guest_printf("hostile: still running after a wild store\n");
    return 1;
}
