/*
 * tests/guests/ioapic.c - the I/O APIC from inside, checked against the
 * Intel 82093AA I/O APIC datasheet (section numbers "82093AA x.y") and the
 * SDM Vol. 3A chapter 10 (the local APIC's side): IOREGSEL/IOWIN at the
 * default base, the ID and version registers, redirection entries read
 * back (delivery status and Remote IRR read-only), the PIT's IRQ 0 found on
 * its pin (pin 2 on PCs, by the MP/ACPI interrupt source override) and
 * routed with the 8259s masked: an edge-triggered interrupt taken (ISR set,
 * TMR clear) and EOId at the local APIC, a masked entry delivering nothing,
 * a level-triggered entry's Remote IRR set while in service (TMR set) and
 * cleared by the local APIC's EOI (the EOI message, SDM 10.8.5), delivery
 * to its own physical APIC ID and to its logical ID in the flat model, and
 * none to a logical destination not its own.
 *
 * Every edge is one PIT one-shot (mode 0: OUT low at the control word, high
 * at the terminal count; 82C54 data sheet), so it runs the same bare and
 * under the VMM. Entries are masked again before each EOI, so whether an
 * input still active is re-sent never matters.
 */
#include "lib/guest.h"

#define IOAPIC_BASE 0xFEC00000u      /* 82093AA 3.0: the default IOREGSEL */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REG_ID 0x00           /* 82093AA 3.2.1 */
#define IOAPIC_REG_VER 0x01          /* 82093AA 3.2.2 */
#define IOAPIC_REG_RTE 0x10          /* 82093AA 3.2.4: two per pin */
#define IOAPIC_ID_SHIFT 24
#define IOAPIC_ID_MASK 0x0F000000u   /* 82093AA 3.2.1: bits 27:24 */
#define IOAPIC_VER_MASK 0xFFu
#define IOAPIC_VER_MRE_SHIFT 16
#define IOAPIC_VER_MRE_MASK 0xFFu
#define IOAPIC_VER_MIN 0x10u         /* 82093AA 3.2.2: 0x1X for an I/O APIC; ICH 0x20 */
#define IOAPIC_VER_MAX 0x2Fu
#define IOAPIC_MRE_PC 23u            /* 24 entries, the PC's */
#define RTE_DM_LOWEST (1u << 8)
#define RTE_DEST_LOGICAL (1u << 11)
#define RTE_DELIVS (1u << 12)        /* read-only */
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_REMOTE_IRR (1u << 14)    /* read-only */
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
#define RTE_WRITABLE_LO 0x1AFFFu     /* 82093AA 3.2.4: bits 16:13, 11:0 */
#define RTE_DEST_SHIFT 24            /* in the high dword: bits 63:56 */
#define RTE_DEST_MASK 0xFF000000u
#define PIN_SPARE 10                 /* a pin nothing drives here */
#define PIN_ISA_PIT 0                /* ISA IRQ 0 without an override */
#define PIN_PIT_OVERRIDE 2           /* with the PC's override */

#define LAPIC_BASE 0xFEE00000u
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0B0
#define LAPIC_LDR 0x0D0
#define LAPIC_DFR 0x0E0
#define LAPIC_SVR 0x0F0
#define LAPIC_ISR 0x100              /* SDM 10.8.4: 8 registers, 0x10 apart */
#define LAPIC_TMR 0x180
#define LAPIC_ID_SHIFT 24
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_SVR_SPURIOUS 0xFF
#define LAPIC_DFR_FLAT 0xFFFFFFFFu   /* SDM 10.6.2.2: flat model */
#define LAPIC_LDR_SHIFT 24
#define LOGICAL_OURS 0x01u
#define LOGICAL_OTHER 0x02u

#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_ONESHOT 0x30             /* channel 0, lo/hi byte, mode 0 */
#define PIT_COUNT 0x2000             /* about 7 ms */
#define PIT_READBACK_STATUS0 0xE2    /* 82C54 read-back: status of counter 0 */
#define PIT_STATUS_OUT 0x80
#define GRACE 1000                   /* status reads after OUT rose */

#define VEC_BASE 0x40                /* pin N's vector in the search: 0x40 + N */
#define VEC_EDGE 0x50
#define VEC_LEVEL 0x51
#define VEC_LOGICAL 0x52

static volatile unsigned count[256];
static volatile unsigned isr_set, tmr_set, irr_in_service, irr_after_eoi;
static volatile unsigned level_pin;

static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }

static uint32_t io_read(uint32_t idx)
{
    *(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_REGSEL) = idx;
    return *(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_WIN);
}

static void io_write(uint32_t idx, uint32_t v)
{
    *(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_REGSEL) = idx;
    *(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_WIN) = v;
}

static uint32_t rte_lo(unsigned pin) { return io_read(IOAPIC_REG_RTE + 2 * pin); }

static void rte_set(unsigned pin, uint32_t lo, uint32_t dest)
{
    io_write(IOAPIC_REG_RTE + 2 * pin, RTE_MASKED);
    io_write(IOAPIC_REG_RTE + 2 * pin + 1, dest << RTE_DEST_SHIFT);
    io_write(IOAPIC_REG_RTE + 2 * pin, lo);
}

/* Whether @vector's bit is set in the 256-bit LAPIC register at @base
 * (ISR, TMR, IRR: SDM 10.8.4, Figure 10-20). */
static int apic_bit(uint32_t base, unsigned vector)
{
    return lapic_read(base + 0x10 * (vector / 32)) >> (vector % 32) & 1;
}

static void on_vector(guest_frame_t *f)
{
    unsigned v = f->vector;
    count[v]++;
    isr_set = apic_bit(LAPIC_ISR, v);
    tmr_set = apic_bit(LAPIC_TMR, v);
    if (v == VEC_LEVEL) {
        /* 82093AA 3.2.4: Remote IRR is set once the LAPIC accepted the
         * level interrupt and cleared by the EOI message of its vector,
         * which the LAPIC's EOI sends for a level interrupt (SDM 10.8.5). */
        irr_in_service = !!(rte_lo(level_pin) & RTE_REMOTE_IRR);
        io_write(IOAPIC_REG_RTE + 2 * level_pin, rte_lo(level_pin) | RTE_MASKED);
        lapic_write(LAPIC_EOI, 0);
        irr_after_eoi = !!(rte_lo(level_pin) & RTE_REMOTE_IRR);
        return;
    }
    lapic_write(LAPIC_EOI, 0);
}

/* One rising edge on ISA IRQ 0: a PIT one-shot; waits (IF = 1) for OUT to
 * rise and a little longer for the interrupt. */
static void pit_edge(void)
{
    outb(PIT_CMD, PIT_ONESHOT);
    outb(PIT_CH0, PIT_COUNT & 0xFF);
    outb(PIT_CH0, PIT_COUNT >> 8);
    __asm__ volatile("sti");
    for (unsigned grace = 0; grace < GRACE;) {
        outb(PIT_CMD, PIT_READBACK_STATUS0);
        if (inb(PIT_CH0) & PIT_STATUS_OUT)
            grace++;
    }
    __asm__ volatile("cli");
}

int guest_main(void)
{
    guest_desc_init();
    for (unsigned v = VEC_BASE; v <= VEC_LOGICAL; v++)
        guest_set_handler(v, on_vector);
    outb(PIC1_DATA, 0xFF);           /* the 8259s masked: the I/O APIC alone */
    outb(PIC2_DATA, 0xFF);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SVR_SPURIOUS);
    const uint32_t apic_id = lapic_read(LAPIC_ID) >> LAPIC_ID_SHIFT;

    /* ID and version (82093AA 3.2.1, 3.2.2). */
    const uint32_t ver = io_read(IOAPIC_REG_VER), id = io_read(IOAPIC_REG_ID);
    guest_env_printf("ioapic: ID 0x%x, version 0x%x\n", (id & IOAPIC_ID_MASK) >> IOAPIC_ID_SHIFT,
                     ver & IOAPIC_VER_MASK);
    CHECK((ver & IOAPIC_VER_MASK) >= IOAPIC_VER_MIN && (ver & IOAPIC_VER_MASK) <= IOAPIC_VER_MAX,
          "the version is an I/O APIC's");
    const uint32_t mre = ver >> IOAPIC_VER_MRE_SHIFT & IOAPIC_VER_MRE_MASK;
    guest_printf("ioapic: %u redirection entries\n", mre + 1);
    CHECK(mre == IOAPIC_MRE_PC, "24 redirection entries (maximum redirection entry 23)");
    const uint32_t new_id = ((id >> IOAPIC_ID_SHIFT) + 1) << IOAPIC_ID_SHIFT & IOAPIC_ID_MASK;
    io_write(IOAPIC_REG_ID, new_id);
    CHECK((io_read(IOAPIC_REG_ID) & IOAPIC_ID_MASK) == new_id, "the ID register is written");
    io_write(IOAPIC_REG_ID, id);
    io_write(IOAPIC_REG_VER, ~ver);
    CHECK(io_read(IOAPIC_REG_VER) == ver, "the version register is read-only");

    /* A redirection entry read back (82093AA 3.2.4): every writable field,
     * delivery status and Remote IRR written as ones read zero (nothing is
     * pending or in service on a masked pin nothing drives). */
    const uint32_t lo = 0x61 | RTE_DM_LOWEST | RTE_DEST_LOGICAL | RTE_ACTIVE_LOW | RTE_LEVEL |
                        RTE_MASKED;
    CHECK(rte_lo(PIN_SPARE) & RTE_MASKED, "an entry nobody set is masked (power-up)");
    io_write(IOAPIC_REG_RTE + 2 * PIN_SPARE + 1, 0xA5u << RTE_DEST_SHIFT);
    io_write(IOAPIC_REG_RTE + 2 * PIN_SPARE, lo | RTE_DELIVS | RTE_REMOTE_IRR);
    CHECK((rte_lo(PIN_SPARE) & RTE_WRITABLE_LO) == lo, "an entry's writable fields read back");
    CHECK(!(rte_lo(PIN_SPARE) & (RTE_DELIVS | RTE_REMOTE_IRR)),
          "delivery status and Remote IRR are read-only");
    CHECK((io_read(IOAPIC_REG_RTE + 2 * PIN_SPARE + 1) & RTE_DEST_MASK) == 0xA5u << RTE_DEST_SHIFT,
          "the destination field reads back");
    rte_set(PIN_SPARE, RTE_MASKED, 0);

    /* Which pin ISA IRQ 0 drives: 0 and 2 to vectors of their own, edge,
     * fixed, physical destination its own APIC ID. */
    rte_set(PIN_ISA_PIT, VEC_BASE + PIN_ISA_PIT, apic_id);
    rte_set(PIN_PIT_OVERRIDE, VEC_BASE + PIN_PIT_OVERRIDE, apic_id);
    pit_edge();
    rte_set(PIN_ISA_PIT, RTE_MASKED, 0);
    rte_set(PIN_PIT_OVERRIDE, RTE_MASKED, 0);
    const unsigned on0 = count[VEC_BASE + PIN_ISA_PIT], on2 = count[VEC_BASE + PIN_PIT_OVERRIDE];
    CHECK(on0 + on2 == 1, "one PIT edge, one interrupt, to its own physical APIC ID");
    const unsigned pit_pin = on0 ? PIN_ISA_PIT : PIN_PIT_OVERRIDE;
    guest_printf("ioapic: ISA IRQ 0 (the PIT) on pin %u\n", pit_pin);
    CHECK(isr_set && !tmr_set, "an edge interrupt: in service, TMR clear (SDM 10.8.4)");
    CHECK(!apic_bit(LAPIC_ISR, VEC_BASE + pit_pin), "the LAPIC's EOI cleared its ISR bit");

    /* Edge-triggered to a vector of its own, then masked. */
    rte_set(pit_pin, VEC_EDGE, apic_id);
    pit_edge();
    CHECK(count[VEC_EDGE] == 1, "an edge-triggered entry delivers once per edge");
    io_write(IOAPIC_REG_RTE + 2 * pit_pin, VEC_EDGE | RTE_MASKED);
    pit_edge();
    CHECK(count[VEC_EDGE] == 1, "a masked entry delivers nothing (82093AA 3.2.4)");
    __asm__ volatile("sti");
    io_write(IOAPIC_REG_RTE + 2 * pit_pin, VEC_EDGE);
    __asm__ volatile("nop; cli");
    CHECK(count[VEC_EDGE] == 1, "an edge on a masked entry is not held for the unmask (82093AA 3.2.4)");
    io_write(IOAPIC_REG_RTE + 2 * pit_pin, VEC_EDGE | RTE_MASKED);

    /* Level-triggered: Remote IRR while in service, cleared by the EOI. */
    level_pin = pit_pin;
    rte_set(pit_pin, VEC_LEVEL | RTE_LEVEL | RTE_MASKED, apic_id);
    outb(PIT_CMD, PIT_ONESHOT);      /* OUT low before the entry is unmasked */
    io_write(IOAPIC_REG_RTE + 2 * pit_pin, VEC_LEVEL | RTE_LEVEL);
    pit_edge();
    CHECK(count[VEC_LEVEL] == 1, "a level-triggered entry delivers");
    CHECK(isr_set && tmr_set, "a level interrupt: in service, TMR set (SDM 10.8.4)");
    /* Bare Bochs 2.7 never sets Remote IRR (its I/O APIC re-sends a level
     * interrupt while the input stays active and ignores the EOI message). */
    CHECK_SDM(irr_in_service, "Remote IRR is set while the level interrupt is in service (82093AA 3.2.4)");
    CHECK(!irr_after_eoi, "the LAPIC's EOI clears Remote IRR (SDM 10.8.5)");
    /* The input inactive again (OUT low) before the entry goes back to
     * edge: bare Bochs keeps an active level's request and would send it
     * at the next unmask. */
    outb(PIT_CMD, PIT_ONESHOT);
    rte_set(pit_pin, RTE_MASKED, 0);

    /* Logical destination, flat model (SDM 10.6.2.2): its own logical ID,
     * then one that is not its own. */
    lapic_write(LAPIC_DFR, LAPIC_DFR_FLAT);
    lapic_write(LAPIC_LDR, LOGICAL_OURS << LAPIC_LDR_SHIFT);
    rte_set(pit_pin, VEC_LOGICAL | RTE_DEST_LOGICAL, LOGICAL_OURS);
    pit_edge();
    CHECK(count[VEC_LOGICAL] == 1, "delivered to its own logical ID");
    rte_set(pit_pin, VEC_LOGICAL | RTE_DEST_LOGICAL, LOGICAL_OTHER);
    pit_edge();
    CHECK(count[VEC_LOGICAL] == 1, "not delivered to a logical ID not its own");
    rte_set(pit_pin, RTE_MASKED, 0);

    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("ioapic");
}
