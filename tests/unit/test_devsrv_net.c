/*
 * tests/unit/test_devsrv_net.c - the network server's parts
 * (device-servers/net): the virtio-net device (vnet.c, Virtio 1.2 5.1)
 * and the learning switch (switch.c), three guests' devices on one switch,
 * each driven through forwarded register accesses with its own fake RAM
 * (one heap block each, so ASan sees a stray device access). A ping-like
 * exchange with checksums (RFC 1071 over the payload, checked by the
 * receiving guest), MAC learning and flooding, and the frames and
 * descriptors the device must refuse without harming the other guests.
 */
#include "unit.h"
#include "ds_state_cases.h"
#include "../../device-servers/net/server.h"
#include "../../device-servers/net/switch.h"
#include "../../device-servers/net/vnet.h"
#include <devsrv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <virtio_abi.h>

#define GUESTS      3
#define RAM_BYTES   0x40000u
#define QSIZE       8u
#define RX_DESC     0x1000u
#define RX_AVAIL    0x2000u
#define RX_USED     0x3000u
#define TX_DESC     0x4000u
#define TX_AVAIL    0x5000u
#define TX_USED     0x6000u
#define RX_BUFS     0x10000u        /* QSIZE buffers of RX_BUF_LEN */
#define RX_BUF_LEN  0x800u          /* >= 12 + 1514 (5.1.6.3.1) */
#define TX_BUFS     0x20000u
#define TX_BUF_LEN  0x800u
#define ETH_TYPE_TEST 0x88B5u       /* IEEE 802 local experimental EtherType 1 */
#define MAX_LINES   64

typedef struct {
    uint8_t *ram;
    vnet_t n;
    uint16_t rx_avail, tx_avail, rx_seen, tx_seen;
    net_server_t *srv;              /* set: its accesses go through the server (net_serve) */
    unsigned port;
    bool level;                     /* the line, as the server's last reply said */
} guest_t;

static guest_t G[GUESTS];
static sw_t S;
static unsigned n_lines;
static char lines[MAX_LINES][200];

static void emit(const char *text)
{
    if (n_lines < MAX_LINES)
        snprintf(lines[n_lines++], sizeof lines[0], "%s", text);
}

static void to_switch(void *ctx, vnet_t *from, const uint8_t *frame, uint32_t len)
{
    sw_input(ctx, from->port, frame, len);
}

static void to_port(void *ctx, unsigned port, const uint8_t *frame, uint32_t len)
{
    (void)ctx;
    vnet_receive(&G[port].n, frame, len);
}

/* A 32-bit access of guest @g: to its own device, or forwarded to the
 * server by its port's badge as its VMM would. */
static bool access32(guest_t *g, bool write, uint32_t off, uint32_t *v, uint32_t wv)
{
    if (!g->srv)
        return vnet_access(&g->n, write, off, 4, v, wv);
    net_msg_t m = { .badge = NET_BADGE_PORT(g->port), .label = write ? DS_REQ_WRITE : DS_REQ_READ,
                    .mr = { off, 4, wv } };
    net_reply_t r = net_serve(g->srv, &m);
    *v = r.value;
    g->level = r.level;
    return r.label == DS_OK;
}

static uint32_t rd(guest_t *g, uint32_t off)
{
    uint32_t v = 0;
    access32(g, false, off, &v, 0);
    return v;
}

static bool wr(guest_t *g, uint32_t off, uint32_t v)
{
    uint32_t ignored;
    return access32(g, true, off, &ignored, v);
}

static void put16(guest_t *g, uint32_t gpa, uint16_t v) { memcpy(g->ram + gpa, &v, 2); }
static uint16_t get16(guest_t *g, uint32_t gpa) { uint16_t v; memcpy(&v, g->ram + gpa, 2); return v; }
static uint32_t get32(guest_t *g, uint32_t gpa) { uint32_t v; memcpy(&v, g->ram + gpa, 4); return v; }

static void desc(guest_t *g, uint32_t table, unsigned i, uint64_t addr, uint32_t len,
                 uint16_t flags, uint16_t next)
{
    virtq_desc_t e = { .addr = addr, .len = len, .flags = flags, .next = next };
    memcpy(g->ram + table + i * VIRTQ_DESC_SIZE, &e, sizeof e);
}

static void offer(guest_t *g, uint32_t avail, uint16_t *idx, uint16_t head)
{
    put16(g, avail + VIRTQ_AVAIL_RING_OFF + (*idx % QSIZE) * VIRTQ_AVAIL_ENTRY_SIZE, head);
    put16(g, avail + VIRTQ_AVAIL_IDX_OFF, ++*idx);
}

static void queue_setup(guest_t *g, unsigned q, uint32_t d, uint32_t a, uint32_t u)
{
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_SEL, q));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_NUM, QSIZE));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_DESC_LOW, d));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_DRIVER_LOW, a));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_DEVICE_LOW, u));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_READY, 1));
}

/* The driver's register writes of 3.1.1 (VERSION_1 and MAC, both queues,
 * DRIVER_OK): what a VMM's shadow replays into a fresh device. */
static void driver_registers(guest_t *g)
{
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_STATUS, 0));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_NET_F_MAC));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1));
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32)));
    uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_STATUS, st));
    queue_setup(g, VNET_RECEIVEQ, RX_DESC, RX_AVAIL, RX_USED);
    queue_setup(g, VNET_TRANSMITQ, TX_DESC, TX_AVAIL, TX_USED);
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK));
}

/* 3.1.1 with VERSION_1 and MAC, both queues, every receive buffer posted. */
static void driver_init(guest_t *g)
{
    memset(g->ram, 0, TX_USED + 0x1000);
    g->rx_avail = g->tx_avail = g->rx_seen = g->tx_seen = 0;
    driver_registers(g);
    for (unsigned i = 0; i < QSIZE; i++) {
        desc(g, RX_DESC, i, RX_BUFS + i * RX_BUF_LEN, RX_BUF_LEN, VIRTQ_DESC_F_WRITE, 0);
        offer(g, RX_AVAIL, &g->rx_avail, (uint16_t)i);
    }
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VNET_RECEIVEQ));
}

static void setup(void)
{
    n_lines = 0;
    sw_init(&S, GUESTS, to_port, NULL);
    for (unsigned i = 0; i < GUESTS; i++) {
        guest_t *g = &G[i];
        free(g->ram);
        memset(g, 0, sizeof *g);
        g->ram = calloc(1, RAM_BYTES);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g->ram);
        snprintf(g->n.name, sizeof g->n.name, "net");
        snprintf(g->n.vm, sizeof g->n.vm, "vm%u", i);
        const uint8_t mac[VNET_MAC_LEN] = { 0x52, 0x54, 0x00, 0x00, 0x00, (uint8_t)(i + 1) };
        memcpy(g->n.mac, mac, VNET_MAC_LEN);
        g->n.ram_bytes = RAM_BYTES;
        g->n.port = i;
        g->n.emit = emit;
        g->n.tx = to_switch;
        g->n.tx_ctx = &S;
        CU_ASSERT_TRUE_FATAL(vnet_init(&g->n, g->ram));
        driver_init(g);
    }
}

static void teardown(void)
{
    for (unsigned i = 0; i < GUESTS; i++) {
        free(G[i].ram);
        G[i].ram = NULL;
    }
}

/* RFC 1071: the ones' complement of the ones' complement sum of 16-bit words. */
static uint16_t inet_csum(const uint8_t *p, uint32_t len)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A test frame: to @dst from guest @g, type ETH_TYPE_TEST, payload: a
 * 16-bit checksum then @n bytes of pattern @seed. Returns its length. */
static uint32_t make_frame(uint8_t *f, const uint8_t *dst, const guest_t *g, uint32_t n,
                           uint8_t seed)
{
    memcpy(f, dst, VNET_MAC_LEN);
    memcpy(f + VNET_MAC_LEN, g->n.mac, VNET_MAC_LEN);
    f[12] = ETH_TYPE_TEST >> 8;
    f[13] = ETH_TYPE_TEST & 0xFF;
    for (uint32_t i = 0; i < n; i++)
        f[ETH_HDR_LEN + 2 + i] = (uint8_t)(seed + i * 7);
    uint16_t c = inet_csum(f + ETH_HDR_LEN + 2, n);
    f[ETH_HDR_LEN] = c >> 8;
    f[ETH_HDR_LEN + 1] = c & 0xFF;
    return ETH_HDR_LEN + 2 + n;
}

/* Guest @g sends @frame: header + frame in two descriptors, one kick. */
static void send(guest_t *g, const uint8_t *frame, uint32_t len)
{
    unsigned d = (g->tx_avail * 2) % QSIZE;
    uint32_t buf = TX_BUFS + d * TX_BUF_LEN;
    memset(g->ram + buf, 0, VIRTIO_NET_HDR_SIZE);
    memcpy(g->ram + buf + VIRTIO_NET_HDR_SIZE, frame, len);
    desc(g, TX_DESC, d, buf, VIRTIO_NET_HDR_SIZE, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
    desc(g, TX_DESC, d + 1, buf + VIRTIO_NET_HDR_SIZE, len, 0, 0);
    offer(g, TX_AVAIL, &g->tx_avail, (uint16_t)d);
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VNET_TRANSMITQ));
}

/* The next received frame of guest @g into @out (its length), 0 if none;
 * the header checked (5.1.6.4) and the buffer posted again. */
static uint32_t receive(guest_t *g, uint8_t *out)
{
    if (get16(g, RX_USED + VIRTQ_USED_IDX_OFF) == g->rx_seen)
        return 0;
    uint32_t e = RX_USED + VIRTQ_USED_RING_OFF + (g->rx_seen++ % QSIZE) * VIRTQ_USED_ELEM_SIZE;
    uint32_t id = get32(g, e + VIRTQ_USED_ELEM_ID_OFF), len = get32(g, e + VIRTQ_USED_ELEM_LEN_OFF);
    CU_ASSERT_TRUE_FATAL(id < QSIZE && len >= VIRTIO_NET_HDR_SIZE && len <= RX_BUF_LEN);
    const uint8_t *b = g->ram + RX_BUFS + id * RX_BUF_LEN;
    CU_ASSERT_EQUAL(b[VIRTIO_NET_HDR_FLAGS_OFF], 0);
    CU_ASSERT_EQUAL(b[VIRTIO_NET_HDR_GSO_OFF], VIRTIO_NET_HDR_GSO_NONE);
    CU_ASSERT_EQUAL(b[VIRTIO_NET_HDR_NUMBUF_OFF], 1);
    memcpy(out, b + VIRTIO_NET_HDR_SIZE, len - VIRTIO_NET_HDR_SIZE);
    offer(g, RX_AVAIL, &g->rx_avail, (uint16_t)id);
    return len - VIRTIO_NET_HDR_SIZE;
}

static bool csum_ok(const uint8_t *f, uint32_t len)
{
    return len > ETH_HDR_LEN + 2 && inet_csum(f + ETH_HDR_LEN, len - ETH_HDR_LEN) == 0;
}

static void test_identity(void)
{
    setup();
    guest_t *g = &G[0];
    CU_ASSERT_EQUAL(rd(g, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0));
    uint32_t lo = rd(g, VIRTIO_MMIO_DEVICE_FEATURES);
    CU_ASSERT_TRUE(lo & (1u << VIRTIO_NET_F_MAC));
    CU_ASSERT_FALSE(lo & ((1u << VIRTIO_NET_F_CSUM) | (1u << VIRTIO_NET_F_MRG_RXBUF) |
                          (1u << VIRTIO_NET_F_STATUS)));
    /* The MAC, byte by byte and as a 32-bit read (5.1.4). */
    uint32_t v = 0;
    for (unsigned i = 0; i < VNET_MAC_LEN; i++) {
        CU_ASSERT_TRUE(vnet_access(&g->n, false, VIRTIO_MMIO_CONFIG + i, 1, &v, 0));
        CU_ASSERT_EQUAL(v, g->n.mac[i]);
    }
    CU_ASSERT_TRUE(vnet_access(&g->n, false, VIRTIO_MMIO_CONFIG, 4, &v, 0));
    CU_ASSERT_EQUAL(v, 0x00005452u);             /* 52 54 00 00, little-endian */
    CU_ASSERT_FALSE(vnet_access(&g->n, true, VIRTIO_MMIO_CONFIG, 1, &v, 0));   /* read-only */
    CU_ASSERT_TRUE(rd(g, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
    teardown();
}

/* Ping-like: 0 broadcasts, everyone else gets it and learns nothing wrong;
 * 1 answers 0 by unicast (learnt), only 0 gets it; then 0 -> 1 again,
 * 2 hears nothing; every payload's checksum verified by its receiver. */
static void test_exchange(void)
{
    setup();
    static const uint8_t bcast[VNET_MAC_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    uint8_t f[ETH_FRAME_MAX], got[ETH_FRAME_MAX];
    uint32_t len = make_frame(f, bcast, &G[0], 46, 1);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(S.flooded, 1);
    CU_ASSERT_EQUAL(sw_lookup(&S, G[0].n.mac), 0);
    for (unsigned i = 1; i < GUESTS; i++) {
        CU_ASSERT_EQUAL(receive(&G[i], got), len);
        CU_ASSERT_EQUAL(memcmp(got, f, len), 0);
        CU_ASSERT_TRUE(csum_ok(got, len));
        CU_ASSERT_TRUE(vnet_irq(&G[i].n));
        CU_ASSERT_TRUE(wr(&G[i], VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING));
    }
    CU_ASSERT_EQUAL(receive(&G[0], got), 0);            /* not back to the sender */
    CU_ASSERT_EQUAL(get16(&G[0], TX_USED + VIRTQ_USED_IDX_OFF), 1);
    /* Echo: 1 -> 0, unicast, the payload turned round (a new checksum). */
    for (unsigned round = 0; round < 20; round++) {
        uint32_t n = 46 + round * 71;                   /* up to 1395 bytes */
        len = make_frame(f, G[0].n.mac, &G[1], n, (uint8_t)round);
        send(&G[1], f, len);
        CU_ASSERT_EQUAL(receive(&G[0], got), len);
        CU_ASSERT_TRUE(csum_ok(got, len));
        CU_ASSERT_EQUAL(receive(&G[2], got), 0);        /* learnt: not flooded */
        len = make_frame(f, G[1].n.mac, &G[0], n, (uint8_t)(round + 100));
        send(&G[0], f, len);
        CU_ASSERT_EQUAL(receive(&G[1], got), len);
        CU_ASSERT_TRUE(csum_ok(got, len));
        CU_ASSERT_EQUAL(receive(&G[2], got), 0);
    }
    CU_ASSERT_EQUAL(S.flooded, 1);
    CU_ASSERT_EQUAL(S.forwarded, 40);
    CU_ASSERT_EQUAL(G[0].n.tx_frames, 21);
    CU_ASSERT_EQUAL(G[1].n.rx_frames, 21);
    CU_ASSERT_EQUAL(G[2].n.rx_frames, 1);
    /* The biggest frame there is. */
    len = make_frame(f, G[2].n.mac, &G[0], ETH_MAX_PAYLOAD - 2, 9);
    CU_ASSERT_EQUAL(len, ETH_FRAME_MAX);
    send(&G[0], f, len);                                /* 2 not learnt yet: flooded */
    CU_ASSERT_EQUAL(receive(&G[2], got), len);
    CU_ASSERT_TRUE(csum_ok(got, len));
    CU_ASSERT_EQUAL(receive(&G[1], got), len);
    CU_ASSERT_EQUAL(n_lines, 0);
    teardown();
}

/* The switch alone: group and zero sources never learnt, moves, a full
 * table dropping the least recently used, filtering on the same port. */
static unsigned delivered[SW_MAX_PORTS];
static void count_port(void *ctx, unsigned port, const uint8_t *frame, uint32_t len)
{
    (void)ctx, (void)frame, (void)len;
    delivered[port]++;
}

static void test_switch(void)
{
    sw_t s;
    sw_init(&s, 4, count_port, NULL);
    uint8_t f[ETH_HDR_LEN] = { 0 };
    memset(delivered, 0, sizeof delivered);
    /* A broadcast source: flooded, not learnt. */
    memset(f, 0xFF, 12);
    sw_input(&s, 1, f, sizeof f);
    CU_ASSERT_EQUAL(sw_lookup(&s, f + 6), -1);
    CU_ASSERT_EQUAL(delivered[0] + delivered[2] + delivered[3], 3);
    CU_ASSERT_EQUAL(delivered[1], 0);
    /* An all-zero source: not learnt either. */
    memset(f, 0, sizeof f);
    f[0] = 0x02;
    sw_input(&s, 2, f, sizeof f);
    static const uint8_t zero[6];
    CU_ASSERT_EQUAL(sw_lookup(&s, zero), -1);
    /* Learn A on 1, then A moves to 3. */
    uint8_t a[6] = { 0x02, 0, 0, 0, 0, 0xA }, b[6] = { 0x02, 0, 0, 0, 0, 0xB };
    memcpy(f, b, 6);
    memcpy(f + 6, a, 6);
    sw_input(&s, 1, f, sizeof f);
    CU_ASSERT_EQUAL(sw_lookup(&s, a), 1);
    sw_input(&s, 3, f, sizeof f);
    CU_ASSERT_EQUAL(sw_lookup(&s, a), 3);
    CU_ASSERT_EQUAL(s.moved, 1);
    /* B speaks on 3 too, to A (on 3: filtered); then A to B: filtered. */
    memcpy(f, a, 6);
    memcpy(f + 6, b, 6);
    memset(delivered, 0, sizeof delivered);
    sw_input(&s, 3, f, sizeof f);
    CU_ASSERT_EQUAL(s.filtered, 1);
    memcpy(f, b, 6);
    memcpy(f + 6, a, 6);
    sw_input(&s, 3, f, sizeof f);
    CU_ASSERT_EQUAL(s.filtered, 2);
    CU_ASSERT_EQUAL(delivered[0] + delivered[1] + delivered[2] + delivered[3], 0);
    /* A flood of sources: the table stays bounded, the latest are kept. */
    for (unsigned i = 0; i < 3 * SW_TABLE_SIZE; i++) {
        uint8_t m[6] = { 0x02, 1, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
        memcpy(f + 6, m, 6);
        sw_input(&s, i % 4, f, sizeof f);
    }
    uint8_t last[6] = { 0x02, 1, 0, 0, (uint8_t)((3 * SW_TABLE_SIZE - 1) >> 8),
                        (uint8_t)(3 * SW_TABLE_SIZE - 1) };
    CU_ASSERT_EQUAL(sw_lookup(&s, last), (3 * SW_TABLE_SIZE - 1) % 4);
    uint8_t first[6] = { 0x02, 1, 0, 0, 0, 0 };
    CU_ASSERT_EQUAL(sw_lookup(&s, first), -1);
    /* A port that does not exist: ignored. */
    uint64_t before = s.clock;
    sw_input(&s, 7, f, sizeof f);
    CU_ASSERT_EQUAL(s.clock, before);
}

/* Hostile transmit chains and receive buffers: each refused and logged,
 * the other guests unharmed; a ring outside RAM breaks only that queue. */
static void test_hostile(void)
{
    setup();
    guest_t *g = &G[0];
    static const uint8_t bcast[VNET_MAC_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    uint8_t f[ETH_FRAME_MAX + 16], got[ETH_FRAME_MAX];
    /* Shorter than an Ethernet header, longer than 1514 bytes. */
    send(g, f, ETH_HDR_LEN - 1);
    uint32_t len = make_frame(f, bcast, g, ETH_MAX_PAYLOAD, 3);   /* 1516 bytes */
    send(g, f, len);
    /* A good one, then the same with NEEDS_CSUM and with a GSO type, which
     * our features do not allow (one descriptor each). */
    len = make_frame(f, bcast, g, 46, 4);
    send(g, f, len);
    CU_ASSERT_EQUAL(G[1].n.rx_frames, 1);            /* that one was fine */
    unsigned dd = (g->tx_avail * 2) % QSIZE;
    uint32_t buf = TX_BUFS + dd * TX_BUF_LEN;
    memset(g->ram + buf, 0, VIRTIO_NET_HDR_SIZE);
    g->ram[buf + VIRTIO_NET_HDR_FLAGS_OFF] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    memcpy(g->ram + buf + VIRTIO_NET_HDR_SIZE, f, len);
    desc(g, TX_DESC, dd, buf, VIRTIO_NET_HDR_SIZE + len, 0, 0);
    offer(g, TX_AVAIL, &g->tx_avail, (uint16_t)dd);
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VNET_TRANSMITQ));
    g->ram[buf + VIRTIO_NET_HDR_FLAGS_OFF] = 0;
    g->ram[buf + VIRTIO_NET_HDR_GSO_OFF] = 1;        /* VIRTIO_NET_HDR_GSO_TCPV4 */
    offer(g, TX_AVAIL, &g->tx_avail, (uint16_t)dd);
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VNET_TRANSMITQ));
    /* A device-writable buffer in a transmit chain. */
    g->ram[buf + VIRTIO_NET_HDR_GSO_OFF] = 0;
    desc(g, TX_DESC, dd, buf, VIRTIO_NET_HDR_SIZE + len, VIRTQ_DESC_F_WRITE, 0);
    offer(g, TX_AVAIL, &g->tx_avail, (uint16_t)dd);
    CU_ASSERT_TRUE(wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VNET_TRANSMITQ));
    CU_ASSERT_EQUAL(g->n.tx_refused, 5);
    CU_ASSERT_EQUAL(g->n.tx_frames, 1);
    CU_ASSERT_EQUAL(G[1].n.rx_frames, 1);
    CU_ASSERT_EQUAL(G[2].n.rx_frames, 1);
    CU_ASSERT_EQUAL(get16(g, TX_USED + VIRTQ_USED_IDX_OFF), 6);   /* each one used */
    CU_ASSERT_FALSE(rd(g, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_EQUAL(n_lines, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "transmitted frame refused: shorter than"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "longer than 1514"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[2], "NEEDS_CSUM"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[3], "GSO"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[4], "device-writable"));
    /* Guest 1's receive buffers: one too small, one read-only, one outside
     * its RAM (breaks its receive queue; the others keep working). */
    guest_t *h = &G[1];
    while (receive(h, got))
        ;
    receive(&G[2], got);
    CU_ASSERT_TRUE(wr(h, VIRTIO_MMIO_STATUS, 0));
    driver_init(h);
    /* take its posted buffers back: repost three hostile ones first */
    h->rx_avail = 0;
    put16(h, RX_AVAIL + VIRTQ_AVAIL_IDX_OFF, 0);
    desc(h, RX_DESC, 0, RX_BUFS, 64, VIRTQ_DESC_F_WRITE, 0);
    desc(h, RX_DESC, 1, RX_BUFS + RX_BUF_LEN, RX_BUF_LEN, 0, 0);
    desc(h, RX_DESC, 2, RAM_BYTES - 16, RX_BUF_LEN, VIRTQ_DESC_F_WRITE, 0);
    offer(h, RX_AVAIL, &h->rx_avail, 0);
    offer(h, RX_AVAIL, &h->rx_avail, 1);
    offer(h, RX_AVAIL, &h->rx_avail, 2);
    n_lines = 0;
    const uint64_t rx_before = h->n.rx_frames, dropped_before = h->n.rx_dropped;
    len = make_frame(f, bcast, &G[0], 100, 5);
    for (unsigned i = 0; i < 3; i++)
        send(&G[0], f, len);
    CU_ASSERT_EQUAL(h->n.rx_frames, rx_before);
    CU_ASSERT_EQUAL(h->n.rx_dropped, dropped_before + 3);
    CU_ASSERT_TRUE(rd(h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "too small"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "no device-writable buffer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[2], "the device needs a reset"));
    /* Guest 2 got all three, checksums intact; guest 1 is dropped from now
     * on (its device needs a reset), without harm to the sender. */
    for (unsigned i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(receive(&G[2], got), len);
        CU_ASSERT_TRUE(csum_ok(got, len));
    }
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(h->n.rx_dropped, dropped_before + 4);
    CU_ASSERT_EQUAL(receive(&G[2], got), len);
    /* A reset brings guest 1 back. */
    driver_init(h);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(receive(h, got), len);
    CU_ASSERT_TRUE(csum_ok(got, len));
    teardown();
}

/* The server's dispatch (server.c): ports by badge, as a VMM's messages
 * come; the kernel's part faked. */
static net_server_t NS;
static unsigned signalled[NET_MAX_PORTS];
static bool setup_ok;

static bool fake_setup(void *ctx, unsigned port, const net_msg_t *m, uint8_t **ram,
                       uint64_t *bytes)
{
    (void)ctx;
    (void)m;
    *ram = G[port].ram;
    *bytes = setup_ok ? RAM_BYTES : 0;
    return setup_ok;
}

static void fake_signal(void *ctx, unsigned port)
{
    (void)ctx;
    signalled[port]++;
}

static net_reply_t message(uint64_t badge, unsigned label, unsigned caps)
{
    net_msg_t m = { .badge = badge, .label = label, .caps = caps, .mr = { 0, 4, 0 } };
    return net_serve(&NS, &m);
}

static bool last_line(const char *text)
{
    return n_lines && strstr(lines[n_lines - 1], text);
}

/* Hostile VMMs: messages of no port, before or after the setup, setups
 * without their CNode or refused; then two guests through the server: a
 * frame for the other port raises its line by one signal per rise, the
 * sender's comes in its replies; the counts at a reset; the log limit. */
static void test_server(void)
{
    setup();
    static const char *const vms[] = { "a", "b" };
    net_server_init(&NS, "net", 2, vms);
    NS.emit = emit;
    NS.setup = fake_setup;
    NS.signal = fake_signal;
    memset(signalled, 0, sizeof signalled);
    n_lines = 0;
    setup_ok = true;
    CU_ASSERT_EQUAL(NS.ports[0].dev.mac[0], 0x02);      /* locally administered, unicast */
    CU_ASSERT_EQUAL(NS.ports[1].dev.mac[5], 2);

    net_reply_t r = message(DS_BADGE_MMIO, DS_REQ_READ, 0);
    CU_ASSERT_EQUAL(r.label, DS_REFUSED);
    CU_ASSERT_TRUE(last_line("virtio-net net: message refused: badge 0xd6 names no port"));
    r = message(NET_BADGE_PORT(2), 0, 1);
    CU_ASSERT_TRUE(r.label == DS_REFUSED && !r.cap_taken);
    CU_ASSERT_TRUE(last_line("badge 0x4e02 names no port"));
    r = message(NET_BADGE_PORT(0), DS_REQ_READ, 0);
    CU_ASSERT_EQUAL(r.label, DS_REFUSED);
    CU_ASSERT_TRUE(last_line("port 0: label 0x5244 with 0 capabilities before its setup"));
    r = message(NET_BADGE_PORT(0), 0, 0);                /* a setup without its CNode */
    CU_ASSERT_EQUAL(r.label, DS_REFUSED);
    setup_ok = false;                                     /* numbers ds_map_ram refuses */
    r = message(NET_BADGE_PORT(0), 0, 1);
    CU_ASSERT_TRUE(r.label == DS_REFUSED && !r.cap_taken && !NS.ports[0].live);
    CU_ASSERT_TRUE(last_line("vm a: the VM handed over is not usable"));
    setup_ok = true;
    r = message(NET_BADGE_PORT(0), 0, 1);
    CU_ASSERT_TRUE(r.label == DS_OK && r.cap_taken && NS.ports[0].live && NS.waiting == 1);
    CU_ASSERT_TRUE(last_line("port 0: serving vm a's virtio device 0 (MMIO 0xfeb00000, IRQ 5"));
    CU_ASSERT_TRUE(last_line("MAC 02:4e:53:54:00:01"));
    r = message(NET_BADGE_PORT(0), 0, 1);                /* a second setup */
    CU_ASSERT_TRUE(r.label == DS_REFUSED && !r.cap_taken);
    r = message(NET_BADGE_PORT(0), DS_REQ_READ, 1);      /* an access with a capability */
    CU_ASSERT_TRUE(r.label == DS_REFUSED && !r.cap_taken);
    CU_ASSERT_TRUE(last_line("port 0: label 0x5244 with 1 capabilities (not an access)"));
    CU_ASSERT_EQUAL(message(NET_BADGE_PORT(1), 0, 1).label, DS_OK);
    CU_ASSERT_EQUAL(NS.waiting, 0);
    CU_ASSERT_EQUAL(NS.refused, 6);                      /* the failed setup: said, not refused */

    for (unsigned i = 0; i < 2; i++) {
        G[i].srv = &NS;
        G[i].port = i;
        memcpy(G[i].n.mac, NS.ports[i].dev.mac, VNET_MAC_LEN);
        driver_init(&G[i]);
    }
    CU_ASSERT_EQUAL(rd(&G[1], VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
    static const uint8_t bcast[VNET_MAC_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    uint8_t f[ETH_FRAME_MAX], got[ETH_FRAME_MAX];
    uint32_t len = make_frame(f, bcast, &G[0], 46, 1);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(signalled[1], 1);                    /* b's line went up: its VMM told */
    CU_ASSERT_EQUAL(signalled[0], 0);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(signalled[1], 1);                    /* still up: no second signal */
    CU_ASSERT_TRUE(wr(&G[1], VIRTIO_MMIO_INTERRUPT_ACK, rd(&G[1], VIRTIO_MMIO_INTERRUPT_STATUS)));
    CU_ASSERT_FALSE(G[1].level);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(signalled[1], 2);                    /* a new rise, a new signal */
    for (unsigned k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(receive(&G[1], got), len);
        CU_ASSERT_TRUE(csum_ok(got, len));
    }
    /* a's line is up from its own transmissions (its replies said so: no
     * signal); a acknowledges, then b answers a, learnt: a's line goes up
     * by a signal, and in a's next reply. */
    CU_ASSERT_TRUE(G[0].level);
    CU_ASSERT_TRUE(wr(&G[0], VIRTIO_MMIO_INTERRUPT_ACK, rd(&G[0], VIRTIO_MMIO_INTERRUPT_STATUS)));
    CU_ASSERT_FALSE(G[0].level);
    CU_ASSERT_EQUAL(signalled[0], 0);
    uint32_t len2 = make_frame(f, G[0].n.mac, &G[1], 100, 2);
    send(&G[1], f, len2);
    CU_ASSERT_EQUAL(signalled[0], 1);
    CU_ASSERT_EQUAL(S.forwarded, 0);                     /* the test's own switch: untouched */
    CU_ASSERT_EQUAL(NS.sw.forwarded, 1);
    CU_ASSERT_EQUAL(receive(&G[0], got), len2);
    CU_ASSERT_TRUE(rd(&G[0], VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
    CU_ASSERT_TRUE(G[0].level);
    /* The counts at b's reset. */
    CU_ASSERT_TRUE(wr(&G[1], VIRTIO_MMIO_STATUS, 0));
    CU_ASSERT_TRUE(n_lines >= 2 && strstr(lines[n_lines - 2], "virtio-net net: port 1 (vm b) "
                                          "reset: sent 1 frames (116 bytes), received 3 (186 "
                                          "bytes), 0 refused, 0 dropped"));
    CU_ASSERT_TRUE(last_line("switch: 1 forwarded, 3 flooded"));
    /* Refusals are logged NET_LOG_MAX times, then once more to say so. */
    for (unsigned k = 0; k < 2 * NET_LOG_MAX; k++)
        message(NET_BADGE_PORT(7), DS_REQ_READ, 0);
    CU_ASSERT_TRUE(last_line("message refused: no longer logged"));
    CU_ASSERT_EQUAL(NS.logged, NET_LOG_MAX + 1);
    CU_ASSERT_EQUAL(NS.refused, 6 + 2 * NET_LOG_MAX);
    G[0].srv = G[1].srv = NULL;
    teardown();
}

/* Server @ns (2 ports, "a" and "b", @restarted: an instance init started
 * again), both ports set up over G[0] and G[1]'s RAM. */
static void server_up(net_server_t *ns, bool restarted)
{
    static const char *const vms[] = { "a", "b" };
    net_server_init(ns, "net", 2, vms);
    ns->emit = emit;
    ns->setup = fake_setup;
    ns->signal = fake_signal;
    ns->restarted = restarted;
    setup_ok = true;
    for (unsigned i = 0; i < 2; i++) {
        net_msg_t m = { .badge = NET_BADGE_PORT(i), .caps = 1 };
        CU_ASSERT_EQUAL(net_serve(ns, &m).label, DS_OK);
        G[i].srv = ns;
        G[i].port = i;
        memcpy(G[i].n.mac, ns->ports[i].dev.mac, VNET_MAC_LEN);
    }
}

/* Guest @g's transmit chain offered and not kicked (@frame after its header). */
static void offer_tx(guest_t *g, const uint8_t *frame, uint32_t len)
{
    unsigned d = (g->tx_avail * 2) % QSIZE;
    uint32_t buf = TX_BUFS + d * TX_BUF_LEN;
    memset(g->ram + buf, 0, VIRTIO_NET_HDR_SIZE);
    memcpy(g->ram + buf + VIRTIO_NET_HDR_SIZE, frame, len);
    desc(g, TX_DESC, d, buf, VIRTIO_NET_HDR_SIZE + len, 0, 0);
    offer(g, TX_AVAIL, &g->tx_avail, (uint16_t)d);
}

static net_server_t NS2;                    /* a restarted or restored instance */

static net_reply_t resume(net_server_t *ns, unsigned p, uint64_t flags, unsigned caps)
{
    net_msg_t m = { .badge = NET_BADGE_PORT(p), .label = DS_REQ_RESUME, .caps = caps,
                    .mr = { flags } };
    return net_serve(ns, &m);
}

/* A restart (device-servers/README.md "Restart"): the old instance dies
 * with a transmit chain of a's taken and not used, b's receive buffers
 * held; the new one, set up and given the driver's writes again, drops
 * frames for a port not resumed yet, and DS_REQ_RESUME takes each port up
 * from its used ring: a's chain sent then (not lost, not twice), b's
 * buffers available, the MAC table learnt anew; hostile resumes refused. */
static void test_restart(void)
{
    setup();
    memset(signalled, 0, sizeof signalled);
    server_up(&NS, false);
    for (unsigned i = 0; i < 2; i++)
        driver_init(&G[i]);
    uint8_t f[ETH_FRAME_MAX], f2[ETH_FRAME_MAX], got[ETH_FRAME_MAX];
    uint32_t len = make_frame(f, G[1].n.mac, &G[0], 60, 3);
    send(&G[0], f, len);                                 /* flooded: b not learnt yet */
    CU_ASSERT_EQUAL(receive(&G[1], got), len);
    uint32_t len2 = make_frame(f2, G[0].n.mac, &G[1], 70, 4);
    send(&G[1], f2, len2);
    CU_ASSERT_EQUAL(receive(&G[0], got), len2);
    CU_ASSERT_EQUAL(NS.sw.learnt, 2);
    /* a's next chain: the old instance takes it and dies before using it. */
    uint32_t len3 = make_frame(f, G[1].n.mac, &G[0], 80, 5);
    offer_tx(&G[0], f, len3);
    virtq_seg_t segs[VNET_MAX_SEGS];
    virtq_chain_t ch;
    virtio_mmio_effect_t eff;
    CU_ASSERT_EQUAL(virtio_mmio_pop(&NS.ports[0].dev.dev, VNET_TRANSMITQ, segs, VNET_MAX_SEGS,
                                    &ch, &eff), VIRTQ_OK);
    const uint16_t tx_used = get16(&G[0], TX_USED + VIRTQ_USED_IDX_OFF);
    const uint16_t a_rx_used = get16(&G[0], RX_USED + VIRTQ_USED_IDX_OFF);

    /* The new instance: both ports set up again, the writes replayed. */
    n_lines = 0;
    server_up(&NS2, true);
    CU_ASSERT_TRUE(NS2.ports[0].resuming && NS2.ports[1].resuming);
    CU_ASSERT_EQUAL(resume(&NS2, 0, 0, 1).label, DS_REFUSED);  /* with a capability */
    CU_ASSERT_TRUE(last_line("port 0: label 0x5253 with 1 capabilities (not an access)"));
    driver_registers(&G[0]);
    driver_registers(&G[1]);
    /* b is resumed first; a frame of b's for a (not resumed) is lost, as
     * on a wire: a's rings are not touched. */
    net_reply_t r = resume(&NS2, 1, 0, 0);
    CU_ASSERT_EQUAL(r.label, DS_OK);
    CU_ASSERT_EQUAL(r.value, QSIZE);                     /* every receive buffer of b's */
    CU_ASSERT_TRUE(last_line("virtio-net net: port 1 (vm b): resumed, 8 chains available"));
    CU_ASSERT_FALSE(NS2.ports[1].resuming);
    send(&G[1], f2, len2);
    CU_ASSERT_EQUAL(NS2.ports[0].dev.rx_dropped, 1);
    CU_ASSERT_EQUAL(get16(&G[0], RX_USED + VIRTQ_USED_IDX_OFF), a_rx_used);
    CU_ASSERT_EQUAL(signalled[0], 0);
    /* a resumed with its line up: its chain the dead instance took is
     * available again and sent now, once; b gets it. */
    r = resume(&NS2, 0, DS_RESUME_IRQ, 0);
    CU_ASSERT_EQUAL(r.label, DS_OK);
    CU_ASSERT_EQUAL(r.value, QSIZE + 1);
    CU_ASSERT_TRUE(last_line("port 0 (vm a): resumed, 9 chains available, 1 frames sent"));
    CU_ASSERT_TRUE(r.level);
    CU_ASSERT_EQUAL(get16(&G[0], TX_USED + VIRTQ_USED_IDX_OFF), (uint16_t)(tx_used + 1));
    CU_ASSERT_EQUAL(NS2.ports[0].dev.tx_frames, 1);
    CU_ASSERT_EQUAL(receive(&G[1], got), len3);
    CU_ASSERT_TRUE(csum_ok(got, len3));
    CU_ASSERT_EQUAL(receive(&G[1], got), 0);
    /* The table is learnt anew: b's lost frame flooded (a unknown), a's
     * forwarded (b learnt from it); unicast goes on both ways. */
    CU_ASSERT_EQUAL(NS2.sw.flooded, 1);
    CU_ASSERT_EQUAL(NS2.sw.forwarded, 1);
    send(&G[1], f2, len2);
    CU_ASSERT_EQUAL(receive(&G[0], got), len2);
    CU_ASSERT_TRUE(csum_ok(got, len2));
    CU_ASSERT_EQUAL(NS2.sw.forwarded, 2);
    CU_ASSERT_EQUAL(NS2.sw.learnt, 2);
    CU_ASSERT_EQUAL(NS2.refused, 1);
    G[0].srv = G[1].srv = NULL;
    teardown();
}

/* The saved port's device compared with @before: unchanged? */
static bool port_unchanged(const net_server_t *ns, unsigned p, const vnet_t *before)
{
    const vnet_t *n = &ns->ports[p].dev;
    return !memcmp(&n->dev, &before->dev, sizeof n->dev) &&
           !memcmp(n->queues, before->queues, sizeof n->queues);
}

static net_reply_t load(net_server_t *ns, unsigned p, const ds_state_t *st)
{
    net_msg_t m = { .badge = NET_BADGE_PORT(p), .label = DS_REQ_LOAD, .state = st };
    return net_serve(ns, &m);
}

/* A record @bad refused by port 0 of the fresh server NS2 with @code and
 * @why logged, its device unchanged. */
static void load_refused(const ds_state_t *bad, unsigned code, const char *why)
{
    static vnet_t before;
    before = NS2.ports[0].dev;
    n_lines = 0;
    net_reply_t r = load(&NS2, 0, bad);
    CU_ASSERT_EQUAL(r.label, DS_REFUSED);
    CU_ASSERT_EQUAL(r.value, code);
    CU_ASSERT_TRUE(last_line("virtio-net net: vm a: device state refused: "));
    CU_ASSERT_TRUE(last_line(why));
    if (!last_line(why))
        fprintf(stderr, "expected refusal \"%s\", got \"%s\"\n", why,
                n_lines ? lines[n_lines - 1] : "");
    CU_ASSERT_TRUE(port_unchanged(&NS2, 0, &before));
}

/* A checkpoint (device-servers/README.md "Checkpoints"): a's port saved
 * (its transport state: Status, InterruptStatus, both queues' progress),
 * held until its VMM's next call (b's frame for it dropped, its rings as
 * exported); loaded into a fresh server's port after the replay, checked
 * field by field: every hostile record refused with its reason and the
 * device unchanged; the restored port then exchanges frames. */
static void test_checkpoint(void)
{
    setup();
    memset(signalled, 0, sizeof signalled);
    server_up(&NS, false);
    for (unsigned i = 0; i < 2; i++)
        driver_init(&G[i]);
    uint8_t f[ETH_FRAME_MAX], got[ETH_FRAME_MAX];
    uint32_t len = make_frame(f, G[1].n.mac, &G[0], 90, 6);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(receive(&G[1], got), len);
    uint32_t len2 = make_frame(f, G[0].n.mac, &G[1], 50, 7);
    send(&G[1], f, len2);                                /* a's line up, not acknowledged */
    CU_ASSERT_TRUE(vnet_irq(&NS.ports[0].dev));

    n_lines = 0;
    net_reply_t r = message(NET_BADGE_PORT(0), DS_REQ_SAVE, 0);
    CU_ASSERT_TRUE(r.label == DS_OK && r.state);
    CU_ASSERT_TRUE(last_line("virtio-net net: vm a: device state saved (status 0xf, receiveq1 "
                             "at used index 1, transmitq1 at used index 1, interrupt pending)"));
    const ds_state_t st = NS.saved;
    CU_ASSERT_EQUAL(st.version, DS_STATE_VERSION);
    CU_ASSERT_EQUAL(st.device_id, VIRTIO_ID_NET);
    CU_ASSERT_EQUAL(st.nqueues, VNET_QUEUES);
    CU_ASSERT_EQUAL(st.interrupt_status, VIRTIO_MMIO_INT_VRING);
    CU_ASSERT_EQUAL(st.q[VNET_RECEIVEQ].used_idx, 1);
    CU_ASSERT_EQUAL(st.q[VNET_RECEIVEQ].last_avail, 1);
    CU_ASSERT_EQUAL(st.q[VNET_TRANSMITQ].used_idx, 1);
    /* Held: b's frame for a is dropped (a's rings stay as exported, no
     * signal), until a's VMM calls again. */
    CU_ASSERT_EQUAL(message(NET_BADGE_PORT(0), DS_REQ_SAVE, 1).label, DS_REFUSED);
    r = message(NET_BADGE_PORT(0), DS_REQ_SAVE, 0);     /* saved again: the same */
    CU_ASSERT_TRUE(r.state && !memcmp(&NS.saved, &st, sizeof st));
    unsigned sig = signalled[0];
    CU_ASSERT_TRUE(wr(&G[0], VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING));
    CU_ASSERT_FALSE(NS.ports[0].held);                   /* its VMM called: the VM runs */
    r = message(NET_BADGE_PORT(0), DS_REQ_SAVE, 0);
    CU_ASSERT_EQUAL(NS.saved.interrupt_status, 0);
    send(&G[1], f, len2);
    CU_ASSERT_EQUAL(NS.ports[0].dev.rx_dropped, 1);
    CU_ASSERT_EQUAL(get16(&G[0], RX_USED + VIRTQ_USED_IDX_OFF), 1);
    CU_ASSERT_EQUAL(signalled[0], sig);

    /* The restore: a fresh server, a's writes replayed, the record loaded
     * (the guest RAM is the image's: its used rings as saved). */
    server_up(&NS2, false);
    driver_registers(&G[0]);
    driver_registers(&G[1]);
    /* Hostile records: each refused with its reason, nothing changed
     * (ds_state_cases.c). */
    CU_ASSERT_EQUAL(ds_state_hostile_transport(&st, VIRTIO_ID_BLOCK, load_refused), 14);
    n_lines = 0;
    r = load(&NS2, 0, NULL);                             /* a record of another length */
    CU_ASSERT_TRUE(r.label == DS_REFUSED && r.value == DS_STATE_E_VERSION);
    net_msg_t early = { .badge = NET_BADGE_PORT(0), .label = DS_REQ_LOAD, .state = &st };
    static net_server_t NS3;
    static const char *const one[] = { "a" };
    net_server_init(&NS3, "net", 1, one);
    NS3.emit = emit;
    CU_ASSERT_EQUAL(net_serve(&NS3, &early).label, DS_REFUSED);   /* before its setup */

    r = load(&NS2, 0, &st);
    CU_ASSERT_EQUAL(r.label, DS_OK);
    CU_ASSERT_TRUE(r.level);                             /* the pending interrupt */
    CU_ASSERT_TRUE(last_line("virtio-net net: vm a: device state restored from the image (status "
                             "0xf, receiveq1 at used index 1, transmitq1 at used index 1, "
                             "interrupt pending)"));
    /* b, restored with its own record, and a exchange on. */
    CU_ASSERT_EQUAL(message(NET_BADGE_PORT(1), DS_REQ_SAVE, 0).label, DS_OK);
    ds_state_t st_b = NS.saved;
    CU_ASSERT_EQUAL(load(&NS2, 1, &st_b).label, DS_OK);
    len = make_frame(f, G[1].n.mac, &G[0], 200, 8);
    send(&G[0], f, len);
    CU_ASSERT_EQUAL(receive(&G[1], got), len);
    CU_ASSERT_TRUE(csum_ok(got, len));
    CU_ASSERT_EQUAL(get16(&G[0], TX_USED + VIRTQ_USED_IDX_OFF), 2);
    G[0].srv = G[1].srv = NULL;
    teardown();
}

UNIT_SUITE(devsrv_net_suite)
{
    CU_pSuite s = CU_add_suite("device-servers/net: virtio-net and the switch", NULL, NULL);
    CU_add_test(s, "identity, features, the MAC in the configuration space", test_identity);
    CU_add_test(s, "three guests: broadcast, learnt unicast echo with checksums, 1514 bytes",
                test_exchange);
    CU_add_test(s, "the switch: learning rules, moves, filtering, a bounded table",
                test_switch);
    CU_add_test(s, "hostile frames and buffers refused; only the guilty queue breaks",
                test_hostile);
    CU_add_test(s, "the server: ports by badge, hostile VMM messages refused, signals per rise",
                test_server);
    CU_add_test(s, "a restart: writes replayed, each port resumed from its used rings, a taken "
                "chain sent once, frames for a port not resumed dropped", test_restart);
    CU_add_test(s, "a checkpoint: a port saved and held, loaded into a fresh server, every "
                "hostile record refused with its reason", test_checkpoint);
}
