/*
 * tests/unit/test_virtio_fuzz.c - seeded random rings and register
 * accesses against virtio/, under ASan and UBSan.
 *
 * Rings (VRING_INPUTS by default): each input is a split ring of a random
 * size written by a hostile driver: descriptors with addresses inside,
 * across, between and far outside the RAM windows, lengths from 0 to
 * 2^32-1, random flags and next indexes, indirect tables (some good, some
 * not), available idx and entries near and far from sane, all changed now
 * and then between pops as a concurrent guest would. The used ring sits in
 * a RAM window of its own, a heap block of exactly its size, so any device
 * write beyond it is an ASan error. Every chain the device accepts is
 * checked: each segment wholly inside a RAM window (a writable one for
 * device-writable segments), readable segments first, totals that add up
 * and stay within the limit.
 *
 * Registers (MMIO_INPUTS sequences of MMIO_ACCESSES): random accesses,
 * steered now and then through a sane initialization, mixed with pops and
 * pushes; the device's state must stay within what the spec allows.
 *
 * NESTOR_FUZZ_SEED (a number, 0x... allowed) replaces the fixed seed and
 * NESTOR_FUZZ_ITERS the number of ring inputs (register sequences are a
 * fifth of it); input I of seed S is the same on every run, and a failure
 * names both.
 */
#include "unit.h"
#include "virtio_driver.h"
#include <virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SEED       0x7669727469ull      /* "virti" */
#define VRING_INPUTS    100000u
#define MMIO_ACCESSES   60
#define MAX_QSIZE       256
#define MAX_SEGS        64
#define NTABLES         4
#define MAX_TABLE       40                   /* descriptors in an indirect table */
#define U_GPA           0x200000ull          /* the used ring's own window */

/* ---- randomness: a 64-bit weyl sequence through a multiply-xorshift ---- */

static uint64_t state;

static uint64_t rnd(void)
{
    state += 0x9e3779b97f4a7c15ull;
    uint64_t x = state;
    x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
    x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
    return x ^ (x >> 32);
}

static uint32_t below(uint32_t n) { return n ? (uint32_t)((rnd() >> 32) % n) : 0; }
static bool one_in(uint32_t n) { return below(n) == 0; }

static void seed_input(uint64_t seed, uint64_t kind, uint64_t i)
{
    state = seed ^ (kind << 56) ^ (i * 0xbf58476d1ce4e5b9ull);
    rnd();
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v)
        return fallback;
    uint64_t x = strtoull(v, &end, 0);
    return *end ? fallback : x;
}

/* ---- the fake RAM: A, B, C of virtio_driver.h and U for the used ring ---- */

static fram_t R;
static virtio_ram_window_t W[FRAM_WINDOWS + 1];
static virtio_ram_t RAM;

static void ram_with_used(uint8_t *u, uint64_t size)
{
    memcpy(W, R.win, sizeof R.win);
    W[FRAM_WINDOWS] = (virtio_ram_window_t){ .gpa = U_GPA, .size = size, .host = u };
    RAM = (virtio_ram_t){ .windows = W, .count = FRAM_WINDOWS + 1 };
}

static bool in_ram(const uint8_t *p, uint64_t len, bool write)
{
    for (unsigned i = 0; i < RAM.count; i++) {
        const virtio_ram_window_t *w = &RAM.windows[i];
        uintptr_t at = (uintptr_t)p, base = (uintptr_t)w->host;
        if (at >= base && at - base <= w->size && len <= w->size - (at - base))
            return !(write && (w->flags & VIRTIO_RAM_READ_ONLY));
    }
    return false;
}

/* ---- a hostile driver's values ---- */

static uint64_t tables[NTABLES];        /* guest-physical addresses of indirect tables */
static unsigned table_len[NTABLES];     /* their entries */

static uint64_t rnd_addr(void)
{
    switch (below(12)) {
    case 0: case 1: case 2: case 3:
        return 0xa000 + below(0x15000);                        /* buffers in A */
    case 4: return FRAM_B_GPA + below(FRAM_B_SIZE);            /* B */
    case 5: return FRAM_B_GPA - below(64);                     /* across the seam */
    case 6: return FRAM_C_GPA + below(FRAM_C_SIZE + 64);       /* read-only, and past it */
    case 7: return FRAM_GAP_GPA - below(64);                   /* into the gap */
    case 8: return UINT64_MAX - below(0x1000);                 /* wraps */
    case 9: return tables[below(NTABLES)];
    case 10: return U_GPA + below(0x100);                      /* the used ring itself */
    default: return rnd();
    }
}

static uint32_t rnd_len(void)
{
    switch (below(8)) {
    case 0: return 0;
    case 1: case 2: return 1 + below(64);
    case 3: return below(0x1000);
    case 4: return VIRTQ_DESC_SIZE * (1 + below(MAX_TABLE));  /* a table's length */
    case 5: return VIRTQ_DESC_SIZE * below(MAX_TABLE) + below(16);
    case 6: return UINT32_MAX - below(16);
    default: return (uint32_t)rnd();
    }
}

static uint16_t rnd_flags(void)
{
    if (one_in(20))
        return (uint16_t)rnd();
    uint16_t f = (uint16_t)below(8);
    if (below(3))
        f &= (uint16_t)~VIRTQ_DESC_F_INDIRECT;                 /* indirect less often */
    return f;
}

static uint16_t rnd_next(unsigned bound)
{
    return one_in(16) ? (uint16_t)rnd() : (uint16_t)below(bound);
}

static void rnd_desc_at(uint64_t table, unsigned i, unsigned bound)
{
    vdrv_table_desc(&R, table, i, rnd_addr(), rnd_len(), rnd_flags(), rnd_next(bound));
}

/* Where indirect tables go: aligned in A, across the A/B seam, in C. */
static void place_tables(void)
{
    for (unsigned t = 0; t < NTABLES; t++) {
        switch (below(4)) {
        case 0: tables[t] = FRAM_B_GPA - 8 - 16 * below(4); break;
        case 1: tables[t] = FRAM_C_GPA + 16 * below(64); break;
        default: tables[t] = 0x8000 + 0x400 * t + below(2) * 8; break;
        }
        table_len[t] = 1 + below(MAX_TABLE);
        for (unsigned i = 0; i < table_len[t]; i++)
            if (tables[t] + VIRTQ_DESC_SIZE * (i + 1) <= FRAM_GAP_GPA ||
                tables[t] >= FRAM_C_GPA)
                rnd_desc_at(tables[t], i, table_len[t]);
    }
}

/* ---- rings ---- */

typedef struct {
    uint64_t input;
    unsigned ok, refused, broken, empty;
} ring_stats_t;

static ring_stats_t stats;

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "virtio fuzz: input %llu of seed %#llx: %s (line %d)\n",      \
                    (unsigned long long)stats.input, (unsigned long long)seed, #cond,     \
                    __LINE__);                                                             \
            CU_FAIL_FATAL(#cond);                                                          \
        }                                                                                  \
    } while (0)

/* An accepted chain must be wholly in RAM, readable first, and add up. */
static void check_chain(uint64_t seed, const virtq_t *q, const virtq_seg_t *s, unsigned max,
                        const virtq_chain_t *c)
{
    uint64_t rd = 0, wr = 0;
    bool seen_writable = false;
    FUZZ_CHECK(c->head < q->size);
    FUZZ_CHECK(c->nsegs <= max);
    FUZZ_CHECK(c->descs <= 2u * q->size);
    for (unsigned i = 0; i < c->nsegs; i++) {
        FUZZ_CHECK(s[i].len > 0);
        FUZZ_CHECK(in_ram(s[i].host, s[i].len, s[i].writable));
        FUZZ_CHECK(!(seen_writable && !s[i].writable));
        seen_writable |= s[i].writable;
        if (s[i].writable)
            wr += s[i].len;
        else
            rd += s[i].len;
    }
    FUZZ_CHECK(rd == c->readable && wr == c->writable);
    FUZZ_CHECK(rd + wr <= q->max_chain_bytes && rd + wr <= VIRTQ_MAX_CHAIN_BYTES);
}

static void one_ring(uint64_t seed)
{
    uint16_t size = (uint16_t)(1u << below(9));                 /* 1 .. 256 */
    uint64_t used_bytes = VIRTQ_USED_SIZE(size);
    uint8_t *u = malloc(used_bytes);
    FUZZ_CHECK(u != NULL);
    memset(u, 0, used_bytes);
    ram_with_used(u, used_bytes);

    vdrv_t d;
    uint64_t desc = 0x1000 + 16 * below(16), avail = 0x6000 + 2 * below(8);
    vdrv_init(&d, &R, size, desc, avail, 0x7000);
    d.used = one_in(8) ? 0x7000 : U_GPA;                         /* mostly its own window */
    place_tables();
    for (unsigned i = 0; i < size; i++)
        rnd_desc_at(desc, i, size + (one_in(8) ? 2 : 0));
    uint16_t start_idx = one_in(10) ? (uint16_t)rnd() : (uint16_t)below(size + 1);
    for (unsigned i = 0; i < size; i++)
        vdrv_set_avail_entry(&d, (uint16_t)i, one_in(12) ? (uint16_t)rnd() : (uint16_t)below(size));
    vdrv_set_avail_idx(&d, start_idx);
    vdrv_set_avail_flags(&d, (uint16_t)below(2));
    vdrv_set_used_event(&d, (uint16_t)rnd());

    virtq_t q;
    virtq_init(&q);
    virtq_config_t cfg = vdrv_config(&d, below(2), below(2));
    if (one_in(16)) {                               /* a bad setup now and then */
        cfg.size = one_in(2) ? (uint32_t)rnd() % 70000 : cfg.size;
        cfg.desc = one_in(2) ? rnd_addr() : cfg.desc;
        cfg.used = one_in(2) ? rnd_addr() & ~3ull : cfg.used;
    }
    virtq_err_t e = virtq_setup(&q, &RAM, &cfg);
    if (e) {
        FUZZ_CHECK(e == VIRTQ_ERR_BAD_SIZE || e == VIRTQ_ERR_MISALIGNED ||
                   e == VIRTQ_ERR_RING_OUTSIDE_RAM);
        FUZZ_CHECK(!q.ready);
        free(u);
        return;
    }
    q.on_bad_chain = below(2) ? VIRTQ_BAD_CHAIN_FAILS : VIRTQ_BAD_CHAIN_BREAKS;
    if (one_in(4))
        q.max_chain_bytes = below(0x3000);
    unsigned max = 1 + below(MAX_SEGS);
    virtq_seg_t segs[MAX_SEGS];
    virtq_chain_t c;
    for (unsigned step = 0, steps = 4 + below(3u * size); step < steps; step++) {
        switch (below(10)) {
        case 0:                                     /* the guest changes a descriptor */
            rnd_desc_at(desc, below(size), size);
            continue;
        case 1:                                     /* ... or offers more */
            vdrv_set_avail_entry(&d, (uint16_t)(d.avail_idx % size), (uint16_t)below(size + 1));
            vdrv_set_avail_idx(&d, (uint16_t)(d.avail_idx + (one_in(20) ? rnd() : 1)));
            continue;
        case 2:
            virtq_set_notify(&q, below(2));
            continue;
        case 3:
            virtq_need_notify(&q);
            continue;
        }
        e = virtq_pop(&q, segs, max, &c);
        FUZZ_CHECK((unsigned)e < VIRTQ_ERR_COUNT);
        if (e == VIRTQ_OK) {
            stats.ok++;
            check_chain(seed, &q, segs, max, &c);
            uint32_t len = c.writable ? (uint32_t)(rnd() % (c.writable + 1)) : 0;
            FUZZ_CHECK(virtq_push(&q, c.head, len) == VIRTQ_OK);
        } else if (e == VIRTQ_EMPTY) {
            stats.empty++;
        } else if (q.broken) {
            stats.broken++;
            FUZZ_CHECK(q.error == e);
            FUZZ_CHECK(virtq_pop(&q, segs, max, &c) == VIRTQ_ERR_BROKEN);
            break;
        } else {
            /* the lenient policy: consumed, nothing to use, pushed with 0 */
            stats.refused++;
            FUZZ_CHECK(q.on_bad_chain == VIRTQ_BAD_CHAIN_FAILS && !virtq_err_fatal(e));
            FUZZ_CHECK(e >= VIRTQ_ERR_NEXT_OUT_OF_RANGE && e <= VIRTQ_ERR_TOO_MANY_SEGMENTS);
            FUZZ_CHECK(c.nsegs == 0 && c.head < size);
            FUZZ_CHECK(virtq_push(&q, c.head, 0) == VIRTQ_OK);
        }
    }
    free(u);
}

static void test_fuzz_rings(void)
{
    uint64_t seed = env_u64("NESTOR_FUZZ_SEED", FUZZ_SEED);
    uint64_t n = env_u64("NESTOR_FUZZ_ITERS", VRING_INPUTS);
    stats = (ring_stats_t){ 0 };
    fram_init(&R);
    for (stats.input = 0; stats.input < n; stats.input++) {
        seed_input(seed, 1, stats.input);
        one_ring(seed);
    }
    fram_free(&R);
    printf("\n    virtio fuzz: %llu rings (seed %#llx): %u chains served, %u refused, "
           "%u queues broken, %u empty pops\n", (unsigned long long)n,
           (unsigned long long)seed, stats.ok, stats.refused, stats.broken, stats.empty);
    /* the generator must reach both sides, or it tests nothing */
    if (n >= 1000) {
        CU_ASSERT(stats.ok > n / 10);
        CU_ASSERT(stats.refused > 0);
        CU_ASSERT(stats.broken > 0);
    }
}

/* ---- registers ---- */

static bool cfg_read(void *ctx, uint32_t off, unsigned size, uint32_t *v)
{
    (void)ctx;
    *v = off * 0x01010101u & (size == 4 ? UINT32_MAX : (1u << (8 * size)) - 1);
    return (off & 7) != 7;
}

static bool cfg_write(void *ctx, uint32_t off, unsigned size, uint32_t v)
{
    (void)ctx, (void)size, (void)v;
    return off < 4;
}

static const virtio_mmio_ops_t OPS = { .config_read = cfg_read, .config_write = cfg_write };

static const uint32_t regs[] = {
    VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
    VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM_MAX,
    VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY,
    VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS,
    VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DRIVER_LOW,
    VIRTIO_MMIO_QUEUE_DRIVER_HIGH, VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
    VIRTIO_MMIO_SHM_SEL, VIRTIO_MMIO_SHM_LEN_LOW, VIRTIO_MMIO_QUEUE_RESET,
    VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_CONFIG + 6,
};

/* A value a driver might write to @reg: mostly plausible, sometimes not. */
static uint32_t rnd_value(uint32_t reg)
{
    if (one_in(6))
        return (uint32_t)rnd();
    switch (reg) {
    case VIRTIO_MMIO_STATUS: {
        static const uint32_t steps[] = { 0, 1, 3, 11, 15, 0x80, 0x4b };
        return steps[below(sizeof steps / sizeof steps[0])];
    }
    case VIRTIO_MMIO_DRIVER_FEATURES:
        return below(2) ? 1u << (VIRTIO_F_VERSION_1 - 32) : (uint32_t)rnd() & 0x30000001u;
    case VIRTIO_MMIO_QUEUE_NUM: return 1u << below(6);
    case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        return 0x1000 * below(8);
    default: return below(4);
    }
}

/* A driver that does it right (3.1.1, 4.2.3.2), so that the random
 * accesses after it start from a live device. */
static void sane_start(virtio_mmio_dev_t *dev, uint64_t features)
{
    virtio_mmio_effect_t eff;
    static const struct { uint32_t reg, value; } seq[] = {
        { VIRTIO_MMIO_STATUS, 0 }, { VIRTIO_MMIO_STATUS, 1 }, { VIRTIO_MMIO_STATUS, 3 },
        { VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1 }, { VIRTIO_MMIO_DRIVER_FEATURES, 1 },
        { VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0 }, { VIRTIO_MMIO_DRIVER_FEATURES, 0 },
        { VIRTIO_MMIO_STATUS, 11 }, { VIRTIO_MMIO_QUEUE_SEL, 0 }, { VIRTIO_MMIO_QUEUE_NUM, 32 },
        { VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000 }, { VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x2000 },
        { VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3000 }, { VIRTIO_MMIO_QUEUE_READY, 1 },
        { VIRTIO_MMIO_STATUS, 15 },
    };
    for (unsigned i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        uint32_t v = seq[i].value;
        if (seq[i].reg == VIRTIO_MMIO_DRIVER_FEATURES && i == 6)
            v = (uint32_t)features;                 /* the low word: a random subset */
        virtio_mmio_write(dev, seq[i].reg, 4, v, &eff);
    }
}

static void test_fuzz_registers(void)
{
    uint64_t seed = env_u64("NESTOR_FUZZ_SEED", FUZZ_SEED);
    uint64_t n = env_u64("NESTOR_FUZZ_ITERS", VRING_INPUTS) / 5;
    static virtio_mmio_queue_t qs[3];
    virtio_mmio_dev_t dev;
    unsigned live = 0, served = 0;
    fram_init(&R);
    ram_with_used(R.a, FRAM_A_SIZE / 2);            /* no own window here: RAM is A, B, C */
    RAM.count = FRAM_WINDOWS;
    for (stats.input = 0; stats.input < n; stats.input++) {
        seed_input(seed, 2, stats.input);
        memset(qs, 0, sizeof qs);
        qs[0].num_max = 32;
        qs[2].num_max = (uint16_t)(1u << below(4));
        uint64_t features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | (rnd() & 0x30000003ull);
        FUZZ_CHECK(virtio_mmio_init(&dev, VIRTIO_ID_NET, 0, features, qs, 3, 16, &OPS, NULL,
                                    &RAM) == VIRTIO_MMIO_INIT_OK);
        vdrv_t d;
        vdrv_init(&d, &R, 32, 0x1000, 0x2000, 0x3000);
        for (unsigned k = 0; k < 32; k++)
            rnd_desc_at(0x1000, k, 32);
        if (below(2))
            sane_start(&dev, features & rnd());
        for (unsigned a = 0; a < MMIO_ACCESSES; a++) {
            virtio_mmio_effect_t eff;
            uint32_t reg = regs[below(sizeof regs / sizeof regs[0])];
            unsigned size = one_in(10) ? 1u << below(4) : 4;
            if (one_in(20))
                reg = below(0x120);
            virtio_mmio_err_t e;
            if (below(2)) {
                uint32_t v = 0x5a5a5a5a;
                e = virtio_mmio_read(&dev, reg, size, &v, &eff);
                FUZZ_CHECK(e == VIRTIO_MMIO_OK || v == 0);
            } else {
                e = virtio_mmio_write(&dev, reg, size, rnd_value(reg), &eff);
            }
            FUZZ_CHECK((unsigned)e < VIRTIO_MMIO_ERR_COUNT);
            if (one_in(4)) {                        /* the server's side */
                virtq_seg_t segs[MAX_SEGS];
                virtq_chain_t c;
                vdrv_offer(&d, (uint16_t)below(33));
                virtq_err_t qe = virtio_mmio_pop(&dev, 0, segs, MAX_SEGS, &c, &eff);
                if (qe == VIRTQ_OK) {
                    served++;
                    check_chain(seed, &dev.queues[0].vq, segs, MAX_SEGS, &c);
                    FUZZ_CHECK(virtio_mmio_push(&dev, 0, c.head, 0, &eff) == VIRTQ_OK);
                }
            }
            /* what the spec allows the device to show */
            FUZZ_CHECK(!(dev.interrupt_status & ~VIRTIO_MMIO_INT_ALL));
            FUZZ_CHECK(virtio_mmio_irq(&dev) == (dev.interrupt_status != 0));
            FUZZ_CHECK(!(dev.status & 0x30));
            for (unsigned i = 0; i < 3; i++) {
                const virtq_t *q = &qs[i].vq;
                if (!q->ready)
                    continue;
                FUZZ_CHECK(dev.status & VIRTIO_STATUS_FEATURES_OK);
                FUZZ_CHECK(q->size <= qs[i].num_max && !(q->size & (q->size - 1)));
            }
            live += virtio_mmio_live(&dev);
        }
    }
    fram_free(&R);
    printf("\n    virtio fuzz: %llu register sequences: %u accesses live, %u chains served\n",
           (unsigned long long)n, live, served);
}

UNIT_SUITE(virtio_fuzz_suite)
{
    CU_pSuite s = CU_add_suite("virtio fuzz", NULL, NULL);
    CU_add_test(s, "random rings: every segment in RAM, no crash", test_fuzz_rings);
    CU_add_test(s, "random register accesses and server calls", test_fuzz_registers);
}
