/*
 * tests/guests/hostile_apicmove.c - the LAPIC moved by IA32_APIC_BASE (SDM
 * Vol. 3A 10.4.4) answers at its new base and no longer at the old one: the
 * old page is then unbacked guest-physical memory, and a load from it stops
 * the VM as any access outside RAM and devices does.
 */
#include "lib/guest.h"

#define MSR_APIC_BASE    0x1B
#define APIC_OLD         0xFEE00000u
#define APIC_NEW         0xFEA00000u
#define APIC_BSP_EN      0x900u
#define APIC_REG_VERSION 0x30

int guest_main(void)
{
    __asm__ volatile("wrmsr" : : "c"(MSR_APIC_BASE), "a"(APIC_NEW | APIC_BSP_EN), "d"(0));
    uint32_t v = *(volatile uint32_t *)(APIC_NEW + APIC_REG_VERSION);
    guest_printf("apicmove: version 0x%x at the new base\n", v);
    v = *(volatile uint32_t *)(APIC_OLD + APIC_REG_VERSION);
    guest_printf("apicmove: still running after reading the old base (0x%x)\n", v);
    return 1;
}
