/*
 * nested-vmx/serve.c - nested-vmx's loop: the exits of its VM it takes
 * (stackcfg.c nvmx_exits) and the VMM's count query. VMX instructions are
 * carried out on L1's state (instr.c); RDMSR/WRMSR of the MSRs VMX adds are
 * answered here (caps.c) and every other MSR passed on; a MOV to CR4 that
 * would clear CR4.VMXE in VMX operation raises #GP(0) (SDM 23.8) and every
 * other CR access is passed on. Passing on is a reply (PASS_ON): we hold no
 * capability to the monitor below.
 */
#include "l1_fields.h"
#include "monitor.h"
#include "nvmx_insn.h"
#include "count_monitor.h"
#include "nvmx_prof.h"
#include "nvmx_setup.h"
#include "nvmx_state.h"
#include "shadow12.h"
#include <nestor/faults.h>
#include <user/print.h>
#include <x86_arch.h>

#define CR4             4
#define GPRS_CHANGED    (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS | \
                         NESTOR_MTD_INTR)   /* VMsucceed/VMfail end STI and MOV-SS blocking */

/* An exception for L1 at the instruction (SDM 26.6.1.1 event injection,
 * RF for a fault: nvmx_inject_exception). */
static nestor_word_t inject(nestor_vcpu_state_t *s, unsigned vector, bool has_error,
                            uint32_t error, nestor_word_t *changed)
{
    *changed |= nvmx_inject_exception(s, vector, has_error, error);
    return NESTOR_EXIT_REPLY_RESUME;
}

static nestor_word_t carry_out(nvmx_monitor_t *m, const nvmx_insn_t *insn, nestor_word_t *changed);

static nestor_word_t vmx_instruction(nvmx_monitor_t *m, const nestor_word_t *mr,
                                     nestor_word_t *changed)
{
    const nvmx_insn_t insn = {
        .reason = mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK,
        .qualification = mr[NESTOR_EXIT_MR_QUALIFICATION],
        .instr_info = (uint32_t)mr[NESTOR_EXIT_MR_INSTR_INFO],
        .instr_len = (uint32_t)mr[NESTOR_EXIT_MR_INSTR_LEN],
    };
    nestor_vcpu_state_t *s = m->s;
    if (insn.reason == NESTOR_EXIT_VMREAD || insn.reason == NESTOR_EXIT_VMWRITE)
        l1_fields_count(m, s, &insn);
    /* vmcs12 complete before the instructions that read it whole or leave
     * it (shadow12.h); after any, the shadow follows the current VMCS and
     * what changed in it. */
    switch (insn.reason) {
    case NESTOR_EXIT_VMPTRLD: case NESTOR_EXIT_VMCLEAR: case NESTOR_EXIT_VMXOFF:
    case NESTOR_EXIT_VMXON:
        nvmx_enter_forget(m);
        if (insn.reason == NESTOR_EXIT_VMXON)
            break;
        /* fall through */
    case NESTOR_EXIT_VMLAUNCH: case NESTOR_EXIT_VMRESUME:
        PROF_SPAN(PROF_PULL, shadow12_pull(m));
        break;
    }
    nestor_word_t label = carry_out(m, &insn, changed);
    /* L2 entered: L1 runs again only after a reflected exit, which pushes
     * (l2.c resume_l1), and an entry leaves the current VMCS as it was. */
    if (label == NVMX_NO_REPLY)
        return label;
    PROF_SPAN(PROF_FOLLOW, shadow12_follow(m); shadow12_push(m));
    return label;
}

static nestor_word_t carry_out(nvmx_monitor_t *m, const nvmx_insn_t *insn, nestor_word_t *changed)
{
    nestor_vcpu_state_t *s = m->s;
    nvmx_result_t r;
    PROF_SPAN(PROF_INSN, r = nvmx_instruction(&m->vmx, &m->env, s, insn));
    switch (r.status) {
    case NVMX_FAULT:
        if (r.vector == X86_VEC_PF) {
            s->cr2 = r.cr2;
            *changed |= NESTOR_MTD_CR;
        }
        return inject(s, r.vector, r.has_error, r.error_code, changed);
    case NVMX_ENTER:
        return nvmx_enter(m, &r, insn, changed);
    case NVMX_INVALIDATE:
        /* SDM 28.3.3: INVEPT drops what EPT02 holds of EPT12. INVVPID needs
         * nothing: L2's VPID is flushed at every entry (its CRs are loaded). */
        if (r.inv_ept)
            l2_invept(m);
        *changed |= GPRS_CHANGED;
        return NESTOR_EXIT_REPLY_RESUME;
    case NVMX_DONE:
        /* A VMCS L2 ran from, cleared (or VMX operation left): EPT02 has
         * no user left (l2.h l2_vmcs_gone). */
        if (r.vm_error == 0 && insn->reason == NESTOR_EXIT_VMCLEAR)
            l2_vmcs_gone(m, r.cleared);
        else if (r.vm_error == 0 && insn->reason == NESTOR_EXIT_VMXOFF)
            l2_vmcs_gone(m, NVMX_NO_VMCS);
        *changed |= GPRS_CHANGED;
        return NESTOR_EXIT_REPLY_RESUME;
    }
    return NESTOR_EXIT_REPLY_STOP;
}

/* RDMSR/WRMSR (SDM Vol. 2B): ECX the MSR, EDX:EAX the value. */
static nestor_word_t msr_access(nvmx_monitor_t *m, bool write, uint32_t len,
                                nestor_word_t *changed)
{
    nestor_vcpu_state_t *s = m->s;
    uint32_t msr = (uint32_t)s->rcx;
    uint64_t value = (s->rdx & 0xFFFFFFFFu) << 32 | (s->rax & 0xFFFFFFFFu);
    int r = write ? nvmx_wrmsr(msr, value) : nvmx_rdmsr(msr, &value);
    /* The VMM carries out a write of L1's TSC: L2's offset follows it at
     * the next entry (l2.c). */
    m->tsc_dirty |= write && (msr == MSR_IA32_TSC || msr == MSR_IA32_TSC_ADJUST);
    if (r == 0)
        return NESTOR_EXIT_REPLY_PASS_ON;
    if (r < 0)
        return inject(s, X86_VEC_GP, true, 0, changed);
    if (!write) {
        s->rax = value & 0xFFFFFFFFu;
        s->rdx = value >> 32;
        *changed |= NESTOR_MTD_GPRS;
    }
    s->rip += len;
    *changed |= NESTOR_MTD_RIP;
    return NESTOR_EXIT_REPLY_RESUME;
}

static nestor_word_t cr_access(nvmx_monitor_t *m, nestor_word_t q, nestor_word_t *changed)
{
    if (CRQ_TYPE(q) == CRQ_MOV_TO_CR && CRQ_NUMBER(q) == CR4 &&
        !nvmx_cr4_write_ok(&m->vmx, *nvmx_gpr(m->s, CRQ_GPR(q))))
        return inject(m->s, X86_VEC_GP, true, 0, changed);
    return NESTOR_EXIT_REPLY_PASS_ON;
}

static nestor_word_t on_exit(nvmx_monitor_t *m, const nestor_word_t *mr, nestor_word_t *changed)
{
    const nestor_word_t reason = mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK;
    const uint32_t len = (uint32_t)mr[NESTOR_EXIT_MR_INSTR_LEN];
    switch (reason) {
    case NESTOR_EXIT_RDMSR:
    case NESTOR_EXIT_WRMSR:
        return msr_access(m, reason == NESTOR_EXIT_WRMSR, len, changed);
    case NESTOR_EXIT_CR_ACCESS:
        return cr_access(m, mr[NESTOR_EXIT_MR_QUALIFICATION], changed);
    case NESTOR_EXIT_VMCLEAR: case NESTOR_EXIT_VMLAUNCH: case NESTOR_EXIT_VMPTRLD:
    case NESTOR_EXIT_VMPTRST: case NESTOR_EXIT_VMREAD: case NESTOR_EXIT_VMRESUME:
    case NESTOR_EXIT_VMWRITE: case NESTOR_EXIT_VMXOFF: case NESTOR_EXIT_VMXON:
    case NESTOR_EXIT_INVEPT: case NESTOR_EXIT_INVVPID:
        return vmx_instruction(m, mr, changed);
    }
    printf("nested-vmx %s: exit reason %lu is not one it takes: passed on\n", m->name, reason);
    return NESTOR_EXIT_REPLY_PASS_ON;
}

/* The VM cannot go on (said why in the log): the VMM stops it, rather than
 * leave its vCPU waiting in an exit nobody answers (nvmx_setup.h). */
static void ask_stop(nvmx_monitor_t *m)
{
    nu_msg_t msg = { .info = nestor_msginfo(NVMX_REQ_STOP, 0, 0, 0) };
    nu_send(m->vmm, &msg);
}

/* L2 cannot go on and L1 waits in its VMLAUNCH/VMRESUME. */
static void stop_l1(nvmx_monitor_t *m)
{
    const nestor_word_t args[] = { NESTOR_EXIT_REPLY_STOP, 0 };
    nu_invoke(m->vcpu, NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0);
    ask_stop(m);
}

/* The VM had a system reset: L1's CPU is out of VMX operation, with no
 * VMXON region and no current VMCS (SDM 23.8; RESET, unlike INIT, is not
 * blocked in VMX root operation). L2's VCPU stays where it is: a later
 * VMLAUNCH builds it afresh. */
static void reset(nvmx_monitor_t *m)
{
    if (!m->l2.running)
        l2_sync12(m);                   /* what vmcs12 lacks, into L1's RAM */
    m->vmx = (nvmx_vcpu_t){ .current = NVMX_NO_VMCS };
    nvmx_enter_forget(m);
    l2_reset(m);
    shadow12_reset(m);
    printf("nested-vmx %s: the VM was reset: VMX operation left\n", m->name);
}

/* The next message, the exit owed an answer (nvmx_answer_with_recv) answered
 * first in the same system call. If the kernel refuses that answer (the
 * vCPU waits in no exit, a state it refuses is caught at the entry
 * instead), the VM cannot go on: said, the VMM asked to stop it, and the
 * exit we hold the reply right of answered STOP. */
static void answer_and_recv(nvmx_monitor_t *m, nu_msg_t *msg)
{
    if (!m->answer.pending) {
        nu_recv(m->ep, msg);
        return;
    }
    m->answer.pending = false;
    const nestor_word_t st = nu_vcpu_reply_recv(m->ep, m->answer.vcpu, NESTOR_EXIT_REPLY_RESUME,
                                                m->answer.mask, msg);
    if (st == NESTOR_OK)
        return;
    printf("nested-vmx %s: %s did not take its state back (error %lu): VM stopped\n", m->name,
           m->answer.vcpu == m->vcpu ? "L1" : "L2", st);
    ask_stop(m);
    *msg = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_STOP, 0, 0, 0) };
    nu_reply_recv(m->ep, msg);
}

void nvmx_serve(nvmx_monitor_t *m)
{
    nu_msg_t msg = { 0 };
    nu_recv(m->ep, &msg);
    for (;;) {
        if (msg.badge == CM_BADGE_QUERY) {
            l2_report(m);
            l1_fields_report(m);
            nvmx_prof_report(m->name);
            msg = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 2), .mr = { m->handled, m->passed } };
        } else if (nestor_msginfo_label(msg.info) != NESTOR_FAULT_VM_EXIT &&
                   (msg.badge & (NVMX_KICK_BADGE | NVMX_RESET_BADGE | NVMX_END_BADGE))) {
            /* Signals: nothing to answer. */
            if (msg.badge & NVMX_END_BADGE)
                l2_end(m);
            else if (msg.badge & NVMX_RESET_BADGE)
                reset(m);
            else
                l2_kick(m);
            nu_recv(m->ep, &msg);
            continue;
        } else if (msg.badge == NVMX_BADGE_L2 &&
                   nestor_msginfo_label(msg.info) == NESTOR_FAULT_VM_EXIT) {
            nestor_word_t mr[NESTOR_EXIT_MR_COUNT], changed = 0;
            PROF_MARK(0);
            nvmx_exit_mrs(&msg, mr);
            nestor_word_t label = l2_exit(m, mr, &changed);
            if (label == NVMX_NO_REPLY) {       /* L1 runs; L2 waits in this exit */
                PROF_MARK(1);
                answer_and_recv(m, &msg);
                continue;
            }
            if (label == NESTOR_EXIT_REPLY_STOP)
                stop_l1(m);
            if (changed & NESTOR_MTD_CR)
                m->l2.crs_known = false;        /* the reply loads them (l2.c l2_guest_crs) */
            msg = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, 1), .mr = { changed } };
        } else if (msg.badge == CM_BADGE_EXIT &&
                   nestor_msginfo_label(msg.info) == NESTOR_FAULT_VM_EXIT) {
            nestor_word_t changed = 0, mr[NESTOR_EXIT_MR_COUNT];
            nvmx_exit_mrs(&msg, mr);
            PROF_MARK((mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK) == NESTOR_EXIT_VMRESUME
                          ? 2 : -1);
            l2_count_l1_exit(m, (unsigned)(mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK));
            nestor_word_t label = on_exit(m, mr, &changed);
            if (label == NVMX_NO_REPLY) {       /* L2 runs; L1 waits in this exit */
                PROF_MARK(3);
                m->handled++;
                answer_and_recv(m, &msg);
                continue;
            }
            m->handled += label != NESTOR_EXIT_REPLY_PASS_ON;
            m->passed += label == NESTOR_EXIT_REPLY_PASS_ON;
            if (label == NESTOR_EXIT_REPLY_STOP)
                ask_stop(m);                    /* said why: the VMM ends the VM */
            msg = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, 1), .mr = { changed } };
        } else if (msg.badge == NVMX_BADGE_STATE &&
                   nestor_msginfo_label(msg.info) != NESTOR_FAULT_VM_EXIT) {
            nvmx_state_request(m, &msg);        /* a checkpoint monitor's (nvmx_state.h) */
        } else if (msg.badge == NVMX_BADGE_INSP &&
                   nestor_msginfo_label(msg.info) != NESTOR_FAULT_VM_EXIT) {
            nvmx_insp_request(m, &msg);         /* the inspector of L2's (nvmx_insp.h) */
        } else {
            /* Nothing else is sent here (only the VMM and, badged for our
             * state, a checkpoint monitor, for EPT02's rights, an inspector
             * of L2 hold our endpoint).
             * No reply: a stray signal has no caller, and replying would
             * answer the exit L1 or L2 waits in. */
            printf("nested-vmx %s: a message it does not know (badge 0x%lx, label 0x%lx): "
                   "ignored\n", m->name, msg.badge, nestor_msginfo_label(msg.info));
            nu_recv(m->ep, &msg);
            continue;
        }
        nu_reply_recv(m->ep, &msg);
    }
}

#if NVMX_PROFILE
nvmx_prof_t nvmx_prof = { .mark = -1 };

void nvmx_prof_mark(int k)
{
    nvmx_prof_t *p = &nvmx_prof;
    const uint64_t t = nvmx_prof_tsc();
    const bool in_order = k >= 0 && p->mark == (k + 3) % 4;
    if (in_order)
        p->part[k] += t - p->last;
    if (k == 0) {
        if (in_order && p->last_a) {
            for (unsigned i = 0; i < PROF_SPANS; i++)
                p->sum[i] += p->part[i];
            p->cycles++;
        }
        p->last_a = true;
    } else if (!in_order) {
        p->last_a = false;
    }
    if (k == 0 || !in_order)
        for (unsigned i = 0; i < PROF_SPANS; i++)
            p->part[i] = 0;
    p->mark = k;
    p->last = nvmx_prof_tsc();
}

void nvmx_prof_report(const char *name)
{
    static const char *const what[PROF_SPANS] = {
        "vcpu02 entered, L2 to its exit, the exit's IPC", "reflection (all)",
        "L1 entered, L1's handler, its VMRESUME's IPC", "VMRESUME (all)",
        "reflection: READ_VMCS CR0/CR4", "reflection: shadow push",
        "reflection: MSR lists, host state, compare", "reflection: VCPU_REPLY to L1",
        "VMRESUME: shadow pull", "VMRESUME: instruction", "VMRESUME: entry checks",
        "VMRESUME: L1 state kept", "VMRESUME: VCPU_REPLY to vcpu02",
        "VMRESUME: shadow follow and push", "reflection: preemption timer read back",
        "VMRESUME: preemption timer set",
    };
    const nvmx_prof_t *p = &nvmx_prof;
    if (!p->cycles)
        return;
    uint64_t total = 0;
    for (unsigned i = 0; i <= PROF_ENTER; i++)
        total += p->sum[i];
    printf("nested-vmx %s: profile: %lu cycles, %lu instructions each\n", name, p->cycles,
           total / p->cycles);
    for (unsigned i = 0; i < PROF_SPANS; i++)
        printf("nested-vmx %s: profile: %lu %s\n", name, p->sum[i] / p->cycles, what[i]);
}
#endif
