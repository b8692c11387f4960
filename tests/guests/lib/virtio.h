/*
 * tests/guests/lib/virtio.h - the part of a virtio-mmio driver every test
 * guest with a virtio device repeats: one split queue of GUEST_VQ_SIZE in
 * the guest's RAM and the initialization sequence (Virtio 1.2 3.1.1 steps
 * 1-8, 4.2.3.2 for the queue). The device-specific part stays in each
 * guest (virtio_console.c, virtio_blk.c).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio_abi.h>

#define GUEST_VQ_SIZE 8

/* The split ring (2.7): each part at its alignment. */
typedef struct {
    virtq_desc_t desc[GUEST_VQ_SIZE] __attribute__((aligned(VIRTQ_DESC_ALIGN)));
    struct {
        uint16_t flags, idx, ring[GUEST_VQ_SIZE], used_event;
    } avail __attribute__((aligned(VIRTQ_AVAIL_ALIGN)));
    struct {
        uint16_t flags, idx;
        struct { uint32_t id, len; } ring[GUEST_VQ_SIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(VIRTQ_USED_ALIGN)));
} guest_vq_t;

/*
 * Reset the device at @regs and bring it up with exactly the features
 * @features (the device must offer all of them; VERSION_1 among them) and
 * queue @queue set up on @vq (zeroed here). True if the device went live
 * (DRIVER_OK read back).
 */
bool guest_virtio_init(volatile uint32_t *regs, uint64_t features, unsigned queue, guest_vq_t *vq);

/* Offer the chain at descriptor @head of @vq (queue number @queue) and,
 * if @kick, notify the device (2.7.13: the ring entry before idx, 4.2.3.3
 * QueueNotify); *@next_avail is the driver's avail index. */
void guest_virtq_offer(volatile uint32_t *regs, guest_vq_t *vq, unsigned queue, uint16_t head,
                       uint16_t *next_avail, bool kick);

/* Whether exactly one used element came after *@seen (then *@seen moves
 * past it and *@id, *@len are its). */
bool guest_virtq_one_used(guest_vq_t *vq, uint16_t *seen, uint32_t *id, uint32_t *len);

/* Virtio 1.2 5.2.6: struct virtio_blk_req's header. */
typedef struct {
    uint32_t type, reserved;
    uint64_t sector;
} guest_blk_hdr_t;
#define GUEST_BLK_S_UNTOUCHED 0xEEu     /* a status byte no device wrote */

/* A virtio-blk request on descriptors @d to @d + 2 of @vq: the header at
 * @hdr filled (@type, @sector), @len bytes at @data (device-writable if
 * @in; with @len 0 the header chains straight to the status), the status
 * byte at @status (device-writable) set to GUEST_BLK_S_UNTOUCHED. Not
 * offered yet. */
void guest_blk_chain(guest_vq_t *vq, uint16_t d, volatile guest_blk_hdr_t *hdr, uint32_t type,
                     uint64_t sector, const volatile void *data, uint32_t len, bool in,
                     volatile uint8_t *status);

/* The same with @n queues: queue i (numbered i) set up on @vqs[i]. */
bool guest_virtio_init_queues(volatile uint32_t *regs, uint64_t features, guest_vq_t *const *vqs,
                              unsigned n);

#endif
