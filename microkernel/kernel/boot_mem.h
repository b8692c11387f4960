/*
 * kernel/boot_mem.h - turning free physical memory into untyped capabilities:
 * each free range is cut into the largest naturally aligned power-of-two
 * blocks it contains. Pure, host tested.
 */
#ifndef KERNEL_BOOT_MEM_H
#define KERNEL_BOOT_MEM_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t base;
    unsigned size_bits;
} mem_block_t;

/*
 * Split [start, end) into blocks of at least 2^@min_bits and at most
 * 2^@max_bits bytes; parts too small are dropped. Writes up to @max blocks;
 * returns how many the range needs (may exceed @max).
 */
size_t boot_mem_split(uint64_t start, uint64_t end, unsigned min_bits, unsigned max_bits,
                      mem_block_t *out, size_t max);

#endif
