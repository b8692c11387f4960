/*
 * nested-vmx/msr_lists.c - MSR-load and MSR-store lists (msr_lists.h; SDM
 * Vol. 3C 24.7.2 and 24.8.2 for their layout, 26.4, 27.4, 27.6 for what
 * entries and exits do with them).
 */
#include "msr_lists.h"
#include "checks_priv.h"
#include "cpu_policy.h"
#include <x86_arch.h>

#define LOW32 0xFFFFFFFFULL

nestor_word_t *nvmx_state_msr(nestor_vcpu_state_t *s, uint32_t msr)
{
    switch (msr) {
    case MSR_IA32_STAR: return &s->star;
    case MSR_IA32_LSTAR: return &s->lstar;
    case MSR_IA32_CSTAR: return &s->cstar;
    case MSR_IA32_FMASK: return &s->fmask;
    case MSR_IA32_KERNEL_GS_BASE: return &s->kernel_gs_base;
    case MSR_IA32_TSC_AUX: return &s->tsc_aux;
    case MSR_IA32_SYSENTER_CS: return &s->sysenter_cs;
    case MSR_IA32_SYSENTER_ESP: return &s->sysenter_esp;
    case MSR_IA32_SYSENTER_EIP: return &s->sysenter_eip;
    case MSR_IA32_PAT: return &s->pat;
    case MSR_IA32_DEBUGCTL: return &s->debugctl;
    default: return NULL;
    }
}

/* Entry @i of the list at @addr: its index word and data (24.7.2, Table
 * 24-12). NULL if it is not in RAM. */
static uint64_t *entry(const nvmx_env_t *env, uint64_t addr, uint64_t i)
{
    return env->phys(env->ctx, addr + i * VMX_MSR_ENTRY_SIZE, VMX_MSR_ENTRY_SIZE);
}

/* The whole list of @count entries at @addr, if all of it is in RAM (one
 * look-up, not one per entry); NULL otherwise: entry() then finds the
 * first entry outside. */
static uint64_t *whole_list(const nvmx_env_t *env, uint64_t addr, uint64_t count)
{
    return count ? env->phys(env->ctx, addr, count * VMX_MSR_ENTRY_SIZE) : NULL;
}

/* A WRMSR at CPL 0 of @v to state-page MSR @msr would #GP (SDM Vol. 4
 * Table 2-2, Vol. 2B WRMSR; the canonical ones are nvmx_check_msr_load_
 * entry's). */
static bool state_msr_gp(uint32_t msr, uint64_t v)
{
    return (msr == MSR_IA32_PAT && !pat_ok(v)) ||
           (msr == MSR_IA32_DEBUGCTL && (v & X86_DEBUGCTL_RESERVED)) ||
           (msr == MSR_IA32_TSC_AUX && (v >> 32));
}

/* How a remembered entry's data goes in (nvmx_msr_memo_t.how). */
enum {
    MEMO_NONE,
    MEMO_PLAIN,         /* any value: stored as it is */
    MEMO_CANONICAL,     /* a canonical address (nvmx_msr_needs_canonical) */
    MEMO_LOW32,         /* IA32_SYSENTER_CS: bits 31:0 */
    MEMO_GP_RULE,       /* state_msr_gp's rule (PAT, DEBUGCTL, TSC_AUX) */
};

/* The memo's resolution of a state-page MSR @msr at @field of @s. */
static uint8_t memo_how(uint32_t msr)
{
    if (msr == MSR_IA32_SYSENTER_CS)
        return MEMO_LOW32;
    if (nvmx_msr_needs_canonical(msr))
        return MEMO_CANONICAL;
    if (msr == MSR_IA32_PAT || msr == MSR_IA32_DEBUGCTL || msr == MSR_IA32_TSC_AUX)
        return MEMO_GP_RULE;
    return MEMO_PLAIN;
}

static void memo_note(nvmx_msr_memo_t *memo, uint64_t i, uint64_t index_word,
                      const nestor_vcpu_state_t *s, const nestor_word_t *field)
{
    if (!memo || i >= NVMX_MSR_MEMO_ENTRIES)
        return;
    memo->index_word[i] = index_word;
    memo->offset[i] = (uint16_t)((const char *)field - (const char *)s);
    memo->how[i] = memo_how((uint32_t)index_word);
}

/* Entry @i's remembered field in @s, if its index word @index_word is the
 * one remembered; NULL otherwise. */
static nestor_word_t *memo_field(const nvmx_msr_memo_t *memo, uint64_t i, uint64_t index_word,
                                 nestor_vcpu_state_t *s, uint8_t *how)
{
    if (!memo || i >= NVMX_MSR_MEMO_ENTRIES || !memo->how[i] ||
        memo->index_word[i] != index_word)
        return NULL;
    *how = memo->how[i];
    return (nestor_word_t *)((char *)s + memo->offset[i]);
}

nvmx_entry_check_t nvmx_msr_list_load(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                                      uint64_t addr, uint64_t count, nestor_vcpu_state_t *s)
{
    return nvmx_msr_list_load_memo(env, platform, addr, count, s, NULL);
}

nvmx_entry_check_t nvmx_msr_list_load_memo(const nvmx_env_t *env,
                                           const nvmx_platform_msrs_t *platform, uint64_t addr,
                                           uint64_t count, nestor_vcpu_state_t *s,
                                           nvmx_msr_memo_t *memo)
{
    uint64_t *all = whole_list(env, addr, count);
    for (uint64_t i = 0; i < count; i++) {
        const uint32_t n = (uint32_t)(i + 1);
        uint64_t *e = all ? all + 2 * i : entry(env, addr, i);
        if (!e)
            return nvmx_entry_msr_fail(n, "26.4: MSR-load entry outside L1's RAM");
        /* 26.4: the entries are loaded in order, as WRMSR would. */
        const uint64_t index_word = e[0], data = e[1];
        uint8_t how;
        nestor_word_t *field = memo_field(memo, i, index_word, s, &how);
        if (field) {
            /* memo_how's checks are the fast path's below, per kind */
            if (how == MEMO_PLAIN || (how == MEMO_CANONICAL && x86_canonical(data))) {
                *field = data;
                continue;
            }
            if (how == MEMO_LOW32) {
                *field = data & LOW32;
                continue;
            }
            if (how == MEMO_GP_RULE && !state_msr_gp((uint32_t)index_word, data)) {
                *field = data;
                continue;
            }
        }
        const uint32_t msr = (uint32_t)index_word;
        field = nvmx_state_msr(s, msr);
        /* A state-page MSR is none that 26.4 refuses by its index (FS/GS
         * base, x2APIC, SMM, microcode update): with bits 63:32 clear and
         * a value WRMSR takes, it loads without the whole check (this is
         * on every entry and exit of a Nestor as L1, whose lists hold the
         * SYSCALL MSRs). Anything else goes through all of them. */
        if (field && !(index_word & VMX_MSR_ENTRY_RESERVED) &&
            (x86_canonical(data) || !nvmx_msr_needs_canonical(msr)) && !state_msr_gp(msr, data)) {
            *field = msr == MSR_IA32_SYSENTER_CS ? (data & LOW32) : data;
            memo_note(memo, i, index_word, s, field);
            continue;
        }
        nvmx_entry_check_t c = nvmx_check_msr_load_entry(n, e[0], e[1]);
        if (c.kind != NVMX_ENTRY_OK)
            return c;
        if (field) {
            if (state_msr_gp(msr, e[1]))
                return nvmx_entry_msr_fail(n, "26.4: MSR-load entry WRMSR would #GP");
            *field = msr == MSR_IA32_SYSENTER_CS ? (e[1] & LOW32) : e[1];
            continue;
        }
        if (msr == MSR_IA32_EFER) {
            /* 26.4: as WRMSR would, after the state the entry (26.3.2) or
             * exit (27.5) loaded: CR0 and EFER.LMA are the new ones. Bits
             * L1's CPUID does not show and a change of LME with CR0.PG 1
             * #GP (Vol. 4 Table 2-2, Vol. 3A 9.8.5); LMA is not written
             * (it is "IA-32e mode guest" or the host address-space size). */
            if (!efer_write(s->efer, e[1], s->cr0, platform ? platform->efer_allowed : 0,
                            &s->efer))
                return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for IA32_EFER: WRMSR "
                                              "would #GP");
            continue;
        }
        if (!platform)
            return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for a platform MSR without "
                                          "a platform (msr_lists.h)");
        uint64_t v = e[1];
        switch (platform->access(platform->ctx, msr, true, &v)) {
        case NVMX_PMSR_OK:
            break;
        case NVMX_PMSR_GP:
            return nvmx_entry_msr_fail(n, "26.4: MSR-load entry WRMSR would #GP");
        default:
            return nvmx_entry_msr_fail(n, "26.4: the VM ended loading an MSR-load entry");
        }
    }
    return (nvmx_entry_check_t){ .kind = NVMX_ENTRY_OK };
}

bool nvmx_msr_list_store(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                         uint64_t addr, uint64_t count, nestor_vcpu_state_t *s, uint32_t *bad)
{
    return nvmx_msr_list_store_memo(env, platform, addr, count, s, bad, NULL);
}

bool nvmx_msr_list_store_memo(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                              uint64_t addr, uint64_t count, nestor_vcpu_state_t *s,
                              uint32_t *bad, nvmx_msr_memo_t *memo)
{
    uint64_t *all = whole_list(env, addr, count);
    for (uint64_t i = 0; i < count; i++) {
        *bad = (uint32_t)(i + 1);
        uint64_t *e = all ? all + 2 * i : entry(env, addr, i);
        uint8_t how;
        const nestor_word_t *known = e ? memo_field(memo, i, e[0], s, &how) : NULL;
        if (known) {            /* a state-page MSR: no 27.4 rule refuses it */
            e[1] = *known;
            continue;
        }
        /* 27.4: an abort for reserved bits 63:32, an x2APIC MSR (bits 31:8
         * 000008H), IA32_SMBASE outside SMM, or an MSR RDMSR cannot read. */
        if (!e || (e[0] & VMX_MSR_ENTRY_RESERVED))
            return false;
        const uint32_t msr = (uint32_t)e[0];
        if ((msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) || msr == MSR_IA32_SMBASE)
            return false;
        nestor_word_t *field = nvmx_state_msr(s, msr);
        uint64_t v = 0;
        if (field) {
            v = *field;
            memo_note(memo, i, e[0], s, field);
        }
        else if (msr == MSR_IA32_EFER)
            v = s->efer;
        else if (msr == MSR_IA32_FS_BASE || msr == MSR_IA32_GS_BASE)
            v = msr == MSR_IA32_FS_BASE ? s->fs.base : s->gs.base;
        else if (!platform || platform->access(platform->ctx, msr, false, &v) != NVMX_PMSR_OK)
            return false;
        e[1] = v;               /* 27.4: bits 127:64 receive the MSR's value */
    }
    return true;
}
