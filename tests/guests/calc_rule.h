/*
 * tests/guests/calc_rule.h - the computation of the checkpoint tests'
 * workloads (calc.c as an L1 guest, calc_l2.c as the L2 of a test
 * hypervisor): an xorshift32 generator (Marsaglia's 13/17/5) mixing words
 * of an area, then the area and the generator folded into a 32-bit FNV-1a
 * digest. Nothing in it depends on time, so a run restored from a
 * checkpoint taken midway ends with the digest of an uninterrupted run;
 * the specs hold the value computed on the host by this rule (24 rounds
 * over a zeroed area: 0x97b2fb70).
 */
#ifndef CALC_RULE_H
#define CALC_RULE_H
#include <stdint.h>

#define CALC_AREA_WORDS  (256u * 1024u)
#define CALC_STEPS       (128u * 1024u)
#define CALC_SEED        0x2545F491u
#define CALC_FNV_OFFSET  0x811C9DC5u
#define CALC_FNV_PRIME   0x01000193u
#define CALC_FPU_MARK    0x1234567     /* left on the x87 stack from start to end */

/* One round: CALC_STEPS steps x = xorshift32(x); w = area[x % words];
 * area[x % words] = w * 31 + x + step (mod 2^32). The generator after it. */
static inline uint32_t calc_round(volatile uint32_t *area, uint32_t x)
{
    for (uint32_t s = 0; s < CALC_STEPS; s++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        const uint32_t i = x % CALC_AREA_WORDS;
        area[i] = area[i] * 31u + x + s;
    }
    return x;
}

/* FNV-1a of @v's four bytes, the low byte first, onto @h. */
static inline uint32_t calc_fnv_word(uint32_t h, uint32_t v)
{
    for (unsigned b = 0; b < 32; b += 8)
        h = (h ^ ((v >> b) & 0xFF)) * CALC_FNV_PRIME;
    return h;
}

/* The words of the area in order, then the generator. */
static inline uint32_t calc_digest(const volatile uint32_t *area, uint32_t x)
{
    uint32_t digest = CALC_FNV_OFFSET;
    for (uint32_t i = 0; i < CALC_AREA_WORDS; i++)
        digest = calc_fnv_word(digest, area[i]);
    return calc_fnv_word(digest, x);
}

#endif
