/* kernel/boot_mem.c - cut free memory into aligned power-of-two blocks. */
#include "kernel/boot_mem.h"

static unsigned lowest_set_bit(uint64_t v)
{
    return v ? (unsigned)__builtin_ctzll(v) : 64;
}

static unsigned floor_log2(uint64_t v)
{
    return 63 - (unsigned)__builtin_clzll(v);
}

size_t boot_mem_split(uint64_t start, uint64_t end, unsigned min_bits, unsigned max_bits,
                      mem_block_t *out, size_t max)
{
    uint64_t min = 1ULL << min_bits;
    size_t n = 0;
    start = (start + min - 1) & ~(min - 1);
    end &= ~(min - 1);
    while (start < end) {
        unsigned bits = floor_log2(end - start);
        unsigned align = lowest_set_bit(start);
        if (align < bits)
            bits = align;
        if (bits > max_bits)
            bits = max_bits;
        if (n < max)
            out[n] = (mem_block_t){ start, bits };
        n++;
        start += 1ULL << bits;
    }
    return n;
}
