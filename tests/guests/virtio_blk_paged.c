/*
 * tests/guests/virtio_blk_paged.c - virtio-blk I/O with everything the
 * device touches in RAM a pager owns (tests/configs/virtio-blk-paged.dts:
 * the pager has a small frame budget and swaps to a block server; the
 * VM's disk is served by another block server, as this guest's own image,
 * copy-on-write). pager/README.md "Device DMA": the device server pins
 * each page through the pager before it touches it.
 *
 * The queue's rings, the request header and status, and the data buffers
 * all lie above 2 MiB (the pager's range), each buffer 8 KiB starting
 * mid-page (three pages). Between the steps the guest writes an eviction
 * area larger than the pager's frames, so the pages the device will touch
 * next are in swap (the server's pins bring them back: the pager's line
 * counts them):
 *   1. BLOCKS source buffers filled with a pattern; evicted; each written
 *      to the disk (the device reads swapped-out pages);
 *   2. BLOCKS other buffers filled with 0xEE; evicted; each read from the
 *      disk (the device writes swapped-out pages: the pager must count
 *      them written, or its clock would drop them as clean and the 0xEE
 *      copy in swap would come back);
 *   3. evicted again; each buffer compared with the pattern;
 *   4. a request whose data lies past the end of RAM: still refused by
 *      virtio's checks (the queue breaks: DEVICE_NEEDS_RESET).
 */
#include "lib/guest.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define REQQ         0                          /* Virtio 1.2 5.2.2: requestq */
#define SECTOR       512u
#define MIB          (1024u * 1024u)
#define PAGE         4096u
#define BLK          (8u * 1024u)               /* a request's data: 8 KiB */
#define BLK_SECT     (BLK / SECTOR)
#define BLOCKS       8u
#define VQ_GPA       (3u * MIB)                 /* the rings: one page of the pager's */
#define HDR_GPA      (3u * MIB + 0x10000u)      /* header and status: another */
#define SRC(k)       (4u * MIB + (k) * MIB + 0x800u)     /* mid-page: three pages each */
#define DST(k)       (12u * MIB + (k) * MIB + 0x400u)
#define EVICT_START  (20u * MIB)
#define EVICT_BYTES  (6u * MIB)                 /* more than the pager's frames */
#define T_IN         0u                         /* 5.2.6 */
#define T_OUT        1u
#define S_OK         0u
#define S_UNTOUCHED  0xEEu
#define FILL         0xEEu

/* Room in the image: the VM's disk is this image (its capacity the
 * image's size), so it must hold BLOCKS blocks. Initialised data, so the
 * flat image carries it. */
static const volatile uint8_t disk_room[BLOCKS * BLK + 16 * 1024] = { 1 };

static volatile uint32_t *regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t *const vq = (guest_vq_t *)VQ_GPA;
static uint16_t next_avail, seen_used;

typedef struct {
    uint32_t type, reserved;
    uint64_t sector;
} blk_hdr_t;

static volatile blk_hdr_t *const hdr = (volatile blk_hdr_t *)HDR_GPA;
static volatile uint8_t *const status = (volatile uint8_t *)(HDR_GPA + 0x100u);

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }

static uint8_t pattern(uint32_t k, uint32_t i) { return (uint8_t)(k * 37 + i * 11 + (i >> 9)); }

/* One request on descriptors 0-2, one kick; its status, 0xFF if the chain
 * did not come back. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t data, uint32_t len)
{
    hdr->type = type;
    hdr->reserved = 0;
    hdr->sector = sector;
    *status = S_UNTOUCHED;
    vq->desc[0] = (virtq_desc_t){ .addr = HDR_GPA, .len = sizeof(blk_hdr_t),
                                  .flags = VIRTQ_DESC_F_NEXT, .next = 1 };
    vq->desc[1] = (virtq_desc_t){ .addr = data, .len = len,
                                  .flags = VIRTQ_DESC_F_NEXT |
                                           (type == T_IN ? VIRTQ_DESC_F_WRITE : 0), .next = 2 };
    vq->desc[2] = (virtq_desc_t){ .addr = HDR_GPA + 0x100u, .len = 1,
                                  .flags = VIRTQ_DESC_F_WRITE };
    vq->avail.ring[next_avail % GUEST_VQ_SIZE] = 0;
    barrier();
    vq->avail.idx = ++next_avail;
    barrier();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, REQQ);
    barrier();
    if ((uint16_t)(vq->used.idx - seen_used) != 1)
        return 0xFF;
    seen_used++;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    return *status;
}

/* Write the eviction area: every earlier page the pager holds goes out
 * (to swap if it was written). */
static void evict(uint32_t round)
{
    volatile uint32_t *mem = (volatile uint32_t *)0;
    for (uint32_t a = EVICT_START; a < EVICT_START + EVICT_BYTES; a += PAGE)
        mem[a / 4] = a ^ round;
}

int guest_main(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)guest_boot_info;
    uint32_t end = mb && (mb->flags & GUEST_MB_INFO_MEM) ? MIB + mb->mem_upper * 1024u : 0;
    CHECK(end >= EVICT_START + EVICT_BYTES, "RAM for the buffers and the eviction area");
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK, "device id 2: a block device");
    if (guest_failed ||
        !guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), REQQ, vq)) {
        CHECK(false, "driver initialization with the rings in paged RAM");
        return guest_report("virtio_blk_paged");
    }
    uint64_t capacity = rd(0x100) | (uint64_t)rd(0x104) << 32;     /* 5.2.4 */
    CHECK(capacity >= BLOCKS * BLK_SECT && disk_room[0] == 1, "the disk holds the blocks");

    /* 1. Written from buffers in swap. */
    for (uint32_t k = 0; k < BLOCKS; k++)
        for (uint32_t i = 0; i < BLK; i++)
            ((volatile uint8_t *)SRC(k))[i] = pattern(k, i);
    evict(1);
    unsigned ok = 0;
    for (uint32_t k = 0; k < BLOCKS; k++)
        ok += request(T_OUT, k * BLK_SECT, SRC(k), BLK) == S_OK;
    CHECK(ok == BLOCKS, "every block written from buffers that were in swap");

    /* 2. Read into buffers in swap (their old contents 0xEE there too). */
    for (uint32_t k = 0; k < BLOCKS; k++)
        for (uint32_t i = 0; i < BLK; i++)
            ((volatile uint8_t *)DST(k))[i] = FILL;
    evict(2);
    ok = 0;
    for (uint32_t k = 0; k < BLOCKS; k++)
        ok += request(T_IN, k * BLK_SECT, DST(k), BLK) == S_OK;
    CHECK(ok == BLOCKS, "every block read into buffers that were in swap");

    /* 3. Out to swap once more, then compared. */
    evict(3);
    uint32_t wrong = 0;
    for (uint32_t k = 0; k < BLOCKS; k++)
        for (uint32_t i = 0; i < BLK; i++)
            wrong += ((volatile uint8_t *)DST(k))[i] != pattern(k, i);
    CHECK(wrong == 0, "every block read back as written, after its pages went to swap");
    guest_printf("virtio_blk_paged: %u blocks of %u KiB written from and read into paged RAM "
                 "swapped out in between: %u wrong bytes\n", BLOCKS, BLK / 1024, wrong);

    /* 4. Data past the end of RAM: virtio's checks still refuse it. */
    CHECK(request(T_IN, 0, end, BLK) == 0xFF && *status == S_UNTOUCHED,
          "a buffer past the end of RAM: not served");
    CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET,
          "... and the device needs a reset");
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_blk_paged");
}
