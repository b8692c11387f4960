/* device-servers/common/access.c - forwarded guest accesses (ds_access.h). */
#include <devsrv.h>
#include <ds_access.h>
#include <fmt.h>
#include <virtq.h>

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
