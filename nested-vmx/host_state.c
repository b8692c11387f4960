/*
 * nested-vmx/host_state.c - loading vmcs12's host-state area into L1 at a
 * VM exit or a failed VM entry (SDM Vol. 3C 27.5; 26.8).
 */
#include "host_state.h"
#include <string.h>
#include <x86_arch.h>

#define CR3_PAE_MASK   (~0x1FULL)
/* SDM 27.5.1: CR0 bits a VM exit does not load: ET (4), NW (29), CD (30),
 * 28:19, 17, 15:6 and 63:32; PE, NE and PG are fixed to 1 in VMX operation
 * (23.8), and VMXE in CR4. */
#define CR0_KEPT       (0xFFFFFFFF00000000ULL | BIT(30) | BIT(29) | 0x1FF80000ULL | BIT(17) | \
                        0xFFC0ULL | BIT(4))
#define CR0_VMX_FIXED  (X86_CR0_PE | X86_CR0_NE | X86_CR0_PG)
#define PDPTES         4

/* SDM 27.5.2: a usable data segment after an exit: base 0 (FS and GS from
 * their base fields), limit 4 GiB, read/write accessed, DPL 0, D/B and G;
 * a null selector makes it unusable (SS stays usable in 64-bit hosts with
 * its attributes defined the same way but for the unusable bit). */
static void data_seg(nestor_vcpu_seg_t *seg, uint64_t sel, uint64_t base)
{
    seg->sel = (uint16_t)sel;
    seg->base = base;
    seg->limit = HOST_FLAT_LIMIT;
    seg->ar = HOST_AR_DATA | X86_AR_DB | HOST_AR_G | (sel ? 0 : X86_AR_UNUSABLE);
}

bool nvmx_load_host_state(const vmcs12_t *v, const nvmx_env_t *env, nestor_vcpu_state_t *s)
{
    const uint64_t *f = v->field;
    const uint32_t exit_ctls = (uint32_t)f[V12_EXIT_CONTROLS];
    const bool host64 = exit_ctls & EXIT_HOST_ADDR_SPACE_SIZE;
    /* 27.5.1: control registers, debug registers, MSRs. */
    s->cr0 = (s->cr0 & CR0_KEPT) | (f[V12_HOST_CR0] & ~CR0_KEPT) | CR0_VMX_FIXED;
    s->cr3 = f[V12_HOST_CR3];
    s->cr4 = f[V12_HOST_CR4] | X86_CR4_VMXE | (host64 ? X86_CR4_PAE : 0);
    s->dr7 = HOST_DR7;
    s->debugctl = 0;
    s->sysenter_cs = f[V12_HOST_SYSENTER_CS] & 0xFFFFFFFFu;
    s->sysenter_esp = f[V12_HOST_SYSENTER_ESP];
    s->sysenter_eip = f[V12_HOST_SYSENTER_EIP];
    if (exit_ctls & EXIT_LOAD_PAT)
        s->pat = f[V12_HOST_PAT];
    if (exit_ctls & EXIT_LOAD_EFER)
        s->efer = f[V12_HOST_EFER];
    else if (host64)
        s->efer |= X86_EFER_LMA | X86_EFER_LME;
    else
        s->efer &= ~(X86_EFER_LMA | X86_EFER_LME);
    /* 27.5.2: segment and descriptor-table registers. */
    s->cs.sel = (uint16_t)f[V12_HOST_CS_SEL];
    s->cs.base = 0;
    s->cs.limit = HOST_FLAT_LIMIT;
    s->cs.ar = HOST_AR_CODE | HOST_AR_G | (host64 ? X86_AR_L : X86_AR_DB);
    data_seg(&s->ss, f[V12_HOST_SS_SEL], 0);
    if (!f[V12_HOST_SS_SEL] && host64)
        s->ss.ar &= ~(uint32_t)X86_AR_UNUSABLE;
    data_seg(&s->ds, f[V12_HOST_DS_SEL], 0);
    data_seg(&s->es, f[V12_HOST_ES_SEL], 0);
    data_seg(&s->fs, f[V12_HOST_FS_SEL], f[V12_HOST_FS_BASE]);
    data_seg(&s->gs, f[V12_HOST_GS_SEL], f[V12_HOST_GS_BASE]);
    s->tr.sel = (uint16_t)f[V12_HOST_TR_SEL];
    s->tr.base = f[V12_HOST_TR_BASE];
    s->tr.limit = HOST_TR_LIMIT;
    s->tr.ar = HOST_AR_TSS_BUSY;
    s->ldtr.sel = 0;
    s->ldtr.base = 0;
    s->ldtr.limit = 0;
    s->ldtr.ar = X86_AR_UNUSABLE;
    s->gdtr_base = f[V12_HOST_GDTR_BASE];
    s->gdtr_limit = HOST_DT_LIMIT;
    s->idtr_base = f[V12_HOST_IDTR_BASE];
    s->idtr_limit = HOST_DT_LIMIT;
    /* 27.5.3: RIP, RSP, RFLAGS; no blocking, active (27.3.4 leaves L1 so). */
    s->rip = f[V12_HOST_RIP];
    s->rsp = f[V12_HOST_RSP];
    s->rflags = HOST_RFLAGS;
    s->interruptibility = 0;
    s->activity = 0;
    s->pending_dbg = 0;
    /* 27.5.4: PAE paging outside IA-32e mode loads the PDPTEs from CR3. */
    if ((s->cr0 & X86_CR0_PG) && (s->cr4 & X86_CR4_PAE) && !host64) {
        const void *p = env->phys(env->ctx, s->cr3 & CR3_PAE_MASK & 0xFFFFFFFFu,
                                  PDPTES * sizeof(uint64_t));
        if (!p)
            return false;
        memcpy(s->pdpte, p, sizeof s->pdpte);
    }
    return true;
}
