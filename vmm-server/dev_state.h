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

#endif
