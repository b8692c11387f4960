/*
 * nested-vmx/enter.c - VMLAUNCH/VMRESUME after the instruction's own checks
 * (SDM 30.3): the checks on the VMX controls and host state (26.2: VMfail
 * with the error number), on the guest state (26.3: a VM-entry failure,
 * 26.8, which loads L1's host state from vmcs12 like a VM exit), then
 * entering L2 (l2.c).
 */
#include "entry_checks.h"
#include "host_state.h"
#include "monitor.h"
#include "nvmx_prof.h"
#include <user/print.h>
#include <x86_arch.h>

#define L1_GROUPS      (NESTOR_MTD_ALL & ~NESTOR_MTD_INJECT)
#define VMFAIL_GROUPS  (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS | \
                        NESTOR_MTD_INTR)

/* SDM 26.8: a VM entry that fails after the checks of 26.2 writes the exit
 * reason (bit 31 set) and qualification, leaves the guest-state area
 * alone, and continues L1 at its host state. */
static nestor_word_t entry_failure(nvmx_monitor_t *m, vmcs12_t *v, const nvmx_entry_check_t *c,
                                   nestor_word_t *changed)
{
    uint64_t *f = v->field;
    f[V12_EXIT_REASON] = c->error_or_reason;
    f[V12_EXIT_QUALIFICATION] = c->qualification;
    f[V12_EXIT_INTR_INFO] = 0;
    f[V12_IDT_VECTORING_INFO] = 0;
    f[V12_EXIT_INSTR_LEN] = 0;
    f[V12_ENTRY_INTR_INFO] &= ~(uint64_t)X86_INTR_VALID;
    if (!nvmx_load_host_state(v, &m->env, m->s)) {
        printf("nested-vmx %s: VMX abort: L1's host PDPTEs are not in RAM (SDM 27.7): VM "
               "stopped\n", m->name);
        return NESTOR_EXIT_REPLY_STOP;
    }
    *changed |= L1_GROUPS;
    return NESTOR_EXIT_REPLY_RESUME;
}

/*
 * The checks of SDM 26.2 (VMX controls, host state) read vmcs12's control
 * and host-state fields, "IA-32e mode guest" among them, L1's IA-32e mode,
 * and, for an event injected, the guest's CR0.PE (26.2.1.3). Once passed
 * for a vmcs12 they pass again while none of those changed: no VMWRITE of
 * L1's to a field other than guest state since (nvmx_vcpu_t.dirty, which
 * the shadow pull feeds too), the same entry controls and L1 mode, and no
 * event to inject (a VMWRITE of it would be dirty anyway). Any VMCLEAR,
 * VMPTRLD, VMXOFF or reset forgets the vmcs12 (nvmx_enter_forget); a
 * VMLAUNCH checks everything. The guest-state checks (26.3) run where
 * their inputs differ from those they last passed on (entry_checks.h
 * nvmx_guest_memo_t: compared by value, as every exit rewrites them).
 */
static bool ctl_host_known(const nvmx_monitor_t *m, const vmcs12_t *v,
                           const nvmx_entry_ctx_t *ctx, bool launch)
{
    static uint64_t guest_state[NVMX_DIRTY_WORDS];   /* the guest-state fields, made once */
    static bool made;
    const nvmx_checked_t *k = &m->checked;
    if (launch || !k->valid || k->vmcs != ctx->vmcs_ptr || k->l1_ia32e != ctx->l1_ia32e ||
        k->entry_controls != v->field[V12_ENTRY_CONTROLS] ||
        (v->field[V12_ENTRY_INTR_INFO] & X86_INTR_VALID))
        return false;
    if (!made) {
        for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
            if (VMCS_FIELD_TYPE(vmcs12_encoding(i)) == VMCS_TYPE_GUEST)
                guest_state[i / 64] |= 1ULL << (i % 64);
        made = true;
    }
    for (unsigned w = 0; w < NVMX_DIRTY_WORDS; w++)
        if (m->vmx.dirty[w] & ~guest_state[w])
            return false;
    return true;
}

void nvmx_enter_forget(nvmx_monitor_t *m)
{
    m->checked.valid = false;
    m->guest_memo.valid = false;
}

nestor_word_t nvmx_enter(nvmx_monitor_t *m, const nvmx_result_t *r, const nvmx_insn_t *insn,
                         nestor_word_t *changed)
{
    vmcs12_t *v = nvmx_current(&m->vmx, &m->env);
    if (!v)
        return NESTOR_EXIT_REPLY_STOP;      /* nvmx_instruction made sure there is one */
    /* Lazy guest state (l2.h l2_sync12): an entry that builds L2 whole
     * from vmcs12 reads every group; a VMRESUME that loads only what L1
     * changed leaves a stale group, which vcpu02 holds as the exit saved
     * it and nobody has changed since, where it is, unchecked, unless a
     * check to run reads it (NVMX_ENTRY_STALE; nested-vmx/README.md). */
    const uint64_t groups = l2_entry_groups(m, m->vmx.current, r->launch);
    if (m->vmx.stale && groups == L2_FULL_ENTRY)
        l2_sync12(m);
    nvmx_entry_ctx_t ctx = { .l1_ia32e = m->s->efer & X86_EFER_LMA,
                             .vmcs_ptr = m->vmx.current, .l1_debugctl = m->s->debugctl,
                             .stale = m->vmx.stale };
    nvmx_entry_check_t c;
    const bool ctl_host = ctl_host_known(m, v, &ctx, r->launch);
    PROF_SPAN(PROF_CHECKS, c = nvmx_check_entry_known(v, &m->env, &ctx, ctl_host,
                                                      &m->guest_memo));
    if (c.kind == NVMX_ENTRY_STALE) {
        l2_sync12(m);
        ctx.stale = m->vmx.stale;
        c = nvmx_check_entry_known(v, &m->env, &ctx, true, &m->guest_memo);
    }
    m->checked = (nvmx_checked_t){ .valid = c.kind == NVMX_ENTRY_OK, .vmcs = ctx.vmcs_ptr,
                                   .l1_ia32e = ctx.l1_ia32e,
                                   .entry_controls = v->field[V12_ENTRY_CONTROLS] };
    m->last_rule = c.rule;
    switch (c.kind) {
    case NVMX_ENTRY_VMFAIL:
        nvmx_fail(&m->vmx, &m->env, m->s, insn->instr_len, c.error_or_reason);
        *changed |= VMFAIL_GROUPS;
        return NESTOR_EXIT_REPLY_RESUME;
    case NVMX_ENTRY_EXIT:
        return entry_failure(m, v, &c, changed);
    case NVMX_ENTRY_STALE:              /* (not with ctx.stale 0: l2_sync12 clears it) */
        return NESTOR_EXIT_REPLY_STOP;
    case NVMX_ENTRY_OK:
        break;
    }
    nestor_word_t label = l2_enter(m, v, m->vmx.current, r->launch, groups, &c);
    if (label == NVMX_L2_ENTRY_FAILED) {
        m->last_rule = c.rule;
        return entry_failure(m, v, &c, changed);
    }
    return label;
}
