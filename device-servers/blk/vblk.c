/*
 * device-servers/blk/vblk.c - the virtio block device (Virtio 1.2 5.2) on
 * a partition (vblk.h). The driver is hostile: the header is copied out of
 * guest memory once and checked there; a request whose shape is wrong (a
 * header that is not device-readable, data that is not whole sectors,
 * sectors beyond the capacity, buffers on the wrong side) is answered with
 * VIRTIO_BLK_S_IOERR, an unknown type with VIRTIO_BLK_S_UNSUPP, and the
 * disk is never touched for it. Only a chain virtio/ cannot trust (a buffer
 * outside RAM, a loop) breaks the queue (DEVICE_NEEDS_RESET, 2.1.2).
 */
#include "vblk.h"
#include <devsrv.h>
#include <ds_access.h>
#include <fmt.h>
#include <string.h>
#include <virtq.h>

/* Transport features besides VERSION_1, and FLUSH (5.2.3): the device
 * has a write cache the driver may flush. No RO, BLK_SIZE, SEG_MAX,
 * GEOMETRY, TOPOLOGY, MQ, DISCARD or WRITE_ZEROES. */
#define VBLK_FEATURES (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | \
                       VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | \
                       VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH))

static void say(vblk_t *v, const char *what, const char *why)
{
    v->refusals++;
    if (v->logged > BLK_LOG_MAX)
        return;
    char text[VBLK_LINE_MAX + 64];
    if (v->logged++ == BLK_LOG_MAX)
        fmt_snprintf(text, sizeof text, "blk %s: vm %s: more refusals: no longer logged",
                     v->name, v->vm);
    else
        fmt_snprintf(text, sizeof text, "blk %s: vm %s: %s refused: %s", v->name, v->vm, what,
                     why);
    v->emit(text);
}

static bool config_read(void *ctx, uint32_t offset, unsigned size, uint32_t *value)
{
    const vblk_t *v = ctx;
    /* 5.2.4: capacity, le64 at 0, in 512-byte sectors; 0 without a disk. */
    uint64_t cap = v->usable ? v->part.count : 0;
    uint8_t cfg[VBLK_CONFIG_SIZE] = { 0 };
    for (unsigned i = 0; i < sizeof cap; i++)
        cfg[VIRTIO_BLK_CFG_CAPACITY + i] = (uint8_t)(cap >> (8 * i));
    *value = 0;
    for (unsigned i = 0; i < size; i++)
        *value |= (uint32_t)cfg[offset + i] << (8 * i);
    return true;
}

static const virtio_mmio_ops_t vblk_ops = { .config_read = config_read };

bool vblk_init(vblk_t *v, uint8_t *ram)
{
    v->window[0] = (virtio_ram_window_t){ .gpa = 0, .size = v->ram_bytes, .host = ram };
    v->ram = (virtio_ram_t){ .windows = v->window, .count = v->window[1].paged ? 2 : 1 };
    v->queues[VBLK_REQUESTQ].num_max = VBLK_QUEUE_SIZE;
    virtio_mmio_init_err_t e = virtio_mmio_init(&v->dev, VIRTIO_ID_BLOCK, DS_VIRTIO_VENDOR,
                                                VBLK_FEATURES, v->queues, VBLK_QUEUES,
                                                VBLK_CONFIG_SIZE, &vblk_ops, v, &v->ram);
    if (e != VIRTIO_MMIO_INIT_OK) {
        char text[VBLK_LINE_MAX];
        fmt_snprintf(text, sizeof text, "blk %s: virtio device refused: %s", v->name,
                     virtio_mmio_init_strerror(e));
        v->emit(text);
        return false;
    }
    v->queues[VBLK_REQUESTQ].vq.max_chain_bytes = VBLK_MAX_CHAIN_BYTES;   /* kept by resets */
    return true;
}

/* Copy @n bytes between @buf and the chain's readable (@writable false) or
 * writable part, from byte @at of that part. The caller checked the part
 * holds them. Guest memory is read or written once per byte. */
static void seg_copy(const virtq_seg_t *segs, unsigned nsegs, bool writable, uint64_t at,
                     uint8_t *buf, uint64_t n, bool to_guest)
{
    for (unsigned s = 0; s < nsegs && n; s++) {
        if (segs[s].writable != writable)
            continue;
        if (at >= segs[s].len) {
            at -= segs[s].len;
            continue;
        }
        volatile uint8_t *p = (volatile uint8_t *)segs[s].host + at;
        uint64_t k = segs[s].len - at < n ? segs[s].len - at : n;
        for (uint64_t i = 0; i < k; i++) {
            if (to_guest)
                p[i] = buf[i];
            else
                buf[i] = p[i];
        }
        buf += k;
        n -= k;
        at = 0;
    }
}

/* The data of an IN or OUT of @bytes at @sector: checked against the
 * partition, then moved through the bounce buffer a piece at a time.
 * Returns the status byte. */
static uint8_t transfer(vblk_t *v, bool out, uint64_t sector, uint64_t bytes,
                        const virtq_seg_t *segs, unsigned nsegs)
{
    uint64_t n = bytes / VIRTIO_BLK_SECTOR_SIZE;
    if (bytes == 0 || bytes % VIRTIO_BLK_SECTOR_SIZE) {
        say(v, out ? "write" : "read", "data not a whole number of 512-byte sectors");
        return VIRTIO_BLK_S_IOERR;
    }
    /* 5.2.6.2: a request beyond the capacity fails with IOERR. */
    blk_part_t whole = { 0, v->part.count };
    if (blk_check(&whole, sector, n, 0, n * VIRTIO_BLK_SECTOR_SIZE) != BLK_OK) {
        say(v, out ? "write" : "read", "sectors beyond the capacity");
        return VIRTIO_BLK_S_IOERR;
    }
    /* Flagged before the disk is touched: a write that fails half way
     * may have changed the sectors too (checkpoint/README.md "The disk"). */
    if (out)
        blk_dirty_mark(&v->dirty, sector, n);
    for (uint64_t done = 0; done < n;) {
        uint64_t k = n - done < VBLK_BOUNCE_SECTORS ? n - done : VBLK_BOUNCE_SECTORS;
        uint64_t at = done * VIRTIO_BLK_SECTOR_SIZE, len = k * VIRTIO_BLK_SECTOR_SIZE;
        uint64_t lba = v->part.first + sector + done;
        unsigned err;
        if (out) {
            seg_copy(segs, nsegs, false, VIRTIO_BLK_HDR_SIZE + at, v->bounce, len, false);
            err = v->disk->write(v->disk->ctx, lba, k, v->bounce);
        } else {
            err = v->disk->read(v->disk->ctx, lba, k, v->bounce);
            if (!err)
                seg_copy(segs, nsegs, true, at, v->bounce, len, true);
        }
        if (err) {
            char why[64];
            fmt_snprintf(why, sizeof why, "disk error 0x%x at sector %lu", err,
                         (unsigned long)lba);
            say(v, out ? "write" : "read", why);
            return VIRTIO_BLK_S_IOERR;
        }
        done += k;
    }
    if (out) {
        v->writes++;
        if (v->written)
            v->written();
    } else {
        v->reads++;
    }
    return VIRTIO_BLK_S_OK;
}

/* Serve one chain; returns the bytes written into its writable part. */
static uint32_t request(vblk_t *v, const virtq_seg_t *segs, const virtq_chain_t *ch)
{
    v->requests++;
    /* 5.2.6: the status is the last byte, device-writable. Without one
     * there is nowhere to answer: the chain goes back with nothing. */
    if (ch->writable == 0) {
        say(v, "request", "no device-writable status byte");
        return 0;
    }
    uint64_t wdata = ch->writable - 1;      /* writable bytes before the status */
    uint8_t status = VIRTIO_BLK_S_IOERR;
    uint32_t used = 1;
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    if (ch->readable < VIRTIO_BLK_HDR_SIZE) {
        say(v, "request", "header not device-readable (or shorter than 16 bytes)");
        v->ioerrs++;
        goto answer;
    }
    seg_copy(segs, ch->nsegs, false, 0, hdr, sizeof hdr, false);
    uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                    (uint32_t)hdr[3] << 24;
    uint64_t sector = 0;
    for (unsigned i = 0; i < 8; i++)
        sector |= (uint64_t)hdr[8 + i] << (8 * i);
    uint64_t rdata = ch->readable - VIRTIO_BLK_HDR_SIZE;
    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool out = type == VIRTIO_BLK_T_OUT;
        /* IN: data device-writable, nothing readable past the header; OUT:
         * data device-readable, only the status writable (5.2.6). */
        if (out ? wdata != 0 : rdata != 0) {
            say(v, out ? "write" : "read", "data buffers on the wrong side");
            break;
        }
        if (!v->usable) {
            say(v, out ? "write" : "read", "no disk");
            break;
        }
        status = transfer(v, out, sector, out ? rdata : wdata, segs, ch->nsegs);
        if (status == VIRTIO_BLK_S_OK && !out)
            used += (uint32_t)wdata;
        break;
    }
    case VIRTIO_BLK_T_FLUSH: {
        if (!v->usable) {
            say(v, "flush", "no disk");
            break;
        }
        unsigned err = v->disk->flush(v->disk->ctx);
        if (err)
            say(v, "flush", "the disk reported an error");
        else {
            v->flushes++;
            status = VIRTIO_BLK_S_OK;
        }
        break;
    }
    case VIRTIO_BLK_T_GET_ID: {
        /* 5.2.6: 20 bytes, NUL padded when shorter. */
        if (wdata < VIRTIO_BLK_ID_BYTES) {
            say(v, "get-id", "fewer than 20 writable bytes");
            break;
        }
        uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
        char text[VIRTIO_BLK_ID_BYTES + 1];
        fmt_snprintf(text, sizeof text, "nestor-%s", v->name);
        memcpy(id, text, strlen(text));
        seg_copy(segs, ch->nsegs, true, 0, id, sizeof id, true);
        used += VIRTIO_BLK_ID_BYTES;
        status = VIRTIO_BLK_S_OK;
        break;
    }
    default: {
        char why[48];
        fmt_snprintf(why, sizeof why, "type %u is not supported", type);
        say(v, "request", why);
        v->unsupp++;
        status = VIRTIO_BLK_S_UNSUPP;
        goto answer;
    }
    }
    if (status == VIRTIO_BLK_S_IOERR)
        v->ioerrs++;
answer:
    seg_copy(segs, ch->nsegs, true, wdata, &status, 1, true);
    return status == VIRTIO_BLK_S_OK ? used : 1;
}

/* The driver notified requestq: serve every available chain. */
static void serve_queue(vblk_t *v)
{
    virtq_seg_t segs[VBLK_MAX_SEGS];
    for (;;) {
        virtq_chain_t ch;
        virtio_mmio_effect_t eff;
        virtq_err_t e = virtio_mmio_pop(&v->dev, VBLK_REQUESTQ, segs, VBLK_MAX_SEGS, &ch, &eff);
        if (e == VIRTQ_EMPTY)
            return;
        if (e != VIRTQ_OK) {
            char why[VBLK_LINE_MAX];
            bool fatal = ds_chain_refused(&v->dev, VBLK_REQUESTQ, e, ch.head, &eff, why,
                                          sizeof why);
            say(v, "requestq chain", why);
            if (fatal)
                return;
            continue;
        }
        uint32_t used = request(v, segs, &ch);
        virtio_mmio_push(&v->dev, VBLK_REQUESTQ, ch.head, used, &eff);
    }
}

bool vblk_access(vblk_t *v, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                 uint32_t wvalue)
{
    v->accesses++;
    virtio_mmio_effect_t eff;
    const char *why = ds_mmio_access(&v->dev, VBLK_WINDOW_SIZE, write, offset, size, value,
                                     wvalue, &eff);
    if (why) {
        char what[64] = "";
        if (v->logged <= BLK_LOG_MAX)       /* formatted only when it is logged */
            ds_access_str(what, sizeof what, write, offset, size);
        say(v, what, why);
    }
    if (eff.flags & VIRTIO_MMIO_EFF_NEEDS_RESET)
        say(v, "queue setup", virtq_strerror(eff.queue_err));
    if ((eff.flags & VIRTIO_MMIO_EFF_NOTIFY) && eff.queue == VBLK_REQUESTQ) {
        v->kicks++;
        serve_queue(v);
    }
    return !why;
}

bool vblk_irq(const vblk_t *v)
{
    return virtio_mmio_irq(&v->dev);
}

unsigned vblk_resume(vblk_t *v, uint32_t flags)
{
    unsigned available = ds_resume(&v->dev, flags);
    char text[VBLK_LINE_MAX];
    virtq_t *q = virtio_mmio_queue(&v->dev, VBLK_REQUESTQ);
    fmt_snprintf(text, sizeof text, "blk %s: vm %s: state restored (status 0x%x, features "
                 "0x%lx); requestq %s", v->name, v->vm, v->dev.status,
                 (unsigned long)v->dev.driver_features, q ? "" : "not live");
    if (q)
        fmt_snprintf(text + strlen(text), sizeof text - strlen(text),
                     "resumed at used index %u, %u available", q->used_idx, available);
    v->emit(text);
    if (q)
        serve_queue(v);
    return available;
}

bool vblk_save(vblk_t *v, ds_state_t *st)
{
    char text[VBLK_LINE_MAX];
    /* ATA-6 8.13 FLUSH CACHE: what the disk holds in its cache is written
     * to the medium before the command completes. */
    unsigned err = v->usable ? v->disk->flush(v->disk->ctx) : 0;
    bool ok = !err && ds_state_export(&v->dev, st);
    if (ok) {
        const virtq_progress_t *q = &st->q[VBLK_REQUESTQ];
        fmt_snprintf(text, sizeof text, "blk %s: vm %s: device state saved (status 0x%x, "
                     "requestq at used index %u%s); the disk flushed", v->name, v->vm,
                     st->status, q->used_idx, st->interrupt_status ? ", interrupt pending" : "");
    } else {
        fmt_snprintf(text, sizeof text, "blk %s: vm %s: device state not saved: %s", v->name,
                     v->vm, err ? "the disk's flush failed" : "a request is in flight");
    }
    v->emit(text);
    return ok;
}

unsigned vblk_load(vblk_t *v, const ds_state_t *st)
{
    const char *why;
    unsigned e = ds_state_import(&v->dev, st, &why);
    char text[VBLK_LINE_MAX];
    if (e)
        fmt_snprintf(text, sizeof text, "blk %s: vm %s: device state refused: %s", v->name,
                     v->vm, why);
    else
        fmt_snprintf(text, sizeof text, "blk %s: vm %s: device state restored from the image "
                     "(status 0x%x, requestq at used index %u)", v->name, v->vm, v->dev.status,
                     v->dev.queues[VBLK_REQUESTQ].vq.used_idx);
    v->emit(text);
    return e;
}
