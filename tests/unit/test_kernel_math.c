/* tests/unit/test_kernel_math.c - untyped placement, boot memory split, message info. */
#include "unit.h"
#include "arch/x86_64/apic_grid.h"
#include "kernel/boot_mem.h"
#include "kernel/untyped_math.h"
#include <nestor/msginfo.h>

static void test_untyped_fit(void)
{
    uint64_t off, used, avail;
    CU_ASSERT_TRUE(untyped_fit(16, 0, 12, 4, &off, &used, &avail));
    CU_ASSERT_EQUAL(off, 0);
    CU_ASSERT_EQUAL(used, 4 * 4096);
    /* Alignment: a 4 KiB object after 32 bytes used starts at 4 KiB. */
    CU_ASSERT_TRUE(untyped_fit(16, 32, 12, 1, &off, &used, &avail));
    CU_ASSERT_EQUAL(off, 4096);
    CU_ASSERT_EQUAL(used, 8192);
    /* Full: exactly fits, then nothing. */
    CU_ASSERT_TRUE(untyped_fit(13, 0, 12, 2, &off, &used, &avail));
    CU_ASSERT_FALSE(untyped_fit(13, 8192, 12, 1, &off, &used, &avail));
    CU_ASSERT_EQUAL(avail, 0);
    CU_ASSERT_FALSE(untyped_fit(13, 0, 12, 3, &off, &used, &avail));
    CU_ASSERT_EQUAL(avail, 8192);
    /* Object bigger than the untyped; count 0; used beyond size. */
    CU_ASSERT_FALSE(untyped_fit(12, 0, 13, 1, &off, &used, &avail));
    CU_ASSERT_FALSE(untyped_fit(12, 0, 4, 0, &off, &used, &avail));
    CU_ASSERT_FALSE(untyped_fit(12, 8192, 4, 1, &off, &used, &avail));
    /* Huge counts must not overflow into a "fit". */
    CU_ASSERT_FALSE(untyped_fit(20, 0, 12, UINT64_MAX / 2, &off, &used, &avail));
}

static void test_boot_mem_split(void)
{
    mem_block_t b[16];
    /* [1 MiB, 1 MiB + 12 KiB): 8 KiB aligned? 1 MiB is; so 8K + 4K. */
    size_t n = boot_mem_split(0x100000, 0x103000, 12, 47, b, 16);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(b[0].base, 0x100000);
    CU_ASSERT_EQUAL(b[0].size_bits, 13);
    CU_ASSERT_EQUAL(b[1].base, 0x102000);
    CU_ASSERT_EQUAL(b[1].size_bits, 12);
    /* Unaligned edges are trimmed to pages; tiny ranges vanish. */
    CU_ASSERT_EQUAL(boot_mem_split(0x1001, 0x1FFF, 12, 47, b, 16), 0);
    n = boot_mem_split(0x1800, 0x4800, 12, 47, b, 16);   /* -> [0x2000, 0x4000) */
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(b[0].base, 0x2000);
    CU_ASSERT_EQUAL(b[0].size_bits, 13);
    /* Blocks never exceed max_bits and always tile the range exactly. */
    n = boot_mem_split(0, 1ULL << 24, 12, 20, b, 16);
    CU_ASSERT_EQUAL(n, 16);
    for (size_t i = 0; i < 16; i++)
        CU_ASSERT_EQUAL(b[i].size_bits, 20);
    /* More blocks than room: the count says how many were needed. */
    CU_ASSERT_EQUAL(boot_mem_split(0, 1ULL << 24, 12, 20, b, 4), 16);
}

static void test_boot_mem_alignment_property(void)
{
    mem_block_t b[128];
    for (uint64_t start = 0x1000; start < 0x40000; start += 0x3000) {
        uint64_t end = start * 7 + 0x5000;
        size_t n = boot_mem_split(start, end, 12, 47, b, 128);
        uint64_t cur = start, total = 0;
        for (size_t i = 0; i < n && i < 128; i++) {
            CU_ASSERT_EQUAL(b[i].base, cur);
            CU_ASSERT_EQUAL(b[i].base & ((1ULL << b[i].size_bits) - 1), 0);
            cur += 1ULL << b[i].size_bits;
            total += 1ULL << b[i].size_bits;
        }
        CU_ASSERT_EQUAL(total, (end & ~0xFFFULL) - start);
    }
}

static void test_msginfo(void)
{
    nestor_msginfo_t m = nestor_msginfo(0xABCDE, 5, 3, 120);
    CU_ASSERT_EQUAL(nestor_msginfo_label(m), 0xABCDE);
    CU_ASSERT_EQUAL(nestor_msginfo_caps_unwrapped(m), 5);
    CU_ASSERT_EQUAL(nestor_msginfo_extra_caps(m), 3);
    CU_ASSERT_EQUAL(nestor_msginfo_length(m), 120);
    /* Oversized fields are cut to their width, never spill into others. */
    m = nestor_msginfo(0, 0xFF, 0xFF, 0xFFFF);
    CU_ASSERT_EQUAL(nestor_msginfo_label(m), 0);
    CU_ASSERT_EQUAL(nestor_msginfo_caps_unwrapped(m), 7);
    CU_ASSERT_EQUAL(nestor_msginfo_extra_caps(m), 3);
    CU_ASSERT_EQUAL(nestor_msginfo_length(m), 127);
    m = nestor_msginfo(~0ULL, 0, 0, 0);
    CU_ASSERT_EQUAL(nestor_msginfo_label(m), (1ULL << NESTOR_MSGINFO_LABEL_BITS) - 1);
    CU_ASSERT_EQUAL(nestor_msginfo_length(m), 0);
}

/* apic_grid.h: a restarted tick's first count ends on the grid (TSC
 * multiples of a period). */
static void test_lapic_grid_first_count(void)
{
    /* Bochs's calibration: 50,000 TSC and 3,125 timer counts per tick. */
    CU_ASSERT_EQUAL(lapic_grid_first_count(0, 50000, 3125), 3125);
    CU_ASSERT_EQUAL(lapic_grid_first_count(50000 * 7, 50000, 3125), 3125);
    CU_ASSERT_EQUAL(lapic_grid_first_count(50000 * 7 + 25000, 50000, 3125), 1562);
    CU_ASSERT_EQUAL(lapic_grid_first_count(50000 * 7 + 10000, 50000, 3125), 2500);
    /* Just before a grid point: at least one count (0 would stop it). */
    CU_ASSERT_EQUAL(lapic_grid_first_count(49999, 50000, 3125), 1);
    /* The count scaled: a period in TSC and in counts need not match. */
    CU_ASSERT_EQUAL(lapic_grid_first_count(1000, 4000, 100000), 75000);
    /* No calibration, or a period too long for the product: a whole one. */
    CU_ASSERT_EQUAL(lapic_grid_first_count(12345, 0, 3125), 3125);
    CU_ASSERT_EQUAL(lapic_grid_first_count(12345, 1ULL << 32, 3125), 3125);
    /* Large but in range: 3 GHz at 1 Hz, the timer's whole range. */
    CU_ASSERT_EQUAL(lapic_grid_first_count(UINT64_MAX, 3000000000ULL, UINT32_MAX),
                    (uint32_t)((3000000000ULL - UINT64_MAX % 3000000000ULL) *
                               (uint64_t)UINT32_MAX / 3000000000ULL));
    /* Always within [1, a whole period]. */
    for (uint64_t now = 0; now < 200000; now += 997) {
        uint32_t c = lapic_grid_first_count(now, 50000, 3125);
        CU_ASSERT_TRUE(c >= 1 && c <= 3125);
    }
}

UNIT_SUITE(kernel_math_suite)
{
    CU_pSuite s = CU_add_suite("kernel arithmetic and encodings", NULL, NULL);
    CU_add_test(s, "untyped placement and watermark", test_untyped_fit);
    CU_add_test(s, "boot memory split into untypeds", test_boot_mem_split);
    CU_add_test(s, "boot memory blocks tile and align", test_boot_mem_alignment_property);
    CU_add_test(s, "message info encoding", test_msginfo);
    CU_add_test(s, "a restarted tick's first count ends on its grid", test_lapic_grid_first_count);
}
