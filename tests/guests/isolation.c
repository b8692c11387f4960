/*
 * tests/guests/isolation.c - run as two VMs at once: each fills the same
 * guest-physical range with its own pattern, lets the other run, and checks
 * its pattern is still there. Shared memory between the VMs would break the
 * pattern of one of them (they start at different TSC values, so the seeds
 * differ).
 */
#include "lib/guest.h"

#define REGION_GPA   0x200000u          /* 2 MiB: above the image, inside 8 MiB of RAM */
#define REGION_WORDS (64u * 1024u)      /* 256 KiB */
#define ROUNDS       3
#define SPIN_ITERS   500000u            /* long enough for the other VM's time slices */
#define RAM_TOP_GPA  0x7FFFFCu          /* the last word of 8 MiB */

static uint32_t next(uint32_t x)
{
    x ^= x << 13;                       /* xorshift32 */
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static void fill(volatile uint32_t *p, uint32_t seed)
{
    for (uint32_t i = 0; i < REGION_WORDS; i++)
        p[i] = seed = next(seed);
}

static uint32_t mismatches(const volatile uint32_t *p, uint32_t seed)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < REGION_WORDS; i++)
        bad += p[i] != (seed = next(seed));
    return bad;
}

int guest_main(void)
{
    volatile uint32_t *region = (volatile uint32_t *)REGION_GPA;
    uint32_t seed = (uint32_t)rdtsc() | 1u, bad = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        fill(region, seed);
        for (volatile uint32_t i = 0; i < SPIN_ITERS; i++)
            ;
        bad += mismatches(region, seed);
        seed = next(seed ^ (uint32_t)rdtsc()) | 1u;
    }
    CHECK(bad == 0, "the pattern survives while the other VM writes the same addresses");
    volatile uint32_t *top = (volatile uint32_t *)RAM_TOP_GPA;
    *top = seed;
    CHECK(*top == seed, "the last word of RAM is RAM");
    guest_printf("isolation: %u rounds of %u KiB, %u words changed behind its back\n", ROUNDS,
                 REGION_WORDS * 4 / 1024, bad);
    return guest_report("isolation");
}
