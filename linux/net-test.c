/*
 * linux/net-test.c - Linux's virtio-net (Debian's virtio_net module on the
 * VMM's virtio-mmio window, served by the network server device-servers/net)
 * against a test guest in another VM: this program plays the 'ping' role of
 * the frame protocol of tests/guests/virtio_net.c, whose 'pong' role runs in
 * the other VM (stack-configs/linux.dts: 'pong serve', which serves any
 * number of sessions until a BYE).
 *
 *   net-test [IFACE]         a session (1. and 2. below), pong left serving:
 *                            run it again as often as you like
 *   net-test --bye [IFACE]   3. below only: the BYE that ends pong
 *                            (linux/init sends it before the VM ends)
 * IFACE defaults to eth0.
 *
 * An AF_PACKET raw socket on the interface (packet(7)) bound to the
 * protocol's ethertype sends and receives whole Ethernet frames:
 *   1. HELLO broadcast (every HELLO_EVERY_MS) until pong answers with a
 *      unicast ACK: its MAC is learnt from that frame;
 *   2. ROUNDS PINGs to pong with payloads of 46 to 1492 bytes (frames of 68
 *      to 1514 bytes), each payload carrying its RFC 1071 checksum; each
 *      must come back as a PONG of the same sequence number, length,
 *      checksum and bytes (compared byte for byte), unicast to our MAC;
 *   3. (--bye) a BYE broadcast, which ends pong.
 * Every frame received is checked (ethertype, addresses, length, checksum);
 * one that breaks a rule is a failure. Prints "net-test: N passed, N
 * failed"; exit status 0 when all passed.
 *
 * The frame (tests/guests/virtio_net.c): Ethernet header (IEEE 802.3:
 * destination, source, type NETP_ETHERTYPE, IEEE 802's local experimental
 * ethertype 1), then kind, role, sequence number (le16), payload length
 * (le16), the payload's Internet checksum (le16, RFC 1071), the payload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netp.h"

#define HELLO_EVERY_MS  200
#define HELLO_MAX       300             /* a minute of HELLOs before giving up */
#define ECHO_WAIT_MS    10000           /* for each PONG */
#define ROUNDS          NETP_ROUNDS

static unsigned passed, failed;
static int sock, ifindex;
static uint8_t mac[ETH_ALEN], pong[ETH_ALEN];
static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
        printf("net-test: ok: %s\n", what);
    } else {
        failed++;
        printf("net-test: FAILED: %s\n", what);
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One frame of @kind to @dst: our header, then @len bytes of @payload. */
static int send_frame(const uint8_t *dst, uint8_t kind, uint16_t seq, const uint8_t *payload,
                      uint16_t len)
{
    uint8_t f[NETP_FRAME_MAX];
    netp_frame(f, dst, mac, kind, NETP_ROLE_PING, seq, payload, len);
    size_t n = NETP_ETH_HDR + NETP_HDR + len;
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(NETP_ETHERTYPE),
                              .sll_ifindex = ifindex, .sll_halen = ETH_ALEN };
    memcpy(to.sll_addr, dst, ETH_ALEN);
    ssize_t r = sendto(sock, f, n, 0, (struct sockaddr *)&to, sizeof to);
    if (r != (ssize_t)n) {
        printf("net-test: sendto of %zu bytes: %zd (%s)\n", n, r, r < 0 ? strerror(errno) : "short");
        return 0;
    }
    return 1;
}

typedef struct {
    uint8_t dst[ETH_ALEN], src[ETH_ALEN];
    uint8_t kind, role;
    uint16_t seq, len;
    uint8_t payload[NETP_PAYLOAD_MAX];
} msg_t;

static unsigned bad_frames;

/* The next frame of the protocol within @wait_ms into @m, checked: 1; none
 * in time: 0. A frame that breaks a rule is said, counted and skipped. */
static int recv_frame(msg_t *m, long wait_ms)
{
    long until = now_ms() + wait_ms;
    for (;;) {
        long left = until - now_ms();
        if (left < 0)
            return 0;
        struct pollfd p = { .fd = sock, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        uint8_t f[NETP_FRAME_MAX + 64];
        ssize_t n = recv(sock, f, sizeof f, 0);
        if (n < 0) {
            printf("net-test: recv: %s\n", strerror(errno));
            return 0;
        }
        const char *why = NULL;
        const uint8_t *h = f + NETP_ETH_HDR;
        if (n < NETP_ETH_HDR + NETP_HDR)
            why = "shorter than the headers";
        else if (n > NETP_FRAME_MAX)
            why = "longer than the largest frame";
        else if (f[2 * ETH_ALEN] != (NETP_ETHERTYPE >> 8) ||
                 f[2 * ETH_ALEN + 1] != (NETP_ETHERTYPE & 0xff))
            why = "not the protocol's ethertype";
        else if ((size_t)n != NETP_ETH_HDR + NETP_HDR + netp_get16(h + NETP_OFF_LEN))
            why = "its length is not the header's";
        else if (netp_checksum(h + NETP_HDR, netp_get16(h + NETP_OFF_LEN)) !=
                 netp_get16(h + NETP_OFF_CSUM))
            why = "wrong checksum";
        else if (memcmp(f, mac, ETH_ALEN) && memcmp(f, bcast, ETH_ALEN))
            why = "addressed to another MAC";
        else if (!memcmp(f + ETH_ALEN, mac, ETH_ALEN))
            why = "our own frame";
        if (why) {
            bad_frames++;
            printf("net-test: a frame that breaks the rules (%zd bytes): %s\n", n, why);
            continue;
        }
        memcpy(m->dst, f, ETH_ALEN);
        memcpy(m->src, f + ETH_ALEN, ETH_ALEN);
        m->kind = h[NETP_OFF_KIND];
        m->role = h[NETP_OFF_ROLE];
        m->seq = netp_get16(h + NETP_OFF_SEQ);
        m->len = netp_get16(h + NETP_OFF_LEN);
        memcpy(m->payload, h + NETP_HDR, m->len);
        return 1;
    }
}

/* Round @r's payload: a xorshift32 stream seeded by the round. */
static void fill(uint8_t *p, uint16_t len, unsigned r)
{
    uint32_t x = 0x6e535421u + r * 0x01000193u;
    for (uint16_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)(x >> 11);
    }
}

static void print_mac(const char *what, const uint8_t *a)
{
    printf("net-test: %s %02x:%02x:%02x:%02x:%02x:%02x\n", what, a[0], a[1], a[2], a[3], a[4],
           a[5]);
}

int main(int argc, char **argv)
{
    int bye = argc > 1 && !strcmp(argv[1], "--bye");
    if (argc > 2 + bye || (argc > 1 && argv[1][0] == '-' && !bye)) {
        fprintf(stderr, "usage: net-test [--bye] [IFACE]\n");
        return 2;
    }
    const char *ifname = argc > 1 + bye ? argv[1 + bye] : "eth0";
    setvbuf(stdout, NULL, _IOLBF, 0);
    sock = socket(AF_PACKET, SOCK_RAW, htons(NETP_ETHERTYPE));
    check(sock >= 0, "an AF_PACKET raw socket");
    if (sock < 0) {
        printf("net-test: socket: %s\n", strerror(errno));
        goto out;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    int ok = ioctl(sock, SIOCGIFINDEX, &ifr) == 0;
    ifindex = ifr.ifr_ifindex;
    ok = ok && ioctl(sock, SIOCGIFHWADDR, &ifr) == 0;
    check(ok, "the interface's index and MAC");
    if (!ok)
        goto out;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    print_mac("MAC", mac);
    struct sockaddr_ll me = { .sll_family = AF_PACKET, .sll_protocol = htons(NETP_ETHERTYPE),
                              .sll_ifindex = ifindex };
    check(bind(sock, (struct sockaddr *)&me, sizeof me) == 0, "the socket bound to the interface");
    if (bye) {          /* 3. only: the end of pong */
        check(send_frame(bcast, NETP_BYE, 0, NULL, 0), "BYE broadcast");
        goto out;
    }

    /* 1. Discovery. */
    msg_t m;
    int have_pong = 0, acks_unicast = 1;
    unsigned hellos = 0;
    long t0 = now_ms();
    while (!have_pong && hellos < HELLO_MAX) {
        send_frame(bcast, NETP_HELLO, (uint16_t)hellos++, NULL, 0);
        long until = now_ms() + HELLO_EVERY_MS;
        while (!have_pong && recv_frame(&m, until - now_ms())) {
            if (m.kind != NETP_ACK || m.role != NETP_ROLE_PONG) {
                bad_frames++;
                printf("net-test: unexpected frame kind %u role %u during discovery\n", m.kind,
                       m.role);
                continue;
            }
            acks_unicast &= !memcmp(m.dst, mac, ETH_ALEN);
            memcpy(pong, m.src, ETH_ALEN);
            have_pong = 1;
        }
    }
    printf("net-test: %u HELLO(s) in %ld ms\n", hellos, now_ms() - t0);
    check(have_pong, "the HELLO broadcast answered by pong's ACK");
    check(acks_unicast, "the ACK came unicast to our MAC");
    if (!have_pong)
        goto out;
    print_mac("pong is", pong);

    /* 2. PINGs, each echoed. */
    static uint8_t payload[NETP_PAYLOAD_MAX];
    unsigned echoed = 0;
    t0 = now_ms();
    for (unsigned r = 0; r < ROUNDS; r++) {
        uint16_t len = r == ROUNDS - 1 ? NETP_PAYLOAD_MAX : (uint16_t)(NETP_PAYLOAD_MIN + r * 73);
        fill(payload, len, r);
        if (!send_frame(pong, NETP_PING, (uint16_t)r, payload, len))
            break;
        int got = 0;
        while ((got = recv_frame(&m, ECHO_WAIT_MS)) && m.kind == NETP_ACK)
            ;                           /* ACKs to HELLOs sent again: no news */
        if (!got) {
            printf("net-test: no PONG for PING %u within %d ms\n", r, ECHO_WAIT_MS);
            break;
        }
        int same = m.kind == NETP_PONG && m.role == NETP_ROLE_PONG && m.seq == r &&
                   m.len == len && !memcmp(m.src, pong, ETH_ALEN) &&
                   !memcmp(m.dst, mac, ETH_ALEN) && !memcmp(m.payload, payload, len);
        if (!same)
            printf("net-test: PING %u (%u bytes): got kind %u role %u seq %u, %u bytes, "
                   "payload %s\n", r, len, m.kind, m.role, m.seq, m.len,
                   m.len == len && !memcmp(m.payload, payload, len) ? "same" : "differs");
        echoed += same;
    }
    long t = now_ms() - t0;
    printf("net-test: %u of %u PINGs (frames of %u to %u bytes) echoed in %ld ms\n", echoed,
           ROUNDS, NETP_ETH_HDR + NETP_HDR + NETP_PAYLOAD_MIN, NETP_FRAME_MAX, t);
    check(echoed == ROUNDS, "20 PINGs echoed by pong, byte for byte");

    check(bad_frames == 0, "every frame received well formed, to us or to all");
out:
    printf("net-test: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
