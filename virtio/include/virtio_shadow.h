/*
 * virtio/include/virtio_shadow.h - the driver's side of a virtio-mmio
 * device's state, as whoever sits between the driver and the device (the
 * VMM forwarding a window to a device server) sees it: every register
 * write the device accepted. From it, a fresh device (a restarted server)
 * is brought to the same negotiated state by replaying a short, ordered
 * list of writes through its ordinary register file (virtio_mmio.h), so
 * the fresh device checks them as it checks a driver's: status bits in
 * the order 3.1.1 gives them, the features before FEATURES_OK, each
 * queue's size and areas before its QueueReady (4.2.3.2), DRIVER_OK last.
 *
 * What the shadow cannot hold is the device's own progress through its
 * rings: the restarted device takes that from the used ring in guest
 * memory (virtq_resume, virtq.h).
 */
#ifndef VIRTIO_SHADOW_H
#define VIRTIO_SHADOW_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio_abi.h>

#define VIRTIO_SHADOW_QUEUES   8u     /* queues remembered (a device's others are refused) */
/* The longest replay: 3 status writes + 4 feature writes + 8 per queue +
 * DRIVER_OK/FAILED + 3 selectors. */
#define VIRTIO_SHADOW_OPS_MAX  (3u + 4u + 8u * VIRTIO_SHADOW_QUEUES + 2u + 3u)

typedef struct {
    uint32_t num, desc_lo, desc_hi, driver_lo, driver_hi, device_lo, device_hi;
    bool ready;
} virtio_shadow_queue_t;

typedef struct {
    uint32_t status;                 /* the driver's bits last written (0: reset) */
    uint32_t device_features_sel, driver_features_sel, queue_sel;
    uint32_t driver_features[2];     /* DriverFeatures of selectors 0 and 1 */
    virtio_shadow_queue_t q[VIRTIO_SHADOW_QUEUES];
} virtio_shadow_t;

typedef struct {
    uint32_t offset, value;          /* a 32-bit register write */
} virtio_shadow_op_t;

/* Whether a write of @size bytes at @offset that the device accepted goes
 * into the shadow: a 32-bit control register write (4.2.2.2), not the
 * configuration space, and not a kick (QueueNotify holds no state). The
 * one rule for the VMM (virtio_fwd.c) and the tests that play its part. */
static inline bool virtio_shadow_keeps(uint64_t offset, uint64_t size)
{
    return size == VIRTIO_MMIO_REG_SIZE && offset < VIRTIO_MMIO_CONFIG &&
           offset != VIRTIO_MMIO_QUEUE_NOTIFY;
}

/* The device accepted the driver's 32-bit write of @value at @offset
 * (a control register; configuration space writes are not kept). */
void virtio_shadow_write(virtio_shadow_t *s, uint32_t offset, uint32_t value);

/* The writes that bring a reset device to @s's state, in order, into
 * @ops (VIRTIO_SHADOW_OPS_MAX of them at most); returns how many. */
unsigned virtio_shadow_replay(const virtio_shadow_t *s, virtio_shadow_op_t *ops);

#endif
