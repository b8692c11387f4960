/*
 * nested-vmx/msr_lists.h - the VM-entry MSR-load list (SDM Vol. 3C 26.4)
 * and the VM-exit MSR-store and MSR-load lists (27.4, 27.6) of vmcs12,
 * carried out on the MSRs a vCPU's state page holds: those the kernel
 * switches per vCPU (STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE, TSC_AUX)
 * and those VMX has fields for (SYSENTER_CS/ESP/EIP, PAT). Any other MSR
 * in a list is one this CPU cannot give L2 a value of its own: a load
 * fails as a WRMSR would (26.4: exit 34 with the entry's index), a store
 * or an exit load is a VMX abort (27.7). Pure.
 */
#ifndef NVMX_MSR_LISTS_H
#define NVMX_MSR_LISTS_H
#include "entry_checks.h"

/* The state-page field holding MSR @msr, or NULL. */
nestor_word_t *nvmx_state_msr(nestor_vcpu_state_t *s, uint32_t msr);

/* Load the @count entries at L1-physical @addr into @s (VM entry: the
 * result is OK or the MSR-loading failure of the first bad entry). */
nvmx_entry_check_t nvmx_msr_list_load(const nvmx_env_t *env, uint64_t addr, uint64_t count,
                                      nestor_vcpu_state_t *s);
/* Store @s's values of the MSRs the @count entries at @addr name into their
 * data fields (VM exit). False: a VMX abort (the list not in RAM, an MSR
 * without a value here); *@bad is the 1-based entry. */
bool nvmx_msr_list_store(const nvmx_env_t *env, uint64_t addr, uint64_t count,
                         nestor_vcpu_state_t *s, uint32_t *bad);

#endif
