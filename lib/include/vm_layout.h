/*
 * lib/include/vm_layout.h - where Nestor's VMs have the devices that are
 * not at architectural addresses: the virtio-mmio windows of a VM's
 * `virtio` devices (stack-configs/BINDINGS.md). One definition, read by
 * the config checks (stackcfg/), the VMM (vmm-server/virtio_fwd.c) and the
 * test guests' drivers (tests/guests/virtio_console.c).
 *
 * Device N of a VM (its Nth entry of `virtio`, from 0) answers at
 * VM_VIRTIO_MMIO_BASE + N * VM_VIRTIO_MMIO_STRIDE, a page of its own
 * (Virtio 1.2 4.2.2: the register layout needs 0x100 bytes plus the
 * configuration space), and raises legacy PIC line vm_virtio_irq(N). The
 * windows sit in the 32-bit hole below the I/O APIC (0xFEC00000) and the
 * LAPIC (0xFEE00000); guest RAM ends below 3 GiB (SC_VM_MAX_MIB), so no
 * window ever overlaps RAM.
 */
#ifndef VM_LAYOUT_H
#define VM_LAYOUT_H

#define VM_VIRTIO_MMIO_BASE    0xFEB00000u
#define VM_VIRTIO_MMIO_STRIDE  0x1000u
#define VM_VIRTIO_MAX          4u     /* virtio devices of one VM */

/* The PIC line of device @n: 5, 6, 10, 11 -- lines no device the VMM
 * models uses (PIT 0, COM1 4, RTC 8), nor the cascade (2) or line 7, where
 * an 8259 reports its spurious interrupts. */
static inline unsigned vm_virtio_irq(unsigned n)
{
    return n < 2 ? 5 + n : 8 + n;
}

static inline unsigned long vm_virtio_base(unsigned n)
{
    return VM_VIRTIO_MMIO_BASE + (unsigned long)n * VM_VIRTIO_MMIO_STRIDE;
}

#endif
