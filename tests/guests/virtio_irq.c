/*
 * tests/guests/virtio_irq.c - a device server raising its VM's interrupt
 * between the guest's accesses (tests/configs/virtio-irq.dts): the console
 * server 'con' holds host input ("console.input=", TEXT below) for
 * receiveq0 (Virtio 1.2 5.3.6). The guest posts receive buffers, kicks
 * receiveq0 and halts: the server fills the buffers after its reply to the
 * kick and signals the VMM (device-servers/include/devsrv.h
 * DS_GRANT_IRQ), which raises the device's PIC line (IRQ 5) and injects
 * the interrupt (waking the guest if it halted already). The guest checks the interrupt came, the
 * used ring (lengths, bytes) and InterruptStatus; a first chain with no
 * device-writable buffer is used with length 0 (the server logs it).
 */
#include "lib/guest.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define DEV           0
#define RXQ           0                     /* Virtio 1.2 5.3.2: receiveq0 */
#define QSIZE         GUEST_VQ_SIZE
#define BUF_SIZE      8
#define VEC_PIC       0x20                  /* the master 8259's vectors from here */
#define TEXT          "hello-from-the-host\n"   /* the config's console.input, and the newline */
#define TEXT_LEN      (sizeof TEXT - 1)
#define RX_BUFS       4                     /* 32 bytes of room for TEXT_LEN bytes */
#define HLT_MAX       64                    /* wake-ups waited for before giving up */

static volatile uint32_t *const regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t vq;
static uint8_t bufs[RX_BUFS][BUF_SIZE];
static uint8_t readonly_buf[BUF_SIZE];
static volatile unsigned irqs, isr_seen;

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }

/* The device's interrupt: read and acknowledge InterruptStatus (4.2.3.4:
 * the line stays up until then), then end it at the PIC. */
static void on_device(guest_frame_t *f)
{
    (void)f;
    irqs++;
    uint32_t st = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
    isr_seen |= st;
    wr(VIRTIO_MMIO_INTERRUPT_ACK, st & VIRTIO_MMIO_INT_ALL);
    outb(GUEST_PIC1_CMD, GUEST_PIC_EOI);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(VEC_PIC + vm_virtio_irq(DEV), on_device);
    guest_pic_init(VEC_PIC, (uint8_t)~((1u << vm_virtio_irq(DEV)) | (1u << 2)), 0xFF);

    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE, "device 0: a console");
    CHECK(guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), RXQ, &vq),
          "driver initialization: receiveq0 live");

    /* Chain 0: a device-readable buffer, nowhere to put input (used, 0
     * bytes); chains 1-4: one writable buffer each. */
    vq.desc[0] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)readonly_buf, .len = BUF_SIZE };
    vq.avail.ring[0] = 0;
    for (unsigned i = 0; i < RX_BUFS; i++) {
        vq.desc[1 + i] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)bufs[i], .len = BUF_SIZE,
                                         .flags = VIRTQ_DESC_F_WRITE };
        vq.avail.ring[1 + i] = (uint16_t)(1 + i);
    }
    __asm__ volatile("" ::: "memory");
    vq.avail.idx = 1 + RX_BUFS;
    __asm__ volatile("" ::: "memory");

    /* Kick, then wait halted: nothing but the server's signal can wake us
     * (only IRQ 5 is unmasked, no timer runs). */
    const unsigned expect_used = 1 + (TEXT_LEN + BUF_SIZE - 1) / BUF_SIZE;
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
    unsigned wakes = 0;
    __asm__ volatile("sti");
    while (*(volatile uint16_t *)&vq.used.idx < expect_used && wakes < HLT_MAX) {
        __asm__ volatile("hlt");
        wakes++;
    }
    __asm__ volatile("cli");
    CHECK(irqs >= 1, "the device's interrupt came between accesses (IRQ 5)");
    CHECK(isr_seen & VIRTIO_MMIO_INT_VRING, "InterruptStatus: used buffer notification");
    CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0, "acknowledged: InterruptStatus 0");

    uint16_t used = *(volatile uint16_t *)&vq.used.idx;
    CHECK(used == expect_used, "every chain with room used, and the one without");
    CHECK(vq.used.ring[0].id == 0 && vq.used.ring[0].len == 0,
          "the chain without a device-writable buffer used with length 0");
    static char got[RX_BUFS * BUF_SIZE + 1];
    unsigned n = 0;
    bool lens_ok = true;
    for (unsigned i = 1; i < used && i < 1 + RX_BUFS; i++) {
        uint32_t id = vq.used.ring[i].id, len = vq.used.ring[i].len;
        lens_ok &= id == i && len <= BUF_SIZE;
        for (uint32_t k = 0; lens_ok && k < len; k++)
            got[n++] = (char)bufs[id - 1][k];
    }
    got[n] = '\0';
    CHECK(lens_ok && n == TEXT_LEN, "used lengths add up to the input");
    bool same = n == TEXT_LEN;
    for (unsigned k = 0; same && k < n; k++)
        same = got[k] == TEXT[k];
    CHECK(same, "the host input, byte for byte");
    if (n)
        got[n - 1] = '\0';                         /* the line without its newline */
    guest_printf("virtio_irq: %u interrupts, input \"%s\"\n", irqs, got);
    /* Whether the input came before the guest halted or woke it depends on
     * whom the kernel runs first after the kick; not judged. */
    guest_printf("virtio_irq: %u wake-ups from HLT\n", wakes);
    wr(VIRTIO_MMIO_STATUS, 0);
    return guest_report("virtio_irq");
}
