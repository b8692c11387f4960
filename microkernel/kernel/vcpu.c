/*
 * kernel/vcpu.c - VCPU objects, guest entry, VM exits delivered to monitors.
 *
 * Section numbers: SDM Vol. 3C (VMCS chapter 24, VM entry 26, VM exit 27).
 */
#include "kernel/vcpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/platform.h"
#include "arch/x86_64/seg.h"
#include "arch/x86_64/vmx.h"
#include "kernel/console.h"
#include "kernel/cspace.h"
#include "kernel/fastpath.h"
#include "kernel/invoke.h"
#include "kernel/ipc.h"
#include "kernel/sched.h"
#include "kernel/vspace.h"
#include <nestor/faults.h>
#include <nestor/syscalls.h>
#include <string.h>

extern char vmx_exit_entry[];
__attribute__((noreturn)) void vmx_enter(uint64_t *gprs, int launched);
__attribute__((noreturn)) void vmx_exit_handler(uint64_t *gprs);
__attribute__((noreturn)) void vmx_entry_failed(void);

#define VPID_MAX 0xFFFF
#define INTR_INFO_VECTOR_MASK 0xFF
#define GUEST_CR0_INIT (BIT(0) | BIT(4))        /* PE, ET: 32-bit protected mode */
#define FLAT_LIMIT 0xFFFFFFFF
#define TR_LIMIT_INIT 0xFF

static uint64_t current_vmcs;
static uint32_t next_vpid = 1;

bool vcpu_supported(void) { return vmx_enabled(); }

bool vcpu_can_create(uint64_t count)
{
    return vmx_enabled() && count <= VPID_MAX + 1 - next_vpid;
}

static vcpu_t *obj_vcpu(kaddr_t obj) { return (vcpu_t *)kobj_ptr(obj + VCPU_KERNEL_OFFSET); }

static void vmcs_load(vcpu_t *v)
{
    if (current_vmcs != v->vmcs_pa) {
        vmx_vmptrld(v->vmcs_pa);
        current_vmcs = v->vmcs_pa;
    }
}

/* ---- VMCS set-up ---- */

static void setup_host_state(vcpu_t *v)
{
    /* SDM 26.2.2-26.2.4: host state loaded at every VM exit. */
    vmwrite(VMCS_HOST_CR0, read_cr0());
    vmwrite(VMCS_HOST_CR3, vspace_kernel_pml4_paddr());
    vmwrite(VMCS_HOST_CR4, read_cr4());
    vmwrite(VMCS_HOST_CS_SEL, SEL_KCODE);
    vmwrite(VMCS_HOST_SS_SEL, SEL_KDATA);
    vmwrite(VMCS_HOST_DS_SEL, SEL_KDATA);
    vmwrite(VMCS_HOST_ES_SEL, SEL_KDATA);
    vmwrite(VMCS_HOST_FS_SEL, 0);
    vmwrite(VMCS_HOST_GS_SEL, 0);
    vmwrite(VMCS_HOST_TR_SEL, SEL_TSS);
    vmwrite(VMCS_HOST_FS_BASE, 0);
    vmwrite(VMCS_HOST_GS_BASE, 0);
    vmwrite(VMCS_HOST_TR_BASE, (uint64_t)(uintptr_t)&tss_iopb);
    vmwrite(VMCS_HOST_GDTR_BASE, gdt_base());
    vmwrite(VMCS_HOST_IDTR_BASE, idt_base());
    vmwrite(VMCS_HOST_SYSENTER_CS, 0);
    vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
    vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
    vmwrite(VMCS_HOST_EFER, rdmsr(MSR_IA32_EFER));
    vmwrite(VMCS_HOST_RSP, (uint64_t)(uintptr_t)&v->cr2);
    vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
}

static void setup_controls(vcpu_t *v)
{
    const vmx_caps_raw_t *r = vmx_raw_caps();
    /* SDM 24.6.1: every external interrupt and NMI exits, so a guest can
     * never keep the CPU from the kernel. The VMX-preemption timer bounds
     * each stay in the guest to one tick besides: Bochs holds external
     * interrupts back while the guest has RFLAGS.IF = 0, although with
     * external-interrupt exiting IF must not block them; and it is how
     * NESTOR_VCPU_PAUSE makes a guest exit. */
    vmwrite(VMCS_PIN_CONTROLS, vmx_controls(r->pinbased, PIN_EXTINT_EXITING | PIN_NMI_EXITING |
                                                             PIN_PREEMPTION_TIMER));
    /* SDM 24.6.2: HLT, all port I/O and all MSR accesses (no bitmaps) exit. */
    vmwrite(VMCS_PROC_CONTROLS,
            vmx_controls(r->procbased, PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING |
                                           PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
                                           PROC_RDPMC_EXITING | PROC_ACTIVATE_SECONDARY |
                                           /* CR8 is the real TPR without a TPR shadow
                                            * (SDM 24.6.2): a guest writing it could mask
                                            * every host interrupt. */
                                           PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING));
    vmwrite(VMCS_PROC_CONTROLS2, vmx_controls(r->procbased2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID |
                                                                 PROC2_UNRESTRICTED_GUEST));
    vmwrite(VMCS_EXIT_CONTROLS, vmx_controls(r->exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER |
                                                          EXIT_LOAD_EFER));
    vmwrite(VMCS_ENTRY_CONTROLS, vmx_controls(r->entry, ENTRY_LOAD_EFER));
    vmwrite(VMCS_EXCEPTION_BITMAP, 0);
    vmwrite(VMCS_CR3_TARGET_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_VPID, v->vpid);
    vmwrite(VMCS_LINK_POINTER, VMCS_LINK_POINTER_NONE);
    /* The guest owns CR0 and CR4 but for the bits VMX fixes: those read as
     * it last wrote them (shadows), and changing them exits. */
    uint64_t cr0_fixed = rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(uint64_t)(BIT(0) | BIT(31));
    vmwrite(VMCS_CR0_MASK, cr0_fixed);
    vmwrite(VMCS_CR0_SHADOW, GUEST_CR0_INIT);
    vmwrite(VMCS_CR4_MASK, rdmsr(MSR_IA32_VMX_CR4_FIXED0));
    vmwrite(VMCS_CR4_SHADOW, 0);
}

static void seg(uint64_t sel_f, uint16_t sel, uint64_t base_f, uint64_t base, uint64_t lim_f,
                uint32_t limit, uint64_t ar_f, uint32_t ar)
{
    vmwrite(sel_f, sel);
    vmwrite(base_f, base);
    vmwrite(lim_f, limit);
    vmwrite(ar_f, ar);
}

/* 32-bit protected mode, flat, paging off: what a Multiboot loader leaves. */
static void setup_guest_state(void)
{
    vmwrite(VMCS_GUEST_CR0, GUEST_CR0_INIT | (rdmsr(MSR_IA32_VMX_CR0_FIXED0) &
                                              ~(uint64_t)(BIT(0) | BIT(31))));
    vmwrite(VMCS_GUEST_CR3, 0);
    vmwrite(VMCS_GUEST_CR4, rdmsr(MSR_IA32_VMX_CR4_FIXED0));
    vmwrite(VMCS_GUEST_EFER, 0);
    seg(VMCS_GUEST_CS_SEL, 0x08, VMCS_GUEST_CS_BASE, 0, VMCS_GUEST_CS_LIMIT, FLAT_LIMIT,
        VMCS_GUEST_CS_AR, AR_CODE32_FLAT);
    static const uint64_t data[][4] = {
        { VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
        { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
        { VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
        { VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
        { VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
    };
    for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]); i++)
        seg(data[i][0], 0x10, data[i][1], 0, data[i][2], FLAT_LIMIT, data[i][3], AR_DATA32_FLAT);
    seg(VMCS_GUEST_LDTR_SEL, 0, VMCS_GUEST_LDTR_BASE, 0, VMCS_GUEST_LDTR_LIMIT, 0,
        VMCS_GUEST_LDTR_AR, AR_UNUSABLE);
    seg(VMCS_GUEST_TR_SEL, 0, VMCS_GUEST_TR_BASE, 0, VMCS_GUEST_TR_LIMIT, TR_LIMIT_INIT,
        VMCS_GUEST_TR_AR, AR_TSS32_BUSY);
    vmwrite(VMCS_GUEST_GDTR_BASE, 0);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xFFFF);
    vmwrite(VMCS_GUEST_DR7, DR7_INIT);
    vmwrite(VMCS_GUEST_RSP, 0);
    vmwrite(VMCS_GUEST_RIP, 0);
    vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_GUEST_INIT);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_ACTIVITY, 0);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
    vmwrite(VMCS_GUEST_DEBUGCTL, 0);
}

bool vcpu_init_object(kaddr_t obj)
{
    if (!vmx_enabled() || next_vpid > VPID_MAX)
        return false;
    vcpu_t *v = obj_vcpu(obj);
    v->vmcs_pa = kobj_paddr(obj);
    v->vpid = next_vpid++;
    uint32_t rev = (uint32_t)vmx_revision();
    memcpy(kobj_ptr(obj), &rev, sizeof(rev));          /* SDM 24.2: revision id */
    vmx_vmclear(v->vmcs_pa);
    current_vmcs = 0;
    vmcs_load(v);
    setup_host_state(v);
    setup_controls(v);
    setup_guest_state();
    return true;
}

void vcpu_finalise(vcpu_t *v)
{
    if (v->tcb) {
        v->tcb->vcpu = 0;
        v->tcb = 0;
    }
    vmx_vmclear(v->vmcs_pa);
    if (current_vmcs == v->vmcs_pa)
        current_vmcs = 0;
}

/* ---- the state page ---- */

static nestor_vcpu_state_t *state_page(vcpu_t *v)
{
    const cap_t *f = &v->ctes[VCPU_CTE_STATE_PAGE].cap;
    return f->type == NESTOR_OBJ_FRAME_4K ? (nestor_vcpu_state_t *)kobj_ptr(f->obj) : 0;
}

typedef struct {
    uint64_t sel, base, limit, ar;
} seg_fields_t;

/* es cs ss ds fs gs ldtr tr, in nestor_vcpu_state_t order */
static const seg_fields_t seg_fields[] = {
    { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
    { VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
    { VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
    { VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
    { VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
    { VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
    { VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR },
    { VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR },
};

static nestor_vcpu_seg_t *state_seg(nestor_vcpu_state_t *s, unsigned i)
{
    return &s->es + i;
}

/* Where gprs[i] (trap_frame order: r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi
 * rdx rcx rbx rax) lives in the state page. */
#define STATE_OFF(f) __builtin_offsetof(nestor_vcpu_state_t, f)
static const uint16_t state_gpr_offset[VCPU_GPRS] = {
    STATE_OFF(r15), STATE_OFF(r14), STATE_OFF(r13), STATE_OFF(r12), STATE_OFF(r11),
    STATE_OFF(r10), STATE_OFF(r9), STATE_OFF(r8), STATE_OFF(rbp), STATE_OFF(rdi),
    STATE_OFF(rsi), STATE_OFF(rdx), STATE_OFF(rcx), STATE_OFF(rbx), STATE_OFF(rax),
};

static uint64_t *state_gpr(nestor_vcpu_state_t *s, unsigned i)
{
    return (uint64_t *)((uint8_t *)s + state_gpr_offset[i]);
}

/* The guest's view of CR0/CR4: its own bits, the shadow for host-owned ones. */
static uint64_t guest_cr(uint64_t cr_f, uint64_t mask_f, uint64_t shadow_f)
{
    uint64_t mask = vmread(mask_f);
    return (vmread(cr_f) & ~mask) | (vmread(shadow_f) & mask);
}

static void store_state(vcpu_t *v, nestor_vcpu_state_t *s, uint64_t mask)
{
    s->mtd = mask;
    if (mask & NESTOR_MTD_GPRS)
        for (unsigned i = 0; i < VCPU_GPRS; i++)
            *state_gpr(s, i) = v->gprs[i];
    if (mask & NESTOR_MTD_RSP)
        s->rsp = vmread(VMCS_GUEST_RSP);
    if (mask & NESTOR_MTD_RIP)
        s->rip = vmread(VMCS_GUEST_RIP);
    if (mask & NESTOR_MTD_RFLAGS)
        s->rflags = vmread(VMCS_GUEST_RFLAGS);
    if (mask & NESTOR_MTD_CR) {
        s->cr0 = guest_cr(VMCS_GUEST_CR0, VMCS_CR0_MASK, VMCS_CR0_SHADOW);
        s->cr2 = v->cr2;
        s->cr3 = vmread(VMCS_GUEST_CR3);
        s->cr4 = guest_cr(VMCS_GUEST_CR4, VMCS_CR4_MASK, VMCS_CR4_SHADOW);
        s->efer = vmread(VMCS_GUEST_EFER);
    }
    for (unsigned i = 0; i < 8; i++) {
        if (!(mask & (i < 6 ? NESTOR_MTD_SEGS : NESTOR_MTD_SYS_SEGS)))
            continue;
        nestor_vcpu_seg_t *g = state_seg(s, i);
        g->sel = (uint16_t)vmread(seg_fields[i].sel);
        g->base = vmread(seg_fields[i].base);
        g->limit = (uint32_t)vmread(seg_fields[i].limit);
        g->ar = (uint32_t)vmread(seg_fields[i].ar);
    }
    if (mask & NESTOR_MTD_SYS_SEGS) {
        s->gdtr_base = vmread(VMCS_GUEST_GDTR_BASE);
        s->gdtr_limit = vmread(VMCS_GUEST_GDTR_LIMIT);
        s->idtr_base = vmread(VMCS_GUEST_IDTR_BASE);
        s->idtr_limit = vmread(VMCS_GUEST_IDTR_LIMIT);
    }
    if (mask & NESTOR_MTD_INTR) {
        s->interruptibility = vmread(VMCS_GUEST_INTERRUPTIBILITY);
        s->activity = vmread(VMCS_GUEST_ACTIVITY);
    }
}

/* A host-owned CR bit keeps its VMX-required value; the guest sees its own. */
static void load_cr(uint64_t cr_f, uint64_t mask_f, uint64_t shadow_f, uint64_t value)
{
    uint64_t mask = vmread(mask_f);
    vmwrite(shadow_f, value & mask);
    vmwrite(cr_f, (value & ~mask) | (vmread(cr_f) & mask));
}

/*
 * Load groups from the state page. Nothing here can hurt the host: VMX keeps
 * host and guest apart, and a guest state VM entry rejects comes back as an
 * entry-failure exit to the monitor (SDM 26.3, 26.8).
 */
static void load_state(vcpu_t *v, const nestor_vcpu_state_t *s, uint64_t mask)
{
    if (mask & NESTOR_MTD_GPRS)
        for (unsigned i = 0; i < VCPU_GPRS; i++)
            v->gprs[i] = *state_gpr((nestor_vcpu_state_t *)s, i);
    if (mask & NESTOR_MTD_RSP)
        vmwrite(VMCS_GUEST_RSP, s->rsp);
    if (mask & NESTOR_MTD_RIP)
        vmwrite(VMCS_GUEST_RIP, s->rip);
    if (mask & NESTOR_MTD_RFLAGS)
        vmwrite(VMCS_GUEST_RFLAGS, s->rflags);
    if (mask & NESTOR_MTD_CR) {
        load_cr(VMCS_GUEST_CR0, VMCS_CR0_MASK, VMCS_CR0_SHADOW, s->cr0);
        v->cr2 = s->cr2;
        vmwrite(VMCS_GUEST_CR3, s->cr3);
        load_cr(VMCS_GUEST_CR4, VMCS_CR4_MASK, VMCS_CR4_SHADOW, s->cr4);
        vmwrite(VMCS_GUEST_EFER, s->efer);
        /* SDM 26.2.4/26.3.1.1: the "IA-32e mode guest" entry control must
         * equal the EFER.LMA that entry loads; it follows the monitor's EFER
         * (VM exits store LMA into it, SDM 27.2). */
        uint64_t entry = vmread(VMCS_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
        vmwrite(VMCS_ENTRY_CONTROLS, entry | (s->efer & EFER_LMA ? ENTRY_IA32E_MODE_GUEST : 0));
    }
    for (unsigned i = 0; i < 8; i++) {
        if (!(mask & (i < 6 ? NESTOR_MTD_SEGS : NESTOR_MTD_SYS_SEGS)))
            continue;
        const nestor_vcpu_seg_t *g = &(&s->es)[i];
        vmwrite(seg_fields[i].sel, g->sel);
        vmwrite(seg_fields[i].base, g->base);
        vmwrite(seg_fields[i].limit, g->limit);
        vmwrite(seg_fields[i].ar, g->ar);
    }
    if (mask & NESTOR_MTD_SYS_SEGS) {
        vmwrite(VMCS_GUEST_GDTR_BASE, s->gdtr_base);
        vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdtr_limit);
        vmwrite(VMCS_GUEST_IDTR_BASE, s->idtr_base);
        vmwrite(VMCS_GUEST_IDTR_LIMIT, s->idtr_limit);
    }
    if (mask & NESTOR_MTD_INTR) {
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s->interruptibility);
        vmwrite(VMCS_GUEST_ACTIVITY, s->activity);
    }
    if (mask & NESTOR_MTD_INJECT) {
        vmwrite(VMCS_ENTRY_INTR_INFO, s->inject_info);
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, s->inject_error);
        vmwrite(VMCS_ENTRY_INSTR_LEN, s->inject_instr_len);
    }
}

/* ---- running and exits ---- */

/* One kernel tick in VMX-preemption-timer units (at least 1). */
static uint32_t guest_slice_timer(void)
{
    static uint32_t slice;
    if (!slice) {
        uint64_t s = lapic_tsc_per_tick() >> (vmx_raw_caps()->misc & VMX_MISC_PREEMPT_RATE_MASK);
        slice = s == 0 ? 1 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    }
    return slice;
}

static void stop(tcb_t *t, const char *why, uint64_t reason);

void vcpu_run(tcb_t *t)
{
    vcpu_t *v = t->vcpu;
    const cap_t *ept = &v->ctes[VCPU_CTE_EPT].cap;
    if (ept->type != NESTOR_OBJ_EPT_PML4) {
        /* No guest-physical space (never set, or revoked): nothing to run. */
        stop(t, "no EPT (set one with NESTOR_VCPU_SET_EPT)", 0);
        sched_run();
    }
    vmcs_load(v);
    /* SDM 25.5.1: the timer counts down from this value at the TSC rate
     * shifted right by IA32_VMX_MISC[4:0]; 0 makes the guest exit before it
     * executes any instruction (a pause). (Without the timer, as the
     * capability MSR allows, PAUSE is refused at invocation.) */
    vmwrite(VMCS_PREEMPT_TIMER_VALUE, v->pause_pending ? 0 : guest_slice_timer());
    v->pause_armed = v->pause_pending;
    v->pause_pending = 0;
    uint64_t eptp = kobj_paddr(ept->obj) | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4;
    if (v->eptp != eptp) {
        vmwrite(VMCS_EPT_POINTER, eptp);
        v->eptp = eptp;
    }
    vmx_enter(v->gprs, v->launched);
}

/* After any exit: the CPU has the host state of the VMCS (SDM 27.5). */
static void host_state_reloaded(void)
{
    vspace_active_cr3 = vspace_kernel_pml4_paddr();
}

static void stop(tcb_t *t, const char *why, uint64_t reason)
{
    kprintf("vcpu: thread %u: %s (exit reason 0x%lx, rip 0x%lx): vCPU stopped\n", t->id, why,
            reason, vmread(VMCS_GUEST_RIP));
    t->state = TS_INACTIVE;
    sched_remove(t);
}

/*
 * The exit fast path: the handler already waits on the endpoint, at a
 * priority that lets it run now, with an address space and an IPC buffer.
 * Write the message straight into it and hand the CPU over, as the IPC fast
 * path does; the result is what ipc_send would have produced. Returns only
 * when this does not apply.
 */
static void exit_fast_handoff(tcb_t *t, const cap_t *ep_cap, const uint64_t *mrs)
{
    endpoint_t *ep = cap_ep(ep_cap);
    tcb_t *recv = fastpath_waiting_receiver(ep, t->priority);
    nestor_ipc_buffer_t *buf = recv ? tcb_ipc_buffer(recv) : 0;
    if (!buf)
        return;
    ep_dequeue_head(ep);
    recv->frame.rdx = mrs[0];
    recv->frame.r8 = mrs[1];
    recv->frame.r9 = mrs[2];
    recv->frame.r10 = mrs[3];
    for (unsigned i = NESTOR_MSG_REGISTERS_IN_CPU; i < NESTOR_EXIT_MR_COUNT; i++)
        buf->msg[i] = mrs[i];
    set_syscall_result(recv, NESTOR_OK,
                       nestor_msginfo(NESTOR_FAULT_VM_EXIT, 0, 0, NESTOR_EXIT_MR_COUNT),
                       cap_badge(ep_cap));
    fastpath_call_switch(t, recv);
}

static void deliver_exit(tcb_t *t, vcpu_t *v, uint64_t reason, unsigned slot)
{
    const cap_t *table = &v->ctes[VCPU_CTE_EXIT_TABLE].cap;
    const cap_t *ep = table->type == NESTOR_OBJ_CNODE ? &cnode_slots(table)[slot].cap : 0;
    if (!ep || ep->type != NESTOR_OBJ_ENDPOINT || !(ep->rights & NESTOR_RIGHT_WRITE)) {
        stop(t, "no handler for this exit", reason);
        return;
    }
    /* Any exit the handler sees serves a pause it asked for. */
    v->pause_pending = 0;
    nestor_vcpu_state_t *s = state_page(v);
    if (s)
        store_state(v, s, v->exit_mask[slot]);
    uint64_t mrs[NESTOR_EXIT_MR_COUNT] = {
        [NESTOR_EXIT_MR_REASON] = reason,
        [NESTOR_EXIT_MR_QUALIFICATION] = vmread(VMCS_EXIT_QUALIFICATION),
        [NESTOR_EXIT_MR_GUEST_LINEAR] = vmread(VMCS_GUEST_LINEAR_ADDR),
        [NESTOR_EXIT_MR_GUEST_PHYS] = vmread(VMCS_GUEST_PHYS_ADDR),
        [NESTOR_EXIT_MR_INSTR_LEN] = vmread(VMCS_EXIT_INSTR_LEN),
        [NESTOR_EXIT_MR_INSTR_INFO] = vmread(VMCS_EXIT_INSTR_INFO),
        [NESTOR_EXIT_MR_INTR_INFO] = vmread(VMCS_EXIT_INTR_INFO),
        [NESTOR_EXIT_MR_INTR_ERROR] = vmread(VMCS_EXIT_INTR_ERROR),
        [NESTOR_EXIT_MR_RIP] = vmread(VMCS_GUEST_RIP),
        [NESTOR_EXIT_MR_IDT_VECTORING] = vmread(VMCS_IDT_VECTORING_INFO),
        [NESTOR_EXIT_MR_IDT_ERROR] = vmread(VMCS_IDT_VECTORING_ERROR),
    };
    t->fault_type = NESTOR_FAULT_VM_EXIT;
    exit_fast_handoff(t, ep, mrs);  /* returns only when it does not apply */
    t->fault_len = NESTOR_EXIT_MR_COUNT;
    for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT; i++)
        t->fault_mrs[i] = mrs[i];
    ipc_send(t, ep, true, true);
}

void vmx_exit_handler(uint64_t *gprs)
{
    vcpu_t *v = (vcpu_t *)gprs;         /* gprs is vcpu_t's first member */
    tcb_t *t = v->tcb;
    host_state_reloaded();
    v->launched = 1;
    uint64_t reason = vmread(VMCS_EXIT_REASON);
    unsigned basic = reason & EXIT_REASON_BASIC_MASK;
    bool paused = v->pause_armed;
    v->pause_armed = 0;
    if (basic == NESTOR_EXIT_EXTERNAL_INT ||
        (basic == NESTOR_EXIT_PREEMPT_TIMER && !paused && !(reason & EXIT_REASON_ENTRY_FAILURE))) {
        /* An interrupt is still pending (no acknowledge-on-exit), or the
         * guest's tick ran out and one may be: open the window and take it
         * through the IDT like any kernel interrupt. */
        __asm__ volatile("sti; nop; cli" ::: "memory");
    } else if (reason & EXIT_REASON_ENTRY_FAILURE) {
        deliver_exit(t, v, reason, NESTOR_EXIT_SLOT_ENTRY_FAIL);
    } else if (basic == NESTOR_EXIT_EXCEPTION) {
        unsigned vec = vmread(VMCS_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK;
        deliver_exit(t, v, reason, NESTOR_EXIT_SLOT_EXCEPTION + (vec & 31));
    } else {
        deliver_exit(t, v, reason, basic < NESTOR_EXIT_REASONS ? basic : NESTOR_EXIT_SLOT_ENTRY_FAIL);
    }
    sched_run();
}

/* VMLAUNCH/VMRESUME itself failed (SDM 30.4 VM-instruction error numbers). */
void vmx_entry_failed(void)
{
    tcb_t *t = sched_current;
    host_state_reloaded();
    uint64_t err = vmread(VMCS_INSTR_ERROR);
    kprintf("vcpu: VM entry failed, VM-instruction error %lu\n", err);
    deliver_exit(t, t->vcpu, EXIT_REASON_ENTRY_FAILURE | err, NESTOR_EXIT_SLOT_ENTRY_FAIL);
    sched_run();
}

uint64_t vcpu_vmcs_read(vcpu_t *v, uint64_t field)
{
    vmcs_load(v);
    return vmread(field);
}

void vcpu_vmcs_write(vcpu_t *v, uint64_t field, uint64_t value)
{
    vmcs_load(v);
    vmwrite(field, value);
}

void vcpu_load_from_state_page(vcpu_t *v, uint64_t mask)
{
    nestor_vcpu_state_t *s = state_page(v);
    if (s) {
        vmcs_load(v);
        load_state(v, s, mask);
    }
}

void vcpu_resume_from_exit(tcb_t *t, uint64_t mask)
{
    vcpu_t *v = t->vcpu;
    nestor_vcpu_state_t *s = v ? state_page(v) : 0;
    if (s && mask) {
        vmcs_load(v);
        load_state(v, s, mask);
    }
}
