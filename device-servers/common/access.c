/* device-servers/common/access.c - forwarded guest accesses (ds_access.h). */
#include <ds_access.h>
#include <fmt.h>

const char *ds_mmio_access(virtio_mmio_dev_t *dev, uint32_t window, bool write, uint64_t offset,
                           uint64_t size, uint32_t *value, uint32_t wvalue,
                           virtio_mmio_effect_t *eff)
{
    *value = 0;
    *eff = (virtio_mmio_effect_t){ 0 };
    if (offset >= window || size == 0 || size > VIRTIO_MMIO_REG_SIZE || offset + size > window)
        return "outside the device's window or wider than 4 bytes";
    virtio_mmio_err_t e = write ? virtio_mmio_write(dev, (uint32_t)offset, (unsigned)size,
                                                    wvalue, eff)
                                : virtio_mmio_read(dev, (uint32_t)offset, (unsigned)size, value,
                                                   eff);
    if (e == VIRTIO_MMIO_OK)
        return NULL;
    *value = 0;
    return virtio_mmio_strerror(e);
}

void ds_access_str(char *buf, size_t len, bool write, uint64_t offset, uint64_t size)
{
    fmt_snprintf(buf, len, "%s of %lu bytes at 0x%lx", write ? "write" : "read",
                 (unsigned long)size, (unsigned long)offset);
}
