/*
 * tests/guests/virtio_console_paged.c - the virtio console with everything
 * the device touches in RAM a pager owns (tests/configs/virtio-console-
 * paged.dts: the pager has a small frame budget and swaps to a block
 * server). pager/README.md "Device DMA": the console server pins each page
 * through the pager before it touches it, as the block server does
 * (tests/guests/virtio_blk_paged.c).
 *
 * Both queues' rings lie above 2 MiB (the pager's range), each buffer
 * across a page boundary. Between the steps the guest writes an eviction
 * area larger than the pager's frames, so the pages the device touches
 * next are in swap:
 *   1. LINES lines written into transmit buffers; evicted; offered with
 *      one kick: the server reads swapped-out pages and prints them;
 *   2. receive buffers filled with FILL; evicted; offered: the server
 *      writes the host's input (the config's console.input) into
 *      swapped-out pages and interrupts (Virtio 1.2 5.3.6);
 *   3. evicted again (the pager must have counted the server's writes, or
 *      its clock would drop the pages as clean and the FILL copies in
 *      swap would come back); the input compared byte for byte.
 */
#include "lib/guest.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define DEV          0
#define RXQ          0                          /* Virtio 1.2 5.3.2: receiveq0 */
#define TXQ          1                          /* transmitq0 */
#define MIB          (1024u * 1024u)
#define PAGE         4096u
#define RXQ_GPA      (3u * MIB)                 /* each queue's rings: a page of the pager's */
#define TXQ_GPA      (3u * MIB + 0x10000u)
#define LINE_GPA(k)  (4u * MIB + (k) * MIB + PAGE - 16u)    /* across a page boundary */
#define RX_GPA(k)    (8u * MIB + (k) * MIB + PAGE - 4u)     /* 4 bytes, then the next page */
#define RX_BUF       8u
#define RX_BUFS      4u                         /* 32 bytes of room for the input */
#define LINES        3u
#define EVICT_START  (12u * MIB)
#define EVICT_BYTES  (6u * MIB)                 /* more than the pager's frames */
#define FILL         0xEEu
#define VEC_PIC      0x20                       /* the master 8259's vectors from here */
#define HLT_MAX      64                         /* wake-ups waited for before giving up */
#define INPUT        "paged-input-from-the-host\n"  /* the config's console.input, newline added */
#define INPUT_LEN    (sizeof INPUT - 1)

static volatile uint32_t *const regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t *const rxq = (guest_vq_t *)RXQ_GPA;
static guest_vq_t *const txq = (guest_vq_t *)TXQ_GPA;
static volatile unsigned irqs;

static const char *const lines[LINES] = {
    "virtio-console-paged: line 1 from a buffer that was in swap\n",
    "virtio-console-paged: line 2 from a buffer that was in swap\n",
    "virtio-console-paged: line 3 from a buffer that was in swap\n",
};

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }

static unsigned slen(const char *s)
{
    unsigned n = 0;
    while (s[n])
        n++;
    return n;
}

/* The device's interrupt: acknowledge InterruptStatus (4.2.3.4), end it at the PIC. */
static void on_device(guest_frame_t *f)
{
    (void)f;
    irqs++;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
    outb(GUEST_PIC1_CMD, GUEST_PIC_EOI);
}

/* Write the eviction area: every earlier page the pager holds goes out
 * (to swap if it was written). */
static void evict(uint32_t round)
{
    volatile uint32_t *mem = (volatile uint32_t *)0;
    for (uint32_t a = EVICT_START; a < EVICT_START + EVICT_BYTES; a += PAGE)
        mem[a / 4] = a ^ round;
}

static uint16_t used_idx(guest_vq_t *q) { return *(volatile uint16_t *)&q->used.idx; }

int guest_main(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)guest_boot_info;
    uint32_t end = mb && (mb->flags & GUEST_MB_INFO_MEM) ? MIB + mb->mem_upper * 1024u : 0;
    guest_desc_init();
    guest_set_handler(VEC_PIC + vm_virtio_irq(DEV), on_device);
    guest_pic_init(VEC_PIC, (uint8_t)~((1u << vm_virtio_irq(DEV)) | (1u << 2)), 0xFF);
    CHECK(end >= EVICT_START + EVICT_BYTES, "RAM for the buffers and the eviction area");
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE, "device id 3: a console");
    guest_vq_t *const vqs[] = { rxq, txq };
    if (guest_failed ||
        !guest_virtio_init_queues(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), vqs, 2)) {
        CHECK(false, "driver initialization with both queues' rings in paged RAM");
        return guest_report("virtio_console_paged");
    }

    /* 1. Lines transmitted from buffers in swap. */
    for (uint16_t k = 0; k < LINES; k++) {
        unsigned n = slen(lines[k]);
        __builtin_memcpy((void *)(uintptr_t)LINE_GPA(k), lines[k], n);
        txq->desc[k] = (virtq_desc_t){ .addr = LINE_GPA(k), .len = n };
        txq->avail.ring[k] = k;
    }
    evict(1);
    barrier();
    txq->avail.idx = LINES;
    barrier();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
    CHECK(used_idx(txq) == LINES, "every line used after one kick, its buffer read from swap");

    /* 2. Input written into receive buffers in swap (4 bytes on one page,
     * 4 on the next), the interrupt waited for halted. */
    for (uint16_t k = 0; k < RX_BUFS; k++) {
        for (uint32_t i = 0; i < RX_BUF; i++)
            ((volatile uint8_t *)(uintptr_t)RX_GPA(k))[i] = FILL;
        rxq->desc[k] = (virtq_desc_t){ .addr = RX_GPA(k), .len = RX_BUF,
                                       .flags = VIRTQ_DESC_F_WRITE };
        rxq->avail.ring[k] = k;
    }
    evict(2);
    barrier();
    rxq->avail.idx = RX_BUFS;
    barrier();
    const uint16_t expect_used = (INPUT_LEN + RX_BUF - 1) / RX_BUF;
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
    unsigned wakes = 0;
    __asm__ volatile("sti");
    while (used_idx(rxq) < expect_used && wakes < HLT_MAX) {
        __asm__ volatile("hlt");
        wakes++;
    }
    __asm__ volatile("cli");
    CHECK(used_idx(rxq) == expect_used && irqs >= 1,
          "the input came into buffers that were in swap, with the device's interrupt");

    /* 3. Out to swap once more, then compared with the host's input. */
    evict(3);
    unsigned n = 0, wrong = 0;
    bool lens_ok = true;
    for (uint16_t u = 0; u < expect_used && u < RX_BUFS; u++) {
        uint32_t id = rxq->used.ring[u].id, len = rxq->used.ring[u].len;
        lens_ok &= id < RX_BUFS && len <= RX_BUF;
        for (uint32_t i = 0; lens_ok && i < len && n < INPUT_LEN; i++, n++)
            wrong += ((volatile uint8_t *)(uintptr_t)RX_GPA(id))[i] != (uint8_t)INPUT[n];
    }
    CHECK(lens_ok && n == INPUT_LEN && wrong == 0,
          "the input read back byte for byte after its pages went to swap");
    guest_printf("virtio_console_paged: %u lines sent from and %u input bytes received into paged "
                 "RAM swapped out in between: %u wrong bytes\n", LINES, n, wrong);
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_console_paged");
}
