/*
 * vmm-server/devices/lapic.h - a local APIC (Intel SDM Vol. 3A chapter 10),
 * one per vCPU: in xAPIC mode seen by the guest as the 4 KiB MMIO page at
 * LAPIC_BASE_GPA (the VMM passes offsets within that page), in x2APIC mode
 * (10.12) as the MSRs 800H-8FFH (lapic_x2apic_msr).
 *
 * Pure model: time is guest time in nanoseconds, passed in by the VMM. The
 * timer counts the bus clock LAPIC_BUS_HZ divided by the divide
 * configuration register.
 */
#ifndef VMM_DEVICES_LAPIC_H
#define VMM_DEVICES_LAPIC_H
#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE_GPA     0xFEE00000u   /* SDM 10.4.1: default base */
#define LAPIC_PAGE_SIZE    0x1000u
/* The timer's input clock (SDM 10.5.4: "the processor's bus clock or core
 * crystal clock frequency"): 1 GHz, i.e. one tick per nanosecond of guest
 * time before division. The VMM's CPUID leaf 15H gives it as the crystal
 * (vmm-server/cpu_policy.c): Linux programs the timer at that rate without
 * calibrating it; a guest that calibrates against the PIT gets it too. */
#define LAPIC_BUS_HZ       1000000000u
#define LAPIC_NS_PER_SEC   1000000000u

/* Register offsets (SDM 10.4.1, Table 10-1). Each register is 32 bits at a
 * 16-byte-aligned offset. */
#define LAPIC_REG_STRIDE     0x10
#define LAPIC_REG_ID         0x020
#define LAPIC_REG_VERSION    0x030
#define LAPIC_REG_TPR        0x080
#define LAPIC_REG_APR        0x090   /* not on Pentium 4 and later: unsupported */
#define LAPIC_REG_PPR        0x0A0
#define LAPIC_REG_EOI        0x0B0
#define LAPIC_REG_RRD        0x0C0
#define LAPIC_REG_LDR        0x0D0
#define LAPIC_REG_DFR        0x0E0
#define LAPIC_REG_SVR        0x0F0
#define LAPIC_REG_ISR        0x100   /* 8 registers, 0x100-0x170 */
#define LAPIC_REG_TMR        0x180   /* 8 registers, 0x180-0x1F0 */
#define LAPIC_REG_IRR        0x200   /* 8 registers, 0x200-0x270 */
#define LAPIC_REG_ESR        0x280
#define LAPIC_REG_LVT_CMCI   0x2F0   /* needs max LVT >= 6: unsupported */
#define LAPIC_REG_ICR_LO     0x300
#define LAPIC_REG_ICR_HI     0x310
#define LAPIC_REG_LVT_TIMER  0x320
#define LAPIC_REG_LVT_THERMAL 0x330
#define LAPIC_REG_LVT_PERF   0x340
#define LAPIC_REG_LVT_LINT0  0x350
#define LAPIC_REG_LVT_LINT1  0x360
#define LAPIC_REG_LVT_ERROR  0x370
#define LAPIC_REG_TIMER_INITIAL 0x380
#define LAPIC_REG_TIMER_CURRENT 0x390
#define LAPIC_REG_TIMER_DIVIDE  0x3E0
#define LAPIC_VECTOR_REGS    8       /* ISR/TMR/IRR: 256 bits in 8 registers */

/* ID register (SDM 10.4.6): the xAPIC ID in bits 31-24. */
#define LAPIC_ID_SHIFT       24

/* Version register (SDM 10.4.8, Figure 10-7). */
#define LAPIC_VERSION_VALUE  0x14    /* integrated xAPIC */
#define LAPIC_MAX_LVT        5       /* index of the last LVT entry (6 entries) */
#define LAPIC_VERSION_MAXLVT_SHIFT 16
#define LAPIC_VERSION_REG    ((uint32_t)LAPIC_MAX_LVT << LAPIC_VERSION_MAXLVT_SHIFT | \
                              LAPIC_VERSION_VALUE)

/* Task/processor priority (SDM 10.8.3.1): class in bits 7-4. */
#define LAPIC_PRIORITY_MASK  0xFFu
#define LAPIC_CLASS_MASK     0xF0u
#define LAPIC_CLASS_SHIFT    4

/* Logical destination (SDM 10.6.2.2, Figures 10-13, 10-14). */
#define LAPIC_LDR_MASK       0xFF000000u
#define LAPIC_LDR_SHIFT      24
#define LAPIC_DFR_MODEL_MASK 0xF0000000u
#define LAPIC_DFR_RESERVED   0x0FFFFFFFu   /* read as ones */
#define LAPIC_DFR_FLAT       0xF0000000u
#define LAPIC_DFR_CLUSTER    0x00000000u

/* Spurious-interrupt vector register (SDM 10.9, Figure 10-23). */
#define LAPIC_SVR_VECTOR_MASK 0xFFu
#define LAPIC_SVR_ENABLE     (1u << 8)     /* APIC software enable */
#define LAPIC_SVR_FOCUS_OFF  (1u << 9)     /* focus processor checking disabled */
#define LAPIC_SVR_WRITABLE   0x3FFu        /* no EOI-broadcast suppression (bit 12) */
#define LAPIC_SVR_RESET      0xFFu

/* Error status register bits (SDM 10.5.3, Figure 10-9). */
#define LAPIC_ESR_SEND_CHECKSUM    (1u << 0)
#define LAPIC_ESR_RECV_CHECKSUM    (1u << 1)
#define LAPIC_ESR_SEND_ACCEPT      (1u << 2)
#define LAPIC_ESR_RECV_ACCEPT      (1u << 3)
#define LAPIC_ESR_REDIRECTABLE_IPI (1u << 4)
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define LAPIC_ESR_ILLEGAL_REGISTER (1u << 7)

/* Local vector table entries (SDM 10.5.1, Figure 10-8). */
#define LAPIC_LVT_VECTOR_MASK 0xFFu
#define LAPIC_LVT_DM_SHIFT   8
#define LAPIC_LVT_DM_MASK    (7u << LAPIC_LVT_DM_SHIFT)
#define LAPIC_DM_FIXED       0u
#define LAPIC_DM_LOWEST      1u            /* ICR only */
#define LAPIC_DM_SMI         2u
#define LAPIC_DM_NMI         4u
#define LAPIC_DM_INIT        5u
#define LAPIC_DM_STARTUP     6u            /* ICR only */
#define LAPIC_DM_EXTINT      7u
#define LAPIC_LVT_PENDING    (1u << 12)    /* delivery status (read-only) */
#define LAPIC_LVT_POLARITY   (1u << 13)
#define LAPIC_LVT_REMOTE_IRR (1u << 14)    /* read-only */
#define LAPIC_LVT_LEVEL      (1u << 15)
#define LAPIC_LVT_MASKED     (1u << 16)
/* The LVT timer's mode, bits 18:17 (SDM 10.5.1, Figure 10-8; 10.5.4.1):
 * 00b one-shot, 01b periodic, 10b TSC-deadline, 11b reserved. */
#define LAPIC_LVT_TIMER_MODE_MASK (3u << 17)
#define LAPIC_LVT_TIMER_ONE_SHOT (0u << 17)
#define LAPIC_LVT_TIMER_PERIODIC (1u << 17)
#define LAPIC_LVT_TIMER_TSC_DEADLINE (2u << 17)
#define LAPIC_LVT_TIMER_WRITABLE (LAPIC_LVT_VECTOR_MASK | LAPIC_LVT_MASKED | \
                                  LAPIC_LVT_TIMER_MODE_MASK)
#define LAPIC_LVT_DM_WRITABLE  (LAPIC_LVT_VECTOR_MASK | LAPIC_LVT_DM_MASK | LAPIC_LVT_MASKED)
#define LAPIC_LVT_LINT_WRITABLE (LAPIC_LVT_DM_WRITABLE | LAPIC_LVT_POLARITY | LAPIC_LVT_LEVEL)
#define LAPIC_LVT_ERROR_WRITABLE (LAPIC_LVT_VECTOR_MASK | LAPIC_LVT_MASKED)
#define LAPIC_LVT_RESET      LAPIC_LVT_MASKED

/* LVT entries in register order, 0x320 + 0x10 * index. */
#define LAPIC_LVT_TIMER      0
#define LAPIC_LVT_THERMAL    1
#define LAPIC_LVT_PERF       2
#define LAPIC_LVT_LINT0      3
#define LAPIC_LVT_LINT1      4
#define LAPIC_LVT_ERROR      5
#define LAPIC_LVT_COUNT      (LAPIC_MAX_LVT + 1)

/* Interrupt command register (SDM 10.6.1, Figure 10-12). */
#define LAPIC_ICR_VECTOR_MASK 0xFFu
#define LAPIC_ICR_DM_SHIFT   8
#define LAPIC_ICR_DEST_LOGICAL (1u << 11)
#define LAPIC_ICR_PENDING    (1u << 12)    /* delivery status: always idle here */
#define LAPIC_ICR_ASSERT     (1u << 14)
#define LAPIC_ICR_LEVEL      (1u << 15)
#define LAPIC_ICR_SHORTHAND_SHIFT 18
#define LAPIC_ICR_SHORTHAND_MASK (3u << LAPIC_ICR_SHORTHAND_SHIFT)
#define LAPIC_SHORTHAND_NONE 0u
#define LAPIC_SHORTHAND_SELF 1u
#define LAPIC_SHORTHAND_ALL  2u
#define LAPIC_SHORTHAND_OTHERS 3u
#define LAPIC_ICR_LO_WRITABLE 0x000CCFFFu
#define LAPIC_ICR_HI_WRITABLE 0xFF000000u
#define LAPIC_ICR_DEST_SHIFT 24
#define LAPIC_BROADCAST_ID   0xFFu

/* x2APIC mode (SDM 10.12): register at xAPIC offset X is MSR 800H + X/10H
 * (Table 10-6); the ICR is one 64-bit MSR (destination in 63:32); a SELF
 * IPI register (83FH); no DFR, ICR high half, APR or RRD; LDR read-only,
 * derived from the x2APIC ID (10.12.10.2). */
#define LAPIC_X2APIC_MSR_FIRST 0x800u
#define LAPIC_X2APIC_MSR_LAST  0x8FFu
#define LAPIC_X2APIC_MSR_SHIFT 4         /* offset = (MSR - 800H) << 4 */
#define LAPIC_REG_SELF_IPI   0x3F0       /* x2APIC only */
#define LAPIC_SELF_IPI_WRITABLE LAPIC_ICR_VECTOR_MASK
#define LAPIC_X2APIC_BROADCAST 0xFFFFFFFFu
#define LAPIC_X2APIC_CLUSTER_SHIFT 16    /* LDR: cluster in 31:16, 1 << (ID & 0xF) in 15:0 */
#define LAPIC_X2APIC_CLUSTER_ID_SHIFT 4
#define LAPIC_X2APIC_LOGICAL_ID_MASK 0xFu
/* ICR bits of x2APIC mode (Figure 10-28): no delivery status; the rest
 * as in xAPIC mode. Bits 31:20, 17:16, 13:12 are reserved (#GP if set). */
#define LAPIC_X2APIC_ICR_WRITABLE 0x000CCFFFu

/* Divide configuration register (SDM 10.5.4, Figure 10-10): bits 0, 1, 3. */
#define LAPIC_DCR_WRITABLE   0x0Bu

#define LAPIC_FIRST_VALID_VECTOR 16        /* SDM 10.5.2: 0-15 are illegal */

typedef struct {
    uint32_t id;                 /* ID register as read (bits 31-24) */
    uint32_t x2apic_id;          /* the initial APIC ID: the x2APIC ID (10.12.5.1) */
    bool x2apic;                 /* in x2APIC mode (IA32_APIC_BASE.EXTD, the VMM sets it) */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t isr[LAPIC_VECTOR_REGS], tmr[LAPIC_VECTOR_REGS], irr[LAPIC_VECTOR_REGS];
    uint32_t esr, esr_pending;   /* ESR as read; errors since the last ESR write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LAPIC_LVT_COUNT];
    uint32_t timer_initial, timer_dcr;
    bool timer_running;          /* counting (one-shot not yet expired) */
    uint64_t timer_seg_start_ns; /* when the current divide setting began */
    uint64_t timer_ticks_base;   /* timer ticks counted before that */
    union {
        uint64_t timer_next_tick; /* one-shot, periodic: the tick count of the next expiry */
        uint64_t tsc_deadline;   /* TSC-deadline mode: IA32_TSC_DEADLINE while armed
                                    (timer_running), else 0 (SDM 10.5.4.1) */
    };
    uint64_t timer_deadline_ns;  /* guest time of that expiry, UINT64_MAX if none (TSC-
                                    deadline mode: when the guest's TSC reaches tsc_deadline,
                                    as the VMM converted it) */
    bool nmi_pending;            /* an NMI accepted, not yet taken by the vCPU */
    bool lint_level[2];          /* the LINT0/LINT1 input levels last seen */
    int eoi_level_vector;        /* vector of the last EOI of a level-triggered interrupt,
                                    not yet taken by lapic_take_eoi_broadcast; -1 none */
} lapic_t;

/* Power-up/RESET state (SDM 10.4.7.1) with the xAPIC ID @apic_id (bits 7-0). */
void lapic_init(lapic_t *l, uint32_t apic_id);
/* A 32-bit access at @offset in the APIC page at guest time @now_ns (@write:
 * store *value, else load into *value). Returns false, leaving *value
 * alone, for offsets outside the page or not 16-byte aligned (no other
 * effect) and for reserved/unsupported registers (these log "illegal
 * register address" in the ESR, SDM 10.5.3). Writes to read-only registers
 * are ignored and return true. Timer expiries due by @now_ns are raised
 * first. */
bool lapic_mmio(lapic_t *l, uint32_t offset, bool write, uint32_t *value, uint64_t now_ns);
/* x2APIC mode (SDM 10.12): RDMSR (@write false, *value out) or WRMSR of
 * @msr in 800H-8FFH at guest time @now_ns. False means #GP(0): not in
 * x2APIC mode, a register x2APIC mode lacks (DFR, 831H, APR, RRD, CMCI,
 * reserved), a write to a read-only register or a read of a write-only one
 * (EOI, SELF IPI), a non-zero write to EOI or ESR, reserved bits set
 * (10.12.1.3: bits 63:32 of all but the ICR, and each register's own). */
bool lapic_x2apic_msr(lapic_t *l, uint32_t msr, bool write, uint64_t *value, uint64_t now_ns);
/* The VMM's IA32_APIC_BASE write moved the APIC into (@on) or out of
 * x2APIC mode (only xAPIC -> x2APIC and x2APIC -> disabled are valid,
 * 10.12.5; the latter resets it by lapic_init). */
void lapic_set_x2apic(lapic_t *l, bool on);
/* IA32_TSC_DEADLINE (MSR 6E0H, SDM 10.5.4.1), whose deadline is in the
 * guest's TSC, which the model does not know: the VMM converts it into
 * guest time. RDMSR: the armed deadline (after expiries due by @now_ns),
 * 0 when disarmed, fired or not in TSC-deadline mode. */
uint64_t lapic_tsc_deadline(lapic_t *l, uint64_t now_ns);
/* WRMSR of @tsc, which the guest's TSC reaches at guest time
 * @deadline_ns: in TSC-deadline mode a non-zero value arms the timer (one
 * interrupt, then it disarms and the MSR reads 0; a deadline already
 * passed fires at once), 0 disarms it; in the other modes writes are
 * ignored. Also re-arms an armed deadline at a new time after the guest's
 * TSC moved (a TSC write). */
void lapic_set_tsc_deadline(lapic_t *l, uint64_t tsc, uint64_t deadline_ns, uint64_t now_ns);
/* Raise the timer's vector in the IRR if the timer expired by @now_ns. */
void lapic_timer_update(lapic_t *l, uint64_t now_ns);
/* When the timer next raises an interrupt, UINT64_MAX if it will not. */
uint64_t lapic_next_timer_ns(const lapic_t *l);
/* A fixed, edge-triggered interrupt with @vector from outside (I/O APIC,
 * MSI, the VMM). Dropped while the APIC is software-disabled; vectors 0-15
 * log "received illegal vector" instead (SDM 10.5.3). */
void lapic_accept(lapic_t *l, uint8_t vector);
/* The highest IRR vector whose class is above the PPR's, or -1. */
int lapic_pending_vector(const lapic_t *l);
/* The vCPU took @vector: IRR -> ISR. */
void lapic_ack(lapic_t *l, uint8_t vector);
/* Whether an NMI is pending (SDM 10.6.1 NMI IPIs to this APIC). At most one
 * is held: NMIs that come while one is pending merge into it, as the CPU
 * latches one NMI while NMIs are blocked (SDM Vol. 3A 6.7.1). */
bool lapic_nmi_pending(const lapic_t *l);
/* The vCPU took the pending NMI. */
void lapic_nmi_ack(lapic_t *l);
/* The level of input pin LINT0 (@pin 0) or LINT1 (@pin 1), as the VMM
 * drives it (LINT0: the 8259's INTR output). With that LVT entry unmasked
 * in NMI delivery mode, a rising edge raises an NMI (SDM 10.5.1: NMI is
 * always edge-sensitive); other modes are the VMM's business (ExtINT:
 * lapic_extint_enabled). */
void lapic_lint_level(lapic_t *l, unsigned pin, bool level);
/* An interrupt message from an I/O APIC (SDM 10.6.2 destinations, 10.8.4
 * acceptance): delivery mode @dm (LAPIC_DM_*), @vector, trigger @level,
 * destination @dest (an APIC ID, or a logical destination with @logical).
 * Fixed and lowest-priority interrupts enter the IRR (level ones set the TMR
 * bit, so their EOI is broadcast), NMIs become pending. Returns whether
 * this APIC accepted it: false when the destination does not match, for
 * fixed/lowest while software-disabled, and for other delivery modes. */
bool lapic_message(lapic_t *l, unsigned dm, uint8_t vector, bool level, bool logical,
                   uint8_t dest);
/* Whether @dest names this APIC (physical: its ID or 0xFF; logical: LDR/DFR;
 * in x2APIC mode its x2APIC ID, 0xFF the broadcast, logical by cluster). */
bool lapic_dest_match(const lapic_t *l, bool logical, uint8_t dest);
bool lapic_logical_match(const lapic_t *l, uint8_t dest);
/* After an EOI write: the vector whose EOI must go to the I/O APICs (it
 * was level-triggered, SDM 10.8.5), once; -1 if none. */
int lapic_take_eoi_broadcast(lapic_t *l);
/* Whether LINT@pin is unmasked in NMI delivery mode. */
bool lapic_lint_nmi(const lapic_t *l, unsigned pin);
/* Whether LINT0 passes an ExtINT (8259 PIC) interrupt to the CPU: the APIC is
 * software-enabled and LVT LINT0 is unmasked with delivery mode ExtINT. */
bool lapic_extint_enabled(const lapic_t *l);

#endif
