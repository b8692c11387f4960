/*
 * vmm-server/boot/acpi_tables.h - the ACPI tables the VMM writes into a
 * Linux VM's RAM (ACPI Specification 6.5; section numbers below are its):
 *   - RSDP (5.2.5) at ACPI_TABLES_GPA, in the BIOS read-only area
 *     0xE0000-0xFFFFF where an OS looks for it (5.2.5.1), revision 2;
 *   - RSDT (5.2.7) and XSDT (5.2.8), both listing FADT and MADT;
 *   - FADT (5.2.9, revision 6.5): a full (not hardware-reduced) platform,
 *     so that the OS keeps the 8259s and the PIT (a hardware-reduced one,
 *     4.1, has no timer until the LAPIC's is set up, and Linux sleeps
 *     before that): the PM1a event and control blocks (devices/acpi_pm.h),
 *     SCI on ISA IRQ 9, SMI_CMD 0 (always in ACPI mode), no PM timer, no
 *     GPE blocks; the reset register is port 0xCF9 (value 0x06); IA-PC boot
 *     architecture flags: legacy devices (COM1), no VGA, no MSI, an RTC;
 *   - MADT (5.2.12): the local APIC, the I/O APIC (GSI base 0), the
 *     interrupt source overrides ISA IRQ0 -> GSI 2 (the PIT on pin 2) and
 *     IRQ 9 -> GSI 9 level, active high (the SCI), the local APIC NMI on
 *     LINT1; PCAT_COMPAT (the 8259s are there);
 *   - DSDT (5.2.11.1) in AML (chapter 20) generated here: under \_SB, COM1
 *     (PNP0501: I/O 0x3F8-0x3FF, IRQ 4), one LNRO0005 device (virtio-mmio,
 *     Linux's ACPI id for it) per virtio window: Memory32Fixed and a
 *     level-triggered, active-high Interrupt on its GSI; and, where the
 *     platform has PCI, the host bridge PCI0 (PNP0A03, 6.1.5 _HID; a PCI
 *     root bridge, 9.12 and 6.2.10 _CRS): bus numbers 0-255, the
 *     configuration ports 0xCF8-0xCFF it consumes, the I/O below and
 *     above them and one memory window (from the top of RAM to below the
 *     virtio windows) it forwards to PCI.
 * Pure code: host-tested (unit-vmm-boot) by parsing the tables back.
 */
#ifndef VMM_BOOT_ACPI_TABLES_H
#define VMM_BOOT_ACPI_TABLES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_TABLES_GPA     0xE0000u    /* 5.2.5.1: the RSDP on a 16-byte boundary here */
#define ACPI_TABLES_MAX     0x10000u    /* what the area may take (below 0xF0000) */
#define ACPI_MAX_VIRTIO     8u

/* System description table header (5.2.6, Table 5.4). */
#define ACPI_HDR_SIZE       36u
#define ACPI_HDR_LENGTH     4u          /* u32 */
#define ACPI_HDR_REVISION   8u          /* u8 */
#define ACPI_HDR_CHECKSUM   9u          /* u8: all bytes sum to 0 */
#define ACPI_HDR_OEMID      10u         /* 6 bytes */
#define ACPI_HDR_OEM_TABLE  16u         /* 8 bytes */
#define ACPI_HDR_OEM_REV    24u
#define ACPI_HDR_CREATOR    28u
#define ACPI_HDR_CREATOR_REV 32u
#define ACPI_OEMID          "NESTOR"
#define ACPI_OEM_TABLE_ID   "NESTORVM"
#define ACPI_CREATOR_ID     "NSTR"

/* RSDP (5.2.5.3, Table 5.3). */
#define ACPI_RSDP_SIG       "RSD PTR "
#define ACPI_RSDP_CHECKSUM  8u          /* over the first 20 bytes */
#define ACPI_RSDP_OEMID     9u
#define ACPI_RSDP_REVISION  15u
#define ACPI_RSDP_RSDT      16u         /* u32 */
#define ACPI_RSDP_LENGTH    20u         /* u32 */
#define ACPI_RSDP_XSDT      24u         /* u64 */
#define ACPI_RSDP_XCHECKSUM 32u         /* over all 36 bytes */
#define ACPI_RSDP_V1_SIZE   20u
#define ACPI_RSDP_SIZE      36u
#define ACPI_RSDP_REV2      2u

/* FADT (5.2.9, Table 5.9). */
#define ACPI_FADT_SIZE      276u
#define ACPI_FADT_REVISION  6u
#define ACPI_FADT_MINOR     5u          /* ACPI 6.5 */
#define ACPI_FADT_DSDT      40u         /* u32 */
#define ACPI_FADT_SCI_INT   46u         /* u16 */
#define ACPI_FADT_SMI_CMD   48u         /* u32: 0, no mode transition */
#define ACPI_FADT_PM1A_EVT  56u         /* u32 port */
#define ACPI_FADT_PM1A_CNT  64u         /* u32 port */
#define ACPI_FADT_PM1_EVT_LEN 88u       /* u8 */
#define ACPI_FADT_PM1_CNT_LEN 89u       /* u8 */
#define ACPI_FADT_X_PM1A_EVT 148u       /* GAS */
#define ACPI_FADT_X_PM1A_CNT 172u       /* GAS */
#define ACPI_FADT_BOOT_ARCH 109u        /* u16 IAPC_BOOT_ARCH */
#define ACPI_FADT_FLAGS     112u        /* u32 */
#define ACPI_FADT_RESET_REG 116u        /* Generic Address Structure */
#define ACPI_FADT_RESET_VALUE 128u
#define ACPI_FADT_MINOR_VERSION 131u
#define ACPI_FADT_X_DSDT    140u        /* u64 */
/* Fixed feature flags (Table 5.10). */
#define ACPI_FADT_F_WBINVD        (1u << 0)
#define ACPI_FADT_F_PWR_BUTTON    (1u << 4)   /* no fixed power button */
#define ACPI_FADT_F_SLP_BUTTON    (1u << 5)   /* no fixed sleep button */
#define ACPI_FADT_F_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_F_HW_REDUCED    (1u << 20)
/* IA-PC boot architecture flags (5.2.9.3, Table 5.11). */
#define ACPI_BOOT_LEGACY_DEVICES  (1u << 0)
#define ACPI_BOOT_8042            (1u << 1)
#define ACPI_BOOT_VGA_NOT_PRESENT (1u << 2)
#define ACPI_BOOT_MSI_NOT_SUPPORTED (1u << 3)
#define ACPI_BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)
/* Generic Address Structure (5.2.3.2, Table 5.1). */
#define ACPI_GAS_SIZE       12u
#define ACPI_GAS_SYSTEM_IO  1u
#define ACPI_GAS_ACCESS_BYTE 1u
#define ACPI_GAS_ACCESS_WORD 2u

/* MADT (5.2.12, Table 5.19) and its structures (Tables 5.21-5.30). */
#define ACPI_MADT_LAPIC_ADDR 36u        /* u32 */
#define ACPI_MADT_FLAGS     40u         /* u32 */
#define ACPI_MADT_ENTRIES   44u
#define ACPI_MADT_PCAT_COMPAT (1u << 0)
#define ACPI_MADT_LOCAL_APIC 0u         /* Table 5.22: 8 bytes */
#define ACPI_MADT_IO_APIC    1u         /* Table 5.24: 12 bytes */
#define ACPI_MADT_ISO        2u         /* Table 5.25: 10 bytes */
#define ACPI_MADT_LAPIC_NMI  4u         /* Table 5.30: 6 bytes */
#define ACPI_MADT_LOCAL_APIC_LEN 8u
#define ACPI_MADT_IO_APIC_LEN 12u
#define ACPI_MADT_ISO_LEN    10u
#define ACPI_MADT_LAPIC_NMI_LEN 6u
#define ACPI_MADT_ENABLED    1u         /* Local APIC flags: Enabled */
#define ACPI_MADT_ALL_PROCESSORS 0xFFu  /* NMI structure: every processor */
#define ACPI_MPS_INTI_CONFORMS 0u       /* MPS INTI flags (Table 5.26): as the bus says */
#define ACPI_MPS_INTI_HIGH_LEVEL 0x000Du  /* polarity 01 active high, trigger 11 level */
#define ACPI_ISA_BUS         0u

/* The platform the tables describe. */
typedef struct {
    uint32_t lapic_base, ioapic_base;
    uint8_t lapic_id, ioapic_id;
    uint8_t pit_irq, pit_gsi;           /* the ISA IRQ0 -> GSI 2 override */
    uint8_t sci_irq;                    /* the SCI's ISA IRQ (and GSI) */
    uint16_t pm1a_evt_port, pm1a_cnt_port;
    uint8_t pm1_evt_len, pm1_cnt_len;
    uint8_t lapic_nmi_lint;             /* the LINT pin wired to NMI */
    bool kbc;                           /* an 8042 at 60h/64h (IAPC_BOOT_ARCH) */
    bool com1;
    uint16_t com1_port;
    uint8_t com1_irq;
    uint16_t reset_port;
    uint8_t reset_value;
    unsigned n_virtio;
    struct { uint32_t base, size, gsi; } virtio[ACPI_MAX_VIRTIO];
    bool pci;                           /* a PCI host bridge (devices/pci.h) */
    uint16_t pci_cfg_port, pci_cfg_len; /* configuration mechanism #1's ports */
    uint32_t pci_mem_base, pci_mem_limit;   /* its memory window, inclusive */
} acpi_platform_t;

/* Write the tables for @p into area[0..area_size), which the guest sees at
 * @area_gpa (16-byte aligned), the RSDP first. Returns the bytes used, 0 if
 * they do not fit or @p is invalid (nothing meaningful written then). */
size_t acpi_build(uint8_t *area, size_t area_size, uint32_t area_gpa, const acpi_platform_t *p);

/* The sum of @n bytes, mod 256 (a correct table sums to 0). */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif
