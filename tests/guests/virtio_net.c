/*
 * tests/guests/virtio_net.c - a minimal virtio-mmio network driver of our
 * own (Virtio 1.2 3.1.1, 4.2.3 over MMIO, 5.1 network device) for the
 * VM's virtio device 0, served by the network server (device-servers/net)
 * whose switch joins three VMs (tests/configs/virtio-net.dts). One image,
 * three roles by the VM's command line:
 *
 *   ping    broadcasts HELLO until both others answered (unicast ACKs to
 *           its MAC), then 20 rounds of PING to 'pong' (payloads of 46 to
 *           1500 bytes with an RFC 1071 checksum), each echoed back and
 *           checked byte for byte; waits for 'hostile's DONE, then
 *           broadcasts BYE.
 *   pong    answers the HELLO, echoes every PING as a PONG (its checksum
 *           checked first), ends at BYE: 20 PINGs in all; with 'serve' on
 *           its command line (stack-configs/linux.dts: linux/net-test run
 *           as often as a person at the Linux shell likes) any number of
 *           sessions, at least one of 20 PINGs, until the BYE.
 *   hostile answers the HELLO, then sends transmit chains the device must
 *           refuse (too short, too long, NEEDS_CSUM, a GSO type, a
 *           device-writable buffer: each used with length 0, nothing
 *           delivered) and a descriptor outside its RAM (the queue breaks:
 *           DEVICE_NEEDS_RESET); resets, comes back and sends DONE to
 *           'ping'. Meanwhile ping and pong keep exchanging. It must hear
 *           none of their unicast frames (the switch learnt both: nothing
 *           is flooded after the HELLOs), only the broadcasts.
 *
 * With 'pair' on their command lines ping and pong play without hostile
 * (ping waits for no DONE). With 'retry' (tests/configs/virtio-net-restart.dts:
 * the network server crashes midway and is restarted) the network may lose
 * frames, as a real one may: ping waits for each PONG at most RETRY_EVERY
 * TSC ticks and sends the PING again (its sequence number unchanged),
 * ignoring a late PONG of an earlier round; pong echoes a repeated PING
 * again but counts each sequence number once; ping sends the BYE until
 * pong acknowledges it. Both wake from HLT at the PIT's ticks (IRQ 0,
 * RETRY_HZ) to look at the clock. With 'late' pong may come up after
 * ping's HELLO (tests/configs/checkpoint-net.dts: ping is restored from a
 * checkpoint into a second boot, pong starts fresh there): it learns
 * ping from its first PING and checks only that each PING it got was
 * echoed. Ping prints a digest (calc_rule.h's FNV-1a) of every echoed
 * payload it accepted, in round order: the same in every run that gets
 * each PONG intact, whatever was lost and sent again on the way.
 *
 * A frame: Ethernet header (destination, source, type 0x88B5, IEEE 802's
 * local experimental type), then kind, role, sequence number, payload
 * length and the payload's Internet checksum (RFC 1071), then the
 * payload. Every frame a guest gets is checked (type, length, checksum,
 * addressed to it or broadcast); one that is not counts as a failure.
 */
#include "calc_rule.h"
#include "lib/guest.h"
#include "lib/netp.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <stddef.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define DEV              0
#define RXQ              0                 /* 5.1.2: receiveq1 */
#define TXQ              1                 /* transmitq1 */
#define QSIZE            GUEST_VQ_SIZE
#define F_MAC            5                 /* 5.1.3 VIRTIO_NET_F_MAC */
#define CFG_MAC          0x100u            /* 4.2.2: config space; 5.1.4 mac[6] first */
#define NET_HDR          12u               /* 5.1.6 struct virtio_net_hdr (VERSION_1) */
#define HDR_F_NEEDS_CSUM 1u
#define HDR_GSO_TCPV4    1u
#define ETH_ALEN         6u
#define ETH_HDR          NETP_ETH_HDR
#define ETH_MAX          NETP_FRAME_MAX
#define ETH_TYPE         NETP_ETHERTYPE
#define BUF_SIZE         (NET_HDR + ETH_MAX)
#define VEC_PIC          0x20
#define OUTSIDE_RAM      0x7FFF0000u

/* Our header after the Ethernet one (lib/netp.h, shared with linux/net-test.c). */
#define K_HELLO NETP_HELLO
#define K_ACK   NETP_ACK
#define K_PING  NETP_PING
#define K_PONG  NETP_PONG
#define K_DONE  NETP_DONE
#define K_BYE   NETP_BYE
#define MSG_HDR NETP_HDR
#define PAYLOAD_MAX NETP_PAYLOAD_MAX
#define ROUNDS  NETP_ROUNDS
#define HELLO_EVERY 2000000ull             /* TSC ticks between HELLOs (Bochs: instructions) */
#define HELLO_MAX   400                    /* HELLOs before giving up */
#define RETRY_EVERY 30000000ull            /* 'retry': TSC ticks before a frame is sent again */
#define RETRY_MAX   20                     /* ... and at most this often */
#define RETRY_HZ    100                    /* 'retry': the PIT's rate, to wake from HLT */
#define BYE_ACK_SEQ 0xB7Eu                 /* 'retry': pong's ACK of the BYE */
/* The PIT (Intel 8254: counter 0, mode 2, LSB then MSB; its input clock). */
#define PIT_CH0     0x40
#define PIT_CMD     0x43
#define PIT_RATE_GEN 0x34
#define PIT_HZ      1193182u

enum { R_PING = NETP_ROLE_PING, R_PONG = NETP_ROLE_PONG, R_HOSTILE = NETP_ROLE_HOSTILE };

static volatile uint32_t *const regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t rxq, txq;
static guest_vq_t *const vqs[2] = { &rxq, &txq };
static uint8_t rxbuf[QSIZE][BUF_SIZE] __attribute__((aligned(16)));
static uint8_t txbuf[BUF_SIZE] __attribute__((aligned(16)));
static uint8_t mac[ETH_ALEN], peer_pong[ETH_ALEN], peer_hostile[ETH_ALEN], peer_ping[ETH_ALEN];
static const uint8_t bcast[ETH_ALEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
static uint16_t rx_seen, tx_next, tx_seen;
static unsigned role, bad_frames, broadcasts;
static bool retry, pair, late;             /* 'retry', 'pair', 'late' (above) */
static unsigned resent, stale, repeated;   /* 'retry': frames sent again, late or repeated ones */
static int held = -1;                      /* the receive buffer the caller reads */
static const char *me;

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }
static bool same_mac(const uint8_t *a, const uint8_t *b) { return !__builtin_memcmp(a, b, ETH_ALEN); }
static uint16_t le16(const uint8_t *p) { return netp_get16(p); }

static uint8_t pattern(uint16_t seq, uint32_t i)
{
    uint32_t x = seq * 0x9E3779B1u ^ i * 0x85EBCA77u;
    x ^= x >> 13;
    return (uint8_t)(x * 0x2C1B3C6Du >> 24);
}

/* The device's interrupt (used buffers): acknowledged, ended at the PIC;
 * the main loop reads the rings. */
static void on_device(guest_frame_t *f)
{
    (void)f;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    outb(GUEST_PIC1_CMD, GUEST_PIC_EOI);
}

/* 'retry': the PIT's tick only wakes us from HLT. */
static void on_pit(guest_frame_t *f)
{
    (void)f;
    outb(GUEST_PIC1_CMD, GUEST_PIC_EOI);
}

/* Receive buffer @i to the device (one device-writable descriptor). */
static void post_rx(unsigned i)
{
    rxq.desc[i] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)rxbuf[i], .len = BUF_SIZE,
                                  .flags = VIRTQ_DESC_F_WRITE };
    rxq.avail.ring[rxq.avail.idx % QSIZE] = (uint16_t)i;
    barrier();
    rxq.avail.idx++;
}

/* 3.1.1 with both queues, every receive buffer posted and kicked. */
static bool bring_up(void)
{
    rx_seen = tx_next = tx_seen = 0;
    held = -1;
    if (!guest_virtio_init_queues(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) |
                                            VIRTIO_FEATURE(F_MAC), vqs, 2))
        return false;
    for (unsigned i = 0; i < QSIZE; i++)
        post_rx(i);
    barrier();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
    return true;
}

/* Send the transmit chain at descriptor 0; the device serves it during
 * the kick. True if it came back used (length 0: nothing written). */
static bool kick_tx(void)
{
    uint32_t id, len;
    guest_virtq_offer(regs, &txq, TXQ, 0, &tx_next, true);
    return guest_virtq_one_used(&txq, &tx_seen, &id, &len) && id == 0 && len == 0;
}

/* A frame of @kind to @dst with @len payload bytes from @payload. */
static bool send(const uint8_t *dst, uint8_t kind, uint16_t seq, const uint8_t *payload,
                 uint16_t len)
{
    uint8_t *b = txbuf;
    __builtin_memset(b, 0, NET_HDR);                    /* 5.1.6.2: no offload, GSO_NONE */
    netp_frame(b + NET_HDR, dst, mac, kind, (uint8_t)role, seq, payload, len);
    txq.desc[0] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)b,
                                  .len = NET_HDR + ETH_HDR + MSG_HDR + len };
    return kick_tx();
}

typedef struct {
    const uint8_t *src;
    uint8_t kind, role;
    uint16_t seq, len;
    const uint8_t *payload;
    bool broadcast;
} msg_t;

/* The next received frame into @m, checked; false if none is there. A
 * frame that breaks a rule counts in bad_frames (and is skipped). The
 * buffer goes back to the device at the next call. */
static bool poll_rx(msg_t *m)
{
    if (held >= 0) {
        post_rx((unsigned)held);
        barrier();
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
        held = -1;
    }
    for (;;) {
        barrier();
        if (*(volatile uint16_t *)&rxq.used.idx == rx_seen)
            return false;
        uint32_t id = rxq.used.ring[rx_seen % QSIZE].id;
        uint32_t len = rxq.used.ring[rx_seen % QSIZE].len;
        rx_seen++;
        if (id >= QSIZE) {
            bad_frames++;
            continue;
        }
        held = (int)id;
        const uint8_t *b = rxbuf[id];
        const uint8_t *e = b + NET_HDR, *h = e + ETH_HDR;
        /* 5.1.6.4: flags 0, gso NONE, num_buffers 1 without MRG_RXBUF. */
        bool ok = len >= NET_HDR + ETH_HDR + MSG_HDR && len <= BUF_SIZE && b[0] == 0 &&
                  b[1] == 0 && le16(b + 10) == 1 && e[12] == (ETH_TYPE >> 8) &&
                  e[13] == (ETH_TYPE & 0xFF);
        if (ok) {
            *m = (msg_t){ .src = e + ETH_ALEN, .kind = h[0], .role = h[1], .seq = le16(h + 2),
                          .len = le16(h + 4), .payload = h + MSG_HDR,
                          .broadcast = same_mac(e, bcast) };
            ok = NET_HDR + ETH_HDR + MSG_HDR + m->len == len &&
                 netp_checksum(m->payload, m->len) == le16(h + 6) &&
                 (m->broadcast || same_mac(e, mac)) && !same_mac(m->src, mac);
        }
        if (!ok) {
            bad_frames++;
            guest_printf("virtio_net %s: a frame that breaks the rules (%u bytes)\n", me, len);
            post_rx(id);
            held = -1;
            continue;
        }
        broadcasts += m->broadcast;
        return true;
    }
}

/* Wait halted for the next frame (the device's interrupt wakes us). */
static void wait_rx(msg_t *m)
{
    while (!poll_rx(m))
        __asm__ volatile("sti; hlt; cli");
}

/* The same until TSC @until ('retry': the PIT wakes us): false if none
 * came by then. */
static bool wait_rx_until(msg_t *m, uint64_t until)
{
    while (!poll_rx(m)) {
        if (rdtsc() >= until)
            return false;
        __asm__ volatile("sti; hlt; cli");
    }
    return true;
}

static void print_mac(const char *what, const uint8_t *a)
{
    guest_printf("virtio_net %s: %s %02x:%02x:%02x:%02x:%02x:%02x\n", me, what, a[0], a[1], a[2],
                 a[3], a[4], a[5]);
}

static void run_ping(void)
{
    /* Discovery: HELLO broadcasts until both others answered. */
    bool have_pong = false, have_hostile = false, acks_unicast = true;
    unsigned hellos = 0;
    msg_t m;
    have_hostile = pair;                    /* 'pair': no hostile to wait for */
    while ((!have_pong || !have_hostile) && hellos < HELLO_MAX) {
        send(bcast, K_HELLO, (uint16_t)hellos++, NULL, 0);
        uint64_t until = rdtsc() + HELLO_EVERY;
        while (rdtsc() < until && (!have_pong || !have_hostile)) {
            if (!poll_rx(&m))
                continue;
            if (m.kind != K_ACK) {
                bad_frames++;
                continue;
            }
            acks_unicast &= !m.broadcast;
            if (m.role == R_PONG && !have_pong) {
                have_pong = true;
                __builtin_memcpy(peer_pong, m.src, ETH_ALEN);
            } else if (m.role == R_HOSTILE && !have_hostile) {
                have_hostile = true;
                __builtin_memcpy(peer_hostile, m.src, ETH_ALEN);
            }
        }
    }
    CHECK(have_pong && have_hostile, "the HELLO broadcast heard by both others: an ACK from each");
    CHECK(acks_unicast, "the ACKs came unicast to our MAC");
    print_mac("pong is", peer_pong);
    if (!pair)
        print_mac("hostile is", peer_hostile);
    if (!have_pong)
        return;

    /* Ping-pong: payloads of 46 bytes up to the largest, each echoed. */
    static uint8_t payload[PAYLOAD_MAX];
    unsigned echoed = 0, done = 0;
    uint32_t digest = CALC_FNV_OFFSET;
    uint64_t t0 = rdtsc(), t_send = 0;
    for (uint16_t r = 0; r < ROUNDS; r++) {
        uint16_t len = r == ROUNDS - 1 ? PAYLOAD_MAX : (uint16_t)(NETP_PAYLOAD_MIN + r * 73);
        for (uint32_t i = 0; i < len; i++)
            payload[i] = pattern(r, i);
        uint64_t k0 = rdtsc();
        bool sent = send(peer_pong, K_PING, r, payload, len);
        t_send += rdtsc() - k0;
        if (!sent) {
            CHECK(false, "a PING sent");
            break;
        }
        unsigned tries = 0;
        uint64_t until = rdtsc() + RETRY_EVERY;
        for (;;) {
            if (!retry) {
                wait_rx(&m);
            } else if (!wait_rx_until(&m, until)) {
                /* 'retry': the PING or its PONG was lost: the PING again. */
                if (++tries > RETRY_MAX)
                    break;
                resent++;
                send(peer_pong, K_PING, r, payload, len);
                until = rdtsc() + RETRY_EVERY;
                continue;
            }
            if (m.kind == K_DONE && m.role == R_HOSTILE && same_mac(m.src, peer_hostile))
                done++;
            else if (retry && m.kind == K_PONG && m.seq != r)
                stale++;                    /* the echo of a PING sent again, late */
            else if (m.kind != K_ACK)       /* ACKs to HELLOs sent again: no news */
                break;
        }
        if (tries > RETRY_MAX) {
            CHECK(false, "a PONG within the retries");
            break;
        }
        bool intact = m.kind == K_PONG && m.role == R_PONG && m.seq == r && m.len == len &&
                      same_mac(m.src, peer_pong) && !m.broadcast &&
                      !__builtin_memcmp(m.payload, payload, len);
        echoed += intact;
        /* The echo as received (its sequence number, then its payload). */
        for (uint32_t i = 0; intact && i < 2u + len; i++)
            digest = (digest ^ (i < 2 ? (uint8_t)(m.seq >> (8 * i)) : m.payload[i - 2])) *
                     CALC_FNV_PRIME;
    }
    uint64_t t = rdtsc() - t0;
    CHECK(echoed == ROUNDS, "20 PINGs (frames of 68 to 1514 bytes) echoed, payload and checksum "
          "intact");
    /* Timed (Bochs's TSC counts instructions, the whole machine's): for
     * BENCHMARKS.md, not judged. A round trip includes the time the CPU
     * waits in a halted guest for the next host tick. */
    unsigned fpm100 = (unsigned)(2ull * echoed * 100000000ull / (t ? t : 1));
    guest_printf("virtio_net ping: %u round trips (%u frames) in %u instructions: %u.%02u frames "
                 "per million instructions\n", echoed, 2 * echoed, (unsigned)t, fpm100 / 100,
                 fpm100 % 100);
    guest_printf("virtio_net ping: a PING's kick (the frame through the switch into pong's "
                 "ring, its interrupt raised) %u instructions on average\n",
                 (unsigned)(t_send / ROUNDS));
    /* The same as figures for ./nestor bench virtio (tools/nestor/cli.py). */
    guest_printf("virtio_net_frames_per_million_instructions{frames=68-1514} %u.%02u\n",
                 fpm100 / 100, fpm100 % 100);
    guest_printf("virtio_net_kick_instructions{frames=68-1514} %u\n", (unsigned)(t_send / ROUNDS));
    guest_printf("virtio_net ping: digest 0x%08x over %u echoed payloads\n", digest, echoed);
    if (retry)
        guest_printf("virtio_net ping: %u PINGs sent again, %u late PONGs ignored\n", resent,
                     stale);
    /* 'hostile' comes back after its reset and says so. */
    while (!done && !pair) {
        wait_rx(&m);
        if (m.kind == K_DONE && m.role == R_HOSTILE && same_mac(m.src, peer_hostile) &&
            !m.broadcast)
            done++;
        else if (m.kind != K_ACK)
            bad_frames++;
    }
    if (!pair)
        CHECK(done == 1, "DONE from hostile: its device serves again after the reset");
    CHECK(send(bcast, K_BYE, 0, NULL, 0), "BYE broadcast");
    if (!retry)
        return;
    /* 'retry': the BYE until pong says it heard it. */
    bool acked = false;
    for (unsigned tries = 0; !acked && tries < RETRY_MAX; tries++) {
        uint64_t until = rdtsc() + RETRY_EVERY;
        while (!acked && wait_rx_until(&m, until))
            acked = m.kind == K_ACK && m.role == R_PONG && m.seq == BYE_ACK_SEQ;
        if (!acked)
            send(bcast, K_BYE, 0, NULL, 0);
    }
    CHECK(acked, "the BYE acknowledged by pong");
}

/* Answer the first HELLO (and any repeated one) with a unicast ACK. */
static void answer_hello(const msg_t *m)
{
    __builtin_memcpy(peer_ping, m->src, ETH_ALEN);
    send(peer_ping, K_ACK, m->seq, NULL, 0);
}

static void run_pong(void)
{
    msg_t m;
    unsigned hello = 0, pings = 0, pongs_sent = 0;
    uint32_t last_seq = ~0u;
    for (;;) {
        wait_rx(&m);
        if (m.kind == K_HELLO && m.broadcast && m.role == R_PING) {
            hello++;
            answer_hello(&m);
        } else if (m.kind == K_PING && !m.broadcast && late && !hello && !pings) {
            /* 'late': ping's HELLO came before we did; its PING says who it is. */
            __builtin_memcpy(peer_ping, m.src, ETH_ALEN);
            pings++;
            last_seq = m.seq;
            pongs_sent += send(peer_ping, K_PONG, m.seq, m.payload, m.len);
        } else if (m.kind == K_PING && !m.broadcast && same_mac(m.src, peer_ping)) {
            /* 'retry': a PING sent again (its PONG lost) is echoed again,
             * counted once. */
            bool again = retry && m.seq == last_seq;
            repeated += again;
            pings += !again;
            last_seq = m.seq;
            /* the payload stays in its held buffer while we send */
            pongs_sent += send(peer_ping, K_PONG, m.seq, m.payload, m.len) && !again;
        } else if (m.kind == K_BYE && m.broadcast) {
            if (retry)
                send(peer_ping, K_ACK, BYE_ACK_SEQ, NULL, 0);
            break;
        } else {
            bad_frames++;
        }
    }
    if (late)
        CHECK(pings >= 1 && pongs_sent == pings, "PINGs (from their first, HELLO or not), "
              "checksums right, each echoed");
    else
        CHECK(hello >= 1, "the HELLO broadcast came, answered unicast");
    if (late)
        ;
    else if (guest_cmdline_has("serve"))
        CHECK(pings >= ROUNDS && pongs_sent == pings,
              "at least 20 PINGs (sessions until the BYE), checksums right, each echoed");
    else
        CHECK(pings == ROUNDS && pongs_sent == ROUNDS, "20 PINGs, checksums right, each echoed");
    guest_printf("virtio_net pong: %u PINGs echoed\n", pings);
    if (retry)
        guest_printf("virtio_net pong: %u PINGs came again\n", repeated);
}

/* Transmit chains the device must refuse: used with length 0, nothing
 * delivered (vnet.c logs each). */
static void hostile_chains(void)
{
    uint8_t *b = txbuf;
    __builtin_memset(b, 0, BUF_SIZE);
    __builtin_memcpy(b + NET_HDR, peer_ping, ETH_ALEN);
    __builtin_memcpy(b + NET_HDR + ETH_ALEN, mac, ETH_ALEN);
    txq.desc[0] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)b, .len = NET_HDR + 10 };
    CHECK(kick_tx(), "a chain shorter than the headers: used, length 0");
    txq.desc[0].len = NET_HDR + ETH_MAX + 1;
    CHECK(kick_tx(), "a frame of 1515 bytes: used, length 0");
    txq.desc[0].len = NET_HDR + 60;
    b[0] = HDR_F_NEEDS_CSUM;
    CHECK(kick_tx(), "NEEDS_CSUM without VIRTIO_NET_F_CSUM: used, length 0");
    b[0] = 0;
    b[1] = HDR_GSO_TCPV4;
    CHECK(kick_tx(), "a GSO type without a GSO feature: used, length 0");
    b[1] = 0;
    txq.desc[0].flags = VIRTQ_DESC_F_WRITE;
    CHECK(kick_tx(), "a device-writable buffer in a transmit chain: used, length 0");
    txq.desc[0].flags = 0;
    /* A buffer outside RAM: the queue breaks (2.1.2), not used. */
    txq.desc[0].addr = OUTSIDE_RAM;
    guest_virtq_offer(regs, &txq, TXQ, 0, &tx_next, true);
    CHECK(txq.used.idx == tx_seen && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET),
          "a buffer outside RAM: not used, DEVICE_NEEDS_RESET");
}

static void run_hostile(void)
{
    msg_t m;
    wait_rx(&m);
    CHECK(m.kind == K_HELLO && m.broadcast && m.role == R_PING, "the HELLO broadcast came");
    answer_hello(&m);
    hostile_chains();
    CHECK(bring_up(), "the device comes back after a reset");
    CHECK(send(peer_ping, K_DONE, 0, NULL, 0), "DONE sent to ping");
    unsigned hellos = 1, others = 0;
    for (;;) {
        wait_rx(&m);
        if (m.kind == K_BYE && m.broadcast)
            break;
        if (m.kind == K_HELLO && m.broadcast)
            hellos++;
        else
            others++;
    }
    CHECK(others == 0, "none of ping and pong's unicast frames flooded to us (learnt)");
    guest_printf("virtio_net hostile: %u HELLOs and the BYE heard, %u other frames\n", hellos,
                 others);
}

int guest_main(void)
{
    role = guest_cmdline_has("ping") ? R_PING : guest_cmdline_has("pong") ? R_PONG : R_HOSTILE;
    me = role == R_PING ? "ping" : role == R_PONG ? "pong" : "hostile";
    retry = guest_cmdline_has("retry");
    pair = guest_cmdline_has("pair");
    late = guest_cmdline_has("late");
    guest_desc_init();
    guest_set_handler(VEC_PIC + vm_virtio_irq(DEV), on_device);
    guest_pic_init(VEC_PIC, (uint8_t)~((1u << vm_virtio_irq(DEV)) | (1u << 2) | (retry ? 1u : 0)),
                   0xFF);
    if (retry) {
        const uint32_t divisor = PIT_HZ / RETRY_HZ;
        guest_set_handler(VEC_PIC, on_pit);
        outb(PIT_CMD, PIT_RATE_GEN);
        outb(PIT_CH0, (uint8_t)divisor);
        outb(PIT_CH0, (uint8_t)(divisor >> 8));
    }

    CHECK(rd(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC, "virtio-mmio magic \"virt\"");
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_NET, "device id 1: a network device");
    if (!bring_up()) {
        CHECK(false, "driver initialization: VERSION_1 and MAC, both queues live");
        return guest_report("virtio_net");
    }
    for (unsigned i = 0; i < ETH_ALEN; i++)
        mac[i] = ((volatile uint8_t *)regs)[CFG_MAC + i];
    CHECK((mac[0] & 3) == 2, "a locally administered unicast MAC");
    print_mac("MAC", mac);
    if (role == R_PING)
        run_ping();
    else if (role == R_PONG)
        run_pong();
    else
        run_hostile();
    CHECK(bad_frames == 0, "every frame received well formed and addressed to us or to all");
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_net");
}
