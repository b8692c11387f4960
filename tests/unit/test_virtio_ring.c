/*
 * tests/unit/test_virtio_ring.c - the split virtqueue's device side
 * (virtio/virtq.c) against the model driver (virtio_driver.h): RAM windows,
 * queue setup, chains (direct, chained, across windows, indirect), used
 * ring updates, notification suppression with and without EVENT_IDX,
 * 16-bit index wraparound, and each refusal with its exact reason.
 */
#include "unit.h"
#include "virtio_driver.h"
#include <string.h>

/* Ring placement in window A, and buffers. */
#define DESC_GPA   0x1000ull
#define AVAIL_GPA  0x2000ull
#define USED_GPA   0x3000ull
#define BUF_GPA    0x8000ull
#define TABLE_GPA  0x6000ull        /* an indirect table */
#define QSIZE      8
#define MAX_SEGS   16

static fram_t R;
static vdrv_t D;
static virtq_t Q;
static virtq_seg_t S[MAX_SEGS];
static virtq_chain_t C;

static void fresh_ram(void)
{
    fram_free(&R);          /* free(NULL) the first time */
    fram_init(&R);
}

static int free_ram(void)
{
    fram_free(&R);
    R = (fram_t){ 0 };
    return 0;
}

static void start(uint16_t size, bool event_idx, bool indirect)
{
    fresh_ram();
    vdrv_init(&D, &R, size, DESC_GPA, AVAIL_GPA, USED_GPA);
    virtq_init(&Q);
    virtq_config_t cfg = vdrv_config(&D, event_idx, indirect);
    CU_ASSERT_EQUAL_FATAL(virtq_setup(&Q, &R.ram, &cfg), VIRTQ_OK);
}

static virtq_err_t pop(void)
{
    return virtq_pop(&Q, S, MAX_SEGS, &C);
}

/* A one-descriptor chain at head @h, offered. */
static void offer_one(uint16_t h, uint64_t addr, uint32_t len, uint16_t flags)
{
    vdrv_desc(&D, h, addr, len, flags, 0);
    vdrv_offer(&D, h);
}

/* Pop must refuse with @err; with the default policy the queue is then
 * broken and stays so. */
static void expect_broken(virtq_err_t err)
{
    CU_ASSERT_EQUAL(pop(), err);
    CU_ASSERT_TRUE(Q.broken);
    CU_ASSERT_EQUAL(Q.error, err);
    CU_ASSERT_EQUAL(pop(), VIRTQ_ERR_BROKEN);
    CU_ASSERT_EQUAL(virtq_push(&Q, 0, 0), VIRTQ_ERR_BROKEN);
    CU_ASSERT_FALSE(virtq_need_notify(&Q));
    CU_ASSERT_STRING_NOT_EQUAL(virtq_strerror(err), "unknown virtqueue error");
}

/* ---- RAM windows ---- */

static void test_ram_windows(void)
{
    fresh_ram();
    CU_ASSERT_EQUAL(virtio_ram_check(&R.ram), VIRTIO_RAM_OK);
    /* in one window, across the A/B seam, in the gap, read-only for writes */
    CU_ASSERT_PTR_EQUAL(virtio_ram_map(&R.ram, 0x10, 16, true), R.a + 0x10);
    CU_ASSERT_PTR_EQUAL(virtio_ram_map(&R.ram, FRAM_B_GPA, 1, false), R.b);
    CU_ASSERT_PTR_NULL(virtio_ram_map(&R.ram, FRAM_B_GPA - 8, 16, false));
    CU_ASSERT_PTR_NULL(virtio_ram_map(&R.ram, FRAM_GAP_GPA, 1, false));
    CU_ASSERT_PTR_NULL(virtio_ram_map(&R.ram, FRAM_GAP_GPA - 1, 2, false));
    CU_ASSERT_PTR_NULL(virtio_ram_map(&R.ram, 0, 0, false));
    CU_ASSERT_PTR_NULL(virtio_ram_map(&R.ram, UINT64_MAX, 2, false));
    CU_ASSERT_PTR_EQUAL(virtio_ram_map(&R.ram, FRAM_C_GPA, 4, false), R.c);
    CU_ASSERT_PTR_NULL(virtio_ram_map(&R.ram, FRAM_C_GPA, 4, true));
    /* a copy across the seam gets both windows' bytes */
    R.a[FRAM_A_SIZE - 1] = 0x11;
    R.b[0] = 0x22;
    uint8_t two[2];
    CU_ASSERT_TRUE(virtio_ram_read(&R.ram, FRAM_B_GPA - 1, two, 2));
    CU_ASSERT_EQUAL(two[0], 0x11);
    CU_ASSERT_EQUAL(two[1], 0x22);
    CU_ASSERT_FALSE(virtio_ram_read(&R.ram, FRAM_GAP_GPA - 1, two, 2));

    virtio_ram_window_t w[2] = { { .gpa = 0x1000, .size = 0x2000, .host = R.a },
                                 { .gpa = 0x2fff, .size = 0x10, .host = R.b } };
    virtio_ram_t bad = { .windows = w, .count = 2 };
    CU_ASSERT_EQUAL(virtio_ram_check(&bad), VIRTIO_RAM_GPA_OVERLAP);
    w[1].gpa = 0x3000;
    CU_ASSERT_EQUAL(virtio_ram_check(&bad), VIRTIO_RAM_OK);
    w[1].size = 0;
    CU_ASSERT_EQUAL(virtio_ram_check(&bad), VIRTIO_RAM_EMPTY_WINDOW);
    w[1] = (virtio_ram_window_t){ .gpa = UINT64_MAX - 4, .size = 0x10, .host = R.b };
    CU_ASSERT_EQUAL(virtio_ram_check(&bad), VIRTIO_RAM_GPA_WRAPS);
    w[1] = (virtio_ram_window_t){ .gpa = 0x10000, .size = 0x10,
                                  .host = (uint8_t *)(UINTPTR_MAX - 4) };
    CU_ASSERT_EQUAL(virtio_ram_check(&bad), VIRTIO_RAM_HOST_WRAPS);
}

/* ---- setup ---- */

static virtq_err_t setup_with(uint32_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
    virtq_config_t cfg = { .size = size, .desc = desc, .avail = avail, .used = used };
    virtq_err_t e = virtq_setup(&Q, &R.ram, &cfg);
    CU_ASSERT_EQUAL(Q.ready, e == VIRTQ_OK);
    return e;
}

static void test_setup_refusals(void)
{
    start(QSIZE, false, false);
    CU_ASSERT_EQUAL(setup_with(0, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTQ_ERR_BAD_SIZE);
    CU_ASSERT_EQUAL(setup_with(3, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTQ_ERR_BAD_SIZE);
    CU_ASSERT_EQUAL(setup_with(65536, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTQ_ERR_BAD_SIZE);
    CU_ASSERT_EQUAL(setup_with(1, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTQ_OK);
    /* 2.7.1: alignments 16, 2, 4 */
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA + 8, AVAIL_GPA, USED_GPA), VIRTQ_ERR_MISALIGNED);
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA, AVAIL_GPA + 1, USED_GPA), VIRTQ_ERR_MISALIGNED);
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA + 2), VIRTQ_ERR_MISALIGNED);
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA + 16, AVAIL_GPA + 2, USED_GPA + 4), VIRTQ_OK);
    /* parts outside RAM, across the A/B seam, the used ring read-only */
    CU_ASSERT_EQUAL(setup_with(QSIZE, FRAM_GAP_GPA, AVAIL_GPA, USED_GPA),
                    VIRTQ_ERR_RING_OUTSIDE_RAM);
    CU_ASSERT_EQUAL(setup_with(QSIZE, FRAM_B_GPA - 16 * 4, AVAIL_GPA, USED_GPA),
                    VIRTQ_ERR_RING_OUTSIDE_RAM);
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA, FRAM_GAP_GPA - 8, USED_GPA),
                    VIRTQ_ERR_RING_OUTSIDE_RAM);
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA, AVAIL_GPA, FRAM_C_GPA), VIRTQ_ERR_RING_OUTSIDE_RAM);
    CU_ASSERT_EQUAL(setup_with(QSIZE, FRAM_C_GPA, FRAM_C_GPA + 0x1000, USED_GPA), VIRTQ_OK);
    CU_ASSERT_EQUAL(setup_with(QSIZE, DESC_GPA, AVAIL_GPA, UINT64_MAX - 7),
                    VIRTQ_ERR_RING_OUTSIDE_RAM);
    /* 32768 entries: 512 KiB of descriptors do not fit the fake RAM */
    CU_ASSERT_EQUAL(setup_with(VIRTQ_MAX_SIZE, DESC_GPA, AVAIL_GPA, USED_GPA),
                    VIRTQ_ERR_RING_OUTSIDE_RAM);
    /* not set up: nothing works */
    virtq_t fresh;
    virtq_init(&fresh);
    CU_ASSERT_EQUAL(virtq_pop(&fresh, S, MAX_SEGS, &C), VIRTQ_ERR_NOT_READY);
    CU_ASSERT_EQUAL(virtq_push(&fresh, 0, 0), VIRTQ_ERR_NOT_READY);
    CU_ASSERT_FALSE(virtq_need_notify(&fresh));
}

/* ---- chains ---- */

static void test_direct(void)
{
    start(QSIZE, false, false);
    CU_ASSERT_EQUAL(pop(), VIRTQ_EMPTY);
    offer_one(3, BUF_GPA, 100, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.head, 3);
    CU_ASSERT_EQUAL(C.nsegs, 1);
    CU_ASSERT_PTR_EQUAL(S[0].host, R.a + BUF_GPA);
    CU_ASSERT_EQUAL(S[0].len, 100);
    CU_ASSERT_FALSE(S[0].writable);
    CU_ASSERT_EQUAL(C.readable, 100);
    CU_ASSERT_EQUAL(C.writable, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_EMPTY);
    /* the used element is complete when used idx moves (2.7.8.2) */
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 0);
    CU_ASSERT_EQUAL(virtq_push(&Q, 3, 0), VIRTQ_OK);
    uint32_t id, len;
    vdrv_used_elem(&D, 0, &id, &len);
    CU_ASSERT_EQUAL(id, 3);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 1);
    /* a readable buffer in read-only memory is fine */
    offer_one(0, FRAM_C_GPA + 4, 8, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_PTR_EQUAL(S[0].host, R.c + 4);
    /* a zero-length descriptor gives no segment (and its address is unused) */
    offer_one(1, FRAM_GAP_GPA, 0, VIRTQ_DESC_F_WRITE);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.nsegs, 0);
}

static void test_chained(void)
{
    start(QSIZE, false, false);
    /* 2 readable then 2 writable, in table order 5 -> 2 -> 7 -> 0 */
    vdrv_desc(&D, 5, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
    vdrv_desc(&D, 2, BUF_GPA + 0x100, 512, VIRTQ_DESC_F_NEXT, 7);
    vdrv_desc(&D, 7, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
    vdrv_desc(&D, 0, BUF_GPA + 0x800, 1000, VIRTQ_DESC_F_WRITE, 6);   /* next ignored: no NEXT */
    vdrv_offer(&D, 5);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.head, 5);
    CU_ASSERT_EQUAL(C.nsegs, 4);
    CU_ASSERT_EQUAL(C.descs, 4);
    CU_ASSERT_EQUAL(C.readable, 528);
    CU_ASSERT_EQUAL(C.writable, 1001);
    CU_ASSERT_PTR_EQUAL(S[1].host, R.a + BUF_GPA + 0x100);
    CU_ASSERT_FALSE(S[1].writable);
    CU_ASSERT_TRUE(S[2].writable);
    CU_ASSERT_PTR_EQUAL(S[3].host, R.a + BUF_GPA + 0x800);
    CU_ASSERT_EQUAL(S[3].len, 1000);
    CU_ASSERT_EQUAL(virtq_push(&Q, 5, 1001), VIRTQ_OK);
    /* a chain of the full queue size is allowed */
    for (uint16_t i = 0; i < QSIZE; i++)
        vdrv_desc(&D, i, BUF_GPA + 16 * i, 16, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
    vdrv_offer(&D, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.nsegs, QSIZE);
}

static void test_across_windows(void)
{
    start(QSIZE, false, false);
    /* contiguous in guest-physical space, not in host memory: two pieces */
    offer_one(1, FRAM_B_GPA - 0x10, 0x30, VIRTQ_DESC_F_WRITE);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.nsegs, 2);
    CU_ASSERT_PTR_EQUAL(S[0].host, R.a + FRAM_A_SIZE - 0x10);
    CU_ASSERT_EQUAL(S[0].len, 0x10);
    CU_ASSERT_PTR_EQUAL(S[1].host, R.b);
    CU_ASSERT_EQUAL(S[1].len, 0x20);
    CU_ASSERT_EQUAL(C.writable, 0x30);
    /* the segment array is the server's limit (2.7.4.1) */
    offer_one(2, FRAM_B_GPA - 0x10, 0x30, 0);
    CU_ASSERT_EQUAL(virtq_pop(&Q, S, 1, &C), VIRTQ_ERR_TOO_MANY_SEGMENTS);
    CU_ASSERT_TRUE(Q.broken);
}

static void test_indirect(void)
{
    start(QSIZE, false, true);
    /* a table of 3: readable, readable, writable; entries 0 -> 2 -> 1 */
    vdrv_table_desc(&R, TABLE_GPA, 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 2);
    vdrv_table_desc(&R, TABLE_GPA, 2, BUF_GPA + 0x10, 20, VIRTQ_DESC_F_NEXT, 1);
    vdrv_table_desc(&R, TABLE_GPA, 1, BUF_GPA + 0x40, 30, VIRTQ_DESC_F_WRITE, 0);
    /* 2.7.5.3.2: the WRITE flag of the descriptor naming the table is ignored */
    offer_one(4, TABLE_GPA, 3 * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.head, 4);
    CU_ASSERT_EQUAL(C.nsegs, 3);
    CU_ASSERT_EQUAL(C.descs, 4);
    CU_ASSERT_EQUAL(C.readable, 30);
    CU_ASSERT_EQUAL(C.writable, 30);
    CU_ASSERT_PTR_EQUAL(S[1].host, R.a + BUF_GPA + 0x10);
    CU_ASSERT_TRUE(S[2].writable);
    /* 2.7.5.3.2: chained descriptors followed by one indirect descriptor */
    vdrv_desc(&D, 6, BUF_GPA + 0x200, 4, VIRTQ_DESC_F_NEXT, 7);
    vdrv_desc(&D, 7, TABLE_GPA, 3 * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
    vdrv_offer(&D, 6);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.nsegs, 4);
    CU_ASSERT_EQUAL(C.readable, 34);
    /* a table that is not 16-aligned and crosses the A/B seam is copied */
    uint64_t seam = FRAM_B_GPA - 24;
    vdrv_table_desc(&R, seam, 0, BUF_GPA, 5, VIRTQ_DESC_F_NEXT, 1);
    vdrv_table_desc(&R, seam, 1, FRAM_C_GPA, 6, 0, 0);
    offer_one(1, seam, 2 * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.nsegs, 2);
    CU_ASSERT_PTR_EQUAL(S[1].host, R.c);
    /* an indirect table may hold up to Queue Size descriptors of a chain */
    for (unsigned i = 0; i < QSIZE; i++)
        vdrv_table_desc(&R, TABLE_GPA, i, BUF_GPA, 1, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0,
                        (uint16_t)(i + 1));
    offer_one(2, TABLE_GPA, QSIZE * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.nsegs, QSIZE);
}

/* ---- refusals of chains ---- */

static void test_bad_ring(void)
{
    /* 2.7.6.1 / 2.7.13: avail idx more than Queue Size ahead */
    start(QSIZE, false, false);
    offer_one(0, BUF_GPA, 1, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    vdrv_set_avail_idx(&D, 1 + QSIZE + 1);
    expect_broken(VIRTQ_ERR_AVAIL_IDX_JUMP);
    CU_ASSERT_TRUE(virtq_err_fatal(VIRTQ_ERR_AVAIL_IDX_JUMP));
    /* exactly Queue Size ahead is fine */
    start(QSIZE, false, false);
    for (uint16_t i = 0; i < QSIZE; i++)
        offer_one(i, BUF_GPA, 1, 0);
    for (unsigned i = 0; i < QSIZE; i++)
        CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(pop(), VIRTQ_EMPTY);
    /* a decrement is a jump of 65535 */
    vdrv_set_avail_idx(&D, QSIZE - 1);
    expect_broken(VIRTQ_ERR_AVAIL_IDX_JUMP);
    /* a head beyond the table */
    start(QSIZE, false, false);
    vdrv_offer(&D, QSIZE);
    expect_broken(VIRTQ_ERR_HEAD_OUT_OF_RANGE);
    CU_ASSERT_TRUE(virtq_err_fatal(VIRTQ_ERR_HEAD_OUT_OF_RANGE));
    /* even with the lenient policy the ring errors break the queue */
    start(QSIZE, false, false);
    Q.on_bad_chain = VIRTQ_BAD_CHAIN_FAILS;
    vdrv_offer(&D, 0xffff);
    expect_broken(VIRTQ_ERR_HEAD_OUT_OF_RANGE);
}

/* Offer a chain starting at head 0 built by @build, pop it, expect @err. */
static void bad_chain(bool indirect, void (*build)(void), virtq_err_t err)
{
    start(QSIZE, false, indirect);
    build();
    vdrv_offer(&D, 0);
    expect_broken(err);
    CU_ASSERT_FALSE(virtq_err_fatal(err));
}

static void next_out_of_range(void) { vdrv_desc(&D, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, QSIZE); }
static void self_loop(void) { vdrv_desc(&D, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0); }
static void two_loop(void)
{
    vdrv_desc(&D, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
}
static void in_gap(void) { vdrv_desc(&D, 0, FRAM_GAP_GPA + 0x100, 1, 0, 0); }
static void past_b(void) { vdrv_desc(&D, 0, FRAM_GAP_GPA - 4, 8, 0, 0); }
static void wraps(void) { vdrv_desc(&D, 0, UINT64_MAX - 0xff, 0x200, 0, 0); }
static void writable_in_rom(void) { vdrv_desc(&D, 0, FRAM_C_GPA, 4, VIRTQ_DESC_F_WRITE, 0); }
static void read_after_write(void)
{
    vdrv_desc(&D, 0, BUF_GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, BUF_GPA, 4, 0, 0);
}
static void indirect_desc(void) { vdrv_desc(&D, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0); }
static void indirect_next(void)
{
    vdrv_desc(&D, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
}
static void indirect_nested(void)
{
    vdrv_table_desc(&R, TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    indirect_desc();
}
static void indirect_len0(void) { vdrv_desc(&D, 0, TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0); }
static void indirect_len17(void) { vdrv_desc(&D, 0, TABLE_GPA, 17, VIRTQ_DESC_F_INDIRECT, 0); }
static void indirect_in_gap(void)
{
    vdrv_desc(&D, 0, FRAM_GAP_GPA - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
}
static void indirect_wraps(void)
{
    vdrv_desc(&D, 0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
}
static void indirect_next_out(void)
{
    vdrv_table_desc(&R, TABLE_GPA, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 2);   /* table of 2 */
    vdrv_desc(&D, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
}
static void indirect_loop(void)
{
    vdrv_table_desc(&R, TABLE_GPA, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
    vdrv_table_desc(&R, TABLE_GPA, 1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
    vdrv_desc(&D, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
}
static void indirect_order(void)
{
    vdrv_table_desc(&R, TABLE_GPA, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    vdrv_table_desc(&R, TABLE_GPA, 1, BUF_GPA, 1, 0, 0);
    vdrv_desc(&D, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
}
/* Writable before a table whose first entry is readable: the order holds
 * across the switch into the table. */
static void write_then_indirect_read(void)
{
    vdrv_table_desc(&R, TABLE_GPA, 0, BUF_GPA, 1, 0, 0);
    vdrv_desc(&D, 0, BUF_GPA, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
}

static void test_bad_chains(void)
{
    bad_chain(false, next_out_of_range, VIRTQ_ERR_NEXT_OUT_OF_RANGE);
    bad_chain(false, self_loop, VIRTQ_ERR_CHAIN_TOO_LONG);
    bad_chain(false, two_loop, VIRTQ_ERR_CHAIN_TOO_LONG);
    bad_chain(false, in_gap, VIRTQ_ERR_BUFFER_OUTSIDE_RAM);
    bad_chain(false, past_b, VIRTQ_ERR_BUFFER_OUTSIDE_RAM);
    bad_chain(false, wraps, VIRTQ_ERR_ADDR_OVERFLOW);
    bad_chain(false, writable_in_rom, VIRTQ_ERR_WRITE_TO_READ_ONLY);
    bad_chain(false, read_after_write, VIRTQ_ERR_READABLE_AFTER_WRITABLE);
    bad_chain(false, indirect_desc, VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED);
    bad_chain(true, indirect_next, VIRTQ_ERR_INDIRECT_WITH_NEXT);
    bad_chain(true, indirect_nested, VIRTQ_ERR_INDIRECT_NESTED);
    bad_chain(true, indirect_len0, VIRTQ_ERR_INDIRECT_BAD_LEN);
    bad_chain(true, indirect_len17, VIRTQ_ERR_INDIRECT_BAD_LEN);
    bad_chain(true, indirect_in_gap, VIRTQ_ERR_INDIRECT_OUTSIDE_RAM);
    bad_chain(true, indirect_wraps, VIRTQ_ERR_ADDR_OVERFLOW);
    bad_chain(true, indirect_next_out, VIRTQ_ERR_NEXT_OUT_OF_RANGE);
    bad_chain(true, indirect_loop, VIRTQ_ERR_CHAIN_TOO_LONG);
    bad_chain(true, indirect_order, VIRTQ_ERR_READABLE_AFTER_WRITABLE);
    bad_chain(true, write_then_indirect_read, VIRTQ_ERR_READABLE_AFTER_WRITABLE);
}

static void test_chain_limits(void)
{
    /* the server's limit */
    start(QSIZE, false, false);
    Q.max_chain_bytes = 100;
    vdrv_desc(&D, 0, BUF_GPA, 60, VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, BUF_GPA, 40, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    vdrv_desc(&D, 2, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    vdrv_offer(&D, 0);
    expect_broken(VIRTQ_ERR_CHAIN_TOO_BIG);
    start(QSIZE, false, false);
    Q.max_chain_bytes = 100;
    vdrv_desc(&D, 0, BUF_GPA, 60, VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, BUF_GPA, 40, 0, 0);
    vdrv_offer(&D, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);

    /* 2.7.5.2's 2^32 bytes, in a large window whose host memory is never
     * touched (pop only computes where segments are) */
    fresh_ram();
    virtio_ram_window_t w[2] = { R.win[0], { .gpa = 1ull << 32, .size = 8ull << 30,
                                             .host = (uint8_t *)(1ull << 44) } };
    virtio_ram_t big = { .windows = w, .count = 2 };
    CU_ASSERT_EQUAL(virtio_ram_check(&big), VIRTIO_RAM_OK);
    vdrv_init(&D, &R, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
    virtq_init(&Q);
    virtq_config_t cfg = vdrv_config(&D, false, false);
    CU_ASSERT_EQUAL_FATAL(virtq_setup(&Q, &big, &cfg), VIRTQ_OK);
    vdrv_desc(&D, 0, 1ull << 32, UINT32_MAX, VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, 2ull << 32, 1, 0, 0);                 /* 2^32 in all: allowed */
    vdrv_offer(&D, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.readable, 1ull << 32);
    vdrv_desc(&D, 1, 2ull << 32, 2, 0, 0);                 /* 2^32 + 1: refused */
    vdrv_offer(&D, 0);
    expect_broken(VIRTQ_ERR_CHAIN_TOO_BIG);
}

/* With VIRTQ_BAD_CHAIN_FAILS a malformed chain is consumed, handed back
 * for a zero-length push, and the queue goes on. */
static void test_fail_request_policy(void)
{
    start(QSIZE, false, false);
    Q.on_bad_chain = VIRTQ_BAD_CHAIN_FAILS;
    vdrv_desc(&D, 2, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 2);         /* a loop */
    vdrv_offer(&D, 2);
    offer_one(5, BUF_GPA, 4, VIRTQ_DESC_F_WRITE);
    CU_ASSERT_EQUAL(pop(), VIRTQ_ERR_CHAIN_TOO_LONG);
    CU_ASSERT_FALSE(Q.broken);
    CU_ASSERT_EQUAL(C.head, 2);
    CU_ASSERT_EQUAL(C.nsegs, 0);
    CU_ASSERT_EQUAL(C.readable + C.writable, 0);
    CU_ASSERT_EQUAL(virtq_push(&Q, C.head, 0), VIRTQ_OK);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(C.head, 5);
    CU_ASSERT_EQUAL(virtq_push(&Q, 5, 4), VIRTQ_OK);
    uint32_t id, len;
    vdrv_used_elem(&D, 0, &id, &len);
    CU_ASSERT_EQUAL(id, 2);
    CU_ASSERT_EQUAL(len, 0);
    vdrv_used_elem(&D, 1, &id, &len);
    CU_ASSERT_EQUAL(id, 5);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 2);
    /* the policy survives a reset */
    virtq_reset(&Q);
    CU_ASSERT_EQUAL(Q.on_bad_chain, VIRTQ_BAD_CHAIN_FAILS);
}

static void test_push_refusals(void)
{
    start(QSIZE, false, false);
    CU_ASSERT_EQUAL(virtq_push(&Q, 0, 0), VIRTQ_ERR_PUSH_NONE_IN_FLIGHT);
    offer_one(1, BUF_GPA, 4, 0);
    CU_ASSERT_EQUAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtq_push(&Q, QSIZE, 0), VIRTQ_ERR_PUSH_BAD_HEAD);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 0);
    CU_ASSERT_EQUAL(virtq_push(&Q, 1, 0), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtq_push(&Q, 1, 0), VIRTQ_ERR_PUSH_NONE_IN_FLIGHT);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 1);
    CU_ASSERT_FALSE(Q.broken);
    CU_ASSERT_STRING_EQUAL(virtq_strerror(VIRTQ_ERR_COUNT), "unknown virtqueue error");
}

/* ---- notifications ---- */

static void serve_one(void)
{
    offer_one(0, BUF_GPA, 4, 0);
    CU_ASSERT_EQUAL_FATAL(pop(), VIRTQ_OK);
    CU_ASSERT_EQUAL_FATAL(virtq_push(&Q, C.head, 0), VIRTQ_OK);
}

static void test_notify_flags(void)
{
    /* 2.7.7.2 without EVENT_IDX: flags 0 notify, 1 do not; used_event ignored */
    start(QSIZE, false, false);
    CU_ASSERT_FALSE(virtq_need_notify(&Q));          /* nothing used yet */
    serve_one();
    CU_ASSERT_TRUE(virtq_need_notify(&Q));
    CU_ASSERT_FALSE(virtq_need_notify(&Q));          /* nothing new since */
    vdrv_set_avail_flags(&D, VIRTQ_AVAIL_F_NO_INTERRUPT);
    vdrv_set_used_event(&D, 1);
    serve_one();
    CU_ASSERT_FALSE(virtq_need_notify(&Q));
    vdrv_set_avail_flags(&D, 0);
    serve_one();
    CU_ASSERT_TRUE(virtq_need_notify(&Q));
    /* 2.7.10.2 without EVENT_IDX: the device sets used flags 0 or 1 */
    CU_ASSERT_FALSE(virtq_set_notify(&Q, false));
    CU_ASSERT_EQUAL(vdrv_used_flags(&D), VIRTQ_USED_F_NO_NOTIFY);
    CU_ASSERT_FALSE(virtq_set_notify(&Q, true));
    CU_ASSERT_EQUAL(vdrv_used_flags(&D), 0);
    /* buffers that came while notifications were off are reported */
    virtq_set_notify(&Q, false);
    vdrv_offer(&D, 0);
    CU_ASSERT_TRUE(virtq_set_notify(&Q, true));
}

static void test_event_idx(void)
{
    start(QSIZE, true, false);
    /* 2.7.7.2 with EVENT_IDX: notify when the element written went to
     * used_event; flags is ignored */
    vdrv_set_avail_flags(&D, VIRTQ_AVAIL_F_NO_INTERRUPT);
    vdrv_set_used_event(&D, 0);
    serve_one();                                      /* element at 0 */
    CU_ASSERT_TRUE(virtq_need_notify(&Q));
    vdrv_set_used_event(&D, 2);
    serve_one();                                      /* at 1 */
    CU_ASSERT_FALSE(virtq_need_notify(&Q));
    serve_one();                                      /* at 2 */
    CU_ASSERT_TRUE(virtq_need_notify(&Q));
    /* a batch of three (3, 4, 5) crossing used_event 4: one notification */
    vdrv_set_used_event(&D, 4);
    serve_one();
    serve_one();
    serve_one();
    CU_ASSERT_TRUE(virtq_need_notify(&Q));
    /* a batch that passed used_event before it: none (the driver did not
     * ask for entries 6 and 7 when it had seen up to 5) */
    serve_one();
    serve_one();
    CU_ASSERT_FALSE(virtq_need_notify(&Q));
    /* 2.7.10.2 with EVENT_IDX: avail_event follows what was taken, flags stays 0 */
    CU_ASSERT_EQUAL(vdrv_avail_event(&D), 8);
    virtq_set_notify(&Q, false);
    CU_ASSERT_EQUAL(vdrv_used_flags(&D), 0);
    serve_one();
    CU_ASSERT_EQUAL(vdrv_avail_event(&D), 8);         /* left behind while off */
    CU_ASSERT_FALSE(virtq_set_notify(&Q, true));
    CU_ASSERT_EQUAL(vdrv_avail_event(&D), 9);
}

/* 16-bit indexes wrap at 65536 (2.7.13.3): run past it twice, with
 * EVENT_IDX asking for a notification exactly at the wrap. */
static void test_wraparound(void)
{
    start(4, true, false);
    const unsigned rounds = 2 * 65536 + 10;
    unsigned notified = 0;
    for (unsigned n = 0; n < rounds; n++) {
        uint16_t head = (uint16_t)(n % 4);
        vdrv_set_used_event(&D, 0xffff);
        offer_one(head, BUF_GPA + head, 1, VIRTQ_DESC_F_WRITE);
        CU_ASSERT_EQUAL_FATAL(pop(), VIRTQ_OK);
        CU_ASSERT_EQUAL_FATAL(C.head, head);
        CU_ASSERT_EQUAL_FATAL(virtq_push(&Q, head, n & 0xff), VIRTQ_OK);
        bool note = virtq_need_notify(&Q);
        /* the element at used index 0xffff is the one the driver wants */
        CU_ASSERT_EQUAL_FATAL(note, (n & 0xffff) == 0xffff);
        notified += note;
        uint32_t id, len;
        vdrv_used_elem(&D, (uint16_t)(n % 4), &id, &len);
        CU_ASSERT_EQUAL_FATAL(id, head);
        CU_ASSERT_EQUAL_FATAL(len, n & 0xff);
        CU_ASSERT_EQUAL_FATAL(vdrv_used_idx(&D), (uint16_t)(n + 1));
    }
    CU_ASSERT_EQUAL(notified, 2);
    CU_ASSERT_EQUAL(pop(), VIRTQ_EMPTY);
}

UNIT_SUITE(virtio_ring_suite)
{
    CU_pSuite s = CU_add_suite("virtio split virtqueue", NULL, free_ram);
    CU_add_test(s, "RAM windows: lookups, seams, read-only, checks", test_ram_windows);
    CU_add_test(s, "setup refuses bad sizes, alignments, rings outside RAM", test_setup_refusals);
    CU_add_test(s, "a direct descriptor, push and used ring", test_direct);
    CU_add_test(s, "chained descriptors, readable then writable", test_chained);
    CU_add_test(s, "a buffer across two RAM windows is two segments", test_across_windows);
    CU_add_test(s, "indirect tables (after a chain, unaligned, full)", test_indirect);
    CU_add_test(s, "avail idx jumps and heads out of range break the queue", test_bad_ring);
    CU_add_test(s, "every malformed chain is refused with its reason", test_bad_chains);
    CU_add_test(s, "chain length limits: the server's and 2^32", test_chain_limits);
    CU_add_test(s, "fail-the-request policy goes on", test_fail_request_policy);
    CU_add_test(s, "push refusals", test_push_refusals);
    CU_add_test(s, "notification suppression without EVENT_IDX", test_notify_flags);
    CU_add_test(s, "notification suppression with EVENT_IDX", test_event_idx);
    CU_add_test(s, "16-bit index wraparound", test_wraparound);
}
