/*
 * nestor/vcpu.h - virtual CPUs: how a guest runs and how its exits reach
 * user-level monitors.
 *
 * A VCPU object (a VMCS and kernel state) is bound to a TCB, its vCPU thread.
 * When the scheduler runs that thread, the kernel enters the guest instead of
 * user mode. Each VM exit is sent, like a fault, to the endpoint in slot
 * <reason> of the VCPU's exit table (a CNode of radix NESTOR_EXIT_TABLE_RADIX
 * the monitor supplies; exception exits use slot NESTOR_EXIT_SLOT_EXCEPTION
 * + vector). Monitors stack by levels of tables (below); an exit never visits
 * a monitor that did not take its reason. The badge of the slot's capability
 * tells the handler which VCPU exited.
 *
 * Guest state crosses in the VCPU's state page (nestor_vcpu_state_t, a frame
 * the monitor maps): on an exit the kernel writes the groups of fields named
 * by the slot's transfer mask (NESTOR_VCPU_SET_EXIT_MASK); the handler's reply
 * says in MR0 which groups it changed, and only those are loaded back.
 *
 * Exit message: label NESTOR_FAULT_VM_EXIT; MRs as NESTOR_EXIT_MR_*.
 * Reply: label NESTOR_EXIT_REPLY_* (below), MR0 = the groups changed.
 *
 * Stacking. A VCPU has up to NESTOR_EXIT_LEVELS exit tables. Level 0 is the
 * VMM's; a monitor stacked on it gets a table at a higher level holding its
 * endpoint in the slots of the reasons it takes, and nothing else. An exit
 * goes to the highest level whose table has an endpoint in the exit's slot;
 * that handler's reply says RESUME (enter the guest), PASS_ON (the kernel
 * sends the same exit to the next lower level with a handler for the slot:
 * no monitor ever holds another's endpoint, so none can forge an exit) or
 * STOP. The groups a reply names are loaded first, so the next handler sees
 * them. An exit no level handles stops the vCPU, except an exception exit,
 * which is reflected into the guest as if nobody had intercepted it.
 *
 * Routing is computed when a table is set (NESTOR_VCPU_SET_EXIT_TABLE): for
 * each slot, the highest level holding an endpoint there, where an exit's
 * search starts (so a reason no stacked monitor takes costs nothing extra);
 * and the exception bitmap (SDM 24.6.3), which monitors do not write: the
 * exception slots (NESTOR_EXIT_SLOT_EXCEPTION + vector) holding an endpoint
 * at any level, plus #DB, #AC and #MC, which always exit (a guest could
 * otherwise loop the CPU in their delivery; a machine check is the host's).
 * A handler put into a table later counts once the table is set again; one
 * deleted from a table is skipped at once.
 *
 * Deferred replies. NESTOR_VCPU_REPLY on the VCPU capability answers the
 * exit its thread waits on, from any thread, as the handler's reply would;
 * the handler may meanwhile receive other exits.
 */
#ifndef NESTOR_VCPU_H
#define NESTOR_VCPU_H
#include <nestor/bits.h>
#include <nestor/types.h>

#define NESTOR_EXIT_TABLE_RADIX      8
#define NESTOR_EXIT_LEVELS           4            /* exit tables per VCPU (0: the VMM's) */

/* Replies to an exit (the reply's label). */
#define NESTOR_EXIT_REPLY_RESUME     0
#define NESTOR_EXIT_REPLY_PASS_ON    1
#define NESTOR_EXIT_REPLY_STOP       2            /* (and any other label) */
#define NESTOR_VMCS_BULK_MAX         32           /* fields per READ_VMCS / WRITE_VMCS */
#define NESTOR_EXIT_SLOT_EXCEPTION   128          /* + vector, for exception exits */
#define NESTOR_EXIT_SLOT_ENTRY_FAIL  127          /* VM entry failed (guest state) */

/* SDM 24.9.1 (exit reason field): bits 15:0 are the basic exit reason. */
#define NESTOR_EXIT_REASON_MASK      0xFFFFu

/* Basic exit reasons (SDM Vol. 3D Appendix C) */
#define NESTOR_EXIT_EXCEPTION        0
#define NESTOR_EXIT_EXTERNAL_INT     1
#define NESTOR_EXIT_TRIPLE_FAULT     2
#define NESTOR_EXIT_INIT             3
#define NESTOR_EXIT_SIPI             4
#define NESTOR_EXIT_INTR_WINDOW      7
#define NESTOR_EXIT_NMI_WINDOW       8
#define NESTOR_EXIT_TASK_SWITCH      9
#define NESTOR_EXIT_CPUID            10
#define NESTOR_EXIT_GETSEC           11
#define NESTOR_EXIT_HLT              12
#define NESTOR_EXIT_INVD             13
#define NESTOR_EXIT_INVLPG           14
#define NESTOR_EXIT_RDPMC            15
#define NESTOR_EXIT_RDTSC            16
#define NESTOR_EXIT_VMCALL           18
#define NESTOR_EXIT_VMCLEAR          19
#define NESTOR_EXIT_VMLAUNCH         20
#define NESTOR_EXIT_VMPTRLD          21
#define NESTOR_EXIT_VMPTRST          22
#define NESTOR_EXIT_VMREAD           23
#define NESTOR_EXIT_VMRESUME         24
#define NESTOR_EXIT_VMWRITE          25
#define NESTOR_EXIT_VMXOFF           26
#define NESTOR_EXIT_VMXON            27
#define NESTOR_EXIT_CR_ACCESS        28
#define NESTOR_EXIT_DR_ACCESS        29
#define NESTOR_EXIT_IO               30
#define NESTOR_EXIT_RDMSR            31
#define NESTOR_EXIT_WRMSR            32
#define NESTOR_EXIT_INVALID_STATE    33
#define NESTOR_EXIT_MSR_LOADING      34
#define NESTOR_EXIT_MWAIT            36
#define NESTOR_EXIT_MTF              37
#define NESTOR_EXIT_MONITOR          39
#define NESTOR_EXIT_PAUSE            40
#define NESTOR_EXIT_MACHINE_CHECK    41
#define NESTOR_EXIT_EPT_VIOLATION    48
#define NESTOR_EXIT_EPT_MISCONFIG    49
#define NESTOR_EXIT_INVEPT           50
#define NESTOR_EXIT_RDTSCP           51
#define NESTOR_EXIT_PREEMPT_TIMER    52
#define NESTOR_EXIT_INVVPID          53
#define NESTOR_EXIT_WBINVD           54
#define NESTOR_EXIT_XSETBV           55
#define NESTOR_EXIT_RDRAND           57
#define NESTOR_EXIT_INVPCID          58
#define NESTOR_EXIT_VMFUNC           59
#define NESTOR_EXIT_RDSEED           61
#define NESTOR_EXIT_PML_FULL         62           /* the page-modification log is full */
#define NESTOR_EXIT_XSAVES           63
#define NESTOR_EXIT_XRSTORS          64
#define NESTOR_EXIT_REASONS          128          /* table slots for basic reasons */

/*
 * Doorbells (NESTOR_VCPU_SET_DOORBELL; device-servers/README.md "Doorbell").
 * Up to NESTOR_DOORBELL_MAX guest-physical ranges per VCPU, each of at most
 * NESTOR_DOORBELL_MAX_BYTES inside one 4 KiB page, that no EPT leaf of the
 * VCPU maps when set (a page mapped there later simply does not exit), and
 * that do not overlap each other. An EPT-violation exit (SDM Vol. 3C
 * 28.3.3.2) whose guest-physical address (27.2.1) falls in a range goes to
 * that entry's endpoint, whatever the exit tables say: the same exit
 * message (label NESTOR_FAULT_VM_EXIT, NESTOR_EXIT_MR_*), the badge the
 * VMM minted on the endpoint's capability, and the groups
 * NESTOR_DOORBELL_GROUPS written to the entry's own state page (not the
 * VCPU's: the server never sees the VMM's page). The server's reply:
 *   RESUME   MR0 the groups it changed, within NESTOR_DOORBELL_REPLY_GROUPS
 *            (the registers an emulated access writes and RIP past it);
 *            any other group refuses the next entry (NESTOR_ENTRY_REFUSED |
 *            NESTOR_REFUSED_UNFETCHED | those groups, to the VMM's slot 127)
 *   PASS_ON  the exit goes to the exit tables as if no doorbell had taken it
 *            (the VMM's MMIO path: an instruction the server does not
 *            emulate, an exception to inject), after the groups it changed
 *   anything else (STOP included) from the server: the exit goes to the
 *            exit tables as for PASS_ON, nothing loaded (a server cannot
 *            stop the VM; its VMM's NESTOR_VCPU_REPLY can).
 * The exit waits for the server at most the entry's timeout: then, or when
 * the endpoint is deleted while the exit waits on it or the server holding
 * its reply is deleted, the kernel says so once and passes the exit on to
 * the exit tables, and the entry is off (its exits go to the tables) until
 * set again. An entry whose endpoint capability was deleted is skipped.
 */
#define NESTOR_DOORBELL_MAX          4
#define NESTOR_DOORBELL_MAX_BYTES    4096
#define NESTOR_DOORBELL_GROUPS       (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | \
                                      NESTOR_MTD_RFLAGS | NESTOR_MTD_CR | NESTOR_MTD_SEGS)
#define NESTOR_DOORBELL_REPLY_GROUPS (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | \
                                      NESTOR_MTD_RFLAGS)

/* Guest activity states a monitor may set (SDM 24.4.2). Shutdown (2) and
 * wait-for-SIPI (3) are refused: in them neither external interrupts nor
 * the VMX-preemption timer bring the CPU back to the kernel (SDM 25.5.1,
 * 26.6.6), so a guest there would own the CPU. */
#define NESTOR_ACTIVITY_ACTIVE       0
#define NESTOR_ACTIVITY_HLT          1

/*
 * Refused entries. Guest state the kernel will not enter is never loaded:
 * an invocation that carries it fails with NESTOR_ERR_INVALID_ARGUMENT; a
 * reply that carries it makes the next entry fail like a hardware entry
 * failure (SDM 26.8): an exit with reason NESTOR_EXIT_INVALID_STATE | bit 31
 * to slot NESTOR_EXIT_SLOT_ENTRY_FAIL, qualification NESTOR_ENTRY_REFUSED |
 * why. Why is NESTOR_REFUSED_UNFETCHED | the groups a reply named that the
 * handler was never given at this exit (their page contents are stale: the
 * exit's transfer mask or NESTOR_VCPU_STORE_STATE must fetch a group before
 * a reply may load it; NESTOR_MTD_INJECT needs no fetch), or else the byte
 * offset in nestor_vcpu_state_t of the field whose value was refused.
 */
#define NESTOR_ENTRY_REFUSED         BIT(32)
#define NESTOR_REFUSED_UNFETCHED     BIT(31)

/*
 * Page-modification logging (SDM 28.3.6): with a log page set
 * (NESTOR_VCPU_SET_PML), every guest write that sets an EPT dirty flag
 * appends its page's guest-physical address to the page, from entry 511
 * down, the VMCS field VMCS_GUEST_PML_INDEX (readable and writable: nestor/
 * vmcs.h) saying where the next one goes. When the index has run out the
 * guest exits with NESTOR_EXIT_PML_FULL before the write; the monitor drains
 * the page and sets the index back to NESTOR_PML_ENTRIES - 1.
 */
#define NESTOR_PML_ENTRIES           512

/* Qualification of a NESTOR_EXIT_PREEMPT_TIMER exit a monitor gets: a pause
 * it asked for (NESTOR_VCPU_PAUSE), or its own timer ran out
 * (NESTOR_VCPU_SET_TIMER). The kernel's own time slices never reach monitors:
 * the timer loaded at each entry is the smaller of the kernel's slice and the
 * monitor's time left, and the exit says whose ran out. */
#define NESTOR_PREEMPT_PAUSE         1
#define NESTOR_PREEMPT_MONITOR_TIMER 2

/* Exit message registers */
#define NESTOR_EXIT_MR_REASON        0   /* full exit reason (bit 31: entry failure) */
#define NESTOR_EXIT_MR_QUALIFICATION 1
#define NESTOR_EXIT_MR_GUEST_LINEAR  2
#define NESTOR_EXIT_MR_GUEST_PHYS    3
#define NESTOR_EXIT_MR_INSTR_LEN     4
#define NESTOR_EXIT_MR_INSTR_INFO    5
#define NESTOR_EXIT_MR_INTR_INFO     6
#define NESTOR_EXIT_MR_INTR_ERROR    7
#define NESTOR_EXIT_MR_RIP           8   /* guest RIP at the exit, always sent */
/* SDM 27.2.4: the event the exit interrupted while it was being delivered
 * (valid bit 31). A monitor that resumes the guest must re-inject it
 * (through NESTOR_MTD_INJECT) or the event is lost. */
#define NESTOR_EXIT_MR_IDT_VECTORING 9
#define NESTOR_EXIT_MR_IDT_ERROR     10
#define NESTOR_EXIT_MR_COUNT         11

/* Transfer mask: groups of state page fields. */
#define NESTOR_MTD_GPRS      BIT(0)   /* rax..r15 except rsp */
#define NESTOR_MTD_RSP       BIT(1)
#define NESTOR_MTD_RIP       BIT(2)
#define NESTOR_MTD_RFLAGS    BIT(3)
#define NESTOR_MTD_CR        BIT(4)   /* cr0, cr2, cr3, cr4, efer */
#define NESTOR_MTD_SEGS      BIT(5)   /* es cs ss ds fs gs */
#define NESTOR_MTD_SYS_SEGS  BIT(6)   /* ldtr tr gdtr idtr */
#define NESTOR_MTD_INTR      BIT(7)   /* interruptibility, activity state, pending debug
                                         exceptions (SDM 24.4.2) */
#define NESTOR_MTD_INJECT    BIT(8)   /* reply only: inject an event (entry interruption info) */
#define NESTOR_MTD_MSRS      BIT(9)   /* sysenter_*, star, lstar, cstar, fmask, kernel_gs_base,
                                         pat, tsc_aux: switched by the kernel per vCPU */
#define NESTOR_MTD_DEBUG     BIT(10)  /* dr0-dr3, dr6, dr7, debugctl */
#define NESTOR_MTD_XCR0      BIT(11)  /* xcr0 (XSETBV; a subset of what the host enables) */
#define NESTOR_MTD_PDPTE     BIT(12)  /* pdpte[0-3]: PAE paging with EPT loads them from here
                                         at entry, not from guest memory (SDM 26.3.2.4) */
#define NESTOR_MTD_ALL       (BIT(13) - 1)
/* Two groups outside NESTOR_MTD_ALL, named only on purpose (fetched at an
 * exit by a transfer mask or NESTOR_VCPU_STORE_STATE, loaded by a reply or
 * NESTOR_VCPU_LOAD_STATE; a reply may load them without a fetch, as
 * NESTOR_MTD_INJECT): what a monitor would otherwise ask for with an
 * invocation of its own at each exit (nested-vmx, nested-vmx/README.md). */
#define NESTOR_MTD_TIMER     BIT(13)  /* timer: fetched, the guest time left of the monitor
                                         timer (NESTOR_VCPU_SET_TIMER's answer, without
                                         changing it); loaded, the timer set to it as
                                         NESTOR_VCPU_SET_TIMER would (an exit owed is
                                         dropped) for the level of the handler of the exit
                                         being answered (the last exit's, for LOAD_STATE) */
#define NESTOR_MTD_SHADOW    BIT(14)  /* shadow[]: the fields of the bound shadow VMCS named
                                         at NESTOR_VCPU_SET_SHADOW, in that order: fetched,
                                         those whose bit is set in shadow_fetch are read
                                         from the shadow; loaded, those whose bit is set in
                                         shadow_load are written to it (the monitor sets
                                         both masks in the page; bits past the fields named
                                         are ignored). No shadow bound, or none named: not
                                         fetched (mtd says so), and a load writes nothing */
#define NESTOR_MTD_VALID     (NESTOR_MTD_ALL | NESTOR_MTD_TIMER | NESTOR_MTD_SHADOW)
#define NESTOR_SHADOW_SYNC_MAX 16     /* fields NESTOR_MTD_SHADOW moves */

typedef struct {
    uint64_t base;
    uint32_t limit;
    uint32_t ar;            /* access rights as in the VMCS (SDM 24.4.1) */
    uint16_t sel;
    uint16_t pad[3];
} nestor_vcpu_seg_t;

typedef struct nestor_vcpu_state {
    nestor_word_t mtd;      /* groups the kernel wrote at this exit */
    nestor_word_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    nestor_word_t r8, r9, r10, r11, r12, r13, r14, r15;
    nestor_word_t rsp, rip, rflags;
    nestor_word_t cr0, cr2, cr3, cr4, efer;
    nestor_vcpu_seg_t es, cs, ss, ds, fs, gs, ldtr, tr;
    nestor_word_t gdtr_base, gdtr_limit, idtr_base, idtr_limit;
    nestor_word_t interruptibility, activity;
    nestor_word_t inject_info, inject_error, inject_instr_len;
    /* NESTOR_MTD_MSRS */
    nestor_word_t sysenter_cs, sysenter_esp, sysenter_eip;
    nestor_word_t star, lstar, cstar, fmask, kernel_gs_base, pat, tsc_aux;
    /* NESTOR_MTD_DEBUG */
    nestor_word_t dr0, dr1, dr2, dr3, dr6, dr7, debugctl;
    /* NESTOR_MTD_XCR0 */
    nestor_word_t xcr0;
    /* NESTOR_MTD_INTR (continued) */
    nestor_word_t pending_dbg;
    /* NESTOR_MTD_PDPTE */
    nestor_word_t pdpte[4];
    /* NESTOR_MTD_TIMER */
    nestor_word_t timer;
    /* NESTOR_MTD_SHADOW: the values, and which of them move (bit i: shadow[i]) */
    nestor_word_t shadow[NESTOR_SHADOW_SYNC_MAX];
    nestor_word_t shadow_fetch, shadow_load;
} nestor_vcpu_state_t;
/* Every architectural guest-state field of the VMCS (SDM 24.4) is in one of
 * the groups above, but for the VMCS link pointer, the preemption timer and
 * the fields of features the kernel does not offer (SMBASE, PERF_GLOBAL_CTRL,
 * BNDCFGS, the guest interrupt status, the PML index). */

/* What a VCPU starts as: 32-bit protected mode, flat segments, paging off,
 * as a Multiboot loader leaves a kernel (the monitor sets RIP, RBX, ...). */

#endif
