/*
 * vmm-server/devices/pic8259.c - two cascaded 8259A PICs (see pic8259.h).
 *
 * Modelled: the ICW1-ICW4 initialization sequence, OCW1 masking, every OCW2
 * command (EOI, specific EOI, rotations, set priority), OCW3 (IRR/ISR read,
 * poll, special mask mode), automatic EOI, special fully nested mode on the
 * master, edge-triggered inputs. Not modelled: level-triggered mode (LTIM),
 * buffered mode, 8080 mode (vectors are always base + level), spurious IRQ 7
 * (an INTA with nothing pending returns -1). The wiring is fixed: the slave
 * is on master IR2 whatever ICW3 says.
 */
#include "devices/pic8259.h"
#include <string.h>

static void chip_reset(pic_chip_t *c, uint8_t base, uint8_t icw3)
{
    memset(c, 0, sizeof(*c));
    c->vector_base = base;
    c->icw3 = icw3;
    c->icw4 = PIC_ICW4_UPM;
    c->icw4_needed = true;
    c->imr = 0xFF;
    c->lowest = PIC_LINES - 1;
}

void pic_init(pic_t *p)
{
    chip_reset(&p->chip[PIC_MASTER], PIC_RESET_MASTER_BASE, 1u << PIC_CASCADE_IRQ);
    chip_reset(&p->chip[PIC_SLAVE], PIC_RESET_SLAVE_BASE, PIC_CASCADE_IRQ);
}

/* The level that has priority rank @rank (0 = highest): the one after the
 * lowest-priority level (data sheet, "Automatic Rotation"; with lowest = 7
 * this is fixed priority, IR0 highest). */
static unsigned level_at(const pic_chip_t *c, unsigned rank)
{
    return (c->lowest + 1 + rank) & (PIC_LINES - 1);
}

/*
 * The level this chip would present on INT given the requests @req (the
 * IRR, plus the slave's INT on IR2 for the master), or -1. Fully nested mode:
 * a request is blocked by an in-service level of equal or higher priority.
 * Special mask mode: masked in-service levels block nothing. Special fully
 * nested mode (master only): the in-service cascade level does not block new
 * requests from the same slave (data sheet, "Special Fully Nested Mode").
 */
static int chip_best(const pic_chip_t *c, uint8_t req, bool master)
{
    req &= (uint8_t)~c->imr;
    if (!req)
        return -1;
    for (unsigned rank = 0; rank < PIC_LINES; rank++) {
        unsigned lv = level_at(c, rank);
        uint8_t bit = (uint8_t)(1u << lv);
        bool in_service = (c->isr & bit) && !(c->special_mask && (c->imr & bit));
        bool sfnm = master && lv == PIC_CASCADE_IRQ && (c->icw4 & PIC_ICW4_SFNM);
        if ((req & bit) && (!in_service || sfnm))
            return (int)lv;
        if (in_service)
            return -1;
    }
    return -1;
}

static uint8_t master_requests(const pic_t *p)
{
    uint8_t req = p->chip[PIC_MASTER].irr;
    if (chip_best(&p->chip[PIC_SLAVE], p->chip[PIC_SLAVE].irr, false) >= 0)
        req |= 1u << PIC_CASCADE_IRQ;
    return req;
}

/* The INTA pulses on one chip: IRR -> ISR, or with automatic EOI only
 * the optional rotation (data sheet, "AEOI Mode"). */
static void chip_accept(pic_chip_t *c, unsigned lv)
{
    uint8_t bit = (uint8_t)(1u << lv);
    c->irr &= (uint8_t)~bit;
    if (c->icw4 & PIC_ICW4_AEOI) {
        if (c->rotate_aeoi)
            c->lowest = (uint8_t)lv;
    } else {
        c->isr |= bit;
    }
}

int pic_pending_vector(const pic_t *p)
{
    const pic_chip_t *m = &p->chip[PIC_MASTER], *s = &p->chip[PIC_SLAVE];
    int lv = chip_best(m, master_requests(p), true);
    if (lv < 0)
        return -1;
    if (lv == PIC_CASCADE_IRQ)
        return s->vector_base + chip_best(s, s->irr, false);
    return m->vector_base + lv;
}

int pic_ack(pic_t *p)
{
    pic_chip_t *m = &p->chip[PIC_MASTER], *s = &p->chip[PIC_SLAVE];
    int lv = chip_best(m, master_requests(p), true);
    if (lv < 0)
        return -1;
    chip_accept(m, (unsigned)lv);
    if (lv != PIC_CASCADE_IRQ)
        return m->vector_base + lv;
    /* master_requests() only raises IR2 while the slave has a request. */
    int slv = chip_best(s, s->irr, false);
    chip_accept(s, (unsigned)slv);
    return s->vector_base + slv;
}

void pic_set_irq(pic_t *p, unsigned irq, bool level)
{
    if (irq >= PIC_IRQS || irq == PIC_CASCADE_IRQ)
        return;
    pic_chip_t *c = &p->chip[irq / PIC_LINES];
    uint8_t bit = (uint8_t)(1u << (irq % PIC_LINES));
    if (level) {
        if (!(c->lines & bit))
            c->irr |= bit;          /* rising edge latches the request */
        c->lines |= bit;
    } else {
        c->lines &= (uint8_t)~bit;  /* the latched request stays */
    }
}

/* The highest-priority in-service level, or -1 (what a non-specific EOI
 * clears, data sheet "End of Interrupt"). */
static int highest_in_service(const pic_chip_t *c)
{
    for (unsigned rank = 0; rank < PIC_LINES; rank++) {
        unsigned lv = level_at(c, rank);
        if (c->isr & (1u << lv))
            return (int)lv;
    }
    return -1;
}

static void write_ocw2(pic_chip_t *c, uint8_t v)
{
    unsigned lv = v & PIC_OCW2_LEVEL_MASK;
    int hi;
    switch (v & PIC_OCW2_CMD_MASK) {
    case PIC_OCW2_EOI:
    case PIC_OCW2_ROTATE_EOI:
        hi = highest_in_service(c);
        if (hi >= 0) {
            c->isr &= (uint8_t)~(1u << hi);
            if ((v & PIC_OCW2_CMD_MASK) == PIC_OCW2_ROTATE_EOI)
                c->lowest = (uint8_t)hi;
        }
        break;
    case PIC_OCW2_SPECIFIC_EOI:
        c->isr &= (uint8_t)~(1u << lv);
        break;
    case PIC_OCW2_ROTATE_SPECIFIC_EOI:
        c->isr &= (uint8_t)~(1u << lv);
        c->lowest = (uint8_t)lv;
        break;
    case PIC_OCW2_SET_PRIORITY:
        c->lowest = (uint8_t)lv;
        break;
    case PIC_OCW2_ROTATE_AEOI_SET:
        c->rotate_aeoi = true;
        break;
    case PIC_OCW2_ROTATE_AEOI_CLEAR:
        c->rotate_aeoi = false;
        break;
    default: /* PIC_OCW2_NOP */
        break;
    }
}

static void write_command(pic_chip_t *c, uint8_t v)
{
    if (v & PIC_CMD_ICW1) {
        /* ICW1 (data sheet, "Initialization Command Words"): the IMR and the
         * edge sense latches are cleared, IR7 gets the lowest priority,
         * special mask mode is cleared and status read is set to IRR; with
         * IC4 = 0 every ICW4 function is zero. A line that is high stays
         * high: it must fall and rise again to request. */
        c->irr = 0;
        c->isr = 0;
        c->imr = 0;
        c->lowest = PIC_LINES - 1;
        c->special_mask = false;
        c->read_isr = false;
        c->poll = false;
        c->rotate_aeoi = false;
        c->icw4 = 0;
        c->icw4_needed = v & PIC_ICW1_IC4;
        c->single = v & PIC_ICW1_SNGL;
        c->init_step = 2;
        return;
    }
    if (v & PIC_CMD_OCW3) {
        if (v & PIC_OCW3_POLL)
            c->poll = true;
        if (v & PIC_OCW3_RR)
            c->read_isr = v & PIC_OCW3_RIS;
        if (v & PIC_OCW3_ESMM)
            c->special_mask = v & PIC_OCW3_SMM;
        return;
    }
    write_ocw2(c, v);
}

static void write_data(pic_chip_t *c, uint8_t v)
{
    switch (c->init_step) {
    case 2:  /* ICW2 */
        c->vector_base = v & PIC_ICW2_BASE_MASK;
        c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:  /* ICW3 */
        c->icw3 = v;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4:  /* ICW4 */
        c->icw4 = v;
        c->init_step = 0;
        break;
    default: /* OCW1 */
        c->imr = v;
        break;
    }
}

/* Poll command: the read acts as an INTA on this chip alone and returns
 * 0x80 | level, or 0 (data sheet, "The Poll Command"). */
static uint8_t poll(pic_t *p, unsigned which)
{
    pic_chip_t *c = &p->chip[which];
    uint8_t req = which == PIC_MASTER ? master_requests(p) : c->irr;
    int lv = chip_best(c, req, which == PIC_MASTER);
    if (lv < 0)
        return 0;
    chip_accept(c, (unsigned)lv);
    return (uint8_t)(PIC_POLL_INT | lv);
}

bool pic_io(pic_t *p, uint16_t port, bool in, uint8_t *value)
{
    unsigned which;
    bool data;
    switch (port) {
    case PIC_MASTER_CMD:  which = PIC_MASTER; data = false; break;
    case PIC_MASTER_DATA: which = PIC_MASTER; data = true;  break;
    case PIC_SLAVE_CMD:   which = PIC_SLAVE;  data = false; break;
    case PIC_SLAVE_DATA:  which = PIC_SLAVE;  data = true;  break;
    default:
        return false;
    }
    pic_chip_t *c = &p->chip[which];
    if (!in) {
        if (data)
            write_data(c, *value);
        else
            write_command(c, *value);
        return true;
    }
    if (data) {
        *value = c->imr;
    } else if (c->poll) {
        c->poll = false;
        *value = poll(p, which);
    } else if (c->read_isr) {
        *value = c->isr;
    } else {
        *value = which == PIC_MASTER ? master_requests(p) : c->irr;
    }
    return true;
}
