/*
 * kernel/vspace.c - address spaces from PML4/PDPT/PD/PT objects and frames.
 * Entry formats: SDM Vol. 3A 4.5, Tables 4-14 to 4-20.
 */
#include "kernel/vspace.h"
#include <nestor/invocations.h>
#include "arch/x86_64/io.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/vmx.h"
#include <nestor/limits.h>
#include <nestor/objects.h>
#include <string.h>

#define PTE_ADDR_MASK      0x000FFFFFFFFFF000ULL
#define LEVEL_SHIFT_PML4   39
#define LEVEL_SHIFT_PDPT   30
#define LEVEL_SHIFT_PD     21
#define LEVEL_SHIFT_PT     12
#define TABLE_ENTRY_FLAGS  (PTE_P | PTE_W | PTE_U)
#define KERNEL_HALF_FIRST  256
/* EPT entries (SDM Vol. 3C 28.2.2): bits 2:0 read/write/execute, 5:3 memory
 * type of a leaf, 6 ignore PAT, 7 large page; "present" = any of bits 2:0. */
#define EPT_RWX            0x7ULL
#define EPT_MEMTYPE_SHIFT  3             /* SDM 28.3.2, Table 28-6: bits 5:3 of a leaf */
#define EPT_MEMTYPE_BITS   7
#define EPT_IGNORE_PAT     BIT(6)
#define EPT_ACCESSED       BIT(8)            /* SDM 28.3.5: set by the CPU, any level */
#define EPT_DIRTY          BIT(9)            /* SDM 28.3.5: leaves only */
/* NESTOR_EPT_PROTECT: the rights withheld from a leaf, kept in bits 54:52,
 * which the CPU ignores in EPT leaves (SDM Vol. 3C 28.3.2, the formats of
 * an EPT PDE mapping a 2 MiB page and of an EPT PTE: bits 56:52 ignored). */
#define EPT_WITHHELD_SHIFT 52
#define EPT_WITHHELD_RWX   (EPT_RWX << EPT_WITHHELD_SHIFT)
/* SDM 28.3.3.1: an entry with bit 1 (write) set and bit 0 (read) clear is
 * misconfigured. NESTOR_EPT_SET_MMIO installs exactly this (no address);
 * frames are never mapped write-without-read, so it names MMIO entries. */
#define EPT_MMIO_ENTRY     ((uint64_t)NESTOR_EPT_W)
/* NESTOR_EPT_SPLIT: a PDE referencing a PT that holds the 512 4 KiB pieces
 * of one 2 MiB frame's leaf is marked in bit 55, which the CPU ignores in
 * an EPT PDE that references a PT (SDM Vol. 3C 28.3.2, Table 28-5: bits
 * 63:52 ignored). Only the kernel writes it: it tells a split leaf from a
 * table a VMM mapped there, whose entries are frames' of their own. */
#define EPT_SPLIT_PDE      BIT(55)
#define EPT_SPLIT_ENTRIES  PT_ENTRIES

extern uint64_t boot_pml4[PT_ENTRIES];
static uint64_t *vspaces[VSPACE_MAX];
static bool vspace_ept[VSPACE_MAX];         /* the root is an EPT PML4 */
static uint32_t vspace_gen[VSPACE_MAX];     /* bumped when an id is freed */
uint64_t vspace_active_cr3;

static uint64_t *table_at(uint64_t entry)
{
    return (uint64_t *)kobj_ptr(kobj_from_paddr(entry & PTE_ADDR_MASK));
}

static unsigned index_at(uint64_t va, unsigned shift)
{
    return (unsigned)((va >> shift) & (PT_ENTRIES - 1));
}

static bool assign_id(cap_t *cap, bool ept)
{
    for (unsigned i = 0; i < VSPACE_MAX; i++) {
        if (!vspaces[i]) {
            vspaces[i] = kobj_ptr(cap->obj);
            vspace_ept[i] = ept;
            cap->word1 = i;
            return true;
        }
    }
    return false;
}

bool vspace_init_pml4(cap_t *cap)
{
    uint64_t *pml4 = kobj_ptr(cap->obj);
    memcpy(&pml4[KERNEL_HALF_FIRST], &boot_pml4[KERNEL_HALF_FIRST],
           (PT_ENTRIES - KERNEL_HALF_FIRST) * sizeof(uint64_t));
    return assign_id(cap, false);
}

/* Entries of the EPT rooted at @pml4 were removed or changed: the CPU must
 * not keep translating through what it cached from them (SDM 28.4.3.1). */
static void ept_flush(const uint64_t *pml4)
{
    vmx_invept(vspace_eptp(kobj_addr(pml4)));
}

bool vspace_init_ept(cap_t *cap)
{
    return assign_id(cap, true);
}

unsigned vspace_free_ids(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < VSPACE_MAX; i++)
        n += vspaces[i] == 0;
    return n;
}

void vspace_destroy(const cap_t *cap)
{
    if (cap->word1 < VSPACE_MAX && vspaces[cap->word1] == kobj_ptr(cap->obj)) {
        vspaces[cap->word1] = 0;
        vspace_gen[cap->word1]++;
        if (vspace_ept[cap->word1])
            vmx_invept(vspace_eptp(cap->obj));  /* nothing may keep translating through it */
    }
    if (vspace_active_cr3 == kobj_paddr(cap->obj)) {
        vspace_active_cr3 = vspace_kernel_pml4_paddr();
        write_cr3(vspace_active_cr3);
    }
}

bool vspace_is_mapping_cap(const cap_t *c)
{
    switch (c->type) {
    case NESTOR_OBJ_FRAME_4K:
    case NESTOR_OBJ_FRAME_2M:
    case NESTOR_OBJ_PDPT:
    case NESTOR_OBJ_PD:
    case NESTOR_OBJ_PT:
    case NESTOR_OBJ_EPT_PDPT:
    case NESTOR_OBJ_EPT_PD:
    case NESTOR_OBJ_EPT_PT:
        return true;
    default:
        return false;
    }
}

static bool is_ept_table(uint8_t type)
{
    return type == NESTOR_OBJ_EPT_PDPT || type == NESTOR_OBJ_EPT_PD || type == NESTOR_OBJ_EPT_PT;
}

/* Where an object of @type is entered: the level's shift. */
static unsigned map_shift(uint8_t type)
{
    switch (type) {
    case NESTOR_OBJ_PDPT:
    case NESTOR_OBJ_EPT_PDPT: return LEVEL_SHIFT_PML4;
    case NESTOR_OBJ_PD:
    case NESTOR_OBJ_EPT_PD: return LEVEL_SHIFT_PDPT;
    case NESTOR_OBJ_PT:
    case NESTOR_OBJ_EPT_PT:
    case NESTOR_OBJ_FRAME_2M: return LEVEL_SHIFT_PD;
    default: return LEVEL_SHIFT_PT;
    }
}

/* Walk @pml4 down to the table holding @va's entry at @shift; NULL if a
 * table on the way is missing or a large page is in the way. */
/* Whether entry @e holds something: for the CPU an EPT entry is present
 * when any of bits 2:0 is set (SDM Vol. 3C 28.3.2); a leaf whose rights
 * are all withheld (NESTOR_EPT_WITHHOLD_ALL) is not present to the CPU
 * but is still its frame's mapping here (lookups find it, nothing maps
 * over it, unmapping clears it). */
static bool present(uint64_t e, bool ept)
{
    return ept ? (e & (EPT_RWX | EPT_WITHHELD_RWX)) != 0 : (e & PTE_P) != 0;
}

static bool is_mmio_entry(uint64_t e)
{
    return (e & EPT_RWX) == EPT_MMIO_ENTRY;
}

static uint64_t *walk(uint64_t *pml4, uint64_t va, unsigned shift, bool ept)
{
    uint64_t *table = pml4;
    for (unsigned s = LEVEL_SHIFT_PML4; s > shift; s -= 9) {
        uint64_t e = table[index_at(va, s)];
        if (!present(e, ept) || (e & PTE_PS))
            return 0;
        table = table_at(e);
    }
    return &table[index_at(va, shift)];
}

/* A mapping record (word2 of a mapped capability): generation << 32 | id + 1.
 * The generation changes when an id is reused, so a record of a destroyed
 * space never names the space that got its id (review finding 13). */
#define MAP_RECORD_GEN_SHIFT 32

static unsigned vspace_id(uint64_t word2)
{
    return (unsigned)((word2 & 0xFFFFFFFFu) - 1);
}

static uint64_t map_record(const cap_t *root)
{
    unsigned id = (unsigned)root->word1;
    return (uint64_t)vspace_gen[id] << MAP_RECORD_GEN_SHIFT | (id + 1);
}

uint64_t vspace_map_record(const cap_t *root)
{
    return map_record(root);
}

static uint64_t *live_vspace(uint64_t word2)
{
    if (!word2)
        return 0;
    unsigned id = vspace_id(word2);
    if (id >= VSPACE_MAX || vspace_gen[id] != (uint32_t)(word2 >> MAP_RECORD_GEN_SHIFT))
        return 0;
    return vspaces[id];
}

static void flush(uint64_t *pml4, uint64_t va)
{
    if (kobj_paddr(kobj_addr(pml4)) == vspace_active_cr3)
        invlpg(va);
}

/* A table that leaves its root keeps no entries: mapped again elsewhere, it
 * must not expose frames whose own unmapping walks the old place. */
static void empty_table(cap_t *c, bool ept, const uint64_t *pml4)
{
    memset(kobj_ptr(c->obj), 0, 1u << NESTOR_PAGE_TABLE_BITS);
    if (ept && pml4)
        ept_flush(pml4);
    else if (ept)
        vmx_invept_all();       /* its root is gone: which EPTP it was is unknown */
    else
        write_cr3(vspace_active_cr3);
}

/* ---- split 2 MiB leaves (NESTOR_EPT_SPLIT, kernel/ept.c) ---- */

/* The PT under EPT PDE @e if it is a split leaf of the 2 MiB frame at
 * @frame_paddr, else NULL. */
static uint64_t *split_table(uint64_t e, uint64_t frame_paddr)
{
    if ((e & (EPT_SPLIT_PDE | PTE_PS)) != EPT_SPLIT_PDE)
        return 0;
    uint64_t *pt = table_at(e);
    return (pt[0] & PTE_ADDR_MASK) == frame_paddr ? pt : 0;
}

/* Is @gpa's 4 KiB entry in @pml4 one of a split leaf's? (Those are the 2
 * MiB frame's: no 4 KiB frame capability unmaps them one by one.) */
static bool in_split(uint64_t *pml4, uint64_t gpa)
{
    const uint64_t *pde = walk(pml4, gpa, LEVEL_SHIFT_PD, true);
    return pde && (*pde & (EPT_SPLIT_PDE | PTE_PS)) == EPT_SPLIT_PDE;
}

/* The entry that maps frame capability @c where @e (its entry's place)
 * is: @e itself, or for a 2 MiB frame whose leaf is split the first of
 * its 512 4 KiB entries (memory type and address, what lookups need). */
static uint64_t frame_entry(const cap_t *c, const uint64_t *e, bool ept)
{
    const uint64_t *pt;
    if (ept && c->type == NESTOR_OBJ_FRAME_2M && (pt = split_table(*e, kobj_paddr(c->obj))))
        return pt[0];
    return *e;
}

void vspace_ept_split(const cap_t *ept_cap, uint64_t *leaf, cap_t *table, uint64_t base)
{
    uint64_t *pt = kobj_ptr(table->obj);
    const uint64_t e = *leaf, frame = e & PTE_ADDR_MASK;
    /* SDM 28.3.2, Tables 28-4 and 28-6: a 2 MiB leaf and a 4 KiB one hold
     * the same rights (2:0), memory type and ignore-PAT (6:3), A/D (8, 9)
     * and ignored bits (our withheld rights, 54:52); bit 7 is the page
     * size in the PDE and ignored in a PTE. Each piece gets what the leaf
     * had, so every access is translated as before (same frame, same type:
     * no two memory types for a page, SDM Vol. 3A 11.12.4; a dirty 2 MiB
     * leaf leaves 512 dirty pages for an A/D scan, nothing lost). */
    const uint64_t keep = e & ~(PTE_ADDR_MASK | PTE_PS);
    for (unsigned i = 0; i < EPT_SPLIT_ENTRIES; i++)
        pt[i] = keep | (frame + ((uint64_t)i << LEVEL_SHIFT_PT));
    *leaf = kobj_paddr(table->obj) | EPT_RWX | EPT_SPLIT_PDE;
    table->word1 = base;
    table->word2 = map_record(ept_cap);
    /* SDM 28.4.3.1: a combined mapping cached from the 2 MiB leaf would
     * outlive a later change of one 4 KiB entry; the entries must be
     * invalidated once the PDE changes (28.4.1: a PDE's caching). */
    ept_flush(kobj_ptr(ept_cap->obj));
}

/* The 2 MiB leaf that split table @pt stands for: its frame, type and
 * rights, what all 512 entries withhold (withheld rights come in nested
 * sets, none < W < RW < RWX, so their intersection is one a leaf may
 * have), the union of their A/D flags (a page written since the last
 * scan keeps its leaf dirty). 0 (nothing mapped) if an entry is not its
 * piece, which only the kernel could have made so. */
static uint64_t joined_leaf(const uint64_t *pt)
{
    const uint64_t frame = pt[0] & PTE_ADDR_MASK;
    uint64_t withheld = EPT_WITHHELD_RWX, ad = 0;
    if (frame & ((1ULL << LEVEL_SHIFT_PD) - 1))
        return 0;
    for (unsigned i = 0; i < EPT_SPLIT_ENTRIES; i++) {
        const uint64_t e = pt[i];
        if (!present(e, true) || is_mmio_entry(e) ||
            (e & PTE_ADDR_MASK) != frame + ((uint64_t)i << LEVEL_SHIFT_PT))
            return 0;
        withheld &= e;
        ad |= e & (EPT_ACCESSED | EPT_DIRTY);
    }
    const uint64_t mapped = (pt[0] | pt[0] >> EPT_WITHHELD_SHIFT) & EPT_RWX;
    const uint64_t w = withheld >> EPT_WITHHELD_SHIFT & EPT_RWX;
    return (pt[0] & ~(PTE_ADDR_MASK | EPT_RWX | EPT_WITHHELD_RWX | EPT_ACCESSED | EPT_DIRTY)) |
           frame | PTE_PS | (mapped & ~w) | withheld | ad;
}

void vspace_unmap_cap(cap_t *c)
{
    uint64_t *pml4 = live_vspace(c->word2);
    bool ept = is_ept_table(c->type) || (pml4 && vspace_ept[vspace_id(c->word2)]);
    uint64_t *e = pml4 ? walk(pml4, c->word1, map_shift(c->type), ept) : 0, *pt;
    /* A split leaf's PT going (NESTOR_PAGE_TABLE_UNMAP, its deletion, its
     * untyped revoked): the frame's 2 MiB leaf comes back in its place,
     * so the guest keeps its RAM whoever held the table. */
    if (e && c->type == NESTOR_OBJ_EPT_PT && (*e & (EPT_SPLIT_PDE | PTE_PS)) == EPT_SPLIT_PDE &&
        (*e & PTE_ADDR_MASK) == kobj_paddr(c->obj)) {
        *e = joined_leaf(kobj_ptr(c->obj));
        empty_table(c, ept, pml4);      /* INVEPT: SDM 28.4.3.1 */
        c->word1 = c->word2 = 0;
        return;
    }
    if (c->word2 && c->type != NESTOR_OBJ_FRAME_4K && c->type != NESTOR_OBJ_FRAME_2M)
        empty_table(c, ept, pml4);
    /* A 2 MiB frame whose leaf is split: its 512 entries go with it (the
     * PT is emptied; its capability then unmaps to nothing). */
    if (e && ept && c->type == NESTOR_OBJ_FRAME_2M && (pt = split_table(*e, kobj_paddr(c->obj)))) {
        *e = 0;
        memset(pt, 0, 1u << NESTOR_PAGE_TABLE_BITS);
        ept_flush(pml4);
    } else if (e && ept && c->type == NESTOR_OBJ_FRAME_4K && in_split(pml4, c->word1)) {
        /* Not this capability's mapping (a stale record of a slice or
         * alias slice over a table since gone): the 2 MiB frame's. */
    } else if (pml4) {
        /* Only if the entry still maps this very object. */
        if (e && present(*e, ept) && !(ept && is_mmio_entry(*e)) &&
            (*e & PTE_ADDR_MASK) == kobj_paddr(c->obj)) {
            *e = 0;
            if (ept)
                ept_flush(pml4);    /* guest translations cached from this entry */
            else if (c->type == NESTOR_OBJ_FRAME_4K || c->type == NESTOR_OBJ_FRAME_2M)
                flush(pml4, c->word1);
            else if (kobj_paddr(kobj_addr(pml4)) == vspace_active_cr3)
                write_cr3(vspace_active_cr3);   /* a whole table left: flush everything */
        }
    }
    c->word1 = c->word2 = 0;
}

/* SDM Vol. 3A 11.12.3, Table 11-11: the PAT entry a 4 KiB or 2 MiB entry
 * selects with PCD and PWT (the PAT bit is never set) and its memory type in
 * the PAT the kernel keeps, the power-up one (11.12.4: WB, WT, UC-, UC). */
static const uint8_t pat_power_up_type[4] = { NESTOR_EPT_MEMTYPE_WB, NESTOR_EPT_MEMTYPE_WT,
                                              NESTOR_EPT_MEMTYPE_UC, NESTOR_EPT_MEMTYPE_UC };

int vspace_mapped_type(const cap_t *c)
{
    uint64_t *pml4 = live_vspace(c->word2);
    if (!pml4)
        return VSPACE_NOT_MAPPED;   /* never mapped, or its space is gone */
    bool ept = vspace_ept[vspace_id(c->word2)];
    uint64_t *p = walk(pml4, c->word1, map_shift(c->type), ept);
    if (!p)
        return VSPACE_NOT_MAPPED;
    const uint64_t e = frame_entry(c, p, ept);      /* a split leaf: its pieces' */
    if (!present(e, ept) || (ept && is_mmio_entry(e)) ||
        (e & PTE_ADDR_MASK) != kobj_paddr(c->obj))
        return VSPACE_NOT_MAPPED;
    /* EPT: the leaf's type is the effective one (EPT_IGNORE_PAT, SDM Vol.
     * 3C 28.3.7). */
    if (ept)
        return (int)(e >> EPT_MEMTYPE_SHIFT & EPT_MEMTYPE_BITS);
    return pat_power_up_type[(e & PTE_PCD ? 2 : 0) | (e & PTE_PWT ? 1 : 0)];
}

bool vspace_memtype_valid(uint64_t memtype)
{
    return memtype == NESTOR_EPT_MEMTYPE_UC || memtype == NESTOR_EPT_MEMTYPE_WC ||
           memtype == NESTOR_EPT_MEMTYPE_WT || memtype == NESTOR_EPT_MEMTYPE_WP ||
           memtype == NESTOR_EPT_MEMTYPE_WB;
}

/* @ept: the mapping goes into an EPT (guest-physical) root. */
static nestor_error_t map_checks(const cap_t *obj, const cap_t *pml4_cap, uint64_t vaddr,
                                 bool ept, uint64_t **entry)
{
    if (pml4_cap->type != (ept ? NESTOR_OBJ_EPT_PML4 : NESTOR_OBJ_PML4))
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (obj->word2)
        return NESTOR_ERR_DELETE_FIRST;     /* already mapped: unmap first */
    unsigned shift = map_shift(obj->type);
    /* A restricted EPT capability (vspace.h) maps frames inside its range
     * and nothing else: a table would reach past it. */
    if (ept && vspace_ept_restricted(pml4_cap) &&
        (is_ept_table(obj->type) || !vspace_ept_range_allows(pml4_cap, vaddr, 1ULL << shift)))
        return NESTOR_ERR_RANGE;
    if (vaddr & ((1ULL << shift) - 1))
        return NESTOR_ERR_ALIGNMENT;
    if (vaddr >= (ept ? EPT_GPA_LIMIT : NESTOR_USER_TOP))
        return NESTOR_ERR_INVALID_ARGUMENT;
    uint64_t *pml4 = live_vspace(map_record(pml4_cap));
    if (!pml4)
        return NESTOR_ERR_INVALID_CAPABILITY;
    uint64_t *e = walk(pml4, vaddr, shift, ept);
    if (!e)
        return NESTOR_ERR_FAILED_LOOKUP;    /* map the tables above first */
    if (present(*e, ept))
        return NESTOR_ERR_DELETE_FIRST;
    *entry = e;
    return NESTOR_OK;
}

nestor_error_t vspace_map_table(cap_t *table, const cap_t *pml4_cap, uint64_t vaddr)
{
    uint64_t *e;
    bool ept = is_ept_table(table->type);
    nestor_error_t err = map_checks(table, pml4_cap, vaddr, ept, &e);
    if (err != NESTOR_OK)
        return err;
    *e = kobj_paddr(table->obj) | (ept ? EPT_RWX : TABLE_ENTRY_FLAGS);
    table->word1 = vaddr;
    table->word2 = map_record(pml4_cap);
    return NESTOR_OK;
}

nestor_error_t vspace_map_frame(cap_t *frame, const cap_t *pml4_cap, uint64_t vaddr,
                                uint64_t rights, uint64_t attr)
{
    if ((rights & NESTOR_RIGHT_WRITE) && !(frame->rights & NESTOR_RIGHT_WRITE))
        return NESTOR_ERR_INSUFFICIENT_RIGHTS;
    if (!(frame->rights & NESTOR_RIGHT_READ))
        return NESTOR_ERR_INSUFFICIENT_RIGHTS;
    uint64_t *e;
    nestor_error_t err = map_checks(frame, pml4_cap, vaddr, false, &e);
    if (err != NESTOR_OK)
        return err;
    uint64_t pte = kobj_paddr(frame->obj) | PTE_P | PTE_U;
    if (rights & NESTOR_RIGHT_WRITE)
        pte |= PTE_W;
    if (frame->type == NESTOR_OBJ_FRAME_2M)
        pte |= PTE_PS;
    if (attr & NESTOR_FRAME_ATTR_UNCACHED)
        pte |= PTE_PCD | PTE_PWT;
    *e = pte;
    frame->word1 = vaddr;
    frame->word2 = map_record(pml4_cap);
    return NESTOR_OK;
}

nestor_error_t vspace_map_frame_ept(cap_t *frame, const cap_t *ept_cap, uint64_t gpa,
                                    uint64_t rights, uint64_t memtype)
{
    if (!vspace_memtype_valid(memtype))
        return NESTOR_ERR_INVALID_ARGUMENT;
    rights &= EPT_RWX;
    /* SDM 28.3.3.1: write without read is a misconfiguration, and so is
     * execute alone without the CPU's execute-only support (EPT_VPID_CAP
     * bit 0); neither is a frame mapping (see EPT_MMIO_ENTRY). */
    if ((rights & NESTOR_EPT_W) && !(rights & NESTOR_EPT_R))
        return NESTOR_ERR_INVALID_ARGUMENT;
    if (rights == NESTOR_EPT_X && !vmx_ept_execute_only())
        return NESTOR_ERR_INVALID_ARGUMENT;
    if ((rights & NESTOR_EPT_W) && !(frame->rights & NESTOR_RIGHT_WRITE))
        return NESTOR_ERR_INSUFFICIENT_RIGHTS;
    if (!rights || !(frame->rights & NESTOR_RIGHT_READ))
        return NESTOR_ERR_INSUFFICIENT_RIGHTS;
    uint64_t *e;
    nestor_error_t err = map_checks(frame, ept_cap, gpa, true, &e);
    if (err != NESTOR_OK)
        return err;
    *e = kobj_paddr(frame->obj) | rights | memtype << EPT_MEMTYPE_SHIFT | EPT_IGNORE_PAT |
         (frame->type == NESTOR_OBJ_FRAME_2M ? PTE_PS : 0);
    frame->word1 = gpa;
    frame->word2 = map_record(ept_cap);
    return NESTOR_OK;
}

/* ---- EPT accessed/dirty flags and MMIO ranges ---- */

/* The leaf mapping a frame at @gpa in @pml4 (4 KiB at the PT, 2 MiB at the
 * PD), NULL if none; *shift = its level. */
static uint64_t *ept_leaf(uint64_t *pml4, uint64_t gpa, unsigned *shift)
{
    uint64_t *table = pml4;
    for (unsigned s = LEVEL_SHIFT_PML4;; s -= 9) {
        uint64_t *e = &table[index_at(gpa, s)];
        if (!present(*e, true) || is_mmio_entry(*e))
            return 0;
        if (s == LEVEL_SHIFT_PT || (*e & PTE_PS)) {
            *shift = s;
            return e;
        }
        table = table_at(*e);
    }
}

nestor_error_t vspace_ept_ad_lookup(const cap_t *ept_cap, uint64_t gpa, uint64_t **leaf,
                                    unsigned *shift)
{
    if (gpa >= EPT_GPA_LIMIT)
        return NESTOR_ERR_INVALID_ARGUMENT;
    uint64_t *pml4 = live_vspace(map_record(ept_cap));
    if (!pml4)
        return NESTOR_ERR_INVALID_CAPABILITY;
    *leaf = ept_leaf(pml4, gpa, shift);
    return *leaf ? NESTOR_OK : NESTOR_ERR_FAILED_LOOKUP;
}

uint64_t vspace_ept_take_ad(const cap_t *ept_cap, uint64_t *leaf, bool clear)
{
    uint64_t e = *leaf;
    uint64_t ad = (e & EPT_ACCESSED ? NESTOR_EPT_ACCESSED : 0) |
                  (e & EPT_DIRTY ? NESTOR_EPT_DIRTY : 0);
    if (clear && ad) {
        /* One CPU, and no guest runs while the kernel does: a plain write
         * loses no flag the CPU sets. SDM 28.3.5, 28.4.3.1: the CPU may
         * keep using a cached translation made while a flag was 1 and
         * then not set it again: invalidate the EPT's translations. */
        *leaf = e & ~(EPT_ACCESSED | EPT_DIRTY);
        ept_flush(kobj_ptr(ept_cap->obj));
    }
    return ad;
}

nestor_error_t vspace_ept_protect(const cap_t *ept_cap, uint64_t *leaf, uint64_t withhold,
                                  uint64_t *rights, uint64_t *before)
{
    const uint64_t e = *leaf;
    *before = e >> EPT_WITHHELD_SHIFT & EPT_RWX;
    const uint64_t mapped = (e | e >> EPT_WITHHELD_SHIFT) & EPT_RWX;
    const uint64_t now = mapped & ~withhold;
    /* SDM 28.3.3.1: execute alone is a misconfiguration without
     * execute-only support. No rights at all makes the leaf not present
     * (28.3.2: every guest access, fetches too, exits as an EPT violation,
     * 28.3.3.2): only when asked for by name (NESTOR_EPT_WITHHOLD_ALL), not
     * as what is left of a narrower mapping. */
    if ((!now && withhold != NESTOR_EPT_WITHHOLD_ALL) ||
        (now == NESTOR_EPT_X && !vmx_ept_execute_only()))
        return NESTOR_ERR_ILLEGAL_OPERATION;
    *leaf = (e & ~(EPT_RWX | EPT_WITHHELD_RWX)) | now |
            (mapped & withhold) << EPT_WITHHELD_SHIFT;
    /* SDM 28.4.3.1: translations cached while the rights were wider stay
     * in use until invalidated. */
    ept_flush(kobj_ptr(ept_cap->obj));
    *rights = now;
    return NESTOR_OK;
}

nestor_error_t vspace_ept_mmio_check(const cap_t *ept_cap, uint64_t gpa, uint64_t pages,
                                     bool install, uint64_t *bad)
{
    uint64_t *pml4 = live_vspace(map_record(ept_cap));
    if (!pml4)
        return NESTOR_ERR_INVALID_CAPABILITY;
    *bad = gpa;
    if (gpa >= EPT_GPA_LIMIT || pages > (EPT_GPA_LIMIT - gpa) >> LEVEL_SHIFT_PT)
        return NESTOR_ERR_INVALID_ARGUMENT;
    for (uint64_t i = 0; i < pages; i++) {
        *bad = gpa + (i << LEVEL_SHIFT_PT);
        uint64_t *e = walk(pml4, *bad, LEVEL_SHIFT_PT, true);
        if (!e)
            return NESTOR_ERR_FAILED_LOOKUP;    /* map the EPT tables first */
        if (install && present(*e, true))
            return NESTOR_ERR_DELETE_FIRST;
        if (!install && present(*e, true) && !is_mmio_entry(*e))
            return NESTOR_ERR_INVALID_ARGUMENT; /* a frame's: unmap the frame */
    }
    return NESTOR_OK;
}

void vspace_ept_mmio_apply(const cap_t *ept_cap, uint64_t gpa, uint64_t pages, bool install)
{
    uint64_t *pml4 = live_vspace(map_record(ept_cap));
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t *e = walk(pml4, gpa + (i << LEVEL_SHIFT_PT), LEVEL_SHIFT_PT, true);
        if (install)
            *e = EPT_MMIO_ENTRY;
        else if (is_mmio_entry(*e))
            *e = 0;
    }
    /* No flush: SDM 28.4.2, no guest-physical or combined mapping is made
     * from an entry that is not present or is misconfigured, so going
     * between the two leaves nothing cached behind. */
}

void vspace_boot_map(uint64_t *pml4, uint64_t vaddr, uint64_t paddr, bool writable,
                     vspace_alloc_fn alloc)
{
    uint64_t *table = pml4;
    for (unsigned s = LEVEL_SHIFT_PML4; s > LEVEL_SHIFT_PT; s -= 9) {
        uint64_t *e = &table[index_at(vaddr, s)];
        if (!(*e & PTE_P))
            *e = alloc() | TABLE_ENTRY_FLAGS;
        table = table_at(*e);
    }
    table[index_at(vaddr, LEVEL_SHIFT_PT)] = paddr | PTE_P | PTE_U | (writable ? PTE_W : 0);
}
