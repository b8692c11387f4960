/*
 * kernel/cspace.h - resolving capability addresses (cptrs).
 *
 * A cptr is resolved most-significant bit first through a tree of CNodes,
 * as in seL4: each CNode capability consumes its guard (guard_bits bits that
 * must equal its guard value) and then radix bits that index a slot. The
 * walk stops when @depth bits are used up, or early at a slot that does not
 * hold a CNode capability.
 */
#ifndef KERNEL_CSPACE_H
#define KERNEL_CSPACE_H
#include "kernel/cap.h"
#include <nestor/errors.h>
#include <nestor/types.h>

typedef struct {
    cte_t *slot;
    unsigned bits_left;   /* bits of depth not consumed (0 for an exact hit) */
} lookup_t;

/* Resolve @cptr over @depth bits (1..64) starting at CNode capability @root. */
nestor_error_t cspace_lookup(const cap_t *root, nestor_cptr_t cptr, unsigned depth,
                             lookup_t *out);

/* The slots of a CNode capability. */
static inline cte_t *cnode_slots(const cap_t *cnode)
{
    return (cte_t *)kobj_ptr(cnode->obj);
}

#endif
