/* device-servers/net/switch.c - the learning switch (switch.h). */
#include "switch.h"
#include <string.h>

#define ETH_DST_OFF   0
#define ETH_SRC_OFF   6
#define MAC_GROUP_BIT 0x01u      /* IEEE 802: I/G bit, first octet's bit 0 */

void sw_init(sw_t *s, unsigned nports, sw_deliver_t deliver, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->nports = nports <= SW_MAX_PORTS ? nports : SW_MAX_PORTS;
    s->deliver = deliver;
    s->ctx = ctx;
}

static sw_entry_t *find(sw_t *s, const uint8_t *mac)
{
    for (unsigned i = 0; i < SW_TABLE_SIZE; i++)
        if (s->table[i].valid && memcmp(s->table[i].mac, mac, SW_MAC_LEN) == 0)
            return &s->table[i];
    return NULL;
}

int sw_lookup(const sw_t *s, const uint8_t *mac)
{
    sw_entry_t *e = find((sw_t *)s, mac);
    return e ? e->port : -1;
}

static bool learnable(const uint8_t *mac)
{
    static const uint8_t zero[SW_MAC_LEN];
    return !(mac[0] & MAC_GROUP_BIT) && memcmp(mac, zero, SW_MAC_LEN) != 0;
}

static void learn(sw_t *s, const uint8_t *mac, unsigned port)
{
    sw_entry_t *e = find(s, mac);
    if (e) {
        s->moved += e->port != port;
    } else {
        e = &s->table[0];           /* a free entry, else the least recently used */
        for (unsigned i = 0; i < SW_TABLE_SIZE && e->valid; i++)
            if (!s->table[i].valid || s->table[i].used < e->used)
                e = &s->table[i];
        memcpy(e->mac, mac, SW_MAC_LEN);
        e->valid = true;
        s->learnt++;
    }
    e->port = (uint8_t)port;
    e->used = s->clock;
}

void sw_input(sw_t *s, unsigned port, const uint8_t *frame, uint32_t len)
{
    if (port >= s->nports)
        return;
    s->clock++;
    const uint8_t *dst = frame + ETH_DST_OFF, *src = frame + ETH_SRC_OFF;
    if (learnable(src))
        learn(s, src, port);
    sw_entry_t *e = (dst[0] & MAC_GROUP_BIT) ? NULL : find(s, dst);
    if (e) {
        e->used = s->clock;
        if (e->port == port) {
            s->filtered++;
            return;
        }
        s->forwarded++;
        s->deliver(s->ctx, e->port, frame, len);
        return;
    }
    s->flooded++;
    for (unsigned p = 0; p < s->nports; p++)
        if (p != port)
            s->deliver(s->ctx, p, frame, len);
}
