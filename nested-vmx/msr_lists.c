/*
 * nested-vmx/msr_lists.c - MSR-load and MSR-store lists (msr_lists.h; SDM
 * Vol. 3C 24.7.2 and 24.8.2 for their layout, 26.4, 27.4, 27.6 for what
 * entries and exits do with them).
 */
#include "msr_lists.h"
#include "checks_priv.h"
#include <x86_arch.h>

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
    default: return NULL;
    }
}

/* Entry @i of the list at @addr: its index word and data (24.7.2, Table
 * 24-12). NULL if it is not in RAM. */
static uint64_t *entry(const nvmx_env_t *env, uint64_t addr, uint64_t i)
{
    return env->phys(env->ctx, addr + i * VMX_MSR_ENTRY_SIZE, VMX_MSR_ENTRY_SIZE);
}

nvmx_entry_check_t nvmx_msr_list_load(const nvmx_env_t *env, uint64_t addr, uint64_t count,
                                      nestor_vcpu_state_t *s)
{
    for (uint64_t i = 0; i < count; i++) {
        const uint32_t n = (uint32_t)(i + 1);
        uint64_t *e = entry(env, addr, i);
        if (!e)
            return nvmx_entry_msr_fail(n, "26.4: MSR-load entry outside L1's RAM");
        nvmx_entry_check_t c = nvmx_check_msr_load_entry(n, e[0], e[1]);
        if (c.kind != NVMX_ENTRY_OK)
            return c;
        /* 26.4: the entries are loaded in order, as WRMSR would. */
        nestor_word_t *field = nvmx_state_msr(s, (uint32_t)e[0]);
        if (!field)
            return nvmx_entry_msr_fail(n, "26.4: MSR-load entry for an MSR nested-vmx "
                                          "cannot give L2 (msr_lists.h)");
        if ((uint32_t)e[0] == MSR_IA32_PAT && !pat_ok(e[1]))
            return nvmx_entry_msr_fail(n, "26.4: MSR-load entry with an invalid PAT");
        *field = (uint32_t)e[0] == MSR_IA32_SYSENTER_CS ? (e[1] & 0xFFFFFFFFu) : e[1];
    }
    return (nvmx_entry_check_t){ .kind = NVMX_ENTRY_OK };
}

bool nvmx_msr_list_store(const nvmx_env_t *env, uint64_t addr, uint64_t count,
                         nestor_vcpu_state_t *s, uint32_t *bad)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t *e = entry(env, addr, i);
        nestor_word_t *field = e ? nvmx_state_msr(s, (uint32_t)e[0]) : NULL;
        if (!field || (e[0] & VMX_MSR_ENTRY_RESERVED)) {
            *bad = (uint32_t)(i + 1);
            return false;
        }
        e[1] = *field;          /* 27.4: bits 127:64 receive the MSR's value */
    }
    return true;
}
