/*
 * kernel/ept.c - invocations on an EPT PML4 (the root of a guest-physical
 * address space): reading and clearing the accessed/dirty flags of a
 * mapped frame (SDM Vol. 3C 28.3.5), and guest-physical ranges whose
 * accesses exit as EPT misconfigurations (SDM 28.3.3.1, exit reason 49).
 * Rights withheld from a mapped frame for watchpoints (SDM 28.3.3.2).
 * Mapping frames and tables into an EPT is an invocation on the frame or
 * table (paging.c).
 */
#include "kernel/invoke.h"
#include "kernel/vspace.h"
#include "arch/x86_64/vmx.h"

#define PAGE_4K_MASK ((1ULL << NESTOR_FRAME_4K_BITS) - 1)

static nestor_error_t range_error(inv_t *iv, const cap_t *c)
{
    return inv_error(iv, NESTOR_ERR_RANGE, vspace_ept_range_base(c), vspace_ept_range_end(c));
}

/* The leaf mapping @gpa, within the capability's range (read_ad, protect):
 * NESTOR_OK, or the error already reported to the caller. */
static nestor_error_t leaf_at(inv_t *iv, cte_t *slot, uint64_t gpa, uint64_t **leaf,
                              unsigned *shift)
{
    if (!vspace_ept_range_allows(&slot->cap, gpa, 1))
        return range_error(iv, &slot->cap);
    nestor_error_t err = vspace_ept_ad_lookup(&slot->cap, gpa, leaf, shift);
    if (err == NESTOR_ERR_INVALID_ARGUMENT)
        return inv_error(iv, err, 0, gpa);
    if (err != NESTOR_OK)
        return inv_error(iv, err, gpa, 0);
    return NESTOR_OK;
}

static nestor_error_t read_ad(inv_t *iv, cte_t *slot)
{
    uint64_t gpa, flags, *leaf;
    unsigned shift;
    if (!inv_arg(iv, 0, &gpa) || !inv_arg(iv, 1, &flags))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    /* SDM 28.3.5: without the CPU's support no flag is ever set. */
    if (!vmx_ept_ad())
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, slot->cap.type);
    if (flags & ~(uint64_t)NESTOR_EPT_AD_CLEAR)
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 1, flags);
    nestor_error_t err = leaf_at(iv, slot, gpa, &leaf, &shift);
    if (err != NESTOR_OK)
        return err;
    /* Invoke. */
    inv_result(iv, 0, vspace_ept_take_ad(&slot->cap, leaf, flags & NESTOR_EPT_AD_CLEAR));
    inv_result(iv, 1, shift);
    return NESTOR_OK;
}

/* NESTOR_EPT_PROTECT: withhold rights of the leaf mapping a frame at a
 * guest-physical address (an inspector's EPT watchpoints): only ever less
 * than the mapping's own rights, and only for a leaf wholly inside the
 * capability's range, so a restricted holder changes nothing outside the
 * RAM it was given and gives no page a right its owner did not. */
static nestor_error_t protect(inv_t *iv, cte_t *slot)
{
    uint64_t gpa, withhold, *leaf, rights, before;
    unsigned shift;
    if (!inv_arg(iv, 0, &gpa) || !inv_arg(iv, 1, &withhold))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (withhold != NESTOR_EPT_WITHHOLD_NONE && withhold != NESTOR_EPT_WITHHOLD_W &&
        withhold != NESTOR_EPT_WITHHOLD_RW && withhold != NESTOR_EPT_WITHHOLD_ALL)
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 1, withhold);
    nestor_error_t err = leaf_at(iv, slot, gpa, &leaf, &shift);
    if (err != NESTOR_OK)
        return err;
    const uint64_t leaf_base = gpa & ~((1ULL << shift) - 1);
    if (!vspace_ept_range_allows(&slot->cap, leaf_base, 1ULL << shift))
        return range_error(iv, &slot->cap);
    /* Invoke. */
    err = vspace_ept_protect(&slot->cap, leaf, withhold, &rights, &before);
    if (err != NESTOR_OK)
        return inv_error(iv, err, iv->label, withhold);
    inv_result(iv, 0, shift);
    inv_result(iv, 1, rights);
    inv_result(iv, 2, before);
    return NESTOR_OK;
}

/*
 * NESTOR_EPT_SPLIT: the 2 MiB leaf mapping a frame at a guest-physical
 * address becomes 512 4 KiB leaves of the same frame, in an EPT PT the
 * caller supplies (retyped from its own untyped: the kernel allocates
 * nothing), so that NESTOR_EPT_PROTECT withholds rights of one 4 KiB page
 * (an inspector's watchpoint or hidden breakpoint: only the accesses to
 * that page exit, SDM 28.3.3.2, not those to the rest of the 2 MiB).
 * The rules, and why they keep isolation:
 *  - Translation is unchanged (SDM 28.3.2): each piece maps the same
 *    bytes with the leaf's rights, withheld rights, memory type and A/D
 *    flags (vspace_ept_split), so no page gets a right or a second memory
 *    type (SDM Vol. 3A 11.12.4) it did not have; INVEPT follows both the
 *    split and the join (28.4.3.1: translations and paging-structure
 *    entries cached from the PDE).
 *  - Only what the capability may protect: a 2 MiB frame's leaf wholly
 *    inside a restricted capability's range (the inspector's: the VM's
 *    RAM). A 4 KiB leaf (a frame's own, or a leaf split already) is
 *    refused: nothing is split twice. The PT must be unmapped (one
 *    capability per table, cnode_ops.c: so it is in no other EPT).
 *  - The frame's bookkeeping finds the pieces as the leaf: the frame's
 *    capability still records the 2 MiB mapping (vspace.c split_table):
 *    its unmapping or deletion (the VMM's remaps and teardown, revoking
 *    it) removes all 512 entries and empties the PT; lookups (memory-type
 *    checks, NESTOR_EPT_READ_AD per piece, so an A/D scan misses no dirty
 *    page) see the frame; nothing maps over a piece (each is present) and
 *    no 4 KiB frame capability unmaps one. Unmapping the EPT's PD empties
 *    it: the PT is out of every EPT. Pagers' slices never meet a split:
 *    a frame in slices is not mapped whole (paging.c).
 *  - The table is the caller's and goes back whole: NESTOR_PAGE_TABLE_UNMAP
 *    on it, its deletion or its untyped's revocation joins the pieces into
 *    the 2 MiB leaf again (what all of them withhold stays withheld), so
 *    the guest keeps its RAM and no entry survives in memory the caller
 *    no longer owns; a PT whose frame went first unmaps to nothing.
 */
static nestor_error_t split(inv_t *iv, cte_t *slot)
{
    uint64_t gpa, *leaf;
    unsigned shift;
    if (!inv_arg(iv, 0, &gpa))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *table = inv_cap(iv, 0);
    if (!table)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (table->cap.type != NESTOR_OBJ_EPT_PT)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 0, table->cap.type);
    if (table->cap.word2)
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 0, table->cap.word1);
    nestor_error_t err = leaf_at(iv, slot, gpa, &leaf, &shift);
    if (err != NESTOR_OK)
        return err;
    if (shift != NESTOR_FRAME_2M_BITS)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, gpa, shift);
    const uint64_t leaf_base = gpa & ~((1ULL << shift) - 1);
    if (!vspace_ept_range_allows(&slot->cap, leaf_base, 1ULL << shift))
        return range_error(iv, &slot->cap);
    /* Invoke. */
    vspace_ept_split(&slot->cap, leaf, &table->cap, leaf_base);
    return NESTOR_OK;
}

static nestor_error_t set_mmio(inv_t *iv, cte_t *slot)
{
    uint64_t gpa, pages, op, bad = 0;
    if (!inv_arg(iv, 0, &gpa) || !inv_arg(iv, 1, &pages) || !inv_arg(iv, 2, &op))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (gpa & PAGE_4K_MASK)
        return inv_error(iv, NESTOR_ERR_ALIGNMENT, gpa, 0);
    if (pages < 1 || pages > NESTOR_EPT_MMIO_MAX_PAGES)
        return inv_error(iv, NESTOR_ERR_RANGE, 1, NESTOR_EPT_MMIO_MAX_PAGES);
    if (op != NESTOR_EPT_MMIO_INSTALL && op != NESTOR_EPT_MMIO_REMOVE)
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 2, op);
    /* MMIO entries are the VMM's: a restricted capability (a pager's) has
     * none to install or remove. */
    if (vspace_ept_restricted(&slot->cap))
        return range_error(iv, &slot->cap);
    bool install = op == NESTOR_EPT_MMIO_INSTALL;
    nestor_error_t err = vspace_ept_mmio_check(&slot->cap, gpa, pages, install, &bad);
    if (err == NESTOR_ERR_INVALID_ARGUMENT)
        return inv_error(iv, err, 0, bad);     /* MR0: argument 0, MR1: the address */
    if (err != NESTOR_OK)
        return inv_error(iv, err, bad, 0);
    /* Invoke. */
    vspace_ept_mmio_apply(&slot->cap, gpa, pages, install);
    return NESTOR_OK;
}

/*
 * NESTOR_EPT_RESTRICT: a child capability to the same EPT that maps frames
 * and reads A/D flags only in [base, base + bytes) (vspace.h), inside the
 * invoked capability's own range. A VMM hands it to a pager stacked on a
 * VM: the pager can put its own frames into that VM's RAM range and nowhere
 * else, neither outside the range (MMIO, another device's window) nor into
 * another VM (it holds no other EPT), and cannot take a frame the VMM
 * mapped there (mapping needs an empty entry; unmapping needs the frame's
 * capability).
 */
static nestor_error_t restrict_range(inv_t *iv, cte_t *slot)
{
    uint64_t base, bytes, dest_index, dest_depth;
    if (!inv_arg(iv, 0, &base) || !inv_arg(iv, 1, &bytes) || !inv_arg(iv, 2, &dest_index) ||
        !inv_arg(iv, 3, &dest_depth))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *root = inv_cap(iv, 0), *dest;
    if (!root)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if ((base | bytes) & PAGE_4K_MASK)
        return inv_error(iv, NESTOR_ERR_ALIGNMENT, base, bytes);
    if (bytes == 0 || base >= NESTOR_EPT_RESTRICT_LIMIT ||
        bytes > NESTOR_EPT_RESTRICT_LIMIT - base)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_EPT_RESTRICT_LIMIT);
    if (!vspace_ept_range_allows(&slot->cap, base, bytes))
        return range_error(iv, &slot->cap);
    nestor_error_t err = inv_slot(iv, &root->cap, dest_index, dest_depth, &dest);
    if (err != NESTOR_OK)
        return err;
    if (!cap_is_null(&dest->cap))
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 0, 0);
    /* Invoke. */
    cap_t c = slot->cap;
    c.word2 = base >> EPT_RANGE_PAGE_BITS |
              ((base + bytes) >> EPT_RANGE_PAGE_BITS) << EPT_RANGE_END_SHIFT;
    cdt_insert(slot, dest, c, false, false);
    return NESTOR_OK;
}

nestor_error_t invoke_ept(inv_t *iv, cte_t *slot)
{
    switch (iv->label) {
    case NESTOR_EPT_RESTRICT:
        return restrict_range(iv, slot);
    case NESTOR_EPT_READ_AD:
        return read_ad(iv, slot);
    case NESTOR_EPT_SET_MMIO:
        return set_mmio(iv, slot);
    case NESTOR_EPT_PROTECT:
        return protect(iv, slot);
    case NESTOR_EPT_SPLIT:
        return split(iv, slot);
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, slot->cap.type);
    }
}
