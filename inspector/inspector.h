/*
 * inspector/inspector.h - the inspector monitor: one VM's GDB stub. main.c
 * takes the VM the VMM hands it (nested-vmx/nvmx_setup.h) and the host
 * serial port init grants it, and serves; uart.c is the link to gdb;
 * target.c is the protocol engine's backend (rsp.h): the guest's
 * registers, memory, breakpoints and run control; cmds.c the "monitor"
 * commands.
 *
 * Run control without the guest's help. The VM's vCPU stops at an exit
 * boundary: an exit that reaches us (our pause, NESTOR_VCPU_PAUSE at our
 * level; a #BP on one of our breakpoints; the #DB that ends our single
 * step) is simply not answered until gdb resumes the target; then a
 * deferred reply (NESTOR_VCPU_REPLY) lets it go on. Exits of those kinds
 * that are not ours are passed on (the guest's own int3 and #DB are
 * reflected into it as if nobody had intercepted them).
 */
#ifndef INSPECTOR_H
#define INSPECTOR_H
#include <user/hostuart.h>
#include "dregs.h"
#include "ewatch.h"
#include "rsp.h"
#include "swbp.h"
#include <nestor/vcpu.h>
#include <x86_arch.h>
#include <user/space.h>
#include <user/sys.h>

#define INSP_MAX_SW_BPS   64      /* gdb's software breakpoints (int3 bytes) at once */
#define INSP_INBUF        8192    /* bytes from gdb held while the target stops */
#define INSP_EW_STEP_LEAVES 4     /* protected leaves one stepped instruction may touch */


/* A step's hidden int3 at the entry of a vector's handler (target.c): a
 * temporary software breakpoint (swbp.h, in sw_temp beside gdb's sw). */
#define STEP_BP_SYSCALL   X86_VECTORS                  /* ... or of SYSCALL's */
#define INSP_STEP_BPS     (X86_VECTORS + 1)
typedef struct {
    uint64_t rip;                 /* the handler's RIP */
    uint64_t gpa;                 /* where the int3 is */
    uint16_t vector;              /* or STEP_BP_SYSCALL */
    uint8_t word;                 /* bytes per slot of its frame */
    bool trap;                    /* a trap gate: IF as it was (SDM Vol. 3A 6.12.1.3) */
    insp_swbp_t *bp;              /* ours, temporary (else NULL: gdb's, another
                                     vector's, or none where the step's instruction
                                     reads or writes that byte) */
} insp_stepbp_t;

typedef enum {
    TGT_RUNNING,                  /* the guest runs; no exit held */
    TGT_STOPPING,                 /* we asked for a pause; not yet arrived */
    TGT_STOPPED,                  /* we hold an exit */
} insp_tstate_t;

/* A 2 MiB EPT leaf of the VMM's we split into 4 KiB ones (NESTOR_EPT_SPLIT)
 * in an EPT PT of our own memory, kept for the next split once joined. At
 * most one per 2 MiB holding a protection: each EPT watch's two pages and
 * each hidden int3's page. */
#define INSP_SPLITS (EWATCH_MAX * 2 + INSP_MAX_SW_BPS)
typedef struct {
    uint64_t base;                /* the leaf's guest-physical base */
    nestor_cptr_t pt;             /* our EPT PT (0: none retyped yet) */
    bool used;                    /* the leaf is split with it now */
} insp_split_t;

typedef struct insp {
    char name[32];                /* our monitor name (the config's node) */
    nestor_cptr_t ep;             /* exits and the setup arrive here */
    nestor_cptr_t vcpu;           /* the VM's VCPU */
    nestor_cptr_t parent_ep;      /* init's endpoint ("monitor restart NAME") */
    nestor_cptr_t ckpt;           /* the VM's checkpoint monitor (CKPT_BADGE_COMMAND), or 0 */
    nestor_cptr_t ept;            /* the VM's EPT restricted to its RAM (NVMX_GRANT_RAM_EPT,
                                     NESTOR_EPT_PROTECT for EPT watchpoints), or 0 (at L2) */
    bool ept_all;                 /* read watches withhold all rights: the CPU has no
                                     execute-only EPT (SDM A.10), or the config says
                                     so (inspector.no-exec-only) */
    bool int3_plain;              /* gdb's Z0s plain int3s, neither hidden nor in debug
                                     registers (inspector.plain-int3) */
    nestor_vcpu_state_t *s;       /* its state page, mapped */
    uint8_t *ram;                 /* its RAM, mapped */
    uint64_t ram_bytes;
    unsigned level;               /* our level in the VCPU's exit tables */
    /* An inspector of L2 (config 'level = <2>'): the VCPU is nested-vmx's
     * vcpu02, the RAM is L1's, and this is nested-vmx's L2 page (its EPTP12,
     * nested-vmx/nvmx_setup.h); NULL when we debug our VM's own guest. */
    struct nvmx_l2_page *l2;
    nu_alloc_t alloc;
    /* the host serial port */
    nu_hostuart_t uart;                 /* the host's COM2 (user/hostuart.h) */
    /* the target */
    insp_tstate_t state;
    nestor_word_t dirty;          /* state-page groups changed while stopped */
    bool stepping;                /* TF is ours until the step's #DB */
    bool guest_tf;                /* the guest's own TF while we step */
    bool if_masked;               /* the guest's IF was 1: ours is 0 while we step */
    bool step_sets_if;            /* the stepped instruction writes IF itself */
    insp_step_insn_t step;        /* the instruction the step began at (dregs.h) */
    uint64_t step_rip, step_rsp;  /* where it began */
    /* hidden int3s at the handlers' entries end the step there */
    insp_stepbp_t step_bps[INSP_STEP_BPS];
    unsigned n_step_bps;
    bool interrupt_pending;       /* gdb's Ctrl-C: report SIGINT at the pause */
    bool attached;                /* gdb has spoken since the last detach */
    /* gdb's int3s: sw_own, or at L2 the L2 page's bps, which nested-vmx
     * lifts for L1 at each exit of L2 to it (nested-vmx/nvmx_setup.h) */
    insp_swbp_t *sw;
    insp_swbp_t sw_own[INSP_MAX_SW_BPS];
    /* a step's temporary ones (ours at L2 too: L1 may read them while the
     * step runs, README "Not yet") */
    insp_swbp_t sw_temp[INSP_STEP_BPS];
    bool lift_entries;            /* an access lifts the step's int3s too (ept_violation) */
    bool step_protected;          /* the step's int3s' leaves protected for it (step_begin) */
    insp_hwbp_t hw[4];            /* X86_DEBUG_SLOTS debug registers */
    nestor_word_t guest_dr[4], guest_dr7;   /* the guest's own, while we hold any (L1) */
    /* Where the guest's own are: guest_dr, guest_dr7 at L1; at L2 the L2
     * page's own_dr, own_dr7 (nested-vmx keeps them there across L1's
     * entries and gives them to L1, nvmx_setup.h: our debug overlay). */
    volatile nestor_word_t *own_dr, *own_dr7;
    bool guest_dr_saved;          /* ... and MOV DR exits to us (we set MOV-DR exiting) */
    /* EPT watchpoints (ewatch.h): Z2-Z4 the debug registers cannot take */
    ewatch_set_t ew;
    unsigned leaf_bits;           /* the EPT leaves we protect: 4 KiB pages (the VMM's
                                     2 MiB leaves split), else the VMM's RAM frames */
    unsigned frame_bits;          /* the VMM's RAM frames (its leaves unless split) */
    insp_split_t splits[INSP_SPLITS];
    uint64_t splits_made;         /* NESTOR_EPT_SPLITs done ("monitor exits") */
    /* An access to a protected leaf: its rights back for one step. */
    uint64_t ew_leaf[INSP_EW_STEP_LEAVES];
    unsigned n_ew_leaves;         /* leaves given back for the step (0: none; one more
                                     than INSP_EW_STEP_LEAVES: more than we kept) */
    int ew_hit;                   /* the watch the step's access hits, or -1 */
    uint64_t ew_digest[EWATCH_MAX];   /* the write watches' bytes before it (ewatch_digest) */
    bool ew_decoded;              /* the step's instruction was decoded (insn_access.h):
                                     its accesses decide the hit, not a page walk's */
    bool ew_silent;               /* the step is ours alone (gdb asked for none) */
    /* our exit tables (ours, not the VMM's): with EPT violations while an
     * EPT watchpoint is set, without them after */
    nestor_cptr_t table_ew, table_plain;
    /* gdb's bytes that arrived while the guest ran and gdb did not know */
    uint8_t inbuf[INSP_INBUF];
    size_t inlen;
    struct rsp rsp;
    /* counts for "monitor exits" */
    uint64_t exits_ept_fetch;     /* of exits_ept: fetches (all rights withheld) */
    uint64_t exits_bp_leaf;       /* of exits_ept: in our breakpoints' leaves */
    uint64_t exits_pause, exits_bp, exits_db, exits_dr, exits_ept, passed_on, bytes_in,
        bytes_out;
} insp_t;

/* main.c: the slots of our exits at our level, EPT violations last. */
#define INSP_EXIT_SLOTS 5
extern const nestor_word_t insp_exit_slots[INSP_EXIT_SLOTS];

/* uart.c: the host serial port granted by init. */
bool uart_setup(insp_t *in, const nestor_bootinfo_t *bi, nestor_cptr_t notification);
void uart_put(insp_t *in, const uint8_t *buf, size_t n);
/* Read what the port holds into @buf (at most @cap bytes); acks the IRQ. */
size_t uart_drain(insp_t *in, uint8_t *buf, size_t cap);

/* target.c: the backend and the exits. */
extern const struct rsp_ops insp_ops;
/* An exit at our level: held (the target stopped) or passed on. */
void target_exit(insp_t *in, const nestor_word_t *mr);
/* Stop the running guest (a pause at our level). */
void target_pause(insp_t *in);
/* Guest-virtual @va to guest-physical, through the guest's page tables. */
bool target_translate(insp_t *in, uint64_t va, uint64_t *gpa);

/* cmds.c: "monitor CMD". */
int insp_monitor_cmd(void *ctx, struct rsp *r, const char *cmd);

#endif
