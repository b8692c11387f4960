/*
 * vmm-server/devices/pit8254.c - the 8254 PIT (see pit8254.h).
 *
 * Each counter is kept as "ticks counted so far" derived from guest time:
 * ticks(t) = floor(t * 1193182 / 1e9), computed without overflow for any
 * 64-bit time. The count register, OUT and IRQ0 deadlines all follow from
 * the elapsed ticks and the mode (data sheet, "Mode Definitions").
 *
 * Simplifications: a count takes effect at once (the data sheet's extra CLK
 * pulse before counting starts is not modelled, so mode 0's OUT rises N ticks
 * after the count is written, not N + 1); a new count written while a mode 2
 * or 3 counter runs restarts it at once instead of at the end of the current
 * period. Mode 3 with an odd count is high for (N + 1) / 2 ticks and low for
 * (N - 1) / 2, as the data sheet says, but the count read back in the first
 * half decrements from N rather than N - 1.
 */
#include "devices/pit8254.h"
#include <string.h>

#define BIN_MODULUS 65536u
#define BCD_MODULUS 10000u

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Whole PIT ticks in @ns nanoseconds: floor(ns * HZ / 1e9), split so that
 * no intermediate product overflows. */
static uint64_t ns_to_ticks(uint64_t ns)
{
    return (ns / PIT_NS_PER_SEC) * PIT_HZ + (ns % PIT_NS_PER_SEC) * PIT_HZ / PIT_NS_PER_SEC;
}

/* The least @ns with ns_to_ticks(ns) >= @t (saturating). */
static uint64_t ticks_to_ns(uint64_t t)
{
    uint64_t q = t / PIT_HZ, r = t % PIT_HZ;
    if (q > UINT64_MAX / PIT_NS_PER_SEC)
        return UINT64_MAX;
    return add_sat(q * PIT_NS_PER_SEC, (r * PIT_NS_PER_SEC + PIT_HZ - 1) / PIT_HZ);
}

static uint32_t modulus(const pit_channel_t *c)
{
    return c->bcd ? BCD_MODULUS : BIN_MODULUS;
}

/* Modes 1 and 5 count regardless of GATE once triggered; the others stop
 * while GATE is low (data sheet, "Gate" table). */
static bool gate_stops(const pit_channel_t *c)
{
    return c->mode != PIT_MODE_ONESHOT && c->mode != PIT_MODE_HW_STROBE;
}

static uint64_t elapsed(const pit_channel_t *c, uint64_t now)
{
    if (!c->counting)
        return 0;
    uint64_t e = c->elapsed;
    if (c->gate || !gate_stops(c))
        e += ns_to_ticks(now > c->run_start_ns ? now - c->run_start_ns : 0);
    return e;
}

/* The counting element now, 1..modulus (modulus reads back as 0). */
static uint32_t count_now(const pit_channel_t *c, uint64_t now)
{
    if (!c->counting)
        return c->reload;
    uint64_t e = elapsed(c, now);
    uint32_t n = c->n, mod = modulus(c), p, half;
    switch (c->mode) {
    case PIT_MODE_RATE:
        return n - (uint32_t)(e % n);
    case PIT_MODE_SQUARE:
        /* Decrements by two; high for the first (N + 1) / 2 ticks. */
        p = (uint32_t)(e % n);
        half = (n + 1) / 2;
        return p < half ? n - 2 * p : n - 2 * (p - half);
    default:
        /* Modes 0, 1, 4, 5 wrap past terminal count and keep counting. */
        return (n + mod - (uint32_t)(e % mod)) % mod;
    }
}

static uint16_t to_bcd(uint32_t v)
{
    v %= BCD_MODULUS;
    return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
    uint32_t d = (v >> 12 & 0xF) * 1000u + (v >> 8 & 0xF) * 100u + (v >> 4 & 0xF) * 10u + (v & 0xF);
    return d % BCD_MODULUS;
}

/* The count register as the CPU reads it. */
static uint16_t count_reg(const pit_channel_t *c, uint64_t now)
{
    uint32_t v = count_now(c, now);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static bool out_level(const pit_channel_t *c, uint64_t now)
{
    if (!c->counting)
        return c->mode != PIT_MODE_TERMINAL_COUNT;  /* mode 0: low after the control word */
    uint64_t e = elapsed(c, now);
    uint32_t n = c->n;
    switch (c->mode) {
    case PIT_MODE_TERMINAL_COUNT:
    case PIT_MODE_ONESHOT:
        return e >= n;
    case PIT_MODE_RATE:
        return !c->gate || e % n != n - 1;           /* low for the tick at count 1 */
    case PIT_MODE_SQUARE:
        return !c->gate || e % n < (n + 1) / 2;
    default:
        return e != n;                               /* strobe: low for one tick */
    }
}

static void schedule_irq0(pit_t *p, uint64_t now)
{
    const pit_channel_t *c = &p->ch[0];
    uint64_t target;
    p->irq0_next_ns = UINT64_MAX;
    if (!c->counting)
        return;
    uint64_t e = elapsed(c, now);
    switch (c->mode) {
    case PIT_MODE_TERMINAL_COUNT:
        if (e >= c->n)
            return;
        target = c->n;
        break;
    case PIT_MODE_RATE:
    case PIT_MODE_SQUARE:
        /* OUT rises when the count reloads: at every multiple of N. */
        target = (e / c->n + 1) * c->n;
        break;
    case PIT_MODE_SW_STROBE:
        if (e > c->n)
            return;
        target = (uint64_t)c->n + 1;                 /* after the one-tick low strobe */
        break;
    default:
        return;                                      /* modes 1, 5: GATE0 never rises */
    }
    p->irq0_next_ns = add_sat(c->run_start_ns, ticks_to_ns(target - c->elapsed));
}

void pit_init(pit_t *p)
{
    memset(p, 0, sizeof(*p));
    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        p->ch[i].rw = PIT_RW_LOHI;
        p->ch[i].gate = i != 2;    /* GATE0/1 tied high; GATE2 is port 0x61 bit 0 */
    }
    p->irq0_next_ns = UINT64_MAX;
}

static void latch_count(pit_channel_t *c, uint64_t now)
{
    /* A second latch before the first is read is ignored (data sheet,
     * "Counter Latch Command"). */
    if (c->count_latched)
        return;
    c->count_latched = true;
    c->latch = count_reg(c, now);
}

static void latch_status(pit_channel_t *c, uint64_t now)
{
    if (c->status_latched)
        return;
    c->status_latched = true;
    c->status = (uint8_t)((out_level(c, now) ? PIT_STATUS_OUT : 0) |
                          (c->null_count ? PIT_STATUS_NULL : 0) |
                          c->rw << PIT_CW_RW_SHIFT | c->mode_bits << PIT_CW_MODE_SHIFT |
                          (c->bcd ? PIT_CW_BCD : 0));
}

static void write_control(pit_t *p, uint8_t v, uint64_t now)
{
    unsigned sc = v >> PIT_CW_SC_SHIFT;
    if (sc == PIT_CW_SC_READBACK) {
        for (unsigned i = 0; i < PIT_CHANNELS; i++) {
            if (!(v & PIT_RB_CHANNEL(i)))
                continue;
            if (!(v & PIT_RB_NO_COUNT))
                latch_count(&p->ch[i], now);
            if (!(v & PIT_RB_NO_STATUS))
                latch_status(&p->ch[i], now);
        }
        return;
    }
    pit_channel_t *c = &p->ch[sc];
    unsigned rw = (v & PIT_CW_RW_MASK) >> PIT_CW_RW_SHIFT;
    if (rw == PIT_RW_LATCH) {
        latch_count(c, now);
        return;
    }
    /* A control word resets the counter's control logic; counting waits
     * for a new count (data sheet, "Write Operations"). */
    c->rw = (uint8_t)rw;
    c->mode_bits = (v & PIT_CW_MODE_MASK) >> PIT_CW_MODE_SHIFT;
    c->mode = c->mode_bits > PIT_MODE_HW_STROBE ? c->mode_bits - 4 : c->mode_bits;
    c->bcd = v & PIT_CW_BCD;
    c->write_msb = false;
    c->read_msb = false;
    c->count_latched = false;
    c->status_latched = false;
    c->null_count = true;
    c->loaded = false;
    c->counting = false;
    c->elapsed = 0;
    if (sc == 0)
        p->irq0_next_ns = UINT64_MAX;
}

static void load_count(pit_t *p, pit_channel_t *c, uint16_t raw, uint64_t now)
{
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    if (n == 0)
        n = modulus(c);            /* 0 is the largest count: 65536 (10000 in BCD) */
    c->reload = n;
    c->loaded = true;
    if (c->mode == PIT_MODE_ONESHOT || c->mode == PIT_MODE_HW_STROBE)
        return;                    /* loaded into the counting element on a GATE edge */
    c->n = n;
    c->counting = true;
    c->null_count = false;
    c->elapsed = 0;
    c->run_start_ns = now;
    if (c == &p->ch[0])
        schedule_irq0(p, now);
}

static void write_counter(pit_t *p, pit_channel_t *c, uint8_t v, uint64_t now)
{
    switch (c->rw) {
    case PIT_RW_LO:
        load_count(p, c, v, now);
        break;
    case PIT_RW_HI:
        load_count(p, c, (uint16_t)(v << 8), now);
        break;
    default:
        if (!c->write_msb) {
            c->write_lsb = v;
            c->write_msb = true;
            /* Mode 0: writing the first byte stops the count and drives OUT
             * low at once (data sheet, mode 0). */
            if (c->mode == PIT_MODE_TERMINAL_COUNT) {
                c->counting = false;
                c->loaded = false;
                if (c == &p->ch[0])
                    p->irq0_next_ns = UINT64_MAX;
            }
        } else {
            c->write_msb = false;
            load_count(p, c, (uint16_t)(c->write_lsb | v << 8), now);
        }
        break;
    }
}

static uint8_t read_counter(pit_channel_t *c, uint64_t now)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v = c->count_latched ? c->latch : count_reg(c, now);
    bool msb;
    switch (c->rw) {
    case PIT_RW_LO:  msb = false; break;
    case PIT_RW_HI:  msb = true;  break;
    default:
        msb = c->read_msb;
        c->read_msb = !c->read_msb;
        break;
    }
    /* The latch holds until it has been read out completely. */
    if (c->count_latched && (c->rw != PIT_RW_LOHI || msb))
        c->count_latched = false;
    return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void set_gate(pit_channel_t *c, bool high, uint64_t now)
{
    if (c->gate == high)
        return;
    if (!high) {
        if (c->counting && gate_stops(c))
            c->elapsed += ns_to_ticks(now > c->run_start_ns ? now - c->run_start_ns : 0);
        c->gate = false;
        return;
    }
    c->gate = true;
    switch (c->mode) {
    case PIT_MODE_TERMINAL_COUNT:
    case PIT_MODE_SW_STROBE:
        c->run_start_ns = now;     /* counting resumes */
        break;
    case PIT_MODE_RATE:
    case PIT_MODE_SQUARE:
        if (c->counting) {         /* a rising GATE reloads the count */
            c->n = c->reload;
            c->elapsed = 0;
            c->run_start_ns = now;
        }
        break;
    default:                       /* modes 1, 5: a rising GATE (re)triggers */
        if (c->loaded) {
            c->n = c->reload;
            c->counting = true;
            c->null_count = false;
            c->elapsed = 0;
            c->run_start_ns = now;
        }
        break;
    }
}

bool pit_io(pit_t *p, uint16_t port, bool in, uint8_t *value, uint64_t now_ns)
{
    switch (port) {
    case PIT_PORT_CH0:
    case PIT_PORT_CH1:
    case PIT_PORT_CH2: {
        pit_channel_t *c = &p->ch[port - PIT_PORT_CH0];
        if (in)
            *value = read_counter(c, now_ns);
        else
            write_counter(p, c, *value, now_ns);
        return true;
    }
    case PIT_PORT_CONTROL:
        if (in)
            *value = 0xFF;         /* the control word register cannot be read */
        else
            write_control(p, *value, now_ns);
        return true;
    case PIT_PORT_B:
        if (in) {
            *value = (uint8_t)((p->port_b & PIT_B_WRITABLE) |
                               ((now_ns / PIT_REFRESH_NS) & 1 ? PIT_B_REFRESH : 0) |
                               (out_level(&p->ch[2], now_ns) ? PIT_B_OUT2 : 0));
        } else {
            p->port_b = *value & PIT_B_WRITABLE;
            set_gate(&p->ch[2], *value & PIT_B_GATE2, now_ns);
        }
        return true;
    default:
        return false;
    }
}

bool pit_irq0_due(pit_t *p, uint64_t now_ns)
{
    if (p->irq0_next_ns == UINT64_MAX || now_ns < p->irq0_next_ns)
        return false;
    const pit_channel_t *c = &p->ch[0];
    if (c->counting && (c->mode == PIT_MODE_RATE || c->mode == PIT_MODE_SQUARE))
        schedule_irq0(p, now_ns);  /* the next multiple of N after now */
    else
        p->irq0_next_ns = UINT64_MAX;
    return true;
}

uint64_t pit_next_irq0_ns(const pit_t *p)
{
    return p->irq0_next_ns;
}
