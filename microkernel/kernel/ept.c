/*
 * kernel/ept.c - invocations on an EPT PML4 (the root of a guest-physical
 * address space): reading and clearing the accessed/dirty flags of a
 * mapped frame (SDM Vol. 3C 28.3.5), and guest-physical ranges whose
 * accesses exit as EPT misconfigurations (SDM 28.3.3.1, exit reason 49).
 * Mapping frames and tables into an EPT is an invocation on the frame or
 * table (paging.c).
 */
#include "kernel/invoke.h"
#include "kernel/vspace.h"
#include "arch/x86_64/vmx.h"

#define PAGE_4K_MASK ((1ULL << NESTOR_FRAME_4K_BITS) - 1)

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
    nestor_error_t err = vspace_ept_ad_lookup(&slot->cap, gpa, &leaf, &shift);
    if (err == NESTOR_ERR_INVALID_ARGUMENT)
        return inv_error(iv, err, 0, gpa);
    if (err != NESTOR_OK)
        return inv_error(iv, err, gpa, 0);
    /* Invoke. */
    inv_result(iv, 0, vspace_ept_take_ad(&slot->cap, leaf, flags & NESTOR_EPT_AD_CLEAR));
    inv_result(iv, 1, shift);
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

nestor_error_t invoke_ept(inv_t *iv, cte_t *slot)
{
    switch (iv->label) {
    case NESTOR_EPT_READ_AD:
        return read_ad(iv, slot);
    case NESTOR_EPT_SET_MMIO:
        return set_mmio(iv, slot);
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, slot->cap.type);
    }
}
