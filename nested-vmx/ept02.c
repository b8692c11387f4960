/*
 * nested-vmx/ept02.c - EPT02: the EPT vcpu02 runs with, composed from L1's
 * EPT12 (walked in L1's memory, SDM Vol. 3C 28.3.2) and L1's RAM (the VMM's
 * frames). Built lazily: an EPT violation of L2 walks EPT12 for the address;
 * where EPT12 does not allow the access, L1 gets the EPT violation (or
 * misconfiguration) with the qualification EPT12 gives (SDM 27.2.1 Table
 * 27-7); where it does, the L1 frame is mapped. L1 without EPT: L2-physical
 * is L1-physical.
 *
 * Granularity: L1's RAM frames are 2 MiB and mapped whole by the VMM, and
 * the kernel does not slice a frame that is mapped whole (nestor/
 * invocations.h NESTOR_FRAME_SLICE), so EPT02 maps 2 MiB pages: EPT12 must
 * map L2's memory with 2 MiB pages (as Nestor's own VMM does), or with
 * page tables whose 512 4 KiB pages make one 2 MiB page (in order, same
 * rights and type), or not use EPT. Other 4 KiB mappings stop the VM with
 * that said.
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
/* Exit qualification of an EPT violation (SDM 27.2.1, Table 27-7). */
#define EPTQ_ACCESS      0x7ULL             /* read, write, fetch */
#define EPTQ_PERM_SHIFT  3                  /* readable, writable, executable */
#define EPTQ_KEEP        (EPTQ_ACCESS | BIT(7) | BIT(8) | BIT(12))   /* linear-address bits, NMI unblocking */

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

static nestor_cptr_t slot(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    return l2->n_free ? l2->free_slots[--l2->n_free] : m->alloc.next_slot++;
}

void ept02_flush(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    for (unsigned i = 0; i < l2->n_maps; i++) {
        nu_frame_unmap(l2->maps[i].frame);
        nu_cnode_delete(m->alloc.cnode, l2->maps[i].frame, 64);
        l2->free_slots[l2->n_free++] = l2->maps[i].frame;
    }
    l2->n_maps = 0;
}

/* Map L1's 2 MiB frame holding @gpa1 at L2-physical @gpa2 (both 2 MiB
 * aligned) with @rights. */
static int map(struct nvmx_monitor *m, uint64_t gpa2, uint64_t gpa1, unsigned rights)
{
    l2_t *l2 = &m->l2;
    if (gpa1 >= m->ram_bytes) {
        printf("nested-vmx %s: L2-physical 0x%lx is L1-physical 0x%lx, not RAM: device memory "
               "for L2 is not supported yet: VM stopped\n", m->name, gpa2, gpa1);
        return -1;
    }
    if (l2->n_maps == EPT02_MAX_MAPS)
        ept02_flush(m);
    nestor_cptr_t f = slot(m);
    nestor_word_t frame = NVMX_GRANT_RAM_INDEX(gpa1 >> m->frame_bits);
    nestor_error_t e = nu_cnode_copy(m->alloc.cnode, f, 64, m->grant, frame, m->grant_radix,
                                     NESTOR_RIGHTS_ALL);
    if (e == NESTOR_OK)
        e = nu_ept_map_2m(&m->alloc, l2->ept, gpa2, f, rights);
    if (e != NESTOR_OK) {
        printf("nested-vmx %s: cannot map L1-physical 0x%lx at L2-physical 0x%lx (error %lu): "
               "VM stopped\n", m->name, gpa1, gpa2, (nestor_word_t)e);
        return -1;
    }
    l2->maps[l2->n_maps++] = (ept02_map_t){ .gpa2 = gpa2, .frame = f };
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

int ept02_fault(struct nvmx_monitor *m, const vmcs12_t *v, uint64_t gpa2, uint64_t qual,
                uint32_t *reason, uint64_t *qual12)
{
    l2_t *l2 = &m->l2;
    const uint64_t base2 = gpa2 & ~(PAGE_2M - 1);
    if (l2->eptp12 == EPT02_NO_EPT)
        return map(m, base2, base2, EPT_RWX);
    (void)v;
    /* Walk EPT12 (SDM 28.3.2): PML4E, PDPTE, PDE (2 MiB leaf) or PTE. */
    uint64_t table = l2->eptp12 & EPTP_ADDR_MASK;
    unsigned perms = EPT_RWX;
    for (int level = EPT_LEVELS - 1; level >= 0; level--) {
        const unsigned shift = 12 + 9 * (unsigned)level;
        const uint64_t *ep = m->env.phys(m->env.ctx, table + ((gpa2 >> shift) & 0x1FF) * 8, 8);
        if (!ep) {
            /* No memory there: reads give all ones on the platforms we
             * model, and an all-ones entry sets reserved bits 7:3 (28.3.3.1):
             * a misconfiguration for L1 to see, not a reason to stop. */
            *reason = NESTOR_EXIT_EPT_MISCONFIG;
            *qual12 = 0;
            return 0;
        }
        const uint64_t e = *ep;
        if (!(e & EPT_RWX)) {
            perms = 0;                  /* not present: an EPT violation for L1 */
            break;
        }
        if (misconfigured(e, level, m->env.maxphyaddr) || (level >= 2 && (e & EPT_PS))) {
            *reason = NESTOR_EXIT_EPT_MISCONFIG;   /* 1 GiB pages are not advertised */
            *qual12 = 0;
            return 0;
        }
        perms &= e & EPT_RWX;
        if (level == 1 && (e & EPT_PS)) {
            if ((qual & EPTQ_ACCESS) & ~perms)
                break;                  /* EPT12 forbids this access */
            return map(m, base2, e & EPT_ADDR_MASK & ~(PAGE_2M - 1), perms);
        }
        if (level == 0) {
            if ((qual & EPTQ_ACCESS) & ~perms)
                break;
            /* A page table whose 512 entries map one 2 MiB-aligned L1
             * region in order, with the same rights and memory type, maps
             * as one 2 MiB page of EPT02 (SDM 28.3.2: the same translation
             * for every address in it). */
            const uint64_t base1 = uniform_pt(m, table, e);
            if (base1 == NOT_UNIFORM) {
                printf("nested-vmx %s: EPT12 maps L2-physical 0x%lx with 4 KiB pages that do "
                       "not make a whole 2 MiB page: EPT02 maps 2 MiB pages only (ept02.c): VM "
                       "stopped\n", m->name, gpa2);
                return -1;
            }
            return map(m, base2, base1, perms);
        }
        table = e & EPT_ADDR_MASK;
    }
    *reason = NESTOR_EXIT_EPT_VIOLATION;
    *qual12 = (qual & EPTQ_KEEP) | (uint64_t)perms << EPTQ_PERM_SHIFT;
    return 0;
}
