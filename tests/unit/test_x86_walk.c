/*
 * tests/unit/test_x86_walk.c - lib/x86/walk.c: translations through 4-level,
 * PAE and 32-bit page tables built in a fake guest-physical memory, the
 * rights they carry (R/W and U/S ANDed over the levels, SDM Vol. 3A 4.6) and
 * the data-access check with its #PF error codes (4.6.1, 4.7); EPT walks
 * (28.3.2) and an L2 guest's linear addresses through its paging and EPT12.
 */
#include "unit.h"
#include <x86_arch.h>
#include <x86_vmx.h>
#include <x86_walk.h>
#include <string.h>

#define PHYS_BYTES 0x10000u
static uint8_t phys[PHYS_BYTES];

static bool rd(void *ctx, uint64_t gpa, unsigned size, uint64_t *e)
{
    (void)ctx;
    if (gpa + size > PHYS_BYTES)
        return false;
    *e = 0;
    memcpy(e, phys + gpa, size);
    return true;
}

static void put(uint64_t gpa, uint64_t v, unsigned size)
{
    memcpy(phys + gpa, &v, size);
}

#define P  X86_PTE_P
#define RW X86_PTE_RW
#define US X86_PTE_US
#define PS X86_PTE_PS

static const x86_paging_t lm = { .cr0 = X86_CR0_PG | X86_CR0_PE, .cr3 = 0x1000,
                                 .cr4 = X86_CR4_PAE, .efer = X86_EFER_LMA | X86_EFER_LME };

/* 4-level: la 0x0000 -> PML4[0] 0x2000 -> PDPT[0] 0x3000 -> PD[0] 0x4000 -> PT. */
static void build_lm(uint64_t pml4_flags, uint64_t pte_flags)
{
    memset(phys, 0, sizeof phys);
    put(0x1000, 0x2000 | pml4_flags, 8);
    put(0x2000, 0x3000 | P | RW | US, 8);
    put(0x3000, 0x4000 | P | RW | US, 8);
    put(0x4000 + 5 * 8, 0x9000 | pte_flags, 8);             /* la 0x5000 -> 0x9000 */
    put(0x3000 + 1 * 8, 0x200000 | P | RW | PS, 8);         /* la 0x200000: a 2 MiB page */
}

static void test_rights_4level(void)
{
    uint64_t gpa;
    x86_walk_rights_t r;
    build_lm(P | RW | US, P | RW | US);
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&lm, 0x5123, rd, NULL, &gpa, &r));
    CU_ASSERT_EQUAL(gpa, 0x9123);
    CU_ASSERT_TRUE(r.writable && r.user);
    build_lm(P | US, P | RW | US);                          /* read-only at the top */
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&lm, 0x5000, rd, NULL, &gpa, &r));
    CU_ASSERT_TRUE(!r.writable && r.user);
    build_lm(P | RW | US, P | RW);                          /* supervisor leaf */
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&lm, 0x5000, rd, NULL, &gpa, &r));
    CU_ASSERT_TRUE(r.writable && !r.user);
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&lm, 0x212345, rd, NULL, &gpa, &r));
    CU_ASSERT_EQUAL(gpa, 0x212345);
    CU_ASSERT_TRUE(r.writable && !r.user);                  /* the 2 MiB PDE has no U/S */
    CU_ASSERT_FALSE(x86_linear_to_phys_rights(&lm, 0x6000, rd, NULL, &gpa, &r));
    CU_ASSERT_TRUE(x86_linear_to_phys(&lm, 0x5000, rd, NULL, &gpa));
}

static void test_rights_pae_and_32bit(void)
{
    uint64_t gpa;
    x86_walk_rights_t r;
    /* PAE: PDPTE (no rights bits) -> PD 0x3000 -> PT 0x4000. */
    const x86_paging_t pae = { .cr0 = X86_CR0_PG | X86_CR0_PE, .cr3 = 0x1000,
                               .cr4 = X86_CR4_PAE };
    memset(phys, 0, sizeof phys);
    put(0x1000, 0x3000 | P, 8);
    put(0x3000, 0x4000 | P | RW | US, 8);
    put(0x4000 + 2 * 8, 0x8000 | P | US, 8);
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&pae, 0x2010, rd, NULL, &gpa, &r));
    CU_ASSERT_EQUAL(gpa, 0x8010);
    CU_ASSERT_TRUE(!r.writable && r.user);
    /* 32-bit paging: PDE -> PTE, and a 4 MiB page with PSE. */
    const x86_paging_t p32 = { .cr0 = X86_CR0_PG | X86_CR0_PE, .cr3 = 0x1000,
                               .cr4 = X86_CR4_PSE };
    memset(phys, 0, sizeof phys);
    put(0x1000, 0x2000 | P | RW, 4);
    put(0x2000 + 3 * 4, 0x7000 | P | RW | US, 4);
    put(0x1000 + 1 * 4, 0x400000 | P | RW | US | PS, 4);
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&p32, 0x3004, rd, NULL, &gpa, &r));
    CU_ASSERT_EQUAL(gpa, 0x7004);
    CU_ASSERT_TRUE(r.writable && !r.user);
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&p32, 0x412345, rd, NULL, &gpa, &r));
    CU_ASSERT_EQUAL(gpa, 0x412345);
    CU_ASSERT_TRUE(r.writable && r.user);
    /* No paging: everything allowed, the address itself. */
    const x86_paging_t off = { .cr0 = X86_CR0_PE };
    CU_ASSERT_TRUE(x86_linear_to_phys_rights(&off, 0xABC, rd, NULL, &gpa, &r));
    CU_ASSERT_TRUE(gpa == 0xABC && r.writable && r.user);
    CU_ASSERT_EQUAL(x86_access_fault(&off, &r, true, true, false), 0);
}

static void test_access_fault(void)
{
    const uint32_t PF_P = X86_PF_PRESENT, PF_W = X86_PF_WRITE, PF_U = X86_PF_USER;
    x86_paging_t p = lm;
    x86_walk_rights_t ro_user = { .writable = false, .user = true };
    x86_walk_rights_t rw_user = { .writable = true, .user = true };
    x86_walk_rights_t ro_sup = { .writable = false, .user = false };
    x86_walk_rights_t rw_sup = { .writable = true, .user = false };
    /* CPL 3: U/S needed, and R/W to write. */
    CU_ASSERT_EQUAL(x86_access_fault(&p, &ro_user, false, true, false), 0);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &ro_user, true, true, false), PF_P | PF_W | PF_U);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_user, true, true, false), 0);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_sup, false, true, false), PF_P | PF_U);
    /* Supervisor: writes to read-only pages only with CR0.WP clear. */
    CU_ASSERT_EQUAL(x86_access_fault(&p, &ro_sup, true, false, false), 0);
    p.cr0 |= X86_CR0_WP;
    CU_ASSERT_EQUAL(x86_access_fault(&p, &ro_sup, true, false, false), PF_P | PF_W);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &ro_sup, false, false, false), 0);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_sup, true, false, false), 0);
    /* SMAP: supervisor access to a user page only with RFLAGS.AC. */
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_user, false, false, false), 0);
    p.cr4 |= X86_CR4_SMAP;
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_user, false, false, false), PF_P);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_user, true, false, false), PF_P | PF_W);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_user, true, false, true), 0);
    CU_ASSERT_EQUAL(x86_access_fault(&p, &ro_user, true, false, true), PF_P | PF_W);   /* WP */
    CU_ASSERT_EQUAL(x86_access_fault(&p, &rw_user, true, true, false), 0);   /* CPL 3: no SMAP */
}

/* EPT (SDM 28.3.2) in the fake memory: EPTP -> PML4 0x5000 -> PDPT 0x6000
 * -> PD 0x7000 -> PT 0x8000. */
#define EPTP     (0x5000 | EPTP_WALK_4)
#define EPT_PT   0x8000u
#define R_       X86_EPT_R
#define RWX      X86_EPT_RWX

static void build_ept(uint64_t pml4_rights)
{
    memset(phys, 0, sizeof phys);
    put(0x5000, 0x6000 | pml4_rights, 8);
    put(0x6000, 0x7000 | RWX, 8);
    put(0x7000, EPT_PT | RWX, 8);
    put(EPT_PT + 3 * 8, 0xA000 | RWX, 8);                        /* 0x3000 -> 0xA000 */
    put(0x7000 + 1 * 8, 0x400000 | X86_EPT_PS | R_, 8);          /* a 2 MiB page, read only */
    put(0x6000 + 1 * 8, 0x80000000 | X86_EPT_PS | R_ | X86_EPT_W, 8);   /* a 1 GiB page */
}

static void test_ept(void)
{
    uint64_t pa = 0;
    unsigned rights = 0;
    build_ept(RWX);
    CU_ASSERT_TRUE(x86_ept_to_phys(EPTP, 0x3456, rd, NULL, &pa, &rights));
    CU_ASSERT_EQUAL(pa, 0xA456);
    CU_ASSERT_EQUAL(rights, RWX);
    CU_ASSERT_TRUE(x86_ept_to_phys(EPTP, 0x200123, rd, NULL, &pa, &rights));
    CU_ASSERT_EQUAL(pa, 0x400123);
    CU_ASSERT_EQUAL(rights, R_);
    CU_ASSERT_TRUE(x86_ept_to_phys(EPTP, 0x40000055, rd, NULL, &pa, &rights));
    CU_ASSERT_EQUAL(pa, 0x80000055);
    CU_ASSERT_EQUAL(rights, R_ | X86_EPT_W);
    /* Not present (bits 2:0 clear), at the last level and at the first. */
    CU_ASSERT_FALSE(x86_ept_to_phys(EPTP, 0x4000, rd, NULL, &pa, &rights));
    CU_ASSERT_EQUAL(rights, 0);
    CU_ASSERT_FALSE(x86_ept_to_phys(EPTP, 0x8000000000ull, rd, NULL, &pa, &rights));
    /* Rights are ANDed over the levels (28.3.3.2). */
    build_ept(R_ | X86_EPT_X);
    CU_ASSERT_TRUE(x86_ept_to_phys(EPTP, 0x3000, rd, NULL, &pa, &rights));
    CU_ASSERT_EQUAL(rights, R_ | X86_EPT_X);
    /* Only the 4-level walk (24.6.11). */
    CU_ASSERT_FALSE(x86_ept_to_phys(0x5000 | (1ull << EPTP_WALK_SHIFT), 0x3000, rd, NULL, &pa,
                                    &rights));
    /* Tables outside the memory are no translation. */
    CU_ASSERT_FALSE(x86_ept_to_phys(0x70000 | EPTP_WALK_4, 0x3000, rd, NULL, &pa, &rights));
}

/* An L2 guest's 4-level tables at L2-physical 0x1000-0x4000, which EPT12
 * puts at L1-physical 0xB000-0xE000: every entry of the walk is read
 * through EPT12, and so is the result. */
static void test_nested(void)
{
    build_ept(RWX);
    for (unsigned i = 1; i <= 4; i++)
        put(EPT_PT + i * 8, (0xA000 + i * 0x1000) | RWX, 8);
    put(0xB000, 0x2000 | P | RW, 8);
    put(0xC000, 0x3000 | P | RW, 8);
    put(0xD000, 0x4000 | P | RW, 8);
    put(0xE000 + 7 * 8, 0x1000 | P, 8);                          /* la 0x7000 -> L2 0x1000 */
    const x86_paging_t l2 = { .cr0 = X86_CR0_PG | X86_CR0_PE, .cr3 = 0x1000,
                              .cr4 = X86_CR4_PAE, .efer = X86_EFER_LMA | X86_EFER_LME };
    uint64_t pa1 = 0;
    CU_ASSERT_TRUE(x86_nested_linear_to_phys(&l2, EPTP, 0x7123, rd, NULL, &pa1));
    CU_ASSERT_EQUAL(pa1, 0xB123);
    /* The same walk without EPT12 reads L1's 0x1000 (nothing there). */
    uint64_t gpa = 0;
    CU_ASSERT_FALSE(x86_linear_to_phys(&l2, 0x7123, rd, NULL, &gpa));
    /* The page holding L2's page table gone from EPT12: no translation. */
    put(EPT_PT + 4 * 8, 0, 8);
    CU_ASSERT_FALSE(x86_nested_linear_to_phys(&l2, EPTP, 0x7123, rd, NULL, &pa1));
    /* ... or there but not readable (execute only). */
    put(EPT_PT + 4 * 8, 0xE000 | X86_EPT_X, 8);
    CU_ASSERT_FALSE(x86_nested_linear_to_phys(&l2, EPTP, 0x7123, rd, NULL, &pa1));
    /* L2 without paging: its linear address is L2-physical. */
    const x86_paging_t flat = { .cr0 = X86_CR0_PE };
    CU_ASSERT_TRUE(x86_nested_linear_to_phys(&flat, EPTP, 0x2010, rd, NULL, &pa1));
    CU_ASSERT_EQUAL(pa1, 0xC010);
}

/* The entries a translation used, for setting A/D (SDM Vol. 3A 4.8). */
static void test_trace_ad(void)
{
    uint64_t gpa;
    x86_walk_rights_t r;
    x86_walk_trace_t t;
    const uint64_t A = X86_PTE_A, D = X86_PTE_D;
    /* 4-level, 4 KiB page: PML4E, PDPTE, PDE, PTE, top first. */
    build_lm(P | RW | US | A, P | RW | US | D);
    CU_ASSERT_TRUE(x86_linear_to_phys_trace(&lm, 0x5123, rd, NULL, &gpa, &r, &t));
    CU_ASSERT_EQUAL(t.count, 4);
    CU_ASSERT_EQUAL(t.size, 8);
    CU_ASSERT_EQUAL(t.gpa[0], 0x1000);
    CU_ASSERT_EQUAL(t.gpa[1], 0x2000);
    CU_ASSERT_EQUAL(t.gpa[2], 0x3000);
    CU_ASSERT_EQUAL(t.gpa[3], 0x4000 + 5 * 8);
    CU_ASSERT_EQUAL(t.entry[3], 0x9000 | P | RW | US | D);
    /* A read: A everywhere it is clear; D never. A write: D on the leaf. */
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 0, false), 0);             /* A already set */
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 0, true), 0);              /* no D above the leaf */
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 1, true), A);
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 3, false), A);
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 3, true), A);              /* D already set */
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 4, true), 0);              /* past the trace */
    /* A 2 MiB page: the PDE is the leaf, three entries. */
    CU_ASSERT_TRUE(x86_linear_to_phys_trace(&lm, 0x212345, rd, NULL, &gpa, &r, &t));
    CU_ASSERT_EQUAL(t.count, 3);
    CU_ASSERT_EQUAL(t.gpa[2], 0x3000 + 8);
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 2, true), A | D);
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 1, true), A);
    /* A failed walk keeps the present entries before the failure. */
    CU_ASSERT_FALSE(x86_linear_to_phys_trace(&lm, 0x6000, rd, NULL, &gpa, &r, &t));
    CU_ASSERT_EQUAL(t.count, 3);
    /* PAE: the PDPTE (no A flag, 4.4.1) is not in the trace. */
    const x86_paging_t pae = { .cr0 = X86_CR0_PG | X86_CR0_PE, .cr3 = 0x1000,
                               .cr4 = X86_CR4_PAE };
    memset(phys, 0, sizeof phys);
    put(0x1000, 0x3000 | P, 8);
    put(0x3000, 0x4000 | P | RW, 8);
    put(0x4000 + 2 * 8, 0x8000 | P | RW, 8);
    CU_ASSERT_TRUE(x86_linear_to_phys_trace(&pae, 0x2010, rd, NULL, &gpa, &r, &t));
    CU_ASSERT_EQUAL(t.count, 2);
    CU_ASSERT_EQUAL(t.gpa[0], 0x3000);
    CU_ASSERT_EQUAL(t.gpa[1], 0x4000 + 2 * 8);
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 1, true), A | D);
    /* 32-bit paging: 4-byte entries; a 4 MiB page's PDE is the leaf. */
    const x86_paging_t p32 = { .cr0 = X86_CR0_PG | X86_CR0_PE, .cr3 = 0x1000,
                               .cr4 = X86_CR4_PSE };
    memset(phys, 0, sizeof phys);
    put(0x1000 + 1 * 4, 0x400000 | P | RW | PS, 4);
    CU_ASSERT_TRUE(x86_linear_to_phys_trace(&p32, 0x412345, rd, NULL, &gpa, &r, &t));
    CU_ASSERT_EQUAL(t.count, 1);
    CU_ASSERT_EQUAL(t.size, 4);
    CU_ASSERT_EQUAL(t.gpa[0], 0x1004);
    CU_ASSERT_EQUAL(x86_walk_ad_bits(&t, 0, true), A | D);
    /* No paging: no entries. */
    const x86_paging_t off = { .cr0 = X86_CR0_PE };
    CU_ASSERT_TRUE(x86_linear_to_phys_trace(&off, 0xABC, rd, NULL, &gpa, &r, &t));
    CU_ASSERT_EQUAL(t.count, 0);
}

UNIT_SUITE(x86_walk_suite)
{
    CU_pSuite s = CU_add_suite("x86 guest page walk and access rights", NULL, NULL);
    CU_add_test(s, "4-level: rights ANDed over the levels, 2 MiB pages", test_rights_4level);
    CU_add_test(s, "PAE and 32-bit paging, 4 MiB pages, paging off", test_rights_pae_and_32bit);
    CU_add_test(s, "data-access check: U/S, R/W, CR0.WP, SMAP with AC", test_access_fault);
    CU_add_test(s, "EPT: 4 KiB, 2 MiB and 1 GiB pages, rights ANDed", test_ept);
    CU_add_test(s, "an L2 linear address through its paging and EPT12", test_nested);
    CU_add_test(s, "the entries a translation used and the A/D flags they gain", test_trace_ad);
}
