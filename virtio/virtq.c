/*
 * virtio/virtq.c - the device side of a split virtqueue (virtq.h), Virtio
 * 1.2 2.7. The rings live in guest memory that a running guest may change
 * at any moment, so:
 *  - each shared field is read once, with one aligned load, and the value
 *    read is the one checked and used (no second look);
 *  - the available idx is loaded with acquire ordering before the ring
 *    entries and descriptors it publishes are read (2.7.13.3.1 is the
 *    driver's release side of that pair);
 *  - a used element is written before the used idx, which is stored with
 *    release ordering (2.7.8.2);
 *  - every guest-physical range is translated through the RAM windows with
 *    its whole length, without adding a guest value to a pointer first.
 */
#include <virtq.h>

/* ---- loads and stores to the shared rings (aligned: checked at setup) ---- */

static uint16_t ld16(volatile uint8_t *p, int order)
{
    return __atomic_load_n((volatile uint16_t *)p, order);
}

static void st16(volatile uint8_t *p, uint16_t v, int order)
{
    __atomic_store_n((volatile uint16_t *)p, v, order);
}

static void st32(volatile uint8_t *p, uint32_t v)
{
    __atomic_store_n((volatile uint32_t *)p, v, __ATOMIC_RELAXED);
}

/* Where the event fields sit: after the rings (2.7.6, 2.7.8). */
static volatile uint8_t *used_event_field(const virtq_t *q)
{
    return q->avail + VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ENTRY_SIZE * (uint32_t)q->size;
}

static volatile uint8_t *avail_event_field(const virtq_t *q)
{
    return q->used + VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_SIZE * (uint32_t)q->size;
}

/* ---- errors ---- */

static const char *const err_names[VIRTQ_ERR_COUNT] = {
    [VIRTQ_OK] = "ok",
    [VIRTQ_EMPTY] = "no available buffer",
    [VIRTQ_ERR_NOT_READY] = "the queue is not ready",
    [VIRTQ_ERR_BROKEN] = "the queue is broken: the device needs a reset",
    [VIRTQ_ERR_BAD_SIZE] = "queue size not a power of 2 from 1 to 32768",
    [VIRTQ_ERR_MISALIGNED] = "a ring part is not at its alignment",
    [VIRTQ_ERR_RING_OUTSIDE_RAM] = "a ring part is not in guest RAM (or the used ring is read-only)",
    [VIRTQ_ERR_AVAIL_IDX_JUMP] = "available idx moved by more than the queue size",
    [VIRTQ_ERR_HEAD_OUT_OF_RANGE] = "an available ring entry is beyond the descriptor table",
    [VIRTQ_ERR_NEXT_OUT_OF_RANGE] = "a descriptor's next is beyond its table",
    [VIRTQ_ERR_CHAIN_TOO_LONG] = "a chain longer than the queue size (a loop)",
    [VIRTQ_ERR_BUFFER_OUTSIDE_RAM] = "a buffer is not in guest RAM",
    [VIRTQ_ERR_ADDR_OVERFLOW] = "a buffer's address plus length wraps",
    [VIRTQ_ERR_WRITE_TO_READ_ONLY] = "a device-writable buffer in read-only memory",
    [VIRTQ_ERR_READABLE_AFTER_WRITABLE] = "a device-readable descriptor after a device-writable one",
    [VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED] = "an indirect descriptor without VIRTIO_F_INDIRECT_DESC",
    [VIRTQ_ERR_INDIRECT_WITH_NEXT] = "an indirect descriptor with the NEXT flag",
    [VIRTQ_ERR_INDIRECT_NESTED] = "an indirect descriptor inside an indirect table",
    [VIRTQ_ERR_INDIRECT_BAD_LEN] = "an indirect table length of 0 or not a multiple of 16",
    [VIRTQ_ERR_INDIRECT_OUTSIDE_RAM] = "an indirect table is not in guest RAM",
    [VIRTQ_ERR_CHAIN_TOO_BIG] = "a chain's total length is above the limit",
    [VIRTQ_ERR_TOO_MANY_SEGMENTS] = "a chain has more pieces than the server takes",
    [VIRTQ_ERR_PUSH_BAD_HEAD] = "pushed a head beyond the queue size",
    [VIRTQ_ERR_PUSH_NONE_IN_FLIGHT] = "pushed more chains than were popped",
};

const char *virtq_strerror(virtq_err_t err)
{
    if ((unsigned)err < VIRTQ_ERR_COUNT && err_names[err])
        return err_names[err];
    return "unknown virtqueue error";
}

bool virtq_err_fatal(virtq_err_t err)
{
    /* The available ring itself is wrong: no later entry can be trusted,
     * and there is no head to hand back. */
    return err == VIRTQ_ERR_AVAIL_IDX_JUMP || err == VIRTQ_ERR_HEAD_OUT_OF_RANGE;
}

/* Virtio 1.2 2.1.2: the device enters an error state that needs a reset. */
static virtq_err_t break_queue(virtq_t *q, virtq_err_t err)
{
    q->broken = true;
    q->error = err;
    return err;
}

/* ---- setup ---- */

void virtq_reset(virtq_t *q)
{
    virtq_bad_chain_t policy = q->on_bad_chain;
    uint64_t limit = q->max_chain_bytes;
    *q = (virtq_t){ .on_bad_chain = policy, .max_chain_bytes = limit };
}

void virtq_init(virtq_t *q)
{
    *q = (virtq_t){ .on_bad_chain = VIRTQ_BAD_CHAIN_BREAKS,
                    .max_chain_bytes = VIRTQ_MAX_CHAIN_BYTES };
}

/* One ring part: aligned in guest-physical and in host memory (the shared
 * fields are then single aligned loads and stores), wholly in one window. */
static virtq_err_t map_part(const virtio_ram_t *ram, uint64_t gpa, uint64_t len,
                            unsigned align, bool write, volatile uint8_t **host)
{
    if (gpa % align)                                    /* 2.7.1 */
        return VIRTQ_ERR_MISALIGNED;
    uint8_t *p = virtio_ram_map(ram, gpa, len, write);
    if (!p)
        return VIRTQ_ERR_RING_OUTSIDE_RAM;
    if ((uintptr_t)p % align)
        return VIRTQ_ERR_MISALIGNED;
    *host = p;
    return VIRTQ_OK;
}

virtq_err_t virtq_setup(virtq_t *q, const virtio_ram_t *ram, const virtq_config_t *cfg)
{
    virtq_reset(q);
    /* 2.7: Queue Size is a power of 2, at most 32768. */
    if (cfg->size == 0 || cfg->size > VIRTQ_MAX_SIZE || (cfg->size & (cfg->size - 1)))
        return VIRTQ_ERR_BAD_SIZE;
    volatile uint8_t *desc, *avail, *used;
    virtq_err_t e;
    /* 2.7, the size and alignment table; the sizes include used_event and
     * avail_event, which the driver allocates whatever it negotiates. */
    if ((e = map_part(ram, cfg->desc, VIRTQ_DESC_TABLE_SIZE(cfg->size), VIRTQ_DESC_ALIGN,
                      false, &desc)) ||
        (e = map_part(ram, cfg->avail, VIRTQ_AVAIL_SIZE(cfg->size), VIRTQ_AVAIL_ALIGN,
                      false, &avail)) ||
        (e = map_part(ram, cfg->used, VIRTQ_USED_SIZE(cfg->size), VIRTQ_USED_ALIGN,
                      true, &used)))
        return e;
    q->ram = ram;
    q->size = (uint16_t)cfg->size;     /* 32768 fits */
    q->desc_gpa = cfg->desc;
    q->avail_gpa = cfg->avail;
    q->used_gpa = cfg->used;
    for (unsigned i = 0; i < ram->count; i++)
        q->paged |= ram->windows[i].paged != NULL;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->event_idx = cfg->event_idx;
    q->indirect = cfg->indirect;
    q->ready = true;
    return VIRTQ_OK;
}

/* ---- taking a chain ---- */

/* Where a chain's descriptors come from: the queue's table or one
 * indirect table, and how many descriptors it has. */
typedef struct {
    uint64_t gpa;
    uint32_t count;
    bool indirect;
} desc_table_t;

/* Read descriptor @i of @t once, into a private copy. The queue's table was
 * mapped at setup, 16-aligned: one load per field. An indirect table is
 * copied through the windows (it need not be aligned and may cross
 * adjacent windows). */
static bool read_desc(const virtq_t *q, const desc_table_t *t, uint32_t i, virtq_desc_t *d)
{
    if (t->indirect)
        return virtio_ram_read(q->ram, t->gpa + (uint64_t)i * VIRTQ_DESC_SIZE, d,
                               VIRTQ_DESC_SIZE);
    volatile uint8_t *p = q->desc + (uint64_t)i * VIRTQ_DESC_SIZE;
    d->addr = __atomic_load_n((volatile uint64_t *)(p + VIRTQ_DESC_ADDR_OFF), __ATOMIC_RELAXED);
    d->len = __atomic_load_n((volatile uint32_t *)(p + VIRTQ_DESC_LEN_OFF), __ATOMIC_RELAXED);
    d->flags = ld16(p + VIRTQ_DESC_FLAGS_OFF, __ATOMIC_RELAXED);
    d->next = ld16(p + VIRTQ_DESC_NEXT_OFF, __ATOMIC_RELAXED);
    return true;
}

/* Does guest RAM hold all of [@gpa, @gpa + @len)? (@len > 0, no wrap.) */
static bool ram_covers(const virtio_ram_t *ram, uint64_t gpa, uint64_t len)
{
    while (len) {
        uint64_t piece;
        if (!virtio_ram_piece(ram, gpa, len, false, &piece))
            return false;
        gpa += piece;
        len -= piece;
    }
    return true;
}

/* Add a buffer's pieces to the segment list. */
static virtq_err_t add_buffer(const virtq_t *q, const virtq_desc_t *d, bool writable,
                              virtq_seg_t *segs, unsigned max, virtq_chain_t *c)
{
    uint64_t gpa = d->addr, left = d->len;
    while (left) {
        uint64_t piece;
        uint8_t *p = virtio_ram_piece(q->ram, gpa, left, writable, &piece);
        if (!p)
            return writable && virtio_ram_read_only(q->ram, gpa)
                       ? VIRTQ_ERR_WRITE_TO_READ_ONLY : VIRTQ_ERR_BUFFER_OUTSIDE_RAM;
        if (c->nsegs == max)
            return VIRTQ_ERR_TOO_MANY_SEGMENTS;    /* 2.7.4.1: a reasonable limit */
        segs[c->nsegs++] = (virtq_seg_t){ .host = p, .len = (uint32_t)piece,
                                          .writable = writable };
        gpa += piece;                              /* no wrap: checked by the caller */
        left -= piece;
    }
    if (writable)
        c->writable += d->len;
    else
        c->readable += d->len;
    return VIRTQ_OK;
}

/* Switch from the queue's table to the indirect table @d describes
 * (2.7.5.3, with the driver's rules of 2.7.5.3.1 checked). */
static virtq_err_t enter_indirect(const virtq_t *q, const virtq_desc_t *d, desc_table_t *t)
{
    if (t->indirect)
        return VIRTQ_ERR_INDIRECT_NESTED;       /* only one table per descriptor */
    if (!q->indirect)
        return VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED;
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return VIRTQ_ERR_INDIRECT_WITH_NEXT;
    if (d->len == 0 || d->len % VIRTQ_DESC_SIZE)
        return VIRTQ_ERR_INDIRECT_BAD_LEN;
    if (d->addr + (d->len - 1) < d->addr)
        return VIRTQ_ERR_ADDR_OVERFLOW;
    if (!ram_covers(q->ram, d->addr, d->len))
        return VIRTQ_ERR_INDIRECT_OUTSIDE_RAM;
    /* 2.7.5.3.2: the WRITE flag of the descriptor naming the table is
     * ignored; the table's first descriptor is its entry 0. */
    *t = (desc_table_t){ .gpa = d->addr, .count = d->len / VIRTQ_DESC_SIZE, .indirect = true };
    return VIRTQ_OK;
}

/*
 * Follow the chain from @head. Loops: a chain has at most Queue Size
 * descriptors (2.7.5.3.1); the part in the queue's table and the part in
 * an indirect table are each held to that, so a loop ends the walk after
 * at most 2 * size reads.
 */
static virtq_err_t walk_chain(const virtq_t *q, uint16_t head, virtq_seg_t *segs, unsigned max,
                              virtq_chain_t *c)
{
    desc_table_t t = { .gpa = q->desc_gpa, .count = q->size, .indirect = false };
    uint32_t i = head, in_table = 0;
    bool seen_writable = false;
    for (;;) {
        virtq_desc_t d;
        if (++in_table > q->size)
            return VIRTQ_ERR_CHAIN_TOO_LONG;
        c->descs++;
        if (!read_desc(q, &t, i, &d))
            return t.indirect ? VIRTQ_ERR_INDIRECT_OUTSIDE_RAM : VIRTQ_ERR_BUFFER_OUTSIDE_RAM;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            virtq_err_t e = enter_indirect(q, &d, &t);
            if (e)
                return e;
            i = 0;
            in_table = 0;
            continue;
        }
        bool writable = d.flags & VIRTQ_DESC_F_WRITE;
        /* 2.7.4.2: device-writable elements come after device-readable ones. */
        if (!writable && seen_writable)
            return VIRTQ_ERR_READABLE_AFTER_WRITABLE;
        seen_writable |= writable;
        if (d.len) {
            if (d.addr + (d.len - 1) < d.addr)
                return VIRTQ_ERR_ADDR_OVERFLOW;
            /* 2.7.5.2: at most 2^32 bytes (or the server's lower limit). */
            if (c->readable + c->writable + d.len > q->max_chain_bytes)
                return VIRTQ_ERR_CHAIN_TOO_BIG;
            virtq_err_t e = add_buffer(q, &d, writable, segs, max, c);
            if (e)
                return e;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return VIRTQ_OK;
        if (d.next >= t.count)
            return VIRTQ_ERR_NEXT_OUT_OF_RANGE;
        i = d.next;
    }
}

/* Paged RAM (virtio_ram.h): each pop starts a new epoch for the chain's
 * pointers, and makes the rings resident again first, at the host
 * addresses setup took (a paged window keeps each page at its place), as
 * their pins may have gone to an earlier chain's pages. */
static bool rings_resident(const virtq_t *q)
{
    virtio_ram_new_epoch(q->ram);
    return virtio_ram_map(q->ram, q->desc_gpa, VIRTQ_DESC_TABLE_SIZE(q->size), false) ==
               q->desc &&
           virtio_ram_map(q->ram, q->avail_gpa, VIRTQ_AVAIL_SIZE(q->size), false) == q->avail &&
           virtio_ram_map(q->ram, q->used_gpa, VIRTQ_USED_SIZE(q->size), true) == q->used;
}

virtq_err_t virtq_pop(virtq_t *q, virtq_seg_t *segs, unsigned max, virtq_chain_t *chain)
{
    *chain = (virtq_chain_t){ 0 };
    if (!q->ready)
        return VIRTQ_ERR_NOT_READY;
    if (q->broken)
        return VIRTQ_ERR_BROKEN;
    if (q->paged && !rings_resident(q))
        return break_queue(q, VIRTQ_ERR_RING_OUTSIDE_RAM);
    /* Acquire: the entries and descriptors published with this idx are
     * read after it (2.7.13.3.1 is the driver's barrier before it). */
    uint16_t avail_idx = ld16(q->avail + VIRTQ_AVAIL_IDX_OFF, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    /* 2.7.6.1: idx never decreases, and at most Queue Size buffers can be
     * outstanding (2.7.13: the ring is the size of the table), so more than
     * that since our last entry is a broken ring. */
    if (pending > q->size)
        return break_queue(q, VIRTQ_ERR_AVAIL_IDX_JUMP);
    if (pending == 0)
        return VIRTQ_EMPTY;
    uint16_t slot = q->last_avail & (q->size - 1);
    uint16_t head = ld16(q->avail + VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ENTRY_SIZE * slot,
                         __ATOMIC_RELAXED);
    if (head >= q->size)
        return break_queue(q, VIRTQ_ERR_HEAD_OUT_OF_RANGE);
    q->last_avail++;
    chain->head = head;
    virtq_err_t e = walk_chain(q, head, segs, max, chain);
    if (e && q->on_bad_chain == VIRTQ_BAD_CHAIN_BREAKS)
        return break_queue(q, e);
    q->in_flight++;
    /* 2.7.10.2: with EVENT_IDX, ask to be notified when the driver writes
     * the entry after the ones taken. */
    if (q->event_idx && !q->notify_off)
        st16(avail_event_field(q), q->last_avail, __ATOMIC_RELAXED);
    if (e) {
        chain->nsegs = 0;       /* nothing of a refused chain is to be used */
        chain->readable = chain->writable = 0;
    }
    return e;
}

/* ---- giving it back ---- */

virtq_err_t virtq_push(virtq_t *q, uint16_t head, uint32_t len)
{
    if (!q->ready)
        return VIRTQ_ERR_NOT_READY;
    if (q->broken)
        return VIRTQ_ERR_BROKEN;
    if (head >= q->size)
        return VIRTQ_ERR_PUSH_BAD_HEAD;
    if (q->in_flight == 0)
        return VIRTQ_ERR_PUSH_NONE_IN_FLIGHT;
    volatile uint8_t *elem = q->used + VIRTQ_USED_RING_OFF +
                             VIRTQ_USED_ELEM_SIZE * (uint32_t)(q->used_idx & (q->size - 1));
    st32(elem + VIRTQ_USED_ELEM_ID_OFF, head);
    st32(elem + VIRTQ_USED_ELEM_LEN_OFF, len);
    q->used_idx++;
    /* 2.7.8.2: len (and the element) before the used idx: release. */
    st16(q->used + VIRTQ_USED_IDX_OFF, q->used_idx, __ATOMIC_RELEASE);
    q->in_flight--;
    return VIRTQ_OK;
}

bool virtq_need_notify(virtq_t *q)
{
    if (!q->ready || q->broken)
        return false;
    /* The new used idx must be visible before the driver's suppression
     * fields are read, or a driver re-enabling notifications just then is
     * missed (the device's side of 2.7.13.4.1): a full barrier. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old = q->signalled_used, now = q->used_idx;
    q->signalled_used = now;
    if (q->event_idx) {
        /* 2.7.7.2 with EVENT_IDX: notify if one of the elements written
         * since the last decision went to used ring index used_event, i.e.
         * used_event is in [old, now) modulo 2^16. The lower bit of flags
         * is ignored. */
        uint16_t used_event = ld16(used_event_field(q), __ATOMIC_RELAXED);
        return (uint16_t)(used_event - old) < (uint16_t)(now - old);
    }
    /* 2.7.7.2 without EVENT_IDX: used_event is ignored; flags 1 means
     * "do not notify", 0 means "notify". */
    if (now == old)
        return false;
    return !(ld16(q->avail + VIRTQ_AVAIL_FLAGS_OFF, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_set_notify(virtq_t *q, bool enable)
{
    if (!q->ready || q->broken)
        return false;
    q->notify_off = !enable;
    if (q->event_idx) {
        /* 2.7.10.2 with EVENT_IDX: flags stays 0 (the driver initialized it,
         * 2.7.10.1); avail_event names the entry that should notify. Off,
         * it is left behind, so at most one more notification comes. */
        if (enable)
            st16(avail_event_field(q), q->last_avail, __ATOMIC_RELAXED);
    } else {
        st16(q->used + VIRTQ_USED_FLAGS_OFF, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY,
             __ATOMIC_RELAXED);
    }
    if (!enable)
        return false;
    /* The request must be visible before we look again for buffers the
     * driver added without notifying: a full barrier. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return ld16(q->avail + VIRTQ_AVAIL_IDX_OFF, __ATOMIC_ACQUIRE) != q->last_avail;
}

/* ---- a restarted device (virtq.h) ---- */

uint16_t virtq_resume(virtq_t *q)
{
    if (!q->ready || q->broken)
        return 0;
    if (q->paged && !rings_resident(q)) {
        break_queue(q, VIRTQ_ERR_RING_OUTSIDE_RAM);
        return 0;
    }
    /* The old device's last used idx, as it published it (release); the
     * avail idx after it (acquire, as virtq_pop reads it). */
    uint16_t used = ld16(q->used + VIRTQ_USED_IDX_OFF, __ATOMIC_ACQUIRE);
    q->last_avail = q->used_idx = q->signalled_used = used;
    q->in_flight = 0;
    return (uint16_t)(ld16(q->avail + VIRTQ_AVAIL_IDX_OFF, __ATOMIC_ACQUIRE) - used);
}

/* ---- a checkpoint's export and import (virtq.h virtq_progress_t) ---- */

bool virtq_export(const virtq_t *q, virtq_progress_t *p)
{
    if (q->in_flight)
        return false;
    *p = (virtq_progress_t){ 0 };
    if (!q->ready)
        return true;
    *p = (virtq_progress_t){ .last_avail = q->last_avail, .used_idx = q->used_idx,
                             .signalled_used = q->signalled_used, .notify_off = q->notify_off,
                             .broken = q->broken, .error = (uint32_t)q->error };
    return true;
}

const char *virtq_import(virtq_t *q, const virtq_progress_t *p)
{
    if (!q->ready)
        return p->last_avail || p->used_idx || p->signalled_used || p->notify_off ||
                       p->broken || p->error
                   ? "progress for a queue that is not set up" : NULL;
    if (p->last_avail != p->used_idx)
        return "chains in flight (the available index is not the used index)";
    /* 2.7.8: the used idx is the device's; the guest memory restored with
     * the image holds the one the device last published. */
    if (p->used_idx != ld16(q->used + VIRTQ_USED_IDX_OFF, __ATOMIC_ACQUIRE))
        return "a used index other than the used ring's in guest memory";
    if (p->notify_off > 1 || p->broken > 1)
        return "a flag that is neither 0 nor 1";
    if (p->broken ? p->error <= VIRTQ_EMPTY || p->error >= VIRTQ_ERR_COUNT
                  : p->error != VIRTQ_OK)
        return "an error that does not match the broken flag";
    q->last_avail = p->last_avail;
    q->used_idx = p->used_idx;
    q->signalled_used = p->signalled_used;
    q->notify_off = p->notify_off;
    q->broken = p->broken;
    q->error = (virtq_err_t)p->error;
    q->in_flight = 0;
    return NULL;
}
