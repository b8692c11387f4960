/*
 * tests/unit/test_devsrv_console.c - the virtio console device of the
 * console server (device-servers/console/console.c), driven as the server
 * drives it: every guest access as the VMM forwards it (con_access), a
 * driver's rings written into a fake guest RAM (one heap block of exactly
 * its size, so ASan sees any stray device access), the lines it emits
 * captured. Identity and features (Virtio 1.2 5.3), transmitq0 to lines
 * as the VMM's UART makes them, interrupts, refusals and their log limit,
 * a broken ring (DEVICE_NEEDS_RESET, 2.1.2) and the reset after it.
 */
#include "unit.h"
#include "ds_state_cases.h"
#include "console.h"
#define DSD_SHORTHANDS                  /* rd, wr, desc, offer ... on D */
#include "devsrv_driver.h"
#include <devsrv.h>
#include <virtio_shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BYTES   0x40000u            /* 256 KiB of guest RAM */
#define DESC_GPA    DSD_DESC_GPA
#define AVAIL_GPA   DSD_AVAIL_GPA
#define USED_GPA    DSD_USED_GPA
#define BUF_GPA     0x8000u
#define QSIZE       DSD_QSIZE
#define MAX_LINES   64

static uint8_t *ram;
static con_t C;
static dsd_t D;
static char lines[MAX_LINES][CON_LINE_MAX + 80];
static unsigned n_lines;


static void emit(const char *text)
{
    if (n_lines < MAX_LINES)
        snprintf(lines[n_lines++], sizeof lines[0], "%s", text);
}

static bool access(void *dev, bool write, uint64_t off, uint64_t size, uint32_t *v, uint32_t w)
{
    return con_access(dev, write, off, size, v, w);
}

/* Descriptor @i holds @text (at BUF_GPA + i * 256). */
static void text_desc(unsigned i, const char *text, uint16_t flags, uint16_t next)
{
    size_t n = strlen(text);
    memcpy(ram + BUF_GPA + i * 256, text, n);
    desc(i, BUF_GPA + i * 256, (uint32_t)n, flags, next);
}

static void kick(void) { CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, CON_TRANSMITQ)); }

/* The used ring moved by @n since the last look, each element length 0. */
static bool used(unsigned n)
{
    uint16_t idx = get16(USED_GPA + VIRTQ_USED_IDX_OFF);
    if ((uint16_t)(idx - used_seen) != n)
        return false;
    for (; used_seen != idx; used_seen++) {
        uint32_t slot = USED_GPA + VIRTQ_USED_RING_OFF + (used_seen % QSIZE) * VIRTQ_USED_ELEM_SIZE;
        if (get32(slot + VIRTQ_USED_ELEM_ID_OFF) >= QSIZE ||
            get32(slot + VIRTQ_USED_ELEM_LEN_OFF) != 0)
            return false;
    }
    return true;
}

/* 3.1.1 and 4.2.3.2 for transmitq0, as the guest driver does. */
static void driver_init(void)
{
    dsd_driver_init(&D, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), CON_TRANSMITQ);
}

static void setup(void)
{
    free(ram);
    ram = calloc(1, RAM_BYTES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
    memset(&C, 0, sizeof C);
    strcpy(C.name, "con");
    strcpy(C.vm, "vm1");
    C.ram_bytes = RAM_BYTES;
    C.emit = emit;
    n_lines = 0;
    D = (dsd_t){ .ram = ram, .access = access, .dev = &C };
    CU_ASSERT_TRUE_FATAL(con_init(&C, ram));
}

static void test_identity(void)
{
    setup();
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_VERSION), VIRTIO_MMIO_VERSION_2);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_VENDOR_ID), DS_VIRTIO_VENDOR);
    /* Features: VERSION_1, INDIRECT_DESC, EVENT_IDX; no console feature
     * (5.3.3: F_SIZE 0, F_MULTIPORT 1, F_EMERG_WRITE 2). */
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0));
    uint32_t lo = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1));
    uint32_t hi = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    CU_ASSERT_EQUAL(lo & 0x7, 0);
    CU_ASSERT_TRUE(lo & (1u << VIRTIO_F_INDIRECT_DESC));
    CU_ASSERT_TRUE(lo & (1u << VIRTIO_F_EVENT_IDX));
    CU_ASSERT_TRUE(hi & (1u << (VIRTIO_F_VERSION_1 - 32)));
    /* Two queues of CON_QUEUE_SIZE, no third. */
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_SEL, CON_RECEIVEQ));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), CON_QUEUE_SIZE);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_SEL, CON_TRANSMITQ));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), CON_QUEUE_SIZE);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_SEL, CON_QUEUES));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* The configuration space reads zeros and takes no writes. */
    driver_init();
    uint32_t v = 1;
    CU_ASSERT_TRUE(con_access(&C, false, VIRTIO_MMIO_CONFIG, 2, &v, 0));
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_FALSE(con_access(&C, true, VIRTIO_MMIO_CONFIG + 8, 4, &v, 1));
    CU_ASSERT_FALSE(con_access(&C, false, VIRTIO_MMIO_CONFIG + CON_CONFIG_SIZE, 4, &v, 0));
    CU_ASSERT_FALSE(con_irq(&C));
    CU_ASSERT_EQUAL(n_lines, 2);        /* the two refusals, logged */
}

static void test_transmit(void)
{
    setup();
    driver_init();
    text_desc(0, "hello ", VIRTQ_DESC_F_NEXT, 1);
    text_desc(1, "world\r\n", 0, 0);
    offer(0);
    text_desc(2, "bell\a and ", 0, 0);
    offer(2);
    kick();
    CU_ASSERT_TRUE(used(2));
    CU_ASSERT_EQUAL_FATAL(n_lines, 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "[vm1] hello world");
    CU_ASSERT_TRUE(con_irq(&C));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING));
    CU_ASSERT_FALSE(con_irq(&C));
    /* The line goes on across chains; a device-writable buffer is ignored. */
    text_desc(3, "more\n", VIRTQ_DESC_F_NEXT, 4);
    desc(4, BUF_GPA + 0x4000, 16, VIRTQ_DESC_F_WRITE, 0);
    offer(3);
    kick();
    CU_ASSERT_TRUE(used(1));
    CU_ASSERT_EQUAL_FATAL(n_lines, 2);
    CU_ASSERT_STRING_EQUAL(lines[1], "[vm1] bell? and more");
    /* A line longer than CON_LINE_MAX is cut into pieces. */
    char long_text[250];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    text_desc(5, long_text, 0, 0);
    offer(5);
    text_desc(6, "\n", 0, 0);
    offer(6);
    /* Suppressed interrupts (2.7.7): used, but no notification. */
    CU_ASSERT_TRUE(con_irq(&C));
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING));
    put16(AVAIL_GPA + VIRTQ_AVAIL_FLAGS_OFF, VIRTQ_AVAIL_F_NO_INTERRUPT);
    kick();
    CU_ASSERT_TRUE(used(2));
    CU_ASSERT_FALSE(con_irq(&C));
    CU_ASSERT_EQUAL_FATAL(n_lines, 4);
    CU_ASSERT_EQUAL(strlen(lines[2]), strlen("[vm1] ") + CON_LINE_MAX - 1);
    CU_ASSERT_EQUAL(strlen(lines[3]), strlen("[vm1] ") + 249 - (CON_LINE_MAX - 1));
    CU_ASSERT_EQUAL(C.kicks, 3);
    CU_ASSERT_EQUAL(C.chains, 5);
    CU_ASSERT_EQUAL(C.refusals, 0);
    /* A reset ends the line in progress. */
    text_desc(7, "unfinished", 0, 0);
    offer(7);
    kick();
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_STATUS, 0));
    CU_ASSERT_EQUAL_FATAL(n_lines, 5);
    CU_ASSERT_STRING_EQUAL(lines[4], "[vm1] unfinished");
}

static void test_broken_ring(void)
{
    setup();
    driver_init();
    desc(0, RAM_BYTES - 8, 16, 0, 0);      /* runs off the end of RAM */
    offer(0);
    kick();
    CU_ASSERT_TRUE(used(0));
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    CU_ASSERT_TRUE(con_irq(&C));
    CU_ASSERT_EQUAL(C.resets_needed, 1);
    CU_ASSERT_EQUAL_FATAL(n_lines, 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "virtio-console con: vm vm1: transmitq0 chain refused: a "
                           "buffer is not in guest RAM; the device needs a reset");
    /* Nothing more is consumed until a reset (a notification is refused:
     * the device is not live); then it works again. */
    text_desc(1, "lost\n", 0, 0);
    offer(1);
    CU_ASSERT_FALSE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, CON_TRANSMITQ));
    CU_ASSERT_TRUE(used(0));
    driver_init();
    CU_ASSERT_FALSE(con_irq(&C));
    text_desc(0, "again\n", 0, 0);
    offer(0);
    kick();
    CU_ASSERT_TRUE(used(1));
    CU_ASSERT_STRING_EQUAL(lines[n_lines - 1], "[vm1] again");
    /* A chain longer than CON_MAX_CHAIN_BYTES: the same (after a reset, the
     * limit still holds). */
    driver_init();
    desc(0, BUF_GPA, CON_MAX_CHAIN_BYTES / 2, VIRTQ_DESC_F_NEXT, 1);
    desc(1, BUF_GPA, CON_MAX_CHAIN_BYTES / 2 + 1, 0, 0);
    offer(0);
    kick();
    CU_ASSERT_TRUE(used(0));
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_EQUAL(C.resets_needed, 2);
    driver_init();
    /* A head beyond the table, an index jump: the same. */
    put16(AVAIL_GPA + VIRTQ_AVAIL_IDX_OFF, (uint16_t)(avail_idx + QSIZE + 1));
    kick();
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_EQUAL(C.resets_needed, 3);
}

/* What the VMM forwards is checked too; refusals are logged CON_LOG_MAX
 * times, then once more to say so, then only counted. */
static void test_refusals(void)
{
    setup();
    uint32_t v = 7;
    CU_ASSERT_FALSE(con_access(&C, false, CON_WINDOW_SIZE, 4, &v, 0));
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_FALSE(con_access(&C, false, 0, 8, &v, 0));
    CU_ASSERT_FALSE(con_access(&C, false, 0, 0, &v, 0));
    CU_ASSERT_FALSE(con_access(&C, true, CON_WINDOW_SIZE - 2, 4, &v, 0));
    CU_ASSERT_FALSE(con_access(&C, false, ~0ull - 1, 4, &v, 0));
    CU_ASSERT_STRING_EQUAL(lines[0], "virtio-console con: vm vm1: read of 4 bytes at 0x1000 "
                           "refused: outside the device's window or wider than 4 bytes");
    CU_ASSERT_FALSE(wr(VIRTIO_MMIO_MAGIC_VALUE, 0));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
    for (unsigned i = 0; i < 3 * CON_LOG_MAX; i++)
        wr(VIRTIO_MMIO_VERSION, i);
    CU_ASSERT_EQUAL(n_lines, CON_LOG_MAX + 1);
    CU_ASSERT_STRING_EQUAL(lines[CON_LOG_MAX], "virtio-console con: vm vm1: more refusals: no "
                           "longer logged");
    CU_ASSERT_EQUAL(C.refusals, 7 + 3 * CON_LOG_MAX);
    /* ... and the device still works. */
    driver_init();
    text_desc(0, "fine\n", 0, 0);
    offer(0);
    kick();
    CU_ASSERT_TRUE(used(1));
    CU_ASSERT_EQUAL(n_lines, CON_LOG_MAX + 2);
    CU_ASSERT_STRING_EQUAL(lines[n_lines - 1], "[vm1] fine");
    free(ram);
    ram = NULL;
}

/* ---- a hostile driver: seeded random accesses and rings ---- */

static uint64_t rng;

static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;      /* xorshift64 */
    return (uint32_t)(rng >> 11);
}

/* Registers a driver touches, to aim half the accesses at real ones. */
static const uint32_t reg_offsets[] = {
    VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM,
    VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS,
    VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_RESET,
    VIRTIO_MMIO_CONFIG,
};

static void fuzz_step(void)
{
    uint32_t r = rnd() % 8, v;
    if (r < 3) {                                 /* scribble on the ring */
        uint32_t at = DESC_GPA + rnd() % (USED_GPA + 0x100 - DESC_GPA);
        ram[at] = (uint8_t)rnd();
        if (rnd() % 4 == 0)                      /* a plausible descriptor */
            desc(rnd() % QSIZE, rnd() % 2 ? BUF_GPA + rnd() % 0x1000 : rnd(), rnd() % 300,
                 (uint16_t)(rnd() % 8), (uint16_t)(rnd() % (QSIZE + 2)));
        if (rnd() % 2)
            put16(AVAIL_GPA + VIRTQ_AVAIL_IDX_OFF, (uint16_t)(avail_idx += rnd() % 3));
    } else if (r < 5) {
        con_access(&C, true, VIRTIO_MMIO_QUEUE_NOTIFY, 4, &v, rnd() % 3);
    } else {
        uint32_t off = rnd() % 2 ? reg_offsets[rnd() % (sizeof reg_offsets / sizeof reg_offsets[0])]
                                 : rnd() % (CON_WINDOW_SIZE + 0x100);
        static const uint64_t sizes[] = { 1, 2, 4, 4, 4, 8, 0 };
        uint32_t w = rnd() % 2 ? rnd() : rnd() % 16;
        con_access(&C, rnd() % 2, off, sizes[rnd() % 7], &v, w);
    }
}

/* Whatever the driver does: no access outside the RAM block (ASan), every
 * line printable and bounded, the line the interrupt status. */
static void test_fuzz(void)
{
    const char *env = getenv("NESTOR_FUZZ_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 0x436f6e736f6c65ull;    /* "Console" */
    rng = seed | 1;
    unsigned bad_lines = 0, bad_irq = 0;
    uint64_t kicks = 0, chains = 0;
    for (unsigned round = 0; round < 200; round++) {
        setup();
        if (rnd() % 4)
            driver_init();
        for (unsigned step = 0; step < 500; step++) {
            n_lines = 0;
            fuzz_step();
            for (unsigned i = 0; i < n_lines; i++) {
                size_t len = strlen(lines[i]);
                bool ok = len < sizeof lines[0] - 1;
                for (size_t k = 0; k < len; k++)
                    ok &= lines[i][k] >= 0x20 && lines[i][k] < 0x7F;
                ok &= !strncmp(lines[i], "[vm1] ", 6) || !strncmp(lines[i], "virtio-console con: ", 20);
                bad_lines += !ok;
            }
            bad_irq += con_irq(&C) != (C.dev.interrupt_status != 0);
        }
        kicks += C.kicks;
        chains += C.chains;
    }
    printf("\n    console fuzz, seed 0x%llx: %llu kicks, %llu chains served\n    ",
           (unsigned long long)seed, (unsigned long long)kicks, (unsigned long long)chains);
    CU_ASSERT_EQUAL(bad_lines, 0);
    CU_ASSERT_EQUAL(bad_irq, 0);
    CU_ASSERT_TRUE(chains > 0);
    free(ram);
    ram = NULL;
}

/* Host input for receiveq0 (5.3.6): held until the driver posts writable
 * buffers, then given chain by chain with the lengths written; a chain
 * without a writable byte used with length 0 and logged; the interrupt as
 * for transmitted chains. */
static void test_input(void)
{
    static const char text[] = "input for the guest\n";      /* 20 bytes */
    setup();
    C.input = text;
    C.input_len = (unsigned)strlen(text);
    CU_ASSERT_FALSE(con_input_pending(&C));                  /* not live yet */
    dsd_driver_init(&D, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), CON_RECEIVEQ);
    CU_ASSERT_FALSE(con_input_pending(&C));                  /* not notified yet (2.7.13) */
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, CON_RECEIVEQ));
    CU_ASSERT_TRUE(con_input_pending(&C));
    CU_ASSERT_EQUAL(con_input(&C), 0);                       /* no buffer yet */
    CU_ASSERT_FALSE(con_irq(&C));
    desc(0, BUF_GPA, 8, 0, 0);                               /* device-readable only */
    desc(1, BUF_GPA + 0x100, 8, VIRTQ_DESC_F_WRITE, 0);
    desc(2, BUF_GPA + 0x200, 4, VIRTQ_DESC_F_NEXT, 3);       /* readable, then writable */
    desc(3, BUF_GPA + 0x300, 8, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    offer(1);
    offer(2);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, CON_RECEIVEQ));
    CU_ASSERT_EQUAL(C.rx_kicks, 2);
    CU_ASSERT_EQUAL(get16(USED_GPA + VIRTQ_USED_IDX_OFF), 0); /* nothing before con_input */
    CU_ASSERT_EQUAL(con_input(&C), 16);
    CU_ASSERT_EQUAL(get16(USED_GPA + VIRTQ_USED_IDX_OFF), 3);
    const uint32_t ring = USED_GPA + VIRTQ_USED_RING_OFF;
    CU_ASSERT_EQUAL(get32(ring + VIRTQ_USED_ELEM_LEN_OFF), 0);
    CU_ASSERT_EQUAL(get32(ring + VIRTQ_USED_ELEM_SIZE + VIRTQ_USED_ELEM_LEN_OFF), 8);
    CU_ASSERT_EQUAL(get32(ring + 2 * VIRTQ_USED_ELEM_SIZE + VIRTQ_USED_ELEM_LEN_OFF), 8);
    CU_ASSERT_EQUAL(memcmp(ram + BUF_GPA + 0x100, text, 8), 0);
    CU_ASSERT_EQUAL(memcmp(ram + BUF_GPA + 0x300, text + 8, 8), 0);
    CU_ASSERT_TRUE(con_irq(&C));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING));
    CU_ASSERT_EQUAL(n_lines, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "receiveq0 chain refused: no device-writable buffer"));
    /* The rest (4 bytes) when the next buffer comes; then nothing is left. */
    CU_ASSERT_TRUE(con_input_pending(&C));
    desc(4, BUF_GPA + 0x400, 8, VIRTQ_DESC_F_WRITE, 0);
    offer(4);
    CU_ASSERT_EQUAL(con_input(&C), 4);
    CU_ASSERT_EQUAL(memcmp(ram + BUF_GPA + 0x400, text + 16, 4), 0);
    CU_ASSERT_EQUAL(get32(ring + 3 * VIRTQ_USED_ELEM_SIZE + VIRTQ_USED_ELEM_LEN_OFF), 4);
    CU_ASSERT_FALSE(con_input_pending(&C));
    CU_ASSERT_EQUAL(C.rx_bytes, 20);
    /* A receive buffer outside RAM breaks the queue like a transmit one. */
    C.input_off = 0;
    desc(5, RAM_BYTES - 4, 8, VIRTQ_DESC_F_WRITE, 0);
    offer(5);
    CU_ASSERT_EQUAL(con_input(&C), 0);
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_FALSE(con_input_pending(&C));
}

/* ---- a checkpoint (console.h con_state_t, devsrv.h DS_REQ_SAVE/LOAD) ---- */

#define RX_DESC_GPA  0x10000u           /* receiveq0's rings; transmitq0 has D's */
#define RX_AVAIL_GPA 0x11000u
#define RX_USED_GPA  0x12000u
static con_t C2;                        /* a restore's fresh device */
static virtio_shadow_t S;               /* the driver's writes, as the VMM keeps them */
static uint16_t rx_avail;

static bool access_kept(void *dev, bool write, uint64_t off, uint64_t size, uint32_t *v,
                        uint32_t w)
{
    bool ok = con_access(dev, write, off, size, v, w);
    if (ok && write && virtio_shadow_keeps(off, size))
        virtio_shadow_write(&S, (uint32_t)off, w);
    return ok;
}

/* 3.1.1 with both queues (4.2.3.2), as a console driver. */
static void both_queues_init(void)
{
    const uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                        VIRTIO_STATUS_FEATURES_OK;
    static const uint32_t rings[CON_QUEUES][3] = {
        [CON_RECEIVEQ] = { RX_DESC_GPA, RX_AVAIL_GPA, RX_USED_GPA },
        [CON_TRANSMITQ] = { DESC_GPA, AVAIL_GPA, USED_GPA } };
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_STATUS, 0));
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER));
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1));
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32)));
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_STATUS, st));
    for (unsigned q = 0; q < CON_QUEUES; q++) {
        CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_SEL, q));
        CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE));
        CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_DESC_LOW, rings[q][0]));
        CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, rings[q][1]));
        CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, rings[q][2]));
        CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_READY, 1));
    }
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK));
}

/* A receive buffer of @len bytes at @gpa offered on receiveq0 as its
 * descriptor @i. */
static void rx_offer(unsigned i, uint32_t gpa, uint32_t len)
{
    virtq_desc_t e = { .addr = gpa, .len = len, .flags = VIRTQ_DESC_F_WRITE };
    memcpy(ram + RX_DESC_GPA + i * VIRTQ_DESC_SIZE, &e, sizeof e);
    put16(RX_AVAIL_GPA + VIRTQ_AVAIL_RING_OFF + (rx_avail % QSIZE) * 2, (uint16_t)i);
    put16(RX_AVAIL_GPA + VIRTQ_AVAIL_IDX_OFF, ++rx_avail);
}

/* The restore's fresh device over the same RAM, brought to the shadow's
 * state by its replay as the VMM does (virtio_fwd.c vfwd_load). */
static void fresh(void)
{
    memset(&C2, 0, sizeof C2);
    strcpy(C2.name, "con");
    strcpy(C2.vm, "vm1");
    C2.ram_bytes = RAM_BYTES;
    C2.emit = emit;
    CU_ASSERT_TRUE_FATAL(con_init(&C2, ram));
    virtio_shadow_op_t ops[VIRTIO_SHADOW_OPS_MAX];
    const unsigned n = virtio_shadow_replay(&S, ops);
    uint32_t v;
    CU_ASSERT_TRUE(con_access(&C2, true, VIRTIO_MMIO_STATUS, 4, &v, 0));
    for (unsigned i = 0; i < n; i++)
        CU_ASSERT_TRUE(con_access(&C2, true, ops[i].offset, 4, &v, ops[i].value));
}

static bool logged(const char *text)
{
    for (unsigned i = 0; i < n_lines; i++)
        if (strstr(lines[i], text))
            return true;
    return false;
}

/* @bad refused by a freshly replayed device with @code and a line holding
 * @why; the device exactly as the replay left it. */
static void con_refused(const ds_state_t *bad, unsigned code, const char *why)
{
    fresh();
    static con_t before;
    before = C2;
    n_lines = 0;
    CU_ASSERT_EQUAL(con_load(&C2, bad), code);
    CU_ASSERT_TRUE(logged("virtio-console con: vm vm1: device state refused: "));
    CU_ASSERT_TRUE(logged(why));
    if (!logged(why))
        fprintf(stderr, "expected refusal \"%s\", got \"%s\"\n", why, n_lines ? lines[0] : "");
    CU_ASSERT_EQUAL(memcmp(&before, &C2, sizeof C2), 0);
}

/* A console with a partial output line and pending input saved, and a
 * fresh device after the replay taking it: the line goes on where it was,
 * the input is the image's; every hostile part refused, nothing changed. */
static void test_checkpoint(void)
{
    static const char text[] = "input for the guest\n";      /* 20 bytes */
    setup();
    memset(&S, 0, sizeof S);
    rx_avail = 0;
    D.access = access_kept;
    C.input = text;
    C.input_len = (unsigned)strlen(text);
    both_queues_init();
    rx_offer(0, BUF_GPA + 0x1000, 6);
    CU_ASSERT_FALSE(con_input_pending(&C));                  /* not notified yet */
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, CON_RECEIVEQ));
    CU_ASSERT_TRUE(con_input_pending(&C));
    CU_ASSERT_EQUAL(con_input(&C), 6);                       /* 14 bytes left */
    text_desc(0, "first\nsecond ", VIRTQ_DESC_F_NEXT, 1);
    text_desc(1, "half", 0, 0);
    offer(0);
    kick();
    CU_ASSERT_EQUAL(n_lines, 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "[vm1] first");
    CU_ASSERT_TRUE(con_irq(&C));

    ds_state_t st;
    n_lines = 0;
    CU_ASSERT_TRUE(con_save(&C, &st));
    CU_ASSERT_TRUE(logged("virtio-console con: vm vm1: device state saved (status 0xf, receiveq0 "
                          "at used index 1, transmitq0 at used index 1, interrupt pending; a "
                          "partial line of 11 bytes, 14 bytes of input pending)"));
    con_state_t cs;
    memcpy(&cs, st.dev, sizeof cs);
    CU_ASSERT_EQUAL(st.version, DS_STATE_VERSION);
    CU_ASSERT_EQUAL(st.device_id, VIRTIO_ID_CONSOLE);
    CU_ASSERT_EQUAL(st.dev_version, CON_STATE_VERSION);
    CU_ASSERT_EQUAL(st.dev_bytes, sizeof cs);
    CU_ASSERT_EQUAL(cs.line_len, 11);
    CU_ASSERT_EQUAL(memcmp(cs.line, "second half", 11), 0);
    CU_ASSERT_EQUAL(cs.input_len, 14);
    CU_ASSERT_EQUAL(cs.rx_live, 1);
    CU_ASSERT_EQUAL(memcmp(cs.input, text + 6, 14), 0);
    CU_ASSERT_EQUAL(C.line_len, 11);                         /* the save changes nothing */

    /* Hostile parts (the transport's, ds_state_cases.c, then the
     * console's own). */
    CU_ASSERT_EQUAL(ds_state_hostile_transport(&st, VIRTIO_ID_BLOCK, con_refused), 14);
    ds_state_t bad = st;
    bad.version = DS_STATE_VERSION_1;                        /* no part: ours is needed */
    con_refused(&bad, DS_STATE_E_DEVICE, "the device type's own state missing");
    bad = st;
    bad.dev_version = CON_STATE_VERSION + 1;
    con_refused(&bad, DS_STATE_E_DEVICE, "of another version or of another size");
    bad = st;
    bad.dev_bytes = sizeof cs - 8;
    con_refused(&bad, DS_STATE_E_DEVICE, "of another version or of another size");
    bad = st;
    bad.dev[sizeof cs] = 1;
    con_refused(&bad, DS_STATE_E_DEVICE, "bytes after the device type's own state");
    const struct {
        size_t off;
        uint32_t value;
        unsigned width;
        const char *why;
    } pokes[] = {
        { offsetof(con_state_t, line_len), CON_LINE_MAX - 1, 4, "a partial line longer than a line" },
        { offsetof(con_state_t, line_len), 0x80000000u, 4, "a partial line longer than a line" },
        { offsetof(con_state_t, line) + 3, '\n', 1, "a partial line with a byte a line does not hold" },
        { offsetof(con_state_t, line) + 5, 0x80, 1, "a partial line with a byte a line does not hold" },
        { offsetof(con_state_t, line) + 11, 'x', 1, "or bytes after it" },
        { offsetof(con_state_t, line) + CON_LINE_MAX - 1, 'x', 1, "or bytes after it" },
        { offsetof(con_state_t, input_len), CON_INPUT_MAX + 1, 4, "more pending input than the console holds" },
        { offsetof(con_state_t, rx_live), 2, 4, "a receiveq0 flag that is neither 0 nor 1" },
        { offsetof(con_state_t, reserved), 1, 4, "or reserved bits" },
        { offsetof(con_state_t, input) + 14, 'x', 1, "bytes after the pending input" },
        { offsetof(con_state_t, input) + CON_INPUT_MAX - 1, 1, 1, "bytes after the pending input" },
    };
    for (unsigned i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        bad = st;
        memcpy(bad.dev + pokes[i].off, &pokes[i].value, pokes[i].width);
        con_refused(&bad, DS_STATE_E_DEVICE, pokes[i].why);
    }
    /* Any input byte is the guest's to read. */
    bad = st;
    bad.dev[offsetof(con_state_t, input)] = 0x01;
    fresh();
    CU_ASSERT_EQUAL(con_load(&C2, &bad), 0);

    /* The load: the line goes on where it was, the image's input comes
     * next (not the fresh device's own), the interrupt still pending. */
    fresh();
    C2.input = "not the image's input\n";
    C2.input_len = 22;
    CU_ASSERT_FALSE(con_input_pending(&C2));   /* the replay notifies nothing: no input taken */
    n_lines = 0;
    CU_ASSERT_EQUAL(con_load(&C2, &st), 0);
    CU_ASSERT_TRUE(logged("virtio-console con: vm vm1: device state restored from the image "
                          "(status 0xf, receiveq0 at used index 1, transmitq0 at used index 1, "
                          "interrupt pending; a partial line of 11 bytes, 14 bytes of input "
                          "pending)"));
    CU_ASSERT_TRUE(con_irq(&C2));
    D.dev = &C2;
    text_desc(2, " ends\n", 0, 0);
    offer(2);
    n_lines = 0;
    kick();
    CU_ASSERT_EQUAL(n_lines, 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "[vm1] second half ends");
    CU_ASSERT_TRUE(con_input_pending(&C2));
    rx_offer(1, BUF_GPA + 0x2000, 32);
    CU_ASSERT_EQUAL(con_input(&C2), 14);
    CU_ASSERT_EQUAL(memcmp(ram + BUF_GPA + 0x2000, text + 6, 14), 0);
    CU_ASSERT_EQUAL(get16(RX_USED_GPA + VIRTQ_USED_IDX_OFF), 2);
    CU_ASSERT_FALSE(con_input_pending(&C2));

    /* No save with a chain in flight (taken, never used). */
    text_desc(3, "x", 0, 0);
    offer(3);
    virtq_seg_t segs[4];
    virtq_chain_t chain;
    virtio_mmio_effect_t eff;
    CU_ASSERT_EQUAL(virtio_mmio_pop(&C2.dev, CON_TRANSMITQ, segs, 4, &chain, &eff), VIRTQ_OK);
    n_lines = 0;
    CU_ASSERT_FALSE(con_save(&C2, &st));
    CU_ASSERT_TRUE(logged("virtio-console con: vm vm1: device state not saved: a chain is in "
                          "flight"));
    free(ram);
    ram = NULL;
}

UNIT_SUITE(devsrv_console_suite)
{
    CU_pSuite s = CU_add_suite("device-servers/console: the virtio console device", NULL, NULL);
    CU_add_test(s, "identity, features, queues, configuration space", test_identity);
    CU_add_test(s, "transmitq0 to lines: chains, batches, cuts, suppression, reset",
                test_transmit);
    CU_add_test(s, "a broken ring: DEVICE_NEEDS_RESET, logged; works after a reset",
                test_broken_ring);
    CU_add_test(s, "out-of-window and refused accesses; the log limit", test_refusals);
    CU_add_test(s, "host input to receiveq0: chains, lengths, a chain without room, a bad buffer",
                test_input);
    CU_add_test(s, "a hostile driver: 100,000 seeded random accesses and ring writes", test_fuzz);
    CU_add_test(s, "a checkpoint: the partial line and pending input saved and loaded; hostile "
                "states refused", test_checkpoint);
}
