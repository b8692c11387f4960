/*
 * nested-vmx/entry_checks.c - VM-entry checks in the SDM's order (Vol. 3C
 * 26.2 controls and host state, then 26.3.1 guest state), and the checks on
 * one VM-entry MSR-load list entry (26.4). The groups are in checks_ctl.c,
 * checks_host.c and checks_guest.c.
 */
#include "checks_priv.h"

nvmx_entry_check_t nvmx_check_entry(const vmcs12_t *v, const nvmx_env_t *env,
                                    const nvmx_entry_ctx_t *ctx)
{
    /* SDM 26.2.1: controls; 26.2.2-26.2.4: host state; 26.3.1: guest state. */
    nvmx_entry_check_t r = nvmx_check_controls(v, env);
    if (r.kind == NVMX_ENTRY_OK)
        r = nvmx_check_host(v, env, ctx);
    if (r.kind == NVMX_ENTRY_OK)
        r = nvmx_check_guest(v, env, ctx);
    return r;
}

nvmx_entry_check_t nvmx_check_entry_known(const vmcs12_t *v, const nvmx_env_t *env,
                                          const nvmx_entry_ctx_t *ctx, bool ctl_host_passed,
                                          nvmx_guest_memo_t *memo)
{
    /* The same order as nvmx_check_entry (SDM 26.2.1, 26.2.2-26.2.4, 26.3.1). */
    nvmx_entry_check_t r = chk_ok();
    if (!ctl_host_passed) {
        r = nvmx_check_controls(v, env);
        if (r.kind == NVMX_ENTRY_OK)
            r = nvmx_check_host(v, env, ctx);
    }
    if (r.kind == NVMX_ENTRY_OK)
        return nvmx_check_guest_known(v, env, ctx, memo);
    memo->valid = false;
    return r;
}

nvmx_entry_check_t nvmx_entry_msr_fail(uint32_t n, const char *rule)
{
    /* SDM 26.4, 26.8: basic exit reason 34 with bit 31; the qualification is
     * the 1-based index of the entry that failed. */
    return chk_exit(NESTOR_EXIT_MSR_LOADING, n, rule);
}

/* MSRs whose value must be a canonical address, else WRMSR raises #GP
 * (SDM Vol. 4 Table 2-2; Vol. 2B WRMSR). */
bool nvmx_msr_needs_canonical(uint32_t msr)
{
    switch (msr) {
    case MSR_IA32_KERNEL_GS_BASE:
    case MSR_IA32_LSTAR: case MSR_IA32_CSTAR:
    case MSR_IA32_SYSENTER_ESP: case MSR_IA32_SYSENTER_EIP:
        return true;
    default:
        return false;
    }
}

nvmx_entry_check_t nvmx_check_msr_load_entry(uint32_t n, uint64_t index_word, uint64_t data)
{
    uint32_t msr = (uint32_t)index_word;

    /* 26.4 (and 27.6 for the VM-exit MSR-load list): bits 31:0 C0000100H
     * (IA32_FS_BASE) or C0000101H (IA32_GS_BASE): the bases come from the
     * guest-state (host-state) area, never from a list. */
    if (msr == MSR_IA32_FS_BASE || msr == MSR_IA32_GS_BASE)
        return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for IA32_FS_BASE or IA32_GS_BASE");
    /* 26.4: bits 31:8 of the index 000008H: an x2APIC register (800H-8FFH). */
    if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
        return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for an x2APIC MSR");
    /* 26.4: an MSR writable only in SMM (IA32_SMM_MONITOR_CTL; IA32_SMBASE,
     * accessible only in SMM) while the entry does not start in SMM. */
    if (msr == MSR_IA32_SMM_MONITOR_CTL || msr == MSR_IA32_SMBASE)
        return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for an SMM-only MSR");
    /* 26.4: MSRs that may not be loaded on VM entry for model-specific
     * reasons (SDM Vol. 4 2.1: the microcode-update MSRs). */
    if (msr == MSR_IA32_BIOS_UPDT_TRIG || msr == MSR_IA32_BIOS_SIGN_ID)
        return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for a microcode-update MSR");
    /* 26.4: bits 63:32 of the entry's first quadword not all 0. */
    if (index_word & VMX_MSR_ENTRY_RESERVED)
        return nvmx_entry_msr_fail(n, "26.4: MSR-load entry reserved bits 63:32 set");
    /* 26.4: a WRMSR of the data at CPL 0 would #GP: non-canonical bases and
     * entry points (the caller's WRMSR emulation covers the rest). */
    if (nvmx_msr_needs_canonical(msr) && !x86_canonical(data))
        return nvmx_entry_msr_fail(n, "26.4: MSR-load entry with a non-canonical address");
    return chk_ok();
}
