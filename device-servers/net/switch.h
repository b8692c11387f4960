/*
 * device-servers/net/switch.h - a learning Ethernet switch between the
 * ports of the network server (IEEE 802.1D's forwarding process, without
 * spanning tree or ageing by time): a frame's source address is learnt
 * against the port it came in on; a frame to a group address (broadcast,
 * multicast: the destination's first octet's bit 0) or to an address not
 * learnt yet is flooded to every other port, one to a learnt address goes
 * to its port only, and one whose destination sits on the port it came
 * from is filtered. A group or all-zero source address is never learnt
 * (a hostile guest cannot claim broadcast). The table is bounded: when
 * full, the entry used least recently goes.
 */
#ifndef SWITCH_H
#define SWITCH_H
#include <stdbool.h>
#include <stdint.h>

#define SW_MAX_PORTS   8
#define SW_TABLE_SIZE  64
#define SW_MAC_LEN     6

typedef void (*sw_deliver_t)(void *ctx, unsigned port, const uint8_t *frame, uint32_t len);

typedef struct {
    uint8_t mac[SW_MAC_LEN];
    uint8_t port;
    bool valid;
    uint64_t used;                  /* sw_t.clock when last seen or used */
} sw_entry_t;

typedef struct {
    unsigned nports;
    sw_deliver_t deliver;
    void *ctx;
    sw_entry_t table[SW_TABLE_SIZE];
    uint64_t clock;
    uint64_t forwarded, flooded, filtered, learnt, moved;
} sw_t;

void sw_init(sw_t *s, unsigned nports, sw_deliver_t deliver, void *ctx);

/* A frame of at least the 14-byte header (the caller checked) came in on
 * @port (< nports): learn, then deliver to the ports it goes to. */
void sw_input(sw_t *s, unsigned port, const uint8_t *frame, uint32_t len);

/* The port @mac was learnt on, or -1. */
int sw_lookup(const sw_t *s, const uint8_t *mac);

#endif
