/*
 * vmm-server/devices/lapic.c - a local APIC in xAPIC mode (see lapic.h).
 * Section numbers are those of the Intel SDM Vol. 3A chapter 10 ("Advanced
 * Programmable Interrupt Controller"), see docs/platforms.md.
 *
 * Modelled: register access rules, TPR/PPR priority, IRR/ISR/EOI, the ESR,
 * software enable/disable, the timer (one-shot and periodic, all divide
 * values, and TSC-deadline mode with the deadline converted by the VMM),
 * fixed and NMI self-IPIs through the ICR (the VMM injects the
 * pending NMI), level-triggered interrupts from the I/O APIC (TMR, the EOI
 * broadcast). Not modelled: level-triggered LVT inputs
 * (no Remote IRR in LINT0/1), SMI/INIT/STARTUP IPIs, other CPUs. LINT0/1
 * in NMI mode raise NMIs on a rising edge of the level the VMM passes.
 */
#include "devices/lapic.h"
#include <string.h>

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Bus clock ticks in @ns nanoseconds (floor), without overflow. */
static uint64_t ns_to_bus(uint64_t ns)
{
    return (ns / LAPIC_NS_PER_SEC) * LAPIC_BUS_HZ +
           (ns % LAPIC_NS_PER_SEC) * LAPIC_BUS_HZ / LAPIC_NS_PER_SEC;
}

/* The least ns with ns_to_bus(ns) >= @t (saturating). */
static uint64_t bus_to_ns(uint64_t t)
{
    uint64_t q = t / LAPIC_BUS_HZ, r = t % LAPIC_BUS_HZ;
    if (q > UINT64_MAX / LAPIC_NS_PER_SEC)
        return UINT64_MAX;
    return add_sat(q * LAPIC_NS_PER_SEC,
                   (r * LAPIC_NS_PER_SEC + LAPIC_BUS_HZ - 1) / LAPIC_BUS_HZ);
}

static bool test_vec(const uint32_t *bits, unsigned v)
{
    return bits[v / 32] >> (v % 32) & 1;
}

static void set_vec(uint32_t *bits, unsigned v)
{
    bits[v / 32] |= 1u << (v % 32);
}

static void clear_vec(uint32_t *bits, unsigned v)
{
    bits[v / 32] &= ~(1u << (v % 32));
}

static int highest_vec(const uint32_t *bits)
{
    for (int i = LAPIC_VECTOR_REGS - 1; i >= 0; i--)
        if (bits[i])
            return i * 32 + 31 - __builtin_clz(bits[i]);
    return -1;
}

static bool sw_enabled(const lapic_t *l)
{
    return l->svr & LAPIC_SVR_ENABLE;
}

/* SDM 10.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4,
 * where ISRV is the highest in-service vector (0 if none). */
static uint32_t ppr(const lapic_t *l)
{
    int isrv = highest_vec(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & LAPIC_CLASS_MASK;
    return (l->tpr & LAPIC_CLASS_MASK) >= isr_class ? l->tpr & LAPIC_PRIORITY_MASK : isr_class;
}

/* Log errors in the ESR and signal them through LVT Error (SDM 10.5.3). */
static void raise_error(lapic_t *l, uint32_t bits)
{
    l->esr_pending |= bits;
    uint32_t lvt = l->lvt[LAPIC_LVT_ERROR];
    unsigned v = lvt & LAPIC_LVT_VECTOR_MASK;
    if (!(lvt & LAPIC_LVT_MASKED) && v >= LAPIC_FIRST_VALID_VECTOR) {
        set_vec(l->irr, v);
        clear_vec(l->tmr, v);
    }
}

/* An edge-triggered fixed interrupt reaching the IRR (SDM 10.8.4); vectors
 * 0-15 are illegal and rejected (SDM 10.5.2). */
static void deliver(lapic_t *l, unsigned v)
{
    if (v < LAPIC_FIRST_VALID_VECTOR) {
        raise_error(l, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
        return;
    }
    set_vec(l->irr, v);
    clear_vec(l->tmr, v);
}

/* A level-triggered fixed interrupt (from an I/O APIC): SDM 10.8.4, the
 * TMR bit is set on acceptance into the IRR for a level-triggered
 * interrupt, cleared for an edge-triggered one. */
static void deliver_level(lapic_t *l, unsigned v)
{
    deliver(l, v);
    if (v >= LAPIC_FIRST_VALID_VECTOR)
        set_vec(l->tmr, v);
}

/* --- timer (SDM 10.5.4) --- */

/* Figure 10-10: bits 3,1,0 = 000 /2, 001 /4, 010 /8, 011 /16, 100 /32,
 * 101 /64, 110 /128, 111 /1; as a shift: (value + 1) mod 8. */
static unsigned div_shift(const lapic_t *l)
{
    unsigned v = (l->timer_dcr & 3) | (l->timer_dcr >> 1 & 4);
    return (v + 1) & 7;
}

static uint32_t timer_mode(const lapic_t *l)
{
    return l->lvt[LAPIC_LVT_TIMER] & LAPIC_LVT_TIMER_MODE_MASK;
}

static bool timer_periodic(const lapic_t *l)
{
    return timer_mode(l) == LAPIC_LVT_TIMER_PERIODIC;
}

static bool timer_tsc_deadline(const lapic_t *l)
{
    return timer_mode(l) == LAPIC_LVT_TIMER_TSC_DEADLINE;
}

/* SDM 10.5.4.1: disarmed, IA32_TSC_DEADLINE reads 0 (a transition between
 * TSC-deadline mode and the others disarms the timer too). */
static void timer_disarm(lapic_t *l)
{
    l->timer_running = false;
    l->tsc_deadline = 0;
    l->timer_deadline_ns = UINT64_MAX;
}

/* Timer ticks (bus ticks / divisor) counted since the count was started. */
static uint64_t timer_ticks(const lapic_t *l, uint64_t now)
{
    uint64_t d = now > l->timer_seg_start_ns ? now - l->timer_seg_start_ns : 0;
    return l->timer_ticks_base + (ns_to_bus(d) >> div_shift(l));
}

/* Start a new segment at @now (before the divisor changes). */
static void timer_rebase(lapic_t *l, uint64_t now)
{
    l->timer_ticks_base = timer_ticks(l, now);
    l->timer_seg_start_ns = now;
}

static void timer_schedule(lapic_t *l)
{
    if (timer_tsc_deadline(l))
        return;                         /* the deadline is the VMM's, in guest time */
    if (!l->timer_running) {
        l->timer_deadline_ns = UINT64_MAX;
        return;
    }
    uint64_t left = l->timer_next_tick > l->timer_ticks_base
                        ? l->timer_next_tick - l->timer_ticks_base : 0;
    unsigned sh = div_shift(l);
    uint64_t bus = left > (UINT64_MAX >> sh) ? UINT64_MAX : left << sh;
    l->timer_deadline_ns = add_sat(l->timer_seg_start_ns, bus_to_ns(bus));
}

/* The current-count register: counts down from the initial count; one-shot
 * stops at 0, periodic reloads (SDM 10.5.4). */
static uint32_t timer_current(const lapic_t *l, uint64_t now)
{
    /* SDM 10.5.4.1: in TSC-deadline mode the current count reads 0. */
    if (!l->timer_running || timer_tsc_deadline(l))
        return 0;
    uint64_t t = timer_ticks(l, now), n = l->timer_initial;
    if (timer_periodic(l))
        return (uint32_t)(n - t % n);
    return t >= n ? 0 : (uint32_t)(n - t);
}

void lapic_timer_update(lapic_t *l, uint64_t now_ns)
{
    if (!l->timer_running)
        return;
    if (timer_tsc_deadline(l)) {
        /* SDM 10.5.4.1: the interrupt when the TSC reaches the deadline
         * (the mask inhibits it, SDM 10.5.1); then the timer disarms itself
         * and the MSR reads 0: one interrupt per write. */
        if (now_ns < l->timer_deadline_ns)
            return;
        uint32_t lvt = l->lvt[LAPIC_LVT_TIMER];
        if (!(lvt & LAPIC_LVT_MASKED))
            deliver(l, lvt & LAPIC_LVT_VECTOR_MASK);
        timer_disarm(l);
        return;
    }
    uint64_t t = timer_ticks(l, now_ns);
    if (t < l->timer_next_tick)
        return;
    /* The LVT mask inhibits the interrupt, not the count (SDM 10.5.1). */
    uint32_t lvt = l->lvt[LAPIC_LVT_TIMER];
    if (!(lvt & LAPIC_LVT_MASKED))
        deliver(l, lvt & LAPIC_LVT_VECTOR_MASK);
    if (timer_periodic(l)) {
        /* Missed periods collapse into the one interrupt just raised. */
        uint64_t n = l->timer_initial, k = t / n + 1;
        l->timer_next_tick = k > UINT64_MAX / n ? UINT64_MAX : k * n;
    } else {
        l->timer_running = false;
    }
    timer_schedule(l);
}

uint64_t lapic_next_timer_ns(const lapic_t *l)
{
    if (!l->timer_running || (l->lvt[LAPIC_LVT_TIMER] & LAPIC_LVT_MASKED))
        return UINT64_MAX;
    return l->timer_deadline_ns;
}

uint64_t lapic_tsc_deadline(lapic_t *l, uint64_t now_ns)
{
    lapic_timer_update(l, now_ns);
    return timer_tsc_deadline(l) && l->timer_running ? l->tsc_deadline : 0;
}

void lapic_set_tsc_deadline(lapic_t *l, uint64_t tsc, uint64_t deadline_ns, uint64_t now_ns)
{
    /* SDM 10.5.4.1: "In other timer modes (LVT bit 18 = 0), the
     * IA32_TSC_DEADLINE MSR reads zero and writes are ignored." */
    if (!timer_tsc_deadline(l))
        return;
    lapic_timer_update(l, now_ns);
    if (tsc == 0) {
        timer_disarm(l);
        return;
    }
    l->tsc_deadline = tsc;
    l->timer_running = true;
    l->timer_deadline_ns = deadline_ns;
    lapic_timer_update(l, now_ns);      /* a deadline already passed fires now */
}

static void write_initial_count(lapic_t *l, uint32_t v, uint64_t now)
{
    /* SDM 10.5.4.1: in TSC-deadline mode writes to the initial count are
     * ignored. */
    if (timer_tsc_deadline(l))
        return;
    /* Writing the initial count starts the timer; 0 stops it (SDM 10.5.4). */
    l->timer_initial = v;
    l->timer_running = v != 0;
    l->timer_ticks_base = 0;
    l->timer_seg_start_ns = now;
    l->timer_next_tick = v;
    timer_schedule(l);
}

static void write_divide(lapic_t *l, uint32_t v, uint64_t now)
{
    timer_rebase(l, now);
    l->timer_dcr = v & LAPIC_DCR_WRITABLE;
    timer_schedule(l);
}

/* --- registers --- */

void lapic_init(lapic_t *l, uint32_t apic_id)
{
    /* SDM 10.4.7.1: IRR, ISR, TMR, ICR, LDR, TPR, timer and divide registers
     * zero; DFR all ones; LVT entries masked; SVR 0xFF (software-disabled). */
    memset(l, 0, sizeof(*l));
    l->id = (apic_id & 0xFFu) << LAPIC_ID_SHIFT;
    l->x2apic_id = apic_id;
    l->dfr = LAPIC_DFR_MODEL_MASK | LAPIC_DFR_RESERVED;
    l->svr = LAPIC_SVR_RESET;
    for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
        l->lvt[i] = LAPIC_LVT_RESET;
    l->timer_deadline_ns = UINT64_MAX;
    l->eoi_level_vector = -1;
}

/* Registers of Table 10-1 this APIC has (APR is absent on Pentium 4 and
 * later; LVT CMCI needs max LVT >= 6). */
static bool reg_exists(uint32_t off)
{
    switch (off) {
    case LAPIC_REG_ID: case LAPIC_REG_VERSION: case LAPIC_REG_TPR: case LAPIC_REG_PPR:
    case LAPIC_REG_EOI: case LAPIC_REG_RRD: case LAPIC_REG_LDR: case LAPIC_REG_DFR:
    case LAPIC_REG_SVR: case LAPIC_REG_ESR: case LAPIC_REG_ICR_LO: case LAPIC_REG_ICR_HI:
    case LAPIC_REG_TIMER_INITIAL: case LAPIC_REG_TIMER_CURRENT: case LAPIC_REG_TIMER_DIVIDE:
        return true;
    default:
        return (off >= LAPIC_REG_ISR && off < LAPIC_REG_ESR) ||
               (off >= LAPIC_REG_LVT_TIMER && off <= LAPIC_REG_LVT_ERROR);
    }
}

static uint32_t read_reg(const lapic_t *l, uint32_t off, uint64_t now)
{
    switch (off) {
    case LAPIC_REG_ID:            return l->id;
    case LAPIC_REG_VERSION:       return LAPIC_VERSION_REG;
    case LAPIC_REG_TPR:           return l->tpr;
    case LAPIC_REG_PPR:           return ppr(l);
    case LAPIC_REG_LDR:           return l->ldr;
    case LAPIC_REG_DFR:           return l->dfr;
    case LAPIC_REG_SVR:           return l->svr;
    case LAPIC_REG_ESR:           return l->esr;
    case LAPIC_REG_ICR_LO:        return l->icr_lo;   /* delivery status: idle */
    case LAPIC_REG_ICR_HI:        return l->icr_hi;
    case LAPIC_REG_TIMER_INITIAL: return l->timer_initial;
    case LAPIC_REG_TIMER_CURRENT: return timer_current(l, now);
    case LAPIC_REG_TIMER_DIVIDE:  return l->timer_dcr;
    case LAPIC_REG_EOI:           /* write-only */
    case LAPIC_REG_RRD:           /* no remote read in progress */
        return 0;
    default:
        break;
    }
    unsigned i = (off % 0x80) / LAPIC_REG_STRIDE;
    if (off >= LAPIC_REG_LVT_TIMER)
        return l->lvt[(off - LAPIC_REG_LVT_TIMER) / LAPIC_REG_STRIDE];
    if (off >= LAPIC_REG_IRR)
        return l->irr[i];
    if (off >= LAPIC_REG_TMR)
        return l->tmr[i];
    return l->isr[i];
}

/* SDM 10.12.10.2: the x2APIC logical ID, cluster ID (x2APIC ID[19:4]) in
 * 31:16 and bit x2APIC ID[3:0] set in 15:0. */
static uint32_t x2apic_ldr(const lapic_t *l)
{
    return (l->x2apic_id >> LAPIC_X2APIC_CLUSTER_ID_SHIFT) << LAPIC_X2APIC_CLUSTER_SHIFT |
           1u << (l->x2apic_id & LAPIC_X2APIC_LOGICAL_ID_MASK);
}

/* SDM 10.12.9, 10.12.10: x2APIC destinations are 32 bits; FFFFFFFFH is
 * every APIC, a logical one names a cluster and a bitmap within it. */
static bool x2apic_dest_match(const lapic_t *l, bool logical, uint32_t dest)
{
    if (dest == LAPIC_X2APIC_BROADCAST)
        return true;
    if (!logical)
        return dest == l->x2apic_id;
    uint32_t ldr = x2apic_ldr(l);
    return dest >> LAPIC_X2APIC_CLUSTER_SHIFT == ldr >> LAPIC_X2APIC_CLUSTER_SHIFT &&
           (dest & ldr & 0xFFFFu) != 0;
}

/* SDM 10.6.2.2: logical destination match, flat or cluster model. */
bool lapic_logical_match(const lapic_t *l, uint8_t dest)
{
    uint8_t ld = (uint8_t)(l->ldr >> LAPIC_LDR_SHIFT);
    if (dest == LAPIC_BROADCAST_ID)
        return true;
    if ((l->dfr & LAPIC_DFR_MODEL_MASK) == LAPIC_DFR_FLAT)
        return (ld & dest) != 0;
    return (ld >> 4) == (dest >> 4) && (ld & dest & 0xF) != 0;
}

/* An IPI (SDM 10.6.1) with ICR low half @lo to @dest (8 bits in xAPIC
 * mode, 32 in x2APIC mode). Only fixed, lowest-priority and NMI interrupts
 * that reach this APIC are modelled: there is no other CPU. */
static void send_ipi(lapic_t *l, uint32_t lo, uint32_t dest)
{
    unsigned v = lo & LAPIC_ICR_VECTOR_MASK;
    unsigned dm = (lo >> LAPIC_ICR_DM_SHIFT) & 7;
    unsigned sh = (lo & LAPIC_ICR_SHORTHAND_MASK) >> LAPIC_ICR_SHORTHAND_SHIFT;
    bool nmi = dm == LAPIC_DM_NMI;
    if (dm != LAPIC_DM_FIXED && dm != LAPIC_DM_LOWEST && !nmi)
        return;
    /* SDM 10.6.1: an NMI's vector is ignored (so is its trigger mode: always
     * edge); the self shorthand is valid with fixed delivery only (Table
     * 10-3), so an NMI "to self" by shorthand is an invalid combination and
     * is dropped. An NMI to the own APIC ID, to all including self or to a
     * matching logical destination reaches this CPU. */
    if (nmi && sh == LAPIC_SHORTHAND_SELF)
        return;
    if (!nmi && v < LAPIC_FIRST_VALID_VECTOR) {
        raise_error(l, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    bool self;
    switch (sh) {
    case LAPIC_SHORTHAND_SELF:
    case LAPIC_SHORTHAND_ALL:
        self = true;
        break;
    case LAPIC_SHORTHAND_OTHERS:
        self = false;
        break;
    default:
        self = l->x2apic ? x2apic_dest_match(l, lo & LAPIC_ICR_DEST_LOGICAL, dest)
                         : lapic_dest_match(l, lo & LAPIC_ICR_DEST_LOGICAL, (uint8_t)dest);
        break;
    }
    if (self && nmi)
        l->nmi_pending = true;  /* SDM 10.4.7.2: accepted even while software-disabled */
    else if (self)
        lapic_accept(l, (uint8_t)v);
}

/* The bits software may set in each LVT entry (SDM 10.5.1, Figure 10-8). */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
    [LAPIC_LVT_TIMER] = LAPIC_LVT_TIMER_WRITABLE,
    [LAPIC_LVT_THERMAL] = LAPIC_LVT_DM_WRITABLE,
    [LAPIC_LVT_PERF] = LAPIC_LVT_DM_WRITABLE,
    [LAPIC_LVT_LINT0] = LAPIC_LVT_LINT_WRITABLE,
    [LAPIC_LVT_LINT1] = LAPIC_LVT_LINT_WRITABLE,
    [LAPIC_LVT_ERROR] = LAPIC_LVT_ERROR_WRITABLE,
};

static void write_lvt(lapic_t *l, unsigned i, uint32_t v, uint64_t now)
{
    bool was_periodic = timer_periodic(l), was_deadline = timer_tsc_deadline(l);
    v &= lvt_writable[i];
    /* SDM 10.5.1 Figure 10-8: timer mode 11b is reserved; a write of it
     * keeps the mode as it was. */
    if (i == LAPIC_LVT_TIMER && (v & LAPIC_LVT_TIMER_MODE_MASK) == LAPIC_LVT_TIMER_MODE_MASK)
        v = (v & ~LAPIC_LVT_TIMER_MODE_MASK) | timer_mode(l);
    /* SDM 10.4.7.2: while software-disabled the mask bits stay set. */
    if (!sw_enabled(l))
        v |= LAPIC_LVT_MASKED;
    l->lvt[i] = v;
    if (i == LAPIC_LVT_TIMER && was_deadline != timer_tsc_deadline(l)) {
        /* SDM 10.5.4.1: "Transitioning between TSC-deadline mode and other
         * timer modes also disarms the timer." */
        timer_disarm(l);
        return;
    }
    if (i == LAPIC_LVT_TIMER && l->timer_running && was_periodic && !timer_periodic(l)) {
        /* Periodic -> one-shot: the current period is the last one. */
        uint64_t t = timer_ticks(l, now);
        l->timer_ticks_base = t % l->timer_initial;
        l->timer_seg_start_ns = now;
        l->timer_next_tick = l->timer_initial;
    }
    if (i == LAPIC_LVT_TIMER)
        timer_schedule(l);
}

static void write_reg(lapic_t *l, uint32_t off, uint32_t v, uint64_t now)
{
    int isrv;
    switch (off) {
    case LAPIC_REG_ID:
        l->id = v & (0xFFu << LAPIC_ID_SHIFT);   /* R/W on many models, Table 10-1 */
        break;
    case LAPIC_REG_TPR:
        l->tpr = v & LAPIC_PRIORITY_MASK;
        break;
    case LAPIC_REG_EOI:
        /* SDM 10.8.5: an EOI clears the highest-priority ISR bit. */
        isrv = highest_vec(l->isr);
        if (isrv >= 0) {
            clear_vec(l->isr, (unsigned)isrv);
            /* SDM 10.8.5: for a level-triggered interrupt (its TMR bit
             * set) the EOI is also broadcast to the I/O APICs (no
             * suppression: SVR bit 12 is not offered, Version bit 24 is 0). */
            if (test_vec(l->tmr, (unsigned)isrv))
                l->eoi_level_vector = isrv;
        }
        break;
    case LAPIC_REG_LDR:
        l->ldr = v & LAPIC_LDR_MASK;
        break;
    case LAPIC_REG_DFR:
        l->dfr = (v & LAPIC_DFR_MODEL_MASK) | LAPIC_DFR_RESERVED;
        break;
    case LAPIC_REG_SVR:
        l->svr = v & LAPIC_SVR_WRITABLE;
        /* SDM 10.4.7.2: software disable sets every LVT mask bit. */
        if (!sw_enabled(l))
            for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
                l->lvt[i] |= LAPIC_LVT_MASKED;
        break;
    case LAPIC_REG_ESR:
        /* SDM 10.5.3: a write latches the errors logged since the last one. */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case LAPIC_REG_ICR_HI:
        l->icr_hi = v & LAPIC_ICR_HI_WRITABLE;
        break;
    case LAPIC_REG_ICR_LO:
        l->icr_lo = v & LAPIC_ICR_LO_WRITABLE;   /* a write sends the IPI */
        send_ipi(l, l->icr_lo, l->icr_hi >> LAPIC_ICR_DEST_SHIFT);
        break;
    case LAPIC_REG_TIMER_INITIAL:
        write_initial_count(l, v, now);
        break;
    case LAPIC_REG_TIMER_DIVIDE:
        write_divide(l, v, now);
        break;
    default:
        if (off >= LAPIC_REG_LVT_TIMER && off <= LAPIC_REG_LVT_ERROR)
            write_lvt(l, (off - LAPIC_REG_LVT_TIMER) / LAPIC_REG_STRIDE, v, now);
        /* Version, PPR, RRD, ISR, TMR, IRR, current count: read-only. */
        break;
    }
}

bool lapic_mmio(lapic_t *l, uint32_t offset, bool write, uint32_t *value, uint64_t now_ns)
{
    /* SDM 10.4.1: registers are 32 bits wide at 16-byte-aligned offsets and
     * must be accessed with aligned 32-bit loads and stores. */
    if (offset >= LAPIC_PAGE_SIZE || offset % LAPIC_REG_STRIDE)
        return false;
    if (!reg_exists(offset)) {
        raise_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
        return false;
    }
    lapic_timer_update(l, now_ns);    /* expiries before this access happen first */
    if (write)
        write_reg(l, offset, *value, now_ns);
    else
        *value = read_reg(l, offset, now_ns);
    return true;
}

void lapic_set_x2apic(lapic_t *l, bool on)
{
    /* SDM 10.12.5.1: xAPIC -> x2APIC keeps the APIC's state; the ID is the
     * x2APIC ID and the LDR is derived from it (read through x2apic_ldr). */
    l->x2apic = on;
}

/* The bits of x2APIC register @off that are neither reserved nor
 * read-only status (SDM 10.12.1.2, Table 10-6, 10.12.1.3): a WRMSR setting
 * any other raises #GP. */
static uint32_t x2apic_write_mask(uint32_t off)
{
    switch (off) {
    case LAPIC_REG_TPR:          return LAPIC_PRIORITY_MASK;
    case LAPIC_REG_SVR:          return LAPIC_SVR_WRITABLE;
    case LAPIC_REG_TIMER_INITIAL: return UINT32_MAX;
    case LAPIC_REG_TIMER_DIVIDE: return LAPIC_DCR_WRITABLE;
    case LAPIC_REG_SELF_IPI:     return LAPIC_SELF_IPI_WRITABLE;
    case LAPIC_REG_EOI:                         /* a non-zero write raises #GP */
    case LAPIC_REG_ESR:
        return 0;
    default:
        break;
    }
    /* LVT entries: what software sets, plus the read-only status bits
     * (delivery status, remote IRR) written back as read. */
    return lvt_writable[(off - LAPIC_REG_LVT_TIMER) / LAPIC_REG_STRIDE] | LAPIC_LVT_PENDING |
           LAPIC_LVT_REMOTE_IRR;
}

bool lapic_x2apic_msr(lapic_t *l, uint32_t msr, bool write, uint64_t *value, uint64_t now_ns)
{
    if (!l->x2apic || msr < LAPIC_X2APIC_MSR_FIRST || msr > LAPIC_X2APIC_MSR_LAST)
        return false;
    uint32_t off = (msr - LAPIC_X2APIC_MSR_FIRST) << LAPIC_X2APIC_MSR_SHIFT;
    /* SDM Table 10-6: what x2APIC mode has of the xAPIC registers, and SELF
     * IPI; no DFR, ICR high half, RRD or APR (CMCI and APR are absent here
     * as in xAPIC mode). Their MSRs raise #GP. */
    bool read_only = off == LAPIC_REG_ID || off == LAPIC_REG_VERSION || off == LAPIC_REG_PPR ||
                     off == LAPIC_REG_LDR || off == LAPIC_REG_TIMER_CURRENT ||
                     (off >= LAPIC_REG_ISR && off < LAPIC_REG_ESR);
    bool write_only = off == LAPIC_REG_EOI || off == LAPIC_REG_SELF_IPI;
    if (off == LAPIC_REG_DFR || off == LAPIC_REG_ICR_HI || off == LAPIC_REG_RRD ||
        (!reg_exists(off) && off != LAPIC_REG_SELF_IPI) || (write ? read_only : write_only))
        return false;
    lapic_timer_update(l, now_ns);    /* expiries before this access happen first */
    if (off == LAPIC_REG_ICR_LO) {
        /* SDM 10.12.9: one 64-bit register, destination in 63:32; a write
         * sends the IPI. */
        if (!write) {
            *value = (uint64_t)l->icr_hi << 32 | l->icr_lo;
            return true;
        }
        if ((uint32_t)*value & ~LAPIC_X2APIC_ICR_WRITABLE)
            return false;
        l->icr_lo = (uint32_t)*value;
        l->icr_hi = (uint32_t)(*value >> 32);
        send_ipi(l, l->icr_lo, l->icr_hi);
        return true;
    }
    if (!write) {
        *value = off == LAPIC_REG_ID    ? l->x2apic_id
                 : off == LAPIC_REG_LDR ? x2apic_ldr(l)
                                        : read_reg(l, off, now_ns);
        return true;
    }
    if (*value >> 32 || ((uint32_t)*value & ~x2apic_write_mask(off)))
        return false;
    uint32_t v = (uint32_t)*value;
    if (off == LAPIC_REG_SELF_IPI)
        /* SDM 10.12.11: a fixed, edge-triggered IPI to this APIC. */
        send_ipi(l, v | LAPIC_SHORTHAND_SELF << LAPIC_ICR_SHORTHAND_SHIFT, 0);
    else
        write_reg(l, off, v, now_ns);
    return true;
}

void lapic_accept(lapic_t *l, uint8_t vector)
{
    /* SDM 10.4.7.2: a software-disabled APIC answers only NMI, SMI, INIT
     * and SIPI; fixed interrupts are not accepted. */
    if (!sw_enabled(l))
        return;
    deliver(l, vector);
}

int lapic_pending_vector(const lapic_t *l)
{
    /* SDM 10.8.3.1: deliverable if its class is above the PPR's. */
    int v = highest_vec(l->irr);
    if (v < 0 || ((uint32_t)v & LAPIC_CLASS_MASK) <= (ppr(l) & LAPIC_CLASS_MASK))
        return -1;
    return v;
}

void lapic_ack(lapic_t *l, uint8_t vector)
{
    /* SDM 10.8.4: on acceptance the IRR bit moves to the ISR. */
    if (!test_vec(l->irr, vector))
        return;
    clear_vec(l->irr, vector);
    set_vec(l->isr, vector);
}

bool lapic_nmi_pending(const lapic_t *l)
{
    return l->nmi_pending;
}

void lapic_nmi_ack(lapic_t *l)
{
    l->nmi_pending = false;
}

bool lapic_lint_nmi(const lapic_t *l, unsigned pin)
{
    if (pin > 1)
        return false;
    uint32_t lvt = l->lvt[LAPIC_LVT_LINT0 + pin];
    return !(lvt & LAPIC_LVT_MASKED) &&
           (lvt & LAPIC_LVT_DM_MASK) >> LAPIC_LVT_DM_SHIFT == LAPIC_DM_NMI;
}

void lapic_lint_level(lapic_t *l, unsigned pin, bool level)
{
    if (pin > 1)
        return;
    /* SDM 10.5.1: in NMI mode the pin is edge-sensitive whatever the
     * trigger-mode bit says; a masked entry drops the edge (10.5.1 mask
     * bit), and a software-disabled APIC masks every LVT entry (10.4.7.2). */
    bool rising = level && !l->lint_level[pin];
    l->lint_level[pin] = level;
    if (rising && lapic_lint_nmi(l, pin))
        l->nmi_pending = true;
}

bool lapic_extint_enabled(const lapic_t *l)
{
    uint32_t lint0 = l->lvt[LAPIC_LVT_LINT0];
    return sw_enabled(l) && !(lint0 & LAPIC_LVT_MASKED) &&
           (lint0 & LAPIC_LVT_DM_MASK) >> LAPIC_LVT_DM_SHIFT == LAPIC_DM_EXTINT;
}

bool lapic_dest_match(const lapic_t *l, bool logical, uint8_t dest)
{
    /* SDM 10.6.2.1: a physical destination is an APIC ID, 0xFF all of
     * them; 10.6.2.2: a logical one is matched against LDR/DFR. An 8-bit
     * destination reaching an APIC in x2APIC mode: 0xFF is the broadcast
     * (10.12.9). */
    if (l->x2apic)
        return x2apic_dest_match(l, logical, dest == LAPIC_BROADCAST_ID ? LAPIC_X2APIC_BROADCAST
                                                                         : dest);
    if (logical)
        return lapic_logical_match(l, dest);
    return dest == LAPIC_BROADCAST_ID || dest == l->id >> LAPIC_ID_SHIFT;
}

bool lapic_message(lapic_t *l, unsigned dm, uint8_t vector, bool level, bool logical,
                   uint8_t dest)
{
    if (!lapic_dest_match(l, logical, dest))
        return false;
    switch (dm) {
    case LAPIC_DM_FIXED:
    case LAPIC_DM_LOWEST:
        /* SDM 10.6.2.4: lowest priority among the matching APICs: here the
         * only one. 10.4.7.2: a software-disabled APIC accepts no fixed
         * interrupt. */
        if (!sw_enabled(l))
            return false;
        if (level)
            deliver_level(l, vector);
        else
            deliver(l, vector);
        return true;
    case LAPIC_DM_NMI:
        l->nmi_pending = true;  /* SDM 10.4.7.2: accepted even while software-disabled */
        return true;
    default:
        return false;           /* SMI, INIT, ExtINT (the VMM's business): not taken here */
    }
}

int lapic_take_eoi_broadcast(lapic_t *l)
{
    int v = l->eoi_level_vector;
    l->eoi_level_vector = -1;
    return v;
}
