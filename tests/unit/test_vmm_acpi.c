/*
 * tests/unit/test_vmm_acpi.c - the ACPI tables the VMM gives a Linux VM
 * (vmm-server/boot/acpi_tables.c), read back as an OS reads them: the RSDP
 * found by scanning 0xE0000-0xFFFFF on 16-byte boundaries, checksums and
 * lengths of every table, XSDT and RSDT agreeing, the FADT's flags and DSDT,
 * the MADT's structures walked by their lengths, and the DSDT's AML walked
 * by its package lengths down to each device's _HID and _CRS resources.
 */
#include "unit.h"
#include "boot/acpi_tables.h"
#include <stdint.h>
#include <string.h>

#define BIOS_AREA 0xE0000u
#define BIOS_AREA_END 0x100000u
static uint8_t mem[BIOS_AREA_END];      /* guest-physical 0 .. 1 MiB */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static acpi_platform_t platform(unsigned n_virtio)
{
    acpi_platform_t p = {
        .lapic_base = 0xFEE00000u, .ioapic_base = 0xFEC00000u, .lapic_id = 0, .ioapic_id = 1,
        .pit_irq = 0, .pit_gsi = 2, .lapic_nmi_lint = 1, .sci_irq = 9, .pm1a_evt_port = 0x600,
        .pm1a_cnt_port = 0x604, .pm1_evt_len = 4, .pm1_cnt_len = 2, .kbc = true, .com1 = true,
        .com1_port = 0x3F8,
        .com1_irq = 4, .reset_port = 0xCF9, .reset_value = 0x06, .n_virtio = n_virtio,
    };
    static const uint32_t gsi[] = { 5, 6, 10, 11, 12, 13, 14, 15 };
    for (unsigned i = 0; i < n_virtio; i++)
        p.virtio[i].base = 0xFEB00000u + i * 0x1000u, p.virtio[i].size = 0x1000u,
        p.virtio[i].gsi = gsi[i];
    return p;
}

static size_t build(unsigned n_virtio)
{
    memset(mem, 0xA5, sizeof mem);      /* garbage where nothing is written */
    acpi_platform_t p = platform(n_virtio);
    return acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p);
}

/* The OS's RSDP search (5.2.5.1): signature on a 16-byte boundary with a
 * good ACPI 1.0 checksum. */
static const uint8_t *find_rsdp(void)
{
    for (uint32_t a = BIOS_AREA; a < BIOS_AREA_END; a += 16)
        if (!memcmp(mem + a, ACPI_RSDP_SIG, 8) && !acpi_checksum(mem + a, ACPI_RSDP_V1_SIZE))
            return mem + a;
    return NULL;
}

/* A table at @gpa: inside the area, its length sane, its checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
    CU_ASSERT_TRUE_FATAL(gpa >= ACPI_TABLES_GPA && gpa + ACPI_HDR_SIZE <= BIOS_AREA_END);
    const uint8_t *t = mem + gpa;
    uint32_t len = rd32(t + ACPI_HDR_LENGTH);
    CU_ASSERT_TRUE_FATAL(len >= ACPI_HDR_SIZE && gpa + len <= BIOS_AREA_END);
    CU_ASSERT_EQUAL(acpi_checksum(t, len), 0);
    CU_ASSERT_EQUAL(memcmp(t, sig, 4), 0);
    CU_ASSERT_EQUAL(memcmp(t + ACPI_HDR_OEMID, ACPI_OEMID, 6), 0);
    return t;
}

static const uint8_t *xsdt_entry(const char *sig)
{
    const uint8_t *r = find_rsdp();
    const uint8_t *x = table(rd64(r + ACPI_RSDP_XSDT), "XSDT");
    uint32_t n = (rd32(x + ACPI_HDR_LENGTH) - ACPI_HDR_SIZE) / 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = rd64(x + ACPI_HDR_SIZE + 8 * i);
        if (!memcmp(mem + a, sig, 4))
            return table(a, sig);
    }
    return NULL;
}

static void test_acpi_rsdp_rsdt_xsdt(void)
{
    size_t used = build(2);
    CU_ASSERT_TRUE(used > 0 && used <= ACPI_TABLES_MAX);
    const uint8_t *r = find_rsdp();
    CU_ASSERT_PTR_EQUAL_FATAL(r, mem + ACPI_TABLES_GPA);
    CU_ASSERT_EQUAL(r[ACPI_RSDP_REVISION], 2);
    CU_ASSERT_EQUAL(rd32(r + ACPI_RSDP_LENGTH), ACPI_RSDP_SIZE);
    CU_ASSERT_EQUAL(acpi_checksum(r, ACPI_RSDP_SIZE), 0);      /* extended checksum */
    const uint8_t *rsdt = table(rd32(r + ACPI_RSDP_RSDT), "RSDT");
    const uint8_t *xsdt = table(rd64(r + ACPI_RSDP_XSDT), "XSDT");
    uint32_t n = (rd32(xsdt + ACPI_HDR_LENGTH) - ACPI_HDR_SIZE) / 8;
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL((rd32(rsdt + ACPI_HDR_LENGTH) - ACPI_HDR_SIZE) / 4, n);
    for (uint32_t i = 0; i < n; i++)      /* the same tables, in the same order */
        CU_ASSERT_EQUAL(rd32(rsdt + ACPI_HDR_SIZE + 4 * i), rd64(xsdt + ACPI_HDR_SIZE + 8 * i));
    CU_ASSERT_PTR_NOT_NULL(xsdt_entry("FACP"));
    CU_ASSERT_PTR_NOT_NULL(xsdt_entry("APIC"));
    /* Nothing written past what acpi_build says it used. */
    CU_ASSERT_EQUAL(mem[ACPI_TABLES_GPA + used], 0xA5);
}

static void test_acpi_fadt(void)
{
    build(1);
    const uint8_t *f = xsdt_entry("FACP");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(rd32(f + ACPI_HDR_LENGTH), ACPI_FADT_SIZE);
    CU_ASSERT_EQUAL(f[ACPI_HDR_REVISION], 6);
    CU_ASSERT_EQUAL(f[ACPI_FADT_MINOR_VERSION], 5);
    uint32_t flags = rd32(f + ACPI_FADT_FLAGS);
    CU_ASSERT_FALSE(flags & ACPI_FADT_F_HW_REDUCED);        /* the PIT and 8259s stay */
    CU_ASSERT_EQUAL(rd16(f + ACPI_FADT_SCI_INT), 9);
    CU_ASSERT_EQUAL(rd32(f + ACPI_FADT_SMI_CMD), 0);         /* always in ACPI mode */
    CU_ASSERT_EQUAL(rd32(f + ACPI_FADT_PM1A_EVT), 0x600);
    CU_ASSERT_EQUAL(rd32(f + ACPI_FADT_PM1A_CNT), 0x604);
    CU_ASSERT_EQUAL(f[ACPI_FADT_PM1_EVT_LEN], 4);
    CU_ASSERT_EQUAL(f[ACPI_FADT_PM1_CNT_LEN], 2);
    CU_ASSERT_EQUAL(f[ACPI_FADT_X_PM1A_EVT], ACPI_GAS_SYSTEM_IO);
    CU_ASSERT_EQUAL(f[ACPI_FADT_X_PM1A_EVT + 1], 32);
    CU_ASSERT_EQUAL(rd64(f + ACPI_FADT_X_PM1A_EVT + 4), 0x600);
    CU_ASSERT_EQUAL(f[ACPI_FADT_X_PM1A_CNT + 1], 16);
    CU_ASSERT_EQUAL(rd64(f + ACPI_FADT_X_PM1A_CNT + 4), 0x604);
    CU_ASSERT_TRUE(flags & ACPI_FADT_F_RESET_REG_SUP);
    uint16_t arch = rd16(f + ACPI_FADT_BOOT_ARCH);
    CU_ASSERT_TRUE(arch & ACPI_BOOT_LEGACY_DEVICES);
    CU_ASSERT_TRUE(arch & ACPI_BOOT_VGA_NOT_PRESENT);
    CU_ASSERT_TRUE(arch & ACPI_BOOT_8042);                  /* the VMM's i8042 */
    CU_ASSERT_FALSE(arch & ACPI_BOOT_CMOS_RTC_NOT_PRESENT);    /* the RTC is there */
    CU_ASSERT_EQUAL(f[ACPI_FADT_RESET_REG], ACPI_GAS_SYSTEM_IO);
    CU_ASSERT_EQUAL(rd64(f + ACPI_FADT_RESET_REG + 4), 0xCF9);
    CU_ASSERT_EQUAL(f[ACPI_FADT_RESET_VALUE], 0x06);
    CU_ASSERT_EQUAL(rd32(f + ACPI_FADT_DSDT), rd64(f + ACPI_FADT_X_DSDT));
    table(rd64(f + ACPI_FADT_X_DSDT), "DSDT");
}

static void test_acpi_madt(void)
{
    build(0);
    const uint8_t *m = xsdt_entry("APIC");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(rd32(m + ACPI_MADT_LAPIC_ADDR), 0xFEE00000u);
    CU_ASSERT_TRUE(rd32(m + ACPI_MADT_FLAGS) & ACPI_MADT_PCAT_COMPAT);
    uint32_t len = rd32(m + ACPI_HDR_LENGTH);
    unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
    for (uint32_t off = ACPI_MADT_ENTRIES; off < len;) {
        const uint8_t *e = m + off;
        CU_ASSERT_TRUE_FATAL(e[1] >= 2 && off + e[1] <= len);
        switch (e[0]) {
        case ACPI_MADT_LOCAL_APIC:
            CU_ASSERT_EQUAL(e[1], 8);
            CU_ASSERT_EQUAL(e[3], 0);                       /* APIC ID */
            CU_ASSERT_EQUAL(rd32(e + 4), ACPI_MADT_ENABLED);
            lapics++;
            break;
        case ACPI_MADT_IO_APIC:
            CU_ASSERT_EQUAL(e[1], 12);
            CU_ASSERT_EQUAL(e[2], 1);
            CU_ASSERT_EQUAL(rd32(e + 4), 0xFEC00000u);
            CU_ASSERT_EQUAL(rd32(e + 8), 0);                /* GSI base */
            ioapics++;
            break;
        case ACPI_MADT_ISO:
            CU_ASSERT_EQUAL(e[1], 10);
            CU_ASSERT_EQUAL(e[2], 0);                       /* ISA */
            if (e[3] == 0) {                                /* IRQ0: GSI 2, as the bus says */
                CU_ASSERT_EQUAL(rd32(e + 4), 2);
                CU_ASSERT_EQUAL(rd16(e + 8), 0);
            } else {                                        /* the SCI: GSI 9, level, high */
                CU_ASSERT_EQUAL(e[3], 9);
                CU_ASSERT_EQUAL(rd32(e + 4), 9);
                CU_ASSERT_EQUAL(rd16(e + 8), 0x000D);
            }
            isos++;
            break;
        case ACPI_MADT_LAPIC_NMI:
            CU_ASSERT_EQUAL(e[1], 6);
            CU_ASSERT_EQUAL(e[2], 0xFF);
            CU_ASSERT_EQUAL(e[5], 1);                       /* LINT1 */
            nmis++;
            break;
        default:
            CU_FAIL("unexpected MADT structure");
        }
        off += e[1];
    }
    CU_ASSERT_EQUAL(lapics, 1);
    CU_ASSERT_EQUAL(ioapics, 1);
    CU_ASSERT_EQUAL(isos, 2);
    CU_ASSERT_EQUAL(nmis, 1);
}

/* AML PkgLength (ACPI 20.2.4): returns the length (counting itself) and
 * the bytes it took in *n. */
static uint32_t pkglen(const uint8_t *p, unsigned *n)
{
    unsigned k = p[0] >> 6;
    *n = k + 1;
    if (!k)
        return p[0] & 0x3F;
    uint32_t v = p[0] & 0xF;
    for (unsigned i = 1; i <= k; i++)
        v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    return v;
}

typedef struct {
    char name[5];
    char hid[9];           /* a string _HID, or "EISA" + the 4 bytes */
    uint32_t eisa;
    uint8_t crs[128];
    unsigned crs_len;
} dev_t_;

/* Walk Scope(\_SB) and its Device()s; only the encodings acpi_tables.c
 * uses are understood, anything else fails the test. */
static unsigned walk_dsdt(const uint8_t *d, dev_t_ *devs, unsigned max)
{
    uint32_t len = rd32(d + ACPI_HDR_LENGTH);
    const uint8_t *p = d + ACPI_HDR_SIZE, *end = d + len;
    CU_ASSERT_EQUAL_FATAL(p[0], 0x10);                      /* ScopeOp */
    unsigned k;
    uint32_t sl = pkglen(p + 1, &k);
    CU_ASSERT_EQUAL_FATAL(p + 1 + sl, end);                 /* the scope fills the table */
    p += 1 + k;
    CU_ASSERT_EQUAL_FATAL(memcmp(p, "\\_SB_", 5), 0);
    p += 5;
    unsigned n = 0;
    while (p < end) {
        CU_ASSERT_TRUE_FATAL(p[0] == 0x5B && p[1] == 0x82 && n < max);   /* DeviceOp */
        uint32_t dl = pkglen(p + 2, &k);
        const uint8_t *dend = p + 2 + dl;
        CU_ASSERT_TRUE_FATAL(dend <= end);
        p += 2 + k;
        dev_t_ *dv = &devs[n++];
        memset(dv, 0, sizeof *dv);
        memcpy(dv->name, p, 4);
        p += 4;
        while (p < dend) {
            CU_ASSERT_EQUAL_FATAL(p[0], 0x08);              /* NameOp */
            const uint8_t *nm = p + 1;
            p += 5;
            if (!memcmp(nm, "_HID", 4) && p[0] == 0x0D) {
                size_t sl2 = strlen((const char *)p + 1);
                CU_ASSERT_TRUE_FATAL(sl2 < sizeof dv->hid);
                memcpy(dv->hid, p + 1, sl2);
                p += 2 + sl2;
            } else if (!memcmp(nm, "_HID", 4) && p[0] == 0x0C) {
                strcpy(dv->hid, "EISA");
                dv->eisa = rd32(p + 1);
                p += 5;
            } else if (!memcmp(nm, "_UID", 4)) {
                p += p[0] == 0x0A ? 2 : 1;                  /* small integers only */
            } else if (!memcmp(nm, "_CRS", 4)) {
                CU_ASSERT_EQUAL_FATAL(p[0], 0x11);          /* BufferOp */
                uint32_t bl = pkglen(p + 1, &k);
                const uint8_t *bend = p + 1 + bl;
                const uint8_t *q = p + 1 + k;
                CU_ASSERT_EQUAL_FATAL(q[0], 0x0A);          /* BufferSize: a byte */
                uint32_t size = q[1];
                q += 2;
                CU_ASSERT_EQUAL_FATAL(q + size, bend);
                CU_ASSERT_TRUE_FATAL(size <= sizeof dv->crs);
                memcpy(dv->crs, q, size);
                dv->crs_len = size;
                p = bend;
            } else {
                CU_FAIL_FATAL("unexpected name in a device");
            }
        }
        CU_ASSERT_EQUAL_FATAL(p, dend);
    }
    return n;
}

static void test_acpi_dsdt_devices(void)
{
    for (unsigned nv = 0; nv <= 4; nv++) {
        build(nv);
        const uint8_t *f = xsdt_entry("FACP");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        const uint8_t *d = table(rd64(f + ACPI_FADT_X_DSDT), "DSDT");
        CU_ASSERT_EQUAL(d[ACPI_HDR_REVISION], 2);
        dev_t_ devs[10];
        unsigned n = walk_dsdt(d, devs, 10);
        CU_ASSERT_EQUAL_FATAL(n, 1 + nv);
        /* COM1: PNP0501 (EISA 0x0105D041), IO 0x3F8 length 8, IRQ 4, end tag. */
        CU_ASSERT_STRING_EQUAL(devs[0].name, "COM1");
        CU_ASSERT_STRING_EQUAL(devs[0].hid, "EISA");
        CU_ASSERT_EQUAL(devs[0].eisa, 0x0105D041u);
        const uint8_t com1_crs[] = { 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,
                                     0x22, 0x10, 0x00, 0x79, 0x00 };
        CU_ASSERT_EQUAL(devs[0].crs_len, sizeof com1_crs);
        CU_ASSERT_EQUAL(memcmp(devs[0].crs, com1_crs, sizeof com1_crs), 0);
        for (unsigned i = 0; i < nv; i++) {
            const dev_t_ *v = &devs[1 + i];
            char name[5] = { 'V', 'R', '0', (char)('0' + i), 0 };
            CU_ASSERT_STRING_EQUAL(v->name, name);
            CU_ASSERT_STRING_EQUAL(v->hid, "LNRO0005");
            CU_ASSERT_EQUAL_FATAL(v->crs_len, 12 + 9 + 2);
            CU_ASSERT_EQUAL(v->crs[0], 0x86);                       /* Memory32Fixed */
            CU_ASSERT_EQUAL(rd16(v->crs + 1), 9);
            CU_ASSERT_EQUAL(v->crs[3], 1);                          /* read/write */
            CU_ASSERT_EQUAL(rd32(v->crs + 4), 0xFEB00000u + i * 0x1000u);
            CU_ASSERT_EQUAL(rd32(v->crs + 8), 0x1000u);
            CU_ASSERT_EQUAL(v->crs[12], 0x89);                      /* Extended Interrupt */
            CU_ASSERT_EQUAL(rd16(v->crs + 13), 6);
            CU_ASSERT_EQUAL(v->crs[15], 0x01);      /* consumer, level, active high, exclusive */
            CU_ASSERT_EQUAL(v->crs[16], 1);
            CU_ASSERT_EQUAL(rd32(v->crs + 17), platform(nv).virtio[i].gsi);
            CU_ASSERT_EQUAL(v->crs[21], 0x79);                      /* end tag */
        }
    }
}

static void test_acpi_pkglength_forms(void)
{
    /* Eight virtio devices make the scope longer than 63 bytes and the
     * DSDT walk checks the 2-byte PkgLength form; without COM1 it is
     * still well formed. */
    memset(mem, 0, sizeof mem);
    acpi_platform_t p = platform(ACPI_MAX_VIRTIO);
    p.com1 = false;
    p.kbc = false;
    CU_ASSERT_TRUE_FATAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p) > 0);
    const uint8_t *f = xsdt_entry("FACP");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_FALSE(rd16(f + ACPI_FADT_BOOT_ARCH) & ACPI_BOOT_LEGACY_DEVICES);
    CU_ASSERT_FALSE(rd16(f + ACPI_FADT_BOOT_ARCH) & ACPI_BOOT_8042);
    const uint8_t *d = table(rd64(f + ACPI_FADT_X_DSDT), "DSDT");
    CU_ASSERT_EQUAL(d[ACPI_HDR_SIZE + 1] >> 6, 1);          /* two-byte PkgLength */
    dev_t_ devs[10];
    CU_ASSERT_EQUAL(walk_dsdt(d, devs, 10), ACPI_MAX_VIRTIO);
}

/* The PCI host bridge: PNP0A03 with its windows, parsed as Linux's
 * acpi_dev_get_resources reads them (6.4.3.5: _MIN, _MAX and _LEN agree
 * for a fixed range). */
static void test_acpi_dsdt_pci(void)
{
    memset(mem, 0, sizeof mem);
    acpi_platform_t p = platform(2);
    p.pci = true;
    p.pci_cfg_port = 0xCF8;
    p.pci_cfg_len = 8;
    p.pci_mem_base = 0x10000000u;
    p.pci_mem_limit = 0xFEAFFFFFu;
    CU_ASSERT_TRUE_FATAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p) > 0);
    const uint8_t *f = xsdt_entry("FACP");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    dev_t_ devs[10];
    unsigned n = walk_dsdt(table(rd64(f + ACPI_FADT_X_DSDT), "DSDT"), devs, 10);
    CU_ASSERT_EQUAL_FATAL(n, 4);                            /* COM1, VR00, VR01, PCI0 */
    const dev_t_ *d = &devs[3];
    CU_ASSERT_STRING_EQUAL(d->name, "PCI0");
    CU_ASSERT_STRING_EQUAL(d->hid, "EISA");
    CU_ASSERT_EQUAL(d->eisa, 0x030AD041u);                  /* PNP0A03 */
    /* Walk the resources: type, then what each says. */
    const uint8_t *r = d->crs, *end = d->crs + d->crs_len;
    unsigned words = 0, ios = 0, dwords = 0;
    uint32_t io_covered = 0;
    while (r < end && r[0] != 0x79) {
        if (r[0] == 0x88) {                                 /* Word Address Space */
            CU_ASSERT_EQUAL_FATAL(rd16(r + 1), 13);
            CU_ASSERT_EQUAL(r[4], 0x0C);                    /* producer, fixed min and max */
            uint16_t min = rd16(r + 8), max = rd16(r + 10), len = rd16(r + 14);
            CU_ASSERT_EQUAL((uint32_t)len, (uint32_t)(max - min + 1) & 0xFFFF);
            if (r[3] == 2) {                                /* bus numbers */
                CU_ASSERT_EQUAL(min, 0);
                CU_ASSERT_EQUAL(max, 0xFF);
            } else {
                CU_ASSERT_EQUAL(r[3], 1);                   /* I/O, both ranges */
                CU_ASSERT_EQUAL(r[5], 3);
                CU_ASSERT_TRUE(max < 0xCF8 || min >= 0xD00);    /* never the config ports */
                io_covered += (uint32_t)(max - min + 1);
            }
            words++;
            r += 16;
        } else if (r[0] == 0x47) {                          /* the config ports, consumed */
            CU_ASSERT_EQUAL(rd16(r + 2), 0xCF8);
            CU_ASSERT_EQUAL(rd16(r + 4), 0xCF8);
            CU_ASSERT_EQUAL(r[7], 8);
            ios++;
            r += 8;
        } else if (r[0] == 0x87) {                          /* DWord Address Space */
            CU_ASSERT_EQUAL_FATAL(rd16(r + 1), 23);
            CU_ASSERT_EQUAL(r[3], 0);                       /* memory */
            CU_ASSERT_EQUAL(r[4], 0x0C);
            CU_ASSERT_EQUAL(rd32(r + 10), 0x10000000u);
            CU_ASSERT_EQUAL(rd32(r + 14), 0xFEAFFFFFu);
            CU_ASSERT_EQUAL(rd32(r + 22), 0xFEAFFFFFu - 0x10000000u + 1);
            dwords++;
            r += 26;
        } else {
            CU_FAIL_FATAL("unexpected resource descriptor");
        }
    }
    CU_ASSERT_EQUAL(words, 3);
    CU_ASSERT_EQUAL(ios, 1);
    CU_ASSERT_EQUAL(dwords, 1);
    CU_ASSERT_EQUAL(io_covered, 0x10000u - 8);              /* every port but CF8h-CFFh */
    CU_ASSERT_TRUE_FATAL(r + 1 < end);
    CU_ASSERT_EQUAL(r[0], 0x79);
    /* A window that is no range, or config ports off the end: refused. */
    p.pci_mem_base = 0xFEB00000u;
    CU_ASSERT_EQUAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p), 0);
    p.pci_mem_base = 0x10000000u;
    p.pci_cfg_port = 0xFFFC;
    CU_ASSERT_EQUAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p), 0);
    p.pci_cfg_port = 0;
    CU_ASSERT_EQUAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p), 0);
}

static void test_acpi_refused(void)
{
    acpi_platform_t p = platform(1);
    /* Too small an area, a misaligned address, too many devices, a bad IRQ:
     * refused, and nothing written past a small area. */
    uint8_t small[200];
    memset(small, 0x5A, sizeof small);
    CU_ASSERT_EQUAL(acpi_build(small, 100, ACPI_TABLES_GPA, &p), 0);
    CU_ASSERT_EQUAL(small[100], 0x5A);
    CU_ASSERT_EQUAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA + 8, &p), 0);
    p.n_virtio = ACPI_MAX_VIRTIO + 1;
    CU_ASSERT_EQUAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p), 0);
    p = platform(1);
    p.com1_irq = 16;
    CU_ASSERT_EQUAL(acpi_build(mem + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p), 0);
    for (size_t sz = 0; sz < 3000; sz += 7) {        /* every cut-off: 0, never past it */
        uint8_t buf[3100];
        memset(buf, 0x5A, sizeof buf);
        size_t used = acpi_build(buf, sz, ACPI_TABLES_GPA, &p);
        CU_ASSERT_TRUE(used <= sz);
        CU_ASSERT_EQUAL(buf[sz], 0x5A);
    }
}

UNIT_SUITE(acpi_suite)
{
    CU_pSuite s = CU_add_suite("VMM ACPI tables (ACPI 6.5)", NULL, NULL);
    CU_add_test(s, "RSDP found by the scan, RSDT and XSDT agree", test_acpi_rsdp_rsdt_xsdt);
    CU_add_test(s, "FADT: PM1 blocks, SCI, reset register, DSDT", test_acpi_fadt);
    CU_add_test(s, "MADT: LAPIC, I/O APIC, IRQ0 and SCI overrides, LINT1 NMI", test_acpi_madt);
    CU_add_test(s, "DSDT: COM1 and one LNRO0005 per virtio window", test_acpi_dsdt_devices);
    CU_add_test(s, "DSDT: long packages, no COM1", test_acpi_pkglength_forms);
    CU_add_test(s, "DSDT: the PCI host bridge PNP0A03 and its windows", test_acpi_dsdt_pci);
    CU_add_test(s, "refused: small area, misaligned, too many, bad IRQ", test_acpi_refused);
}
