/*
 * tests/guests/nmi.c - NMIs the guest sends itself through its local APIC's
 * ICR (SDM Vol. 3A 10.6.1, delivery mode NMI), as the VMM injects them
 * (SDM Vol. 3C 26.6, virtual NMIs 25.3): taken with RFLAGS.IF = 0, before a
 * pending maskable interrupt, blocked inside the NMI handler until its IRET
 * (one held, however many are sent); and the 8259's INTR through LVT LINT0
 * in NMI mode (as Linux's old "through-8259A" NMI watchdog used it) waking
 * HLT with IF = 0.
 */
#include "lib/guest.h"

#define LAPIC_BASE 0xFEE00000u
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_ID_SHIFT 24
#define ICR_DM_FIXED (0u << 8)
#define ICR_DM_NMI (4u << 8)
#define ICR_SELF (1u << 18)          /* shorthand: self (fixed delivery only) */
#define ICR_ALL (2u << 18)           /* shorthand: all including self */
#define VEC_NMI 2
#define VEC_FIXED 0x50
#define NMI_SPAM 50
#define LAPIC_LVT_LINT0 0x350
#define LVT_DM_NMI (4u << 8)
#define LVT_DM_EXTINT (7u << 8)
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_ONESHOT 0x30            /* channel 0, lo/hi byte, mode 0 */
#define PIT_COUNT_MAX 0xFFFF        /* about 55 ms */
/* 8254 read-back command (Intel 82C54 data sheet, "Read-Back Command"):
 * SC = 11, COUNT# = 1 (no count latched), STATUS# = 0, counter 0; the
 * status byte's bit 7 is the counter's OUT pin. */
#define PIT_READBACK_STATUS0 0xE2
#define PIT_STATUS_OUT 0x80
#define PIC_OCW3_POLL 0x0C          /* 8259A data sheet, "The Poll Command" */
#define PIC_EOI 0x20
#define LINT0_GRACE 1000            /* status reads after OUT rose, for the NMI */
#define VEC_PIC 0x20

static volatile unsigned nmis, nested, fixed_seen, fixed_before_nmi;
static volatile unsigned depth, resend, sent_inside, seen_after_first;
static volatile uint32_t apic_id;
static volatile unsigned lint0_phase;

static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }

/* An NMI to this CPU by its physical APIC ID (no shorthand). */
static void send_nmi(void)
{
    lapic_write(LAPIC_ICR_HI, apic_id << LAPIC_ID_SHIFT);
    lapic_write(LAPIC_ICR_LO, ICR_DM_NMI);
}

static void on_nmi(guest_frame_t *f)
{
    (void)f;
    if (depth++)
        nested++;
    nmis++;
    if (lint0_phase) {
        /* No INTA took IRQ 0 (this is an NMI): a poll acknowledges it (the
         * read is the INTA, 8259A data sheet), INTR falls, then EOI; the
         * next PIT edge raises INTR, and LINT0, again. */
        outb(PIC1_CMD, PIC_OCW3_POLL);
        (void)inb(PIC1_CMD);
        outb(PIC1_CMD, PIC_EOI);
    }
    if (resend) {
        /* NMIs are blocked until this handler's IRET (SDM Vol. 3A 6.7.1):
         * none of these runs here, and they merge into one held NMI. */
        unsigned n = resend, before = nmis;
        resend = 0;
        for (unsigned i = 0; i < n; i++)
            lapic_write(LAPIC_ICR_LO, ICR_ALL | ICR_DM_NMI);
        sent_inside = nmis == before;
        seen_after_first = 0;
    } else {
        seen_after_first++;
    }
    depth--;
}

static void on_fixed(guest_frame_t *f)
{
    (void)f;
    fixed_seen++;
    fixed_before_nmi = nmis == 0;
    lapic_write(LAPIC_EOI, 0);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(VEC_NMI, on_nmi);
    guest_set_handler(VEC_FIXED, on_fixed);
    lapic_write(LAPIC_SVR, 0x1FF);
    apic_id = lapic_read(LAPIC_ID) >> LAPIC_ID_SHIFT;
    __asm__ volatile("cli");

    /* A fixed interrupt held by IF = 0, then an NMI: the NMI is taken at
     * once (IF does not mask it, SDM 6.8.1), the fixed one only after STI. */
    lapic_write(LAPIC_ICR_LO, ICR_SELF | ICR_DM_FIXED | VEC_FIXED);
    send_nmi();
    CHECK(nmis == 1 && fixed_seen == 0, "NMI through the ICR taken with IF = 0, fixed held");
    __asm__ volatile("sti; nop; cli");
    CHECK(fixed_seen == 1 && !fixed_before_nmi, "the held fixed interrupt comes after STI");

    /* An NMI sent (many times) from inside the NMI handler runs once, right
     * after the handler's IRET, never nested (SDM 6.7.1, Vol. 3C 25.3). */
    unsigned start = nmis;
    resend = NMI_SPAM;
    send_nmi();
    CHECK(sent_inside, "NMIs sent inside the handler wait for its IRET");
    CHECK(nmis == start + 2 && seen_after_first == 1, "the held NMI runs once after IRET");
    CHECK(nested == 0, "the NMI handler never nests");

    /* Many NMIs with IF = 0, each taken before the next instruction. */
    start = nmis;
    unsigned taken = 0;
    for (unsigned i = 0; i < NMI_SPAM; i++) {
        lapic_write(LAPIC_ICR_LO, ICR_ALL | ICR_DM_NMI);
        taken += nmis == start + i + 1;
    }
    CHECK(taken == NMI_SPAM, "each NMI is taken right after its ICR write");

    /* HLT with IF = 0, woken by an NMI (SDM Vol. 2A HLT): the PIT's IRQ 0
     * raises the 8259's INTR, which LINT0 in NMI mode turns into an NMI. */
    outb(PIC1_CMD, 0x11); outb(PIC2_CMD, 0x11);        /* ICW1: edge, cascade, ICW4 */
    outb(PIC1_DATA, VEC_PIC); outb(PIC2_DATA, VEC_PIC + 8);
    outb(PIC1_DATA, 4); outb(PIC2_DATA, 2);
    outb(PIC1_DATA, 1); outb(PIC2_DATA, 1);
    outb(PIC1_DATA, 0xFE); outb(PIC2_DATA, 0xFF);      /* only IRQ 0 */
    lapic_write(LAPIC_LVT_LINT0, LVT_DM_NMI);
    /* First without HLT, IF = 0: bare Bochs 2.7 hands the 8259's INTR to
     * the CPU as an external interrupt whatever LVT LINT0 says (its LAPIC
     * does not model LINT0 delivery modes), so the NMI never comes there and
     * a HLT would never wake. Wait for the PIT's OUT to rise (its IRQ 0
     * edge), then a little longer. */
    start = nmis;
    lint0_phase = 1;
    outb(PIT_CMD, PIT_ONESHOT);
    outb(PIT_CH0, PIT_COUNT_MAX & 0xFF);
    outb(PIT_CH0, PIT_COUNT_MAX >> 8);
    for (unsigned grace = 0; nmis == start && grace < LINT0_GRACE;) {
        outb(PIT_CMD, PIT_READBACK_STATUS0);
        if (inb(PIT_CH0) & PIT_STATUS_OUT)
            grace++;
    }
    const int lint0_nmi = nmis == start + 1;
    CHECK_SDM(lint0_nmi, "the 8259's INTR through LVT LINT0 in NMI mode is an NMI (SDM Vol. 3A 10.5.1)");
    if (lint0_nmi) {
        /* HLT with IF = 0, woken by an NMI (SDM Vol. 2A HLT): the same path. */
        start = nmis;
        outb(PIT_CMD, PIT_ONESHOT);
        outb(PIT_CH0, PIT_COUNT_MAX & 0xFF);
        outb(PIT_CH0, PIT_COUNT_MAX >> 8);
        __asm__ volatile("hlt");
        CHECK_SDM(nmis == start + 1, "an NMI through LINT0 wakes HLT with IF = 0");
    }
    lint0_phase = 0;
    lapic_write(LAPIC_LVT_LINT0, LVT_DM_EXTINT);

    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("nmi");
}
