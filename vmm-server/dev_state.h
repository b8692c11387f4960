/*
 * vmm-server/dev_state.h - the VM's device models' state for the
 * checkpoint monitor (checkpoint/include/ckpt_dev.h CKPT_REQ_DEV_*): saved
 * as versioned records, loaded back after checks that every value is one
 * the model can hold (an image is hostile input). Pure code on a view of
 * the models (the VMM's vm_t: exits.c; the unit tests: test_vmm_dev_state.c).
 */
#ifndef VMM_DEV_STATE_H
#define VMM_DEV_STATE_H
#include "../checkpoint/include/ckpt_dev.h"
#include "../checkpoint/include/ckpt_format.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/uart16550.h"
#include "devices/rtc.h"
#include "devices/lapic.h"
#include "devices/ioapic.h"
#include "devices/i8042.h"
#include "devices/acpi_pm.h"
#include "devices/sysctl.h"
#include <devsrv.h>
#include <virtio_shadow.h>

/* dev_models_t.devices: besides the config's SC_DEV_* bits, whether the
 * VM has the ACPI PM1 blocks (a Linux VM's, vm.c). */
#define DEV_STATE_ACPI_PM   (1u << 31)

/* The VMM's per-VM platform state a guest can observe (vmm.h vm_t, msr.c,
 * exits.c): the record CKPT_DEV_PLATFORM. */
typedef struct {
    uint64_t *apic_base;        /* IA32_APIC_BASE (SDM Vol. 3A 10.4.4) */
    uint64_t *misc_enable;      /* IA32_MISC_ENABLE */
    uint64_t *mtrr_def;         /* IA32_MTRR_DEF_TYPE */
    uint64_t *tsc_adjust;       /* IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3) */
    uint64_t *xcr0;             /* what CPUID leaf 0DH sizes (XSETBV's last value) */
    uint64_t *cr8;              /* CR8 of a VM without a LAPIC */
    uint64_t guest_tsc;         /* save: the guest's TSC now (host TSC + offset);
                                   load: out, what its TSC must read now (the caller
                                   sets the VMCS TSC offset from it) */
    unsigned maxphyaddr;        /* for IA32_APIC_BASE's reserved bits */
    uint64_t xcr0_allowed;      /* the XCR0 bits the VMM offers (XSETBV's) */
} dev_platform_t;

typedef struct {
    uint32_t devices;           /* SC_DEV_* the VM has (stackcfg.h), DEV_STATE_ACPI_PM */
    pic_t *pic;
    uint32_t *irq_lines;        /* the VMM's view of the ISA lines' levels */
    pit_t *pit;
    uart16550_t *uart;
    rtc_t *rtc;
    uint64_t unix_now;          /* the RTC's host time (vm_unix_seconds) at the call */
    lapic_t *lapic;
    ioapic_t *ioapic;           /* with the LAPIC (SC_DEV_LAPIC) */
    i8042_t *kbc;               /* every VM's */
    sysctl_t *sysctl;           /* every VM's */
    acpi_pm_t *acpi_pm;         /* DEV_STATE_ACPI_PM */
    dev_platform_t platform;    /* every VM's */
} dev_models_t;

/* Record @k of the devices into @rec and @data (CKPT_DEV_MAX_BYTES);
 * false past the last. @now_ns: the VMM's clock. */
bool dev_state_save(const dev_models_t *d, unsigned k, ckpt_dev_record_t *rec, uint8_t *data,
                    uint64_t now_ns);
/* Load record @rec (@data its bytes, rec->bytes of them) into the models:
 * 0, or a CKPT_DEV_E_* (and nothing changed). The platform record comes
 * before the LAPIC's, which must agree with its IA32_APIC_BASE (x2APIC
 * mode); a loaded platform record leaves the guest's TSC in
 * d->platform.guest_tsc for the caller. */
unsigned dev_state_load(dev_models_t *d, const ckpt_dev_record_t *rec, const uint8_t *data,
                        uint64_t now_ns);

/* The number of model records dev_state_save gives for @d (the VM's
 * device servers' records follow them). */
unsigned dev_state_count(const dev_models_t *d);

/*
 * A device served by a device server (CKPT_DEV_VIRTIO; the record's
 * instance: the device's number in the VM's `virtio`), version
 * DEV_VIRTIO_STATE_VERSION: what the VMM holds of it (the driver's
 * register writes the server accepted, which a fresh server is brought to
 * by replaying them, virtio_shadow.h; the line's level) and what the
 * server exported (devsrv.h DS_REQ_SAVE: the device's progress through
 * its rings, its Status and InterruptStatus). vmm-server/virtio_fwd.c
 * carries it out; device-servers/README.md "Checkpoints".
 */
#define DEV_VIRTIO_STATE_VERSION 2
/* Version 1 (images written before device types' own state, devsrv.h
 * DS_STATE_VERSION_1): the same layout ending with the server's version 1
 * state, DEV_VIRTIO_STATE_V1_BYTES long; read zero-extended (a device
 * type with state of its own then refuses it, the block device takes it). */
#define DEV_VIRTIO_STATE_VERSION_1 1
typedef struct {
    virtio_shadow_t shadow;
    uint32_t level;             /* the device's line, as the server's last reply said: 0 or 1 */
    uint32_t reserved;          /* 0 */
    ds_state_t server;          /* checked by the server at the load (ds_state_import) */
} dev_virtio_state_t;
#define DEV_VIRTIO_STATE_V1_BYTES (offsetof(dev_virtio_state_t, server) + DS_STATE_V1_BYTES)

/* Check record @rec (@data its bytes) as a CKPT_DEV_VIRTIO record of a VM
 * with @n_virtio devices: 0 with the record in *@out, or a CKPT_DEV_E_*
 * (E_UNKNOWN: no such device; E_VERSION: another layout or size;
 * E_INVALID: a value the VMM's side cannot hold), *@why saying which. */
unsigned dev_state_virtio_check(const ckpt_dev_record_t *rec, const uint8_t *data,
                                unsigned n_virtio, dev_virtio_state_t *out, const char **why);

/* A restore's end (ckpt_dev.h CKPT_REQ_DEV_DONE): the first of the VM's
 * @n_virtio device servers' devices whose bit in @loaded is clear (its
 * record was not in the image), or -1 when each had its record. */
int dev_state_virtio_missing(unsigned n_virtio, uint32_t loaded);

#endif
