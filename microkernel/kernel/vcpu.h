/*
 * kernel/vcpu.h - VCPU objects: a VMCS (first page) and the kernel's vcpu_t
 * (second page). See nestor/vcpu.h for the user-visible model.
 */
#ifndef KERNEL_VCPU_H
#define KERNEL_VCPU_H
#include "kernel/objects.h"
#include <nestor/vcpu.h>

#define VCPU_GPRS 15
/* The FS and GS bases of a new VMCS's host-state area. Every VM exit loads
 * the host-state bases (SDM 27.5.2); vcpu_run sets them to those of the
 * thread expected to handle the exit, so that switching to it needs no
 * WRMSR (sched.c load_tls_bases). */
#define VCPU_HOST_TLS_BASE 0
#define EXIT_TABLE_SLOTS (1u << NESTOR_EXIT_TABLE_RADIX)

/* Capability slots: the exit tables of levels 0.. follow VCPU_CTE_EXIT_TABLE;
 * each doorbell entry's endpoint and state page follow theirs. */
enum { VCPU_CTE_EPT, VCPU_CTE_STATE_PAGE, VCPU_CTE_PML, VCPU_CTE_VMREAD_BITMAP,
       VCPU_CTE_VMWRITE_BITMAP, VCPU_CTE_EXIT_TABLE,
       VCPU_CTE_DOORBELL_EP = VCPU_CTE_EXIT_TABLE + NESTOR_EXIT_LEVELS,
       VCPU_CTE_DOORBELL_PAGE = VCPU_CTE_DOORBELL_EP + NESTOR_DOORBELL_MAX,
       VCPU_CTE_COUNT = VCPU_CTE_DOORBELL_PAGE + NESTOR_DOORBELL_MAX };

/* The exit level a doorbell's exit is held at (vcpu_t.exit_level): above
 * every table's, so a reply knows the exit is a server's (nestor/vcpu.h). */
#define VCPU_DOORBELL_LEVEL NESTOR_EXIT_LEVELS

/* A doorbell entry (NESTOR_VCPU_SET_DOORBELL): [base, base + bytes). */
typedef struct {
    uint64_t base;
    uint32_t bytes;                 /* 0: the entry is free */
    uint32_t timeout_ticks;         /* how long an exit waits for the server */
} vcpu_doorbell_t;

/* An entry of a VM-entry MSR-load / VM-exit MSR-store or -load area (SDM
 * 24.7.2, 24.8.2, Table 24-15): 16 bytes, the area 16-byte aligned. */
typedef struct {
    uint32_t index;
    uint32_t reserved;
    uint64_t value;
} vmx_msr_entry_t;

/* MSRs the VMCS does not switch, switched through the MSR areas: the guest's
 * values are loaded at entry and stored back at exit (one area serves both:
 * SWAPGS changes KERNEL_GS_BASE without an exit), the host's loaded at exit. */
enum { GMSR_STAR, GMSR_LSTAR, GMSR_CSTAR, GMSR_FMASK, GMSR_KERNEL_GS_BASE, GMSR_TSC_AUX,
       VCPU_SWITCHED_MSRS };
/* Debug registers the VMCS does not switch (DR7 and DEBUGCTL it does). */
enum { GDR_DR0, GDR_DR1, GDR_DR2, GDR_DR3, GDR_DR6, VCPU_SWITCHED_DRS };

typedef struct vcpu {
    uint64_t gprs[VCPU_GPRS];       /* guest registers, trap_frame_t order (asm) */
    uint64_t cr2;                   /* must follow gprs: HOST_RSP points here */
    tcb_t *tcb;                     /* the vCPU thread, or NULL */
    uint64_t vmcs_pa;
    uint64_t eptp;                  /* EPT pointer last written to the VMCS */
    uint64_t host_fs, host_gs;      /* the host-state FS/GS bases in the VMCS */
    uint64_t pml_pa;                /* PML address in the VMCS (0: logging off) */
    struct shadow_vmcs *shadow;     /* the bound shadow VMCS (VMCS shadowing on), or NULL */
    struct vcpu *shadow_next;       /* the next VCPU with a shadow bound (kernel/shadow.c) */
    uint32_t vpid;
    uint8_t launched;
    uint8_t pause_pending;          /* NESTOR_VCPU_PAUSE: exit at the next entry */
    uint8_t pause_armed;            /* the timer is 0 for: NESTOR_PREEMPT_PAUSE/_MONITOR_TIMER */
    uint8_t timer_due;              /* the monitor's timer ran out: its exit at the next entry */
    uint8_t halted;                 /* its monitor entered it in the HLT state with no event
                                       to inject, and no exit reached a monitor since */
    uint8_t pause_level;            /* whose handler gets the pause exit */
    uint8_t timer_level;            /* whose handler gets the monitor timer's exit */
    uint32_t timer_loaded;          /* the preemption timer value of the last entry */
    uint64_t monitor_timer;         /* guest time left on the monitor's timer (0: off) */
    uint8_t follow;                 /* PML or VMCS shadowing on: frames checked before entry */
    uint64_t fetched;               /* state groups written to the page since the exit */
    uint64_t refused;               /* != 0: refuse the next entry with this qualification */
    uint64_t xcr0;                  /* the guest's XCR0 (switched by XSETBV around entry) */
    uint64_t drs[VCPU_SWITCHED_DRS];/* guest DR0-3, DR6 while not in the CPU */
    vmx_msr_entry_t msrs[VCPU_SWITCHED_MSRS] __attribute__((aligned(16)));
    uint8_t exit_level;             /* level of the handler holding the current exit */
    uint8_t exit_slot;              /* its table slot */
    uint64_t exit_reason;           /* the current exit's reason and qualification, kept */
    uint64_t exit_qual;             /*   for a pass-on (synthetic exits have no VMCS copy) */
    uint16_t exit_mask[NESTOR_EXIT_LEVELS][EXIT_TABLE_SLOTS];
    uint8_t slot_level[EXIT_TABLE_SLOTS];   /* where the search for a slot's handler starts */
    uint8_t doorbells;              /* bit i: entry i is set and on */
    uint64_t doorbell_lo;           /* the ranges of the entries on lie in [lo, lo + span) */
    uint64_t doorbell_span;         /*   (0: none; one test per EPT-violation exit) */
    uint32_t doorbell_off_lo;       /* and, within their pages, in [off_lo, off_lo + */
    uint32_t doorbell_off_span;     /*   off_span): the windows' other registers miss */
    uint8_t doorbell;               /* the entry holding the current exit (exit_level
                                       VCPU_DOORBELL_LEVEL) */
    vcpu_doorbell_t doorbell_range[NESTOR_DOORBELL_MAX];
    cte_t ctes[VCPU_CTE_COUNT];
} vcpu_t;

#define VCPU_KERNEL_OFFSET 4096
_Static_assert(sizeof(vcpu_t) <= (1u << NESTOR_VCPU_BITS) - VCPU_KERNEL_OFFSET, "vcpu_t size");

static inline vcpu_t *cap_vcpu(const cap_t *c)
{
    return (vcpu_t *)kobj_ptr(c->obj + VCPU_KERNEL_OFFSET);
}

/* Retype: a fresh VMCS with host state and controls. False if no VMX. */
bool vcpu_init_object(kaddr_t obj);
/* Whether VCPUs can be made (VMX enabled at boot). */
bool vcpu_supported(void);
/* Whether @count more VCPUs can get a VPID. */
bool vcpu_can_create(uint64_t count);
/* The last capability to the VCPU is going. */
void vcpu_finalise(vcpu_t *v);
/* Enter the guest of the vCPU thread @t (the scheduler's choice). */
__attribute__((noreturn)) void vcpu_run(tcb_t *t);
/* A handler replied to the exit @t waits on (links already undone): label
 * NESTOR_EXIT_REPLY_*, @mask the groups it changed; @by_handler: the exit's
 * handler answered (not NESTOR_VCPU_REPLY). True: @t is to be made ready
 * (resume); false: it was passed on (it waits again) or stopped. */
bool vcpu_exit_reply(tcb_t *t, uint64_t label, uint64_t mask, bool by_handler);
/* Resume after an exit: load the groups in @mask from the state page. */
void vcpu_resume_from_exit(tcb_t *t, uint64_t mask);
/* NESTOR_VCPU_SET_PML: whether the CPU can log; then (re)start logging into
 * the frame now in VCPU_CTE_PML, or stop if there is none. */
bool vcpu_pml_supported(void);
void vcpu_pml_changed(vcpu_t *v);
/* NESTOR_VCPU_REPLY: answer the exit @t waits on (it does: see below). */
void vcpu_deferred_reply(tcb_t *t, uint64_t label, uint64_t mask);
bool vcpu_waits_for_exit_reply(const vcpu_t *v);
/* The exit @t waits on at a doorbell's server can no longer be answered
 * there (@why: its time ran out, the endpoint or the server went): pass it
 * on to the exit tables and turn the entry off. False if @t holds no
 * doorbell exit (the caller then does what it does for other exits). */
bool vcpu_doorbell_lost(tcb_t *t, const char *why);
/* After entries were set or turned off: vcpu_t.doorbell_lo and _span. */
void vcpu_doorbell_bounds(vcpu_t *v);
/* Whether @t waits for a doorbell's server (in its endpoint's queue or for
 * its reply). */
bool vcpu_doorbell_waits(const tcb_t *t);
/* When a table is set: where each slot's handler is (the highest level
 * with one: an exit's search starts there) and the exception bitmap. */
void vcpu_derive_routing(vcpu_t *v);
/* VMCS access for invocations: false when the CPU refused (VMfail). */
bool vcpu_vmcs_read(vcpu_t *v, uint64_t field, uint64_t *value);
/* Keep vcpu_t.follow in step with the PML address and the shadow (one
 * test on the entry path for both). */
static inline void vcpu_follow_update(vcpu_t *v)
{
    v->follow = v->pml_pa || v->shadow;
}
/* The access class (NESTOR_VMCS_*) of a field in nestor/vmcs.h's table, or
 * VMCS_FIELD_NOT_IN_TABLE (unknown, reserved bits, a HIGH half). */
#define VMCS_FIELD_NOT_IN_TABLE (-1)
int vmcs_field_access(uint64_t field);
/* VMCS shadowing (kernel/shadow.c): turn it on with the link pointer @link
 * and the bitmaps' addresses, or off with VMCS_LINK_POINTER_NONE. */
void vcpu_set_shadowing(vcpu_t *v, uint64_t link, uint64_t vmread_bitmap, uint64_t vmwrite_bitmap);
/* Make the VMCS at @pa current for a few accesses (SDM 30.3 VMPTRLD; false
 * on VMfail), then VMCLEAR it and make the one before current again. */
bool vcpu_vmcs_borrow(uint64_t pa, uint64_t *prev);
void vcpu_vmcs_return(uint64_t pa, uint64_t prev);
/* A write decoded against nestor/vmcs.h (the EFER's LMA also sets the
 * IA-32e-mode entry control). */
void vcpu_vmcs_write_guest(vcpu_t *v, uint64_t field, uint64_t value);
/* The CR0/CR4 guest/host mask bits the host always owns. */
uint64_t vcpu_cr_mask_floor(uint64_t mask_field);
/* State page groups for invocations. check: 0 or the refusal (nestor/vcpu.h). */
bool vcpu_has_state_page(vcpu_t *v);
const nestor_vcpu_state_t *vcpu_state_page(vcpu_t *v);
uint64_t vcpu_check_state(const nestor_vcpu_state_t *s, uint64_t mask);
void vcpu_load_from_state_page(vcpu_t *v, uint64_t mask);
void vcpu_store_to_state_page(vcpu_t *v, uint64_t mask);

#endif
