/*
 * virtio/mmio.c - the virtio-mmio register file (virtio_mmio.h): Virtio 1.2
 * 4.2.2 (register layout and its device and driver requirements), 2.1
 * (device status), 2.2 and 6 (feature negotiation), 3.1.1 (the driver's
 * initialization sequence), 4.2.3 (queue configuration, notifications).
 */
#include <virtio_mmio.h>

/* Feature bits this transport and virtq.c implement (6); the device type's
 * own bits are its business. Not here: ACCESS_PLATFORM (no IOMMU),
 * RING_PACKED (split rings only), IN_ORDER, ORDER_PLATFORM, SR_IOV (PCI),
 * NOTIF_CONFIG_DATA (PCI). */
#define TRANSPORT_FEATURES                                                              \
    (VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) |      \
     VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_RING_RESET) |         \
     VIRTIO_FEATURE(VIRTIO_F_NOTIFICATION_DATA))
/* 2.2: bits 0-23 and 50-127 belong to the device type (64-127 are past
 * what this model offers). */
#define DEVICE_TYPE_FEATURES                                                            \
    ((VIRTIO_FEATURE(VIRTIO_F_DEVICE_FIRST_END) - 1) |                                  \
     ~(VIRTIO_FEATURE(VIRTIO_F_DEVICE_SECOND_FIRST) - 1))

#define FEATURE_WORD_BITS     32
#define FEATURE_WORDS         2          /* 64 bits offered: selectors 0 and 1 */
#define STATUS_DEFINED                                                                  \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |       \
     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)
#define CONFIG_ACCESS_MAX     4u         /* 4.2.2.2: 64-bit fields take two 32-bit accesses */

static const char *const err_names[VIRTIO_MMIO_ERR_COUNT] = {
    [VIRTIO_MMIO_OK] = "ok",
    [VIRTIO_MMIO_ERR_WIDTH] = "not a 32-bit access to a control register",
    [VIRTIO_MMIO_ERR_ALIGN] = "an access not aligned to its width",
    [VIRTIO_MMIO_ERR_NO_REGISTER] = "no register at this offset",
    [VIRTIO_MMIO_ERR_READ_ONLY] = "a write to a read-only register",
    [VIRTIO_MMIO_ERR_WRITE_ONLY] = "a read of a write-only register",
    [VIRTIO_MMIO_ERR_QUEUE_LIVE] = "queue setup written while QueueReady is 1",
    [VIRTIO_MMIO_ERR_NO_QUEUE] = "no such queue",
    [VIRTIO_MMIO_ERR_FEATURES_LOCKED] = "DriverFeatures written after FEATURES_OK",
    [VIRTIO_MMIO_ERR_FEATURES_REFUSED] = "FEATURES_OK refused: features not offered or without VERSION_1",
    [VIRTIO_MMIO_ERR_STATUS_CLEARED] = "a status write clearing a bit (only 0 resets)",
    [VIRTIO_MMIO_ERR_STATUS_ORDER] = "a status bit set before the ones it follows",
    [VIRTIO_MMIO_ERR_QUEUE_SETUP] = "QueueReady refused: bad queue size or addresses",
    [VIRTIO_MMIO_ERR_QUEUE_EARLY] = "QueueReady before FEATURES_OK",
    [VIRTIO_MMIO_ERR_BAD_VALUE] = "a value the register does not take",
    [VIRTIO_MMIO_ERR_NOT_LIVE] = "a queue notification before DRIVER_OK",
    [VIRTIO_MMIO_ERR_NOT_NEGOTIATED] = "QueueReset without VIRTIO_F_RING_RESET",
    [VIRTIO_MMIO_ERR_INT_ACK_BITS] = "InterruptACK with undefined bits",
    [VIRTIO_MMIO_ERR_CONFIG_RANGE] = "outside the configuration space",
    [VIRTIO_MMIO_ERR_CONFIG_EARLY] = "a configuration write before FEATURES_OK",
    [VIRTIO_MMIO_ERR_CONFIG_REFUSED] = "the device refused the configuration access",
};

const char *virtio_mmio_strerror(virtio_mmio_err_t err)
{
    if ((unsigned)err < VIRTIO_MMIO_ERR_COUNT && err_names[err])
        return err_names[err];
    return "unknown virtio-mmio error";
}

const char *virtio_mmio_init_strerror(virtio_mmio_init_err_t err)
{
    switch (err) {
    case VIRTIO_MMIO_INIT_OK:                  return "ok";
    case VIRTIO_MMIO_INIT_NO_VERSION_1:        return "VIRTIO_F_VERSION_1 not offered";
    case VIRTIO_MMIO_INIT_UNSUPPORTED_FEATURE: return "a reserved or unimplemented feature offered";
    case VIRTIO_MMIO_INIT_DEVICE_ID:           return "device id 0";
    case VIRTIO_MMIO_INIT_QUEUE_MAX:           return "a queue's maximum size is not a power of 2 up to 32768";
    case VIRTIO_MMIO_INIT_CONFIG_SIZE:         return "configuration space too large";
    case VIRTIO_MMIO_INIT_NO_OPS:              return "configuration space without a read callback";
    case VIRTIO_MMIO_INIT_RAM:                 return "bad RAM windows";
    }
    return "unknown virtio-mmio init error";
}

/* ---- state ---- */

static bool has_status(const virtio_mmio_dev_t *dev, uint32_t bits)
{
    return (dev->status & bits) == bits;
}

static bool negotiated(const virtio_mmio_dev_t *dev, unsigned bit)
{
    return has_status(dev, VIRTIO_STATUS_FEATURES_OK) &&
           (dev->driver_features & VIRTIO_FEATURE(bit));
}

bool virtio_mmio_irq(const virtio_mmio_dev_t *dev)
{
    return dev->interrupt_status != 0;
}

bool virtio_mmio_live(const virtio_mmio_dev_t *dev)
{
    return has_status(dev, VIRTIO_STATUS_DRIVER_OK) &&
           !(dev->status & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET));
}

/* 4.2.2.1: an event's bit stays set from the moment it takes place until
 * the driver acknowledges it. */
static void raise_interrupt(virtio_mmio_dev_t *dev, uint32_t bits, virtio_mmio_effect_t *eff)
{
    bool before = virtio_mmio_irq(dev);
    dev->interrupt_status |= bits;
    if (virtio_mmio_irq(dev) != before)
        eff->flags |= VIRTIO_MMIO_EFF_IRQ;
}

static void reset_queue(virtio_mmio_queue_t *q)
{
    q->num = 0;
    q->desc_lo = q->desc_hi = q->driver_lo = q->driver_hi = q->device_lo = q->device_hi = 0;
    virtq_reset(&q->vq);
}

/* 2.4.1 and 4.2.2.1: status back to 0, InterruptStatus and every
 * QueueReady cleared; the negotiation starts again. */
static void device_reset(virtio_mmio_dev_t *dev, virtio_mmio_effect_t *eff)
{
    if (virtio_mmio_irq(dev))
        eff->flags |= VIRTIO_MMIO_EFF_IRQ;
    dev->status = 0;
    dev->device_features_sel = dev->driver_features_sel = dev->queue_sel = dev->shm_sel = 0;
    dev->driver_features = 0;
    dev->driver_features_unknown = false;
    dev->interrupt_status = 0;
    for (unsigned i = 0; i < dev->nqueues; i++)
        reset_queue(&dev->queues[i]);
    eff->flags |= VIRTIO_MMIO_EFF_RESET;
}

virtio_mmio_init_err_t virtio_mmio_init(virtio_mmio_dev_t *dev, uint32_t device_id,
                                        uint32_t vendor_id, uint64_t features,
                                        virtio_mmio_queue_t *queues, unsigned nqueues,
                                        uint32_t config_size, const virtio_mmio_ops_t *ops,
                                        void *ctx, const virtio_ram_t *ram)
{
    if (device_id == VIRTIO_ID_RESERVED)
        return VIRTIO_MMIO_INIT_DEVICE_ID;
    if (!(features & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)))     /* 6.2 */
        return VIRTIO_MMIO_INIT_NO_VERSION_1;
    if (features & ~(TRANSPORT_FEATURES | DEVICE_TYPE_FEATURES))
        return VIRTIO_MMIO_INIT_UNSUPPORTED_FEATURE;
    for (unsigned i = 0; i < nqueues; i++) {
        uint32_t m = queues[i].num_max;
        if (m > VIRTQ_MAX_SIZE || (m & (m - 1)))               /* 2.7 */
            return VIRTIO_MMIO_INIT_QUEUE_MAX;
    }
    if (config_size > UINT32_MAX - VIRTIO_MMIO_CONFIG)
        return VIRTIO_MMIO_INIT_CONFIG_SIZE;
    if (config_size && (!ops || !ops->config_read))
        return VIRTIO_MMIO_INIT_NO_OPS;
    if (virtio_ram_check(ram) != VIRTIO_RAM_OK)
        return VIRTIO_MMIO_INIT_RAM;
    *dev = (virtio_mmio_dev_t){ .device_id = device_id, .vendor_id = vendor_id,
                                .device_features = features, .queues = queues,
                                .nqueues = nqueues, .config_size = config_size, .ops = ops,
                                .ctx = ctx, .ram = ram };
    for (unsigned i = 0; i < nqueues; i++) {
        virtq_init(&queues[i].vq);
        reset_queue(&queues[i]);
    }
    return VIRTIO_MMIO_INIT_OK;
}

/* The selected queue, if it exists (4.2.2: QueueNumMax 0 = not available). */
static virtio_mmio_queue_t *selected(virtio_mmio_dev_t *dev)
{
    if (dev->queue_sel >= dev->nqueues || dev->queues[dev->queue_sel].num_max == 0)
        return NULL;
    return &dev->queues[dev->queue_sel];
}

virtq_t *virtio_mmio_queue(virtio_mmio_dev_t *dev, unsigned i)
{
    if (!virtio_mmio_live(dev) || i >= dev->nqueues || !dev->queues[i].vq.ready)
        return NULL;
    return &dev->queues[i].vq;
}

void virtio_mmio_needs_reset(virtio_mmio_dev_t *dev, virtio_mmio_effect_t *eff)
{
    bool was_live = has_status(dev, VIRTIO_STATUS_DRIVER_OK);
    if (dev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return;
    dev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    eff->flags |= VIRTIO_MMIO_EFF_NEEDS_RESET;
    /* 2.1.2: if DRIVER_OK is set, a configuration change notification. */
    if (was_live)
        raise_interrupt(dev, VIRTIO_MMIO_INT_CONFIG, eff);
}

void virtio_mmio_config_changed(virtio_mmio_dev_t *dev, virtio_mmio_effect_t *eff)
{
    dev->config_generation++;            /* 4.2.2.1 */
    /* 2.1.2: no notifications before DRIVER_OK. */
    if (virtio_mmio_live(dev))
        raise_interrupt(dev, VIRTIO_MMIO_INT_CONFIG, eff);
}

/* ---- the server's calls ---- */

virtq_err_t virtio_mmio_pop(virtio_mmio_dev_t *dev, unsigned i, virtq_seg_t *segs, unsigned max,
                            virtq_chain_t *chain, virtio_mmio_effect_t *eff)
{
    *eff = (virtio_mmio_effect_t){ 0 };
    virtq_t *q = virtio_mmio_queue(dev, i);
    if (!q) {
        *chain = (virtq_chain_t){ 0 };
        return VIRTQ_ERR_NOT_READY;
    }
    virtq_err_t e = virtq_pop(q, segs, max, chain);
    if (q->broken) {
        eff->queue_err = q->error;
        virtio_mmio_needs_reset(dev, eff);
    }
    return e;
}

virtq_err_t virtio_mmio_push(virtio_mmio_dev_t *dev, unsigned i, uint16_t head, uint32_t len,
                             virtio_mmio_effect_t *eff)
{
    *eff = (virtio_mmio_effect_t){ 0 };
    virtq_t *q = virtio_mmio_queue(dev, i);
    if (!q)
        return VIRTQ_ERR_NOT_READY;
    virtq_err_t e = virtq_push(q, head, len);
    if (e == VIRTQ_OK && virtq_need_notify(q))
        raise_interrupt(dev, VIRTIO_MMIO_INT_VRING, eff);    /* 4.2.2: bit 0 */
    return e;
}

/* ---- status ---- */

/* 2.1.1 and 3.1.1: the driver sets the bits in the order of its
 * initialization and never clears one; 2.2.2: FEATURES_OK is refused for
 * a subset the device does not take. */
static virtio_mmio_err_t write_status(virtio_mmio_dev_t *dev, uint32_t value,
                                      virtio_mmio_effect_t *eff)
{
    if (value == 0) {                     /* 4.2.2: writing 0 resets */
        device_reset(dev, eff);
        return VIRTIO_MMIO_OK;
    }
    if (value & ~STATUS_DEFINED)                 /* 2.1: the bits defined */
        return VIRTIO_MMIO_ERR_BAD_VALUE;
    /* DEVICE_NEEDS_RESET is the device's bit: a driver write neither sets
     * nor clears it. */
    uint32_t old = dev->status;
    uint32_t want = (value & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) |
                    (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if (old & ~want)
        return VIRTIO_MMIO_ERR_STATUS_CLEARED;          /* 2.1.1: MUST NOT clear */
    uint32_t added = want & ~old;
    /* 3.1.1: ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK in that order
     * (FAILED whenever). */
    if (((want & VIRTIO_STATUS_DRIVER) && !(want & VIRTIO_STATUS_ACKNOWLEDGE)) ||
        ((want & VIRTIO_STATUS_FEATURES_OK) && !(want & VIRTIO_STATUS_DRIVER)) ||
        ((want & VIRTIO_STATUS_DRIVER_OK) && !(want & VIRTIO_STATUS_FEATURES_OK)))
        return VIRTIO_MMIO_ERR_STATUS_ORDER;
    virtio_mmio_err_t err = VIRTIO_MMIO_OK;
    if (added & VIRTIO_STATUS_FEATURES_OK) {
        uint64_t f = dev->driver_features;
        /* 2.2.1: nothing the device did not offer; 6.2: this device has no
         * legacy interface, so VERSION_1 must be accepted; then the device
         * type's own dependencies. */
        if ((f & ~dev->device_features) || dev->driver_features_unknown ||
            !(f & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)) ||
            (dev->ops && dev->ops->features_ok && !dev->ops->features_ok(dev->ctx, f))) {
            want &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;   /* 2.2.2: fail to set it */
            added &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
            if (want & VIRTIO_STATUS_DRIVER_OK)
                return VIRTIO_MMIO_ERR_FEATURES_REFUSED;
            err = VIRTIO_MMIO_ERR_FEATURES_REFUSED;
        }
    }
    dev->status = want;
    if (added & VIRTIO_STATUS_DRIVER_OK)
        eff->flags |= VIRTIO_MMIO_EFF_DRIVER_OK;
    return err;
}

/* ---- queues ---- */

static uint64_t addr64(uint32_t lo, uint32_t hi)
{
    return (uint64_t)hi << 32 | lo;
}

/* QueueReady: 1 enables the selected queue after checking it, 0 stops it. */
static virtio_mmio_err_t write_queue_ready(virtio_mmio_dev_t *dev, virtio_mmio_queue_t *q,
                                           uint32_t value, virtio_mmio_effect_t *eff)
{
    if (value == 0) {                   /* 4.2.2.2: to stop using the queue */
        virtq_reset(&q->vq);
        return VIRTIO_MMIO_OK;
    }
    if (value != 1)
        return VIRTIO_MMIO_ERR_BAD_VALUE;
    if (q->vq.ready)
        return VIRTIO_MMIO_OK;
    /* 3.1.1: queues are set up after FEATURES_OK (step 7), so the ring
     * features are known. */
    if (!has_status(dev, VIRTIO_STATUS_FEATURES_OK))
        return VIRTIO_MMIO_ERR_QUEUE_EARLY;
    virtq_config_t cfg = {
        .size = q->num,
        .desc = addr64(q->desc_lo, q->desc_hi),
        .avail = addr64(q->driver_lo, q->driver_hi),
        .used = addr64(q->device_lo, q->device_hi),
        .event_idx = negotiated(dev, VIRTIO_F_EVENT_IDX),
        .indirect = negotiated(dev, VIRTIO_F_INDIRECT_DESC),
    };
    /* 4.2.2.2: QueueNum at most QueueNumMax; virtq_setup checks the rest
     * (a power of 2, 2.7; aligned parts in RAM, 2.7.1). */
    virtq_err_t e = q->num > q->num_max ? VIRTQ_ERR_BAD_SIZE : virtq_setup(&q->vq, dev->ram, &cfg);
    if (e) {
        /* The queue stays not ready (QueueReady reads 0) and the device
         * cannot go on as the driver set it up (2.1.2). */
        eff->queue_err = e;
        virtio_mmio_needs_reset(dev, eff);
        return VIRTIO_MMIO_ERR_QUEUE_SETUP;
    }
    return VIRTIO_MMIO_OK;
}

/* QueueReset with VIRTIO_F_RING_RESET (2.6.1, 4.2.2.1): done at once, so
 * it reads 0 again at once, with QueueReady 0. */
static virtio_mmio_err_t write_queue_reset(virtio_mmio_dev_t *dev, virtio_mmio_queue_t *q,
                                           uint32_t value)
{
    if (!negotiated(dev, VIRTIO_F_RING_RESET))
        return VIRTIO_MMIO_ERR_NOT_NEGOTIATED;
    if (value == 1)
        reset_queue(q);
    else if (value != 0)
        return VIRTIO_MMIO_ERR_BAD_VALUE;
    return VIRTIO_MMIO_OK;
}

/* Queue setup registers: only while QueueReady is 0 (4.2.2.2). */
static virtio_mmio_err_t write_queue_reg(virtio_mmio_queue_t *q, uint32_t offset, uint32_t value)
{
    if (q->vq.ready)
        return VIRTIO_MMIO_ERR_QUEUE_LIVE;
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM:         q->num = value; break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:    q->desc_lo = value; break;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:   q->desc_hi = value; break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:  q->driver_lo = value; break;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: q->driver_hi = value; break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:  q->device_lo = value; break;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: q->device_hi = value; break;
    }
    return VIRTIO_MMIO_OK;
}

/* QueueNotify (4.2.3.3): the queue index, or with NOTIFICATION_DATA the
 * index in bits 0-15 and the ring position in bits 16-31 (2.9). */
static virtio_mmio_err_t write_notify(virtio_mmio_dev_t *dev, uint32_t value,
                                      virtio_mmio_effect_t *eff)
{
    uint32_t index = value;
    if (negotiated(dev, VIRTIO_F_NOTIFICATION_DATA)) {
        index = value & VIRTIO_MMIO_NOTIFY_QUEUE_MASK;
        eff->notify_data = (uint16_t)(value >> 16);
    }
    /* 3.1.1: no available buffer notification before DRIVER_OK. */
    if (!virtio_mmio_live(dev))
        return VIRTIO_MMIO_ERR_NOT_LIVE;
    if (index >= dev->nqueues || !dev->queues[index].vq.ready)
        return VIRTIO_MMIO_ERR_NO_QUEUE;
    eff->flags |= VIRTIO_MMIO_EFF_NOTIFY;
    eff->queue = (uint16_t)index;
    return VIRTIO_MMIO_OK;
}

/* ---- the configuration space (4.2.2: 0x100 on, byte-aligned layout) ---- */

static virtio_mmio_err_t config_check(const virtio_mmio_dev_t *dev, uint32_t off, unsigned size)
{
    /* 4.2.2.2: 8-bit accesses for 8-bit fields, 16-bit aligned for 16-bit,
     * 32-bit aligned for 32- and 64-bit fields. */
    if (size != 1 && size != 2 && size != CONFIG_ACCESS_MAX)
        return VIRTIO_MMIO_ERR_WIDTH;
    if (off % size)
        return VIRTIO_MMIO_ERR_ALIGN;
    if (off > dev->config_size || size > dev->config_size - off)
        return VIRTIO_MMIO_ERR_CONFIG_RANGE;
    return VIRTIO_MMIO_OK;
}

static virtio_mmio_err_t config_read(virtio_mmio_dev_t *dev, uint32_t off, unsigned size,
                                     uint32_t *value)
{
    virtio_mmio_err_t e = config_check(dev, off, size);
    if (e)
        return e;
    /* 2.5.2: readable at any time, before FEATURES_OK too. */
    if (!dev->ops->config_read(dev->ctx, off, size, value)) {
        *value = 0;
        return VIRTIO_MMIO_ERR_CONFIG_REFUSED;
    }
    return VIRTIO_MMIO_OK;
}

static virtio_mmio_err_t config_write(virtio_mmio_dev_t *dev, uint32_t off, unsigned size,
                                      uint32_t value)
{
    virtio_mmio_err_t e = config_check(dev, off, size);
    if (e)
        return e;
    /* 3.1.1 step 4: the driver MAY read but MUST NOT write the
     * configuration before the features are settled. */
    if (!has_status(dev, VIRTIO_STATUS_FEATURES_OK))
        return VIRTIO_MMIO_ERR_CONFIG_EARLY;
    if (!dev->ops->config_write)
        return VIRTIO_MMIO_ERR_READ_ONLY;
    if (!dev->ops->config_write(dev->ctx, off, size, value))
        return VIRTIO_MMIO_ERR_CONFIG_REFUSED;
    return VIRTIO_MMIO_OK;
}

/* ---- accesses ---- */

/* 4.2.2.2: control registers take 32-bit wide, aligned accesses only. */
static virtio_mmio_err_t control_check(uint32_t offset, unsigned size)
{
    if (size != VIRTIO_MMIO_REG_SIZE)
        return VIRTIO_MMIO_ERR_WIDTH;
    if (offset % VIRTIO_MMIO_REG_SIZE)
        return VIRTIO_MMIO_ERR_ALIGN;
    return VIRTIO_MMIO_OK;
}

/* The write-only registers (direction W in 4.2.2's table). */
static bool write_only(uint32_t offset)
{
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: case VIRTIO_MMIO_DRIVER_FEATURES:
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: case VIRTIO_MMIO_QUEUE_SEL:
    case VIRTIO_MMIO_QUEUE_NUM: case VIRTIO_MMIO_QUEUE_NOTIFY: case VIRTIO_MMIO_INTERRUPT_ACK:
    case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
    case VIRTIO_MMIO_SHM_SEL:
        return true;
    }
    return false;
}

/* The read-only registers (direction R). */
static bool read_only(uint32_t offset)
{
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE: case VIRTIO_MMIO_VERSION: case VIRTIO_MMIO_DEVICE_ID:
    case VIRTIO_MMIO_VENDOR_ID: case VIRTIO_MMIO_DEVICE_FEATURES: case VIRTIO_MMIO_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_INTERRUPT_STATUS: case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return true;
    }
    return false;
}

static uint32_t feature_word(uint64_t features, uint32_t sel)
{
    return sel < FEATURE_WORDS ? (uint32_t)(features >> (sel * FEATURE_WORD_BITS)) : 0;
}

static virtio_mmio_err_t read_control(virtio_mmio_dev_t *dev, uint32_t offset, uint32_t *v)
{
    virtio_mmio_queue_t *q = selected(dev);
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:       *v = VIRTIO_MMIO_MAGIC; break;      /* 4.2.2.1 */
    case VIRTIO_MMIO_VERSION:           *v = VIRTIO_MMIO_VERSION_2; break;  /* 4.2.2.1 */
    case VIRTIO_MMIO_DEVICE_ID:         *v = dev->device_id; break;
    case VIRTIO_MMIO_VENDOR_ID:         *v = dev->vendor_id; break;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        *v = feature_word(dev->device_features, dev->device_features_sel);
        break;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:     *v = q ? q->num_max : 0; break;
    case VIRTIO_MMIO_QUEUE_READY:       *v = q && q->vq.ready; break;
    case VIRTIO_MMIO_INTERRUPT_STATUS:  *v = dev->interrupt_status; break;
    case VIRTIO_MMIO_STATUS:            *v = dev->status; break;
    /* No shared memory regions: every selector is a missing one (4.2.2). */
    case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
        *v = VIRTIO_MMIO_SHM_NONE;
        break;
    case VIRTIO_MMIO_QUEUE_RESET:       /* reset completes at once: 0 */
        if (!negotiated(dev, VIRTIO_F_RING_RESET))
            return VIRTIO_MMIO_ERR_NOT_NEGOTIATED;
        *v = 0;
        break;
    case VIRTIO_MMIO_CONFIG_GENERATION: *v = dev->config_generation; break;
    default:
        return write_only(offset) ? VIRTIO_MMIO_ERR_WRITE_ONLY : VIRTIO_MMIO_ERR_NO_REGISTER;
    }
    return VIRTIO_MMIO_OK;
}

static virtio_mmio_err_t write_control(virtio_mmio_dev_t *dev, uint32_t offset, uint32_t v,
                                       virtio_mmio_effect_t *eff)
{
    virtio_mmio_queue_t *q = selected(dev);
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: dev->device_features_sel = v; return VIRTIO_MMIO_OK;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: dev->driver_features_sel = v; return VIRTIO_MMIO_OK;
    case VIRTIO_MMIO_DRIVER_FEATURES: {
        /* 3.1.1 step 5: no new features after FEATURES_OK. */
        if (has_status(dev, VIRTIO_STATUS_FEATURES_OK))
            return VIRTIO_MMIO_ERR_FEATURES_LOCKED;
        uint32_t sel = dev->driver_features_sel;
        if (sel >= FEATURE_WORDS) {
            /* Bits this device never offers: remembered, so that
             * FEATURES_OK is refused (2.2.1). */
            dev->driver_features_unknown |= v != 0;
            return VIRTIO_MMIO_OK;
        }
        unsigned shift = sel * FEATURE_WORD_BITS;
        dev->driver_features = (dev->driver_features & ~((uint64_t)UINT32_MAX << shift)) |
                               (uint64_t)v << shift;
        return VIRTIO_MMIO_OK;
    }
    case VIRTIO_MMIO_QUEUE_SEL:         dev->queue_sel = v; return VIRTIO_MMIO_OK;
    case VIRTIO_MMIO_SHM_SEL:           dev->shm_sel = v; return VIRTIO_MMIO_OK;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        return q ? write_queue_reg(q, offset, v) : VIRTIO_MMIO_ERR_NO_QUEUE;
    case VIRTIO_MMIO_QUEUE_READY:
        return q ? write_queue_ready(dev, q, v, eff) : VIRTIO_MMIO_ERR_NO_QUEUE;
    case VIRTIO_MMIO_QUEUE_RESET:
        return q ? write_queue_reset(dev, q, v) : VIRTIO_MMIO_ERR_NO_QUEUE;
    case VIRTIO_MMIO_QUEUE_NOTIFY:      return write_notify(dev, v, eff);
    case VIRTIO_MMIO_INTERRUPT_ACK: {
        bool before = virtio_mmio_irq(dev);
        dev->interrupt_status &= ~(v & VIRTIO_MMIO_INT_ALL);
        if (virtio_mmio_irq(dev) != before)
            eff->flags |= VIRTIO_MMIO_EFF_IRQ;
        /* 4.2.2.2: the driver MUST NOT set undefined bits. */
        return v & ~VIRTIO_MMIO_INT_ALL ? VIRTIO_MMIO_ERR_INT_ACK_BITS : VIRTIO_MMIO_OK;
    }
    case VIRTIO_MMIO_STATUS:            return write_status(dev, v, eff);
    }
    /* 4.2.2.2: the driver MUST NOT write the read-only registers. */
    return read_only(offset) ? VIRTIO_MMIO_ERR_READ_ONLY : VIRTIO_MMIO_ERR_NO_REGISTER;
}

virtio_mmio_err_t virtio_mmio_read(virtio_mmio_dev_t *dev, uint32_t offset, unsigned size,
                                   uint32_t *value, virtio_mmio_effect_t *eff)
{
    *eff = (virtio_mmio_effect_t){ 0 };
    *value = 0;
    if (offset >= VIRTIO_MMIO_CONFIG)
        return config_read(dev, offset - VIRTIO_MMIO_CONFIG, size, value);
    virtio_mmio_err_t e = control_check(offset, size);
    if (!e)
        e = read_control(dev, offset, value);
    if (e)
        *value = 0;
    return e;
}

virtio_mmio_err_t virtio_mmio_write(virtio_mmio_dev_t *dev, uint32_t offset, unsigned size,
                                    uint32_t value, virtio_mmio_effect_t *eff)
{
    *eff = (virtio_mmio_effect_t){ 0 };
    if (offset >= VIRTIO_MMIO_CONFIG)
        return config_write(dev, offset - VIRTIO_MMIO_CONFIG, size, value);
    virtio_mmio_err_t e = control_check(offset, size);
    return e ? e : write_control(dev, offset, value, eff);
}
