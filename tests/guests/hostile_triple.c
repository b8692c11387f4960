/*
 * tests/guests/hostile_triple.c - a hostile guest: an empty IDT, then an
 * exception. The #BP cannot be delivered (#GP), nor the #GP (#DF), nor the
 * #DF: a triple fault (SDM Vol. 3A 6.15, interrupt 8). The VMM must stop
 * this VM with a clear reason and nothing else.
 */
#include "lib/guest.h"

int guest_main(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } empty_idt = { 0, 0 };
    guest_printf("hostile: loading an empty IDT and raising #BP\n");
    __asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
    guest_printf("hostile: still running after a triple fault\n");
    return 1;
}
