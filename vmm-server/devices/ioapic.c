/*
 * vmm-server/devices/ioapic.c - an I/O APIC (see ioapic.h). Section numbers
 * are those of the Intel 82093AA I/O APIC datasheet; "SDM" is Intel SDM
 * Vol. 3A chapter 10.
 *
 * Modelled: IOREGSEL/IOWIN, the ID and version registers, 24 redirection
 * entries (vector, delivery mode fixed/lowest-priority/NMI/ExtINT,
 * physical/logical destination, polarity, edge/level trigger, mask, Remote
 * IRR, delivery status), the EOI message from the LAPIC and the ICH's EOI
 * register. Not modelled: SMI and INIT delivery (such an entry delivers
 * nothing), the 82093AA's arbitration register (absent from the ICH's),
 * other CPUs.
 */
#include "devices/ioapic.h"
#include <string.h>

void ioapic_init(ioapic_t *io, uint8_t id)
{
    memset(io, 0, sizeof *io);
    io->id = ((uint32_t)id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = IOAPIC_RTE_RESET;
}

static unsigned dm_of(uint64_t rte)
{
    return (unsigned)((rte & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT);
}

/* 82093AA 3.2.4 "Interrupt Input Pin Polarity": 0 active high, 1 active low. */
static bool active(const ioapic_t *io, unsigned pin)
{
    return io->input[pin] != !!(io->rte[pin] & IOAPIC_RTE_ACTIVE_LOW);
}

/* Send entry @pin's interrupt message to the LAPIC. */
static bool send(ioapic_t *io, unsigned pin, lapic_t *l)
{
    uint64_t rte = io->rte[pin];
    return lapic_message(l, dm_of(rte), (uint8_t)(rte & IOAPIC_RTE_VECTOR_MASK),
                         rte & IOAPIC_RTE_LEVEL, rte & IOAPIC_RTE_DEST_LOGICAL,
                         (uint8_t)(rte >> IOAPIC_RTE_DEST_SHIFT));
}

static bool delivers_messages(uint64_t rte)
{
    unsigned dm = dm_of(rte);
    return dm == LAPIC_DM_FIXED || dm == LAPIC_DM_LOWEST || dm == LAPIC_DM_NMI;
}

/* A level-triggered entry (82093AA 3.2.4 "Trigger Mode", "Remote IRR"):
 * while its input is active and it is unmasked it sends its message unless
 * Remote IRR says one is in service; Remote IRR is set when the LAPIC
 * accepts it and cleared by the EOI of its vector. A message the LAPIC
 * refuses stays pending (delivery status) and is offered again. NMI is
 * always edge-sensitive (SDM 10.5.1): an NMI entry is served as an edge. */
static void service_level(ioapic_t *io, unsigned pin, lapic_t *l)
{
    uint64_t *rte = &io->rte[pin];
    if (!(*rte & IOAPIC_RTE_LEVEL) || dm_of(*rte) == LAPIC_DM_NMI)
        return;
    if ((*rte & IOAPIC_RTE_MASKED) || !active(io, pin) || !delivers_messages(*rte)) {
        *rte &= ~IOAPIC_RTE_PENDING;
        return;
    }
    if (*rte & IOAPIC_RTE_REMOTE_IRR)
        return;
    if (send(io, pin, l))
        *rte = (*rte & ~IOAPIC_RTE_PENDING) | IOAPIC_RTE_REMOTE_IRR;
    else
        *rte |= IOAPIC_RTE_PENDING;
}

void ioapic_set_irq(ioapic_t *io, unsigned pin, bool level, lapic_t *l)
{
    if (pin >= IOAPIC_PINS)
        return;
    bool was = active(io, pin);
    io->input[pin] = level;
    uint64_t rte = io->rte[pin];
    if ((rte & IOAPIC_RTE_LEVEL) && dm_of(rte) != LAPIC_DM_NMI) {
        service_level(io, pin, l);
        return;
    }
    /* Edge-triggered: the input going active is one interrupt. On a masked
     * entry it is ignored, "not delivered or held pending" (82093AA 3.2.4,
     * bit 16 "Interrupt Mask"): unlike the 8259's IRR, nothing goes out at
     * the unmask (tests/guests/ioapic.c checks it bare and virtual). */
    if (!was && active(io, pin) && !(rte & IOAPIC_RTE_MASKED) && delivers_messages(rte))
        send(io, pin, l);
}

void ioapic_eoi(ioapic_t *io, uint8_t vector, lapic_t *l)
{
    /* 82093AA 3.2.4 "Remote IRR": cleared when an EOI message with a
     * matching vector is received (ICH: the EOI register does the same). */
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t *rte = &io->rte[pin];
        if ((*rte & IOAPIC_RTE_LEVEL) && (*rte & IOAPIC_RTE_VECTOR_MASK) == vector) {
            *rte &= ~IOAPIC_RTE_REMOTE_IRR;
            service_level(io, pin, l);
        }
    }
}

void ioapic_retry(ioapic_t *io, lapic_t *l)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        if (io->rte[pin] & IOAPIC_RTE_PENDING)
            service_level(io, pin, l);
}

bool ioapic_extint_pending(const ioapic_t *io, const lapic_t *l)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t rte = io->rte[pin];
        if (dm_of(rte) == LAPIC_DM_EXTINT && !(rte & IOAPIC_RTE_MASKED) && active(io, pin) &&
            lapic_dest_match(l, rte & IOAPIC_RTE_DEST_LOGICAL,
                             (uint8_t)(rte >> IOAPIC_RTE_DEST_SHIFT)))
            return true;
    }
    return false;
}

static uint32_t read_indirect(const ioapic_t *io)
{
    uint32_t idx = io->select;
    if (idx == IOAPIC_IDX_ID)
        return io->id;
    if (idx == IOAPIC_IDX_VERSION)
        return IOAPIC_VERSION_REG;
    if (idx >= IOAPIC_IDX_REDTBL && idx < IOAPIC_IDX_REDTBL + 2 * IOAPIC_PINS) {
        uint64_t rte = io->rte[(idx - IOAPIC_IDX_REDTBL) / 2];
        return (idx - IOAPIC_IDX_REDTBL) % 2 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
    }
    return IOAPIC_UNDEFINED;
}

static void write_rte(ioapic_t *io, unsigned pin, bool high, uint32_t v, lapic_t *l)
{
    uint64_t *rte = &io->rte[pin];
    uint64_t mask = high ? IOAPIC_RTE_WRITABLE & ~0xFFFFFFFFull : IOAPIC_RTE_WRITABLE & 0xFFFFFFFFull;
    uint64_t val = high ? (uint64_t)v << 32 : v;
    bool was_level = *rte & IOAPIC_RTE_LEVEL;
    *rte = (*rte & ~mask) | (val & mask);
    /* Remote IRR is undefined for edge-triggered entries (82093AA 3.2.4):
     * it is cleared when an entry becomes edge-triggered, which is how an
     * OS clears a stuck one on I/O APICs without the EOI register. */
    if (was_level && !(*rte & IOAPIC_RTE_LEVEL))
        *rte &= ~(IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_PENDING);
    /* An entry unmasked or retargeted while its level input is active
     * delivers now. */
    service_level(io, pin, l);
}

static void write_indirect(ioapic_t *io, uint32_t v, lapic_t *l)
{
    uint32_t idx = io->select;
    if (idx == IOAPIC_IDX_ID)
        io->id = v & IOAPIC_ID_MASK;
    else if (idx >= IOAPIC_IDX_REDTBL && idx < IOAPIC_IDX_REDTBL + 2 * IOAPIC_PINS)
        write_rte(io, (idx - IOAPIC_IDX_REDTBL) / 2, (idx - IOAPIC_IDX_REDTBL) % 2, v, l);
    /* The version register is read-only; other indices have no register. */
}

bool ioapic_mmio(ioapic_t *io, uint32_t offset, unsigned size, bool write, uint32_t *value,
                 lapic_t *l)
{
    bool reg = offset == IOAPIC_MMIO_SELECT || offset == IOAPIC_MMIO_WINDOW ||
               offset == IOAPIC_MMIO_EOI;
    if (size != IOAPIC_ACCESS || !reg) {
        if (!write)
            *value = IOAPIC_UNDEFINED;
        return false;
    }
    switch (offset) {
    case IOAPIC_MMIO_SELECT:
        /* IOREGSEL: bits 7:0 select the register, 31:8 are reserved. */
        if (write)
            io->select = *value & IOAPIC_SELECT_MASK;
        else
            *value = io->select;
        break;
    case IOAPIC_MMIO_WINDOW:
        if (write)
            write_indirect(io, *value, l);
        else
            *value = read_indirect(io);
        break;
    default:
        /* EOI: write-only (ICH9); a read returns nothing defined. */
        if (write)
            ioapic_eoi(io, (uint8_t)(*value & IOAPIC_RTE_VECTOR_MASK), l);
        else
            *value = IOAPIC_UNDEFINED;
        break;
    }
    return true;
}
