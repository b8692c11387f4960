/*
 * device-servers/net/vnet.c - the virtio network device (Virtio 1.2 5.1)
 * over virtio/'s register file and split queues (vnet.h).
 */
#include "vnet.h"
#include <devsrv.h>
#include <ds_access.h>
#include <fmt.h>
#include <string.h>
#include <virtq.h>

/* 5.1.3: the MAC in the configuration space; transport features virtio/
 * implements. No offload, no MRG_RXBUF: a received frame fits one chain. */
#define VNET_FEATURES (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | \
                       VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX))

static void say(vnet_t *n, const char *what, const char *why)
{
    n->refusals++;
    if (n->logged > VNET_LOG_MAX)
        return;
    char text[192];
    if (n->logged++ == VNET_LOG_MAX)
        fmt_snprintf(text, sizeof text, "virtio-net %s: vm %s: more refusals: no longer logged",
                     n->name, n->vm);
    else
        fmt_snprintf(text, sizeof text, "virtio-net %s: vm %s: %s refused: %s", n->name, n->vm,
                     what, why);
    n->emit(text);
}

/* 5.1.4: mac[0..5] (VIRTIO_NET_F_MAC), then status, max_virtqueue_pairs
 * and mtu, not valid without their features: zeros. */
static bool config_read(void *ctx, uint32_t offset, unsigned size, uint32_t *value)
{
    const vnet_t *n = ctx;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        if (offset + i < VNET_MAC_LEN)
            v |= (uint32_t)n->mac[offset + i] << (8 * i);
    *value = v;
    return true;
}

static const virtio_mmio_ops_t vnet_ops = { .config_read = config_read };

bool vnet_init(vnet_t *n, uint8_t *ram)
{
    n->window[0] = (virtio_ram_window_t){ .gpa = 0, .size = n->ram_bytes, .host = ram };
    n->ram = (virtio_ram_t){ .windows = n->window, .count = n->window[1].paged ? 2 : 1 };
    for (unsigned q = 0; q < VNET_QUEUES; q++)
        n->queues[q].num_max = VNET_QUEUE_SIZE;
    virtio_mmio_init_err_t e = virtio_mmio_init(&n->dev, VIRTIO_ID_NET, DS_VIRTIO_VENDOR,
                                                VNET_FEATURES, n->queues, VNET_QUEUES,
                                                VNET_CONFIG_SIZE, &vnet_ops, n, &n->ram);
    if (e != VIRTIO_MMIO_INIT_OK) {
        char text[128];
        fmt_snprintf(text, sizeof text, "virtio-net %s: device refused: %s", n->name,
                     virtio_mmio_init_strerror(e));
        n->emit(text);
        return false;
    }
    return true;
}

/* virtio_mmio_pop refused a chain of queue @q: logged; true if the queue
 * broke (DEVICE_NEEDS_RESET), else the chain is handed back unused. */
static bool chain_refused(vnet_t *n, unsigned q, virtq_err_t e, const virtq_chain_t *ch,
                          virtio_mmio_effect_t *eff)
{
    char why[128];
    bool fatal = ds_chain_refused(&n->dev, q, e, ch->head, eff, why, sizeof why);
    say(n, q == VNET_TRANSMITQ ? "transmitq1 chain" : "receiveq1 chain", why);
    n->resets_needed += fatal;
    return fatal;
}

/* Copy the readable bytes of a chain (readable segments come first,
 * virtq.h) from byte @skip on into @out (at most @max). */
static uint32_t gather(const virtq_seg_t *segs, unsigned nsegs, uint32_t skip, uint8_t *out,
                       uint32_t max)
{
    uint32_t got = 0;
    for (unsigned s = 0; s < nsegs && !segs[s].writable; s++) {
        for (uint32_t i = 0; i < segs[s].len && got < max; i++) {
            if (skip) {
                skip--;
                continue;
            }
            out[got++] = ((volatile uint8_t *)segs[s].host)[i];
        }
    }
    return got;
}

/* One transmit chain: header, then the frame (5.1.6.2). Why it is not
 * sent, or NULL. */
static const char *transmit_one(vnet_t *n, const virtq_seg_t *segs, const virtq_chain_t *ch,
                                uint32_t *len)
{
    uint8_t hdr[VIRTIO_NET_HDR_SIZE];
    if (ch->writable)
        return "a device-writable buffer in a transmit chain";
    if (ch->readable < VIRTIO_NET_HDR_SIZE + ETH_FRAME_MIN)
        return "shorter than a header and an Ethernet header";
    if (ch->readable > VIRTIO_NET_HDR_SIZE + ETH_FRAME_MAX)
        return "a frame longer than 1514 bytes";
    gather(segs, ch->nsegs, 0, hdr, sizeof hdr);
    /* 5.1.6.2.1: without VIRTIO_NET_F_CSUM no NEEDS_CSUM; without GSO
     * features gso_type NONE. */
    if (hdr[VIRTIO_NET_HDR_FLAGS_OFF] & VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
    if (hdr[VIRTIO_NET_HDR_GSO_OFF] != VIRTIO_NET_HDR_GSO_NONE)
        return "a GSO type without a GSO feature";
    *len = gather(segs, ch->nsegs, VIRTIO_NET_HDR_SIZE, n->frame, ETH_FRAME_MAX);
    return NULL;
}

static void transmit(vnet_t *n)
{
    virtq_seg_t segs[VNET_MAX_SEGS];
    for (;;) {
        virtq_chain_t ch;
        virtio_mmio_effect_t eff;
        virtq_err_t e = virtio_mmio_pop(&n->dev, VNET_TRANSMITQ, segs, VNET_MAX_SEGS, &ch, &eff);
        if (e == VIRTQ_EMPTY)
            return;
        if (e != VIRTQ_OK) {
            if (chain_refused(n, VNET_TRANSMITQ, e, &ch, &eff))
                return;
            continue;
        }
        if (n->taken)
            n->taken(n);
        uint32_t len = 0;
        const char *why = transmit_one(n, segs, &ch, &len);
        /* Used before the frame goes on: the switch may deliver to this
         * same device (never: it filters) or run long. */
        virtio_mmio_push(&n->dev, VNET_TRANSMITQ, ch.head, 0, &eff);
        if (why) {
            n->tx_refused++;
            say(n, "transmitted frame", why);
            continue;
        }
        n->tx_frames++;
        n->tx_bytes += len;
        if (n->tx)
            n->tx(n->tx_ctx, n, n->frame, len);
    }
}

bool vnet_access(vnet_t *n, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                 uint32_t wvalue)
{
    n->accesses++;
    virtio_mmio_effect_t eff;
    const char *why = ds_mmio_access(&n->dev, VNET_WINDOW_SIZE, write, offset, size, value,
                                     wvalue, &eff);
    if (why) {
        char what[64] = "";
        if (n->logged <= VNET_LOG_MAX)
            ds_access_str(what, sizeof what, write, offset, size);
        say(n, what, why);
    }
    if (eff.flags & VIRTIO_MMIO_EFF_NEEDS_RESET) {
        say(n, "queue setup", virtq_strerror(eff.queue_err));
        n->resets_needed++;
    }
    if ((eff.flags & VIRTIO_MMIO_EFF_NOTIFY) && eff.queue == VNET_TRANSMITQ) {
        n->kicks++;
        transmit(n);
    }
    /* A receiveq1 kick: new buffers; frames for the guest wait nowhere
     * (a frame with no buffer is dropped, as on a wire). */
    return !why;
}

bool vnet_receive(vnet_t *n, const uint8_t *frame, uint32_t len)
{
    virtq_seg_t segs[VNET_MAX_SEGS];
    virtq_chain_t ch;
    virtio_mmio_effect_t eff;
    if (len < ETH_FRAME_MIN || len > ETH_FRAME_MAX || !virtio_mmio_queue(&n->dev, VNET_RECEIVEQ)) {
        n->rx_dropped++;
        return false;
    }
    virtq_err_t e = virtio_mmio_pop(&n->dev, VNET_RECEIVEQ, segs, VNET_MAX_SEGS, &ch, &eff);
    if (e != VIRTQ_OK) {
        n->rx_dropped++;
        if (e != VIRTQ_EMPTY)
            chain_refused(n, VNET_RECEIVEQ, e, &ch, &eff);
        return false;
    }
    /* 5.1.6.3.1: without MRG_RXBUF the whole packet and its header go
     * into this one chain's writable part. */
    if (ch.writable < VIRTIO_NET_HDR_SIZE + len) {
        n->rx_dropped++;
        say(n, "receiveq1 chain", ch.writable ? "too small for the frame and its header"
                                              : "no device-writable buffer");
        virtio_mmio_push(&n->dev, VNET_RECEIVEQ, ch.head, 0, &eff);
        return false;
    }
    /* 5.1.6.4: flags 0, gso_type NONE, num_buffers 1 (le16). */
    uint8_t hdr[VIRTIO_NET_HDR_SIZE] = { 0 };
    hdr[VIRTIO_NET_HDR_NUMBUF_OFF] = 1;
    uint32_t at = 0, total = VIRTIO_NET_HDR_SIZE + len;
    for (unsigned s = 0; s < ch.nsegs && at < total; s++) {
        if (!segs[s].writable)
            continue;
        for (uint32_t i = 0; i < segs[s].len && at < total; i++, at++)
            ((volatile uint8_t *)segs[s].host)[i] =
                at < VIRTIO_NET_HDR_SIZE ? hdr[at] : frame[at - VIRTIO_NET_HDR_SIZE];
    }
    n->rx_frames++;
    n->rx_bytes += len;
    virtio_mmio_push(&n->dev, VNET_RECEIVEQ, ch.head, total, &eff);
    return true;
}

bool vnet_irq(const vnet_t *n)
{
    return virtio_mmio_irq(&n->dev);
}

unsigned vnet_resume(vnet_t *n, uint32_t flags)
{
    unsigned available = ds_resume(&n->dev, flags);
    if (virtio_mmio_queue(&n->dev, VNET_TRANSMITQ))
        transmit(n);
    return available;
}

static void say_state(vnet_t *n, const char *what)
{
    char text[192];
    fmt_snprintf(text, sizeof text, "virtio-net %s: vm %s: device state %s (status 0x%x, "
                 "receiveq1 at used index %u, transmitq1 at used index %u%s)", n->name, n->vm,
                 what, n->dev.status, n->queues[VNET_RECEIVEQ].vq.used_idx,
                 n->queues[VNET_TRANSMITQ].vq.used_idx,
                 n->dev.interrupt_status ? ", interrupt pending" : "");
    n->emit(text);
}

bool vnet_save(vnet_t *n, ds_state_t *st)
{
    /* A device not set up (or reset) exports Status 0 and no progress; one
     * that needs a reset is saved as it is (DEVICE_NEEDS_RESET is in its
     * Status, 2.1.2, a broken queue's error in its progress). */
    if (!ds_state_export(&n->dev, st)) {
        char text[160];
        fmt_snprintf(text, sizeof text, "virtio-net %s: vm %s: device state not saved: a chain "
                     "in flight", n->name, n->vm);
        n->emit(text);
        return false;
    }
    say_state(n, "saved");
    return true;
}

unsigned vnet_load(vnet_t *n, const ds_state_t *st)
{
    const char *why;
    unsigned e = ds_state_import(&n->dev, st, &why);
    if (e) {
        char text[224];
        fmt_snprintf(text, sizeof text, "virtio-net %s: vm %s: device state refused: %s",
                     n->name, n->vm, why);
        n->emit(text);
        return e;
    }
    say_state(n, "restored from the image");
    return 0;
}
