/*
 * vmm-server/devices/ioapic.h - an I/O APIC (Intel 82093AA I/O Advanced
 * Programmable Interrupt Controller datasheet, section 3 "Register
 * Description"; the version-0x20 I/O APIC of Intel's ICH chipsets, ICH9
 * datasheet "Advanced Programmable Interrupt Controller (APIC)", which adds
 * the EOI register), seen by the guest as the MMIO page at IOAPIC_BASE_GPA.
 * The VMM passes offsets within that page.
 *
 * Pure model: its only output is interrupt messages to the one local APIC
 * (devices/lapic.h), which the VMM passes to the calls that can send one.
 *
 * Wiring (the PC's, MP spec 1.4 3.6.2.2 and the ACPI MADT's interrupt
 * source override the VMM's tables give): pin 0 is the 8259's INTR output
 * (virtual wire through the I/O APIC, ExtINT), pin 2 the PIT's IRQ0, pins
 * 1 and 3-15 ISA IRQs 1 and 3-15, pins 16-23 unconnected.
 */
#ifndef VMM_DEVICES_IOAPIC_H
#define VMM_DEVICES_IOAPIC_H
#include "devices/lapic.h"
#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_BASE_GPA     0xFEC00000u   /* 82093AA 3.0: IOREGSEL at FEC0_0000h */
#define IOAPIC_PAGE_SIZE    0x1000u

/* Memory-mapped registers (82093AA Table 1; ICH9: the EOI register). */
#define IOAPIC_MMIO_SELECT  0x00u         /* IOREGSEL: the index, bits 7:0 */
#define IOAPIC_MMIO_WINDOW  0x10u         /* IOWIN: the register the index selects */
#define IOAPIC_MMIO_EOI     0x40u         /* EOI (version 0x20): bits 7:0 a vector */
#define IOAPIC_ACCESS       4u            /* registers take aligned 32-bit accesses */
#define IOAPIC_SELECT_MASK  0xFFu

/* Indirect registers (82093AA Table 2). */
#define IOAPIC_IDX_ID       0x00u
#define IOAPIC_IDX_VERSION  0x01u
#define IOAPIC_IDX_REDTBL   0x10u         /* two per pin: low, high dword */

/* IOAPICID (82093AA 3.2.1): the ID in bits 27:24, the rest reserved. */
#define IOAPIC_ID_SHIFT     24
#define IOAPIC_ID_MASK      0x0F000000u
/* IOAPICVER (82093AA 3.2.2): version bits 7:0 (0x11 on the 82093AA, 0x20
 * on the ICH's, which has the EOI register), maximum redirection entry
 * bits 23:16. */
#define IOAPIC_VERSION      0x20u
#define IOAPIC_PINS         24u
#define IOAPIC_VER_MRE_SHIFT 16
#define IOAPIC_VERSION_REG  ((IOAPIC_PINS - 1) << IOAPIC_VER_MRE_SHIFT | IOAPIC_VERSION)
/* What a read of an index with no register returns: the datasheets leave it
 * undefined; like an access to nothing, all ones. Writes there are dropped. */
#define IOAPIC_UNDEFINED    0xFFFFFFFFu

/* Redirection table entries (82093AA 3.2.4, IOREDTBL[23:0]). */
#define IOAPIC_RTE_VECTOR_MASK 0xFFull
#define IOAPIC_RTE_DM_SHIFT    8          /* delivery mode: LAPIC_DM_* values */
#define IOAPIC_RTE_DM_MASK     (7ull << IOAPIC_RTE_DM_SHIFT)
#define IOAPIC_RTE_DEST_LOGICAL (1ull << 11)
#define IOAPIC_RTE_PENDING     (1ull << 12) /* delivery status, read-only */
#define IOAPIC_RTE_ACTIVE_LOW  (1ull << 13) /* interrupt input pin polarity */
#define IOAPIC_RTE_REMOTE_IRR  (1ull << 14) /* read-only, level-triggered only */
#define IOAPIC_RTE_LEVEL       (1ull << 15) /* trigger mode */
#define IOAPIC_RTE_MASKED      (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT  56
#define IOAPIC_RTE_WRITABLE    (IOAPIC_RTE_VECTOR_MASK | IOAPIC_RTE_DM_MASK | \
                                IOAPIC_RTE_DEST_LOGICAL | IOAPIC_RTE_ACTIVE_LOW | \
                                IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | \
                                0xFFull << IOAPIC_RTE_DEST_SHIFT)
#define IOAPIC_RTE_RESET       IOAPIC_RTE_MASKED   /* 82093AA: masked at reset */

/* The PC's wiring of the inputs (above). */
#define IOAPIC_PIN_8259_INTR   0u
#define IOAPIC_PIN_PIT         2u         /* ISA IRQ0, by the MADT's override */

typedef struct {
    uint32_t select;                      /* IOREGSEL */
    uint32_t id;                          /* IOAPICID as read */
    uint64_t rte[IOAPIC_PINS];
    bool input[IOAPIC_PINS];              /* each pin's input level (high = true) */
} ioapic_t;

/* Power-up state with the I/O APIC ID @id (bits 3:0): every entry masked. */
void ioapic_init(ioapic_t *io, uint8_t id);
/* An access of @size bytes at @offset in the page (@write: store *value,
 * else load it). The registers take aligned 32-bit accesses (82093AA 3.0);
 * anything else reads as all ones and is dropped on writes, and the call
 * returns false (nothing changes). Writes that unmask, retarget or EOI
 * may deliver to @l at once. */
bool ioapic_mmio(ioapic_t *io, uint32_t offset, unsigned size, bool write, uint32_t *value,
                 lapic_t *l);
/* The input level of @pin (pins >= IOAPIC_PINS are ignored): an edge-
 * triggered entry delivers on the input going to its active level (an edge
 * on a masked entry is lost, 82093AA 3.2.4), a level-triggered one while it
 * stays there and Remote IRR is clear. */
void ioapic_set_irq(ioapic_t *io, unsigned pin, bool level, lapic_t *l);
/* The EOI message for @vector (the LAPIC's broadcast, SDM Vol. 3A 10.8.5):
 * Remote IRR clears in level-triggered entries with that vector, which
 * deliver again if their input is still active. */
void ioapic_eoi(ioapic_t *io, uint8_t vector, lapic_t *l);
/* Offer level-triggered entries held back (the LAPIC refused them while
 * software-disabled) again, after a LAPIC change. */
void ioapic_retry(ioapic_t *io, lapic_t *l);
/* Whether an unmasked ExtINT entry whose input is active targets @l: the
 * CPU then takes its vector from the 8259 (INTA), as through LINT0. */
bool ioapic_extint_pending(const ioapic_t *io, const lapic_t *l);

#endif
