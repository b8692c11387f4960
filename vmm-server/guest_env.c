/*
 * vmm-server/guest_env.c - a guest's execution environment for the
 * decoder and emulator, from its state page (guest_env.h).
 */
#include "guest_env.h"
#include "x86_arch.h"
#include <x86_vmx.h>                   /* segment type bits */

x86_mode_t guest_cpu_mode(const nestor_vcpu_state_t *s)
{
    /* SDM Vol. 3A 5.2.1: 64-bit mode is IA-32e mode with CS.L; CS.D gives
     * 32-bit code in protected mode (SDM Vol. 3C 24.4.1 access rights). */
    if ((s->efer & X86_EFER_LMA) && (s->cs.ar & X86_AR_L))
        return X86_MODE_64;
    if ((s->cr0 & X86_CR0_PE) && (s->cs.ar & X86_AR_DB))
        return X86_MODE_32;
    return X86_MODE_16;
}

uint64_t guest_seg_base(const nestor_vcpu_state_t *s, unsigned seg, x86_mode_t mode)
{
    /* In 64-bit mode only FS and GS have a base (SDM Vol. 3A 3.4.4). */
    if (mode == X86_MODE_64 && seg != X86_SEG_FS && seg != X86_SEG_GS)
        return 0;
    return (&s->es)[seg].base;          /* es cs ss ds fs gs: X86_SEG_* order */
}

/* The guest's segments as the emulator checks them (SDM Vol. 3A 3.4.5.1):
 * an expand-up one holds offsets 0..limit, an expand-down data segment
 * limit+1..0xFFFF (or 0xFFFFFFFF with B set); an unusable one (a null
 * selector in protected mode) holds none. */
void guest_env_from_state(const nestor_vcpu_state_t *s, x86_env_t *env)
{
    env->mode = guest_cpu_mode(s);
    env->cpl = guest_cpl(s);
    env->cr0_am = (s->cr0 & X86_CR0_AM) != 0;
    env->stack_addr_size = (s->ss.ar & X86_AR_DB) ? 4 : 2;
    env->cs_limit = s->cs.limit;
    for (unsigned i = X86_SEG_ES; i <= X86_SEG_GS; i++) {
        const nestor_vcpu_seg_t *sg = &(&s->es)[i];
        unsigned type = sg->ar & X86_AR_TYPE_MASK;
        x86_seg_t *out = &env->seg[i];
        out->base = guest_seg_base(s, i, env->mode);
        out->lo = 0;
        out->hi = sg->limit;
        if ((s->cr0 & X86_CR0_PE) && (sg->ar & X86_AR_UNUSABLE)) {
            out->lo = 1;
            out->hi = 0;
        } else if ((sg->ar & X86_AR_S) && !(type & X86_SEG_TYPE_CODE) &&
                   (type & X86_SEG_TYPE_CONFORMING)) {
            out->lo = (uint64_t)sg->limit + 1;
            out->hi = (sg->ar & X86_AR_DB) ? 0xFFFFFFFFull : 0xFFFFull;
        }
    }
}

/* x86_regs_t.gpr's order: RAX RCX RDX RBX RSP RBP RSI RDI R8-R15 (SDM Vol.
 * 2A 2.1.5, Table 2-2's register numbers). */
#define GPRS(X) X(0, rax) X(1, rcx) X(2, rdx) X(3, rbx) X(4, rsp) X(5, rbp) X(6, rsi) X(7, rdi) \
                X(8, r8) X(9, r9) X(10, r10) X(11, r11) X(12, r12) X(13, r13) X(14, r14)   \
                X(15, r15)

void guest_regs_get(const nestor_vcpu_state_t *s, x86_regs_t *r)
{
#define GET_(i, reg) r->gpr[i] = s->reg;
    GPRS(GET_)
#undef GET_
    r->rflags = s->rflags;
    r->rip = s->rip;
}

void guest_regs_put(const x86_regs_t *r, nestor_vcpu_state_t *s)
{
#define PUT_(i, reg) s->reg = r->gpr[i];
    GPRS(PUT_)
#undef PUT_
    s->rflags = r->rflags;
    s->rip = r->rip;
}
