/*
 * nested-vmx/checks_priv.h - what the VM-entry checks (checks_ctl.c,
 * checks_host.c, checks_guest.c, entry_checks.c) share.
 */
#ifndef NVMX_CHECKS_PRIV_H
#define NVMX_CHECKS_PRIV_H
#include "entry_checks.h"
#include "nvmx_caps.h"
#include <nestor/vcpu.h>
#include <x86_arch.h>
#include <x86_vmx.h>

/* A vmcs12 field by name; F16/F32 read a 16- or 32-bit field at its width
 * (the slot holds what VMWRITE stored, but L1 may also have written its
 * VMCS region directly: vmcs12.h). */
#define F(name)   (v->field[V12_##name])
#define F16(name) ((uint16_t)v->field[V12_##name])
#define F32(name) ((uint32_t)v->field[V12_##name])

static inline nvmx_entry_check_t chk_ok(void)
{
    return (nvmx_entry_check_t){ .kind = NVMX_ENTRY_OK };
}

static inline nvmx_entry_check_t chk_vmfail(uint32_t error, const char *rule)
{
    return (nvmx_entry_check_t){ .kind = NVMX_ENTRY_VMFAIL, .error_or_reason = error,
                                 .rule = rule };
}

static inline nvmx_entry_check_t chk_exit(uint32_t basic, uint64_t qual, const char *rule)
{
    return (nvmx_entry_check_t){ .kind = NVMX_ENTRY_EXIT,
                                 .error_or_reason = basic | (uint32_t)EXIT_REASON_ENTRY_FAILURE,
                                 .qualification = qual, .rule = rule };
}

#define FAIL_CTL(rule)   return chk_vmfail(VMXERR_ENTRY_INVALID_CONTROLS, rule)
#define FAIL_HOST(rule)  return chk_vmfail(VMXERR_ENTRY_INVALID_HOST_STATE, rule)
#define FAIL_GUEST_Q(q, rule) return chk_exit(NESTOR_EXIT_INVALID_STATE, q, rule)
#define FAIL_GUEST(rule) FAIL_GUEST_Q(ENTRY_FAIL_QUAL_DEFAULT, rule)

/* @pa sets no bit at or above L1's physical-address width. */
static inline bool pa_ok(const nvmx_env_t *env, uint64_t pa)
{
    return env->maxphyaddr >= 64 || (pa >> env->maxphyaddr) == 0;
}

/* Secondary controls as the checks see them: 0 unless activated (SDM 24.6.2). */
static inline uint32_t eff_proc2(const vmcs12_t *v)
{
    return (F32(PROC_CONTROLS) & PROC_ACTIVATE_SECONDARY) ? F32(PROC_CONTROLS2) : 0;
}

/* Each byte of a PAT value is a valid memory type: 0, 1, 4, 5, 6 or 7
 * (SDM Vol. 3A 11.12.2; 26.2.2, 26.3.1.1). */
static inline bool pat_ok(uint64_t pat)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xFF;
        if (t != X86_MT_UC && t != X86_MT_WC && t != X86_MT_WT && t != X86_MT_WP &&
            t != X86_MT_WB && t != X86_MT_UCM)
            return false;
    }
    return true;
}

/* Whether the value @val honours the fixed bits @fixed0 (must be 1) and
 * @fixed1 (0 here: must be 0) (SDM A.7, A.8). */
static inline bool fixed_ok(uint64_t val, uint64_t fixed0, uint64_t fixed1)
{
    return (val & fixed0) == fixed0 && (val & ~fixed1) == 0;
}

#endif
