/*
 * tests/guests/calc.c - a long deterministic computation for the
 * checkpoint tests (tests/system/checkpoint.spec): nothing it does depends
 * on time, so a run restored from a checkpoint taken midway must end with
 * the digest of an uninterrupted run.
 *
 * The state: AREA_WORDS 32-bit words at AREA (1 MiB from 2 MiB, zero at
 * start) and an xorshift32 generator (Marsaglia's 13/17/5, seed SEED).
 * Each of `rounds` rounds (command line "rounds=N", default 24) makes
 * STEPS steps: x = xorshift32(x); w = AREA[x % AREA_WORDS];
 * AREA[x % AREA_WORDS] = w * 31 + x + step (mod 2^32); after each round a
 * line "calc: round R of N". At the end the words in order and then x are
 * folded, byte by byte from the low byte, into a 32-bit FNV-1a digest:
 * "calc: N rounds: digest 0x........" (the spec holds the value computed
 * on the host by this rule).
 */
#include "lib/guest.h"

#define AREA        ((volatile uint32_t *)0x200000)
#define AREA_WORDS  (256u * 1024u)
#define STEPS       (128u * 1024u)
#define SEED        0x2545F491u
#define FNV_OFFSET  0x811C9DC5u
#define FNV_PRIME   0x01000193u

static uint32_t fnv_word(uint32_t h, uint32_t v)
{
    for (unsigned b = 0; b < 32; b += 8)
        h = (h ^ ((v >> b) & 0xFF)) * FNV_PRIME;
    return h;
}

int guest_main(void)
{
    const uint32_t rounds = guest_cmdline_number("rounds=", 24, 1000);
    uint32_t x = SEED;
    for (uint32_t r = 1; r <= rounds; r++) {
        for (uint32_t s = 0; s < STEPS; s++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            const uint32_t i = x % AREA_WORDS;
            AREA[i] = AREA[i] * 31u + x + s;
        }
        guest_printf("calc: round %u of %u\n", r, rounds);
    }
    uint32_t digest = FNV_OFFSET;
    for (uint32_t i = 0; i < AREA_WORDS; i++)
        digest = fnv_word(digest, AREA[i]);
    digest = fnv_word(digest, x);
    guest_printf("calc: %u rounds: digest 0x%08x\n", rounds, digest);
    return guest_report("calc");
}
