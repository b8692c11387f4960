/*
 * arch/x86_64/apic.c - local APIC and its timer, the kernel's tick.
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/apic_grid.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/pit.h"
#include "arch/x86_64/vm_boot.h"
#include <nestor/limits.h>
#include <stdbool.h>

#define CALIBRATION_US 10000

static volatile uint32_t *lapic;
static uint32_t ticks_per_tick;
static uint64_t tsc_per_tick;

static uint32_t rd(uint32_t reg) { return lapic[reg / 4]; }
static void wr(uint32_t reg, uint32_t v) { lapic[reg / 4] = v; }

void lapic_eoi(void)
{
    wr(LAPIC_REG_EOI, 0);
}

uint32_t lapic_ticks_per_tick(void) { return ticks_per_tick; }
uint64_t lapic_tsc_per_tick(void) { return tsc_per_tick; }

static unsigned timer_hz;

unsigned lapic_timer_hz(void)
{
    return timer_hz;
}

void lapic_init(unsigned hz)
{
    timer_hz = hz;
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    /* Never clear the global enable bit: Bochs then ignores every later
     * write to IA32_APIC_BASE (see docs/platforms.md). */
    lapic = phys_to_virt(base & APIC_BASE_ADDR_MASK);
    wr(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | VEC_LAPIC_SPURIOUS);
    /* Virtual wire mode (SDM 10.5.1; MP spec 3.6.2.2): the 8259 PICs reach
     * the CPU through LINT0 as ExtINT, NMIs through LINT1. Firmware may
     * leave these masked, so set them ourselves. */
    wr(LAPIC_REG_LVT_LINT0, LAPIC_DM_EXTINT);
    wr(LAPIC_REG_LVT_LINT1, LAPIC_DM_NMI);
    wr(LAPIC_REG_TIMER_DIV, LAPIC_TIMER_DIV_16);

    /* Calibrate against the PIT: count LAPIC and TSC ticks over 10 ms. */
    wr(LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED);
    wr(LAPIC_REG_TIMER_INIT, 0xFFFFFFFF);
    uint64_t tsc0 = rdtsc();
    pit_wait_us(CALIBRATION_US);
    uint32_t elapsed = 0xFFFFFFFF - rd(LAPIC_REG_TIMER_CUR);
    uint64_t tsc = rdtsc() - tsc0;
    uint32_t ticks_per_second = elapsed * (1000000 / CALIBRATION_US);
    ticks_per_tick = ticks_per_second / hz;
    if (ticks_per_tick == 0)
        ticks_per_tick = 1;
    tsc_per_tick = tsc * (1000000 / CALIBRATION_US) / hz;

    /* Periodic mode, stopped: the scheduler starts the tick only while
     * something needs it (sched.c, "the tick"). */
    wr(LAPIC_REG_TIMER_INIT, 0);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_TIMER_PERIODIC | VEC_LAPIC_TIMER);
}

/*
 * SDM Vol. 3A 10.5.4: a write of the initial-count register starts the
 * count from that value, and in periodic mode the current count is
 * reloaded from it each time it reaches 0; writing 0 stops the timer in
 * either mode.
 *
 * A tick that stops and starts again (tick=demand, sched.c "the tick")
 * starts on the grid it would have kept had it never stopped: TSC
 * multiples of tsc_per_tick. Started a whole period after the event that
 * started it, the tick would follow the workload: a thread that keeps
 * blocking in calls to a higher server, its partner ready at its own
 * priority, had the timer stopped at a tick in the server's work and
 * started again at the server's reply, each next tick one period on, in
 * the server's work again: that thread was never charged and its partner
 * never ran (ktest round_robin_with_partner_in_calls). So the first count
 * is the part of a period left to the next grid point (at least 1), and
 * the interrupt that ends it loads the whole period (lapic_timer_ticked);
 * a write restarts the count from the new value (10.5.4), so that one
 * write is all.
 */
static bool first_count_partial;

void lapic_timer_start(void)
{
    uint32_t count = lapic_grid_first_count(rdtsc(), tsc_per_tick, ticks_per_tick);
    first_count_partial = count != ticks_per_tick;
    wr(LAPIC_REG_TIMER_INIT, count);
}

void lapic_timer_ticked(void)
{
    if (__builtin_expect(first_count_partial, 0)) {
        first_count_partial = false;
        wr(LAPIC_REG_TIMER_INIT, ticks_per_tick);
    }
}

void lapic_timer_stop(void)
{
    first_count_partial = false;
    wr(LAPIC_REG_TIMER_INIT, 0);
}

void lapic_self_nmi(void)
{
    uint32_t id = rd(LAPIC_REG_ID) >> LAPIC_ICR_DEST_SHIFT;
    wr(LAPIC_REG_ICR_HIGH, id << LAPIC_ICR_DEST_SHIFT);
    wr(LAPIC_REG_ICR_LOW, LAPIC_DM_NMI | LAPIC_ICR_ASSERT);
}
