/* tests/kernel/test_vspace.c - frames, paging structures, mappings. */
#include "ktest.h"

#define RW (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)
#define FRESH_REGION 0x0000200000000000ULL   /* a PML4 slot nothing uses */

KTEST(frame_map_write_read)
{
    nestor_cptr_t f;
    volatile nestor_word_t *p = env_page(&f);
    p[0] = 0xDEADBEEF;
    p[511] = 7;
    KT_EQ(p[0], 0xDEADBEEF);
    KT_EQ(p[511], 7);
    nestor_word_t pa;
    KT_OK(nu_frame_get_address(f, &pa));
    KT_ASSERT(pa != 0 && (pa & 0xFFF) == 0);
    return KT_PASS;
}

KTEST(frame_map_checks)
{
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_EQ(nu_frame_map(f, ROOT_VSPACE, FRESH_REGION + 8, RW, 0), NESTOR_ERR_ALIGNMENT);
    KT_EQ(nu_frame_map(f, ROOT_VSPACE, 0xFFFF800000000000ULL, RW, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_frame_map(f, ROOT_VSPACE, FRESH_REGION, RW, 0), NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(nu_frame_map(f, ROOT_CNODE, FRESH_REGION, RW, 0), NESTOR_ERR_INVALID_CAPABILITY);
    /* Mapping over a present page, or a frame twice, is refused. */
    nestor_cptr_t g;
    void *va = env_page(&g);
    KT_EQ(nu_frame_map(f, ROOT_VSPACE, (uintptr_t)va, RW, 0), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(nu_frame_map(g, ROOT_VSPACE, (uintptr_t)va + 4096 * 100, RW, 0),
          NESTOR_ERR_DELETE_FIRST);
    return KT_PASS;
}

KTEST(frame_copy_shares_memory)
{
    nestor_cptr_t f, copy = env_slot();
    volatile nestor_word_t *a = env_page(&f);
    /* env_page hands out consecutive addresses: two pages on is still free. */
    volatile nestor_word_t *c = (volatile nestor_word_t *)((uintptr_t)a + 2 * 4096);
    KT_OK(nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH, RW));
    KT_OK(nu_frame_map(copy, ROOT_VSPACE, (uintptr_t)c, RW, 0));
    a[3] = 0x1234;
    KT_EQ(c[3], 0x1234);
    /* Unmapping the copy leaves the original mapped. */
    KT_OK(nu_frame_unmap(copy));
    KT_EQ(a[3], 0x1234);
    return KT_PASS;
}

KTEST(frame_copy_rights_limit_mapping)
{
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0), ro = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, ro, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH, NESTOR_RIGHT_READ));
    void *probe = env_page(0);
    uintptr_t va = (uintptr_t)probe + 4096 * 2;
    KT_EQ(nu_frame_map(ro, ROOT_VSPACE, va, RW, 0), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_OK(nu_frame_map(ro, ROOT_VSPACE, va, NESTOR_RIGHT_READ, 0));
    KT_EQ(*(volatile nestor_word_t *)va, 0);
    return KT_PASS;
}

KTEST(page_tables_build_new_region)
{
    nestor_cptr_t pdpt = env_obj(NESTOR_OBJ_PDPT, 0), pd = env_obj(NESTOR_OBJ_PD, 0);
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_PT, 0), f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_EQ(nu_page_table_map(pt, ROOT_VSPACE, FRESH_REGION), NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(nu_page_table_map(pdpt, ROOT_VSPACE, FRESH_REGION + 4096), NESTOR_ERR_ALIGNMENT);
    KT_OK(nu_page_table_map(pdpt, ROOT_VSPACE, FRESH_REGION));
    KT_OK(nu_page_table_map(pd, ROOT_VSPACE, FRESH_REGION));
    KT_OK(nu_page_table_map(pt, ROOT_VSPACE, FRESH_REGION));
    KT_EQ(nu_page_table_map(pt, ROOT_VSPACE, FRESH_REGION), NESTOR_ERR_DELETE_FIRST);
    KT_OK(nu_frame_map(f, ROOT_VSPACE, FRESH_REGION + 0x5000, RW, 0));
    volatile nestor_word_t *p = (volatile nestor_word_t *)(FRESH_REGION + 0x5000);
    p[0] = 99;
    KT_EQ(p[0], 99);
    /* The test's revoke unmaps the tables and the frame: the next test
     * that runs this one would fail its first map if it did not. */
    return KT_PASS;
}

KTEST(large_frame_2m)
{
    nestor_cptr_t pdpt = env_obj(NESTOR_OBJ_PDPT, 0), pd = env_obj(NESTOR_OBJ_PD, 0);
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0);
    uintptr_t base = FRESH_REGION + (1ULL << 30);   /* a PD covers 1 GiB */
    KT_OK(nu_page_table_map(pdpt, ROOT_VSPACE, FRESH_REGION));
    KT_OK(nu_page_table_map(pd, ROOT_VSPACE, base));
    KT_EQ(nu_frame_map(big, ROOT_VSPACE, base + 4096, RW, 0), NESTOR_ERR_ALIGNMENT);
    KT_OK(nu_frame_map(big, ROOT_VSPACE, base + (2ULL << 20), RW, 0));
    volatile nestor_word_t *p = (volatile nestor_word_t *)(base + (2ULL << 20));
    p[0] = 1;
    p[(2 << 20) / 8 - 1] = 2;
    KT_EQ(p[0] + p[(2 << 20) / 8 - 1], 3);
    return KT_PASS;
}

KTEST(separate_address_space_is_separate)
{
    /* A second PML4 gets the kernel half but none of our user mappings. */
    nestor_cptr_t pml4 = env_obj(NESTOR_OBJ_PML4, 0), pdpt = env_obj(NESTOR_OBJ_PDPT, 0);
    KT_OK(nu_page_table_map(pdpt, pml4, FRESH_REGION));
    /* Mapping in the other space does not appear in ours. */
    nestor_cptr_t pd = env_obj(NESTOR_OBJ_PD, 0), pt = env_obj(NESTOR_OBJ_PT, 0);
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(nu_page_table_map(pd, pml4, FRESH_REGION));
    KT_OK(nu_page_table_map(pt, pml4, FRESH_REGION));
    KT_OK(nu_frame_map(f, pml4, FRESH_REGION, RW, 0));
    nestor_cptr_t ourpdpt = env_obj(NESTOR_OBJ_PDPT, 0);
    KT_OK(nu_page_table_map(ourpdpt, ROOT_VSPACE, FRESH_REGION));   /* slot was free here */
    return KT_PASS;
}

KTEST(delete_address_space_with_mappings)
{
    nestor_cptr_t pml4 = env_obj(NESTOR_OBJ_PML4, 0), pdpt = env_obj(NESTOR_OBJ_PDPT, 0);
    KT_OK(nu_page_table_map(pdpt, pml4, FRESH_REGION));
    KT_OK(nu_cnode_delete(ROOT_CNODE, pml4, ROOT_DEPTH));
    /* The PDPT's mapping died with the space: unmapping it is a no-op, and
     * it can be mapped again elsewhere. */
    KT_OK(nu_page_table_unmap(pdpt));
    KT_OK(nu_page_table_map(pdpt, ROOT_VSPACE, FRESH_REGION));
    return KT_PASS;
}

KTEST(frame_invocations_on_wrong_objects)
{
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_PT, 0), f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    nestor_word_t pa;
    KT_EQ(nu_frame_get_address(pt, &pa), NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(nu_page_table_map(f, ROOT_VSPACE, FRESH_REGION), NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(nu_frame_map(pt, ROOT_VSPACE, FRESH_REGION, RW, 0), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}
