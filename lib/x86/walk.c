/*
 * lib/x86/walk.c - the guest page-table walk (x86_walk.h): SDM Vol. 3A 4.3
 * (32-bit paging, 4 MiB pages with CR4.PSE), 4.4 (PAE: the PDPTE from
 * CR3[31:5]), 4.5 (4-level paging, 1 GiB and 2 MiB pages); the rights of a
 * translation and the data-access check of 4.6.
 */
#include <x86_arch.h>
#include <x86_vmx.h>
#include <x86_walk.h>

#define ADDR_MASK_64   0x000FFFFFFFFFF000ULL
#define PAGE_4K        X86_WALK_PAGE
#define PAE_CR3_MASK   (~0x1FULL)
#define NONPAE_MASK    0xFFFFF000ULL
#define LARGE_4M_MASK  0xFFC00000ULL

/* Fold one paging-structure entry's R/W and U/S into the rights. */
static void fold(x86_walk_rights_t *r, uint64_t e)
{
    r->writable = r->writable && (e & X86_PTE_RW);
    r->user = r->user && (e & X86_PTE_US);
}

/* Note a present entry the translation uses (x86_walk_trace_t). */
static void trace_entry(x86_walk_trace_t *t, uint64_t gpa, uint64_t e)
{
    if (t->count < X86_WALK_MAX_ENTRIES) {
        t->gpa[t->count] = gpa;
        t->entry[t->count++] = e;
    }
}

/* Walk one 4-level / PAE table chain from @table; @levels counts down. */
static bool walk(uint64_t table, uint64_t la, int first_shift, int levels, x86_walk_read_fn rd,
                 void *ctx, uint64_t *gpa, x86_walk_rights_t *r, x86_walk_trace_t *t)
{
    int shift = first_shift;
    for (int l = 0; l < levels; l++, shift -= 9) {
        uint64_t e;
        const uint64_t at = (table & ADDR_MASK_64) + ((la >> shift) & 0x1FF) * 8;
        if (!rd(ctx, at, 8, &e) || !(e & X86_PTE_P))
            return false;
        trace_entry(t, at, e);
        fold(r, e);
        if (shift < 39 && shift > 12 && (e & X86_PTE_PS)) {   /* 1 GiB / 2 MiB page */
            uint64_t size = 1ULL << shift;
            *gpa = (e & ADDR_MASK_64 & ~(size - 1)) | (la & (size - 1));
            return true;
        }
        table = e;
    }
    *gpa = (table & ADDR_MASK_64) | (la & (PAGE_4K - 1));
    return true;
}

bool x86_linear_to_phys_trace(const x86_paging_t *p, uint64_t la, x86_walk_read_fn rd,
                              void *ctx, uint64_t *gpa, x86_walk_rights_t *r,
                              x86_walk_trace_t *t)
{
    r->writable = true;
    r->user = true;
    t->count = 0;
    t->size = 8;
    if (!(p->cr0 & X86_CR0_PG)) {
        *gpa = la;
        return true;
    }
    if (p->efer & X86_EFER_LMA)
        return walk(p->cr3, la, 39, 4, rd, ctx, gpa, r, t);
    if (p->cr4 & X86_CR4_PAE) {
        uint64_t pdpte;
        if (!rd(ctx, (p->cr3 & PAE_CR3_MASK) + ((la >> 30) & 3) * 8, 8, &pdpte) ||
            !(pdpte & X86_PTE_P))
            return false;
        return walk(pdpte, la & 0x3FFFFFFF, 21, 2, rd, ctx, gpa, r, t);
    }
    uint64_t pde, pte;
    t->size = 4;
    const uint64_t pde_at = (p->cr3 & NONPAE_MASK) + ((la >> 22) & 0x3FF) * 4;
    if (!rd(ctx, pde_at, 4, &pde) || !(pde & X86_PTE_P))
        return false;
    trace_entry(t, pde_at, pde);
    fold(r, pde);
    if ((pde & X86_PTE_PS) && (p->cr4 & X86_CR4_PSE)) {
        *gpa = (pde & LARGE_4M_MASK) | (la & 0x3FFFFF);
        return true;
    }
    const uint64_t pte_at = (pde & NONPAE_MASK) + ((la >> 12) & 0x3FF) * 4;
    if (!rd(ctx, pte_at, 4, &pte) || !(pte & X86_PTE_P))
        return false;
    trace_entry(t, pte_at, pte);
    fold(r, pte);
    *gpa = (pte & NONPAE_MASK) | (la & 0xFFF);
    return true;
}

bool x86_linear_to_phys_rights(const x86_paging_t *p, uint64_t la, x86_walk_read_fn rd,
                               void *ctx, uint64_t *gpa, x86_walk_rights_t *r)
{
    x86_walk_trace_t t;
    return x86_linear_to_phys_trace(p, la, rd, ctx, gpa, r, &t);
}

uint64_t x86_walk_ad_bits(const x86_walk_trace_t *t, unsigned i, bool write)
{
    if (i >= t->count)
        return 0;
    const uint64_t want = X86_PTE_A | (write && i == t->count - 1 ? X86_PTE_D : 0);
    return want & ~t->entry[i];
}

bool x86_linear_to_phys(const x86_paging_t *p, uint64_t la, x86_walk_read_fn rd, void *ctx,
                        uint64_t *gpa)
{
    x86_walk_rights_t r;
    return x86_linear_to_phys_rights(p, la, rd, ctx, gpa, &r);
}

/* SDM Vol. 3A 4.6.1: user-mode data accesses need U/S (and R/W to write);
 * supervisor-mode writes need R/W if CR0.WP = 1; with CR4.SMAP, explicit
 * supervisor accesses to user-mode addresses need RFLAGS.AC = 1. */
uint32_t x86_access_fault(const x86_paging_t *p, const x86_walk_rights_t *r, bool write,
                          bool user, bool ac)
{
    bool ok;
    if (!(p->cr0 & X86_CR0_PG))
        return 0;
    if (user)
        ok = r->user && (!write || r->writable);
    else
        ok = !(r->user && (p->cr4 & X86_CR4_SMAP) && !ac) &&
             (!write || r->writable || !(p->cr0 & X86_CR0_WP));
    if (ok)
        return 0;
    return (uint32_t)(X86_PF_PRESENT | (write ? X86_PF_WRITE : 0) | (user ? X86_PF_USER : 0));
}

#define EPT_INDEX_BITS 9                  /* 512 entries a table (28.3.2) */
#define EPT_INDEX_MASK 0x1FFULL
#define EPT_ENTRY      8u

bool x86_ept_to_phys(uint64_t eptp, uint64_t gpa, x86_walk_read_fn rd, void *ctx, uint64_t *pa,
                     unsigned *rights)
{
    *rights = 0;
    if ((eptp & EPTP_WALK_MASK) != EPTP_WALK_4)
        return false;
    uint64_t table = eptp & X86_EPT_ADDR_MASK;
    unsigned perms = X86_EPT_RWX;
    for (int level = X86_EPT_LEVELS - 1; level >= 0; level--) {
        const unsigned shift = 12 + EPT_INDEX_BITS * (unsigned)level;
        uint64_t e;
        if (!rd(ctx, table + ((gpa >> shift) & EPT_INDEX_MASK) * EPT_ENTRY, EPT_ENTRY, &e) ||
            !(e & X86_EPT_RWX))
            return false;
        perms &= (unsigned)(e & X86_EPT_RWX);
        /* A PDPTE (level 2) or PDE (level 1) with bit 7 maps a 1 GiB or
         * 2 MiB page; a PTE (level 0) a 4 KiB one. */
        if (level == 0 || ((level == 1 || level == 2) && (e & X86_EPT_PS))) {
            const uint64_t size = 1ULL << shift;
            *pa = (e & X86_EPT_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1));
            *rights = perms;
            return true;
        }
        table = e & X86_EPT_ADDR_MASK;
    }
    return false;
}

/* The guest's table entries, read at their L2-physical addresses through
 * EPT12. */
typedef struct {
    uint64_t eptp;
    x86_walk_read_fn read;
    void *ctx;
} nested_read_t;

static bool nested_read(void *ctx, uint64_t gpa2, unsigned size, uint64_t *entry)
{
    const nested_read_t *n = ctx;
    uint64_t pa1;
    unsigned rights;
    /* An entry never straddles a page (4- and 8-byte entries, aligned). */
    return x86_ept_to_phys(n->eptp, gpa2, n->read, n->ctx, &pa1, &rights) &&
           (rights & X86_EPT_R) && n->read(n->ctx, pa1, size, entry);
}

bool x86_nested_linear_to_phys(const x86_paging_t *p, uint64_t eptp12, uint64_t la,
                               x86_walk_read_fn rd, void *ctx, uint64_t *pa1)
{
    nested_read_t n = { eptp12, rd, ctx };
    uint64_t gpa2;
    unsigned rights;
    return x86_linear_to_phys(p, la, nested_read, &n, &gpa2) &&
           x86_ept_to_phys(eptp12, gpa2, rd, ctx, pa1, &rights);
}

