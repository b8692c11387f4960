/*
 * tests/unit/fuzz_rng.h - the seeded randomness of the host fuzzers: an
 * xorshift64* stream (one per file: the state is static), and a seed per
 * input from (seed, input number) by splitmix64, so that input I of seed S
 * is the same whatever ran before it.
 */
#ifndef TESTS_FUZZ_RNG_H
#define TESTS_FUZZ_RNG_H
#include <stdint.h>

static uint64_t rng;

static inline uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

/* Uniform enough below @n (0 for n == 0). */
static inline uint32_t below(uint32_t n) { return n ? (uint32_t)(rnd() >> 32) % n : 0; }

/* Input @i of @seed: its own stream. */
static inline void seed_input(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    rng = (z ^ (z >> 31)) | 1;
}

#endif
