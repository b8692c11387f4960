/*
 * tests/guests/virtio_badserver.c - a guest whose virtio device 0 is
 * served by a console server told to answer garbage after its first 4
 * accesses (tests/configs/virtio-badserver.dts: options
 * "console.fault=garbage:4"). The VMM must not trust those replies: the
 * device is marked broken, reads give all ones, writes are dropped, its
 * line stays low, and the VM runs on to its verdict. Its device 1's
 * server ('mute', "console.fault=silent:4") takes the 5th access and never
 * answers: the VMM gives up after its timeout (a bounded call), marks that
 * device broken the same way, and the VM runs on.
 */
#include "lib/guest.h"
#include <stdbool.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define PIC1_CMD          0x20
#define PIC_OCW3_READ_IRR 0x0A                      /* 8259A OCW3: RR=1, RIS=0 */
#define ALL_ONES          0xFFFFFFFFu
#define ROUNDS            8

static volatile uint32_t *const regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static volatile uint32_t *const regs1 = (volatile uint32_t *)(VM_VIRTIO_MMIO_BASE +
                                                              VM_VIRTIO_MMIO_STRIDE);

int guest_main(void)
{
    /* Accesses 1-4: the server still answers properly. */
    CHECK(regs[VIRTIO_MMIO_MAGIC_VALUE / 4] == VIRTIO_MMIO_MAGIC, "magic before the fault");
    CHECK(regs[VIRTIO_MMIO_VERSION / 4] == VIRTIO_MMIO_VERSION_2, "version before the fault");
    CHECK(regs[VIRTIO_MMIO_DEVICE_ID / 4] == VIRTIO_ID_CONSOLE, "device id before the fault");
    regs[VIRTIO_MMIO_STATUS / 4] = 0;
    /* From the 5th on, garbage: the VMM reads all ones and drops writes. */
    CHECK(regs[VIRTIO_MMIO_MAGIC_VALUE / 4] == ALL_ONES, "a garbage reply reads as all ones");
    bool ones = true;
    for (unsigned i = 0; i < ROUNDS; i++) {
        regs[VIRTIO_MMIO_STATUS / 4] = VIRTIO_STATUS_ACKNOWLEDGE;
        ones &= regs[VIRTIO_MMIO_STATUS / 4] == ALL_ONES;
        ones &= ((volatile uint16_t *)regs)[VIRTIO_MMIO_DEVICE_ID / 2] == 0xFFFF;
    }
    CHECK(ones, "the broken device keeps reading all ones, at every width");
    outb(PIC1_CMD, PIC_OCW3_READ_IRR);
    CHECK(!(inb(PIC1_CMD) & (1u << vm_virtio_irq(0))), "its interrupt line stayed low");

    /* Device 1: 4 accesses answered, the 5th never is. */
    CHECK(regs1[VIRTIO_MMIO_MAGIC_VALUE / 4] == VIRTIO_MMIO_MAGIC, "device 1: magic");
    CHECK(regs1[VIRTIO_MMIO_DEVICE_ID / 4] == VIRTIO_ID_CONSOLE, "device 1: a console");
    regs1[VIRTIO_MMIO_STATUS / 4] = 0;
    CHECK(regs1[VIRTIO_MMIO_STATUS / 4] == 0, "device 1: reset");
    uint32_t st = regs1[VIRTIO_MMIO_STATUS / 4];    /* the server keeps this one */
    CHECK(st == ALL_ONES && (st & VIRTIO_STATUS_DEVICE_NEEDS_RESET),
          "device 1: no answer in time: Status reads all ones (DEVICE_NEEDS_RESET set)");
    ones = true;
    for (unsigned i = 0; i < ROUNDS; i++) {
        regs1[VIRTIO_MMIO_STATUS / 4] = VIRTIO_STATUS_ACKNOWLEDGE;
        ones &= regs1[VIRTIO_MMIO_MAGIC_VALUE / 4] == ALL_ONES;
    }
    CHECK(ones, "device 1 stays broken: no more waiting, all ones");
    outb(PIC1_CMD, PIC_OCW3_READ_IRR);
    CHECK(!(inb(PIC1_CMD) & (1u << vm_virtio_irq(1))), "device 1's line stayed low");
    return guest_report("virtio_badserver");
}
