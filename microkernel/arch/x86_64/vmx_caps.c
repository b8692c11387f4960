/*
 * arch/x86_64/vmx_caps.c - decode the VMX capability MSRs (SDM Vol. 3D
 * Appendix A). Pure logic, unit tested on the host.
 */
#include "arch/x86_64/vmx_caps.h"
#include "arch/x86_64/msr.h"

bool vmx_caps_has_procbased2(uint64_t procbased)
{
    /* SDM A.3.3: IA32_VMX_PROCBASED_CTLS2 exists only if bit 63 of
     * IA32_VMX_PROCBASED_CTLS (allowed-1 of "activate secondary") is 1. */
    return vmx_ctl_allowed1(procbased, PROC_ACTIVATE_SECONDARY);
}

bool vmx_caps_has_ept_vpid(uint64_t procbased2)
{
    /* SDM A.10: IA32_VMX_EPT_VPID_CAP exists only if "enable EPT" or
     * "enable VPID" may be 1. */
    return vmx_ctl_allowed1(procbased2, PROC2_ENABLE_EPT) ||
           vmx_ctl_allowed1(procbased2, PROC2_ENABLE_VPID);
}

static void decode_secondary(const vmx_caps_raw_t *raw, vmx_caps_t *c)
{
    uint64_t p2 = raw->procbased2;
    c->secondary_ctls = true;
    c->ept = vmx_ctl_allowed1(p2, PROC2_ENABLE_EPT);
    c->vpid = vmx_ctl_allowed1(p2, PROC2_ENABLE_VPID);
    /* SDM 26.2.1.1: unrestricted guest requires enable EPT. */
    c->unrestricted_guest = c->ept && vmx_ctl_allowed1(p2, PROC2_UNRESTRICTED_GUEST);
    c->vmcs_shadowing = vmx_ctl_allowed1(p2, PROC2_VMCS_SHADOWING);
    /* SDM 26.2.1.1: enable PML requires enable EPT. */
    c->pml = c->ept && vmx_ctl_allowed1(p2, PROC2_ENABLE_PML);
    c->vmfunc = vmx_ctl_allowed1(p2, PROC2_ENABLE_VMFUNC);
}

static void decode_ept_vpid(uint64_t cap, vmx_caps_t *c)
{
    if (c->ept) {
        c->ept_walk4 = cap & EPT_CAP_PAGE_WALK_4;
        c->ept_wb = cap & EPT_CAP_MEMTYPE_WB;
        c->ept_2m = cap & EPT_CAP_2MB_PAGES;
        c->ept_1g = cap & EPT_CAP_1GB_PAGES;
        c->ept_ad = cap & EPT_CAP_ACCESSED_DIRTY;
        c->ept_exec_only = cap & EPT_CAP_EXECUTE_ONLY;
        c->invept = cap & EPT_CAP_INVEPT;
    }
    if (c->vpid)
        c->invvpid = cap & VPID_CAP_INVVPID;
}

void vmx_caps_decode(const vmx_caps_raw_t *raw, vmx_caps_t *c)
{
    *c = (vmx_caps_t){ 0 };
    if (!raw->vmx_cpuid)
        return;
    c->present = true;
    c->feature_control_locked = raw->feature_control & FEATURE_CONTROL_LOCK;
    c->vmx_outside_smx = raw->feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX;
    c->revision = (uint32_t)(raw->basic & VMX_BASIC_REVISION_MASK);
    c->vmcs_size = (uint32_t)((raw->basic >> VMX_BASIC_REGION_SIZE_SHIFT) &
                              VMX_BASIC_REGION_SIZE_MASK);
    c->true_ctls = raw->basic & VMX_BASIC_TRUE_CTLS;
    c->preemption_timer = vmx_ctl_allowed1(raw->pinbased, PIN_PREEMPTION_TIMER);
    c->posted_interrupts = vmx_ctl_allowed1(raw->pinbased, PIN_POSTED_INTERRUPTS);
    c->virtual_nmis = vmx_ctl_allowed1(raw->pinbased, PIN_VIRTUAL_NMIS);
    c->mtf = vmx_ctl_allowed1(raw->procbased, PROC_MONITOR_TRAP_FLAG);
    c->vmwrite_any_field = raw->misc & VMX_MISC_VMWRITE_ANY_FIELD;
    c->preemption_timer_rate = (unsigned)(raw->misc & VMX_MISC_PREEMPT_RATE_MASK);
    if (raw->procbased2_valid && vmx_caps_has_procbased2(raw->procbased))
        decode_secondary(raw, c);
    if (raw->ept_vpid_valid && c->secondary_ctls)
        decode_ept_vpid(raw->ept_vpid, c);
}
