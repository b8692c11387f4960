/*
 * kernel/untyped_math.h - where retyped objects go inside an untyped region.
 * Objects are placed at the watermark (bytes used), each aligned to its own
 * size; the watermark only grows until the untyped has no children left,
 * when it is reset to 0 (all its objects are gone). Pure, host tested.
 */
#ifndef KERNEL_UNTYPED_MATH_H
#define KERNEL_UNTYPED_MATH_H
#include <stdbool.h>
#include <stdint.h>

/*
 * Fit @count objects of 2^@obj_bits bytes into an untyped of 2^@size_bits
 * bytes with @used bytes taken. On success, *offset is the first object's
 * offset and *new_used the new watermark; on failure *avail is the number of
 * bytes still usable at that alignment.
 */
static inline bool untyped_fit(unsigned size_bits, uint64_t used, unsigned obj_bits,
                               uint64_t count, uint64_t *offset, uint64_t *new_used,
                               uint64_t *avail)
{
    uint64_t size = 1ULL << size_bits, align = 1ULL << obj_bits;
    uint64_t start = (used + align - 1) & ~(align - 1);
    *avail = start >= size ? 0 : size - start;
    if (obj_bits > size_bits || used > size || start > size || count == 0)
        return false;
    if (count > (*avail >> obj_bits))
        return false;
    *offset = start;
    *new_used = start + (count << obj_bits);
    return true;
}

#endif
