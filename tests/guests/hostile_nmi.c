/*
 * tests/guests/hostile_nmi.c - a hostile guest: an NMI storm. Its NMI
 * handler sends the next NMI through the LAPIC's ICR before its IRET, so an
 * NMI is always held (one at most) and delivered at each IRET through an
 * NMI-window exit, while the main loop halts with IF = 0 and sends more.
 * It never ends on its own: the VMM stops it at its time limit
 * (vmm.limit_ms) while the other VMs run on.
 */
#include "lib/guest.h"

#define LAPIC_BASE 0xFEE00000u
#define LAPIC_SVR 0x0F0
#define LAPIC_ICR_LO 0x300
#define ICR_ALL_NMI ((2u << 18) | (4u << 8))   /* all including self, NMI */
#define VEC_NMI 2

static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }

static void on_nmi(guest_frame_t *f)
{
    (void)f;
    lapic_write(LAPIC_ICR_LO, ICR_ALL_NMI);
    lapic_write(LAPIC_ICR_LO, ICR_ALL_NMI);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(VEC_NMI, on_nmi);
    lapic_write(LAPIC_SVR, 0x1FF);
    guest_printf("hostile: NMI storm, forever\n");
    __asm__ volatile("cli");
    for (;;) {
        lapic_write(LAPIC_ICR_LO, ICR_ALL_NMI);
        __asm__ volatile("hlt");
    }
    return 1;
}
