/*
 * tests/guests/virtio_console.c - a minimal virtio-mmio console driver of
 * our own (Virtio 1.2 3.1.1 driver initialization, 4.2.3 over MMIO, 5.3
 * console) for the VM's virtio device 0, which a device server serves
 * (tests/configs/virtio-console.dts). It probes the device, negotiates
 * VERSION_1 only, sets up transmitq0 in its own RAM, sends lines the
 * server prints as "[VM] ..." and checks the used ring, the interrupt
 * (InterruptStatus and the PIC's IRR) and its suppression. Then the
 * hostile part: register accesses the transport refuses, and a descriptor
 * pointing outside RAM, which must put the device in DEVICE_NEEDS_RESET
 * with a configuration interrupt while the VM runs on; after a reset the
 * device works again. The verdict goes out through the UART.
 */
#include "lib/guest.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <string.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define DEV              0                          /* the VM's first virtio device */
#define QSIZE            GUEST_VQ_SIZE              /* our transmitq0 size (<= QueueNumMax) */
#define TXQ              1                          /* Virtio 1.2 5.3.2: transmitq0 */
#define BUF_SIZE         64
#define OUTSIDE_RAM      0x7FFF0000u                /* far beyond the VM's 8 MiB */
#define PIC1_CMD         0x20
#define PIC_OCW3_READ_IRR 0x0A                      /* 8259A OCW3: RR=1, RIS=0 */
#define LAPIC_BASE       0xFEE00000u                /* SDM Vol. 3A 10.4.1: its default base */
#define LAPIC_VERSION    0x30u                      /* SDM Vol. 3A Table 10-1 */
#define COST_ROUNDS      8
#define SECOND_OPT       "second"                   /* its command line: a device 1 too */

static volatile uint32_t *regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;   /* device 0 */

static guest_vq_t vq;
static char bufs[QSIZE][BUF_SIZE];
static uint16_t next_avail, seen_used;

static uint32_t rd(uint32_t off) { return regs[off / 4]; }
static void wr(uint32_t off, uint32_t v) { regs[off / 4] = v; }
static void barrier(void) { __asm__ volatile("" ::: "memory"); }   /* x86: stores stay in order */

static unsigned slen(const char *s)
{
    unsigned n = 0;
    while (s[n])
        n++;
    return n;
}

static uint8_t pic_irr(void)
{
    outb(PIC1_CMD, PIC_OCW3_READ_IRR);
    return inb(PIC1_CMD);
}

/* 3.1.1 and 4.2.3.2 for transmitq0, VERSION_1 only; true if the device went live. */
static bool init_device(void)
{
    next_avail = seen_used = 0;
    return guest_virtio_init(regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), TXQ, &vq);
}

/* Make the chain at @head available (2.7.13.2); kick() notifies. */
static void offer(uint16_t head)
{
    vq.avail.ring[next_avail % QSIZE] = head;
    barrier();
    vq.avail.idx = ++next_avail;                    /* 2.7.13.3: the entry before idx */
}

static void kick(void)
{
    barrier();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
}

static uint16_t put_buf(uint16_t d, const char *text, uint16_t flags, uint16_t next)
{
    unsigned n = slen(text);
    __builtin_memcpy(bufs[d], text, n);
    vq.desc[d] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)bufs[d], .len = n, .flags = flags,
                                 .next = next };
    return d;
}

/* The used ring moved by @n, each element one of ours with length 0. */
static bool used_ok(unsigned n)
{
    barrier();
    if ((uint16_t)(vq.used.idx - seen_used) != n)
        return false;
    bool ok = true;
    for (unsigned i = 0; i < n; i++, seen_used++)
        ok &= vq.used.ring[seen_used % QSIZE].id < QSIZE &&
              vq.used.ring[seen_used % QSIZE].len == 0;
    return ok;
}

/* Instructions per 32-bit read of @reg (each one exit). */
static uint32_t measure_reads(volatile uint32_t *reg)
{
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < COST_ROUNDS; i++)
        (void)*reg;
    return (uint32_t)((rdtsc() - t0) / COST_ROUNDS);
}

static void ack_all(void)
{
    wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_ALL);
}

int guest_main(void)
{
    /* Probe (4.2.3.1.1): magic, version 2, device id 3 (console). */
    CHECK(rd(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC, "virtio-mmio magic \"virt\"");
    CHECK(rd(VIRTIO_MMIO_VERSION) == VIRTIO_MMIO_VERSION_2, "virtio-mmio version 2");
    CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE, "device id 3: a console");
    CHECK(init_device(), "driver initialization: VERSION_1 negotiated, transmitq0 live");
    guest_printf("virtio-console: device live, vendor 0x%x\n", rd(VIRTIO_MMIO_VENDOR_ID));

    /* One line, one chain, one kick: the interrupt comes with the reply. */
    uint8_t irr_before = pic_irr();
    offer(put_buf(0, "virtio: hello through a device server\n", 0, 0));
    kick();
    CHECK(used_ok(1), "line 1 used, length 0");
    CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING,
          "used buffer notification in InterruptStatus");
    CHECK(!(irr_before & (1u << vm_virtio_irq(DEV))) && (pic_irr() & (1u << vm_virtio_irq(DEV))),
          "the device's PIC line raised its request (IRR)");
    ack_all();
    CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0, "InterruptACK clears it");

    /* A two-descriptor chain, and a batch of three chains with one kick. */
    offer(put_buf(1, "virtio: a chain ", VIRTQ_DESC_F_NEXT, 2));
    put_buf(2, "of two buffers\n", 0, 0);
    offer(put_buf(3, "virtio: batch 1\n", 0, 0));
    offer(put_buf(4, "virtio: batch 2\n", 0, 0));
    offer(put_buf(5, "virtio: batch 3\n", 0, 0));
    kick();
    CHECK(used_ok(4), "a chain and a batch: four used elements after one kick");
    ack_all();

    /* Suppressed: VIRTQ_AVAIL_F_NO_INTERRUPT (2.7.7) asks for no notification. */
    vq.avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    offer(put_buf(6, "virtio: quietly\n", 0, 0));
    kick();
    CHECK(used_ok(1) && rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0,
          "no interrupt when the driver suppresses it");

    /* Costs, in instructions (Bochs's TSC counts them): a register read
     * served by the VMM's LAPIC model, the same through the device server,
     * an empty kick, and a kick taking one chain (one byte, no line to
     * print yet). Printed for BENCHMARKS.md, not judged. */
    uint32_t lapic = measure_reads((volatile uint32_t *)(LAPIC_BASE + LAPIC_VERSION));
    uint32_t vreg = measure_reads(regs + VIRTIO_MMIO_VERSION / 4);
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < COST_ROUNDS; i++)
        kick();
    uint32_t empty_kick = (uint32_t)((rdtsc() - t0) / COST_ROUNDS);
    uint32_t one_kick = 0;
    for (unsigned i = 0; i < COST_ROUNDS; i++) {
        offer(put_buf(i % QSIZE, i + 1 < COST_ROUNDS ? "." : ".\n", 0, 0));
        t0 = rdtsc();
        kick();
        if (i + 1 < COST_ROUNDS)                    /* the last one prints the line */
            one_kick += (uint32_t)(rdtsc() - t0);
    }
    CHECK(used_ok(COST_ROUNDS), "every measured chain used");
    guest_printf("virtio_console: instructions per access: lapic read %u, virtio read %u, empty "
                 "kick %u, kick of one chain %u\n", lapic, vreg, empty_kick,
                 one_kick / (COST_ROUNDS - 1));
    vq.avail.flags = 0;

    /* Refused register accesses (4.2.2.2) change nothing. */
    wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 2);                   /* queue live: frozen */
    CHECK(rd(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC && rd(VIRTIO_MMIO_QUEUE_NOTIFY) == 0,
          "writes to read-only registers and reads of write-only ones refused");
    CHECK(((volatile uint16_t *)regs)[VIRTIO_MMIO_DEVICE_ID / 2] == 0,
          "a 16-bit read of a control register refused (reads 0)");

    /* Hostile: a buffer outside RAM breaks the queue (2.1.2). */
    vq.desc[7] = (virtq_desc_t){ .addr = OUTSIDE_RAM, .len = 16 };
    offer(7);
    kick();
    uint32_t status = rd(VIRTIO_MMIO_STATUS);
    CHECK(used_ok(0), "the broken chain is not used");
    CHECK(status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET set");
    CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
          "configuration change notification");
    guest_printf("virtio-console: device status 0x%x after a buffer outside RAM\n", status);
    ack_all();

    /* Reset and go on. */
    CHECK(init_device(), "the device works again after a reset");
    offer(put_buf(0, "virtio: after the reset\n", 0, 0));
    kick();
    CHECK(used_ok(1), "a line after the reset used");
    ack_all();
    wr(VIRTIO_MMIO_STATUS, 0);

    /* With "second" on the command line the VM has a second device (its
     * own server): window 1, PIC line 6. */
    const guest_mb_info_t *mb = (const guest_mb_info_t *)guest_boot_info;
    if (mb && (mb->flags & GUEST_MB_INFO_CMDLINE) &&
        strcmp((const char *)(uintptr_t)mb->cmdline, SECOND_OPT) == 0) {
        regs = (volatile uint32_t *)vm_virtio_base(1);
        CHECK(rd(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC &&
                  rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE && init_device(),
              "device 1: a console, live");
        irr_before = pic_irr();
        offer(put_buf(0, "virtio1: hello from the second device\n", 0, 0));
        kick();
        CHECK(used_ok(1) && !(irr_before & (1u << vm_virtio_irq(1))) &&
                  (pic_irr() & (1u << vm_virtio_irq(1))),
              "device 1: line used, its own PIC line (6) raised");
        ack_all();
        wr(VIRTIO_MMIO_STATUS, 0);
    }
    return guest_report("virtio_console");
}
