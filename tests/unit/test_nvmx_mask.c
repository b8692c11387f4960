/*
 * tests/unit/test_nvmx_mask.c - the rights an inspector of L2 withholds in
 * EPT02 (nested-vmx/insp_mask.c, nvmx_insp.h): requests checked (rights
 * that are NESTOR_EPT_WITHHOLD_* only, L1's RAM only, NVMX_INSP_REGIONS at
 * most), the rights an EPT02 entry keeps (EPT12's less the mask, never
 * write without read, execute alone only with execute-only EPT: SDM
 * 28.3.3.1, A.10), and where an EPT violation of vcpu02 goes: L1 when
 * EPT12 refuses the access (28.3.3.2) even in a masked region, the
 * inspector when only the mask does, EPT02's lazy building otherwise.
 */
#include "unit.h"
#include "../../nested-vmx/insp_mask.h"
#include <nestor/invocations.h>
#include <x86_vmx.h>

#define RAM     (64ULL << 20)
#define REGION  (1ULL << NVMX_INSP_REGION_BITS)
#define RWX     (NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X)

static nvmx_mask_t k;

static void test_set_and_give_back(void)
{
    unsigned before = 99;
    nvmx_mask_init(&k, RAM);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x400123), NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0x400123, NESTOR_EPT_WITHHOLD_W, &before), 0);
    CU_ASSERT_EQUAL(before, NESTOR_EPT_WITHHOLD_NONE);
    /* The whole region: its first and last byte, not the next region's. */
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x400000), NESTOR_EPT_WITHHOLD_W);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x5FFFFF), NESTOR_EPT_WITHHOLD_W);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x600000), NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x3FFFFF), NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0x500000, NESTOR_EPT_WITHHOLD_RW, &before), 0);
    CU_ASSERT_EQUAL(before, NESTOR_EPT_WITHHOLD_W);
    CU_ASSERT_EQUAL(k.n, 1);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0x400000, NESTOR_EPT_WITHHOLD_NONE, &before), 0);
    CU_ASSERT_EQUAL(before, NESTOR_EPT_WITHHOLD_RW);
    CU_ASSERT_EQUAL(k.n, 0);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x400123), NESTOR_EPT_WITHHOLD_NONE);
}

static void test_hostile_requests(void)
{
    unsigned before = 77;
    nvmx_mask_init(&k, RAM);
    /* Rights that are no watchpoint's: read alone (write without read
     * left), execute alone, bits beyond. */
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0, NESTOR_EPT_R, &before), NVMX_INSP_E_RIGHTS);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0, NESTOR_EPT_X, &before), NVMX_INSP_E_RIGHTS);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0, 8, &before), NVMX_INSP_E_RIGHTS);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0, ~0ULL, &before), NVMX_INSP_E_RIGHTS);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0, (1ULL << 32) | NESTOR_EPT_WITHHOLD_W, &before),
                    NVMX_INSP_E_RIGHTS);
    /* Outside L1's RAM: its end, device memory, the top. */
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, RAM, NESTOR_EPT_WITHHOLD_W, &before), NVMX_INSP_E_RANGE);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0xFEE00000, NESTOR_EPT_WITHHOLD_W, &before),
                    NVMX_INSP_E_RANGE);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, ~0ULL, NESTOR_EPT_WITHHOLD_ALL, &before),
                    NVMX_INSP_E_RANGE);
    CU_ASSERT_EQUAL(before, 77);          /* untouched by a refusal */
    CU_ASSERT_EQUAL(k.n, 0);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, RAM - 1, NESTOR_EPT_WITHHOLD_W, &before), 0);
    /* Giving back what was never withheld is no error, and changes nothing. */
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0, NESTOR_EPT_WITHHOLD_NONE, &before), 0);
    CU_ASSERT_EQUAL(before, NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(k.n, 1);
}

static void test_bounded(void)
{
    unsigned before;
    nvmx_mask_init(&k, (uint64_t)(NVMX_INSP_REGIONS + 4) * REGION);
    for (unsigned i = 0; i < NVMX_INSP_REGIONS; i++)
        CU_ASSERT_EQUAL(nvmx_mask_set(&k, i * REGION + 5, NESTOR_EPT_WITHHOLD_W, &before), 0);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, NVMX_INSP_REGIONS * REGION, NESTOR_EPT_WITHHOLD_W,
                                  &before), NVMX_INSP_E_FULL);
    /* A region already masked still changes; one given back makes room. */
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 3 * REGION, NESTOR_EPT_WITHHOLD_ALL, &before), 0);
    CU_ASSERT_EQUAL(before, NESTOR_EPT_WITHHOLD_W);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 7 * REGION, NESTOR_EPT_WITHHOLD_NONE, &before), 0);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, NVMX_INSP_REGIONS * REGION, NESTOR_EPT_WITHHOLD_W,
                                  &before), 0);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 3 * REGION + 1), NESTOR_EPT_WITHHOLD_ALL);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 7 * REGION), NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 8 * REGION), NESTOR_EPT_WITHHOLD_W);
}

static void test_rights_kept(void)
{
    unsigned before;
    nvmx_mask_init(&k, RAM);
    nvmx_mask_set(&k, 0x200000, NESTOR_EPT_WITHHOLD_W, &before);
    nvmx_mask_set(&k, 0x400000, NESTOR_EPT_WITHHOLD_RW, &before);
    nvmx_mask_set(&k, 0x600000, NESTOR_EPT_WITHHOLD_ALL, &before);
    /* Unmasked: EPT12's, whatever they are. */
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x1000, RWX), RWX);
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x1000, NESTOR_EPT_R), NESTOR_EPT_R);
    /* Never more than EPT12 gives (SDM 28.3.3: the composition). */
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x201000, RWX), NESTOR_EPT_R | NESTOR_EPT_X);
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x201000, NESTOR_EPT_R), NESTOR_EPT_R);
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x401000, RWX), NESTOR_EPT_X);
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x401000, NESTOR_EPT_R | NESTOR_EPT_W), 0);
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x601000, RWX), 0);
    /* Without execute-only EPT, execute alone is nothing (28.3.3.1), and a
     * read-and-write request is refused from then on. */
    k.no_xo = true;
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x401000, RWX), 0);
    CU_ASSERT_EQUAL(nvmx_mask_rights(&k, 0x201000, RWX), NESTOR_EPT_R | NESTOR_EPT_X);
    CU_ASSERT_EQUAL(nvmx_mask_set(&k, 0x800000, NESTOR_EPT_WITHHOLD_RW, &before),
                    NVMX_INSP_E_NO_XO);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x800000), NESTOR_EPT_WITHHOLD_NONE);
}

static void test_routing(void)
{
    unsigned before;
    nvmx_mask_init(&k, RAM);
    nvmx_mask_set(&k, 0x200000, NESTOR_EPT_WITHHOLD_W, &before);
    nvmx_mask_set(&k, 0x400000, NESTOR_EPT_WITHHOLD_RW, &before);
    /* EPT12 refuses: L1's, inside a watched region too (SDM 28.3.3.2). */
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, false, 0x200010, EPT_QUAL_WRITE), NVMX_INSP_L1);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, false, 0x400010, EPT_QUAL_READ), NVMX_INSP_L1);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, false, 0x1000, EPT_QUAL_READ), NVMX_INSP_L1);
    /* EPT12 allows, the mask forbids: the inspector's. */
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x200010, EPT_QUAL_WRITE), NVMX_INSP_MINE);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x400010, EPT_QUAL_READ), NVMX_INSP_MINE);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x400010, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID),
                    NVMX_INSP_MINE);
    /* EPT12 allows, the mask does not forbid this kind: EPT02 maps it. */
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x200010, EPT_QUAL_READ), NVMX_INSP_EPT02);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x200010, EPT_QUAL_FETCH), NVMX_INSP_EPT02);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x400010, EPT_QUAL_FETCH), NVMX_INSP_EPT02);
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x600010, EPT_QUAL_WRITE), NVMX_INSP_EPT02);
    /* Without execute-only EPT the fetch from a read-protected region
     * faults too (nothing mapped): the inspector's. */
    k.no_xo = true;
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, 0x400010, EPT_QUAL_FETCH), NVMX_INSP_MINE);
    /* Outside L1's RAM (device memory): never the inspector's. */
    CU_ASSERT_EQUAL(nvmx_mask_route(&k, true, RAM + 0x10, EPT_QUAL_READ), NVMX_INSP_L1);
}

static void test_drop_and_regions(void)
{
    unsigned before;
    nvmx_mask_init(&k, RAM);
    nvmx_mask_set(&k, 0x200000, NESTOR_EPT_WITHHOLD_W, &before);
    nvmx_mask_drop(&k, 0x212345);
    CU_ASSERT_EQUAL(nvmx_mask_withheld(&k, 0x200000), NESTOR_EPT_WITHHOLD_NONE);
    CU_ASSERT_EQUAL(k.dropped, 1);
    nvmx_mask_drop(&k, 0x212345);         /* nothing there: not counted */
    CU_ASSERT_EQUAL(k.dropped, 1);
    /* Which EPT02 mappings a region change touches. */
    CU_ASSERT(nvmx_mask_in_region(0x200000, 0x200000, REGION));
    CU_ASSERT(nvmx_mask_in_region(0x200000, 0x3FF000, 0x1000));
    CU_ASSERT(!nvmx_mask_in_region(0x200000, 0x400000, 0x1000));
    CU_ASSERT(!nvmx_mask_in_region(0x200000, 0x1FF000, 0x1000));
    CU_ASSERT(!nvmx_mask_in_region(0x200000, 0x200000, 0));
}

UNIT_SUITE(nvmx_mask_suite)
{
    CU_pSuite s = CU_add_suite("nested-vmx: the inspector of L2's EPT02 mask", NULL, NULL);
    CU_add_test(s, "withheld per region, given back", test_set_and_give_back);
    CU_add_test(s, "hostile requests refused, nothing changed", test_hostile_requests);
    CU_add_test(s, "at most NVMX_INSP_REGIONS regions", test_bounded);
    CU_add_test(s, "an entry keeps EPT12's rights less the mask", test_rights_kept);
    CU_add_test(s, "violations: L1's, the inspector's, EPT02's", test_routing);
    CU_add_test(s, "a mask dropped; regions a change touches", test_drop_and_regions);
}
