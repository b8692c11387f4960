/*
 * nested-vmx/checks_ctl.c - VM-entry checks on the VMX controls (SDM Vol. 3C
 * 26.2.1), against what nested-vmx advertises (nvmx_caps.h). Any failure is
 * VMfailValid with VMXERR_ENTRY_INVALID_CONTROLS.
 */
#include "checks_priv.h"

/* A 4-KiB aligned address within L1's physical-address width (SDM 26.2.1.1:
 * I/O and MSR bitmaps). */
static bool page_addr_ok(const nvmx_env_t *env, uint64_t pa)
{
    return (pa & 0xFFF) == 0 && pa_ok(env, pa);
}

/* An MSR area of @count entries at @pa: 16-byte aligned, its first and last
 * byte within the physical-address width (SDM 26.2.1.2, 26.2.1.3). */
static bool msr_area_ok(const nvmx_env_t *env, uint64_t pa, uint64_t count)
{
    if (count == 0)
        return true;
    if ((pa & VMX_MSR_AREA_ALIGN_MASK) != 0 || !pa_ok(env, pa))
        return false;
    return pa_ok(env, pa + count * VMX_MSR_ENTRY_SIZE - 1);
}

/* SDM 26.2.1.1: VM-execution control fields. */
static nvmx_entry_check_t check_exec(const vmcs12_t *v, const nvmx_env_t *env)
{
    uint32_t pin = F32(PIN_CONTROLS), proc = F32(PROC_CONTROLS), proc2 = eff_proc2(v);

    /* 26.2.1.1: reserved pin-based bits per IA32_VMX_TRUE_PINBASED_CTLS
     * (IA32_VMX_BASIC[55] is set; our TRUE MSR keeps the default1 bits). */
    if (!nvmx_ctls_valid(pin, VMX_PIN_DEFAULT1, NVMX_PIN_ALLOWED1))
        FAIL_CTL("26.2.1.1: pin-based controls outside the allowed settings");
    /* 26.2.1.1: primary processor-based bits per IA32_VMX_TRUE_PROCBASED_CTLS
     * (CR3-load/-store exiting may be 0). */
    if (!nvmx_ctls_valid(proc, NVMX_PROC_TRUE_DEFAULT1, NVMX_PROC_ALLOWED1))
        FAIL_CTL("26.2.1.1: primary processor-based controls outside the allowed settings");
    /* 26.2.1.1: secondary controls per IA32_VMX_PROCBASED_CTLS2, only when
     * "activate secondary controls" is 1 (else they count as 0). */
    if (!nvmx_ctls_valid(proc2, 0, NVMX_PROC2_ALLOWED1))
        FAIL_CTL("26.2.1.1: secondary processor-based controls outside the allowed settings");
    /* 26.2.1.1: the CR3-target count may not exceed the number of CR3-target
     * values the processor supports; IA32_VMX_MISC[24:16] reports 0 here (the
     * SDM's fixed bound is 4; nested-vmx implements none). */
    if (F32(CR3_TARGET_COUNT) > ((NVMX_MISC >> VMX_MISC_CR3_TARGETS_SHIFT) & 0x1FF))
        FAIL_CTL("26.2.1.1: CR3-target count above the supported number");
    /* 26.2.1.1: I/O bitmap addresses 4-KiB aligned, within the width. */
    if (proc & PROC_USE_IO_BITMAPS) {
        if (!page_addr_ok(env, F(IO_BITMAP_A)))
            FAIL_CTL("26.2.1.1: I/O bitmap A address unaligned or beyond the physical-address width");
        if (!page_addr_ok(env, F(IO_BITMAP_B)))
            FAIL_CTL("26.2.1.1: I/O bitmap B address unaligned or beyond the physical-address width");
    }
    /* 26.2.1.1: MSR bitmap address 4-KiB aligned, within the width. */
    if ((proc & PROC_USE_MSR_BITMAPS) && !page_addr_ok(env, F(MSR_BITMAP)))
        FAIL_CTL("26.2.1.1: MSR bitmap address unaligned or beyond the physical-address width");
    /* 26.2.1.1: with "VMCS shadowing", the VMREAD- and VMWRITE-bitmap
     * addresses 4-KiB aligned, within the width. */
    if (proc2 & PROC2_VMCS_SHADOWING) {
        if (!page_addr_ok(env, F(VMREAD_BITMAP)))
            FAIL_CTL("26.2.1.1: VMREAD-bitmap address unaligned or beyond the physical-address width");
        if (!page_addr_ok(env, F(VMWRITE_BITMAP)))
            FAIL_CTL("26.2.1.1: VMWRITE-bitmap address unaligned or beyond the physical-address width");
    }
    /* (TPR shadow, APIC virtualization, posted interrupts: not allowed above.) */
    /* 26.2.1.1: "NMI exiting" 0 requires "virtual NMIs" 0. */
    if (!(pin & PIN_NMI_EXITING) && (pin & PIN_VIRTUAL_NMIS))
        FAIL_CTL("26.2.1.1: virtual NMIs without NMI exiting");
    /* 26.2.1.1: "virtual NMIs" 0 requires "NMI-window exiting" 0. */
    if (!(pin & PIN_VIRTUAL_NMIS) && (proc & PROC_NMI_WINDOW_EXITING))
        FAIL_CTL("26.2.1.1: NMI-window exiting without virtual NMIs");
    /* 26.2.1.1: "enable VPID" requires a nonzero VPID. */
    if ((proc2 & PROC2_ENABLE_VPID) && F16(VPID) == 0)
        FAIL_CTL("26.2.1.1: enable VPID with VPID 0");
    /* 26.2.1.1: the EPT pointer (SDM 24.6.11), against IA32_VMX_EPT_VPID_CAP. */
    if (proc2 & PROC2_ENABLE_EPT) {
        uint64_t eptp = F(EPT_POINTER);
        /* memory type: only write-back is advertised (bit 14; no UC, bit 8) */
        if ((eptp & EPTP_MEMTYPE_MASK) != X86_MT_WB)
            FAIL_CTL("26.2.1.1: EPTP memory type not supported (write-back only)");
        /* page-walk length: only 4 is advertised (bit 6) */
        if ((eptp & EPTP_WALK_MASK) != EPTP_WALK_4)
            FAIL_CTL("26.2.1.1: EPTP page-walk length not 4");
        /* accessed/dirty flags: not advertised (bit 21 of the capability) */
        if (eptp & EPTP_ACCESSED_DIRTY)
            FAIL_CTL("26.2.1.1: EPTP enables accessed/dirty flags, not supported");
        /* bits 11:7 reserved, bits 63:N beyond the width */
        if ((eptp & EPTP_RESERVED_LOW) || !pa_ok(env, eptp))
            FAIL_CTL("26.2.1.1: EPTP reserved bits set");
    }
    /* 26.2.1.1: "unrestricted guest" requires "enable EPT". */
    if ((proc2 & PROC2_UNRESTRICTED_GUEST) && !(proc2 & PROC2_ENABLE_EPT))
        FAIL_CTL("26.2.1.1: unrestricted guest without enable EPT");
    /* (PML, VMFUNC, EPT-violation #VE, sub-page permissions:
     * not allowed above.) */
    return chk_ok();
}

/* SDM 26.2.1.2: VM-exit control fields. */
static nvmx_entry_check_t check_exit_ctls(const vmcs12_t *v, const nvmx_env_t *env)
{
    uint32_t exit = F32(EXIT_CONTROLS);

    /* 26.2.1.2: reserved bits per IA32_VMX_TRUE_EXIT_CTLS. */
    if (!nvmx_ctls_valid(exit, NVMX_EXIT_TRUE_DEFAULT1, NVMX_EXIT_ALLOWED1))
        FAIL_CTL("26.2.1.2: VM-exit controls outside the allowed settings");
    /* 26.2.1.2: "save VMX-preemption timer value" requires "activate
     * VMX-preemption timer". */
    if ((exit & EXIT_SAVE_PREEMPT_TIMER) && !(F32(PIN_CONTROLS) & PIN_PREEMPTION_TIMER))
        FAIL_CTL("26.2.1.2: save preemption timer without activate preemption timer");
    /* 26.2.1.2: VM-exit MSR-store area. */
    if (!msr_area_ok(env, F(EXIT_MSR_STORE_ADDR), F32(EXIT_MSR_STORE_COUNT)))
        FAIL_CTL("26.2.1.2: VM-exit MSR-store address unaligned or beyond the physical-address width");
    /* 26.2.1.2: VM-exit MSR-load area. */
    if (!msr_area_ok(env, F(EXIT_MSR_LOAD_ADDR), F32(EXIT_MSR_LOAD_COUNT)))
        FAIL_CTL("26.2.1.2: VM-exit MSR-load address unaligned or beyond the physical-address width");
    return chk_ok();
}

/* Whether hardware exception @vector delivers an error code (SDM Vol. 3A
 * 6.3.1, Table 6-1): #DF #TS #NP #SS #GP #PF #AC. #CP (21) only with CET,
 * which nested-vmx does not offer (CR4.CET is not in NVMX_CR4_FIXED1). */
static bool exception_has_error_code(unsigned vector)
{
    switch (vector) {
    case X86_VEC_DF: case X86_VEC_TS: case X86_VEC_NP: case X86_VEC_SS:
    case X86_VEC_GP: case X86_VEC_PF: case X86_VEC_AC:
        return true;
    default:
        return false;
    }
}

/* SDM 26.2.1.3: VM-entry control fields. */
static nvmx_entry_check_t check_entry_ctls(const vmcs12_t *v, const nvmx_env_t *env)
{
    uint32_t entry = F32(ENTRY_CONTROLS), info = F32(ENTRY_INTR_INFO);

    /* 26.2.1.3: reserved bits per IA32_VMX_TRUE_ENTRY_CTLS. */
    if (!nvmx_ctls_valid(entry, NVMX_ENTRY_TRUE_DEFAULT1, NVMX_ENTRY_ALLOWED1))
        FAIL_CTL("26.2.1.3: VM-entry controls outside the allowed settings");
    /* 26.2.1.3: event injection, when the valid bit is 1. */
    if (info & X86_INTR_VALID) {
        unsigned type = (info & X86_INTR_TYPE_MASK) >> X86_INTR_TYPE_SHIFT;
        unsigned vector = info & X86_INTR_VECTOR_MASK;
        bool has_err = (info & X86_INTR_DELIVER_ERR) != 0;
        /* type 1 is reserved; 7 (other event) needs the monitor trap flag,
         * which is not advertised */
        if (type == VMX_INTR_TYPE_RESERVED || type == VMX_INTR_TYPE_OTHER)
            FAIL_CTL("26.2.1.3: injected event of a reserved or unsupported type");
        /* NMI: vector 2; hardware exception: vector 0..31 */
        if (type == (X86_INTR_TYPE_NMI >> X86_INTR_TYPE_SHIFT) && vector != X86_VEC_NMI)
            FAIL_CTL("26.2.1.3: injected NMI with a vector other than 2");
        if (type == (X86_INTR_TYPE_HW_EXC >> X86_INTR_TYPE_SHIFT) && vector > 31)
            FAIL_CTL("26.2.1.3: injected hardware exception with a vector above 31");
        /* deliver-error-code must be 1 exactly for a hardware exception that
         * delivers one, in protected mode ("unrestricted guest" 0 or
         * CR0.PE 1) */
        bool pm = !(eff_proc2(v) & PROC2_UNRESTRICTED_GUEST) || (F(GUEST_CR0) & X86_CR0_PE);
        bool want_err = pm && type == (X86_INTR_TYPE_HW_EXC >> X86_INTR_TYPE_SHIFT) &&
                        exception_has_error_code(vector);
        if (has_err && !want_err)
            FAIL_CTL("26.2.1.3: deliver-error-code set for an event without an error code");
        if (!has_err && want_err)
            FAIL_CTL("26.2.1.3: deliver-error-code clear for an exception with an error code");
        /* bits 30:12 reserved */
        if (info & VMX_ENTRY_INTR_RESERVED)
            FAIL_CTL("26.2.1.3: reserved bits of the VM-entry interruption information set");
        /* the error code: bits 31:16 0 */
        if (has_err && (F32(ENTRY_EXCEPTION_ERROR) & VMX_ENTRY_ERRCODE_RESERVED))
            FAIL_CTL("26.2.1.3: VM-entry exception error code bits 31:16 set");
        /* software interrupt, privileged software exception, software
         * exception: instruction length 1..15 (IA32_VMX_MISC[30], length 0,
         * is not advertised) */
        if (type == (X86_INTR_TYPE_SW_INT >> X86_INTR_TYPE_SHIFT) ||
            type == (X86_INTR_TYPE_PRIV_SW_EXC >> X86_INTR_TYPE_SHIFT) ||
            type == (X86_INTR_TYPE_SW_EXC >> X86_INTR_TYPE_SHIFT)) {
            uint32_t len = F32(ENTRY_INSTR_LEN);
            if (len == 0 || len > VMX_INSTR_LEN_MAX)
                FAIL_CTL("26.2.1.3: software event with an instruction length outside 1..15");
        }
    }
    /* 26.2.1.3: VM-entry MSR-load area. */
    if (!msr_area_ok(env, F(ENTRY_MSR_LOAD_ADDR), F32(ENTRY_MSR_LOAD_COUNT)))
        FAIL_CTL("26.2.1.3: VM-entry MSR-load address unaligned or beyond the physical-address width");
    /* 26.2.1.3: outside SMM (L1 never is in SMM), "entry to SMM" and
     * "deactivate dual-monitor treatment" must be 0 (already refused as
     * not allowed; kept for the rule's sake). */
    if (entry & ENTRY_TO_SMM)
        FAIL_CTL("26.2.1.3: entry to SMM outside SMM");
    if (entry & ENTRY_DEACT_DUAL_MONITOR)
        FAIL_CTL("26.2.1.3: deactivate dual-monitor treatment outside SMM");
    return chk_ok();
}

nvmx_entry_check_t nvmx_check_controls(const vmcs12_t *v, const nvmx_env_t *env)
{
    nvmx_entry_check_t r = check_exec(v, env);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_exit_ctls(v, env);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_entry_ctls(v, env);
    return r;
}
