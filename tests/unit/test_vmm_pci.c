/*
 * tests/unit/test_vmm_pci.c - the PCI configuration space model (vmm-server/
 * devices/pci.c): configuration mechanism #1 (PCI Local Bus 3.0 3.2.2.3.2)
 * as Linux's probe uses it, the host bridge's header, every absent
 * function reading all ones, and hostile accesses (odd sizes, unaligned and
 * straddling accesses, the enable bit clear, reserved address bits, random
 * traffic).
 */
#include "unit.h"
#include "devices/pci.h"
#include "fuzz_rng.h"
#include <stdint.h>
#include <string.h>

static pci_t pci;

static uint32_t in(uint16_t port, unsigned size)
{
    uint32_t v = 0x5A5A5A5Au;
    CU_ASSERT_TRUE(pci_io(&pci, port, true, size, &v));
    return v;
}

static void out(uint16_t port, unsigned size, uint32_t v)
{
    CU_ASSERT_TRUE(pci_io(&pci, port, false, size, &v));
}

static uint32_t addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return PCI_CFG_ADDR_ENABLE | bus << PCI_CFG_ADDR_BUS_SHIFT | dev << PCI_CFG_ADDR_DEV_SHIFT |
           fn << PCI_CFG_ADDR_FN_SHIFT | reg;
}

static uint32_t cfg_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(bus, dev, fn, reg & PCI_CFG_ADDR_REG_MASK));
    return in((uint16_t)(PCI_CONFIG_DATA_PORT + (reg & 3)), size);
}

static void cfg_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size,
                      uint32_t v)
{
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(bus, dev, fn, reg & PCI_CFG_ADDR_REG_MASK));
    out((uint16_t)(PCI_CONFIG_DATA_PORT + (reg & 3)), size, v);
}

static void test_pci_host_bridge(void)
{
    pci_init(&pci);
    CU_ASSERT_EQUAL(in(PCI_CONFIG_ADDRESS_PORT, 4), 0);
    /* 6.2.1: vendor and device, class code and revision. */
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_VENDOR_ID, 4), 0x12378086u);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_VENDOR_ID, 2), PCI_VENDOR_INTEL);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_DEVICE_ID, 2), PCI_DEVICE_I440FX);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_REVISION_ID, 4), 0x06000002u);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_CLASS_SUB, 2), 0x0600u);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_COMMAND, 4),
                    (uint32_t)PCI_STATUS_DEVSEL_MEDIUM << 16 | PCI_COMMAND_MEMORY |
                        PCI_COMMAND_MASTER);
    /* No BARs, subsystem, capabilities, interrupt pin; the 440FX's own
     * registers are not modelled: 0. */
    for (unsigned reg = 0x10; reg < PCI_CFG_SPACE_SIZE; reg += 4)
        CU_ASSERT_EQUAL(cfg_read(0, 0, 0, reg, 4), 0);
    /* Byte by byte through CFCh-CFFh: the DWORD's bytes in order. */
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, 0));
    CU_ASSERT_EQUAL(in(0xCFC, 1), 0x86);
    CU_ASSERT_EQUAL(in(0xCFD, 1), 0x80);
    CU_ASSERT_EQUAL(in(0xCFE, 1), 0x37);
    CU_ASSERT_EQUAL(in(0xCFF, 1), 0x12);
    CU_ASSERT_EQUAL(in(0xCFE, 2), 0x1237);
}

static void test_pci_absent_functions(void)
{
    /* Every function but 00:00.0 is absent: all ones, whatever the size
     * or register (6.1: the Vendor ID of a missing device reads FFFFh). */
    pci_init(&pci);
    for (unsigned dev = 0; dev < 32; dev++)
        for (unsigned fn = 0; fn < 8; fn++) {
            if (dev == 0 && fn == 0)
                continue;
            CU_ASSERT_EQUAL(cfg_read(0, dev, fn, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
            CU_ASSERT_EQUAL(cfg_read(0, dev, fn, PCI_CLASS_SUB, 2), 0xFFFFu);
            CU_ASSERT_EQUAL(cfg_read(0, dev, fn, PCI_HEADER_TYPE, 1), 0xFFu);
        }
    for (unsigned bus = 1; bus < 256; bus++) {
        CU_ASSERT_EQUAL(cfg_read(bus, 0, 0, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
        CU_ASSERT_EQUAL(cfg_read(bus, 31, 7, 0xFC, 4), 0xFFFFFFFFu);
    }
    /* Writes to them go nowhere: the host bridge is unchanged, they still
     * read all ones. */
    pci_t before = pci;
    for (unsigned bus = 0; bus < 256; bus += 17)
        for (unsigned reg = 0; reg < PCI_CFG_SPACE_SIZE; reg += 4)
            cfg_write(bus, 1 + bus % 31, bus % 8, reg, 4, 0);
    CU_ASSERT_EQUAL(memcmp(pci.host, before.host, sizeof pci.host), 0);
    CU_ASSERT_EQUAL(cfg_read(0, 1, 0, PCI_COMMAND, 4), 0xFFFFFFFFu);
}

static void test_pci_config_address(void)
{
    pci_init(&pci);
    /* Reserved bits 30:24 and bits 1:0 read 0 (3.2.2.3.2). */
    out(PCI_CONFIG_ADDRESS_PORT, 4, 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(in(PCI_CONFIG_ADDRESS_PORT, 4), PCI_CFG_ADDR_WRITABLE);
    out(PCI_CONFIG_ADDRESS_PORT, 4, 0x7F000003u);
    CU_ASSERT_EQUAL(in(PCI_CONFIG_ADDRESS_PORT, 4), 0);
    /* Only a DWORD access is CONFIG_ADDRESS: bytes and words at CF8h-CFBh
     * pass through as ordinary I/O (a byte at CF9h is the reset control
     * register's): not the model's, and CONFIG_ADDRESS does not change. */
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, 8));
    for (uint16_t port = PCI_CONFIG_ADDRESS_PORT; port < PCI_CONFIG_DATA_PORT; port++) {
        for (unsigned size = 1; size <= 4; size *= 2) {
            if (port == PCI_CONFIG_ADDRESS_PORT && size == 4)
                continue;
            uint32_t v = 0;
            CU_ASSERT_FALSE(pci_io(&pci, port, false, size, &v));
            v = 0x1234;
            CU_ASSERT_FALSE(pci_io(&pci, port, true, size, &v));
            CU_ASSERT_EQUAL(v, 0x1234);     /* untouched */
        }
    }
    /* A DWORD at CF9h-CFBh (unaligned) is not CONFIG_ADDRESS either. */
    uint32_t v = 0;
    CU_ASSERT_FALSE(pci_io(&pci, 0xCF9, false, 4, &v));
    CU_ASSERT_EQUAL(in(PCI_CONFIG_ADDRESS_PORT, 4), addr(0, 0, 0, 8));
    /* Linux's check for mechanism #1 (arch/x86/pci/direct.c does this
     * sequence): a byte to CFBh, then the DWORD written reads back. */
    CU_ASSERT_FALSE(pci_io(&pci, 0xCFB, false, 1, &(uint32_t){ 1 }));
    out(PCI_CONFIG_ADDRESS_PORT, 4, PCI_CFG_ADDR_ENABLE);
    CU_ASSERT_EQUAL(in(PCI_CONFIG_ADDRESS_PORT, 4), PCI_CFG_ADDR_ENABLE);
    /* Ports around the window are not the model's. */
    CU_ASSERT_FALSE(pci_io(&pci, 0xCF7, true, 4, &v));
    CU_ASSERT_FALSE(pci_io(&pci, 0xD00, true, 1, &v));
    CU_ASSERT_FALSE(pci_io(&pci, 0x0CFC - 0x400, true, 4, &v));
}

static void test_pci_enable_bit_clear(void)
{
    /* Enable clear: CONFIG_DATA is ordinary I/O to nothing. */
    pci_init(&pci);
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, PCI_COMMAND) & ~PCI_CFG_ADDR_ENABLE);
    for (unsigned size = 1; size <= 4; size *= 2)
        for (uint16_t port = PCI_CONFIG_DATA_PORT; port < PCI_CONFIG_DATA_PORT + 4; port++)
            CU_ASSERT_EQUAL(in(port, size), size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1);
    out(PCI_CONFIG_DATA_PORT, 4, 0);            /* dropped */
    out(PCI_CONFIG_DATA_PORT, 1, 0);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void test_pci_sizes_and_alignment(void)
{
    pci_init(&pci);
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, PCI_VENDOR_ID));
    /* Sizes other than 1, 2, 4 are refused without a change. */
    uint32_t v = 0x77;
    CU_ASSERT_FALSE(pci_io(&pci, PCI_CONFIG_DATA_PORT, true, 3, &v));
    CU_ASSERT_FALSE(pci_io(&pci, PCI_CONFIG_DATA_PORT, true, 0, &v));
    CU_ASSERT_FALSE(pci_io(&pci, PCI_CONFIG_DATA_PORT, false, 8, &v));
    CU_ASSERT_FALSE(pci_io(&pci, PCI_CONFIG_ADDRESS_PORT, false, 8, &v));
    CU_ASSERT_EQUAL(v, 0x77);
    /* A word at CFFh: its first byte is the register's byte 3, its second
     * is port D00h, where nothing answers. A DWORD at CFDh: bytes 1-3, then
     * one byte of nothing. */
    CU_ASSERT_EQUAL(in(0xCFF, 2), 0xFF12u);
    CU_ASSERT_EQUAL(in(0xCFD, 4), 0xFF123780u);
    CU_ASSERT_EQUAL(in(0xCFE, 4), 0xFFFF1237u);
    /* Straddling writes change only the bytes inside CFCh-CFFh: the cache
     * line size (0Ch) and latency timer (0Dh) through a DWORD at CFDh
     * writes 0Dh-0Fh (latency, header type read-only, BIST read-only). */
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, PCI_CACHE_LINE_SIZE));
    out(0xCFD, 4, 0xAABBCCFFu);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_CACHE_LINE_SIZE, 4), 0x0000F800u);
    /* The register number's low bits come from the port, not CONFIG_ADDRESS. */
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, PCI_VENDOR_ID) | 3);
    CU_ASSERT_EQUAL(in(PCI_CONFIG_DATA_PORT, 4), 0x12378086u);
    /* The last DWORD's last byte, and no further. */
    out(PCI_CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0, 0xFC));
    CU_ASSERT_EQUAL(in(0xCFF, 4), 0xFFFFFF00u);
}

static void test_pci_writable_bits(void)
{
    pci_init(&pci);
    /* Command (6.2.2): I/O, memory, bus master, parity, SERR stick; the
     * rest (special cycles, MWI, VGA snoop, stepping, fast back-to-back,
     * interrupt disable) are hardwired 0. Status is read-only here. */
    cfg_write(0, 0, 0, PCI_COMMAND, 4, 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_COMMAND, 2), 0x0147u);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_STATUS, 2), PCI_STATUS_DEVSEL_MEDIUM);
    cfg_write(0, 0, 0, PCI_COMMAND + 1, 1, 0);          /* the high byte alone */
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_COMMAND, 2), 0x0047u);
    cfg_write(0, 0, 0, PCI_COMMAND, 2, 0);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_COMMAND, 2), 0);
    /* Latency timer: the low 3 bits hardwired (6.2.4). */
    cfg_write(0, 0, 0, PCI_LATENCY_TIMER, 1, 0xFF);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_LATENCY_TIMER, 1), PCI_LATENCY_WRITABLE);
    cfg_write(0, 0, 0, PCI_CACHE_LINE_SIZE, 1, 0x10);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_CACHE_LINE_SIZE, 1), 0x10);
    /* Identification, class, header type: read-only. A BAR sized by
     * writing all ones reads 0: not implemented (6.2.5.1). */
    for (unsigned reg = 0; reg < PCI_CFG_SPACE_SIZE; reg += 4)
        if (reg != PCI_COMMAND && reg != PCI_CACHE_LINE_SIZE)
            cfg_write(0, 0, 0, reg, 4, 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_VENDOR_ID, 4), 0x12378086u);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_REVISION_ID, 4), 0x06000002u);
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_STATUS, 2), PCI_STATUS_DEVSEL_MEDIUM);
    for (unsigned reg = 0x10; reg < PCI_CFG_SPACE_SIZE; reg += 4)
        CU_ASSERT_EQUAL(cfg_read(0, 0, 0, reg, 4), 0);
}

static void test_pci_hostile(void)
{
    /* Random traffic on CF0h-D07h, every size 0-8, random values: no crash
     * (ASan/UBSan), and the invariants hold: reserved address bits 0, the
     * identity read-only, the status fixed, every absent function all
     * ones, only the writable bits differ from the reset header. */
    pci_init(&pci);
    pci_t reset = pci;
    seed_input(0x9C1u, 0);
    for (unsigned i = 0; i < 200000; i++) {
        uint16_t port = (uint16_t)(0xCF0 + below(0x18));
        unsigned size = below(9);
        uint32_t v = (uint32_t)rnd();
        if (below(4) == 0)          /* often a plausible address */
            v = (v & ~0x7F000000u) | (below(2) ? PCI_CFG_ADDR_ENABLE : 0);
        (void)pci_io(&pci, port, below(2), size, &v);
        CU_ASSERT_EQUAL(pci.address & ~PCI_CFG_ADDR_WRITABLE, 0);
    }
    for (unsigned reg = 0; reg < PCI_CFG_SPACE_SIZE; reg++) {
        uint8_t w = reg == PCI_COMMAND ? 0x47 : reg == PCI_COMMAND + 1 ? 0x01
                  : reg == PCI_CACHE_LINE_SIZE ? 0xFF : reg == PCI_LATENCY_TIMER ? 0xF8 : 0;
        CU_ASSERT_EQUAL(pci.host[reg] & ~w, reset.host[reg] & ~w);
    }
    CU_ASSERT_EQUAL(cfg_read(0, 0, 0, PCI_VENDOR_ID, 4), 0x12378086u);
    CU_ASSERT_EQUAL(cfg_read(0, 3, 0, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(cfg_read(7, 0, 0, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
}

UNIT_SUITE(pci_suite)
{
    CU_pSuite s = CU_add_suite("PCI configuration space (mechanism #1, host bridge)", NULL, NULL);
    CU_add_test(s, "host bridge header", test_pci_host_bridge);
    CU_add_test(s, "absent functions read all ones, writes go nowhere", test_pci_absent_functions);
    CU_add_test(s, "CONFIG_ADDRESS: DWORD only, reserved bits", test_pci_config_address);
    CU_add_test(s, "enable bit clear: CONFIG_DATA is nothing", test_pci_enable_bit_clear);
    CU_add_test(s, "odd sizes, unaligned and straddling accesses", test_pci_sizes_and_alignment);
    CU_add_test(s, "writable and read-only bits", test_pci_writable_bits);
    CU_add_test(s, "hostile random traffic", test_pci_hostile);
}
