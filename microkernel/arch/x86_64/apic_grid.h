/*
 * arch/x86_64/apic_grid.h - the first count of a tick that starts again on
 * its grid (apic.c lapic_timer_start; pure, unit-tested in
 * tests/unit/test_kernel_math.c).
 */
#ifndef ARCH_X86_64_APIC_GRID_H
#define ARCH_X86_64_APIC_GRID_H
#include <stdint.h>

/*
 * The periodic tick's grid is the TSC multiples of @tsc_per_tick (one period
 * of @ticks_per_tick LAPIC timer counts, as calibrated). At TSC @now, the
 * initial count that ends at the next grid point: the part of a period left,
 * in timer counts, at least 1 (a write of 0 stops the timer, SDM Vol. 3A
 * 10.5.4) and at most a whole period. Without a TSC calibration
 * (@tsc_per_tick 0), a whole period. (@left <= @tsc_per_tick and
 * @ticks_per_tick < 2^32: the product fits while @tsc_per_tick < 2^32, a
 * 4 GHz TSC at 1 Hz.)
 */
static inline uint32_t lapic_grid_first_count(uint64_t now, uint64_t tsc_per_tick,
                                              uint32_t ticks_per_tick)
{
    if (!tsc_per_tick || tsc_per_tick >= (1ULL << 32))
        return ticks_per_tick;
    uint64_t left = tsc_per_tick - now % tsc_per_tick;
    uint64_t c = left * ticks_per_tick / tsc_per_tick;
    return c == 0 ? 1 : c > ticks_per_tick ? ticks_per_tick : (uint32_t)c;
}

#endif
