/*
 * tests/guests/lib/netp.h - the frame protocol the network tests speak over
 * virtio-net (device-servers/net): the test guest tests/guests/virtio_net.c
 * (roles ping, pong, hostile) and Linux's linux/net-test.c (the ping role,
 * against a pong guest). Plain constants: included by freestanding guests
 * and by a hosted (glibc) program alike, with the few helpers both sides
need to write and read a frame (no library calls).
 *
 * A frame: the Ethernet header (IEEE 802.3: destination, source, type
 * NETP_ETHERTYPE), then NETP_HDR bytes: kind, role, sequence number (le16),
 * payload length (le16), the payload's Internet checksum (le16, RFC 1071),
 * then the payload.
 */
#ifndef NESTOR_TESTS_NETP_H
#define NESTOR_TESTS_NETP_H

#include <stdint.h>

#define NETP_ETHERTYPE    0x88B5u     /* IEEE 802 local experimental ethertype 1 */
#define NETP_ETH_HDR      14u         /* IEEE 802.3: destination, source, type */
#define NETP_FRAME_MAX    1514u       /* the largest frame without its FCS (MTU 1500) */
#define NETP_HDR          8u          /* kind, role, seq (le16), len (le16), csum (le16) */
#define NETP_PAYLOAD_MIN  46u         /* the first PING's payload */
#define NETP_PAYLOAD_MAX  (NETP_FRAME_MAX - NETP_ETH_HDR - NETP_HDR)
#define NETP_ROUNDS       20          /* PINGs ping sends, pong echoes */

/* Kinds. */
#define NETP_HELLO 1                  /* ping's broadcast: who is there */
#define NETP_ACK   2                  /* the answer to a HELLO, unicast to its sender */
#define NETP_PING  3                  /* ping -> pong, a checked payload */
#define NETP_PONG  4                  /* pong -> ping, the PING's payload echoed */
#define NETP_DONE  5                  /* hostile -> ping: its device serves again */
#define NETP_BYE   6                  /* ping's broadcast: the end */

/* Roles. */
#define NETP_ROLE_PING    1
#define NETP_ROLE_PONG    2
#define NETP_ROLE_HOSTILE 3

#define NETP_MAC_LEN      6u

/* Where our header's fields lie, after the Ethernet header. */
#define NETP_OFF_KIND     0
#define NETP_OFF_ROLE     1
#define NETP_OFF_SEQ      2
#define NETP_OFF_LEN      4
#define NETP_OFF_CSUM     6

static inline uint16_t netp_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline void netp_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* RFC 1071: the 16-bit one's complement of the one's complement sum of
 * the data taken as big-endian 16-bit words (an odd last byte padded with
 * a zero byte). */
static inline uint16_t netp_checksum(const uint8_t *p, uint32_t len)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A whole frame at @f (NETP_ETH_HDR + NETP_HDR + @len bytes): @dst, @src,
 * the ethertype, our header with the payload's checksum, @len bytes of
 * @payload (which must not overlap @f). */
static inline void netp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t kind,
                              uint8_t role, uint16_t seq, const uint8_t *payload, uint16_t len)
{
    for (unsigned i = 0; i < NETP_MAC_LEN; i++) {
        f[i] = dst[i];
        f[NETP_MAC_LEN + i] = src[i];
    }
    f[2 * NETP_MAC_LEN] = (uint8_t)(NETP_ETHERTYPE >> 8);
    f[2 * NETP_MAC_LEN + 1] = (uint8_t)NETP_ETHERTYPE;
    uint8_t *h = f + NETP_ETH_HDR;
    h[NETP_OFF_KIND] = kind;
    h[NETP_OFF_ROLE] = role;
    netp_put16(h + NETP_OFF_SEQ, seq);
    netp_put16(h + NETP_OFF_LEN, len);
    for (uint16_t i = 0; i < len; i++)
        h[NETP_HDR + i] = payload[i];
    netp_put16(h + NETP_OFF_CSUM, netp_checksum(h + NETP_HDR, len));
}

#endif
