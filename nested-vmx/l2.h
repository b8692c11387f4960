/*
 * nested-vmx/l2.h - running L1's guest (L2) on a VCPU of our own (vcpu02).
 *
 * L1 and L2 are one virtual CPU: while L2 runs, L1's vCPU thread waits in
 * the exit of its VMLAUNCH/VMRESUME, unanswered (a deferred reply,
 * nestor/vcpu.h); while L1 runs, L2's thread waits in its last exit. An
 * entry loads vcpu02 from vmcs12 and answers L2's exit; a reflected exit
 * writes vmcs12's exit information and guest state, loads vmcs12's host
 * state into L1 and answers L1's. L2's exits arrive on our endpoint badged
 * NVMX_BADGE_L2 (its exit table is ours at level 0: nobody else sees them).
 *
 * vcpu02's VMCS is built from vmcs12 and the kernel's floor (nestor/
 * vmcs.h): the controls L1 asks for within the kernel's ceiling; exits the
 * floor adds that L1 did not ask for are L0's (l2_exit). EPT02 (ept02.c)
 * maps L2's guest-physical memory to L1's RAM through L1's EPT12.
 */
#ifndef NVMX_L2_H
#define NVMX_L2_H
#include <stdbool.h>
#include <stdint.h>
#include "entry_checks.h"
#include "msr_lists.h"
#include "nvmx_setup.h"
#include <nestor/vcpu.h>
#include <user/sys.h>

struct nvmx_monitor;
struct vmcs12;

#define NVMX_BADGE_L2     0xD2       /* L2's exits on our endpoint */
#define NVMX_NO_REPLY     (~0UL)     /* the exit stays unanswered (its vCPU waits) */
#define NVMX_L2_ENTRY_FAILED (~1UL)  /* l2_enter: a VM-entry failure for L1 */
#define EPT02_MAX_MAPS    64         /* 2 MiB mappings EPT02 holds before it is rebuilt */
#define EPT02_MAX_PAGES   256        /* 4 KiB mappings (alias slices) before it is rebuilt */
#define EPT02_MAX_PTS     16         /* EPT02 page tables for them (4 KiB of budget each) */
#define EPT02_NO_EPT      NVMX_L2_NO_EPT   /* L1 does not use EPT: L2-physical = L1-physical */
#define L2_COUNTED_REASONS 80        /* basic exit reasons counted one by one (SDM Appendix C) */

/* EPT02's mappings (ept02.c). Each entry keeps its capability slot once
 * it has one (entries below the count are in use): EPT02 is rebuilt many
 * times (INVEPT, a new EPTP, VMCLEAR), and slots and page tables are
 * reused, never allocated again. */
typedef struct {
    uint64_t gpa2;                   /* 2 MiB-aligned L2-physical address */
    uint64_t gpa1;                   /* the L1-physical frame it maps */
    unsigned rights12;               /* EPT12's rights (an inspector's mask applies on top) */
    nestor_cptr_t frame;             /* our copy of L1's frame, mapped there */
} ept02_map_t;

typedef struct {
    uint64_t gpa2, gpa1;             /* 4 KiB-aligned L2-physical and L1-physical */
    unsigned rights12;               /* EPT12's rights (an inspector's mask applies on top) */
    nestor_cptr_t alias;             /* an alias slice of L1's frame (NESTOR_FRAME_SLICE_ALIAS) */
} ept02_page_t;

typedef struct {
    uint64_t gpa2;                   /* 2 MiB-aligned L2-physical address it translates */
    nestor_cptr_t pt;                /* an EPT PT object of ours */
} ept02_pt_t;

typedef struct {
    bool built, started;
    nestor_cptr_t vcpu, tcb, ept, table;
    nestor_cptr_t state_frame;       /* vcpu02's state page (for an inspector of L2) */
    nestor_vcpu_state_t *s;          /* vcpu02's state page */
    uint32_t table_exceptions;       /* exception vectors whose slots hold our endpoint */
    uint64_t vmcs12;                 /* guest-physical address of the vmcs12 now entered */
    bool launch;                     /* the entry was a VMLAUNCH */
    uint64_t eptp12;                 /* what EPT02 is built from (EPT02_NO_EPT) */
    ept02_map_t maps[EPT02_MAX_MAPS];
    ept02_page_t pages[EPT02_MAX_PAGES];
    ept02_pt_t pts[EPT02_MAX_PTS];
    unsigned n_maps, n_pages, n_pts;
    uint64_t made_2m, made_4k, rebuilds;   /* EPT02 mappings made, times dropped: the log */
    bool running;                    /* L2 runs (L1 waits in VMLAUNCH/VMRESUME) */
    bool kicked;                     /* an interrupt for L1 waits for L2's exit */
    uint64_t entries, reflected, at_l0;  /* counts for the log */
    uint64_t shadow_served;         /* L2's VMREAD/VMWRITE served on L1's shadow VMCS */
    uint64_t device_accesses;       /* L2's accesses to L1's device memory carried out */
    uint64_t synced;                /* l2_sync12 that read stale groups from vcpu02 */
    /* Entries paused for an interrupt L1 holds (pause_for_l1_event), those
     * whose entry before was paused for one too: the log. */
    uint64_t held_intr, held_again;
    bool held_last;
    /* Per basic reason reflected to L1: how many, and L1's exits that came
     * here from each reflection through L1's next VMLAUNCH/VMRESUME (what
     * handling that reason costs L1 in exits to L0 beyond its own). */
    uint64_t by_reason[L2_COUNTED_REASONS], l1_exits_after[L2_COUNTED_REASONS];
    unsigned after;                  /* reason + 1 of the reflection being handled; 0: none */
    /* vcpu02's CR0 and CR4 as the CPU holds them (l2.c l2_guest_crs), and
     * the bits its guest/host masks own, as read after the last load of
     * its CRs: the owned bits cannot change until the next load (SDM 25.3). */
    bool crs_known;
    uint64_t cr_real[2], cr_owned[2];
    /* An inspector of L2's debug overlay and single step (l2_inspector.c):
     * its DR0-DR3/DR7 were loaded into vcpu02 at the last entry; its step
     * was under way at the last reflected exit, at @step_rip, and the
     * instruction had completed there (its single-step trap pending). */
    bool overlay_loaded, step_reflected, step_done;
    uint64_t step_rip;
    /* What the VM-entry MSR-load, VM-exit MSR-store and VM-exit MSR-load
     * lists' entries resolved to (msr_lists.h nvmx_msr_memo_t). */
    nvmx_msr_memo_t entry_load_memo, exit_store_memo, exit_load_memo;
} l2_t;

/* L1's VMLAUNCH/VMRESUME of vmcs12 @v (at @gpa) passed every check: enter
 * L2. Returns the label to answer L1's exit with, NVMX_NO_REPLY (L2 runs;
 * L1's exit is answered when an L2 exit is reflected), or
 * NVMX_L2_ENTRY_FAILED with *@failure the MSR-loading failure (SDM 26.4). */
nestor_word_t l2_enter(struct nvmx_monitor *m, struct vmcs12 *v, uint64_t gpa, bool launch,
                       uint64_t groups, nvmx_entry_check_t *failure);
/* What an entry of the vmcs12 at @gpa must load (@groups of l2_enter):
 * L2_FULL_ENTRY (L2 built whole from vmcs12: a VMLAUNCH, another VMCS,
 * a control or CR L1 wrote), else the state groups of the fields L1
 * wrote since L2's exit (nvmx_vcpu_t.dirty). */
#define L2_FULL_ENTRY (~0ULL)
uint64_t l2_entry_groups(struct nvmx_monitor *m, uint64_t gpa, bool launch);
/* Lazy L2 guest state (nested-vmx/README.md): the groups of vmcs12's guest
 * state the last reflected exit left in vcpu02 (nvmx_vcpu_t.stale) read
 * from vcpu02 (NESTOR_VCPU_STORE_STATE) and written into that vmcs12; the
 * kernel counts them as fetched, so a reply may load them. Every path
 * that observes or changes vmcs12's guest state calls it first (nvmx_env_t
 * sync: VMREAD/VMWRITE of their fields, VMCLEAR, VMPTRLD, VMXOFF; the
 * entry checks, a full entry, a checkpoint, a reset). */
void l2_sync12(struct nvmx_monitor *m);
/* An exit of L2 (its message registers @mr, NESTOR_EXIT_MR_*): the label
 * to answer it with (*@changed: the groups of vcpu02's state it loads), or
 * NVMX_NO_REPLY. */
nestor_word_t l2_exit(struct nvmx_monitor *m, const nestor_word_t *mr, nestor_word_t *changed);
/* Hardware exception @vector (error code @error if @has_error; a #PF's
 * linear address @addr) raised by an instruction of L2 that nested-vmx
 * carries out, at that instruction: an exit to L1 where L1's exception
 * bitmap (and #PF filter) asks for it (SDM 25.2, 27.2.1, 27.2.2), else
 * delivered to L2 (CR2 loaded for a #PF, RF for a fault: 17.3.1.1). The
 * reply label for L2's exit, *@changed its groups. */
nestor_word_t l2_raise(struct nvmx_monitor *m, struct vmcs12 *v, unsigned vector, bool has_error,
                       uint32_t error, uint64_t addr, nestor_word_t *changed);
/* An exit L2 made that nested-vmx began to carry out (l2_through) turned
 * out to be L1's after all (an exception L1 intercepts, EPT12 refusing an
 * access): exit @reason with qualification @qual and the rest of the exit
 * information in @mr goes to L1 (SDM 27.2-27.6). The reply label. */
nestor_word_t l2_reflect_carried(struct nvmx_monitor *m, struct vmcs12 *v,
                                 const nestor_word_t *mr, uint32_t reason, uint64_t qual);
/* vcpu02's CR0/CR4 read shadows from vmcs12 (after its CRs were loaded). */
nestor_error_t l2_write_shadows(struct nvmx_monitor *m, const struct vmcs12 *v);
/* The VMM paused L1's vCPU for an interrupt (nvmx_setup.h NVMX_GRANT_KICK):
 * if L2 runs, pause it too, so that its exit reaches L1 (l2_exit). */
void l2_kick(struct nvmx_monitor *m);
/* An exit of L1 (basic reason @reason) came here: counted against the L2
 * exit L1 is handling, if any; a VMLAUNCH/VMRESUME ends that handling. */
void l2_count_l1_exit(struct nvmx_monitor *m, unsigned reason);
/* The VMM's count query: one log line per reason reflected. */
void l2_report(struct nvmx_monitor *m);
/* The VM was reset: forget L2 (EPT02, the running and launch bookkeeping). */
void l2_reset(struct nvmx_monitor *m);
/* The VM has ended: L2's thread stops for good and EPT02 goes (its alias
 * slices deleted, page tables unmapped). */
void l2_end(struct nvmx_monitor *m);

/* An inspector of L2 (l2_inspector.c): take its endpoints from the
 * VMM's hand-over (@node of @radix; nvmx_setup.h NVMX_GRANT_INSP_*). */
bool l2_inspector_take(struct nvmx_monitor *m, nestor_cptr_t node, unsigned radix);
/* vcpu02 was made: hand it to the inspector of L2, if any, and stack it on
 * vcpu02 at level 1. False if our budget cannot make what that takes. */
bool l2_inspector_stack(struct nvmx_monitor *m);
/* L2 enters with EPT12 @eptp12 (EPT02_NO_EPT): the L2 page says so. */
void l2_inspector_eptp(struct nvmx_monitor *m, uint64_t eptp12);
/* An entry of L2 (full or fast, vcpu02's state built from L1's and vmcs12
 * @f, not yet loaded): the inspector's debug overlay and the step it had
 * under way at the last reflected exit go back in. The state groups that
 * now need loading. */
nestor_word_t l2_inspector_enter(struct nvmx_monitor *m, const uint64_t *f);
/* vcpu02's processor-based controls the inspector of L2 adds (MOV-DR
 * exiting while its overlay is on). */
uint32_t l2_inspector_proc(const struct nvmx_monitor *m);
/* An exit of L2 is reflected to L1: the inspector's DR0-DR3/DR7, TF and
 * pending single-step trap out of vcpu02's state before L1 sees it. */
void l2_inspector_reflect(struct nvmx_monitor *m);

/* L1 executed INVEPT: drop EPT02 (SDM 28.3.3: nothing L1 invalidated may
 * stay cached). */
void l2_invept(struct nvmx_monitor *m);
/* L1 cleared (VMCLEAR) the VMCS at @gpa or left VMX operation (@gpa =
 * NVMX_NO_VMCS): if that was the VMCS L2 last ran from, nothing uses EPT02
 * any more: drop it (its alias slices and page tables go back). */
void l2_vmcs_gone(struct nvmx_monitor *m, uint64_t gpa);

/* EPT02 (ept02.c): an EPT violation of L2 at @gpa2 with qualification
 * @qual: 1 mapped (resume L2), 0 reflect (*@reason / *@qual12 set for L1:
 * an EPT violation or misconfiguration of EPT12), EPT02_DEVICE (below),
 * -1 the VM must stop (said why). */
int ept02_fault(struct nvmx_monitor *m, const struct vmcs12 *v, uint64_t gpa2, uint64_t qual,
                uint32_t *reason, uint64_t *qual12, uint64_t *device);
/* ept02_fault: EPT12 (or no EPT12) takes the access to L1-physical
 * *device, outside L1's RAM: L1's device memory, never mapped in EPT02. */
#define EPT02_DEVICE 2
void ept02_flush(struct nvmx_monitor *m);
/* The inspector of L2's mask changed in the region of L1-physical @gpa1
 * (insp_mask.h): every EPT02 mapping into it made again with EPT12's
 * rights under the mask now. */
void ept02_remask(struct nvmx_monitor *m, uint64_t gpa1);
/* EPT12's translation of L2-physical @gpa2 for an access @access
 * (EPT_QUAL_READ/WRITE/FETCH, x86_vmx.h), as the CPU walks it (SDM 28.3.2,
 * 28.3.3): 1 allowed, *@gpa1 the L1-physical address (L2-physical itself
 * without EPT12); 0 refused, *@reason an EPT violation (*@qual12 the
 * access and EPT12's permissions, Table 27-7, without the linear-address
 * bits) or misconfiguration (*@qual12 0) for L1. */
int ept12_translate(struct nvmx_monitor *m, uint64_t gpa2, uint64_t access, uint64_t *gpa1,
                    uint32_t *reason, uint64_t *qual12);

#endif
