/*
 * nested-vmx/msr_lists.h - the VM-entry MSR-load list (SDM Vol. 3C 26.4)
 * and the VM-exit MSR-store and MSR-load lists (27.4, 27.6) of vmcs12.
 * The MSRs a vCPU's state page holds (those the kernel switches per vCPU:
 * STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE, TSC_AUX; those VMX has fields
 * for: SYSENTER_CS/ESP/EIP, PAT, DEBUGCTL) are L2's or L1's own and are
 * loaded into or stored from that state. Every other MSR is L1's platform
 * (the TSC, the APIC base, MTRRs...), shared by L1 and L2 as one CPU's
 * MSRs are: the lists read and write it through @platform, as a RDMSR or
 * WRMSR at CPL 0 would (the VMM's emulation, nvmx_setup.h NVMX_REQ_MSR).
 * An MSR the SDM forbids in a list fails it (26.4: exit 34 with the
 * entry's index; 27.4, 27.6: a VMX abort, 27.7). IA32_EFER is the state's
 * and is loaded as WRMSR would load it (26.4): reserved bits and a change
 * of LME while CR0.PG is 1 fail, LMA is not written. Pure, given
 * @platform.
 */
#ifndef NVMX_MSR_LISTS_H
#define NVMX_MSR_LISTS_H
#include "entry_checks.h"

/* What a platform-MSR access came to. */
typedef enum {
    NVMX_PMSR_OK,
    NVMX_PMSR_GP,           /* RDMSR/WRMSR would #GP */
    NVMX_PMSR_ENDED,        /* the VM ended on it: nothing more to do */
} nvmx_pmsr_t;

typedef struct {
    void *ctx;
    nvmx_pmsr_t (*access)(void *ctx, uint32_t msr, bool write, uint64_t *value);
    uint64_t efer_allowed;  /* the EFER bits L1's CPUID shows (vmm-server/cpu_policy.h
                               efer_allowed): the others #GP on WRMSR */
} nvmx_platform_msrs_t;

/* The state-page field holding MSR @msr, or NULL. */
nestor_word_t *nvmx_state_msr(nestor_vcpu_state_t *s, uint32_t msr);

/* Load the @count entries at L1-physical @addr into @s or L1's platform
 * (VM entry, VM exit: the result is OK or the MSR-loading failure of the
 * first bad entry; the entries before it stay loaded, 26.4). */
nvmx_entry_check_t nvmx_msr_list_load(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                                      uint64_t addr, uint64_t count, nestor_vcpu_state_t *s);
/* Store the values of the MSRs the @count entries at @addr name (@s's or
 * the platform's) into their data fields (VM exit). False: a VMX abort
 * (27.4: the list not in RAM, an MSR that may not or cannot be stored);
 * *@bad is the 1-based entry. */
bool nvmx_msr_list_store(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                         uint64_t addr, uint64_t count, nestor_vcpu_state_t *s, uint32_t *bad);

#endif
