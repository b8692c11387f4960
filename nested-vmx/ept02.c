/*
 * nested-vmx/ept02.c - EPT02: the EPT vcpu02 runs with, composed from L1's
 * EPT12 (walked in L1's memory, SDM Vol. 3C 28.3.2) and L1's RAM (the VMM's
 * frames). Built lazily: an EPT violation of L2 walks EPT12 for the address;
 * where EPT12 does not allow the access, L1 gets the EPT violation (or
 * misconfiguration) with the qualification EPT12 gives (SDM 27.2.1 Table
 * 27-7); where it does, the L1 frame is mapped. L1 without EPT: L2-physical
 * is L1-physical.
 *
 * Granularity: EPT12's 2 MiB pages, and page tables whose 512 4 KiB pages
 * make one 2 MiB page (in order, one set of rights and type), map as 2 MiB
 * pages of EPT02 (a copy of L1's 2 MiB frame). Any other 4 KiB page of
 * EPT12 maps as one 4 KiB page of EPT02, through an alias slice of L1's
 * frame (nestor/invocations.h NESTOR_FRAME_SLICE_ALIAS: a 4 KiB view of a
 * frame the VMM maps whole in EPT01; write-back, as EPT02's 2 MiB pages),
 * in an EPT02 page table of ours. EPT02's permissions are EPT12's: the VMM
 * maps L1's RAM read/write/execute in EPT01, so EPT12 AND EPT01 (the
 * composition of SDM 28.3.3) is EPT12's; an inspector of L2 may withhold
 * some of them in regions of L1's RAM (nvmx_insp.h, insp_mask.h): each
 * entry into such a region keeps EPT12's rights less those, whenever it is
 * made, and is made again when they change (ept02_remask).
 *
 * EPT02 is a cache of EPT12, as the CPU's EPT TLB is (SDM 28.4): what is
 * in it is dropped whole on INVEPT, a new EPTP, VMCLEAR of the VMCS L2 ran
 * from, VMXOFF, a reset and the VM's end, and when a table is full. A
 * fault at an address EPT02 maps already (L1 gave more rights without
 * INVEPT, SDM 28.4.3.3) maps it again with EPT12's rights now; where EPT12
 * turned a 2 MiB page into a page table (or back) without INVEPT, EPT02 is
 * dropped and built again.
 */
#include "monitor.h"
#include "nvmx_setup.h"
#include <string.h>
#include <user/print.h>

#define EPT_R            BIT(0)
#define EPT_W            BIT(1)
#define EPT_X            BIT(2)
#define EPT_RWX          (EPT_R | EPT_W | EPT_X)
#define EPT_PS           BIT(7)             /* a leaf above the PT level (28.3.2) */
#define EPT_MEMTYPE(e)   (((e) >> 3) & 7)
#define EPT_ADDR_MASK    0x000FFFFFFFFFF000ULL
#define EPTP_ADDR_MASK   0x000FFFFFFFFFF000ULL
#define EPT_LEVELS       4
#define PAGE_2M          (1ULL << 21)
#define PAGE_4K_MASK     0xFFFULL
/* What an EPT violation of vcpu02 gives L1's (SDM 27.2.1, Table 27-7,
 * x86_vmx.h): the access, the linear-address bits, NMI unblocking. */
#define EPTQ_KEEP        (EPT_QUAL_ACCESS | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED | \
                          EPT_QUAL_NMI_UNBLOCKED)

/* SDM 28.3.3.1: an entry misconfigures EPT12 (with nested-vmx's EPT caps:
 * no execute-only, 2 MiB but not 1 GiB pages, WB/UC memory types). */
static bool misconfigured(uint64_t e, int level, unsigned maxphyaddr)
{
    if ((e & EPT_W) && !(e & EPT_R))
        return true;
    if ((e & EPT_X) && !(e & EPT_R))                /* execute-only not advertised */
        return true;
    if (maxphyaddr < 52 && (e & EPT_ADDR_MASK & ~((1ULL << maxphyaddr) - 1)))
        return true;
    bool leaf = level == 0 || (level == 1 && (e & EPT_PS));
    if (!leaf)
        return (e & 0xF8) != 0;         /* bits 7:3 reserved (bit 7: no 1 GiB pages) */
    unsigned mt = EPT_MEMTYPE(e);
    if (mt == 2 || mt == 3 || mt == 7)
        return true;
    if (level == 1 && (e & 0x1FE000))               /* bits 20:12 of a 2 MiB leaf */
        return true;
    return false;
}

/* A slot of ours for @cptr if it has none yet; false if we have no more. */
static bool have_slot(struct nvmx_monitor *m, nestor_cptr_t *cptr)
{
    if (!*cptr && m->alloc.next_slot < m->alloc.end_slot)
        *cptr = m->alloc.next_slot++;
    return *cptr != 0;
}

/* Unmap and delete the capability in @slot (the slot stays ours). */
static void drop_cap(struct nvmx_monitor *m, nestor_cptr_t slot)
{
    nu_frame_unmap(slot);
    nu_cnode_delete(m->alloc.cnode, slot, 64);
}

/* Remove 2 MiB mapping @i (its slot moves to the unused end). */
static void drop_map(l2_t *l2, struct nvmx_monitor *m, unsigned i)
{
    ept02_map_t gone = l2->maps[i];
    drop_cap(m, gone.frame);
    l2->maps[i] = l2->maps[--l2->n_maps];
    l2->maps[l2->n_maps] = gone;
}

/* Remove 4 KiB mapping @i (its slot moves to the unused end). */
static void drop_page(l2_t *l2, struct nvmx_monitor *m, unsigned i)
{
    ept02_page_t gone = l2->pages[i];
    drop_cap(m, gone.alias);
    l2->pages[i] = l2->pages[--l2->n_pages];
    l2->pages[l2->n_pages] = gone;
}

void ept02_flush(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    l2->rebuilds += l2->n_maps || l2->n_pages;
    while (l2->n_maps)
        drop_map(l2, m, 0);
    while (l2->n_pages)
        drop_page(l2, m, 0);
    /* The page tables leave EPT02 (emptied: kernel/vspace.c) and stay ours. */
    for (unsigned i = 0; i < l2->n_pts; i++)
        nu_page_table_unmap(l2->pts[i].pt);
    l2->n_pts = 0;
}

/* EPT02's 2 MiB mapping at @base2, or -1. */
static int map_at(const l2_t *l2, uint64_t base2)
{
    for (unsigned i = 0; i < l2->n_maps; i++)
        if (l2->maps[i].gpa2 == base2)
            return (int)i;
    return -1;
}

/* EPT02's page table for the 2 MiB at @base2, or -1. */
static int pt_at(const l2_t *l2, uint64_t base2)
{
    for (unsigned i = 0; i < l2->n_pts; i++)
        if (l2->pts[i].gpa2 == base2)
            return (int)i;
    return -1;
}

static bool in_ram(struct nvmx_monitor *m, uint64_t gpa2, uint64_t gpa1)
{
    if (gpa1 < m->ram_bytes)
        return true;
    printf("nested-vmx %s: L2-physical 0x%lx is L1-physical 0x%lx, not RAM: device memory "
           "for L2 is not supported yet: VM stopped\n", m->name, gpa2, gpa1);
    return false;
}

static int cannot_map(struct nvmx_monitor *m, uint64_t gpa2, uint64_t gpa1, nestor_error_t e)
{
    printf("nested-vmx %s: cannot map L1-physical 0x%lx at L2-physical 0x%lx (error %lu): "
           "VM stopped\n", m->name, gpa1, gpa2, (nestor_word_t)e);
    return -1;
}

/* The kernel refused EPT02 entry rights @rights with @e: execute alone is
 * refused where the CPU has no execute-only EPT (SDM 28.3.3.1, A.10; the
 * kernel's vspace_map_frame_ept): from now on an inspector's read and write
 * withheld leave nothing mapped (insp_mask.h), and this entry too. */
static bool learned_no_xo(struct nvmx_monitor *m, unsigned rights, nestor_error_t e)
{
    if (e != NESTOR_ERR_INVALID_ARGUMENT || rights != EPT_X)
        return false;
    m->insp_mask.no_xo = true;
    return true;
}

/* Map L1's 2 MiB frame holding @gpa1 at L2-physical @gpa2 (both 2 MiB
 * aligned) with EPT12's @rights, less what the inspector of L2 withholds
 * there (nvmx_insp.h): with none left, nothing is mapped (each access
 * faults, for the inspector). */
static int map(struct nvmx_monitor *m, uint64_t gpa2, uint64_t gpa1, unsigned rights)
{
    l2_t *l2 = &m->l2;
    if (!in_ram(m, gpa2, gpa1))
        return -1;
    int old = map_at(l2, gpa2);
    if (old >= 0)
        drop_map(l2, m, (unsigned)old);     /* mapped again with EPT12's rights now */
    if (pt_at(l2, gpa2) >= 0 || l2->n_maps == EPT02_MAX_MAPS)
        ept02_flush(m);                     /* was a page table; or full */
    const unsigned masked = nvmx_mask_rights(&m->insp_mask, gpa1, rights);
    if (!masked)
        return 1;
    ept02_map_t *e = &l2->maps[l2->n_maps];
    if (!have_slot(m, &e->frame))
        return cannot_map(m, gpa2, gpa1, NESTOR_ERR_NOT_ENOUGH_MEMORY);
    nestor_word_t frame = NVMX_GRANT_RAM_INDEX(gpa1 >> m->frame_bits);
    nestor_error_t err = nu_cnode_copy(m->alloc.cnode, e->frame, 64, m->grant, frame,
                                       m->grant_radix, NESTOR_RIGHTS_ALL);
    if (err == NESTOR_OK)
        err = nu_ept_map_2m(&m->alloc, l2->ept, gpa2, e->frame, masked);
    if (err != NESTOR_OK) {
        nu_cnode_delete(m->alloc.cnode, e->frame, 64);
        return learned_no_xo(m, masked, err) ? 1 : cannot_map(m, gpa2, gpa1, err);
    }
    e->gpa2 = gpa2;
    e->gpa1 = gpa1;
    e->rights12 = rights;
    l2->n_maps++;
    l2->made_2m++;
    return 1;
}

/* EPT02's page table for the 2 MiB at @base2, added if need be (from the
 * ones we have, else a new one); false if none can be had. */
static bool pt_for(struct nvmx_monitor *m, uint64_t base2)
{
    l2_t *l2 = &m->l2;
    if (pt_at(l2, base2) >= 0)
        return true;
    ept02_pt_t *p = &l2->pts[l2->n_pts];
    if (!p->pt && !(p->pt = nu_alloc_obj(&m->alloc, NESTOR_OBJ_EPT_PT, 0)))
        return false;
    if (nu_ept_map_pt(&m->alloc, l2->ept, base2, p->pt) != NESTOR_OK)
        return false;
    p->gpa2 = base2;
    l2->n_pts++;
    return true;
}

/* Map L1's 4 KiB page @gpa1 at L2-physical @gpa2 (both 4 KiB aligned) with
 * EPT12's @rights (less the inspector's mask, as map), through an alias
 * slice of L1's frame. */
static int map_page(struct nvmx_monitor *m, uint64_t gpa2, uint64_t gpa1, unsigned rights)
{
    l2_t *l2 = &m->l2;
    const uint64_t base2 = gpa2 & ~(PAGE_2M - 1);
    if (!in_ram(m, gpa2, gpa1))
        return -1;
    if (map_at(l2, base2) >= 0)
        ept02_flush(m);                     /* was a 2 MiB page */
    ept02_page_t *e = 0;
    for (unsigned i = 0; i < l2->n_pages && !e; i++)
        if (l2->pages[i].gpa2 == gpa2)
            e = &l2->pages[i];
    if (e && e->gpa1 == gpa1) {
        nu_frame_unmap(e->alias);           /* the same page, EPT12's rights now */
    } else {
        if (e)
            drop_page(l2, m, (unsigned)(e - l2->pages));   /* EPT12 points elsewhere now */
        if (l2->n_pages == EPT02_MAX_PAGES ||
            (pt_at(l2, base2) < 0 && l2->n_pts == EPT02_MAX_PTS))
            ept02_flush(m);
        if (!pt_for(m, base2))
            return cannot_map(m, gpa2, gpa1, NESTOR_ERR_NOT_ENOUGH_MEMORY);
        e = &l2->pages[l2->n_pages];
        if (!have_slot(m, &e->alias))
            return cannot_map(m, gpa2, gpa1, NESTOR_ERR_NOT_ENOUGH_MEMORY);
        const nestor_word_t args[] = { (gpa1 & ((1ULL << m->frame_bits) - 1)) >> 12, e->alias,
                                        64 };
        nestor_cptr_t cnode = m->alloc.cnode;
        nestor_error_t err = nu_invoke(m->ram_frames + (gpa1 >> m->frame_bits),
                                       NESTOR_FRAME_SLICE_ALIAS, args, 3, &cnode, 1, 0, 0);
        if (err != NESTOR_OK)
            return cannot_map(m, gpa2, gpa1, err);
        e->gpa2 = gpa2;
        e->gpa1 = gpa1;
        l2->n_pages++;
    }
    e->rights12 = rights;
    const unsigned masked = nvmx_mask_rights(&m->insp_mask, gpa1, rights);
    if (!masked) {
        drop_page(l2, m, (unsigned)(e - l2->pages));
        return 1;
    }
    const nestor_word_t args[] = { gpa2, masked, NESTOR_EPT_MEMTYPE_WB };
    nestor_cptr_t ept = l2->ept;
    nestor_error_t err = nu_invoke(e->alias, NESTOR_EPT_MAP_FRAME, args, 3, &ept, 1, 0, 0);
    if (err != NESTOR_OK) {
        drop_page(l2, m, (unsigned)(e - l2->pages));
        return learned_no_xo(m, masked, err) ? 1 : cannot_map(m, gpa2, gpa1, err);
    }
    l2->made_4k++;
    return 1;
}

#define NOT_UNIFORM      (~0ULL)
#define PT_ENTRIES       512
#define EPT_LEAF_BITS    (EPT_RWX | 0x78ULL)    /* rights, memory type, ignore-PAT */

/* The L1-physical base of the 2 MiB region the EPT12 page table at @pt maps
 * in order with @pte's rights and memory type in every entry, or
 * NOT_UNIFORM. */
static uint64_t uniform_pt(struct nvmx_monitor *m, uint64_t pt, uint64_t pte)
{
    const uint64_t *e = m->env.phys(m->env.ctx, pt, PT_ENTRIES * sizeof(uint64_t));
    if (!e)
        return NOT_UNIFORM;
    const uint64_t base = e[0] & EPT_ADDR_MASK;
    if (base & (PAGE_2M - 1))
        return NOT_UNIFORM;
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if ((e[i] & EPT_ADDR_MASK) != base + ((uint64_t)i << 12) ||
            (e[i] & EPT_LEAF_BITS) != (pte & EPT_LEAF_BITS) ||
            misconfigured(e[i], 0, m->env.maxphyaddr))
            return NOT_UNIFORM;
    return base;
}

/* One walk of EPT12 for L2-physical @gpa2 (SDM 28.3.2: PML4E, PDPTE, PDE
 * as a 2 MiB leaf or PTE). */
typedef struct {
    enum { EPT12_LEAF, EPT12_NOT_PRESENT, EPT12_MISCONFIG } kind;
    int level;          /* the leaf's: 1 (2 MiB) or 0 (4 KiB) */
    uint64_t entry;     /* the leaf entry */
    uint64_t table;     /* the table that holds it */
    unsigned perms;     /* EPT_RWX ANDed over the walk (0 if not present) */
} ept12_walk_t;

static ept12_walk_t ept12_walk(struct nvmx_monitor *m, uint64_t gpa2)
{
    ept12_walk_t w = { .kind = EPT12_NOT_PRESENT, .perms = EPT_RWX };
    uint64_t table = m->l2.eptp12 & EPTP_ADDR_MASK;
    for (int level = EPT_LEVELS - 1; level >= 0; level--) {
        const unsigned shift = 12 + 9 * (unsigned)level;
        const uint64_t *ep = m->env.phys(m->env.ctx, table + ((gpa2 >> shift) & 0x1FF) * 8, 8);
        if (!ep) {
            /* No memory there: reads give all ones on the platforms we
             * model, and an all-ones entry sets reserved bits 7:3 (28.3.3.1):
             * a misconfiguration for L1 to see, not a reason to stop. */
            w.kind = EPT12_MISCONFIG;
            return w;
        }
        const uint64_t e = *ep;
        if (!(e & EPT_RWX)) {
            w.perms = 0;                /* not present: an EPT violation for L1 */
            return w;
        }
        if (misconfigured(e, level, m->env.maxphyaddr) || (level >= 2 && (e & EPT_PS))) {
            w.kind = EPT12_MISCONFIG;   /* 1 GiB pages are not advertised */
            return w;
        }
        w.perms &= e & EPT_RWX;
        if (level == 0 || (level == 1 && (e & EPT_PS))) {
            w.kind = EPT12_LEAF;
            w.level = level;
            w.entry = e;
            w.table = table;
            return w;
        }
        table = e & EPT_ADDR_MASK;
    }
    return w;
}

/* L1-physical @gpa1 is outside L1's RAM: L1's device memory (or nothing),
 * which EPT02 never maps: each access of L2 there is carried out
 * (l2_device_access). */
static bool l1_device(struct nvmx_monitor *m, uint64_t gpa1)
{
    return gpa1 >= m->ram_bytes;
}

/* An access EPT12 allows to L1-physical @gpa1 came here although the
 * inspector of L2's mask forbids it: the inspector takes those
 * (NVMX_INSP_FAULT) and passed this one on. L1 must not get it (SDM
 * 28.3.3.2: EPT12 allows it) and L2 must go on: the mask there goes. */
static void unmask_passed(struct nvmx_monitor *m, uint64_t gpa1, uint64_t qual)
{
    if (!m->insp_mask.n || nvmx_mask_route(&m->insp_mask, true, gpa1, qual) != NVMX_INSP_MINE)
        return;
    nvmx_mask_drop(&m->insp_mask, gpa1);
    ept02_remask(m, gpa1);
    printf("nested-vmx %s: the inspector of L2 passed on an access its EPT02 mask forbids "
           "(L1-physical 0x%lx): mask dropped there\n", m->name, gpa1);
}

/* Where EPT02 maps into the region of @gpa1: made again under the mask. */
void ept02_remask(struct nvmx_monitor *m, uint64_t gpa1)
{
    typedef struct { uint64_t gpa2, gpa1; unsigned rights; bool page; } redo_t;
    static redo_t redo[EPT02_MAX_MAPS + EPT02_MAX_PAGES];
    const uint64_t base = gpa1 & ~((1ULL << NVMX_INSP_REGION_BITS) - 1);
    l2_t *l2 = &m->l2;
    unsigned n = 0;
    for (unsigned i = 0; i < l2->n_maps; i++)
        if (nvmx_mask_in_region(base, l2->maps[i].gpa1, PAGE_2M))
            redo[n++] = (redo_t){ l2->maps[i].gpa2, l2->maps[i].gpa1, l2->maps[i].rights12,
                                  false };
    for (unsigned i = 0; i < l2->n_pages; i++)
        if (nvmx_mask_in_region(base, l2->pages[i].gpa1, PAGE_4K_MASK + 1))
            redo[n++] = (redo_t){ l2->pages[i].gpa2, l2->pages[i].gpa1,
                                  l2->pages[i].rights12, true };
    /* (One that cannot be made again, said in the log, leaves EPT02
     * flushed: L2's next access there faults and is mapped afresh, or
     * stops the VM as any fault that cannot be mapped does.) */
    for (unsigned i = 0; i < n; i++)
        if ((redo[i].page ? map_page(m, redo[i].gpa2, redo[i].gpa1, redo[i].rights)
                          : map(m, redo[i].gpa2, redo[i].gpa1, redo[i].rights)) < 0) {
            ept02_flush(m);
            return;
        }
}

int ept02_fault(struct nvmx_monitor *m, const vmcs12_t *v, uint64_t gpa2, uint64_t qual,
                uint32_t *reason, uint64_t *qual12, uint64_t *device)
{
    const uint64_t base2 = gpa2 & ~(PAGE_2M - 1);
    *device = gpa2;
    if (m->l2.eptp12 == EPT02_NO_EPT) {
        if (l1_device(m, gpa2))
            return EPT02_DEVICE;
        unmask_passed(m, gpa2, qual);
        return map(m, base2, base2, EPT_RWX);
    }
    (void)v;
    const ept12_walk_t w = ept12_walk(m, gpa2);
    if (w.kind == EPT12_MISCONFIG) {
        *reason = NESTOR_EXIT_EPT_MISCONFIG;
        *qual12 = 0;
        return 0;
    }
    if (w.kind == EPT12_LEAF && !((qual & EPT_QUAL_ACCESS) & ~w.perms) &&
        ept12_translate(m, gpa2, qual & EPT_QUAL_ACCESS, device, reason, qual12) &&
        l1_device(m, *device))
        return EPT02_DEVICE;
    if (w.kind == EPT12_LEAF && !((qual & EPT_QUAL_ACCESS) & ~w.perms)) {
        unmask_passed(m, *device, qual);    /* (*device: the access's L1-physical) */
        if (w.level == 1)
            return map(m, base2, w.entry & EPT_ADDR_MASK & ~(PAGE_2M - 1), w.perms);
        /* A page table whose 512 entries map one 2 MiB-aligned L1 region
         * in order, with the same rights and memory type, maps as one 2 MiB
         * page of EPT02 (SDM 28.3.2: the same translation for every
         * address in it). */
        const uint64_t base1 = uniform_pt(m, w.table, w.entry);
        if (base1 != NOT_UNIFORM)
            return map(m, base2, base1, w.perms);
        return map_page(m, gpa2 & ~(uint64_t)PAGE_4K_MASK, w.entry & EPT_ADDR_MASK, w.perms);
    }
    *reason = NESTOR_EXIT_EPT_VIOLATION;
    *qual12 = (qual & EPTQ_KEEP) | (uint64_t)w.perms << EPT_QUAL_PERM_SHIFT;
    return 0;
}

int ept12_translate(struct nvmx_monitor *m, uint64_t gpa2, uint64_t access, uint64_t *gpa1,
                    uint32_t *reason, uint64_t *qual12)
{
    if (m->l2.eptp12 == EPT02_NO_EPT) {
        *gpa1 = gpa2;
        return 1;
    }
    const ept12_walk_t w = ept12_walk(m, gpa2);
    if (w.kind == EPT12_MISCONFIG) {
        *reason = NESTOR_EXIT_EPT_MISCONFIG;
        *qual12 = 0;
        return 0;
    }
    if (w.kind == EPT12_LEAF && !(access & EPT_QUAL_ACCESS & ~w.perms)) {
        const uint64_t offset = gpa2 & (w.level ? PAGE_2M - 1 : PAGE_4K_MASK);
        *gpa1 = (w.entry & EPT_ADDR_MASK & ~(w.level ? PAGE_2M - 1 : 0)) + offset;
        return 1;
    }
    *reason = NESTOR_EXIT_EPT_VIOLATION;
    *qual12 = (access & EPT_QUAL_ACCESS) | (uint64_t)w.perms << EPT_QUAL_PERM_SHIFT;
    return 0;
}
