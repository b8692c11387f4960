/*
 * virtio/include/virtio_mmio.h - the register file of one virtio-mmio
 * device (Virtio 1.2 4.2, version 2: no legacy interface), with its split
 * virtqueues (virtq.h). Pure model: the caller (the VMM's MMIO exit path,
 * or a device server told of the access) passes each guest access in and
 * gets back what it must do (virtio_mmio_effect_t): look at a notified
 * queue, raise or lower the interrupt line, forget a reset device's work.
 *
 * Storage is the caller's: the device struct and its queue array. The
 * device-specific configuration space is reached through callbacks.
 *
 * Not thread-safe: register accesses and the server's pop/push calls on
 * one device come from one thread (or under the caller's lock).
 *
 * A guest access that breaks a rule of 4.2.2.2 (width, alignment, a write
 * to a read-only register, a read of a write-only one, an offset that is no
 * register) is refused with a named reason and has no effect; a read then
 * gives 0. Refusals never stop the device: the caller may log them.
 */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio_abi.h>
#include <virtio_ram.h>
#include <virtq.h>

/* Why an access was refused (or VIRTIO_MMIO_OK). */
typedef enum {
    VIRTIO_MMIO_OK = 0,
    VIRTIO_MMIO_ERR_WIDTH,            /* a control register not read/written as 32 bits */
    VIRTIO_MMIO_ERR_ALIGN,            /* not aligned to its width */
    VIRTIO_MMIO_ERR_NO_REGISTER,      /* an offset that is no register */
    VIRTIO_MMIO_ERR_READ_ONLY,        /* a write to a read-only register */
    VIRTIO_MMIO_ERR_WRITE_ONLY,       /* a read of a write-only register */
    VIRTIO_MMIO_ERR_QUEUE_LIVE,       /* queue setup written while QueueReady is 1 */
    VIRTIO_MMIO_ERR_NO_QUEUE,         /* QueueSel or a notification names no queue */
    VIRTIO_MMIO_ERR_FEATURES_LOCKED,  /* DriverFeatures written after FEATURES_OK */
    VIRTIO_MMIO_ERR_FEATURES_REFUSED, /* FEATURES_OK refused: features not offered, no VERSION_1 */
    VIRTIO_MMIO_ERR_STATUS_CLEARED,   /* a status write clears a bit (only 0 resets) */
    VIRTIO_MMIO_ERR_STATUS_ORDER,     /* a status bit before the ones it needs */
    VIRTIO_MMIO_ERR_QUEUE_SETUP,      /* QueueReady 1 refused: the queue's values are bad */
    VIRTIO_MMIO_ERR_QUEUE_EARLY,      /* QueueReady 1 before FEATURES_OK */
    VIRTIO_MMIO_ERR_BAD_VALUE,        /* a value the register does not take */
    VIRTIO_MMIO_ERR_NOT_LIVE,         /* a notification before DRIVER_OK */
    VIRTIO_MMIO_ERR_NOT_NEGOTIATED,   /* QueueReset without VIRTIO_F_RING_RESET */
    VIRTIO_MMIO_ERR_INT_ACK_BITS,     /* InterruptACK with undefined bits (the rest done) */
    VIRTIO_MMIO_ERR_CONFIG_RANGE,     /* outside the configuration space */
    VIRTIO_MMIO_ERR_CONFIG_EARLY,     /* a configuration write before FEATURES_OK */
    VIRTIO_MMIO_ERR_CONFIG_REFUSED,   /* the device's callback refused the access */
    VIRTIO_MMIO_ERR_COUNT
} virtio_mmio_err_t;

const char *virtio_mmio_strerror(virtio_mmio_err_t err);

/* What the caller must do after an access (several may be set). */
#define VIRTIO_MMIO_EFF_NOTIFY     0x01u  /* the driver notified queue eff.queue */
#define VIRTIO_MMIO_EFF_IRQ        0x02u  /* the interrupt line changed: see virtio_mmio_irq() */
#define VIRTIO_MMIO_EFF_RESET      0x04u  /* the device was reset: drop requests in flight */
#define VIRTIO_MMIO_EFF_DRIVER_OK  0x08u  /* the device went live */
#define VIRTIO_MMIO_EFF_NEEDS_RESET 0x10u /* the device entered DEVICE_NEEDS_RESET (eff.queue_err says why) */

typedef struct {
    uint32_t flags;           /* VIRTIO_MMIO_EFF_* */
    uint16_t queue;           /* NOTIFY: the queue */
    uint16_t notify_data;     /* NOTIFY with VIRTIO_F_NOTIFICATION_DATA: bits 16-31 */
    virtq_err_t queue_err;    /* NEEDS_RESET / ERR_QUEUE_SETUP: the queue's reason */
} virtio_mmio_effect_t;

/* The device type's part. */
typedef struct {
    /* Read @size (1, 2 or 4) bytes at @offset of the configuration space
     * (offset + size <= config_size, aligned); false refuses it. */
    bool (*config_read)(void *ctx, uint32_t offset, unsigned size, uint32_t *value);
    /* Write them; false refuses it. NULL: the space is read-only. */
    bool (*config_write)(void *ctx, uint32_t offset, unsigned size, uint32_t value);
    /* A further check of the features the driver accepted, for the
     * dependencies of the device type's own bits (2.2.1); NULL: none. */
    bool (*features_ok)(void *ctx, uint64_t features);
} virtio_mmio_ops_t;

typedef struct {
    uint16_t num_max;         /* QueueNumMax (0: the queue does not exist) */
    uint32_t num;             /* QueueNum as written */
    uint32_t desc_lo, desc_hi, driver_lo, driver_hi, device_lo, device_hi;
    virtq_t vq;
} virtio_mmio_queue_t;

typedef struct {
    /* fixed at init */
    uint32_t device_id, vendor_id;
    uint64_t device_features;        /* offered; VERSION_1 is always among them */
    virtio_mmio_queue_t *queues;
    unsigned nqueues;
    uint32_t config_size;            /* bytes of configuration space at 0x100 */
    const virtio_mmio_ops_t *ops;
    void *ctx;
    const virtio_ram_t *ram;
    /* driver-visible state */
    uint32_t status;
    uint32_t device_features_sel, driver_features_sel, queue_sel, shm_sel;
    uint64_t driver_features;
    bool driver_features_unknown;    /* a 1 written beyond the 64 bits offered */
    uint32_t interrupt_status;
    uint32_t config_generation;
} virtio_mmio_dev_t;

/* Why virtio_mmio_init refused a device description. */
typedef enum {
    VIRTIO_MMIO_INIT_OK = 0,
    VIRTIO_MMIO_INIT_NO_VERSION_1,     /* 6.2: a device MUST offer VIRTIO_F_VERSION_1 */
    VIRTIO_MMIO_INIT_UNSUPPORTED_FEATURE, /* a reserved or unimplemented feature offered */
    VIRTIO_MMIO_INIT_DEVICE_ID,        /* device id 0 (a placeholder, 4.2.2) */
    VIRTIO_MMIO_INIT_QUEUE_MAX,        /* a queue's maximum size above 32768 or not a power of 2 */
    VIRTIO_MMIO_INIT_CONFIG_SIZE,      /* configuration space beyond 32-bit offsets */
    VIRTIO_MMIO_INIT_NO_OPS,           /* configuration space without a read callback */
    VIRTIO_MMIO_INIT_RAM,              /* the RAM windows are bad (virtio_ram_check) */
} virtio_mmio_init_err_t;

const char *virtio_mmio_init_strerror(virtio_mmio_init_err_t err);

/*
 * Describe a device: @features offered (VERSION_1 among them), and
 * queues[i].num_max set by the caller for each of @nqueues queues (a power
 * of 2 up to 32768, or 0 for a queue that is absent). Feature bits this
 * transport implements besides the device type's own (0-23, 50-63):
 * INDIRECT_DESC, EVENT_IDX, VERSION_1, RING_RESET, NOTIFICATION_DATA. The
 * device starts reset; each queue's virtq policy (virtq.h) may be set after.
 */
virtio_mmio_init_err_t virtio_mmio_init(virtio_mmio_dev_t *dev, uint32_t device_id,
                                        uint32_t vendor_id, uint64_t features,
                                        virtio_mmio_queue_t *queues, unsigned nqueues,
                                        uint32_t config_size, const virtio_mmio_ops_t *ops,
                                        void *ctx, const virtio_ram_t *ram);

/* A guest access at @offset from the device's base, @size bytes. @eff is
 * cleared, then says what the caller must do. */
virtio_mmio_err_t virtio_mmio_read(virtio_mmio_dev_t *dev, uint32_t offset, unsigned size,
                                   uint32_t *value, virtio_mmio_effect_t *eff);
virtio_mmio_err_t virtio_mmio_write(virtio_mmio_dev_t *dev, uint32_t offset, unsigned size,
                                    uint32_t value, virtio_mmio_effect_t *eff);

/* The interrupt line: asserted while InterruptStatus is not 0 (4.2.3.4). */
bool virtio_mmio_irq(const virtio_mmio_dev_t *dev);

/* Is the device live (DRIVER_OK, not FAILED, not NEEDS_RESET)? */
bool virtio_mmio_live(const virtio_mmio_dev_t *dev);

/* Queue @i if it may be used now (the device is live and the queue ready),
 * else NULL. (2.1.2: no buffers consumed before DRIVER_OK; 4.2.2.1: no queue
 * access while QueueReady is 0.) */
virtq_t *virtio_mmio_queue(virtio_mmio_dev_t *dev, unsigned i);

/*
 * The server's calls, each with the device's rules around the queue's:
 *  - pop: virtq_pop on queue @i; a fatal refusal puts the device in
 *    DEVICE_NEEDS_RESET and sends the configuration change notification
 *    (2.1.2), reported in @eff.
 *  - push: virtq_push, then, if the driver wants it (virtq_need_notify), a
 *    used buffer notification (InterruptStatus bit 0, eff IRQ).
 */
virtq_err_t virtio_mmio_pop(virtio_mmio_dev_t *dev, unsigned i, virtq_seg_t *segs, unsigned max,
                            virtq_chain_t *chain, virtio_mmio_effect_t *eff);
virtq_err_t virtio_mmio_push(virtio_mmio_dev_t *dev, unsigned i, uint16_t head, uint32_t len,
                             virtio_mmio_effect_t *eff);

/* The device found an error it cannot recover from (2.1.2): set
 * DEVICE_NEEDS_RESET and, if live, notify a configuration change. */
void virtio_mmio_needs_reset(virtio_mmio_dev_t *dev, virtio_mmio_effect_t *eff);

/* The device changed its configuration space: a new generation (4.2.2)
 * and, if DRIVER_OK, a configuration change notification. */
void virtio_mmio_config_changed(virtio_mmio_dev_t *dev, virtio_mmio_effect_t *eff);

#endif
