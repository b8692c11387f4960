/* device-servers/common/access.c - forwarded guest accesses (ds_access.h). */
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
