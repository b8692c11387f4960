/*
 * nested-vmx/entry_checks.h - the checks VMLAUNCH/VMRESUME make on a vmcs12
 * before entering L2, exactly as a CPU with nested-vmx's capabilities
 * (nvmx_caps.h) makes them, in the SDM's order (Vol. 3C 26.2, 26.3):
 *
 *   26.2.1 VMX controls   -> VMfailValid VMXERR_ENTRY_INVALID_CONTROLS (7)
 *   26.2.2-26.2.4 host    -> VMfailValid VMXERR_ENTRY_INVALID_HOST_STATE (8)
 *   26.3.1 guest state    -> VM-entry failure: exit reason
 *                            NESTOR_EXIT_INVALID_STATE (33) | bit 31, exit
 *                            qualification ENTRY_FAIL_QUAL_* (SDM 26.8)
 *   26.4 MSR loading      -> exit reason NESTOR_EXIT_MSR_LOADING (34) |
 *                            bit 31, qualification the 1-based entry index
 *
 * Pure logic on the vmcs12 fields (v->field[V12_*]); L1's memory (the
 * PDPTEs, the VMCS link pointer's revision) through env->phys. The checks
 * of VMLAUNCH/VMRESUME themselves (SDM 30.3: launch state, MOV-SS
 * blocking) come before these and are nvmx_instruction()'s.
 */
#ifndef NVMX_ENTRY_CHECKS_H
#define NVMX_ENTRY_CHECKS_H
#include "nvmx.h"
#include "vmcs12.h"
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    NVMX_ENTRY_OK,       /* every check passed */
    NVMX_ENTRY_VMFAIL,   /* VMfailValid; error_or_reason is the VM-instruction error */
    NVMX_ENTRY_EXIT,     /* VM-entry failure exit; error_or_reason is the full exit
                          * reason (basic reason | EXIT_REASON_ENTRY_FAILURE) */
    NVMX_ENTRY_STALE,    /* nvmx_check_guest_known only: a check to run would read a
                          * field of a group ctx->stale names (nvmx.h
                          * NVMX_LAZY_GROUPS): sync the vmcs12 and check again */
} nvmx_entry_kind_t;

typedef struct {
    nvmx_entry_kind_t kind;
    uint32_t error_or_reason;
    uint64_t qualification;   /* NVMX_ENTRY_EXIT: the exit qualification */
    const char *rule;         /* the check that failed ("26.3.1.2: ..."), for the
                               * monitor's log; NULL when OK */
} nvmx_entry_check_t;

/* What the checks need beyond the vmcs12 and L1's memory: L1's own state at
 * the VMLAUNCH/VMRESUME. */
typedef struct {
    bool l1_ia32e;          /* L1's IA32_EFER.LMA (SDM 26.2.4) */
    uint64_t vmcs_ptr;      /* the current-VMCS pointer (SDM 26.3.1.5: the
                             * link pointer may not equal it) */
    uint64_t l1_debugctl;   /* L1's IA32_DEBUGCTL: BTF counts for the pending
                             * debug exceptions checks when "load debug
                             * controls" is 0 (SDM 26.3.1.5) */
    uint64_t stale;         /* nvmx_check_guest_known: the lazy groups whose
                             * vmcs12 fields are stale (nvmx_vcpu_t.stale) */
} nvmx_entry_ctx_t;

/* All of SDM 26.2 and 26.3.1 in order; the first failure is the result. */
nvmx_entry_check_t nvmx_check_entry(const vmcs12_t *v, const nvmx_env_t *env,
                                    const nvmx_entry_ctx_t *ctx);

/* The three groups on their own (each assumes the ones before passed). */
nvmx_entry_check_t nvmx_check_controls(const vmcs12_t *v, const nvmx_env_t *env);
nvmx_entry_check_t nvmx_check_host(const vmcs12_t *v, const nvmx_env_t *env,
                                   const nvmx_entry_ctx_t *ctx);
nvmx_entry_check_t nvmx_check_guest(const vmcs12_t *v, const nvmx_env_t *env,
                                    const nvmx_entry_ctx_t *ctx);

/*
 * What the guest-state checks (26.3.1) last passed on, so that an entry
 * runs again only the checks whose inputs changed (nvmx_check_guest_known).
 * Each check group is a pure function of the vmcs12 bits it lists (its
 * fields, masked to the bits it reads), of ctx and of the constant env, but
 * the two that read L1's memory (the link pointer's VMCS, the PDPTEs from
 * CR3): those run whenever they read it. Equal inputs give the equal
 * result, however a field came to be what it is (VMWRITE, the shadow,
 * L1's plain memory writes to its VMCS region, a reflected exit): the
 * skip never lets an unchecked value through. Kept per current VMCS.
 */
#define NVMX_GUEST_MEMO_VALUES 72
typedef struct {
    bool valid;
    uint64_t vmcs_ptr, l1_debugctl;             /* the ctx it was taken with */
    uint64_t val[NVMX_GUEST_MEMO_VALUES];       /* the listed fields, as they passed */
} nvmx_guest_memo_t;

/* nvmx_check_guest, skipping the groups whose inputs equal @memo's, which
 * is then updated (valid only after a pass). A group that is to run and
 * would read a field of a group in ctx->stale (where its result depends
 * on it) stops the checks with NVMX_ENTRY_STALE, the memo as valid as it
 * was: the caller makes the vmcs12 whole and checks again. */
nvmx_entry_check_t nvmx_check_guest_known(const vmcs12_t *v, const nvmx_env_t *env,
                                          const nvmx_entry_ctx_t *ctx, nvmx_guest_memo_t *memo);
/* nvmx_check_entry with the guest-state checks through @memo, the control
 * and host-state ones only unless @ctl_host_passed (the caller knows they
 * pass again: enter.c ctl_host_known). */
nvmx_entry_check_t nvmx_check_entry_known(const vmcs12_t *v, const nvmx_env_t *env,
                                          const nvmx_entry_ctx_t *ctx, bool ctl_host_passed,
                                          nvmx_guest_memo_t *memo);

/* Entry @n (1-based) of the VM-entry MSR-load list, its first 8 bytes
 * @index_word (index 31:0, reserved 63:32) and its data @data (SDM 26.4).
 * The caller walks the list after nvmx_check_entry passed and stops at the
 * first failure; a WRMSR that would #GP for a reason not covered here is the
 * caller's to report with nvmx_entry_msr_fail(@n). */
nvmx_entry_check_t nvmx_check_msr_load_entry(uint32_t n, uint64_t index_word, uint64_t data);
/* Whether WRMSR of MSR @msr takes only a canonical address (SDM Vol. 4
 * Table 2-2; one of nvmx_check_msr_load_entry's rules). */
bool nvmx_msr_needs_canonical(uint32_t msr);
nvmx_entry_check_t nvmx_entry_msr_fail(uint32_t n, const char *rule);

#endif
