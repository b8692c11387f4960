/*
 * nested-vmx/nvmx_setup.h - how the VMM hands nested-vmx a VM (its setup
 * call, badged CM_BADGE_SETUP like every stacked monitor's: count-monitor/
 * count_monitor.h). nested-vmx needs more than an exit table: it reads and
 * writes L1's state and memory (VMXON regions, vmcs12, operands) and
 * answers L1's exits itself. The call carries one capability, a CNode of
 * radix MR[NVMX_SETUP_MR_RADIX] the VMM fills with copies of
 *   NVMX_GRANT_VCPU     the VM's VCPU (state, exit masks at nested-vmx's
 *                       level, deferred replies)
 *   NVMX_GRANT_STATE    its state page, a frame to map
 *   NVMX_GRANT_VMM      a capability to ask the VMM for things only it
 *                       can do for this VM (requests below): its badge
 *                       tells them from exits, and they carry no exit, so
 *                       nested-vmx forges none.
 *   NVMX_GRANT_KICK     a notification the VMM signals (badge
 *                       NVMX_KICK_BADGE) when it pauses the VM's vCPU to
 *                       give it an interrupt: while L2 runs L1 waits, so
 *                       nested-vmx makes L2 exit to L1 if L1's controls
 *                       ask for external-interrupt exits (SDM 25.2).
 *                       The VMM signals it with NVMX_RESET_BADGE when the
 *                       VM has a system reset: the CPU leaves VMX operation;
 *                       with NVMX_END_BADGE when the VM has ended (exited or
 *                       stopped): L2 stops and EPT02 goes.
 *   NVMX_GRANT_EVENTS   (with the kick) a page the VMM writes and nested-vmx
 *                       reads (nvmx_events_t): the NMI and interrupt it
 *                       holds for L1 that no kick will announce, checked
 *                       at every L2 entry without an IPC.
 *   NVMX_GRANT_INSP_SETUP, NVMX_GRANT_INSP_EXITS (with NVMX_SETUP_INSPECTOR)
 *                       an inspector of L2 stacked on this VM (config
 *                       'level = <2>'): its endpoint badged CM_BADGE_SETUP
 *                       and CM_BADGE_EXIT. nested-vmx stacks it on vcpu02
 *                       (below) and can do nothing else with them.
 *   NVMX_GRANT_RAM + i  RAM frame i: guest-physical i << MR[FRAME_BITS]
 * and nothing else: nested-vmx never holds the VMM's exit endpoints or
 * another VM's objects. The reply's label is 0 when nested-vmx is ready; its MR0
 * names the CPU features the VMM must now show the guest (NVMX_SHOWS_*):
 * the VMM owns CPUID and CR4, nested-vmx only says what it adds.
 *
 * The inspector gets the same hand-over without the kick (it stops the
 * VM only at its own exits), and answers its setup with MR0 = 0.
 *
 * An inspector of L2 gets its hand-over from nested-vmx instead, when
 * nested-vmx makes vcpu02 (L1's first VMLAUNCH): the same call and layout,
 * flags NVMX_SETUP_L2, level 1 (vcpu02's exit table there holds the
 * inspector's endpoint in the #DB, #BP and pause slots; nested-vmx's is
 * level 0), with
 *   NVMX_GRANT_VCPU     vcpu02 (L2's vCPU)
 *   NVMX_GRANT_STATE    vcpu02's state page
 *   NVMX_GRANT_L2_PAGE  nested-vmx's L2 page (nvmx_l2_page_t), read-only
 *   NVMX_GRANT_INSP_NVMX  nested-vmx's endpoint badged NVMX_BADGE_INSP: the
 *                       rights it withholds in EPT02 (nvmx_insp.h)
 *   NVMX_GRANT_RAM + i  L1's RAM frames (what EPT12 and L2's memory are in)
 */
#ifndef NVMX_SETUP_H
#define NVMX_SETUP_H
#include <nestor/vcpu.h>
#include <stdbool.h>
#include <user/space.h>
#include <user/sys.h>
#include <x86_arch.h>
#include "../inspector/swbp.h"      /* insp_swbp_t: an inspector of L2's int3s (the L2 page) */

#define NVMX_GRANT_VCPU          0
#define NVMX_GRANT_STATE         1
#define NVMX_GRANT_VMM          2
#define NVMX_GRANT_KICK          3
#define NVMX_GRANT_EVENTS        4
#define NVMX_GRANT_L2_PAGE       NVMX_GRANT_EVENTS   /* (nested-vmx to an inspector of L2) */
#define NVMX_GRANT_INSP_NVMX     NVMX_GRANT_VMM      /* (ditto: its EPT02 requests) */
#define NVMX_GRANT_INSP_SETUP    5
#define NVMX_GRANT_INSP_EXITS    6
#define NVMX_GRANT_RAM           7
#define NVMX_EVENTS_OFFSET       0x1000   /* the events page maps right after the state page */
#define NVMX_KICK_BADGE          (1ULL << 40)
#define NVMX_RESET_BADGE         (1ULL << 41)
#define NVMX_END_BADGE           (1ULL << 42)
/*
 * Requests on NVMX_GRANT_VMM:
 *   NVMX_REQ_STOP  (send) L2 cannot go on while L1 waits for it: stop the VM.
 *   NVMX_REQ_IO    (call) an I/O port access L2 makes that L1 lets through
 *                  (its I/O bitmaps): L1's own device answers. MR0 port,
 *                  MR1 size (1, 2, 4), MR2 1 = IN, MR3 the value (OUT).
 *                  Reply label NVMX_REQ_OK with MR0 the value (IN), or
 *                  NVMX_REQ_ENDED (the access ended or reset the VM).
 *   NVMX_REQ_MSR   (call) RDMSR/WRMSR of an MSR of L1's platform (the TSC,
 *                  the APIC base, MTRRs...) that L1 lets L2 access. MR0 MSR,
 *                  MR1 1 = write, MR2 the value. Reply NVMX_REQ_OK with MR0
 *                  the value (read), or NVMX_REQ_FAULT (#GP).
 *   NVMX_REQ_CR8   (call) MOV to/from CR8 (L1's task priority) that L1 does
 *                  not intercept. MR0 1 = write, MR1 the value. Reply as MSR.
 *   NVMX_REQ_ACK   (call) MR0 NVMX_ACK_INTR: L2 exits to L1 for L1's
 *                  external interrupt with "acknowledge interrupt on exit"
 *                  (SDM 24.7.1, 27.2.2): the VMM acknowledges the
 *                  highest-priority interrupt pending at L1's virtual
 *                  interrupt controllers as the CPU's INTA cycle (8259) or
 *                  acceptance (local APIC) would: it is in service from now
 *                  on, and L1 must EOI it. Reply NVMX_REQ_OK with MR0 its
 *                  vector, or NVMX_REQ_NONE when none is pending any more
 *                  (the VMM then signals the kick again for the next one).
 *                  MR0 NVMX_ACK_NMI: L1's pending NMI is taken, by an NMI
 *                  exit of L2 (SDM 25.2, "NMI exiting") or delivered to L2
 *                  (25.3): the VMM's local APIC of L1 no longer holds it.
 *                  Reply NVMX_REQ_OK, or NVMX_REQ_NONE if none is pending.
 *   NVMX_REQ_MMIO  (call) an access L2 makes to L1-physical memory outside
 *                  L1's RAM (EPT12 maps it there): L1's device at that
 *                  address answers, as to L1's own access. MR0 the
 *                  L1-physical address, MR1 size (1, 2, 4, 8), MR2 1 =
 *                  write, MR3 the value (write). Reply NVMX_REQ_OK with MR0
 *                  the value (read), or NVMX_REQ_NONE: no device there, or
 *                  the access leaves its page or is refused by it.
 */
#define NVMX_REQ_STOP            0x5354   /* "ST" */
#define NVMX_REQ_IO              0x494F   /* "IO" */
#define NVMX_REQ_MSR             0x4D53   /* "MS" */
#define NVMX_REQ_CR8             0x4338   /* "C8" */
#define NVMX_REQ_ACK             0x414B   /* "AK" */
#define NVMX_REQ_MMIO            0x4D4D   /* "MM" */
#define NVMX_ACK_INTR            0
#define NVMX_ACK_NMI             1
#define NVMX_REQ_OK              0
#define NVMX_REQ_ENDED           1
#define NVMX_REQ_FAULT           2
#define NVMX_REQ_NONE            3
#define NVMX_GRANT_RAM_INDEX(i)  (NVMX_GRANT_RAM + (i))
/* Right after the @frames RAM frames, for an inspector or a checkpoint
 * monitor on the VM (not nested-vmx): the VM's EPT restricted to its RAM
 * [0, ram bytes) (NESTOR_EPT_RESTRICT): an inspector withholds rights of its
 * leaves for watchpoints (NESTOR_EPT_PROTECT), a checkpoint monitor reads
 * their dirty flags (NESTOR_EPT_READ_AD); neither maps anything there (the
 * VMM's frames fill it) nor touches anything outside it. */
#define NVMX_GRANT_RAM_EPT(frames) (NVMX_GRANT_RAM + (frames))

#define NVMX_SETUP_MR_RADIX      0
#define NVMX_SETUP_MR_RAM_BYTES  1
#define NVMX_SETUP_MR_FRAME_BITS 2
#define NVMX_SETUP_MR_LEVEL      3    /* nested-vmx's level in the VCPU's exit tables */
#define NVMX_SETUP_MR_FLAGS      4    /* NVMX_SETUP_* below */
#define NVMX_SETUP_MRS           5

/* MR[NVMX_SETUP_MR_FLAGS]: the VM's config says 'vmcs-shadowing = "off"'
 * (stack-configs/BINDINGS.md): no shadow VMCS for L1 even where the CPU has
 * VMCS shadowing, every VMREAD/VMWRITE of L1 exits. */
#define NVMX_SETUP_NO_SHADOWING  1u
/* ... the hand-over has an inspector of L2 (NVMX_GRANT_INSP_*). */
#define NVMX_SETUP_INSPECTOR     2u
/* (nested-vmx to an inspector) the VCPU is vcpu02, with the L2 page. */
#define NVMX_SETUP_L2            4u

/* Reply MR0: CPUID.1:ECX.VMX and CR4.VMXE (SDM Vol. 3C 23.6, 23.7) */
#define NVMX_SHOWS_VMX           1u

/* The events page (NVMX_GRANT_EVENTS), written by the VMM whenever what
 * it holds for L1 changes (at L1's exits it serves, its requests, a tick
 * that kicks), read by nested-vmx at each L2 entry and at a kick:
 *   nmi        an NMI for L1 is pending at its local APIC (ICR, LINT0/1 in
 *              NMI mode; held while L1 blocks NMIs, so no kick announces
 *              it): L2 exits for it with "NMI exiting" (SDM 25.2), else it
 *              is delivered to L2 (25.3); pending at an entry it is
 *              recognized right after it (26.7.5).
 *   intr       a maskable interrupt is pending at L1's 8259 or local APIC
 *              (held for L1's interrupt window: L1 enters L2 with RFLAGS.IF
 *              0, so no kick announces it): with "external-interrupt
 *              exiting" L2 exits for it whatever its RFLAGS.IF (25.2),
 *              right after an entry it is pending at (26.7.5).
 * Words, each written whole: nested-vmx reads them without a lock (a
 * stale value costs one pause of L2, never a lost event: the VMM still
 * injects it into L1). */
typedef struct nvmx_events {
    volatile uint32_t nmi;
    volatile uint32_t intr;
} nvmx_events_t;

/* The L2 page (NVMX_GRANT_L2_PAGE), shared by nested-vmx and an inspector
 * of L2; the inspector writes it only while it holds an exit of vcpu02
 * (then L1 waits and nested-vmx does not run L2), nested-vmx reads it at
 * L2's entries and reflected exits (l2_inspector.c) and checks what it
 * takes from it. Written by nested-vmx at each entry:
 *   eptp12     the EPT pointer L1 gave L2 (SDM 24.6.11), whose tables in
 *              L1's RAM translate L2-physical addresses; NVMX_L2_NO_EPT when
 *              L1 does not use EPT for L2 (L2-physical = L1-physical);
 *   l1_movdr   nonzero if L1 asks for L2's MOV DR exits (vmcs12's "MOV-DR
 *              exiting", SDM 24.6.2, 25.1.3).
 * Written by the inspector (its debug overlay and its single step):
 *   debug      NVMX_L2_DEBUG_* below;
 *   dr, dr7    with NVMX_L2_DEBUG_OVERLAY: its DR0-DR3 and DR7, which
 *              vcpu02 runs with instead of L2's own (nested-vmx puts them
 *              in at each entry and takes them out at each reflected exit;
 *              the inspector sets MOV-DR exiting on vcpu02 meanwhile and
 *              takes L2's MOV DRs that L1 does not ask for).
 * Written by both, with NVMX_L2_DEBUG_OVERLAY:
 *   own_dr, own_dr7  L2's own DR0-DR3 and DR7 as L2 and L1 see them:
 *              nested-vmx writes them at each entry (from L1's DR0-DR3 and
 *              vmcs12's or L1's DR7, SDM 26.3.2.1), the inspector at each
 *              MOV DR of L2 it carries out; L1 gets them at each reflected
 *              exit (its DR0-DR3, vmcs12's guest DR7: SDM 27.3.1).
 * Written by the inspector, and by nested-vmx for L1:
 *   bps        the inspector's int3s in L1's RAM (inspector/swbp.h, its Z0s
 *              beyond the debug registers, hidden from L2 by execute-only
 *              EPT02 entries, nvmx_insp.h): at each reflected exit nested-vmx
 *              puts L2's bytes back under those planted (swbp_lift, so that
 *              L1, which may read L2's code, never sees one) and at the next
 *              entry plants them again over what is there then
 *              (swbp_replant_some: a byte L1 wrote is the one the breakpoint
 *              keeps); an entry whose address is outside L1's RAM is
 *              skipped. */
#define NVMX_L2_NO_EPT           (~0ULL)
#define NVMX_L2_DEBUG_OVERLAY    1u   /* dr, dr7 are vcpu02's instead of L2's own */
#define NVMX_L2_DEBUG_STEP       2u   /* vcpu02's RFLAGS.TF is the inspector's single step: */
                                      /* L1 never sees it, nor its pending BS (SDM 24.4.2) */
#define NVMX_L2_DEBUG_GUEST_TF   4u   /* ... and L2's own TF was set before the step */
#define NVMX_L2_BPS              SWBP_SET_MAX   /* the inspector's int3s at once */
typedef struct nvmx_l2_page {
    volatile uint64_t eptp12;
    volatile uint64_t l1_movdr;
    volatile uint64_t debug;
    volatile uint64_t dr[X86_DEBUG_SLOTS], dr7;
    volatile uint64_t own_dr[X86_DEBUG_SLOTS], own_dr7;
    insp_swbp_t bps[NVMX_L2_BPS];
} nvmx_l2_page_t;
_Static_assert(sizeof(nvmx_l2_page_t) <= 4096, "the L2 page is one page");

/* What a monitor took of its VM (grant_take.c). */
typedef struct {
    nestor_cptr_t vcpu, vmm, kick;  /* vmm: 0 if the hand-over has none; kick: 0 unless
                                       asked for */
    nestor_vcpu_state_t *state;     /* mapped */
    const nvmx_events_t *events;    /* mapped read-only at state + 4 KiB with the kick, or NULL */
    uint8_t *ram;                   /* mapped */
    uint64_t ram_bytes;
    unsigned level;                 /* the monitor's level in the VCPU's exit tables */
    nestor_cptr_t node;             /* the VMM's CNode (its frames, for EPT02) */
    unsigned radix, frame_bits;
    nestor_cptr_t ram_frames;       /* our copies of the RAM frames: frame i at ram_frames + i */
} nvmx_grant_t;

/* Check the setup message @msg whose capability came into @node, take the
 * VM's VCPU, stop capability (required with @kick) and (@kick)
 * notification and events page, and
 * map its state page at @state_va (the events page after it) and its RAM
 * from @ram_va. False if any is unusable. */
bool nvmx_grant_take(nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *msg, bool kick,
                     nestor_word_t state_va, nestor_word_t ram_va, nvmx_grant_t *g);

#endif
