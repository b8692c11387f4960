/* tests/guests/lib/virtio.c - virtio-mmio driver initialization (virtio.h). */
#include "virtio.h"

static uint32_t rd(volatile uint32_t *regs, uint32_t off) { return regs[off / 4]; }
static void wr(volatile uint32_t *regs, uint32_t off, uint32_t v) { regs[off / 4] = v; }

/* 4.2.3.2: queue @queue on @vq (zeroed here); true if it reads back ready. */
static bool queue_init(volatile uint32_t *regs, unsigned queue, guest_vq_t *vq)
{
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
    return rd(regs, VIRTIO_MMIO_QUEUE_READY) == 1;
}

/* 3.1.1: reset, negotiate @features, set up queue @nums[i] on @vqs[i] for
 * each i < @n, DRIVER_OK; true if the device went live. */
static bool init(volatile uint32_t *regs, uint64_t features, const unsigned *nums,
                 guest_vq_t *const *vqs, unsigned n)
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
    for (unsigned i = 0; i < n; i++)                                /* 3.1.1 step 7 */
        if (!queue_init(regs, nums[i], vqs[i]))
            return false;
    wr(regs, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
    return rd(regs, VIRTIO_MMIO_STATUS) == (st | VIRTIO_STATUS_DRIVER_OK);
}

bool guest_virtio_init_queues(volatile uint32_t *regs, uint64_t features, guest_vq_t *const *vqs,
                              unsigned n)
{
    static const unsigned nums[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    return n <= sizeof nums / sizeof nums[0] && init(regs, features, nums, vqs, n);
}

bool guest_virtio_init(volatile uint32_t *regs, uint64_t features, unsigned queue, guest_vq_t *vq)
{
    return init(regs, features, &queue, &vq, 1);
}

void guest_virtq_offer(volatile uint32_t *regs, guest_vq_t *vq, unsigned queue, uint16_t head,
                       uint16_t *next_avail, bool kick)
{
    vq->avail.ring[*next_avail % GUEST_VQ_SIZE] = head;
    __asm__ volatile("" ::: "memory");
    vq->avail.idx = ++*next_avail;
    __asm__ volatile("" ::: "memory");
    if (kick)
        wr(regs, VIRTIO_MMIO_QUEUE_NOTIFY, queue);
    __asm__ volatile("" ::: "memory");
}

bool guest_virtq_one_used(guest_vq_t *vq, uint16_t *seen, uint32_t *id, uint32_t *len)
{
    if ((uint16_t)(*(volatile uint16_t *)&vq->used.idx - *seen) != 1)
        return false;
    *id = vq->used.ring[*seen % GUEST_VQ_SIZE].id;
    *len = vq->used.ring[*seen % GUEST_VQ_SIZE].len;
    ++*seen;
    return true;
}

void guest_blk_chain(guest_vq_t *vq, uint16_t d, volatile guest_blk_hdr_t *hdr, uint32_t type,
                     uint64_t sector, const volatile void *data, uint32_t len, bool in,
                     volatile uint8_t *status)
{
    hdr->type = type;
    hdr->reserved = 0;
    hdr->sector = sector;
    *status = GUEST_BLK_S_UNTOUCHED;
    vq->desc[d] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)hdr, .len = sizeof *hdr,
                                  .flags = VIRTQ_DESC_F_NEXT,
                                  .next = (uint16_t)(d + (len ? 1 : 2)) };
    vq->desc[d + 1] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)data, .len = len,
                                      .flags = VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0),
                                      .next = (uint16_t)(d + 2) };
    vq->desc[d + 2] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)status, .len = 1,
                                      .flags = VIRTQ_DESC_F_WRITE };
}
