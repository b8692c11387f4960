/* arch/x86_64/apic.h - local APIC registers (SDM Vol. 3A 10.4.1, Table 10-1). */
#ifndef ARCH_X86_64_APIC_H
#define ARCH_X86_64_APIC_H
#include <nestor/bits.h>
#include <stdint.h>

#define LAPIC_REG_ID           0x020
#define LAPIC_REG_EOI          0x0B0
#define LAPIC_REG_SVR          0x0F0
#define LAPIC_REG_LVT_TIMER    0x320
#define LAPIC_REG_LVT_LINT0    0x350
#define LAPIC_REG_LVT_LINT1    0x360
#define LAPIC_REG_TIMER_INIT   0x380
#define LAPIC_REG_TIMER_CUR    0x390
#define LAPIC_REG_TIMER_DIV    0x3E0
#define LAPIC_SVR_ENABLE       BIT(8)
#define LAPIC_LVT_MASKED       BIT(16)
#define LAPIC_TIMER_PERIODIC   BIT(17)   /* SDM 10.5.4 */
#define LAPIC_TIMER_DIV_16     0x3
/* LVT delivery modes (SDM 10.5.1, Figure 10-8) */
#define LAPIC_DM_NMI           (0x4 << 8)
#define LAPIC_DM_EXTINT        (0x7 << 8)

#define VEC_LAPIC_TIMER        0xF0
#define VEC_LAPIC_SPURIOUS     0xFF

#define LAPIC_REG_ICR_LOW      0x300
#define LAPIC_REG_ICR_HIGH     0x310
#define LAPIC_ICR_DEST_SHIFT   24        /* SDM 10.6.1: destination APIC ID, ICR[63:56] */
#define LAPIC_ICR_ASSERT       BIT(14)

/* Enable the local APIC and calibrate its timer for a periodic tick at
 * @hz, left stopped (lapic_timer_start). */
void lapic_init(unsigned hz);
unsigned lapic_timer_hz(void);   /* the tick rate lapic_init calibrated */
/* Start the periodic tick on its grid (its first at the next TSC multiple
 * of lapic_tsc_per_tick, apic.c) / stop it. lapic_timer_ticked, at each of
 * its interrupts, makes the periods after a partial first one whole. */
void lapic_timer_start(void);
void lapic_timer_ticked(void);
void lapic_timer_stop(void);
void lapic_eoi(void);
/* LAPIC timer ticks per kernel tick, as calibrated (for the boot log). */
uint32_t lapic_ticks_per_tick(void);
/* TSC increments per kernel tick, as calibrated. */
uint64_t lapic_tsc_per_tick(void);
/* Send this CPU an NMI through its ICR (SDM 10.6.1: physical destination
 * = our own APIC ID; the "self" shorthand is for fixed delivery only). */
void lapic_self_nmi(void);

#endif
