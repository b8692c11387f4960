/*
 * tests/unit/test_virtio_paged.c - paged RAM windows (virtio/ram.c,
 * virtio_ram.h "paged window"): pages made resident before a pointer into
 * them is handed out, writable only when the device is to write, a
 * bounded LRU set of pins that never drops a page of the current epoch,
 * and a split virtqueue whose rings and buffers live in such a window
 * (virtq_pop's epoch and ring re-pinning).
 *
 * The window is real memory mapped twice from one memfd: the "guest"
 * view, always read-write (the model driver writes its rings there), and
 * the device's view at the window's host address, PROT_NONE except where
 * a pin made a page readable (or read-write). A device access to a page
 * that is not pinned, or a write through a read-only pin, is a SIGSEGV:
 * the test binary dies, which fails the suite loudly.
 */
#define _GNU_SOURCE
#include "unit.h"
#include "virtio_driver.h"
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PGPA      0x200000ull               /* the paged window's first byte */
#define PPAGES    16u
#define PSIZE     (PPAGES * VIRTIO_RAM_PAGE)
#define PG(n)     (PGPA + (uint64_t)(n) * VIRTIO_RAM_PAGE)

static int fd = -1;
static uint8_t *guest, *view;               /* the two mappings of the window */
static virtio_ram_paged_t P;
static virtio_ram_window_t W;
static virtio_ram_t RAM;
static unsigned mapped[PPAGES];             /* 0 unmapped, 1 read-only, 2 read-write */
static unsigned pin_calls, unpin_calls, fail_pins;

static unsigned page_of(uint64_t gpa) { return (unsigned)((gpa - PGPA) / VIRTIO_RAM_PAGE); }

static bool fake_pin(void *ctx, unsigned slot, uint64_t gpa, bool write)
{
    (void)ctx;
    CU_ASSERT_TRUE(slot < P.max);
    CU_ASSERT_EQUAL(gpa % VIRTIO_RAM_PAGE, 0);
    CU_ASSERT_EQUAL(mapped[page_of(gpa)], 0);       /* never pinned twice */
    pin_calls++;
    if (fail_pins) {
        fail_pins--;
        return false;
    }
    CU_ASSERT_EQUAL_FATAL(mprotect(view + (gpa - PGPA), VIRTIO_RAM_PAGE,
                                   write ? PROT_READ | PROT_WRITE : PROT_READ), 0);
    mapped[page_of(gpa)] = write ? 2 : 1;
    return true;
}

static void fake_unpin(void *ctx, unsigned slot, uint64_t gpa)
{
    (void)ctx;
    CU_ASSERT_TRUE(slot < P.max);
    CU_ASSERT_NOT_EQUAL(mapped[page_of(gpa)], 0);
    unpin_calls++;
    CU_ASSERT_EQUAL_FATAL(mprotect(view + (gpa - PGPA), VIRTIO_RAM_PAGE, PROT_NONE), 0);
    mapped[page_of(gpa)] = 0;
}

static unsigned pinned_now(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PPAGES; i++)
        n += mapped[i] != 0;
    return n;
}

static void start(unsigned max)
{
    if (fd < 0) {
        fd = memfd_create("virtio-paged", 0);
        CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, PSIZE) == 0);
        guest = mmap(NULL, PSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        view = mmap(NULL, PSIZE, PROT_NONE, MAP_SHARED, fd, 0);
        CU_ASSERT_FATAL(guest != MAP_FAILED && view != MAP_FAILED);
    }
    memset(guest, 0, PSIZE);
    CU_ASSERT_EQUAL_FATAL(mprotect(view, PSIZE, PROT_NONE), 0);
    memset(mapped, 0, sizeof mapped);
    pin_calls = unpin_calls = fail_pins = 0;
    P = (virtio_ram_paged_t){ .pin = fake_pin, .unpin = fake_unpin, .max = max };
    W = (virtio_ram_window_t){ .gpa = PGPA, .size = PSIZE, .host = view, .paged = &P };
    RAM = (virtio_ram_t){ .windows = &W, .count = 1 };
    CU_ASSERT_EQUAL_FATAL(virtio_ram_check(&RAM), VIRTIO_RAM_OK);
}

static int finish(void)
{
    if (fd >= 0) {
        munmap(guest, PSIZE);
        munmap(view, PSIZE);
        close(fd);
        fd = -1;
    }
    return 0;
}

static void test_shape(void)
{
    start(4);
    W.gpa = PGPA + 8;                       /* not page-aligned */
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_PAGED_SHAPE);
    W.gpa = PGPA;
    W.size = PSIZE - 1;
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_PAGED_SHAPE);
    W.size = PSIZE;
    W.host = view + 1;
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_PAGED_SHAPE);
    W.host = view;
    P.max = 0;
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_PAGED_SHAPE);
    P.max = VIRTIO_RAM_PINS_MAX + 1;
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_PAGED_SHAPE);
    P.max = 4;
    P.unpin = NULL;
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_PAGED_SHAPE);
    P.unpin = fake_unpin;
    CU_ASSERT_EQUAL(virtio_ram_check(&RAM), VIRTIO_RAM_OK);
    CU_ASSERT_STRING_NOT_EQUAL(virtio_ram_strerror(VIRTIO_RAM_PAGED_SHAPE),
                               "unknown RAM window error");
    CU_ASSERT_EQUAL(pin_calls, 0);          /* checking pins nothing */
}

static void test_lookups_pin(void)
{
    start(4);
    memcpy(guest + 0x1ff0, "paged window!", 14);
    /* A read across two pages: both pinned read-only, the pointer at its place. */
    uint8_t *p = virtio_ram_map(&RAM, PG(1) + 0xff0, 0x20, false);
    CU_ASSERT_PTR_EQUAL(p, view + 0x1ff0);
    CU_ASSERT_EQUAL(mapped[1], 1);
    CU_ASSERT_EQUAL(mapped[2], 1);
    CU_ASSERT_EQUAL(pin_calls, 2);
    CU_ASSERT_STRING_EQUAL((const char *)p, "paged window!");
    /* Again: no new pins. */
    CU_ASSERT_PTR_EQUAL(virtio_ram_map(&RAM, PG(1), 8, false), view + 0x1000);
    CU_ASSERT_EQUAL(pin_calls, 2);
    /* Written now: pinned again, writable; the data is the guest's. */
    uint8_t *w = virtio_ram_map(&RAM, PG(2), 4, true);
    CU_ASSERT_PTR_EQUAL(w, view + 0x2000);
    CU_ASSERT_EQUAL(mapped[2], 2);
    CU_ASSERT_EQUAL(unpin_calls, 1);
    memcpy(w, "dev", 4);
    CU_ASSERT_STRING_EQUAL((const char *)guest + 0x2000, "dev");
    /* A write to a page pinned writable needs nothing more; a read of it neither. */
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(2) + 100, 4, false));
    CU_ASSERT_EQUAL(mapped[2], 2);
    CU_ASSERT_EQUAL(pin_calls, 3);
    /* A copy through the windows pins too. */
    char buf[14];
    CU_ASSERT_TRUE(virtio_ram_read(&RAM, PG(1) + 0xff0, buf, sizeof buf));
    CU_ASSERT_STRING_EQUAL(buf, "paged window!");
    /* Outside the window: nothing, no pin. */
    CU_ASSERT_PTR_NULL(virtio_ram_map(&RAM, PGPA - 1, 2, false));
    CU_ASSERT_PTR_NULL(virtio_ram_map(&RAM, PG(PPAGES), 1, false));
    CU_ASSERT_EQUAL(pin_calls, 3);
    CU_ASSERT_EQUAL(P.pinned, 3);
    CU_ASSERT_EQUAL(P.unpinned, 1);
}

static void test_lru_and_epochs(void)
{
    start(3);
    /* Epoch 0: pages 0, 1, 2 pinned (stamps in that order). */
    for (unsigned i = 0; i < 3; i++)
        CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(i), 1, false));
    /* A fourth in the same epoch: refused, nothing dropped (its pointers live). */
    CU_ASSERT_PTR_NULL(virtio_ram_map(&RAM, PG(3), 1, false));
    CU_ASSERT_EQUAL(pinned_now(), 3);
    CU_ASSERT_EQUAL(unpin_calls, 0);
    CU_ASSERT_EQUAL(P.refused, 1);
    /* A new epoch: page 1 used again, then page 3 takes the least
     * recently used of the others: page 0. */
    virtio_ram_new_epoch(&RAM);
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(1), 1, false));
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(3), 1, false));
    CU_ASSERT_EQUAL(mapped[0], 0);
    CU_ASSERT_EQUAL(mapped[1], 1);
    CU_ASSERT_EQUAL(mapped[2], 1);
    CU_ASSERT_EQUAL(mapped[3], 1);
    /* Then page 4 takes page 2 (1 and 3 are this epoch's); then none is left. */
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(4), 1, false));
    CU_ASSERT_EQUAL(mapped[2], 0);
    CU_ASSERT_PTR_NULL(virtio_ram_map(&RAM, PG(5), 1, false));
    CU_ASSERT_EQUAL(pinned_now(), 3);
    /* A range of more pages than pins: refused before any pin. */
    virtio_ram_new_epoch(&RAM);
    unsigned before = pin_calls;
    CU_ASSERT_PTR_NULL(virtio_ram_map(&RAM, PG(6), 4 * VIRTIO_RAM_PAGE, false));
    CU_ASSERT_EQUAL(pin_calls, before);
    /* Exactly as many as pins: every old one goes. */
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(6) + 1, 2 * VIRTIO_RAM_PAGE, false));
    CU_ASSERT_EQUAL(mapped[6] + mapped[7] + mapped[8], 3);
    CU_ASSERT_EQUAL(pinned_now(), 3);
    /* A failed pin: refused, the slot free again, nothing half-pinned. */
    virtio_ram_new_epoch(&RAM);
    fail_pins = 1;
    CU_ASSERT_PTR_NULL(virtio_ram_map(&RAM, PG(9), 1, true));
    CU_ASSERT_EQUAL(mapped[9], 0);
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(9), 1, true));
    CU_ASSERT_EQUAL(mapped[9], 2);
    /* Unpin all: every page unmapped. */
    virtio_ram_unpin_all(&P);
    CU_ASSERT_EQUAL(pinned_now(), 0);
    CU_ASSERT_EQUAL(P.pinned, P.unpinned);
}

/* A queue of 8 with its rings in page 0 (descriptors, then the available
 * ring at 0x100 and the used ring at 0x200: one pin), buffers elsewhere. */
static void test_virtq_in_paged_ram(void)
{
    start(4);
    fram_t F = { 0 };
    F.win[0] = (virtio_ram_window_t){ .gpa = PGPA, .size = PSIZE, .host = guest };
    vdrv_t D;
    vdrv_init(&D, &F, 8, PG(0), PG(0) + 0x100, PG(0) + 0x200);
    virtq_t Q;
    virtq_init(&Q);
    virtq_config_t cfg = vdrv_config(&D, false, false);
    /* A failed pin at setup: the ring is not in RAM for the queue. */
    fail_pins = 1;
    CU_ASSERT_EQUAL(virtq_setup(&Q, &RAM, &cfg), VIRTQ_ERR_RING_OUTSIDE_RAM);
    CU_ASSERT_EQUAL_FATAL(virtq_setup(&Q, &RAM, &cfg), VIRTQ_OK);
    CU_ASSERT_TRUE(Q.paged);
    CU_ASSERT_EQUAL(mapped[0], 2);          /* the used ring is written: writable */

    /* A request: 100 readable bytes in page 5, 200 writable across 7/8. */
    memcpy(guest + 5 * VIRTIO_RAM_PAGE, "request", 8);
    vdrv_desc(&D, 0, PG(5), 100, VIRTQ_DESC_F_NEXT, 1);
    vdrv_desc(&D, 1, PG(8) - 100, 200, VIRTQ_DESC_F_WRITE, 0);
    vdrv_offer(&D, 0);
    virtq_seg_t S[8];
    virtq_chain_t C;
    CU_ASSERT_EQUAL_FATAL(virtq_pop(&Q, S, 8, &C), VIRTQ_OK);
    CU_ASSERT_EQUAL_FATAL(C.nsegs, 2);
    CU_ASSERT_STRING_EQUAL((const char *)S[0].host, "request");
    CU_ASSERT_EQUAL(mapped[5], 1);
    CU_ASSERT_EQUAL(mapped[7], 2);
    CU_ASSERT_EQUAL(mapped[8], 2);
    CU_ASSERT_EQUAL(S[1].len, 200);         /* one piece: the pages sit at their places */
    memset(S[1].host, 0x5A, S[1].len);      /* the device writes it all */
    CU_ASSERT_EQUAL(virtq_push(&Q, C.head, 200), VIRTQ_OK);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 1);
    CU_ASSERT_EQUAL(guest[8 * VIRTIO_RAM_PAGE - 100], 0x5A);
    CU_ASSERT_EQUAL(guest[8 * VIRTIO_RAM_PAGE + 99], 0x5A);

    /* The next chain (page 10) takes the oldest pin of the last chain
     * (page 5); the rings' page is pinned again first, so it stays. */
    vdrv_desc(&D, 2, PG(10), 16, 0, 0);
    vdrv_offer(&D, 2);
    CU_ASSERT_EQUAL_FATAL(virtq_pop(&Q, S, 8, &C), VIRTQ_OK);
    CU_ASSERT_EQUAL(mapped[0], 2);
    CU_ASSERT_EQUAL(mapped[5], 0);
    CU_ASSERT_EQUAL(mapped[10], 1);
    CU_ASSERT_EQUAL(virtq_push(&Q, C.head, 0), VIRTQ_OK);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 2);

    /* A restarted server's resume reads the rings: made resident first
     * (here every pin was dropped), it finds the chain offered since. */
    vdrv_desc(&D, 2, PG(10), 16, 0, 0);
    vdrv_offer(&D, 2);
    virtio_ram_unpin_all(&P);
    CU_ASSERT_EQUAL(virtq_resume(&Q), 1);
    CU_ASSERT_EQUAL(mapped[0], 2);
    CU_ASSERT_EQUAL_FATAL(virtq_pop(&Q, S, 8, &C), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtq_push(&Q, C.head, 0), VIRTQ_OK);
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 3);

    /* Many chains, one page each, all over the window: the pins stay
     * at 4 and the rings keep working. */
    for (unsigned i = 0; i < 40; i++) {
        uint16_t h = (uint16_t)(3 + i % 4);
        vdrv_desc(&D, h, PG(1 + i % 15) + 8, 8, VIRTQ_DESC_F_WRITE, 0);
        vdrv_offer(&D, h);
        CU_ASSERT_EQUAL_FATAL(virtq_pop(&Q, S, 8, &C), VIRTQ_OK);
        memcpy(S[0].host, &i, sizeof i);
        CU_ASSERT_EQUAL(virtq_push(&Q, C.head, 8), VIRTQ_OK);
        CU_ASSERT_TRUE(pinned_now() <= 4);
    }
    CU_ASSERT_EQUAL(vdrv_used_idx(&D), 43);
    unsigned last = 39;
    CU_ASSERT_EQUAL(memcmp(guest + (1 + last % 15) * VIRTIO_RAM_PAGE + 8, &last, sizeof last), 0);

    /* A writable buffer whose pin fails: outside RAM (not "read-only":
     * the window is writable), the queue broken. Then a fresh queue. */
    vdrv_desc(&D, 7, PG(12), 8, VIRTQ_DESC_F_WRITE, 0);
    vdrv_offer(&D, 7);
    virtio_ram_unpin_all(&P);
    CU_ASSERT_PTR_NOT_NULL(virtio_ram_map(&RAM, PG(0), 8, true));   /* the rings' page */
    fail_pins = 1;                          /* the buffer's pin fails */
    CU_ASSERT_EQUAL(virtq_pop(&Q, S, 8, &C), VIRTQ_ERR_BUFFER_OUTSIDE_RAM);
    CU_ASSERT_TRUE(Q.broken);
    virtq_init(&Q);
    vdrv_init(&D, &F, 8, PG(0), PG(0) + 0x100, PG(0) + 0x200);
    cfg = vdrv_config(&D, false, false);
    CU_ASSERT_EQUAL_FATAL(virtq_setup(&Q, &RAM, &cfg), VIRTQ_OK);

    /* A chain over more pages than the pins hold (the rings take one):
     * refused as a buffer outside RAM, the queue broken. */
    vdrv_desc(&D, 7, PG(11), 4 * VIRTIO_RAM_PAGE, 0, 0);
    vdrv_offer(&D, 7);
    CU_ASSERT_EQUAL(virtq_pop(&Q, S, 8, &C), VIRTQ_ERR_BUFFER_OUTSIDE_RAM);
    CU_ASSERT_TRUE(Q.broken);
    CU_ASSERT_TRUE(pinned_now() <= 4);
}

UNIT_SUITE(virtio_paged_suite)
{
    CU_pSuite s = CU_add_suite("virtio paged RAM windows", NULL, finish);
    CU_add_test(s, "a paged window must be whole pages with a pin bound", test_shape);
    CU_add_test(s, "lookups pin each page, writable only for writes", test_lookups_pin);
    CU_add_test(s, "bounded LRU pins, never one of the current epoch", test_lru_and_epochs);
    CU_add_test(s, "a virtqueue with rings and buffers in paged RAM", test_virtq_in_paged_ram);
}
