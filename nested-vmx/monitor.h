/*
 * nested-vmx/monitor.h - the nested-vmx program: one VM's L1 (main.c sets
 * it up from the VMM's grant, serve.c answers its exits, l1mem.c reaches
 * its memory, enter.c carries out VMLAUNCH/VMRESUME).
 */
#ifndef NVMX_MONITOR_H
#define NVMX_MONITOR_H
#include "entry_checks.h"
#include "insp_mask.h"
#include "l2.h"
#include "nvmx.h"
#include "nvmx_setup.h"
#include <user/space.h>
#include <user/sys.h>
#include <x86_arch.h>

/* The vmcs12 whose control and host-state checks (SDM 26.2) passed last,
 * and what they read besides its fields (enter.c ctl_host_known). */
typedef struct {
    bool valid, l1_ia32e;
    uint64_t vmcs, entry_controls;
} nvmx_checked_t;

typedef struct nvmx_monitor {
    char name[32];                  /* our monitor name (the config's node) */
    nestor_cptr_t ep;               /* where exits, queries and the setup arrive */
    nestor_cptr_t vcpu;             /* L1's VCPU */
    nestor_cptr_t vmm;              /* requests to the VMM for this VM (nvmx_setup.h) */
    nestor_vcpu_state_t *s;         /* its state page, mapped */
    nestor_vcpu_state_t s_entered;  /* *s at L1's last VMLAUNCH/VMRESUME into L2: what
                                       L1's VMCS holds while L2 runs (l2.c resume_l1),
                                       kept where kernel_nested */
    bool kernel_nested;             /* our kernel runs in a VM (main.c) */
    const nvmx_events_t *events;    /* what the VMM holds for L1 (nvmx_setup.h), mapped */
    uint8_t *ram;                   /* L1's RAM, mapped */
    uint64_t ram_bytes;
    unsigned level;                 /* our level in the VCPU's exit tables */
    nvmx_env_t env;
    nvmx_vcpu_t vmx;
    nu_alloc_t alloc;
    uint64_t handled, passed;       /* exits answered here / passed on */
    nestor_cptr_t grant;            /* the VMM's CNode: L1's frames to copy for EPT02 */
    unsigned grant_radix, frame_bits;
    nestor_cptr_t ram_frames;       /* our copies of L1's frames: frame i in slot + i
                                       (mapped at ram; alias slices come from them) */
    l2_t l2;
    unsigned timer_rate;            /* the host's VMX-preemption-timer rate (bootinfo) */
    uint64_t efer_allowed;          /* EFER bits L1 may set (cpu_policy.h efer_allowed) */
    bool tsc_dirty;                 /* L1 wrote its TSC: L2's offset needs computing again */
    const char *last_rule;          /* the entry check that failed last, for the log */
    /* an inspector of L2 (l2_inspector.c): its endpoint badged for its setup
     * and its exits (0: none), and the L2 page we write for it */
    nestor_cptr_t insp_setup, insp_exits;
    nvmx_l2_page_t *l2_page;
    /* the rights it withholds in EPT02 (nvmx_insp.h; ept02.c applies them) */
    nvmx_mask_t insp_mask;
    /* its int3s we lifted at the last reflected exit, for L1 (the L2 page's
     * bps, nvmx_setup.h): planted again at the next entry */
    uint64_t insp_lifted;
    nvmx_checked_t checked;
    nvmx_guest_memo_t guest_memo;   /* what the guest-state checks last passed on */
    /* The exit the other vCPU waits in, answered RESUME with the groups
     * @mask by our next receive, one system call (serve.c answer_and_recv,
     * nestor/syscalls.h NESTOR_SYS_VCPU_REPLY_RECV): L1's at a reflected
     * exit, vcpu02's at a VMRESUME that resumes L2. */
    struct {
        bool pending;
        nestor_cptr_t vcpu;
        nestor_word_t mask;
    } answer;
} nvmx_monitor_t;

/* Answer the exit VCPU @vcpu waits in with RESUME and @mask at our next
 * receive (the caller then returns NVMX_NO_REPLY). */
static inline void nvmx_answer_with_recv(struct nvmx_monitor *m, nestor_cptr_t vcpu,
                                         nestor_word_t mask)
{
    m->answer.pending = true;
    m->answer.vcpu = vcpu;
    m->answer.mask = mask;
}

/* An exit's message registers (NESTOR_EXIT_MR_*), copied out of the
 * registers and the IPC buffer before our own invocations reuse it. */
static inline void nvmx_exit_mrs(const nu_msg_t *msg, nestor_word_t *mr)
{
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    /* two straight copies, not one loop choosing per word (twice a cycle) */
    for (unsigned i = 0; i < NESTOR_MSG_REGISTERS_IN_CPU; i++)
        mr[i] = msg->mr[i];
    for (unsigned i = NESTOR_MSG_REGISTERS_IN_CPU; i < NESTOR_EXIT_MR_COUNT; i++)
        mr[i] = b->msg[i];
}

/* Hardware exception @vector (error code @error if @has_error) delivered to
 * the guest of state @s at its next entry (SDM 26.6.1.1 event injection):
 * the groups to load. A fault pushes RFLAGS with RF = 1 (SDM Vol. 3B
 * 17.3.1.1), which injection does not do by itself (it pushes the RFLAGS
 * the entry loads, 26.6.1.1): RF is set in them here, so @s's RFLAGS must
 * be current (the exit's transfer mask has NESTOR_MTD_RFLAGS). */
static inline nestor_word_t nvmx_inject_exception(nestor_vcpu_state_t *s, unsigned vector,
                                                  bool has_error, uint32_t error)
{
    s->inject_info = vector | X86_INTR_TYPE_HW_EXC | X86_INTR_VALID |
                     (has_error ? X86_INTR_DELIVER_ERR : 0);
    s->inject_error = has_error ? error : 0;
    if (!x86_exception_is_fault(vector))
        return NESTOR_MTD_INJECT;
    s->rflags |= X86_RFLAGS_RF;
    return NESTOR_MTD_INJECT | NESTOR_MTD_RFLAGS;
}

/* L1's memory for nvmx_env_t (l1mem.c). */
void l1mem_env(nvmx_monitor_t *m);

/* How EPT12 refused an access of L2 (l2mem_linear): an EPT violation or
 * misconfiguration for L1 (SDM 27.2.1), at L2-physical @gpa2 in the
 * access to linear @la. */
typedef struct {
    bool refused;
    uint32_t reason;            /* NESTOR_EXIT_EPT_VIOLATION or _MISCONFIG */
    uint64_t qualification;     /* Table 27-7, linear-address bits included */
    uint64_t gpa2, la;
} l2mem_fault_t;

/* Copy @n bytes between L2's linear @la and @buf as an access of L2 would
 * (its paging, then EPT12 where L1 uses EPT for L2, then L1's RAM): as
 * nvmx_env_t.linear, or NVMX_MEM_EPT12 with *@fault for L1. */
nvmx_mem_t l2mem_linear(nvmx_monitor_t *m, uint64_t la, void *buf, size_t n, bool write,
                        uint32_t *error, uint64_t *addr, l2mem_fault_t *fault);

/* Answer exits until the end (serve.c). */
void nvmx_serve(nvmx_monitor_t *m);

/* VMLAUNCH/VMRESUME that passed the instruction's checks (enter.c): the
 * reply label for L1's exit; the state page updated with what L1 sees. */
nestor_word_t nvmx_enter(nvmx_monitor_t *m, const nvmx_result_t *r, const nvmx_insn_t *insn,
                         nestor_word_t *changed);
/* L1 cleared or loaded a VMCS, left VMX operation or was reset: the entry
 * checks start afresh (enter.c). */
void nvmx_enter_forget(nvmx_monitor_t *m);

/* The inspector of L2's call (badge NVMX_BADGE_INSP, nvmx_insp.h): the
 * reply in @msg (l2_inspector.c). */
void nvmx_insp_request(nvmx_monitor_t *m, nu_msg_t *msg);

/* A checkpoint monitor's call (badge NVMX_BADGE_STATE, nvmx_state.h): the
 * reply in @msg (state_export.c). */
void nvmx_state_request(nvmx_monitor_t *m, nu_msg_t *msg);
/* vcpu02 was just made: L2's FPU state from a loaded record, if any, into
 * its thread. False if the kernel refused it. */
bool nvmx_state_l2_built(nvmx_monitor_t *m);

#endif
