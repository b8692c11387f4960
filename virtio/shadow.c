/*
 * virtio/shadow.c - the driver-visible state of a virtio-mmio device kept
 * from the writes it accepted, and its replay into a fresh device
 * (virtio_shadow.h). Virtio 1.2 4.2.2 (the registers), 3.1.1 (the order
 * of the initialization steps), 4.2.3.2 (queue configuration).
 */
#include <virtio_abi.h>
#include <virtio_shadow.h>

#define QUEUE_RESET_REQUEST 1u          /* 4.2.2: QueueReset written 1 resets the queue */

static virtio_shadow_queue_t *sel_queue(virtio_shadow_t *s)
{
    return s->queue_sel < VIRTIO_SHADOW_QUEUES ? &s->q[s->queue_sel] : 0;
}

void virtio_shadow_write(virtio_shadow_t *s, uint32_t offset, uint32_t value)
{
    virtio_shadow_queue_t *q = sel_queue(s);
    switch (offset) {
    case VIRTIO_MMIO_STATUS:
        if (value == 0)                 /* 2.4.1: a reset forgets everything */
            *s = (virtio_shadow_t){ 0 };
        else
            s->status = value & VIRTIO_STATUS_DRIVER_BITS;
        break;
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: s->device_features_sel = value; break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: s->driver_features_sel = value; break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (s->driver_features_sel < 2)
            s->driver_features[s->driver_features_sel] = value;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:         s->queue_sel = value; break;
    case VIRTIO_MMIO_QUEUE_NUM:         if (q) q->num = value; break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:    if (q) q->desc_lo = value; break;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:   if (q) q->desc_hi = value; break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:  if (q) q->driver_lo = value; break;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: if (q) q->driver_hi = value; break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:  if (q) q->device_lo = value; break;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: if (q) q->device_hi = value; break;
    case VIRTIO_MMIO_QUEUE_READY:       if (q) q->ready = value & 1; break;
    case VIRTIO_MMIO_QUEUE_RESET:
        if (q && value == QUEUE_RESET_REQUEST)
            *q = (virtio_shadow_queue_t){ 0 };
        break;
    default:
        break;                          /* notifications, InterruptACK: no state */
    }
}

static unsigned put(virtio_shadow_op_t *ops, unsigned n, uint32_t offset, uint32_t value)
{
    ops[n] = (virtio_shadow_op_t){ offset, value };
    return n + 1;
}

unsigned virtio_shadow_replay(const virtio_shadow_t *s, virtio_shadow_op_t *ops)
{
    unsigned n = 0;
    uint32_t st = 0;
    /* 3.1.1 steps 2-3: ACKNOWLEDGE, then DRIVER, each write keeping the
     * bits before it (a write may not clear one, 2.1.1). */
    if (s->status & VIRTIO_STATUS_ACKNOWLEDGE)
        n = put(ops, n, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_ACKNOWLEDGE);
    if (s->status & VIRTIO_STATUS_DRIVER) {
        n = put(ops, n, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_DRIVER);
        /* Step 4: the features the driver accepted, both words. */
        for (uint32_t sel = 0; sel < 2; sel++) {
            n = put(ops, n, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
            n = put(ops, n, VIRTIO_MMIO_DRIVER_FEATURES, s->driver_features[sel]);
        }
    }
    if (s->status & VIRTIO_STATUS_FEATURES_OK)
        n = put(ops, n, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_FEATURES_OK);
    /* Step 7 (4.2.3.2): each queue's size and areas, then QueueReady. A
     * queue is written only after FEATURES_OK, where QueueReady may be. */
    for (uint32_t i = 0; (st & VIRTIO_STATUS_FEATURES_OK) && i < VIRTIO_SHADOW_QUEUES; i++) {
        const virtio_shadow_queue_t *q = &s->q[i];
        if (!q->ready && !q->num && !q->desc_lo && !q->desc_hi && !q->driver_lo &&
            !q->driver_hi && !q->device_lo && !q->device_hi)
            continue;
        n = put(ops, n, VIRTIO_MMIO_QUEUE_SEL, i);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_NUM, q->num);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc_lo);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_DESC_HIGH, q->desc_hi);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_DRIVER_LOW, q->driver_lo);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, q->driver_hi);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_DEVICE_LOW, q->device_lo);
        n = put(ops, n, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, q->device_hi);
        if (q->ready)
            n = put(ops, n, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    /* Step 8: DRIVER_OK; FAILED as the driver said it (2.1). */
    if (s->status & VIRTIO_STATUS_DRIVER_OK)
        n = put(ops, n, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_DRIVER_OK);
    if (s->status & VIRTIO_STATUS_FAILED)
        n = put(ops, n, VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_FAILED);
    /* The selectors as the driver left them (it may be between steps). */
    if (st) {
        n = put(ops, n, VIRTIO_MMIO_QUEUE_SEL, s->queue_sel);
        n = put(ops, n, VIRTIO_MMIO_DEVICE_FEATURES_SEL, s->device_features_sel);
        n = put(ops, n, VIRTIO_MMIO_DRIVER_FEATURES_SEL, s->driver_features_sel);
    }
    return n;
}
