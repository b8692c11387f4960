/* kernel/paging.c - invocations on frames and paging structures. */
#include "kernel/invoke.h"
#include "kernel/vspace.h"

#define SLICES_PER_FRAME_2M (1u << (NESTOR_FRAME_2M_BITS - NESTOR_FRAME_4K_BITS))

/* A capability to this 2 MiB frame that is mapped whole, or NULL. */
static const cte_t *frame_mapped_whole(cte_t *slot)
{
    const cap_t frame = slot->cap;
    for (const cte_t *s = cdt_frame_run_first(slot); s; s = cdt_frame_run_next(s, &frame))
        if (s->cap.type == NESTOR_OBJ_FRAME_2M && s->cap.word2)
            return s;
    return 0;
}

static bool frame_has_slices(cte_t *slot)
{
    const cap_t frame = slot->cap;
    for (const cte_t *s = cdt_frame_run_first(slot); s; s = cdt_frame_run_next(s, &frame))
        if (cap_is_slice_of(&s->cap, &frame))
            return true;
    return false;
}

/*
 * NESTOR_FRAME_SLICE: a 4 KiB frame capability for slice @index of a 2 MiB
 * frame, a child of the frame in the derivation tree (revoking the frame's
 * original, or deleting its last capability, deletes and unmaps the slices).
 * A frame is used either whole or in slices, never both at once: no slice
 * while any capability to the frame is mapped, no whole mapping while a
 * slice exists. So a page a pager takes back (unmaps or revokes the slice)
 * is not still reachable through a 2 MiB mapping, and one piece of memory
 * never has a 2 MiB and a 4 KiB mapping with different memory types
 * (SDM Vol. 3A 11.12.4 on aliasing memory types).
 */
static nestor_error_t frame_slice(inv_t *iv, cte_t *slot)
{
    cap_t *c = &slot->cap;
    uint64_t index, dest_index, dest_depth;
    if (c->type != NESTOR_OBJ_FRAME_2M)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    if (!inv_arg(iv, 0, &index) || !inv_arg(iv, 1, &dest_index) || !inv_arg(iv, 2, &dest_depth))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *root = inv_cap(iv, 0), *dest;
    if (!root)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (index >= SLICES_PER_FRAME_2M)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, SLICES_PER_FRAME_2M - 1);
    nestor_error_t err = inv_slot(iv, &root->cap, dest_index, dest_depth, &dest);
    if (err != NESTOR_OK)
        return err;
    if (!cap_is_null(&dest->cap))
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 0, 0);
    const cte_t *mapped = frame_mapped_whole(slot);
    if (mapped)
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 1, mapped->cap.word1);
    /* Invoke. */
    cap_t s = { .type = NESTOR_OBJ_FRAME_4K, .rights = c->rights,
                .size_bits = NESTOR_FRAME_4K_BITS,
                .obj = c->obj + (index << NESTOR_FRAME_4K_BITS) };
    /* Revocable: the slice is the original of its 4 KiB frame, so revoking
     * it takes back the copies a pager handed out. */
    cdt_insert(slot, dest, s, true, false);
    return NESTOR_OK;
}

nestor_error_t invoke_paging(inv_t *iv, cte_t *slot)
{
    cap_t *c = &slot->cap;
    bool frame = c->type == NESTOR_OBJ_FRAME_4K || c->type == NESTOR_OBJ_FRAME_2M;
    uint64_t vaddr, rights = 0, attr = 0;
    cte_t *pml4;
    nestor_error_t err;
    switch (iv->label) {
    case NESTOR_FRAME_MAP:
    case NESTOR_PAGE_TABLE_MAP:
        if ((iv->label == NESTOR_FRAME_MAP) != frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        if (!inv_arg(iv, 0, &vaddr) || (frame && (!inv_arg(iv, 1, &rights) ||
                                                  !inv_arg(iv, 2, &attr))))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (!(pml4 = inv_cap(iv, 0)))
            return NESTOR_ERR_INVALID_CAPABILITY;
        if (c->type == NESTOR_OBJ_FRAME_2M && frame_has_slices(slot))
            return inv_error(iv, NESTOR_ERR_REVOKE_FIRST, vaddr, 0);
        err = frame ? vspace_map_frame(c, &pml4->cap, vaddr, rights, attr)
                    : vspace_map_table(c, &pml4->cap, vaddr);
        return err == NESTOR_OK ? err : inv_error(iv, err, vaddr, 0);
    case NESTOR_FRAME_UNMAP:
    case NESTOR_PAGE_TABLE_UNMAP:
        if ((iv->label == NESTOR_FRAME_UNMAP) != frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        vspace_unmap_cap(c);
        return NESTOR_OK;
    case NESTOR_EPT_MAP_FRAME:
        if (!frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        if (!inv_arg(iv, 0, &vaddr) || !inv_arg(iv, 1, &rights))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        uint64_t memtype = NESTOR_EPT_MEMTYPE_WB;
        inv_arg(iv, 2, &memtype);                       /* optional */
        if (!(pml4 = inv_cap(iv, 0)))
            return NESTOR_ERR_INVALID_CAPABILITY;
        if (c->type == NESTOR_OBJ_FRAME_2M && frame_has_slices(slot))
            return inv_error(iv, NESTOR_ERR_REVOKE_FIRST, vaddr, 0);
        err = vspace_map_frame_ept(c, &pml4->cap, vaddr, rights, memtype);
        return err == NESTOR_OK ? err : inv_error(iv, err, vaddr, 0);
    case NESTOR_FRAME_SLICE:
        return frame_slice(iv, slot);
    case NESTOR_FRAME_GET_ADDRESS:
        if (!frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        inv_result(iv, 0, kobj_paddr(c->obj));
        return NESTOR_OK;
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    }
}
