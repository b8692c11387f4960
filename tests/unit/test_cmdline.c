/* tests/unit/test_cmdline.c - kernel command line options. */
#include "unit.h"
#include "kernel/cmdline.h"

static void test_values(void)
{
    char v[16];
    CU_ASSERT_TRUE(cmdline_get("a=1 fault=gp b", "fault", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "gp");
    CU_ASSERT_TRUE(cmdline_get("  fault=pf\t", "fault", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "pf");
    CU_ASSERT_TRUE(cmdline_get("verbose x=2", "verbose", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "");
}

static void test_absent_and_prefixes(void)
{
    char v[16];
    CU_ASSERT_FALSE(cmdline_get("faults=gp", "fault", v, sizeof(v)));
    CU_ASSERT_FALSE(cmdline_get("xfault=gp", "fault", v, sizeof(v)));
    CU_ASSERT_FALSE(cmdline_get("", "fault", v, sizeof(v)));
    CU_ASSERT_FALSE(cmdline_get(NULL, "fault", v, sizeof(v)));
    CU_ASSERT_FALSE(cmdline_get("fault=gp", "", v, sizeof(v)));
}

static void test_last_wins_and_overflow(void)
{
    char v[4];
    CU_ASSERT_TRUE(cmdline_get("fault=gp fault=pf", "fault", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "pf");
    CU_ASSERT_FALSE(cmdline_get("fault=toolong", "fault", v, sizeof(v)));
    CU_ASSERT_TRUE(cmdline_get("fault=abc", "fault", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "abc");
}

UNIT_SUITE(cmdline_suite)
{
    CU_pSuite s = CU_add_suite("kernel command line", NULL, NULL);
    CU_add_test(s, "values", test_values);
    CU_add_test(s, "absent keys and prefixes", test_absent_and_prefixes);
    CU_add_test(s, "last occurrence wins, overflow refused", test_last_wins_and_overflow);
}
