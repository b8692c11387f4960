/*
 * tests/guests/virtio_blk_image.c - the VM's virtio disk is a read-only
 * image served copy-on-write by the block server
 * (tests/configs/virtio-blk-image.dts: the server's 'image' is this
 * guest's own image file, so its known contents are the bytes the VMM
 * loaded at 1 MiB: the code and read-only data, up to __ro_end, never
 * change). Virtio 1.2 5.2.
 *
 * It reads the whole disk and compares it with its own image in memory
 * (zeros past the image's end, in its last sector), writes a sector and
 * reads it back between two sectors still as the image has them, writes
 * and reads back 4 KiB, flushes, has a write past the capacity refused,
 * and times a 4 KiB read and write (RAM backing: no disk under it).
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
#define LOAD_BASE    0x100000u                  /* tests/guests/lib/guest.ld */
#define F_FLUSH      9                          /* VIRTIO_BLK_F_FLUSH */
#define CFG_CAPACITY 0x100u                     /* 4.2.2: config space at 0x100; 5.2.4 */
#define T_IN         0u                         /* 5.2.6 */
#define T_OUT        1u
#define T_FLUSH      4u
#define S_OK         0u
#define S_IOERR      1u
#define PAT_SECTOR   3u                         /* the sector written alone */
#define PAT_BLOCK    1u                         /* the 4 KiB block written and timed */

extern const uint8_t __ro_end[], __load_end[];

static volatile uint32_t *regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t vq;
static guest_blk_hdr_t hdr __attribute__((aligned(16)));
static uint8_t buf[BLOCK] __attribute__((aligned(BLOCK)));
static volatile uint8_t status;
static uint16_t next_avail, seen_used;

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }

/* One request on descriptors 0-2 (no data: 0 and 2), one kick; the status,
 * or 0xFF if the chain did not come back. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len)
{
    guest_blk_chain(&vq, 0, &hdr, type, sector, buf, len, type == T_IN, &status);
    vq.avail.ring[next_avail % GUEST_VQ_SIZE] = 0;
    barrier();
    vq.avail.idx = ++next_avail;
    barrier();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, REQQ);
    barrier();
    if ((uint16_t)(vq.used.idx - seen_used) != 1)
        return 0xFF;
    seen_used++;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    return status;
}

/* The disk's byte at @off as the image has it: the loaded bytes up to
 * __ro_end (unchanged since loading), none known after it but past the
 * image's end, where the disk reads zeros. -1: not known. */
static int image_byte(uint32_t off, uint32_t image_bytes)
{
    if (off < (uint32_t)(uintptr_t)__ro_end - LOAD_BASE)
        return ((const uint8_t *)LOAD_BASE)[off];
    return off >= image_bytes ? 0 : -1;
}

/* @n bytes of buf, read at disk byte @at, as the image has them. */
static bool as_image(uint32_t at, uint32_t n, uint32_t image_bytes)
{
    for (uint32_t i = 0; i < n; i++) {
        int b = image_byte(at + i, image_bytes);
        if (b >= 0 && buf[i] != (uint8_t)b)
            return false;
    }
    return true;
}

int guest_main(void)
{
    uint32_t image_bytes = (uint32_t)(uintptr_t)__load_end - LOAD_BASE;
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK, "device id 2: a block device");
    if (!guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(F_FLUSH),
                           REQQ, &vq)) {
        CHECK(false, "driver initialization: VERSION_1 and FLUSH negotiated, requestq live");
        return guest_report("virtio_blk_image");
    }
    uint64_t capacity = rd(CFG_CAPACITY) | (uint64_t)rd(CFG_CAPACITY + 4) << 32;
    CHECK(capacity == (image_bytes + SECTOR - 1) / SECTOR,
          "the capacity is the image's size in sectors, rounded up");

    /* The whole disk, a block at a time (the last one shorter). */
    uint32_t known = 0;
    bool same = true;
    for (uint32_t s = 0; s < capacity; s += BLOCK_SECT) {
        uint32_t n = capacity - s < BLOCK_SECT ? (uint32_t)(capacity - s) : BLOCK_SECT;
        bool ok = request(T_IN, s, n * SECTOR) == S_OK && as_image(s * SECTOR, n * SECTOR,
                                                                  image_bytes);
        same &= ok;
        known += ok ? n : 0;
    }
    CHECK(same, "the disk reads as the image: the guest's own code and data, zeros after it");
    guest_printf("virtio_blk_image: image of %u bytes: %u of %u sectors read as the image\n",
                 image_bytes, known, (unsigned)capacity);

    /* One sector written: read back between its neighbours, unchanged. */
    for (uint32_t i = 0; i < SECTOR; i++)
        buf[i] = (uint8_t)(0xA5 ^ i);
    CHECK(request(T_OUT, PAT_SECTOR, SECTOR) == S_OK, "a write of one sector");
    CHECK(request(T_IN, PAT_SECTOR - 1, 3 * SECTOR) == S_OK &&
              as_image((PAT_SECTOR - 1) * SECTOR, SECTOR, image_bytes),
          "the sector before it as the image has it");
    bool mine = true;
    for (uint32_t i = 0; i < SECTOR; i++)
        mine &= buf[SECTOR + i] == (uint8_t)(0xA5 ^ i);
    CHECK(mine, "the sector written reads back as written");
    for (uint32_t i = 0; i < SECTOR; i++)
        buf[i] = buf[2 * SECTOR + i];
    CHECK(as_image((PAT_SECTOR + 1) * SECTOR, SECTOR, image_bytes),
          "the sector after it as the image has it");

    /* A block written and read back, each timed (Bochs's TSC counts
     * instructions: printed, not judged). */
    for (uint32_t i = 0; i < BLOCK; i++)
        buf[i] = (uint8_t)(i * 13 + 7);
    uint64_t t0 = rdtsc();
    uint8_t w = request(T_OUT, PAT_BLOCK * BLOCK_SECT, BLOCK);
    uint64_t t_write = rdtsc() - t0;
    t0 = rdtsc();
    uint8_t w2 = request(T_OUT, PAT_BLOCK * BLOCK_SECT, BLOCK);     /* its copy made */
    uint64_t t_rewrite = rdtsc() - t0;
    for (uint32_t i = 0; i < BLOCK; i++)
        buf[i] = 0;
    t0 = rdtsc();
    uint8_t r = request(T_IN, PAT_BLOCK * BLOCK_SECT, BLOCK);
    uint64_t t_read = rdtsc() - t0;
    bool back = w == S_OK && w2 == S_OK && r == S_OK;
    for (uint32_t i = 0; back && i < BLOCK; i++)
        back = buf[i] == (uint8_t)(i * 13 + 7);
    CHECK(back, "4 KiB written and read back");
    guest_printf("~ virtio_blk_image: instructions per 4 KiB request (image, RAM): first "
                 "write %u (the page's copy made), write %u, read %u\n", (unsigned)t_write,
                 (unsigned)t_rewrite, (unsigned)t_read);
    CHECK(request(T_FLUSH, 0, 0) == S_OK, "flush");
    CHECK(request(T_OUT, capacity, SECTOR) == S_IOERR, "a write past the capacity: IOERR");
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_blk_image");
}
