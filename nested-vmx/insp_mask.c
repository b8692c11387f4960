/*
 * nested-vmx/insp_mask.c - the inspector of L2's rights withheld in EPT02,
 * region by region of L1's RAM (insp_mask.h, nvmx_insp.h).
 */
#include "insp_mask.h"
#include <nestor/invocations.h>
#include <x86_vmx.h>

#define REGION_MASK (~((1ULL << NVMX_INSP_REGION_BITS) - 1))

void nvmx_mask_init(nvmx_mask_t *k, uint64_t ram_bytes)
{
    *k = (nvmx_mask_t){ .ram_bytes = ram_bytes };
}

static int find(const nvmx_mask_t *k, uint64_t base)
{
    for (unsigned i = 0; i < k->n; i++)
        if (k->r[i].base == base)
            return (int)i;
    return -1;
}

int nvmx_mask_set(nvmx_mask_t *k, uint64_t gpa1, uint64_t withhold, unsigned *before)
{
    /* The rights an EPT watchpoint may withhold (nestor/invocations.h
     * NESTOR_EPT_WITHHOLD_*): write alone, or read with write (read alone
     * would leave write without read, SDM 28.3.3.1), or all three. */
    if (withhold != NESTOR_EPT_WITHHOLD_NONE && withhold != NESTOR_EPT_WITHHOLD_W &&
        withhold != NESTOR_EPT_WITHHOLD_RW && withhold != NESTOR_EPT_WITHHOLD_ALL)
        return NVMX_INSP_E_RIGHTS;
    if (gpa1 >= k->ram_bytes)
        return NVMX_INSP_E_RANGE;
    if (withhold == NESTOR_EPT_WITHHOLD_RW && k->no_xo)
        return NVMX_INSP_E_NO_XO;
    const uint64_t base = gpa1 & REGION_MASK;
    const int i = find(k, base);
    *before = i >= 0 ? k->r[i].withheld : NESTOR_EPT_WITHHOLD_NONE;
    if (withhold == NESTOR_EPT_WITHHOLD_NONE) {
        if (i >= 0)
            k->r[i] = k->r[--k->n];
    } else if (i >= 0) {
        k->r[i].withheld = (unsigned)withhold;
    } else if (k->n == NVMX_INSP_REGIONS) {
        return NVMX_INSP_E_FULL;
    } else {
        k->r[k->n++] = (nvmx_mask_region_t){ .base = base, .withheld = (unsigned)withhold };
    }
    return 0;
}

unsigned nvmx_mask_withheld(const nvmx_mask_t *k, uint64_t gpa1)
{
    const int i = find(k, gpa1 & REGION_MASK);
    return i >= 0 ? k->r[i].withheld : NESTOR_EPT_WITHHOLD_NONE;
}

unsigned nvmx_mask_rights(const nvmx_mask_t *k, uint64_t gpa1, unsigned rights12)
{
    unsigned rights = rights12 & ~nvmx_mask_withheld(k, gpa1) &
                      (NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X);
    /* SDM 28.3.3.1: write without read misconfigures (EPT12 never gives
     * it: ept02.c refuses such an EPT12), execute alone needs the CPU's
     * execute-only support (IA32_VMX_EPT_VPID_CAP bit 0, A.10). */
    if ((rights & NESTOR_EPT_W) && !(rights & NESTOR_EPT_R))
        return 0;
    if (rights == NESTOR_EPT_X && k->no_xo)
        return 0;
    return rights;
}

unsigned nvmx_mask_route(const nvmx_mask_t *k, bool allowed, uint64_t gpa1, uint64_t access)
{
    if (!allowed || gpa1 >= k->ram_bytes)
        return NVMX_INSP_L1;
    /* Qualification bits 0-2 (read, write, fetch: SDM 27.2.1 Table 27-7)
     * against the rights bits R, W, X (28.3.2), the same positions; what an
     * entry of EPT02 into the region keeps (nvmx_mask_rights) decides. */
    const unsigned want = (unsigned)(access & EPT_QUAL_ACCESS);
    const unsigned full = NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X;
    return want & ~nvmx_mask_rights(k, gpa1, full) ? NVMX_INSP_MINE : NVMX_INSP_EPT02;
}

void nvmx_mask_drop(nvmx_mask_t *k, uint64_t gpa1)
{
    unsigned before;
    if (nvmx_mask_withheld(k, gpa1) != NESTOR_EPT_WITHHOLD_NONE &&
        nvmx_mask_set(k, gpa1, NESTOR_EPT_WITHHOLD_NONE, &before) == 0)
        k->dropped++;
}

bool nvmx_mask_in_region(uint64_t base, uint64_t lo, uint64_t len)
{
    const uint64_t end = base + (1ULL << NVMX_INSP_REGION_BITS);
    return len && lo < end && lo + len > base;
}
