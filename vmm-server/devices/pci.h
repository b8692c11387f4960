/*
 * vmm-server/devices/pci.h - PCI configuration space of a Linux VM: bus 0
 * with one function, a host bridge with the identity of Intel's 440FX PMC
 * (82441FX: vendor 8086h, device 1237h, class 06 00 00), reached through
 * configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2:
 * CONFIG_ADDRESS at CF8h, CONFIG_DATA at CFCh-CFFh). Only the type 00h
 * header (6.1, 6.2) is modelled; the 440FX's own registers (40h-FFh: PAM,
 * DRAM rows, SMRAM) are not: they read 0 and drop writes (no firmware
 * shadows ROMs here; RAM is RAM). No ECAM/MMCONFIG area is offered (no MCFG
 * table): extended configuration space (100h-FFFh) is out of reach, as on a
 * conventional PCI host bridge.
 *
 * Every other bus, device and function is absent: a read ends in a master
 * abort and returns all ones (3.2.2.3.2 and 6.1: "the host bus to PCI
 * bridge must return all 1's", so the Vendor ID reads FFFFh), a write goes
 * nowhere.
 */
#ifndef VMM_DEVICES_PCI_H
#define VMM_DEVICES_PCI_H
#include <stdbool.h>
#include <stdint.h>

/* Configuration mechanism #1 (3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS_PORT 0xCF8u   /* a DWORD register: only 32-bit accesses are it */
#define PCI_CONFIG_DATA_PORT    0xCFCu   /* CFCh-CFFh: bytes, words or the DWORD */
#define PCI_CONFIG_DATA_LEN     4u
#define PCI_CFG_ADDR_ENABLE     0x80000000u  /* bit 31: translate CONFIG_DATA accesses */
#define PCI_CFG_ADDR_BUS_SHIFT  16u          /* bits 23:16 */
#define PCI_CFG_ADDR_DEV_SHIFT  11u          /* bits 15:11 */
#define PCI_CFG_ADDR_FN_SHIFT   8u           /* bits 10:8 */
#define PCI_CFG_ADDR_REG_MASK   0xFCu        /* bits 7:2, a DWORD's register number */
/* What CONFIG_ADDRESS keeps: bits 30:24 are reserved and bits 1:0 read-only,
 * both reading 0. */
#define PCI_CFG_ADDR_WRITABLE   0x80FFFFFCu
#define PCI_BUS_MASK            0xFFu
#define PCI_DEV_MASK            0x1Fu
#define PCI_FN_MASK             0x7u

/* The predefined header (6.1, Figure 6-1; 6.2 for each register). */
#define PCI_CFG_SPACE_SIZE      256u
#define PCI_VENDOR_ID           0x00u
#define PCI_DEVICE_ID           0x02u
#define PCI_COMMAND             0x04u
#define PCI_STATUS              0x06u
#define PCI_REVISION_ID         0x08u
#define PCI_CLASS_PROG          0x09u
#define PCI_CLASS_SUB           0x0Au
#define PCI_CLASS_BASE          0x0Bu
#define PCI_CACHE_LINE_SIZE     0x0Cu
#define PCI_LATENCY_TIMER       0x0Du
#define PCI_HEADER_TYPE         0x0Eu
#define PCI_HEADER_MULTIFUNCTION 0x80u       /* 6.2.1: bit 7 of Header Type */
#define PCI_HEADER_TYPE_NORMAL  0x00u
/* Command (6.2.2, Figure 6-2): the bits a host bridge keeps. */
#define PCI_COMMAND_IO          0x0001u
#define PCI_COMMAND_MEMORY      0x0002u
#define PCI_COMMAND_MASTER      0x0004u
#define PCI_COMMAND_PARITY      0x0040u
#define PCI_COMMAND_SERR        0x0100u
/* Status (6.2.3, Figure 6-3): 66 MHz capable off, no capabilities list;
 * medium DEVSEL timing (bits 10:9 = 01b), as the 440FX reports it. */
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200u
/* Latency Timer (6.2.4): the low 3 bits hardwired to 0 (8-clock granularity). */
#define PCI_LATENCY_WRITABLE    0xF8u

/* The host bridge's identity (bus 0, device 0, function 0). */
#define PCI_VENDOR_INTEL        0x8086u
#define PCI_DEVICE_I440FX       0x1237u      /* 82441FX PMC */
#define PCI_I440FX_REVISION     0x02u
#define PCI_CLASS_BRIDGE        0x06u        /* base class: bridge device (Appendix D) */
#define PCI_SUBCLASS_HOST       0x00u        /* sub-class: host bridge */

/* The whole model's state: CONFIG_ADDRESS and the host bridge's registers
 * (one struct, so that it can be saved and loaded as it is). */
typedef struct {
    uint32_t address;                       /* CONFIG_ADDRESS (PCI_CFG_ADDR_WRITABLE bits) */
    uint8_t host[PCI_CFG_SPACE_SIZE];       /* 00:00.0's configuration space */
} pci_t;

/* Power-up: CONFIG_ADDRESS 0, the host bridge's header at its reset values. */
void pci_init(pci_t *p);

/* A port access of @size bytes (1, 2, 4) at @port. False (nothing done,
 * *@value untouched) where the access is not configuration mechanism #1's:
 * anything but a DWORD access at CF8h (it passes through as ordinary I/O,
 * 3.2.2.3.2; e.g. a byte at CF9h is the reset control register's), and
 * ports outside CF8h-CFFh. A CONFIG_DATA access reads or writes
 * configuration space while CONFIG_ADDRESS's enable bit is set, else it is
 * ordinary I/O to nothing (all ones, writes dropped); bytes of it beyond
 * CFFh are ports with nothing there either. */
bool pci_io(pci_t *p, uint16_t port, bool in, unsigned size, uint32_t *value);

/* One byte of configuration space of bus/device/function @bdf
 * (bus << 8 | dev << 3 | fn) at @reg: all ones where no function is. */
uint8_t pci_config_read8(const pci_t *p, uint16_t bdf, uint8_t reg);
void pci_config_write8(pci_t *p, uint16_t bdf, uint8_t reg, uint8_t v);

#endif
