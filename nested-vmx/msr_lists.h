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

/*
 * What the first entries of one list resolved to last time (the lists of a
 * Nestor as L1 are walked at every reflected exit and VMRESUME, six entries
 * each): for entry i, the index word it had and, where that names a
 * state-page MSR, the field's offset and the check its data needs. An entry
 * whose index word equals the one remembered takes that resolution (a pure
 * function of the index word); its data is checked every time as before.
 * Anything else walks the whole way and is remembered if it resolves so.
 */
#define NVMX_MSR_MEMO_ENTRIES 8
typedef struct {
    uint64_t index_word[NVMX_MSR_MEMO_ENTRIES];
    uint16_t offset[NVMX_MSR_MEMO_ENTRIES];  /* the state-page field */
    uint8_t how[NVMX_MSR_MEMO_ENTRIES];      /* NVMX_MSR_MEMO_* (msr_lists.c); 0: none */
} nvmx_msr_memo_t;

/* The state-page field holding MSR @msr, or NULL. */
nestor_word_t *nvmx_state_msr(nestor_vcpu_state_t *s, uint32_t msr);

/* Load the @count entries at L1-physical @addr into @s or L1's platform
 * (VM entry, VM exit: the result is OK or the MSR-loading failure of the
 * first bad entry; the entries before it stay loaded, 26.4). */
nvmx_entry_check_t nvmx_msr_list_load(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                                      uint64_t addr, uint64_t count, nestor_vcpu_state_t *s);
/* The same with what @memo remembers of this list (updated). */
nvmx_entry_check_t nvmx_msr_list_load_memo(const nvmx_env_t *env,
                                           const nvmx_platform_msrs_t *platform, uint64_t addr,
                                           uint64_t count, nestor_vcpu_state_t *s,
                                           nvmx_msr_memo_t *memo);
/* Store the values of the MSRs the @count entries at @addr name (@s's or
 * the platform's) into their data fields (VM exit). False: a VMX abort
 * (27.4: the list not in RAM, an MSR that may not or cannot be stored);
 * *@bad is the 1-based entry. */
bool nvmx_msr_list_store(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                         uint64_t addr, uint64_t count, nestor_vcpu_state_t *s, uint32_t *bad);
bool nvmx_msr_list_store_memo(const nvmx_env_t *env, const nvmx_platform_msrs_t *platform,
                              uint64_t addr, uint64_t count, nestor_vcpu_state_t *s,
                              uint32_t *bad, nvmx_msr_memo_t *memo);

#endif
