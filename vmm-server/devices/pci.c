/*
 * vmm-server/devices/pci.c - PCI configuration space through configuration
 * mechanism #1, one host bridge on bus 0 (see pci.h; section numbers are
 * the PCI Local Bus Specification 3.0's).
 */
#include "devices/pci.h"
#include <string.h>

#define BDF_HOST_BRIDGE 0u      /* bus 0, device 0, function 0 */
#define ALL_ONES8       0xFFu

static void put16(uint8_t *c, unsigned reg, uint16_t v)
{
    c[reg] = (uint8_t)v;
    c[reg + 1] = (uint8_t)(v >> 8);
}

void pci_init(pci_t *p)
{
    memset(p, 0, sizeof *p);
    uint8_t *c = p->host;
    /* 6.2.1: identification, read-only. */
    put16(c, PCI_VENDOR_ID, PCI_VENDOR_INTEL);
    put16(c, PCI_DEVICE_ID, PCI_DEVICE_I440FX);
    c[PCI_REVISION_ID] = PCI_I440FX_REVISION;
    c[PCI_CLASS_PROG] = 0;
    c[PCI_CLASS_SUB] = PCI_SUBCLASS_HOST;
    c[PCI_CLASS_BASE] = PCI_CLASS_BRIDGE;
    c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;   /* single function: 01h-07h are not probed */
    /* 6.2.2: a host bridge decodes memory and masters the bus from reset. */
    put16(c, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    put16(c, PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    /* Base address registers, subsystem IDs, interrupt pin (6.2.5, 6.2.4):
     * none, 0. */
}

/* The writable bits of the host bridge's byte @reg; everything else is
 * read-only (hardwired, 6.2: "read-only ... return 0" for what is not
 * implemented). Status has only write-1-to-clear error bits, which nothing
 * here sets: read-only 0 as well. */
static uint8_t host_writable(uint8_t reg)
{
    switch (reg) {
    case PCI_COMMAND:
        return (uint8_t)(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                         PCI_COMMAND_PARITY);
    case PCI_COMMAND + 1:
        return (uint8_t)(PCI_COMMAND_SERR >> 8);
    case PCI_CACHE_LINE_SIZE:
        return 0xFF;                            /* 6.2.4: read/write */
    case PCI_LATENCY_TIMER:
        return PCI_LATENCY_WRITABLE;
    default:
        return 0;
    }
}

uint8_t pci_config_read8(const pci_t *p, uint16_t bdf, uint8_t reg)
{
    if (bdf != BDF_HOST_BRIDGE)
        return ALL_ONES8;                       /* master abort: all ones (3.2.2.3.2) */
    return p->host[reg];
}

void pci_config_write8(pci_t *p, uint16_t bdf, uint8_t reg, uint8_t v)
{
    if (bdf != BDF_HOST_BRIDGE)
        return;                                 /* master abort: the write is dropped */
    uint8_t w = host_writable(reg);
    p->host[reg] = (uint8_t)((p->host[reg] & ~w) | (v & w));
}

/* The bus/device/function CONFIG_ADDRESS selects: a type 0 access on bus 0
 * to device 0 only (the host bridge's IDSEL); other buses are type 1
 * accesses that no bridge claims. Both end the same way for a missing
 * function, so the number is the whole decision. */
static uint16_t address_bdf(uint32_t a)
{
    unsigned bus = (a >> PCI_CFG_ADDR_BUS_SHIFT) & PCI_BUS_MASK;
    unsigned dev = (a >> PCI_CFG_ADDR_DEV_SHIFT) & PCI_DEV_MASK;
    unsigned fn = (a >> PCI_CFG_ADDR_FN_SHIFT) & PCI_FN_MASK;
    return (uint16_t)(bus << 8 | dev << 3 | fn);
}

bool pci_io(pci_t *p, uint16_t port, bool in, unsigned size, uint32_t *value)
{
    if (size != 1 && size != 2 && size != 4)
        return false;
    if (port == PCI_CONFIG_ADDRESS_PORT && size == 4) {
        /* 3.2.2.3.2: "a DWORD I/O write to CONFIG_ADDRESS" latches it; a
         * DWORD read returns it. Reserved bits 30:24 and bits 1:0 read 0. */
        if (in)
            *value = p->address;
        else
            p->address = *value & PCI_CFG_ADDR_WRITABLE;
        return true;
    }
    if (port < PCI_CONFIG_DATA_PORT || port >= PCI_CONFIG_DATA_PORT + PCI_CONFIG_DATA_LEN)
        return false;           /* CF8h-CFBh other than the DWORD, and every other port */
    /* CONFIG_DATA: byte i of the access is port + i. While the enable bit
     * is set, the bytes in CFCh-CFFh are the selected DWORD's bytes (port -
     * CFCh); past CFFh (an access straddling it) and while it is clear,
     * they are ordinary I/O that nothing decodes. */
    bool enabled = p->address & PCI_CFG_ADDR_ENABLE;
    uint16_t bdf = address_bdf(p->address);
    uint8_t dword = (uint8_t)(p->address & PCI_CFG_ADDR_REG_MASK);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned port_i = port + i;
        bool cfg = enabled && port_i < PCI_CONFIG_DATA_PORT + PCI_CONFIG_DATA_LEN;
        uint8_t reg = (uint8_t)(dword + (port_i - PCI_CONFIG_DATA_PORT));
        if (in)
            v |= (uint32_t)(cfg ? pci_config_read8(p, bdf, reg) : ALL_ONES8) << (8 * i);
        else if (cfg)
            pci_config_write8(p, bdf, reg, (uint8_t)(*value >> (8 * i)));
    }
    if (in)
        *value = v;
    return true;
}
