/* tests/unit/test_vmx_caps.c - decoding of the VMX capability MSRs. */
#include "unit.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/vmx_caps.h"

#define ALLOW1(bits) ((uint64_t)(bits) << VMX_CTLS_ALLOWED1_SHIFT)

static vmx_caps_raw_t full_raw(void)
{
    vmx_caps_raw_t r = {
        .vmx_cpuid = true,
        .feature_control = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX,
        .basic = 0x2b | (4096ULL << VMX_BASIC_REGION_SIZE_SHIFT) | VMX_BASIC_TRUE_CTLS,
        .pinbased = ALLOW1(PIN_EXTINT_EXITING | PIN_PREEMPTION_TIMER | PIN_VIRTUAL_NMIS),
        .procbased = ALLOW1(PROC_HLT_EXITING | PROC_ACTIVATE_SECONDARY),
        .misc = 5 | VMX_MISC_VMWRITE_ANY_FIELD,
        .procbased2_valid = true,
        .procbased2 = ALLOW1(PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST |
                             PROC2_VMCS_SHADOWING | PROC2_ENABLE_PML),
        .ept_vpid_valid = true,
        .ept_vpid = EPT_CAP_PAGE_WALK_4 | EPT_CAP_MEMTYPE_WB | EPT_CAP_2MB_PAGES |
                    EPT_CAP_ACCESSED_DIRTY | EPT_CAP_INVEPT | VPID_CAP_INVVPID,
    };
    return r;
}

static void test_absent(void)
{
    vmx_caps_raw_t r = full_raw();
    vmx_caps_t c;
    r.vmx_cpuid = false;
    vmx_caps_decode(&r, &c);
    CU_ASSERT_FALSE(c.present);
    CU_ASSERT_FALSE(c.ept);
    CU_ASSERT_FALSE(c.vmcs_shadowing);
}

static void test_full(void)
{
    vmx_caps_raw_t r = full_raw();
    vmx_caps_t c;
    vmx_caps_decode(&r, &c);
    CU_ASSERT_TRUE(c.present);
    CU_ASSERT_EQUAL(c.revision, 0x2b);
    CU_ASSERT_EQUAL(c.vmcs_size, 4096);
    CU_ASSERT_TRUE(c.true_ctls);
    CU_ASSERT_TRUE(c.feature_control_locked);
    CU_ASSERT_TRUE(c.vmx_outside_smx);
    CU_ASSERT_TRUE(c.ept);
    CU_ASSERT_TRUE(c.vpid);
    CU_ASSERT_TRUE(c.unrestricted_guest);
    CU_ASSERT_TRUE(c.vmcs_shadowing);
    CU_ASSERT_TRUE(c.pml);
    CU_ASSERT_TRUE(c.ept_ad);
    CU_ASSERT_TRUE(c.ept_2m);
    CU_ASSERT_FALSE(c.ept_1g);
    CU_ASSERT_TRUE(c.invvpid);
    CU_ASSERT_TRUE(c.preemption_timer);
    CU_ASSERT_EQUAL(c.preemption_timer_rate, 5);
    CU_ASSERT_FALSE(c.mtf);
    CU_ASSERT_FALSE(c.posted_interrupts);
    CU_ASSERT_TRUE(c.vmwrite_any_field);
}

/* Allowed-0 bits (low half) must never be read as "may be 1". */
static void test_low_half_ignored(void)
{
    vmx_caps_raw_t r = full_raw();
    vmx_caps_t c;
    r.procbased2 = PROC2_ENABLE_EPT | PROC2_VMCS_SHADOWING;   /* only allowed-0 set */
    vmx_caps_decode(&r, &c);
    CU_ASSERT_FALSE(c.ept);
    CU_ASSERT_FALSE(c.vmcs_shadowing);
}

static void test_no_secondary_controls(void)
{
    vmx_caps_raw_t r = full_raw();
    vmx_caps_t c;
    r.procbased = ALLOW1(PROC_HLT_EXITING);
    CU_ASSERT_FALSE(vmx_caps_has_procbased2(r.procbased));
    vmx_caps_decode(&r, &c);
    CU_ASSERT_TRUE(c.present);
    CU_ASSERT_FALSE(c.secondary_ctls);
    CU_ASSERT_FALSE(c.ept);
    CU_ASSERT_FALSE(c.vpid);
    CU_ASSERT_FALSE(c.ept_ad);
}

/* Unrestricted guest and PML are meaningless without EPT (SDM 26.2.1.1). */
static void test_dependent_on_ept(void)
{
    vmx_caps_raw_t r = full_raw();
    vmx_caps_t c;
    r.procbased2 = ALLOW1(PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_PML | PROC2_ENABLE_VPID);
    vmx_caps_decode(&r, &c);
    CU_ASSERT_FALSE(c.ept);
    CU_ASSERT_FALSE(c.unrestricted_guest);
    CU_ASSERT_FALSE(c.pml);
    CU_ASSERT_TRUE(c.vpid);
    CU_ASSERT_FALSE(c.ept_ad);          /* EPT caps are ignored without EPT */
    CU_ASSERT_TRUE(c.invvpid);
}

static void test_msr_existence_rules(void)
{
    CU_ASSERT_TRUE(vmx_caps_has_procbased2(ALLOW1(PROC_ACTIVATE_SECONDARY)));
    CU_ASSERT_FALSE(vmx_caps_has_procbased2(PROC_ACTIVATE_SECONDARY));
    CU_ASSERT_TRUE(vmx_caps_has_ept_vpid(ALLOW1(PROC2_ENABLE_EPT)));
    CU_ASSERT_TRUE(vmx_caps_has_ept_vpid(ALLOW1(PROC2_ENABLE_VPID)));
    CU_ASSERT_FALSE(vmx_caps_has_ept_vpid(ALLOW1(PROC2_VMCS_SHADOWING)));
}

UNIT_SUITE(vmx_caps_suite)
{
    CU_pSuite s = CU_add_suite("vmx capability decode", NULL, NULL);
    CU_add_test(s, "no VMX in CPUID", test_absent);
    CU_add_test(s, "full Skylake-like capabilities", test_full);
    CU_add_test(s, "allowed-0 half is ignored", test_low_half_ignored);
    CU_add_test(s, "no secondary controls", test_no_secondary_controls);
    CU_add_test(s, "EPT-dependent features", test_dependent_on_ept);
    CU_add_test(s, "which MSRs exist", test_msr_existence_rules);
}
