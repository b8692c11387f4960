/*
 * nested-vmx/caps.c - the VMX capability MSRs nested-vmx shows L1
 * (nvmx_caps.h, SDM Vol. 3D Appendix A), IA32_FEATURE_CONTROL, and the CR4
 * rule of VMX operation.
 */
#include "nvmx.h"
#include "nvmx_caps.h"

/* A control MSR: allowed-0 settings (the bits that must be 1) in bits 31:0,
 * allowed-1 settings in bits 63:32 (SDM A.3-A.5). */
static uint64_t ctls(uint32_t must_be_1, uint32_t allowed1)
{
    return (uint64_t)allowed1 << VMX_CTLS_ALLOWED1_SHIFT | must_be_1;
}

bool nvmx_cap_msr(uint32_t msr, uint64_t *value)
{
    uint64_t v;
    switch (msr) {
    case MSR_IA32_VMX_BASIC:                 /* SDM A.1 */
        v = NVMX_BASIC;
        break;
    /* SDM A.3.1, A.3.2, A.4.1, A.5.1: the non-TRUE MSRs report every
     * default1 control as must-be-1. */
    case MSR_IA32_VMX_PINBASED_CTLS:
        v = ctls(VMX_PIN_DEFAULT1, NVMX_PIN_ALLOWED1);
        break;
    case MSR_IA32_VMX_PROCBASED_CTLS:
        v = ctls(VMX_PROC_DEFAULT1, NVMX_PROC_ALLOWED1);
        break;
    case MSR_IA32_VMX_EXIT_CTLS:
        v = ctls(VMX_EXIT_DEFAULT1, NVMX_EXIT_ALLOWED1);
        break;
    case MSR_IA32_VMX_ENTRY_CTLS:
        v = ctls(VMX_ENTRY_DEFAULT1, NVMX_ENTRY_ALLOWED1);
        break;
    case MSR_IA32_VMX_MISC:                  /* SDM A.6: bits 27:25 N, 512 * (N + 1) MSRs */
        v = NVMX_MISC |
            (uint64_t)(NVMX_MSR_LIST_MAX / VMX_MISC_MSR_LIST_UNIT - 1) << VMX_MISC_MSR_LIST_SHIFT;
        break;
    case MSR_IA32_VMX_CR0_FIXED0:            /* SDM A.7 */
        v = NVMX_CR0_FIXED0;
        break;
    case MSR_IA32_VMX_CR0_FIXED1:
        v = NVMX_CR0_FIXED1;
        break;
    case MSR_IA32_VMX_CR4_FIXED0:            /* SDM A.8 */
        v = NVMX_CR4_FIXED0;
        break;
    case MSR_IA32_VMX_CR4_FIXED1:
        v = NVMX_CR4_FIXED1;
        break;
    case MSR_IA32_VMX_VMCS_ENUM:             /* SDM A.9: highest index in bits 9:1 */
        v = (uint64_t)vmcs12_max_index() << 1;
        break;
    case MSR_IA32_VMX_PROCBASED_CTLS2:       /* SDM A.3.3: every control may be 0 */
        v = ctls(0, NVMX_PROC2_ALLOWED1);
        break;
    case MSR_IA32_VMX_EPT_VPID_CAP:          /* SDM A.10 */
        v = NVMX_EPT_VPID_CAP;
        break;
    /* SDM A.3.1, A.3.2, A.4.2, A.5.2: the TRUE MSRs report the controls
     * that really must be 1 (the TRUE default1). */
    case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
        v = ctls(VMX_PIN_DEFAULT1, NVMX_PIN_ALLOWED1);
        break;
    case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
        v = ctls(NVMX_PROC_TRUE_DEFAULT1, NVMX_PROC_ALLOWED1);
        break;
    case MSR_IA32_VMX_TRUE_EXIT_CTLS:
        v = ctls(NVMX_EXIT_TRUE_DEFAULT1, NVMX_EXIT_ALLOWED1);
        break;
    case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
        v = ctls(NVMX_ENTRY_TRUE_DEFAULT1, NVMX_ENTRY_ALLOWED1);
        break;
    default:
        /* IA32_VMX_VMFUNC exists only with "enable VM functions" allowed
         * (SDM A.11), which it is not. */
        return false;
    }
    *value = v;
    return true;
}

static bool is_vmx_msr(uint32_t msr)
{
    return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST;
}

int nvmx_rdmsr(uint32_t msr, uint64_t *value)
{
    if (msr == MSR_IA32_FEATURE_CONTROL) {   /* SDM 23.7 */
        *value = NVMX_FEATURE_CONTROL;
        return 1;
    }
    if (is_vmx_msr(msr))                     /* SDM A.1-A.11 */
        return nvmx_cap_msr(msr, value) ? 1 : -1;
    return 0;
}

int nvmx_wrmsr(uint32_t msr, uint64_t value)
{
    (void)value;
    /* SDM 23.7: WRMSR to IA32_FEATURE_CONTROL once locked is #GP(0); the
     * VMX capability MSRs are read-only (SDM Appendix A: WRMSR #GP). */
    if (msr == MSR_IA32_FEATURE_CONTROL || is_vmx_msr(msr))
        return -1;
    return 0;
}

bool nvmx_cr4_write_ok(const nvmx_vcpu_t *v, uint64_t value)
{
    /* SDM 23.8: in VMX operation, a MOV to CR4 that would clear a bit fixed
     * to 1 (CR4.VMXE) or set a bit fixed to 0 is #GP(0). Outside VMX
     * operation these constraints do not apply. */
    if (!v->vmxon)
        return true;
    return (value & NVMX_CR4_FIXED0) == NVMX_CR4_FIXED0 && (value & ~NVMX_CR4_FIXED1) == 0;
}
