/*
 * tests/guests/virtio_blk.c - a minimal virtio-mmio block driver of our own
 * (Virtio 1.2 3.1.1 driver initialization, 4.2.3 over MMIO, 5.2 block
 * device) for the VM's virtio device 0, which the block server serves on a
 * partition of a real (emulated) ATA disk (tests/configs/virtio-blk.dts).
 *
 * Across boots on the same disk image (tests/system/virtio-blk.spec boots
 * twice): sector 0 holds a generation record; a boot that finds generation
 * G > 0 first checks the pattern generation G left in sectors 1..PAT_SECTORS
 * (what the previous boot wrote reached the disk), then writes generation
 * G + 1's pattern, reads it back, checks it, records G + 1 and flushes.
 *
 * Then the hostile part: requests the device must refuse without touching
 * the disk (beyond the capacity, sector numbers that wrap, data that is not
 * whole sectors, a header the device cannot read, an unknown type), and a
 * descriptor outside RAM, which breaks the queue until a reset.
 */
#include "lib/guest.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <string.h>
#include <virtio_abi.h>
#include <vm_layout.h>
#include <vmm_hypercall.h>

#define DEV              0
#define QSIZE            GUEST_VQ_SIZE
#define REQQ             0                          /* 5.2.2: requestq */
#define SECTOR           512u
#define PAT_SECTORS      16u                        /* the pattern: sectors 1..16 */
#define BUF_BYTES        (PAT_SECTORS * SECTOR)
#define GEN_MAGIC        0x4B4C4254534E454EULL      /* "NENSTBLK" */
#define OUTSIDE_RAM      0x7FFF0000u
/* Virtio 1.2 5.2.6 (as the device side names them, vblk.h) */
#define T_IN             0u
#define T_OUT            1u
#define T_FLUSH          4u
#define T_GET_ID         8u
#define T_UNKNOWN        0x1234u
#define S_OK             0u
#define S_IOERR          1u
#define S_UNSUPP         2u
#define S_UNTOUCHED      0xEEu                      /* what we put there before a request */
#define ID_BYTES         20u
#define F_FLUSH          9                          /* VIRTIO_BLK_F_FLUSH */
#define CFG_CAPACITY     0x100u                     /* 4.2.2: config space at 0x100; 5.2.4 */

static volatile uint32_t *regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;

static guest_vq_t vq;
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} hdr __attribute__((aligned(16)));
static uint8_t buf[BUF_BYTES] __attribute__((aligned(SECTOR)));
static uint8_t status;
static uint16_t next_avail, seen_used;
static uint32_t last_used_len;

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }

/* 3.1.1 and 4.2.3.2 for requestq, VERSION_1 and FLUSH; true if the device went live. */
static bool init_device(void)
{
    next_avail = seen_used = 0;
    return guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(F_FLUSH),
                             REQQ, &vq);
}

/* Offer the chain at descriptor 0 and kick; the device serves it before
 * the kick's access returns. True if exactly one element came back. */
static bool submit(void)
{
    uint32_t id;
    guest_virtq_offer(regs, &vq, REQQ, 0, &next_avail, true);
    if (!guest_virtq_one_used(&vq, &seen_used, &id, &last_used_len))
        return false;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    return true;
}

/* A request: header (device-readable), @len data bytes at @data (device-
 * writable for IN and GET_ID), status (device-writable). Returns the
 * status byte, or 0xFF if the chain did not come back. */
static uint8_t request(uint32_t type, uint64_t sector, void *data, uint32_t len, bool data_in)
{
    hdr.type = type;
    hdr.reserved = 0;
    hdr.sector = sector;
    status = S_UNTOUCHED;
    uint16_t d = 0;
    vq.desc[d] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)&hdr, .len = sizeof hdr,
                                 .flags = VIRTQ_DESC_F_NEXT, .next = 1 };
    if (len) {
        d = 1;
        vq.desc[d] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)data, .len = len,
                                     .flags = VIRTQ_DESC_F_NEXT |
                                              (data_in ? VIRTQ_DESC_F_WRITE : 0),
                                     .next = 2 };
    } else {
        vq.desc[0].next = 2;
    }
    vq.desc[2] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)&status, .len = 1,
                                 .flags = VIRTQ_DESC_F_WRITE };
    return submit() ? status : 0xFF;
}

static uint8_t pattern(uint32_t gen, uint32_t sector, uint32_t i)
{
    uint32_t x = gen * 0x9E3779B1u ^ sector * 0x85EBCA77u ^ i * 0xC2B2AE3Du;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    return (uint8_t)(x ^ x >> 12);
}

static void fill(uint32_t gen)
{
    for (uint32_t s = 0; s < PAT_SECTORS; s++)
        for (uint32_t i = 0; i < SECTOR; i++)
            buf[s * SECTOR + i] = pattern(gen, s + 1, i);
}

static bool check_pattern(uint32_t gen)
{
    for (uint32_t s = 0; s < PAT_SECTORS; s++)
        for (uint32_t i = 0; i < SECTOR; i++)
            if (buf[s * SECTOR + i] != pattern(gen, s + 1, i))
                return false;
    return true;
}

typedef struct {
    uint64_t magic;
    uint32_t generation;
} gen_record_t;

static void hostile(uint64_t capacity)
{
    /* The last sector gets a known content; refused requests must leave it. */
    __builtin_memset(buf, 0x5A, SECTOR);
    CHECK(request(T_OUT, capacity - 1, buf, SECTOR, false) == S_OK, "write of the last sector");
    CHECK(request(T_OUT, capacity - 1, buf, 2 * SECTOR, false) == S_IOERR,
          "a write running past the capacity: IOERR");
    CHECK(request(T_IN, capacity, buf, SECTOR, true) == S_IOERR,
          "a read at the capacity: IOERR");
    CHECK(request(T_IN, ~0ULL, buf, 2 * SECTOR, true) == S_IOERR,
          "a read whose sector number wraps: IOERR");
    CHECK(request(T_OUT, 1, buf, 100, false) == S_IOERR,
          "a write of 100 bytes (not whole sectors): IOERR");
    CHECK(request(T_UNKNOWN, 0, NULL, 0, false) == S_UNSUPP, "an unknown type: UNSUPP");
    /* The header in a device-writable buffer: the device cannot read it. */
    vq.desc[0].flags = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE;
    vq.desc[0].next = 2;
    status = S_UNTOUCHED;
    CHECK(submit() && status == S_IOERR, "a write-only header: IOERR");
    __builtin_memset(buf, 0, SECTOR);
    CHECK(request(T_IN, capacity - 1, buf, SECTOR, true) == S_OK && buf[0] == 0x5A &&
              buf[SECTOR - 1] == 0x5A, "the last sector is as written: no refused request "
              "touched the disk");

    /* A buffer outside RAM breaks the queue (2.1.2) until a reset. */
    vq.desc[0] = (virtq_desc_t){ .addr = OUTSIDE_RAM, .len = 16 };
    guest_virtq_offer(regs, &vq, REQQ, 0, &next_avail, true);
    CHECK(vq.used.idx == seen_used && (rd(VIRTIO_MMIO_STATUS) &
                                       VIRTIO_STATUS_DEVICE_NEEDS_RESET),
          "a buffer outside RAM: not used, DEVICE_NEEDS_RESET");
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    CHECK(init_device(), "the device works again after a reset");
}

/*
 * "bench" on the command line (./nestor bench virtio,
 * tests/configs/bench-virtio-blk.dts): figures, not checks of the rules.
 * Instructions per 4 KiB write and read (Bochs's TSC counts instructions;
 * the backing is the block server's ATA PIO disk), then the VM's exits per
 * request (the VMM's own count, VMM_HC_EXITS, around BENCH_REQS requests)
 * for a driver that takes the device's interrupts: without EVENT_IDX the
 * device interrupts at every completion (kick, InterruptStatus, ACK, EOI);
 * with it the driver asks for one every BENCH_IRQ_EVERY completions
 * (used_event, Virtio 1.2 2.7.10) and kicks only where avail_event says
 * (2.7.10, vring_need_event's rule).
 */
#define BENCH_REQS       32u
#define BENCH_SECTORS    8u                         /* 4 KiB */
#define BENCH_IRQ_EVERY  8u
#define VEC_PIC          0x20

static volatile unsigned bench_irqs;

static void on_device(guest_frame_t *f)
{
    (void)f;
    bench_irqs++;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    outb(GUEST_PIC1_CMD, GUEST_PIC_EOI);
}

static uint32_t vm_exits(void)
{
    uint32_t r;
    __asm__ volatile("vmcall" : "=a"(r) : "a"(VMM_HC_EXITS) : "memory");
    return r;
}

/* 2.7.10: whether moving an index from @old to @now passes @event. */
static bool need_event(uint16_t event, uint16_t now, uint16_t old)
{
    return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

/* One 4 KiB request at descriptors 0-2, interrupts on (taken by
 * on_device); with @event_idx, used_event and avail_event are used. */
static bool bench_request(uint32_t type, uint64_t sector, bool event_idx, uint16_t irq_at)
{
    hdr.type = type;
    hdr.reserved = 0;
    hdr.sector = sector;
    status = S_UNTOUCHED;
    vq.desc[0] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)&hdr, .len = sizeof hdr,
                                 .flags = VIRTQ_DESC_F_NEXT, .next = 1 };
    vq.desc[1] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)buf, .len = BENCH_SECTORS * SECTOR,
                                 .flags = VIRTQ_DESC_F_NEXT |
                                          (type == T_IN ? VIRTQ_DESC_F_WRITE : 0), .next = 2 };
    vq.desc[2] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)&status, .len = 1,
                                 .flags = VIRTQ_DESC_F_WRITE };
    if (event_idx)
        vq.avail.used_event = irq_at;
    /* 2.7.10: kick only if the new index passes the device's avail_event
     * (read after idx is written, so a device that just looked sees it). */
    uint16_t old = next_avail;
    guest_virtq_offer(regs, &vq, REQQ, 0, &next_avail, false);
    if (!event_idx || need_event(*(volatile uint16_t *)&vq.used.avail_event, next_avail, old))
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, REQQ);
    barrier();
    uint32_t id, len;
    return guest_virtq_one_used(&vq, &seen_used, &id, &len) && status == S_OK;
}

static void bench(void)
{
    guest_desc_init();
    guest_set_handler(VEC_PIC + vm_virtio_irq(DEV), on_device);
    guest_pic_init(VEC_PIC, (uint8_t)~((1u << vm_virtio_irq(DEV)) | (1u << 2)), 0xFF);
    fill(1);
    static const struct { uint32_t type; const char *op; } ops[] = { { T_OUT, "write" },
                                                                     { T_IN, "read" } };
    for (unsigned o = 0; o < 2; o++) {
        bool ok = init_device();
        __asm__ volatile("sti");
        uint64_t t0 = rdtsc();
        for (uint32_t i = 0; ok && i < BENCH_REQS; i++)
            ok = bench_request(ops[o].type, 1 + i * BENCH_SECTORS, false, 0);
        uint64_t t = rdtsc() - t0;
        __asm__ volatile("cli");
        CHECK(ok, "bench: 4 KiB requests served");
        guest_printf("virtio_blk_request_instructions{op=%s,bytes=4096,backing=ata-pio} %u\n",
                     ops[o].op, (unsigned)(t / BENCH_REQS));
    }
    for (unsigned ev = 0; ev < 2; ev++) {
        next_avail = seen_used = 0;
        bool ok = guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) |
                                              (ev ? VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) : 0),
                                    REQQ, &vq);
        bench_irqs = 0;
        __asm__ volatile("sti");
        uint32_t e0 = vm_exits();
        for (uint32_t i = 0; ok && i < BENCH_REQS; i++)
            ok = bench_request(T_IN, 1 + (i % 4) * BENCH_SECTORS, ev,
                               (uint16_t)(i - i % BENCH_IRQ_EVERY + BENCH_IRQ_EVERY - 1));
        uint32_t exits = vm_exits() - e0 - 1;               /* less the second VMCALL */
        __asm__ volatile("cli");
        CHECK(ok && bench_irqs == (ev ? BENCH_REQS / BENCH_IRQ_EVERY : BENCH_REQS),
              ev ? "bench: one interrupt per 8 requests with EVENT_IDX"
                 : "bench: one interrupt per request without EVENT_IDX");
        unsigned x100 = exits * 100 / BENCH_REQS;
        guest_printf("virtio_exits_per_request{dev=blk,event_idx=%s,interrupts=%s} %u.%02u\n",
                     ev ? "on" : "off", ev ? "every-8th" : "every", x100 / 100, x100 % 100);
    }
    wr(VIRTIO_MMIO_STATUS, 0);
}

int guest_main(void)
{
    CHECK(rd(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC, "virtio-mmio magic \"virt\"");
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK, "device id 2: a block device");
    if (!init_device()) {
        CHECK(false, "driver initialization: VERSION_1 and FLUSH negotiated, requestq live");
        return guest_report("virtio_blk");
    }
    uint64_t capacity = rd(CFG_CAPACITY) | (uint64_t)rd(CFG_CAPACITY + 4) << 32;
    CHECK(capacity > PAT_SECTORS + 1, "a capacity above the pattern");
    char id[ID_BYTES + 1] = { 0 };
    CHECK(request(T_GET_ID, 0, id, ID_BYTES, true) == S_OK && last_used_len == ID_BYTES + 1,
          "GET_ID: 20 bytes and the status");
    guest_printf("virtio_blk: device live, capacity %u sectors, id \"%s\"\n", (unsigned)capacity,
                 id);
    if (guest_cmdline_has("bench")) {
        bench();
        return guest_report("virtio_blk");
    }

    /* The generation record of earlier boots. */
    static gen_record_t rec __attribute__((aligned(SECTOR)));
    static uint8_t sector0[SECTOR] __attribute__((aligned(SECTOR)));
    CHECK(request(T_IN, 0, sector0, SECTOR, true) == S_OK && last_used_len == SECTOR + 1,
          "read of sector 0");
    __builtin_memcpy(&rec, sector0, sizeof rec);
    uint32_t gen = rec.magic == GEN_MAGIC ? rec.generation : 0;
    if (gen == 0) {
        guest_printf("virtio_blk: a fresh disk (no generation record)\n");
    } else {
        __builtin_memset(buf, 0, sizeof buf);
        bool ok = request(T_IN, 1, buf, BUF_BYTES, true) == S_OK && check_pattern(gen);
        CHECK(ok, "the previous boot's pattern is on the disk");
        guest_printf("virtio_blk: generation %u from an earlier boot: %u sectors %s\n", gen,
                     PAT_SECTORS, ok ? "intact" : "WRONG");
    }

    /* This boot's generation: write, read back, check, record, flush.
     * Timed (Bochs's TSC counts instructions): printed for the README's
     * costs, not judged. */
    fill(gen + 1);
    uint64_t t0 = rdtsc();
    CHECK(request(T_OUT, 1, buf, BUF_BYTES, false) == S_OK, "write of 16 sectors");
    uint64_t t_write = rdtsc() - t0;
    __builtin_memset(buf, 0, sizeof buf);
    t0 = rdtsc();
    bool read_ok = request(T_IN, 1, buf, BUF_BYTES, true) == S_OK;
    uint64_t t_read = rdtsc() - t0;
    CHECK(read_ok && check_pattern(gen + 1), "the 16 sectors read back as written");
    guest_printf("virtio_blk: instructions per 4 KiB request: write %u, read %u\n",
                 (unsigned)(t_write * 4096 / BUF_BYTES), (unsigned)(t_read * 4096 / BUF_BYTES));
    __builtin_memset(sector0, 0, sizeof sector0);
    rec = (gen_record_t){ GEN_MAGIC, gen + 1 };
    __builtin_memcpy(sector0, &rec, sizeof rec);
    CHECK(request(T_OUT, 0, sector0, SECTOR, false) == S_OK, "write of the generation record");
    CHECK(request(T_FLUSH, 0, NULL, 0, false) == S_OK, "flush");
    guest_printf("virtio_blk: disk now at generation %u\n", gen + 1);

    hostile(capacity);
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_blk");
}
