/*
 * tests/unit/test_blk_client.c - the client side of the block server's
 * protocol (device-servers/common/blk_client.c) against a model of the
 * kernel, init and a block server that dies and is restarted (blk_proto.h
 * BLK_INIT_RECONNECT, device-servers/README.md "Restart" 4.):
 *   - the server is the real request logic (blk.c blk_serve over a RAM
 *     disk), its buffer the client's own frame, shared as the kernel
 *     shares it; a fresh instance knows no buffer;
 *   - a call to a dead instance fails (the kernel's NESTOR_ERR_DELETED, an
 *     invalid capability); init answers a reconnection with a capability
 *     into the slot the client names, only for a newer instance;
 *   - a crash in the middle of a request: the write already on the disk,
 *     or the read half in the buffer with garbage after it.
 * Every request must come back as if nothing happened (replayed whole at
 * the new instance, the buffer attached again), or fail with
 * BLK_E_NO_SERVER when init has no new instance; never loop, never take a
 * reply that was not the server's.
 */
#include "unit.h"
#include "../../device-servers/blk/blk.h"
#include <blk_client.h>
#include <string.h>

#define EP        0x40u             /* the client's slot for its capability */
#define FRAME     0x41u             /* its buffer frame's capability */
#define NOT_FRAME 0x42u
#define PART      64u               /* the partition's sectors */
#define DISK_SECTORS 128u
#define FIRST     32u               /* the partition's first sector on the disk */
#define BUF       4096u
#define RESTARTS_MAX 3u             /* init's INIT_RESTARTS_MAX */

static uint8_t disk_bytes[DISK_SECTORS * BLK_SECTOR_SIZE];
static uint8_t frame[BUF];          /* the client's frame: the server maps the same memory */

static unsigned disk_rw(void *ctx, uint64_t lba, uint64_t count, uint8_t *buf, bool write)
{
    (void)ctx;
    if (write)
        memcpy(disk_bytes + lba * BLK_SECTOR_SIZE, buf, count * BLK_SECTOR_SIZE);
    else
        memcpy(buf, disk_bytes + lba * BLK_SECTOR_SIZE, count * BLK_SECTOR_SIZE);
    return 0;
}
static unsigned disk_read(void *ctx, uint64_t lba, uint64_t count, uint8_t *buf)
{
    return disk_rw(ctx, lba, count, buf, false);
}
static unsigned disk_write(void *ctx, uint64_t lba, uint64_t count, const uint8_t *buf)
{
    return disk_rw(ctx, lba, count, (uint8_t *)buf, true);
}
static unsigned disk_flush(void *ctx)
{
    (void)ctx;
    return 0;
}
static blk_disk_t disk = { disk_read, disk_write, disk_flush, NULL, DISK_SECTORS };

/* The model: one server instance at a time, the client's capability, init. */
static struct {
    blk_client_t srv;               /* the live instance's state of our client */
    uint64_t restarts;              /* init's restarts of the server */
    bool alive;                     /* the instance is running */
    bool cap_live;                  /* the client's slot holds a capability to it */
    unsigned die_in;                /* the instance dies in its Nth request (0: never) */
    bool die_each;                  /* ... and so does every new one */
    bool short_reply;               /* the server answers one sector less */
    bool init_refuses;              /* init has no new instance to give */
    bool init_stale;                /* init answers with the restarts the client knows */
    unsigned requests, attaches, asks, calls;
    uint64_t known[8];              /* MR0 of each reconnection asked for */
    nestor_cptr_t slot_asked;       /* where the client had init put the capability */
} K;

static void fresh_instance(void)
{
    K.srv = (blk_client_t){ .part = { FIRST, PART }, .configured = true, .usable = true };
    K.alive = true;
    K.requests = 0;
}

static void model_reset(void)
{
    memset(&K, 0, sizeof K);
    fresh_instance();
    K.cap_live = true;
    memset(disk_bytes, 0xEE, sizeof disk_bytes);
    memset(frame, 0, sizeof frame);
}

/* The server dies: init restarts it (a fresh instance, a fresh endpoint:
 * every capability to the old one is gone), up to its limit. */
static void server_dies(void)
{
    K.alive = false;
    K.cap_live = false;
    if (K.restarts < RESTARTS_MAX) {
        K.restarts++;
        fresh_instance();
        if (!K.die_each)
            K.die_in = 0;
    }
}

static bool fake_call(nestor_cptr_t ep, uint64_t *label, uint64_t *mr, unsigned *n_mrs,
                      nestor_cptr_t cap)
{
    K.calls++;
    if (ep != EP || !K.cap_live || !K.alive)
        return false;                       /* no server behind the capability */
    K.requests++;
    blk_reply_t r;
    if (*label == BLK_REQ_ATTACH) {
        K.attaches++;
        r = cap == FRAME ? blk_attached(&K.srv, frame, BUF)
                         : (blk_reply_t){ .label = BLK_E_BAD_BUFFER };
    } else {
        r = blk_serve(&disk, &K.srv, *label, mr, *n_mrs);
    }
    if (K.die_in && K.requests == K.die_in) {
        /* Died after the data moved, before the reply; a read leaves half
         * its data and garbage in the buffer. */
        if (*label == BLK_REQ_READ && r.label == BLK_OK)
            memset(frame + BUF / 2, 0x5A, BUF / 2);
        server_dies();
        return false;
    }
    if (K.short_reply && (*label == BLK_REQ_READ || *label == BLK_REQ_WRITE) && r.mr[0])
        r.mr[0]--;
    *label = r.label;
    *n_mrs = r.n_mrs;
    for (unsigned i = 0; i < r.n_mrs; i++)
        mr[i] = r.mr[i];
    return true;
}

static bool fake_reconnect(nestor_cptr_t slot, uint64_t known, uint64_t *restarts)
{
    if (K.asks < sizeof K.known / sizeof K.known[0])
        K.known[K.asks] = known;
    K.asks++;
    K.slot_asked = slot;
    K.cap_live = false;                     /* the client deleted what was left */
    if (K.init_refuses || !(K.restarts > known || K.init_stale))
        return false;
    K.cap_live = slot == EP;
    *restarts = K.init_stale ? known : K.restarts;
    return true;
}

const blk_kernel_t blk_kernel = { fake_call, fake_reconnect };

static void fill(uint8_t seed)
{
    for (unsigned i = 0; i < BUF; i++)
        frame[i] = (uint8_t)(i * 7 + seed);
}

static bool on_disk(uint64_t sector, uint8_t seed)
{
    const uint8_t *p = disk_bytes + (FIRST + sector) * BLK_SECTOR_SIZE;
    for (unsigned i = 0; i < BUF; i++)
        if (p[i] != (uint8_t)(i * 7 + seed))
            return false;
    return true;
}

static bool in_frame(uint8_t seed)
{
    for (unsigned i = 0; i < BUF; i++)
        if (frame[i] != (uint8_t)(i * 7 + seed))
            return false;
    return true;
}

static void connect_attached(blk_conn_t *c)
{
    CU_ASSERT_EQUAL(blk_connect(c, EP), BLK_OK);
    CU_ASSERT_EQUAL(blk_attach(c, FRAME), BLK_OK);
    CU_ASSERT_EQUAL(c->sectors, PART);
    CU_ASSERT_EQUAL(c->max_sectors, BUF / BLK_SECTOR_SIZE);
}

/* Without a restart: the protocol as before, nothing asked of init. */
static void test_plain(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    fill(1);
    CU_ASSERT_EQUAL(blk_write(&c, 8, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(on_disk(8, 1));
    memset(frame, 0, sizeof frame);
    CU_ASSERT_EQUAL(blk_read(&c, 8, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(in_frame(1));
    CU_ASSERT_EQUAL(blk_flush(&c), BLK_OK);
    CU_ASSERT_EQUAL(blk_write(&c, PART - 4, 8, 0), BLK_E_RANGE);
    CU_ASSERT_EQUAL(blk_attach(&c, NOT_FRAME), BLK_E_BAD_BUFFER);
    CU_ASSERT_EQUAL(c.frame, 0);
    CU_ASSERT_EQUAL(K.asks, 0);
    CU_ASSERT_EQUAL(c.reconnects + c.replays, 0);
}

/* Killed between requests: the next one fails, init gives the new
 * instance into the same slot, the buffer is attached again before the
 * request is sent again. */
static void test_killed_between(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    server_dies();
    fill(2);
    unsigned attaches = K.attaches;
    CU_ASSERT_EQUAL(blk_write(&c, 16, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(on_disk(16, 2));
    CU_ASSERT_EQUAL(K.asks, 1);
    CU_ASSERT_EQUAL(K.known[0], 0);
    CU_ASSERT_EQUAL(K.slot_asked, EP);
    CU_ASSERT_EQUAL(K.attaches, attaches + 1);
    CU_ASSERT_EQUAL(K.srv.buf, frame);      /* the new instance has the same frame */
    CU_ASSERT_EQUAL(c.instance, 1);
    CU_ASSERT_EQUAL(c.reconnects, 1);
    CU_ASSERT_EQUAL(c.replays, 1);
    /* The next request goes straight to the new instance. */
    memset(frame, 0, sizeof frame);
    CU_ASSERT_EQUAL(blk_read(&c, 16, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(in_frame(2));
    CU_ASSERT_EQUAL(K.asks, 1);
}

/* Died in a write, its data on the disk, no reply: written whole again. */
static void test_died_in_write(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    fill(3);
    K.die_in = K.requests + 1;
    CU_ASSERT_EQUAL(blk_write(&c, 24, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(on_disk(24, 3));
    CU_ASSERT_EQUAL(c.replays, 1);
    CU_ASSERT_EQUAL(K.srv.sectors_written, 8);   /* the new instance wrote it */
    CU_ASSERT_TRUE(in_frame(3));                  /* the buffer is the client's */
}

/* Died in a read with garbage left in the buffer: the read is sent again
 * and the buffer holds the sectors, not the garbage. */
static void test_died_in_read(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    fill(4);
    CU_ASSERT_EQUAL(blk_write(&c, 40, 8, 0), BLK_OK);
    memset(frame, 0, sizeof frame);
    K.die_in = K.requests + 1;
    CU_ASSERT_EQUAL(blk_read(&c, 40, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(in_frame(4));
    CU_ASSERT_EQUAL(c.replays, 1);
    CU_ASSERT_EQUAL(K.srv.sectors_read, 8);
}

/* The new instance dies at once (in the re-attach): the client asks for
 * the next one, each time telling init the restarts it knows; when
 * init's restarts are spent the request fails, and nothing loops. */
static void test_dies_again(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    K.die_in = 1;                           /* every new instance: its first request */
    K.die_each = true;
    server_dies();
    fill(5);
    unsigned calls = K.calls;
    CU_ASSERT_EQUAL(blk_write(&c, 0, 8, 0), BLK_E_NO_SERVER);
    CU_ASSERT_EQUAL(K.restarts, RESTARTS_MAX);
    CU_ASSERT_EQUAL(K.asks, RESTARTS_MAX + 1);        /* the last one refused */
    CU_ASSERT_EQUAL(K.known[0], 0);
    CU_ASSERT_EQUAL(K.known[1], 1);
    CU_ASSERT_EQUAL(K.known[2], 2);
    CU_ASSERT_EQUAL(K.known[3], 3);
    CU_ASSERT_EQUAL(c.reconnects, RESTARTS_MAX);
    CU_ASSERT_TRUE(K.calls - calls <= 2 * RESTARTS_MAX + 2);
    /* The last instance lives: one that dies only at its second request. */
    model_reset();
    connect_attached(&c);
    server_dies();
    K.die_in = 1;                           /* restart 1 dies in its re-attach, not 2 */
    fill(6);
    CU_ASSERT_EQUAL(blk_write(&c, 0, 8, 0), BLK_OK);
    CU_ASSERT_TRUE(on_disk(0, 6));
    CU_ASSERT_EQUAL(c.instance, 2);
    CU_ASSERT_EQUAL(c.reconnects, 2);
}

/* Init refuses (not restarted, not our server), or answers with an
 * instance no newer than the one known: the call fails, nothing read. */
static void test_refused(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    K.init_refuses = true;
    server_dies();
    memset(frame, 0x11, sizeof frame);
    CU_ASSERT_EQUAL(blk_read(&c, 0, 8, 0), BLK_E_NO_SERVER);
    CU_ASSERT_EQUAL(K.asks, 1);
    CU_ASSERT_EQUAL(c.reconnects, 0);
    CU_ASSERT_EQUAL(frame[0], 0x11);
    model_reset();
    connect_attached(&c);
    K.init_stale = true;
    server_dies();
    CU_ASSERT_EQUAL(blk_flush(&c), BLK_E_NO_SERVER);
    CU_ASSERT_EQUAL(K.asks, 1);
    CU_ASSERT_EQUAL(c.instance, 0);
}

/* A server that says it moved other sectors than asked is not believed;
 * a connection without a buffer reconnects without an ATTACH. */
static void test_short_and_unattached(void)
{
    blk_conn_t c;
    model_reset();
    connect_attached(&c);
    K.short_reply = true;
    CU_ASSERT_EQUAL(blk_read(&c, 0, 8, 0), BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(blk_write(&c, 0, 8, 0), BLK_E_BAD_REQUEST);
    model_reset();
    CU_ASSERT_EQUAL(blk_connect(&c, EP), BLK_OK);
    server_dies();
    unsigned attaches = K.attaches;
    CU_ASSERT_EQUAL(blk_read(&c, 0, 8, 0), BLK_E_NO_BUFFER);
    CU_ASSERT_EQUAL(K.attaches, attaches);
    CU_ASSERT_EQUAL(c.reconnects, 1);
}

UNIT_SUITE(blk_client_suite)
{
    CU_pSuite s = CU_add_suite("blk client: requests, a restarted server's reconnection and "
                               "replay", NULL, NULL);
    CU_add_test(s, "requests without a restart: nothing asked of init", test_plain);
    CU_add_test(s, "killed between requests: reconnected into the same slot, buffer "
                   "attached again, request sent again", test_killed_between);
    CU_add_test(s, "died in a write (data on the disk, no reply): written whole again",
                test_died_in_write);
    CU_add_test(s, "died in a read (garbage in the buffer): read again, the sectors not the "
                   "garbage", test_died_in_read);
    CU_add_test(s, "each new instance dies: the next one asked for, up to init's limit, no "
                   "loop", test_dies_again);
    CU_add_test(s, "init refuses or offers no newer instance: BLK_E_NO_SERVER, nothing read",
                test_refused);
    CU_add_test(s, "a short reply not believed; no buffer, no ATTACH at a reconnection",
                test_short_and_unattached);
}
