/* device-servers/common/access.c - forwarded guest accesses (ds_access.h). */
#include <devsrv.h>
#include <ds_access.h>
#include <fmt.h>
#include <virtq.h>
#include <string.h>

bool ds_chain_refused(virtio_mmio_dev_t *dev, unsigned q, virtq_err_t e, uint16_t head,
                      virtio_mmio_effect_t *eff, char *why, size_t len)
{
    bool fatal = virtq_err_fatal(e) || (eff->flags & VIRTIO_MMIO_EFF_NEEDS_RESET);
    fmt_snprintf(why, len, "%s%s", virtq_strerror(e), fatal ? "; the device needs a reset" : "");
    if (!fatal)
        virtio_mmio_push(dev, q, head, 0, eff);
    return fatal;
}

void ds_access_str(char *buf, size_t len, bool write, uint64_t offset, uint64_t size)
{
    fmt_snprintf(buf, len, "%s of %lu bytes at 0x%lx", write ? "write" : "read",
                 (unsigned long)size, (unsigned long)offset);
}

unsigned ds_resume(virtio_mmio_dev_t *dev, uint32_t flags)
{
    unsigned available = 0;
    for (unsigned i = 0; i < dev->nqueues; i++) {
        virtq_t *q = virtio_mmio_queue(dev, i);
        if (q)
            available += virtq_resume(q);
    }
    /* 4.2.2.1: the bit stays set until the driver acknowledges it; a
     * spurious used-buffer notification only makes it look at its used
     * ring (2.7.7), a lost one could stall it. */
    if (flags & DS_RESUME_IRQ)
        dev->interrupt_status |= VIRTIO_MMIO_INT_VRING;
    return available;
}

bool ds_state_export(const virtio_mmio_dev_t *dev, ds_state_t *st)
{
    *st = (ds_state_t){ .version = DS_STATE_VERSION, .device_id = dev->device_id,
                        .status = dev->status, .interrupt_status = dev->interrupt_status,
                        .config_generation = dev->config_generation, .nqueues = dev->nqueues };
    for (unsigned i = 0; i < dev->nqueues && i < DS_STATE_QUEUES; i++)
        if (!virtq_export(&dev->queues[i].vq, &st->q[i]))
            return false;
    return dev->nqueues <= DS_STATE_QUEUES;
}

unsigned ds_state_check(const virtio_mmio_dev_t *dev, const ds_state_t *st,
                        uint32_t dev_version, uint32_t dev_bytes, const char **why)
{
    if ((st->version != DS_STATE_VERSION && st->version != DS_STATE_VERSION_1) ||
        st->device_id != dev->device_id || st->nqueues != dev->nqueues ||
        st->nqueues > DS_STATE_QUEUES) {
        *why = "another state version, device type or number of queues";
        return DS_STATE_E_VERSION;
    }
    /* 2.1.2: DEVICE_NEEDS_RESET is the device's bit, the others the
     * driver's, which the replay set already; 4.2.2: InterruptStatus has
     * two defined bits. */
    if ((st->status & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) != dev->status ||
        (st->interrupt_status & ~VIRTIO_MMIO_INT_ALL)) {
        *why = "a Status other than the driver's writes give, or undefined interrupt bits";
        return DS_STATE_E_STATUS;
    }
    /* Every queue checked before any changes; none beyond the device's. */
    static const virtq_progress_t none;
    for (unsigned i = st->nqueues; i < DS_STATE_QUEUES; i++)
        if (memcmp(&st->q[i], &none, sizeof none)) {
            *why = "progress for a queue the device does not have";
            return DS_STATE_E_QUEUE;
        }
    for (unsigned i = 0; i < st->nqueues; i++) {
        virtq_t probe = dev->queues[i].vq;
        if ((*why = virtq_import(&probe, &st->q[i])) != NULL)
            return DS_STATE_E_QUEUE;
    }
    /* The device type's part: exactly the layout it expects (a version 1
     * state has none: only for a type without one), zeros after it. */
    const uint32_t want_version = st->version == DS_STATE_VERSION_1 ? 0 : dev_version;
    const uint32_t want_bytes = st->version == DS_STATE_VERSION_1 ? 0 : dev_bytes;
    if (st->dev_version != want_version || st->dev_bytes != want_bytes ||
        (st->version == DS_STATE_VERSION_1 && dev_bytes)) {
        *why = "the device type's own state missing, of another version or of another size";
        return DS_STATE_E_DEVICE;
    }
    for (unsigned i = want_bytes; i < DS_STATE_DEV_BYTES; i++)
        if (st->dev[i]) {
            *why = "bytes after the device type's own state";
            return DS_STATE_E_DEVICE;
        }
    *why = NULL;
    return 0;
}

void ds_state_apply(virtio_mmio_dev_t *dev, const ds_state_t *st)
{
    for (unsigned i = 0; i < st->nqueues; i++)
        virtq_import(&dev->queues[i].vq, &st->q[i]);
    dev->status = st->status;
    dev->interrupt_status = st->interrupt_status;
    dev->config_generation = st->config_generation;
}

unsigned ds_state_import(virtio_mmio_dev_t *dev, const ds_state_t *st, const char **why)
{
    unsigned e = ds_state_check(dev, st, 0, 0, why);
    if (!e)
        ds_state_apply(dev, st);
    return e;
}
