/*
 * kernel/vspace.h - x86-64 address spaces built from capabilities: PML4,
 * PDPT, PD and PT objects and 4 KiB / 2 MiB frames (SDM Vol. 3A 4.5).
 *
 * Each PML4 gets a vspace id (an index into a kernel table) when retyped; a
 * mapped frame or table capability records (vaddr, id + 1). Unmapping first
 * checks that the PML4 still lives and still maps this object there, so a
 * destroyed address space leaves no dangling writes behind.
 */
#ifndef KERNEL_VSPACE_H
#define KERNEL_VSPACE_H
#include "arch/x86_64/io.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/vmx.h"
#include "kernel/cap.h"
#include <nestor/invocations.h>
#include <nestor/errors.h>
#include <stdbool.h>

#define VSPACE_MAX 1024
/* SDM Vol. 3C 28.2.2: a 4-level EPT translates 48-bit guest-physical addresses. */
#define EPT_GPA_LIMIT (1ULL << 48)

/* A fresh PML4: kernel half copied in, an id assigned. False if ids ran out. */
bool vspace_init_pml4(cap_t *pml4_cap);
/* A fresh EPT PML4 (guest-physical root): an id, nothing copied. */
bool vspace_init_ept(cap_t *ept_cap);
/* Map a frame into an EPT at guest-physical @gpa with EPT @rights (NESTOR_EPT_R/W/X)
 * and memory type @memtype (NESTOR_EPT_MEMTYPE_*). */
nestor_error_t vspace_map_frame_ept(cap_t *frame, const cap_t *ept_cap, uint64_t gpa,
                                    uint64_t rights, uint64_t memtype);
/* The EPT pointer (SDM 24.6.11) of the EPT PML4 object at @ept_pml4: built
 * only here, since the VMCS and single-context INVEPT descriptors must name
 * the same EPTP; its low bits (vmx_eptp_attrs) are fixed at VMXON. Inline:
 * every VM entry computes it. */
static inline uint64_t vspace_eptp(kaddr_t ept_pml4)
{
    return kobj_paddr(ept_pml4) | vmx_eptp_attrs;
}
/* NESTOR_EPT_READ_AD: the leaf entry mapping a frame at @gpa in the EPT of
 * @ept_cap (*shift: 12 or 21), or an error (decode); its A/D flags as
 * NESTOR_EPT_ACCESSED/DIRTY, cleared (and the EPT invalidated) if @clear. */
nestor_error_t vspace_ept_ad_lookup(const cap_t *ept_cap, uint64_t gpa, uint64_t **leaf,
                                    unsigned *shift);
uint64_t vspace_ept_take_ad(const cap_t *ept_cap, uint64_t *leaf, bool clear);
/* NESTOR_EPT_PROTECT: withhold @withhold (NESTOR_EPT_WITHHOLD_*) of the
 * rights @leaf (from vspace_ept_ad_lookup) was mapped with, what an earlier
 * call withheld given back first; the EPT invalidated. *rights: the leaf's
 * rights after, *before: what was withheld before. NESTOR_ERR_ILLEGAL_OPERATION (nothing changed) where they
 * would be none or execute-only without the CPU's support. */
nestor_error_t vspace_ept_protect(const cap_t *ept_cap, uint64_t *leaf, uint64_t withhold,
                                  uint64_t *rights, uint64_t *before);
/* NESTOR_EPT_SPLIT: the 2 MiB leaf @leaf (from vspace_ept_ad_lookup, of
 * the EPT of @ept_cap, mapping [@base, @base + 2 MiB)) becomes a PDE
 * referencing the EPT PT of @table (unmapped), its 512 entries the leaf's
 * pieces; @table records the mapping, and its unmapping joins them back
 * (vspace_unmap_cap). The EPT invalidated. */
void vspace_ept_split(const cap_t *ept_cap, uint64_t *leaf, cap_t *table, uint64_t base);
/* NESTOR_EPT_SET_MMIO: check @pages 4 KiB entries from @gpa (*bad: the
 * failing address), then install or remove misconfigured entries. */
nestor_error_t vspace_ept_mmio_check(const cap_t *ept_cap, uint64_t gpa, uint64_t pages,
                                     bool install, uint64_t *bad);
void vspace_ept_mmio_apply(const cap_t *ept_cap, uint64_t gpa, uint64_t pages, bool install);
/*
 * A restricted EPT capability (NESTOR_EPT_RESTRICT): word2 of an EPT PML4
 * capability, unused otherwise (a root is never mapped), holds the 4 KiB
 * pages [first, end) it may touch as first | end << 32; 0 is the whole
 * space (end > first, so a range is never 0). Copies keep it.
 */
#define EPT_RANGE_PAGE_BITS 12
#define EPT_RANGE_END_SHIFT 32
static inline bool vspace_ept_restricted(const cap_t *ept_cap)
{
    return ept_cap->type == NESTOR_OBJ_EPT_PML4 && ept_cap->word2 != 0;
}
static inline uint64_t vspace_ept_range_base(const cap_t *c)
{
    return (c->word2 & 0xFFFFFFFFu) << EPT_RANGE_PAGE_BITS;
}
static inline uint64_t vspace_ept_range_end(const cap_t *c)
{
    return (c->word2 >> EPT_RANGE_END_SHIFT) << EPT_RANGE_PAGE_BITS;
}
/* Whether @ept_cap lets its holder touch [@gpa, @gpa + @bytes). */
static inline bool vspace_ept_range_allows(const cap_t *ept_cap, uint64_t gpa, uint64_t bytes)
{
    if (!vspace_ept_restricted(ept_cap))
        return true;
    uint64_t base = vspace_ept_range_base(ept_cap), end = vspace_ept_range_end(ept_cap);
    return gpa >= base && gpa < end && bytes <= end - gpa;
}
/* The mapping record (capability word2) for a mapping into @root. */
uint64_t vspace_map_record(const cap_t *root);
/* How many more PML4s can get an id. */
unsigned vspace_free_ids(void);
/* Forget the address space of @pml4_cap (its last capability is going). */
void vspace_destroy(const cap_t *pml4_cap);
/* The PML4 (physical) in CR3 now. */
extern uint64_t vspace_active_cr3;
/* The kernel's own PML4 (kernel half only): boot_pml4 is in the kernel
 * image (KERNEL_VMA + physical), not the physmap. Inline: every VM exit
 * and every entry into a vCPU thread asks. */
extern uint64_t boot_pml4[];
static inline uint64_t vspace_kernel_pml4_paddr(void)
{
    return (uint64_t)(uintptr_t)boot_pml4 - KERNEL_VMA;
}

/* Load CR3 with the PML4 at @pml4_paddr unless it is there already. */
static inline void vspace_load_cr3(uint64_t pml4_paddr)
{
    if (pml4_paddr != vspace_active_cr3) {
        vspace_active_cr3 = pml4_paddr;
        write_cr3(pml4_paddr);
    }
}

/* Load CR3 for @vs (a PML4 capability; anything else: the kernel's only). */
static inline void vspace_activate(const cap_t *vs)
{
    vspace_load_cr3(vs->type == NESTOR_OBJ_PML4 ? kobj_paddr(vs->obj)
                                                : vspace_kernel_pml4_paddr());
}
bool vspace_is_mapping_cap(const cap_t *c);
/* The memory type (NESTOR_EPT_MEMTYPE_*: the PAT/MTRR encoding, SDM Vol. 3A
 * 11.3) of the mapping frame capability @c records, or VSPACE_NOT_MAPPED. */
#define VSPACE_NOT_MAPPED (-1)
int vspace_mapped_type(const cap_t *c);
/* Is @memtype one of the types a frame may be mapped with in an EPT (SDM
 * Vol. 3C 28.3.7, Table 28-6: not the reserved 2, 3, 7)? */
bool vspace_memtype_valid(uint64_t memtype);
/* Undo the mapping a frame or table capability records, if still valid. */
void vspace_unmap_cap(cap_t *c);
/* Invocations on frames and paging structures. */
nestor_error_t vspace_map_table(cap_t *table, const cap_t *pml4, uint64_t vaddr);
nestor_error_t vspace_map_frame(cap_t *frame, const cap_t *pml4, uint64_t vaddr,
                                uint64_t rights, uint64_t attr);
/* Map @paddr at @vaddr in the PML4 at @pml4 (boot time; tables from @alloc). */
typedef uint64_t (*vspace_alloc_fn)(void);
void vspace_boot_map(uint64_t *pml4, uint64_t vaddr, uint64_t paddr, bool writable,
                     vspace_alloc_fn alloc);

#endif
