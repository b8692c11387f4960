/*
 * kernel/cnode.c - CNode invocations: copy, mint, move, mutate, delete, revoke.
 * Slots are (index, depth) pairs resolved from the invoked CNode; the source
 * of copy/mint/move/mutate is resolved from the CNode given as CAP0.
 */
#include "kernel/cnode_ops.h"
#include "kernel/cspace.h"
#include "kernel/invoke.h"
#include "kernel/vspace.h"

#define CNODE_GUARD_BITS_MASK 0x3F   /* MINT/MUTATE data for a CNode: guard size... */
#define CNODE_GUARD_SHIFT     6      /* ...then the guard value above it */

/* New badge (endpoint/notification) or guard (CNode) from @data. */
static nestor_error_t apply_data(inv_t *iv, cap_t *c, uint64_t data, bool *badged)
{
    *badged = false;
    if (c->type == NESTOR_OBJ_ENDPOINT || c->type == NESTOR_OBJ_NOTIFICATION) {
        if (c->word1 == 0 && data != 0) {   /* a badge, once set, never changes */
            c->word1 = data;
            *badged = true;
        }
        return NESTOR_OK;
    }
    if (c->type == NESTOR_OBJ_CNODE) {
        unsigned gbits = data & CNODE_GUARD_BITS_MASK;
        uint64_t guard = data >> CNODE_GUARD_SHIFT;
        if (gbits + c->size_bits > NESTOR_WORD_BITS || (gbits < 58 && (guard >> gbits)))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 5, data);
        c->guard_bits = (uint8_t)gbits;
        c->word1 = guard;
    }
    return NESTOR_OK;
}

static nestor_error_t two_slots(inv_t *iv, cte_t *cnode, cte_t **dest, cte_t **src)
{
    uint64_t di, dd, si, sd;
    if (!inv_arg(iv, 0, &di) || !inv_arg(iv, 1, &dd) || !inv_arg(iv, 2, &si) ||
        !inv_arg(iv, 3, &sd))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *src_root = inv_cap(iv, 0);
    if (!src_root)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (src_root->cap.type != NESTOR_OBJ_CNODE)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, 0);
    nestor_error_t err = inv_slot(iv, &cnode->cap, di, dd, dest);
    if (err == NESTOR_OK)
        err = inv_slot(iv, &src_root->cap, si, sd, src);
    if (err != NESTOR_OK)
        return err;
    if (!cap_is_null(&(*dest)->cap))
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 0, 0);
    if (cap_is_null(&(*src)->cap))
        return inv_error(iv, NESTOR_ERR_FAILED_LOOKUP, 0, 0);
    return NESTOR_OK;
}

static nestor_error_t copy_or_mint(inv_t *iv, cte_t *cnode, bool mint)
{
    cte_t *dest, *src;
    uint64_t mask, data = 0;
    nestor_error_t err = two_slots(iv, cnode, &dest, &src);
    if (err != NESTOR_OK)
        return err;
    if (!inv_arg(iv, 4, &mask) || (mint && !inv_arg(iv, 5, &data)))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    err = cap_check_derivable(src);
    if (err != NESTOR_OK)
        return inv_error(iv, err, src->cap.type, 0);
    cap_t c = src->cap;
    c.rights &= (uint8_t)mask;
    bool badged = false;
    if (mint && (err = apply_data(iv, &c, data, &badged)) != NESTOR_OK)
        return err;
    if (vspace_is_mapping_cap(&c))
        c.word1 = c.word2 = 0;
    cdt_insert(src, dest, c, badged, badged);
    return NESTOR_OK;
}

static nestor_error_t move_or_mutate(inv_t *iv, cte_t *cnode, bool mutate)
{
    cte_t *dest, *src;
    uint64_t data = 0;
    nestor_error_t err = two_slots(iv, cnode, &dest, &src);
    if (err != NESTOR_OK)
        return err;
    if (mutate && !inv_arg(iv, 4, &data))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cap_t c = src->cap;
    bool badged = false;
    if (mutate && (err = apply_data(iv, &c, data, &badged)) != NESTOR_OK)
        return err;
    if (badged && cdt_first_child(src))
        return inv_error(iv, NESTOR_ERR_REVOKE_FIRST, 0, 0);
    cdt_move(src, dest, c);
    return NESTOR_OK;
}

static nestor_error_t one_slot(inv_t *iv, cte_t *cnode, cte_t **slot)
{
    uint64_t index, depth;
    if (!inv_arg(iv, 0, &index) || !inv_arg(iv, 1, &depth))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    return inv_slot(iv, &cnode->cap, index, depth, slot);
}

nestor_error_t invoke_cnode(inv_t *iv, cte_t *cnode)
{
    cte_t *slot;
    nestor_error_t err;
    switch (iv->label) {
    case NESTOR_CNODE_COPY: return copy_or_mint(iv, cnode, false);
    case NESTOR_CNODE_MINT: return copy_or_mint(iv, cnode, true);
    case NESTOR_CNODE_MOVE: return move_or_mutate(iv, cnode, false);
    case NESTOR_CNODE_MUTATE: return move_or_mutate(iv, cnode, true);
    case NESTOR_CNODE_DELETE:
        if ((err = one_slot(iv, cnode, &slot)) != NESTOR_OK)
            return err;
        cap_delete(slot);
        return NESTOR_OK;
    case NESTOR_CNODE_REVOKE:
        if ((err = one_slot(iv, cnode, &slot)) != NESTOR_OK)
            return err;
        cap_revoke(slot);
        return NESTOR_OK;
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    }
}
