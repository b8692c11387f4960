/*
 * nested-vmx/checks_host.c - VM-entry checks on the host-state area (SDM
 * Vol. 3C 26.2.2 - 26.2.4). Any failure is VMfailValid with
 * VMXERR_ENTRY_INVALID_HOST_STATE.
 */
#include "checks_priv.h"

/* SDM 26.2.2: host control registers and MSRs. */
static nvmx_entry_check_t check_host_regs(const vmcs12_t *v, const nvmx_env_t *env)
{
    uint64_t exit = F(EXIT_CONTROLS);
    bool host64 = (exit & EXIT_HOST_ADDR_SPACE_SIZE) != 0;

    /* 26.2.2: CR0 and CR4 honour the bits fixed in VMX operation (23.8). */
    if (!fixed_ok(F(HOST_CR0), NVMX_CR0_FIXED0, NVMX_CR0_FIXED1))
        FAIL_HOST("26.2.2: host CR0 violates IA32_VMX_CR0_FIXED0/1");
    if (!fixed_ok(F(HOST_CR4), NVMX_CR4_FIXED0, NVMX_CR4_FIXED1))
        FAIL_HOST("26.2.2: host CR4 violates IA32_VMX_CR4_FIXED0/1");
    /* 26.2.2: CR3 bits beyond the physical-address width are 0. */
    if (!pa_ok(env, F(HOST_CR3)))
        FAIL_HOST("26.2.2: host CR3 beyond the physical-address width");
    /* 26.2.2: IA32_SYSENTER_ESP and IA32_SYSENTER_EIP canonical. */
    if (!x86_canonical(F(HOST_SYSENTER_ESP)))
        FAIL_HOST("26.2.2: host IA32_SYSENTER_ESP not canonical");
    if (!x86_canonical(F(HOST_SYSENTER_EIP)))
        FAIL_HOST("26.2.2: host IA32_SYSENTER_EIP not canonical");
    /* 26.2.2: "load IA32_PAT": every entry a valid memory type. */
    if ((exit & EXIT_LOAD_PAT) && !pat_ok(F(HOST_PAT)))
        FAIL_HOST("26.2.2: host IA32_PAT has an invalid memory type");
    /* 26.2.2: "load IA32_EFER": reserved bits 0, LMA and LME equal to "host
     * address-space size". */
    if (exit & EXIT_LOAD_EFER) {
        uint64_t efer = F(HOST_EFER);
        if (efer & X86_EFER_RESERVED)
            FAIL_HOST("26.2.2: host IA32_EFER reserved bits set");
        if (!!(efer & X86_EFER_LMA) != host64)
            FAIL_HOST("26.2.2: host IA32_EFER.LMA differs from host address-space size");
        if (!!(efer & X86_EFER_LME) != host64)
            FAIL_HOST("26.2.2: host IA32_EFER.LME differs from host address-space size");
    }
    return chk_ok();
}

/* SDM 26.2.3: host segment and descriptor-table registers. */
static nvmx_entry_check_t check_host_segs(const vmcs12_t *v)
{
    static const unsigned sel[] = { V12_HOST_ES_SEL, V12_HOST_CS_SEL, V12_HOST_SS_SEL,
                                    V12_HOST_DS_SEL, V12_HOST_FS_SEL, V12_HOST_GS_SEL,
                                    V12_HOST_TR_SEL };
    bool host64 = (F(EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE_SIZE) != 0;

    /* 26.2.3: RPL and TI of every selector 0. */
    for (unsigned i = 0; i < sizeof sel / sizeof sel[0]; i++)
        if (v->field[sel[i]] & (X86_SEL_RPL_MASK | X86_SEL_TI))
            FAIL_HOST("26.2.3: host selector with RPL or TI set");
    /* 26.2.3: CS and TR not null; SS not null unless the host is 64-bit. */
    if ((F(HOST_CS_SEL) & 0xFFFF) == 0)
        FAIL_HOST("26.2.3: host CS selector null");
    if ((F(HOST_TR_SEL) & 0xFFFF) == 0)
        FAIL_HOST("26.2.3: host TR selector null");
    if (!host64 && (F(HOST_SS_SEL) & 0xFFFF) == 0)
        FAIL_HOST("26.2.3: host SS selector null with host address-space size 0");
    /* 26.2.3: FS, GS, GDTR, IDTR and TR bases canonical. */
    if (!x86_canonical(F(HOST_FS_BASE)) || !x86_canonical(F(HOST_GS_BASE)))
        FAIL_HOST("26.2.3: host FS or GS base not canonical");
    if (!x86_canonical(F(HOST_GDTR_BASE)) || !x86_canonical(F(HOST_IDTR_BASE)))
        FAIL_HOST("26.2.3: host GDTR or IDTR base not canonical");
    if (!x86_canonical(F(HOST_TR_BASE)))
        FAIL_HOST("26.2.3: host TR base not canonical");
    return chk_ok();
}

/* SDM 26.2.4: address-space size. */
static nvmx_entry_check_t check_host_size(const vmcs12_t *v, const nvmx_entry_ctx_t *ctx)
{
    bool host64 = (F(EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE_SIZE) != 0;
    bool guest64 = (F(ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) != 0;

    /* 26.2.4: outside IA-32e mode, "IA-32e mode guest" and "host address-
     * space size" are 0; inside it, "host address-space size" is 1. */
    if (!ctx->l1_ia32e && guest64)
        FAIL_HOST("26.2.4: IA-32e mode guest while the processor is outside IA-32e mode");
    if (!ctx->l1_ia32e && host64)
        FAIL_HOST("26.2.4: host address-space size 1 while the processor is outside IA-32e mode");
    if (ctx->l1_ia32e && !host64)
        FAIL_HOST("26.2.4: host address-space size 0 while the processor is in IA-32e mode");
    if (!host64) {
        /* 26.2.4: a 32-bit host: no IA-32e mode guest, CR4.PCIDE 0, RIP 63:32 0. */
        if (guest64)
            FAIL_HOST("26.2.4: IA-32e mode guest with host address-space size 0");
        if (F(HOST_CR4) & X86_CR4_PCIDE)
            FAIL_HOST("26.2.4: host CR4.PCIDE with host address-space size 0");
        if (F(HOST_RIP) >> 32)
            FAIL_HOST("26.2.4: host RIP bits 63:32 set with host address-space size 0");
    } else {
        /* 26.2.4: a 64-bit host: CR4.PAE 1, RIP canonical. */
        if (!(F(HOST_CR4) & X86_CR4_PAE))
            FAIL_HOST("26.2.4: host CR4.PAE clear with host address-space size 1");
        if (!x86_canonical(F(HOST_RIP)))
            FAIL_HOST("26.2.4: host RIP not canonical");
    }
    return chk_ok();
}

nvmx_entry_check_t nvmx_check_host(const vmcs12_t *v, const nvmx_env_t *env,
                                   const nvmx_entry_ctx_t *ctx)
{
    nvmx_entry_check_t r = check_host_regs(v, env);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_host_segs(v);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_host_size(v, ctx);
    return r;
}
