/*
 * tests/guests/virtio_blk_restart.c - a write loop on the VM's virtio
 * disk while its block server crashes and init restarts it
 * (tests/configs/virtio-blk-restart.dts: the server's option
 * blk.fault=die:CRASH_AT crashes it in the middle of a write request, after
 * the data reached the disk and before the chain is used).
 *
 * The driver knows nothing of the restart: it writes BLOCKS blocks of 4 KiB,
 * BATCH chains per kick (Virtio 1.2 2.7.13: several buffers, one
 * notification), and checks after each kick that every chain of the batch
 * came back exactly once, in the used ring, with its status OK (5.2.6).
 * Then a FLUSH (5.2.6.1: what was written is on the medium) and every
 * block read back and compared. The crash falls on the second chain of a
 * batch: the first was used by the old instance, the second taken and
 * written but not used; the new instance must serve it again (a replay),
 * not lose it, and not use the first twice.
 */
#include "lib/guest.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define REQQ         0                          /* 5.2.2: requestq */
#define SECTOR       512u
#define BLOCK        4096u
#define BLOCK_SECT   (BLOCK / SECTOR)
#define BLOCKS       32u
#define BATCH        2u                         /* 3 descriptors each: 6 of GUEST_VQ_SIZE */
#define DESC_PER_REQ 3u
#define F_FLUSH      9                          /* VIRTIO_BLK_F_FLUSH */
#define CFG_CAPACITY 0x100u                     /* 4.2.2: config space at 0x100; 5.2.4 */
/* Virtio 1.2 5.2.6 (the device side's names: device-servers/blk/vblk.h) */
#define T_IN         0u
#define T_OUT        1u
#define T_FLUSH      4u
#define S_OK         0u
#define S_UNTOUCHED  0xEEu

_Static_assert(BATCH * DESC_PER_REQ <= GUEST_VQ_SIZE, "a batch fits the descriptor table");

static volatile uint32_t *regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t vq;
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} hdr[BATCH] __attribute__((aligned(16)));
static uint8_t buf[BATCH][BLOCK] __attribute__((aligned(BLOCK)));
static volatile uint8_t status[BATCH];
static uint16_t next_avail, seen_used;

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }

static uint8_t pattern(uint32_t block, uint32_t i)
{
    uint32_t x = (block + 1) * 0x9E3779B1u ^ i * 0x85EBCA77u;
    x ^= x >> 13;
    x *= 0xC2B2AE3Du;
    return (uint8_t)(x ^ x >> 16);
}

/* Chain c: header, @len data bytes of buf[c] (device-writable for IN),
 * status; its head is descriptor c * DESC_PER_REQ. */
static void chain(unsigned c, uint32_t type, uint64_t sector, uint32_t len)
{
    uint16_t d = (uint16_t)(c * DESC_PER_REQ);
    hdr[c].type = type;
    hdr[c].reserved = 0;
    hdr[c].sector = sector;
    status[c] = S_UNTOUCHED;
    vq.desc[d] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)&hdr[c], .len = sizeof hdr[c],
                                 .flags = VIRTQ_DESC_F_NEXT, .next = (uint16_t)(d + 1) };
    if (len)
        vq.desc[d + 1] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)buf[c], .len = len,
                                         .flags = VIRTQ_DESC_F_NEXT |
                                                  (type == T_IN ? VIRTQ_DESC_F_WRITE : 0),
                                         .next = (uint16_t)(d + 2) };
    else
        vq.desc[d].next = (uint16_t)(d + 2);
    vq.desc[d + 2] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)&status[c], .len = 1,
                                     .flags = VIRTQ_DESC_F_WRITE };
    vq.avail.ring[next_avail % GUEST_VQ_SIZE] = d;
    barrier();
    vq.avail.idx = ++next_avail;
    barrier();
}

/* Kick for @n chains offered (0..n-1, in that order); true if exactly those
 * came back, once each, in order, each with status OK. */
__attribute__((noinline)) static bool kick(unsigned n)
{
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, REQQ);
    barrier();
    bool ok = (uint16_t)(vq.used.idx - seen_used) == n;
    for (unsigned c = 0; ok && c < n; c++, seen_used++)
        ok = vq.used.ring[seen_used % GUEST_VQ_SIZE].id == c * DESC_PER_REQ &&
             status[c] == S_OK;
    seen_used = vq.used.idx;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    return ok;
}

int guest_main(void)
{
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK, "device id 2: a block device");
    if (!guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(F_FLUSH),
                           REQQ, &vq)) {
        CHECK(false, "driver initialization: VERSION_1 and FLUSH negotiated, requestq live");
        return guest_report("virtio_blk_restart");
    }
    uint64_t capacity = rd(CFG_CAPACITY) | (uint64_t)rd(CFG_CAPACITY + 4) << 32;
    CHECK(capacity >= BLOCKS * BLOCK_SECT, "a capacity for the loop's blocks");

    /* The write loop: BATCH blocks a kick. */
    unsigned bad_kicks = 0;
    uint64_t slowest = 0;
    for (uint32_t b = 0; b < BLOCKS; b += BATCH) {
        for (unsigned c = 0; c < BATCH; c++) {
            for (uint32_t i = 0; i < BLOCK; i++)
                buf[c][i] = pattern(b + c, i);
            chain(c, T_OUT, (uint64_t)(b + c) * BLOCK_SECT, BLOCK);
        }
        uint64_t t0 = rdtsc();
        bad_kicks += !kick(BATCH);
        uint64_t t = rdtsc() - t0;
        slowest = t > slowest ? t : slowest;
    }
    CHECK(bad_kicks == 0, "every write came back once, in order, with status OK");
    guest_printf("virtio_blk_restart: %u blocks written, %u a kick; %u kicks went wrong\n",
                 BLOCKS, BATCH, bad_kicks);
    guest_printf("~ virtio_blk_restart: the slowest kick took %u instructions\n",
                 (unsigned)slowest);
    chain(0, T_FLUSH, 0, 0);
    CHECK(kick(1), "flush: status OK");

    /* Every block read back, one a kick. */
    unsigned intact = 0;
    for (uint32_t b = 0; b < BLOCKS; b++) {
        for (uint32_t i = 0; i < BLOCK; i++)
            buf[0][i] = 0;
        chain(0, T_IN, (uint64_t)b * BLOCK_SECT, BLOCK);
        bool ok = kick(1) && vq.used.ring[(uint16_t)(seen_used - 1) % GUEST_VQ_SIZE].len ==
                                 BLOCK + 1;
        for (uint32_t i = 0; ok && i < BLOCK; i++)
            ok = buf[0][i] == pattern(b, i);
        intact += ok;
    }
    CHECK(intact == BLOCKS, "every block reads back as written");
    guest_printf("virtio_blk_restart: %u of %u blocks read back intact\n", intact, BLOCKS);
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_blk_restart");
}
