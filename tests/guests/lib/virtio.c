/* tests/guests/lib/virtio.c - virtio-mmio driver initialization (virtio.h). */
#include "virtio.h"

static uint32_t rd(volatile uint32_t *regs, uint32_t off) { return regs[off / 4]; }
static void wr(volatile uint32_t *regs, uint32_t off, uint32_t v) { regs[off / 4] = v; }

bool guest_virtio_init(volatile uint32_t *regs, uint64_t features, unsigned queue, guest_vq_t *vq)
{
    wr(regs, VIRTIO_MMIO_STATUS, 0);                                /* reset */
    if (rd(regs, VIRTIO_MMIO_STATUS) != 0)
        return false;
    wr(regs, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(regs, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    for (uint32_t sel = 0; sel < 2; sel++) {                        /* 3.1.1 step 4 */
        uint32_t want = (uint32_t)(features >> (32 * sel));
        if (want) {             /* each access exits: only look where we want something */
            wr(regs, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
            if ((rd(regs, VIRTIO_MMIO_DEVICE_FEATURES) & want) != want)
                return false;
        }
        wr(regs, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        wr(regs, VIRTIO_MMIO_DRIVER_FEATURES, want);
    }
    uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    wr(regs, VIRTIO_MMIO_STATUS, st);
    if (!(rd(regs, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))   /* 3.1.1 step 6 */
        return false;
    wr(regs, VIRTIO_MMIO_QUEUE_SEL, queue);
    if (rd(regs, VIRTIO_MMIO_QUEUE_READY) != 0 ||
        rd(regs, VIRTIO_MMIO_QUEUE_NUM_MAX) < GUEST_VQ_SIZE)
        return false;
    __builtin_memset(vq, 0, sizeof *vq);
    wr(regs, VIRTIO_MMIO_QUEUE_NUM, GUEST_VQ_SIZE);
    wr(regs, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)vq->desc);
    wr(regs, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(regs, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)&vq->avail);
    wr(regs, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(regs, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)&vq->used);
    wr(regs, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(regs, VIRTIO_MMIO_QUEUE_READY, 1);
    if (rd(regs, VIRTIO_MMIO_QUEUE_READY) != 1)
        return false;
    wr(regs, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
    return rd(regs, VIRTIO_MMIO_STATUS) == (st | VIRTIO_STATUS_DRIVER_OK);
}
