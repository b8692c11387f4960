/* tests/unit/devsrv_driver.c - the device servers' test driver (devsrv_driver.h). */
#include "devsrv_driver.h"
#include "unit.h"
#include <string.h>

uint32_t dsd_rd(dsd_t *d, uint32_t off)
{
    uint32_t v = 0xdeadbeef;
    d->access(d->dev, false, off, 4, &v, 0);
    return v;
}

bool dsd_wr(dsd_t *d, uint32_t off, uint32_t v)
{
    uint32_t ignored;
    return d->access(d->dev, true, off, 4, &ignored, v);
}

void dsd_put16(dsd_t *d, uint32_t gpa, uint16_t v) { memcpy(d->ram + gpa, &v, 2); }
uint16_t dsd_get16(dsd_t *d, uint32_t gpa) { uint16_t v; memcpy(&v, d->ram + gpa, 2); return v; }
uint32_t dsd_get32(dsd_t *d, uint32_t gpa) { uint32_t v; memcpy(&v, d->ram + gpa, 4); return v; }

void dsd_desc(dsd_t *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    virtq_desc_t e = { .addr = addr, .len = len, .flags = flags, .next = next };
    memcpy(d->ram + DSD_DESC_GPA + i * VIRTQ_DESC_SIZE, &e, sizeof e);
}

void dsd_offer(dsd_t *d, uint16_t head)
{
    dsd_put16(d, DSD_AVAIL_GPA + VIRTQ_AVAIL_RING_OFF + (d->avail_idx % DSD_QSIZE) * 2, head);
    dsd_put16(d, DSD_AVAIL_GPA + VIRTQ_AVAIL_IDX_OFF, ++d->avail_idx);
}

void dsd_driver_init(dsd_t *d, uint64_t features, unsigned queue)
{
    memset(d->ram + DSD_DESC_GPA, 0, DSD_USED_GPA + 0x1000 - DSD_DESC_GPA);
    d->avail_idx = d->used_seen = 0;
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_STATUS, 0));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER));
    for (uint32_t sel = 0; sel < 2; sel++) {
        CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel));
        CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> (32 * sel))));
    }
    uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_STATUS, st));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_QUEUE_SEL, queue));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_QUEUE_NUM, DSD_QSIZE));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DSD_DESC_GPA));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, DSD_AVAIL_GPA));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, DSD_USED_GPA));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_QUEUE_READY, 1));
    CU_ASSERT_TRUE(dsd_wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK));
    CU_ASSERT_EQUAL(dsd_rd(d, VIRTIO_MMIO_STATUS), st | VIRTIO_STATUS_DRIVER_OK);
}
