/*
 * vmm-server/guest_env.h - a guest's execution environment as the
 * instruction decoder and emulator (decode/) see it, read from its state
 * page: its mode, segment bases, and the segment limits, CPL and alignment
 * rules x86_emulate checks. Pure (no system calls, no VM): the VMM's MMIO
 * emulation (mmio.c) and nested-vmx's for L2 (nested-vmx/l2_mmio.c) share it.
 */
#ifndef VMM_GUEST_ENV_H
#define VMM_GUEST_ENV_H
#include "decode/x86_emulate.h"
#include "x86_arch.h"
#include <nestor/vcpu.h>

/* The guest's execution mode (needs the CR and SEGS groups) and a data
 * segment's base in it (X86_SEG_*). */
x86_mode_t guest_cpu_mode(const nestor_vcpu_state_t *s);
uint64_t guest_seg_base(const nestor_vcpu_state_t *s, unsigned seg, x86_mode_t mode);
/* The guest's CPL: SS.DPL (SDM Vol. 3A 5.5; SDM Vol. 3C 24.4.1). */
static inline unsigned guest_cpl(const nestor_vcpu_state_t *s)
{
    return (s->ss.ar >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK;
}

/* @env's mode, CPL, CR0.AM, stack address size, segments and CS limit from
 * @s (the device and linear-memory callbacks are the caller's). */
void guest_env_from_state(const nestor_vcpu_state_t *s, x86_env_t *env);

/* The emulator's register file from @s (GPRs in architectural order,
 * RFLAGS, RIP) and back. */
void guest_regs_get(const nestor_vcpu_state_t *s, x86_regs_t *r);
void guest_regs_put(const x86_regs_t *r, nestor_vcpu_state_t *s);

#endif
