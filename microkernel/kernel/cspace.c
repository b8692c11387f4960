/* kernel/cspace.c - guarded CNode address resolution. */
#include "kernel/cspace.h"

static uint64_t low_bits(uint64_t v, unsigned n)
{
    return n >= 64 ? v : v & ((1ULL << n) - 1);
}

/* v >> n for n in 0..64 (a shift by 64 is undefined in C, and x86 would
 * shift by 0 instead). */
static uint64_t shift_right(uint64_t v, unsigned n)
{
    return n >= 64 ? 0 : v >> n;
}

nestor_error_t cspace_lookup(const cap_t *root, nestor_cptr_t cptr, unsigned depth,
                             lookup_t *out)
{
    if (depth < 1 || depth > NESTOR_WORD_BITS)
        return NESTOR_ERR_RANGE;
    const cap_t *cap = root;
    unsigned n = depth;
    for (;;) {
        if (cap->type != NESTOR_OBJ_CNODE)
            return NESTOR_ERR_FAILED_LOOKUP;
        unsigned radix = cap->size_bits, gbits = cap->guard_bits, level = radix + gbits;
        if (level > n)
            return NESTOR_ERR_FAILED_LOOKUP;     /* depth ends inside this level */
        uint64_t guard = low_bits(shift_right(cptr, n - gbits), gbits);
        if (gbits && guard != cap->word1)
            return NESTOR_ERR_FAILED_LOOKUP;
        uint64_t index = low_bits(shift_right(cptr, n - level), radix);
        cte_t *slot = &cnode_slots(cap)[index];
        n -= level;
        if (n == 0 || slot->cap.type != NESTOR_OBJ_CNODE) {
            out->slot = slot;
            out->bits_left = n;
            return NESTOR_OK;
        }
        cap = &slot->cap;
    }
}
