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

/* A slice of this 2 MiB frame that is (@alias) or is not an alias slice
 * and, if @mapped, is mapped; NULL if none. */
static const cte_t *frame_slice_found(cte_t *slot, bool alias, bool mapped)
{
    const cap_t frame = slot->cap;
    for (const cte_t *s = cdt_frame_run_first(slot); s; s = cdt_frame_run_next(s, &frame))
        if (cap_is_slice_of(&s->cap, &frame) && cap_is_alias(&s->cap) == alias &&
            (!mapped || s->cap.word2))
            return s;
    return 0;
}

/* Does @s hold a 4 KiB frame in the same 2 MiB-aligned region as @alias
 * (2 MiB frames are 2 MiB-aligned: SDM Vol. 3A 4.5, a PDE's address)? */
static bool same_region_4k(const cte_t *s, const cap_t *alias)
{
    return s->cap.type == NESTOR_OBJ_FRAME_4K &&
           s->cap.obj >> NESTOR_FRAME_2M_BITS == alias->obj >> NESTOR_FRAME_2M_BITS;
}

/* A capability to the 2 MiB frame the 4 KiB frame capability in @slot is a
 * slice or alias slice of, or NULL (a frame of its own). The frame's run
 * holds one while the slice lives (the last one deleted deletes the
 * slices); only slices of that frame lie between the two. */
static cte_t *slice_frame(cte_t *slot)
{
    cte_t *s = slot->prev;
    while (s && same_region_4k(s, &slot->cap))
        s = s->prev;
    if (s && cap_is_slice_of(&slot->cap, &s->cap))
        return s;
    for (s = slot->next; s && same_region_4k(s, &slot->cap);)
        s = s->next;
    return s && cap_is_slice_of(&slot->cap, &s->cap) ? s : 0;
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
 *
 * NESTOR_FRAME_SLICE_ALIAS: a 4 KiB view of one slice for the holder of a
 * frame that is used whole (nested-vmx maps single pages of L1's RAM into
 * EPT02 while the VMM maps that RAM whole into EPT01). It is part of the
 * whole use, not a slice in the sense above, and is bounded so that neither
 * reason for that rule is broken:
 *  - it is made only while the frame has no slices (NESTOR_ERR_REVOKE_FIRST),
 *    and no slice is made while an alias exists: a pager's slices keep their
 *    meaning (no page it takes back stays reachable through an alias);
 *  - it is a child of the frame like a slice (revoking the frame's original
 *    or deleting its last capability deletes it and removes its EPT entry,
 *    with INVEPT: kernel/cnode_ops.c delete_slices, vspace_unmap_cap), and
 *    it cannot be copied, minted or sent (cap_check_derivable), nor given to
 *    the kernel as an IPC buffer, state page or PML page: every use of it is
 *    one EPT entry the kernel finds through it;
 *  - it is mapped only with NESTOR_EPT_MAP_FRAME and only write-back (the
 *    EPT leaf's type is the effective type, EPT_IGNORE_PAT; SDM Vol. 3C
 *    28.3.7), and only while every whole mapping of the frame is
 *    write-back; a whole mapping of another type is refused while an alias
 *    is mapped. So a page never has two memory types at once (SDM Vol. 3A
 *    11.12.4); a 2 MiB and a 4 KiB mapping of one type are allowed aliases.
 * It does not keep the frame from being mapped whole or sliced later (delete
 * the aliases first).
 *
 * Beyond slices and aliases, every mapping of a page has one memory type
 * (memtype_check below): two capabilities to one frame, or two copies of
 * one slice, cannot map it with two types either.
 */
static nestor_error_t frame_slice(inv_t *iv, cte_t *slot, bool alias)
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
    if (!alias && mapped)
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 1, mapped->cap.word1);
    /* Slices and alias slices exclude each other (above). */
    if (frame_slice_found(slot, !alias, false))
        return inv_error(iv, NESTOR_ERR_REVOKE_FIRST, 0, 0);
    /* Invoke. */
    cap_t s = { .type = NESTOR_OBJ_FRAME_4K, .rights = c->rights,
                .size_bits = NESTOR_FRAME_4K_BITS, .flags = alias ? CAP_FRAME_ALIAS : 0,
                .obj = c->obj + (index << NESTOR_FRAME_4K_BITS) };
    /* Revocable: the slice is the original of its 4 KiB frame, so revoking
     * it takes back the copies a pager handed out. An alias has no copies. */
    cdt_insert(slot, dest, s, !alias, false);
    return NESTOR_OK;
}

/* NESTOR_EPT_MAP_FRAME of an alias slice: write-back only (frame_slice
 * above; that its frame is mapped whole with write-back alone is
 * memtype_check's). */
static nestor_error_t alias_map_check(inv_t *iv, uint64_t memtype)
{
    return memtype == NESTOR_EPT_MEMTYPE_WB ? NESTOR_OK
                                            : inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 2, memtype);
}

/* Does the mapping of @s cover memory of @slot's (a 2 MiB frame covers all
 * of its slices, a 4 KiB one its own page) with a type other than @type? */
static bool mapped_otherwise(const cte_t *s, const cte_t *slot, int type)
{
    if (!s->cap.word2 || (s->cap.type != NESTOR_OBJ_FRAME_2M &&
                          slot->cap.type != NESTOR_OBJ_FRAME_2M && s->cap.obj != slot->cap.obj))
        return false;
    int t = vspace_mapped_type(&s->cap);
    return t != VSPACE_NOT_MAPPED && t != type;
}

/*
 * One memory type per page, whatever maps it: SDM Vol. 3A 11.12.4, a page
 * mapped with two memory types "may lead to undefined operations that can
 * result in a system failure", a machine check for every monitor, not only
 * the one that chose. The capabilities that can map a page lie together in
 * the derivation list: a 2 MiB frame's run (its capabilities, slices and
 * alias slices, with their copies) or the copies of a 4 KiB frame of its
 * own. Mapping @slot with @type (the PAT/MTRR encoding) is refused while one
 * of them maps memory of it with another (MR0 the address asked for, MR1
 * the other mapping's). (Not covered: the kernel's own write-back map of
 * all memory, through which it reads and writes IPC buffers, state pages
 * and new objects; a monitor's uncached mapping of RAM still aliases that.)
 */
static nestor_error_t memtype_check(inv_t *iv, cte_t *slot, uint64_t vaddr, int type)
{
    cte_t *frame = slot->cap.type == NESTOR_OBJ_FRAME_2M ? slot : slice_frame(slot);
    const cte_t *s;
    if (frame) {
        const cap_t f = frame->cap;
        for (s = cdt_frame_run_first(frame); s; s = cdt_frame_run_next(s, &f))
            if (mapped_otherwise(s, slot, type))
                return inv_error(iv, NESTOR_ERR_DELETE_FIRST, vaddr, s->cap.word1);
        return NESTOR_OK;
    }
    for (s = slot->prev; s && cap_same_object(&s->cap, &slot->cap); s = s->prev)
        if (mapped_otherwise(s, slot, type))
            return inv_error(iv, NESTOR_ERR_DELETE_FIRST, vaddr, s->cap.word1);
    for (s = slot->next; s && cap_same_object(&s->cap, &slot->cap); s = s->next)
        if (mapped_otherwise(s, slot, type))
            return inv_error(iv, NESTOR_ERR_DELETE_FIRST, vaddr, s->cap.word1);
    return NESTOR_OK;
}

/* Mapping a 2 MiB frame whole (@wb: write-back): not while it has slices,
 * and not with another memory type while an alias slice of it is mapped. */
static nestor_error_t whole_map_check(inv_t *iv, cte_t *slot, uint64_t vaddr, bool wb)
{
    if (slot->cap.type != NESTOR_OBJ_FRAME_2M)
        return NESTOR_OK;
    if (frame_slice_found(slot, false, false) || (!wb && frame_slice_found(slot, true, true)))
        return inv_error(iv, NESTOR_ERR_REVOKE_FIRST, vaddr, 0);
    return NESTOR_OK;
}

/* A mapping's result: MR0 = the address, or for a restricted EPT
 * capability's range refusal (vspace.h) MR0/MR1 = its range. */
static nestor_error_t map_error(inv_t *iv, nestor_error_t err, const cap_t *root, uint64_t vaddr)
{
    if (err == NESTOR_OK)
        return err;
    if (err == NESTOR_ERR_RANGE && vspace_ept_restricted(root))
        return inv_error(iv, err, vspace_ept_range_base(root), vspace_ept_range_end(root));
    return inv_error(iv, err, vaddr, 0);
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
        if (cap_is_alias(c))            /* EPT only (frame_slice) */
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        if (frame) {
            bool uc = attr & NESTOR_FRAME_ATTR_UNCACHED;
            if ((err = whole_map_check(iv, slot, vaddr, !uc)) != NESTOR_OK ||
                (err = memtype_check(iv, slot, vaddr, uc ? NESTOR_EPT_MEMTYPE_UC
                                                         : NESTOR_EPT_MEMTYPE_WB)) != NESTOR_OK)
                return err;
        }
        err = frame ? vspace_map_frame(c, &pml4->cap, vaddr, rights, attr)
                    : vspace_map_table(c, &pml4->cap, vaddr);
        return map_error(iv, err, &pml4->cap, vaddr);
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
        err = cap_is_alias(c) ? alias_map_check(iv, memtype)
                              : whole_map_check(iv, slot, vaddr, memtype == NESTOR_EPT_MEMTYPE_WB);
        if (err == NESTOR_OK && vspace_memtype_valid(memtype))
            err = memtype_check(iv, slot, vaddr, (int)memtype);
        if (err != NESTOR_OK)
            return err;
        err = vspace_map_frame_ept(c, &pml4->cap, vaddr, rights, memtype);
        return map_error(iv, err, &pml4->cap, vaddr);
    case NESTOR_FRAME_SLICE:
    case NESTOR_FRAME_SLICE_ALIAS:
        return frame_slice(iv, slot, iv->label == NESTOR_FRAME_SLICE_ALIAS);
    case NESTOR_FRAME_GET_ADDRESS:
        if (!frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        inv_result(iv, 0, kobj_paddr(c->obj));
        return NESTOR_OK;
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    }
}
