/*
 * tests/unit/test_insp_ewatch.c - the inspector's watchpoints by EPT
 * protection (inspector/ewatch.c): which rights a watch withholds (SDM Vol.
 * 3C 28.3.3.1: never write without read), the union per EPT leaf, ranges
 * across pages, and which EPT violations are ours and which hit (the exit
 * qualification's access bits, SDM 27.2.1 Table 27-7).
 */
#include "unit.h"
#include "../../inspector/ewatch.h"
#include <nestor/invocations.h>
#include <x86_vmx.h>
#include <string.h>

#define LEAF_2M 21
#define LEAF_4K 12

static void test_check_and_withhold(void)
{
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_WRITE, 0x1000, 4), 0);
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_READ, 0x1000, 4), 0);
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_ACCESS, 0x1003, 3), 0);  /* any length, any alignment */
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_WRITE, 0x1000, 0), -RSP_EINVAL);
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_WRITE, 0x1000, EWATCH_LEN_MAX + 1), -RSP_EINVAL);
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_WRITE, ~0ULL - 2, 4), -RSP_EINVAL);   /* wraps */
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_WRITE, ~0ULL - 3, 4), 0);
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_SOFTWARE, 0x1000, 1), RSP_UNSUPPORTED);
    CU_ASSERT_EQUAL(ewatch_check(RSP_BP_HARDWARE, 0x1000, 1), RSP_UNSUPPORTED);
    CU_ASSERT_EQUAL(ewatch_withhold(RSP_BP_WRITE), NESTOR_EPT_W);
    /* A read watch cannot leave its page writable but unreadable. */
    CU_ASSERT_EQUAL(ewatch_withhold(RSP_BP_READ), NESTOR_EPT_R | NESTOR_EPT_W);
    CU_ASSERT_EQUAL(ewatch_withhold(RSP_BP_ACCESS), NESTOR_EPT_R | NESTOR_EPT_W);
    CU_ASSERT_EQUAL(ewatch_first_len(0x1FFE, 8), 2);
    CU_ASSERT_EQUAL(ewatch_first_len(0x1000, 8), 8);
    CU_ASSERT_EQUAL(ewatch_first_len(0x1000, 4096), 4096);
}

static void test_add_remove(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(ewatch_add(&s, RSP_BP_WRITE, 0x401000, 4, 0x101000, 0), 0);
    CU_ASSERT_EQUAL(ewatch_add(&s, RSP_BP_WRITE, 0x401000, 4, 0x101000, 0), 0);  /* same */
    CU_ASSERT_EQUAL(ewatch_add(&s, RSP_BP_ACCESS, 0x401000, 4, 0x101000, 0), 1);
    CU_ASSERT_EQUAL(ewatch_count(&s), 2);
    CU_ASSERT_EQUAL(ewatch_remove(&s, RSP_BP_READ, 0x401000, 4), -RSP_ENOENT);
    CU_ASSERT_EQUAL(ewatch_remove(&s, RSP_BP_WRITE, 0x401000, 4), 0);
    CU_ASSERT_EQUAL(ewatch_remove(&s, RSP_BP_WRITE, 0x401000, 4), -RSP_ENOENT);
    CU_ASSERT_EQUAL(ewatch_count(&s), 1);
    for (unsigned i = 0; i < EWATCH_MAX - 1; i++)
        CU_ASSERT(ewatch_add(&s, RSP_BP_WRITE, 0x500000 + 8 * i, 8, 0x200000 + 8 * i, 0) >= 0);
    CU_ASSERT_EQUAL(ewatch_count(&s), EWATCH_MAX);
    CU_ASSERT_EQUAL(ewatch_add(&s, RSP_BP_WRITE, 0x600000, 8, 0x300000, 0), -RSP_ENOSPC);
}

/* The protection of a leaf is the union of its watches' needs, and goes
 * when the last one does. */
static void test_leaf_withhold(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x200000, LEAF_2M), NESTOR_EPT_WITHHOLD_NONE);
    ewatch_add(&s, RSP_BP_WRITE, 0x1000, 4, 0x201000, 0);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x200000, LEAF_2M), NESTOR_EPT_WITHHOLD_W);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0, LEAF_2M), NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x202000, LEAF_4K), NESTOR_EPT_WITHHOLD_NONE);
    ewatch_add(&s, RSP_BP_READ, 0x5000, 4, 0x3FF000, 0);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x200000, LEAF_2M), NESTOR_EPT_WITHHOLD_RW);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x201000, LEAF_4K), NESTOR_EPT_WITHHOLD_W);
    ewatch_remove(&s, RSP_BP_READ, 0x5000, 4);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x200000, LEAF_2M), NESTOR_EPT_WITHHOLD_W);
    ewatch_remove(&s, RSP_BP_WRITE, 0x1000, 4);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x200000, LEAF_2M), NESTOR_EPT_WITHHOLD_NONE);
}

/* A range across a page boundary: its two pages translate apart (here into
 * two 2 MiB leaves), both protected, both hit. */
static void test_across_pages(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    int i = ewatch_add(&s, RSP_BP_WRITE, 0x7FFC, 8, 0x1FFFFC, 0x600000);
    uint64_t base[2];
    unsigned n;
    ewatch_leaves(&s, i, LEAF_2M, base, &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(base[0], 0);
    CU_ASSERT_EQUAL(base[1], 0x600000);
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x600000, LEAF_2M), NESTOR_EPT_WITHHOLD_W);
    int hit;
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x600003, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, i);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x600004, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);                        /* past the 4 bytes there */
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x1FFFFC, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, i);
    /* Both pieces in one leaf: one leaf. */
    ewatch_remove(&s, RSP_BP_WRITE, 0x7FFC, 8);
    i = ewatch_add(&s, RSP_BP_WRITE, 0x7FFC, 8, 0x1FFC, 0x3000);
    ewatch_leaves(&s, i, LEAF_2M, base, &n);
    CU_ASSERT_EQUAL(n, 1);
    ewatch_leaves(&s, i, LEAF_4K, base, &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(base[1], 0x3000);
}

/* Which violations are ours, which hit: the access kind must be the
 * watch's, its first byte in the watched bytes; another watch's or a
 * neighbour's access in our leaf is a silent step; a violation in a leaf
 * with none of ours goes on to the VMM. */
static void test_violation(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    int hit;
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x1000, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit),
                    EWATCH_NOT_OURS);
    const int w = ewatch_add(&s, RSP_BP_WRITE, 0x401000, 4, 0x101000, 0);
    const int r = ewatch_add(&s, RSP_BP_READ, 0x402000, 8, 0x102000, 0);
    const int a = ewatch_add(&s, RSP_BP_ACCESS, 0x403000, 2, 0x103000, 0);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x101002, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, w);
    CU_ASSERT_EQUAL(ewatch_stop_why(&s, hit), RSP_STOP_WATCH);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x101002, 0, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);                        /* a read of a write watch */
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x101004, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);                        /* the next bytes */
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x102007, 0, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, r);
    CU_ASSERT_EQUAL(ewatch_stop_why(&s, hit), RSP_STOP_RWATCH);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x102000, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);                        /* a write of a read watch */
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x103001, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, a);
    CU_ASSERT_EQUAL(ewatch_stop_why(&s, hit), RSP_STOP_AWATCH);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x103000, 0, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, a);
    /* Another leaf: the VMM's business. With 4 KiB leaves, another page. */
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x201000, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_2M, &hit),
                    EWATCH_NOT_OURS);
    CU_ASSERT_EQUAL(hit, -1);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x104000, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_4K, &hit),
                    EWATCH_NOT_OURS);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x101FFF, 0, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED, LEAF_4K, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);
}

/* A paging-structure access (the walk for a linear address, bit 8 clear):
 * read and access watches hit by the linear address it translates; a write
 * watch by its bytes changing (the digest). */
static void test_walk_and_digest(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    int hit;
    const int w = ewatch_add(&s, RSP_BP_WRITE, 0x401000, 4, 0x1000, 0);
    const int r = ewatch_add(&s, RSP_BP_READ, 0x402000, 8, 0x2000, 0);
    const uint64_t walk = EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID;
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x3008, 0x402004, walk, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, r);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x3008, 0x401000, walk, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x3008, 0x402008, walk, LEAF_2M, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);
    static uint8_t ram[0x4000];
    const uint64_t d = ewatch_digest(&s, w, ram, sizeof ram);
    ram[0x1004] = 1;                                 /* next to it */
    CU_ASSERT_EQUAL(ewatch_digest(&s, w, ram, sizeof ram), d);
    ram[0x1003] = 1;
    CU_ASSERT_NOT_EQUAL(ewatch_digest(&s, w, ram, sizeof ram), d);
    /* Outside RAM: nothing read. */
    const int far = ewatch_add(&s, RSP_BP_WRITE, 0x500000, 4, 0x10000, 0);
    CU_ASSERT_EQUAL(ewatch_digest(&s, far, ram, sizeof ram), 0xcbf29ce484222325ULL);
}

UNIT_SUITE(insp_ewatch_suite)
{
    CU_pSuite s = CU_add_suite("inspector: watchpoints by EPT protection", NULL, NULL);
    CU_add_test(s, "which Z packets, which rights withheld", test_check_and_withhold);
    CU_add_test(s, "adding and removing watches", test_add_remove);
    CU_add_test(s, "a leaf withholds the union of its watches' needs", test_leaf_withhold);
    CU_add_test(s, "a range across pages", test_across_pages);
    CU_add_test(s, "which EPT violations are ours and which hit", test_violation);
    CU_add_test(s, "page walks and a write watch's bytes", test_walk_and_digest);
}
