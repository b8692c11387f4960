/*
 * vmm-server/dev_state.c - the device models' state as checkpoint records
 * (dev_state.h, checkpoint/ckpt_proto.h): the 8259 pair with the VMM's IRQ
 * line levels, the 8254 with its times made relative to the clock, and the
 * COM1 16550. Each record is the model's structure (its layout is the
 * record's version: change the structure, change the version). A load
 * checks every field a model indexes with or branches on before anything
 * changes: an image is hostile input, and a bool holding 2 or a FIFO index
 * past the FIFO must never reach a model.
 */
#include "dev_state.h"
#include <stackcfg.h>
#include <stddef.h>
#include <string.h>

#define PIC_STATE_VERSION  1
#define PIT_STATE_VERSION  1
#define UART_STATE_VERSION 1
#define PIT_COUNT_MAX      65536u         /* a count of 0 counts 2^16 (8254 data sheet) */
#define PIC_LEVEL_MAX      7
#define NO_TIME            UINT64_MAX

typedef struct {
    pic_t pic;
    uint32_t irq_lines;                   /* the VMM's view of each input line's level */
} pic_state_t;

/* Which devices have a record, in record order. */
static const struct {
    uint32_t id, sc_dev;
} records[] = {
    { CKPT_DEV_PIC, SC_DEV_PIC }, { CKPT_DEV_PIT, SC_DEV_PIT }, { CKPT_DEV_UART, SC_DEV_UART },
};
#define N_RECORDS (sizeof records / sizeof records[0])

/* Times relative to @now and back (two's complement: a time already past
 * is a "negative" offset and comes back as the same distance in the past). */
static uint64_t rel(uint64_t t, uint64_t now) { return t == NO_TIME ? NO_TIME : t - now; }
static uint64_t abs_time(uint64_t r, uint64_t now) { return r == NO_TIME ? NO_TIME : r + now; }

bool dev_state_save(const dev_models_t *vm, unsigned k, ckpt_dev_record_t *rec, uint8_t *data,
                    uint64_t now_ns)
{
    unsigned seen = 0;
    for (unsigned i = 0; i < N_RECORDS; i++) {
        if (!(vm->devices & records[i].sc_dev) || seen++ != k)
            continue;
        *rec = (ckpt_dev_record_t){ .id = records[i].id, .instance = 0 };
        if (records[i].id == CKPT_DEV_PIC) {
            const pic_state_t s = { *vm->pic, *vm->irq_lines };
            rec->version = PIC_STATE_VERSION;
            rec->bytes = sizeof s;
            memcpy(data, &s, sizeof s);
        } else if (records[i].id == CKPT_DEV_PIT) {
            pit_t p = *vm->pit;
            for (unsigned c = 0; c < PIT_CHANNELS; c++)
                p.ch[c].run_start_ns = rel(p.ch[c].run_start_ns, now_ns);
            p.irq0_next_ns = rel(p.irq0_next_ns, now_ns);
            rec->version = PIT_STATE_VERSION;
            rec->bytes = sizeof p;
            memcpy(data, &p, sizeof p);
        } else {
            rec->version = UART_STATE_VERSION;
            rec->bytes = sizeof *vm->uart;
            memcpy(data, vm->uart, sizeof *vm->uart);
        }
        return true;
    }
    return false;
}

/* Every byte at @offs (bool fields) of the record is 0 or 1. */
static bool bools_ok(const uint8_t *data, const size_t *offs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (data[offs[i]] > 1)
            return false;
    return true;
}

static bool pic_ok(const uint8_t *data)
{
    for (unsigned c = 0; c < 2; c++) {
        const size_t base = offsetof(pic_state_t, pic.chip) + c * sizeof(pic_chip_t);
#define PB(f) base + offsetof(pic_chip_t, f)
        const size_t offs[] = { PB(icw4_needed), PB(single), PB(read_isr), PB(poll),
                                PB(special_mask), PB(rotate_aeoi) };
        const uint8_t step = data[PB(init_step)], lowest = data[PB(lowest)];
#undef PB
        /* 8259A data sheet: ICW2-ICW4 follow ICW1, so an initialization in
         * progress waits for word 2, 3 or 4; priorities are levels 0-7. */
        if (!bools_ok(data, offs, sizeof offs / sizeof offs[0]) ||
            (step != 0 && (step < 2 || step > 4)) || lowest > PIC_LEVEL_MAX)
            return false;
    }
    return true;
}

static bool pit_ok(const pit_t *p, const uint8_t *data)
{
    for (unsigned c = 0; c < PIT_CHANNELS; c++) {
        const size_t base = offsetof(pit_t, ch) + c * sizeof(pit_channel_t);
#define CB(f) base + offsetof(pit_channel_t, f)
        const size_t offs[] = { CB(bcd), CB(gate), CB(write_msb), CB(read_msb),
                                CB(count_latched), CB(status_latched), CB(null_count),
                                CB(loaded), CB(counting) };
#undef CB
        if (!bools_ok(data, offs, sizeof offs / sizeof offs[0]))
            return false;
        /* 8254 data sheet: modes 0-5, access modes latch/LSB/MSB/both,
         * counts 1 to 2^16. */
        const pit_channel_t *ch = &p->ch[c];
        if (ch->mode > PIT_MODE_HW_STROBE || ch->rw > PIT_RW_LOHI ||
            ch->reload > PIT_COUNT_MAX || ch->n > PIT_COUNT_MAX)
            return false;
    }
    return true;
}

static bool uart_ok(const uart16550_t *u, const uint8_t *data)
{
    const size_t offs[] = { offsetof(uart16550_t, fifo_enabled),
                            offsetof(uart16550_t, thre_pending) };
    return bools_ok(data, offs, 2) && u->rx_head < UART_FIFO_SIZE &&
           u->rx_count <= UART_FIFO_SIZE;
}

unsigned dev_state_load(dev_models_t *vm, const ckpt_dev_record_t *rec, const uint8_t *data,
                        uint64_t now_ns)
{
    unsigned i = 0;
    while (i < N_RECORDS && records[i].id != rec->id)
        i++;
    if (i == N_RECORDS || rec->instance != 0 || !(vm->devices & records[i].sc_dev))
        return CKPT_DEV_E_UNKNOWN;
    if (rec->id == CKPT_DEV_PIC) {
        pic_state_t s;
        if (rec->version != PIC_STATE_VERSION || rec->bytes != sizeof s)
            return CKPT_DEV_E_VERSION;
        if (!pic_ok(data))
            return CKPT_DEV_E_INVALID;
        memcpy(&s, data, sizeof s);
        if (s.irq_lines >> PIC_IRQS)
            return CKPT_DEV_E_INVALID;
        *vm->pic = s.pic;
        *vm->irq_lines = s.irq_lines;
    } else if (rec->id == CKPT_DEV_PIT) {
        pit_t p;
        if (rec->version != PIT_STATE_VERSION || rec->bytes != sizeof p)
            return CKPT_DEV_E_VERSION;
        memcpy(&p, data, sizeof p);     /* its bools checked (pit_ok) before any is read */
        if (!pit_ok(&p, data))
            return CKPT_DEV_E_INVALID;
        for (unsigned c = 0; c < PIT_CHANNELS; c++)
            p.ch[c].run_start_ns = abs_time(p.ch[c].run_start_ns, now_ns);
        p.irq0_next_ns = abs_time(p.irq0_next_ns, now_ns);
        *vm->pit = p;
    } else {
        uart16550_t u;
        if (rec->version != UART_STATE_VERSION || rec->bytes != sizeof u)
            return CKPT_DEV_E_VERSION;
        memcpy(&u, data, sizeof u);
        if (!uart_ok(&u, data))
            return CKPT_DEV_E_INVALID;
        *vm->uart = u;
    }
    return 0;
}
