/*
 * vmm-server/boot/acpi_tables.c - the ACPI tables of a Linux VM (see
 * acpi_tables.h). Section numbers are ACPI 6.5's; AML is its chapter 20.
 */
#include "acpi_tables.h"
#include <string.h>

static void wr16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v); wr16(p + 2, v >> 16); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* A byte buffer that notes overflow instead of writing past its end. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put8(buf_t *b, uint8_t v) { put(b, &v, 1); }
static void put16(buf_t *b, uint32_t v) { uint8_t t[2]; wr16(t, v); put(b, t, 2); }
static void put32(buf_t *b, uint32_t v) { uint8_t t[4]; wr32(t, v); put(b, t, 4); }

/* --- AML (chapter 20) --- */

#define AML_ZERO_OP      0x00   /* 20.2.3 */
#define AML_ONE_OP       0x01
#define AML_NAME_OP      0x08   /* 20.2.5.1 DefName */
#define AML_BYTE_PREFIX  0x0A   /* 20.2.3 ComputationalData */
#define AML_WORD_PREFIX  0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_SCOPE_OP     0x10   /* 20.2.5.1 DefScope */
#define AML_BUFFER_OP    0x11   /* 20.2.5.4 DefBuffer */
#define AML_EXT_PREFIX   0x5B
#define AML_DEVICE_OP    0x82   /* after ExtOpPrefix: 20.2.5.2 DefDevice */
#define AML_ROOT_CHAR    0x5C   /* '\' */
#define AML_NAMESEG_LEN  4u

/* Resource descriptors (6.4). */
#define RES_IRQ_NOFLAGS  0x22   /* 6.4.2.1: small item 4, length 2 (high-true edge) */
#define RES_IO           0x47   /* 6.4.2.5: small item 8, length 7 */
#define RES_IO_DECODE16  0x01
#define RES_END_TAG      0x79   /* 6.4.2.9: small item 0xF, length 1 */
#define RES_MEM32_FIXED  0x86   /* 6.4.3.4: large item 6 */
#define RES_MEM32_FIXED_LEN 9u
#define RES_MEM_RW       0x01
#define RES_EXT_IRQ      0x89   /* 6.4.3.6: large item 9 */
#define RES_EXT_IRQ_CONSUMER 0x01   /* bit 0: consumer; bit 1 clear: level; bit 2 clear:
                                       active high; bit 3 clear: exclusive */
#define RES_EXT_IRQ_LEN  6u     /* flags, count 1, one u32 */
#define RES_WORD_ADDR    0x88   /* 6.4.3.5.3: large item 8, Word Address Space */
#define RES_WORD_ADDR_LEN 13u
#define RES_DWORD_ADDR   0x87   /* 6.4.3.5.2: large item 7, DWord Address Space */
#define RES_DWORD_ADDR_LEN 23u
#define RES_ADDR_MEMORY  0u     /* Resource Type: memory, I/O, bus number range */
#define RES_ADDR_IO      1u
#define RES_ADDR_BUS     2u
#define RES_ADDR_PRODUCER_FIXED 0x0Cu   /* General Flags: _MAF and _MIF set (fixed size
                                           and place), _DEC clear (positive decode),
                                           bit 0 clear: a producer (a bridge's window) */
#define RES_ADDR_IO_ENTIRE 0x03u    /* Type Specific (I/O): _RNG 3, ISA and non-ISA ports */
#define RES_ADDR_MEM_RW  0x01u      /* Type Specific (memory): _RW read/write,
                                       _MEM 0 non-cacheable */

/* PkgLength (20.2.4): one byte up to 63; else a lead byte with the count of
 * following bytes in bits 7:6 and the low nibble in 3:0, then the rest. The
 * length counts its own bytes. */
static void aml_pkglength(buf_t *b, size_t content)
{
    size_t k = content + 1 <= 0x3F ? 1 : content + 2 <= 0xFFF ? 2 : content + 3 <= 0xFFFFF ? 3 : 4;
    size_t total = content + k;
    if (k == 1) {
        put8(b, (uint8_t)total);
        return;
    }
    put8(b, (uint8_t)((k - 1) << 6 | (total & 0xF)));
    for (size_t i = 1; i < k; i++)
        put8(b, (uint8_t)(total >> (4 + 8 * (i - 1))));
}

/* An Integer in its shortest ComputationalData encoding (20.2.3). */
static void aml_integer(buf_t *b, uint32_t v)
{
    if (v == 0)
        put8(b, AML_ZERO_OP);
    else if (v == 1)
        put8(b, AML_ONE_OP);
    else if (v <= 0xFF) {
        put8(b, AML_BYTE_PREFIX);
        put8(b, (uint8_t)v);
    } else if (v <= 0xFFFF) {
        put8(b, AML_WORD_PREFIX);
        put16(b, v);
    } else {
        put8(b, AML_DWORD_PREFIX);
        put32(b, v);
    }
}

static void aml_name_begin(buf_t *b, const char seg[AML_NAMESEG_LEN])
{
    put8(b, AML_NAME_OP);
    put(b, seg, AML_NAMESEG_LEN);
}

/* EISAID (19.6.41): three letters in 5 bits each and four hex digits, the
 * 32-bit value stored as a big-endian byte sequence ("PNP0501" = 41 D0 05 01). */
static void aml_eisaid(buf_t *b, const char id[7])
{
    unsigned hex = 0;
    for (unsigned i = 3; i < 7; i++)
        hex = hex << 4 | (unsigned)(id[i] <= '9' ? id[i] - '0' : id[i] - 'A' + 10);
    unsigned letters = (unsigned)(id[0] - '@') << 10 | (unsigned)(id[1] - '@') << 5 |
                       (unsigned)(id[2] - '@');
    put8(b, AML_DWORD_PREFIX);
    put8(b, (uint8_t)(letters >> 8));
    put8(b, (uint8_t)letters);
    put8(b, (uint8_t)(hex >> 8));
    put8(b, (uint8_t)hex);
}

static void aml_string(buf_t *b, const char *s)
{
    put8(b, AML_STRING_PREFIX);
    put(b, s, strlen(s) + 1);
}

/* Name(_CRS, ResourceTemplate() { @res, EndTag }): a Buffer (20.2.5.4)
 * whose size is an Integer. */
static void aml_crs(buf_t *b, const uint8_t *res, size_t n)
{
    uint8_t sz[8];
    buf_t size = { sz, 0, sizeof sz, false };
    aml_integer(&size, (uint32_t)(n + 2));
    aml_name_begin(b, "_CRS");
    put8(b, AML_BUFFER_OP);
    aml_pkglength(b, size.len + n + 2);
    put(b, sz, size.len);
    put(b, res, n);
    put8(b, RES_END_TAG);
    put8(b, 0);             /* checksum 0: "treated as if the checksum is valid" */
}

/* Device(@seg) { @body } (20.2.5.2). */
static void aml_device(buf_t *b, const char seg[AML_NAMESEG_LEN], const buf_t *body)
{
    put8(b, AML_EXT_PREFIX);
    put8(b, AML_DEVICE_OP);
    aml_pkglength(b, AML_NAMESEG_LEN + body->len);
    put(b, seg, AML_NAMESEG_LEN);
    put(b, body->p, body->len);
}

#define DEV_BODY_MAX 192u

static void dsdt_com1(buf_t *devs, const acpi_platform_t *p)
{
    uint8_t bb[DEV_BODY_MAX];
    buf_t body = { bb, 0, sizeof bb, false };
    aml_name_begin(&body, "_HID");
    aml_eisaid(&body, "PNP0501");               /* 16550A-compatible COM port */
    aml_name_begin(&body, "_UID");
    aml_integer(&body, 1);
    uint8_t res[] = {
        RES_IO, RES_IO_DECODE16,
        (uint8_t)p->com1_port, (uint8_t)(p->com1_port >> 8),       /* minimum */
        (uint8_t)p->com1_port, (uint8_t)(p->com1_port >> 8),       /* maximum */
        1, 8,                                                      /* alignment, length */
        RES_IRQ_NOFLAGS, (uint8_t)(1u << p->com1_irq), (uint8_t)((1u << p->com1_irq) >> 8),
    };
    aml_crs(&body, res, sizeof res);
    devs->overflow |= body.overflow;
    aml_device(devs, "COM1", &body);
}

static void dsdt_virtio(buf_t *devs, unsigned n, uint32_t base, uint32_t size, uint32_t gsi)
{
    uint8_t bb[DEV_BODY_MAX];
    buf_t body = { bb, 0, sizeof bb, false };
    aml_name_begin(&body, "_HID");
    aml_string(&body, "LNRO0005");              /* virtio-mmio (Linux's virtio_mmio ACPI id) */
    aml_name_begin(&body, "_UID");
    aml_integer(&body, n);
    uint8_t res[3 + RES_MEM32_FIXED_LEN + 3 + RES_EXT_IRQ_LEN];
    uint8_t *r = res;
    *r++ = RES_MEM32_FIXED;
    wr16(r, RES_MEM32_FIXED_LEN);
    r += 2;
    *r++ = RES_MEM_RW;
    wr32(r, base);
    wr32(r + 4, size);
    r += 8;
    *r++ = RES_EXT_IRQ;
    wr16(r, RES_EXT_IRQ_LEN);
    r += 2;
    *r++ = RES_EXT_IRQ_CONSUMER;                /* level, active high, exclusive */
    *r++ = 1;
    wr32(r, gsi);
    aml_crs(&body, res, sizeof res);
    char seg[AML_NAMESEG_LEN] = { 'V', 'R', (char)('0' + n / 10), (char)('0' + n % 10) };
    devs->overflow |= body.overflow;
    aml_device(devs, seg, &body);
}

/* A Word (16-bit) Address Space Descriptor (6.4.3.5.3) for [min, max],
 * fixed, produced: r must have 3 + RES_WORD_ADDR_LEN bytes. */
static uint8_t *res_word(uint8_t *r, uint8_t type, uint8_t specific, uint16_t min, uint16_t max)
{
    r[0] = RES_WORD_ADDR;
    wr16(r + 1, RES_WORD_ADDR_LEN);
    r[3] = type;
    r[4] = RES_ADDR_PRODUCER_FIXED;
    r[5] = specific;
    wr16(r + 6, 0);                             /* _GRA: no granularity */
    wr16(r + 8, min);
    wr16(r + 10, max);
    wr16(r + 12, 0);                            /* _TRA: no translation */
    wr16(r + 14, (uint32_t)(max - min + 1));    /* _LEN (6.4.3.5, Table 6.44: fixed) */
    return r + 3 + RES_WORD_ADDR_LEN;
}

/* The PCI host bridge (PNP0A03, the PCI root bridge's ID): _CRS says what
 * it forwards to bus 0 and below it: bus numbers 0-255, I/O ports other
 * than the configuration ports (which it consumes: an IO descriptor,
 * Linux leaves them out of the windows), memory from the top of RAM to
 * below the chipset's fixed devices. */
static void dsdt_pci(buf_t *devs, const acpi_platform_t *p)
{
    uint8_t bb[DEV_BODY_MAX];
    buf_t body = { bb, 0, sizeof bb, false };
    aml_name_begin(&body, "_HID");
    aml_eisaid(&body, "PNP0A03");
    aml_name_begin(&body, "_UID");
    aml_integer(&body, 0);
    uint8_t res[4 * (3 + RES_WORD_ADDR_LEN) + 8 + 3 + RES_DWORD_ADDR_LEN];
    uint8_t *r = res_word(res, RES_ADDR_BUS, 0, 0, 0xFF);
    uint16_t cfg = p->pci_cfg_port, cfg_end = (uint16_t)(cfg + p->pci_cfg_len);
    uint8_t io[] = { RES_IO, RES_IO_DECODE16, (uint8_t)cfg, (uint8_t)(cfg >> 8), (uint8_t)cfg,
                     (uint8_t)(cfg >> 8), 1, (uint8_t)p->pci_cfg_len };
    memcpy(r, io, sizeof io);
    r += sizeof io;
    r = res_word(r, RES_ADDR_IO, RES_ADDR_IO_ENTIRE, 0, (uint16_t)(cfg - 1));
    r = res_word(r, RES_ADDR_IO, RES_ADDR_IO_ENTIRE, cfg_end, 0xFFFF);
    r[0] = RES_DWORD_ADDR;
    wr16(r + 1, RES_DWORD_ADDR_LEN);
    r[3] = RES_ADDR_MEMORY;
    r[4] = RES_ADDR_PRODUCER_FIXED;
    r[5] = RES_ADDR_MEM_RW;
    wr32(r + 6, 0);
    wr32(r + 10, p->pci_mem_base);
    wr32(r + 14, p->pci_mem_limit);
    wr32(r + 18, 0);
    wr32(r + 22, p->pci_mem_limit - p->pci_mem_base + 1);
    r += 3 + RES_DWORD_ADDR_LEN;
    aml_crs(&body, res, (size_t)(r - res));
    devs->overflow |= body.overflow;
    aml_device(devs, "PCI0", &body);
}

/* --- tables --- */

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    wr32(t + ACPI_HDR_LENGTH, len);
    t[ACPI_HDR_REVISION] = rev;
    memcpy(t + ACPI_HDR_OEMID, ACPI_OEMID, 6);
    memcpy(t + ACPI_HDR_OEM_TABLE, ACPI_OEM_TABLE_ID, 8);
    wr32(t + ACPI_HDR_OEM_REV, 1);
    memcpy(t + ACPI_HDR_CREATOR, ACPI_CREATOR_ID, 4);
    wr32(t + ACPI_HDR_CREATOR_REV, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
    t[ACPI_HDR_CHECKSUM] = 0;
    t[ACPI_HDR_CHECKSUM] = (uint8_t)-acpi_checksum(t, len);
}

/* Room for one table at the next 16-byte boundary; NULL if it does not fit. */
static uint8_t *alloc(buf_t *b, size_t n, uint32_t *off)
{
    size_t at = (b->len + 15) & ~(size_t)15;
    if (b->overflow || at > b->cap || n > b->cap - at) {
        b->overflow = true;
        return NULL;
    }
    memset(b->p + b->len, 0, at + n - b->len);
    b->len = at + n;
    *off = (uint32_t)at;
    return b->p + at;
}

#define DSDT_MAX 2048u
#define DSDT_REVISION 2u        /* 64-bit integers (19.6.29 DefinitionBlock) */
#define RSDT_REVISION 1u
#define XSDT_REVISION 1u
#define MADT_REVISION 5u        /* ACPI 6.5 */

static size_t build_dsdt(uint8_t *out, const acpi_platform_t *p)
{
    uint8_t db[DSDT_MAX];
    buf_t devs = { db, 0, sizeof db, false };
    if (p->com1)
        dsdt_com1(&devs, p);
    for (unsigned i = 0; i < p->n_virtio; i++)
        dsdt_virtio(&devs, i, p->virtio[i].base, p->virtio[i].size, p->virtio[i].gsi);
    if (p->pci)
        dsdt_pci(&devs, p);
    buf_t t = { out, ACPI_HDR_SIZE, DSDT_MAX, devs.overflow };
    /* Scope(\_SB) { devices } */
    put8(&t, AML_SCOPE_OP);
    aml_pkglength(&t, 1 + AML_NAMESEG_LEN + devs.len);
    put8(&t, AML_ROOT_CHAR);
    put(&t, "_SB_", AML_NAMESEG_LEN);
    put(&t, db, devs.len);
    if (t.overflow)
        return 0;
    header(out, "DSDT", (uint32_t)t.len, DSDT_REVISION);
    finish(out, (uint32_t)t.len);
    return t.len;
}

/* One Interrupt Source Override for ISA IRQ @irq; returns the next entry. */
static uint8_t *madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    e[0] = ACPI_MADT_ISO;
    e[1] = ACPI_MADT_ISO_LEN;
    e[2] = ACPI_ISA_BUS;
    e[3] = irq;
    wr32(e + 4, gsi);
    wr16(e + 8, flags);
    return e + ACPI_MADT_ISO_LEN;
}

static size_t build_madt(uint8_t *t, const acpi_platform_t *p)
{
    uint8_t *e = t + ACPI_MADT_ENTRIES;
    wr32(t + ACPI_MADT_LAPIC_ADDR, p->lapic_base);
    wr32(t + ACPI_MADT_FLAGS, ACPI_MADT_PCAT_COMPAT);
    /* Processor Local APIC (5.2.12.2): UID 0, its APIC ID, enabled. */
    e[0] = ACPI_MADT_LOCAL_APIC;
    e[1] = ACPI_MADT_LOCAL_APIC_LEN;
    e[2] = 0;
    e[3] = p->lapic_id;
    wr32(e + 4, ACPI_MADT_ENABLED);
    e += ACPI_MADT_LOCAL_APIC_LEN;
    /* I/O APIC (5.2.12.3): its ID, address, GSIs from 0. */
    e[0] = ACPI_MADT_IO_APIC;
    e[1] = ACPI_MADT_IO_APIC_LEN;
    e[2] = p->ioapic_id;
    e[3] = 0;
    wr32(e + 4, p->ioapic_base);
    wr32(e + 8, 0);
    e += ACPI_MADT_IO_APIC_LEN;
    /* Interrupt Source Overrides (5.2.12.5): ISA IRQ0 is GSI 2, flags as
     * the ISA bus has them (edge, active high); the SCI is level-triggered,
     * active high (5.2.9 SCI_INT: "sharable, level, active low" unless an
     * override says otherwise; here it does). */
    e = madt_iso(e, p->pit_irq, p->pit_gsi, ACPI_MPS_INTI_CONFORMS);
    e = madt_iso(e, p->sci_irq, p->sci_irq, ACPI_MPS_INTI_HIGH_LEVEL);
    /* Local APIC NMI (5.2.12.7): every processor's LINT1. */
    e[0] = ACPI_MADT_LAPIC_NMI;
    e[1] = ACPI_MADT_LAPIC_NMI_LEN;
    e[2] = ACPI_MADT_ALL_PROCESSORS;
    wr16(e + 3, ACPI_MPS_INTI_CONFORMS);
    e[5] = p->lapic_nmi_lint;
    e += ACPI_MADT_LAPIC_NMI_LEN;
    uint32_t len = (uint32_t)(e - t);
    header(t, "APIC", len, MADT_REVISION);
    finish(t, len);
    return len;
}

#define MADT_SIZE (ACPI_MADT_ENTRIES + ACPI_MADT_LOCAL_APIC_LEN + ACPI_MADT_IO_APIC_LEN + \
                   2 * ACPI_MADT_ISO_LEN + ACPI_MADT_LAPIC_NMI_LEN)

/* A Generic Address Structure (5.2.3.2) for @bytes of I/O space at @port. */
static void gas_io(uint8_t *g, uint16_t port, unsigned bytes, uint8_t access)
{
    g[0] = ACPI_GAS_SYSTEM_IO;
    g[1] = (uint8_t)(8 * bytes);    /* register bit width */
    g[2] = 0;                       /* bit offset */
    g[3] = access;
    wr64(g + 4, port);
}

static void build_fadt(uint8_t *t, const acpi_platform_t *p, uint32_t dsdt_gpa)
{
    wr32(t + ACPI_FADT_DSDT, dsdt_gpa);
    wr64(t + ACPI_FADT_X_DSDT, dsdt_gpa);
    wr16(t + ACPI_FADT_BOOT_ARCH, (p->com1 ? ACPI_BOOT_LEGACY_DEVICES : 0) |
                                  (p->kbc ? ACPI_BOOT_8042 : 0) |
                                  ACPI_BOOT_VGA_NOT_PRESENT | ACPI_BOOT_MSI_NOT_SUPPORTED);
    wr32(t + ACPI_FADT_FLAGS, ACPI_FADT_F_WBINVD | ACPI_FADT_F_PWR_BUTTON |
                              ACPI_FADT_F_SLP_BUTTON | ACPI_FADT_F_RESET_REG_SUP);
    /* The fixed hardware (4.8.3.1-4.8.3.2), in the 32-bit and the extended
     * (GAS) fields alike; SMI_CMD stays 0: no transition to ACPI mode. */
    wr16(t + ACPI_FADT_SCI_INT, p->sci_irq);
    wr32(t + ACPI_FADT_PM1A_EVT, p->pm1a_evt_port);
    wr32(t + ACPI_FADT_PM1A_CNT, p->pm1a_cnt_port);
    t[ACPI_FADT_PM1_EVT_LEN] = p->pm1_evt_len;
    t[ACPI_FADT_PM1_CNT_LEN] = p->pm1_cnt_len;
    gas_io(t + ACPI_FADT_X_PM1A_EVT, p->pm1a_evt_port, p->pm1_evt_len, ACPI_GAS_ACCESS_WORD);
    gas_io(t + ACPI_FADT_X_PM1A_CNT, p->pm1a_cnt_port, p->pm1_cnt_len, ACPI_GAS_ACCESS_WORD);
    /* RESET_REG (4.8.3.6): one byte in I/O space. */
    gas_io(t + ACPI_FADT_RESET_REG, p->reset_port, 1, ACPI_GAS_ACCESS_BYTE);
    t[ACPI_FADT_RESET_VALUE] = p->reset_value;
    t[ACPI_FADT_MINOR_VERSION] = ACPI_FADT_MINOR;
    header(t, "FACP", ACPI_FADT_SIZE, ACPI_FADT_REVISION);
    finish(t, ACPI_FADT_SIZE);
}

size_t acpi_build(uint8_t *area, size_t area_size, uint32_t area_gpa, const acpi_platform_t *p)
{
    if (p->n_virtio > ACPI_MAX_VIRTIO || area_gpa % 16 || p->com1_irq > 15)
        return 0;
    /* A PCI window must be a range, the configuration ports inside 1-0xFFFE. */
    if (p->pci && (p->pci_mem_base > p->pci_mem_limit || !p->pci_cfg_port || !p->pci_cfg_len ||
                   p->pci_cfg_len > 0xFF ||
                   (uint32_t)p->pci_cfg_port + p->pci_cfg_len > 0xFFFF))
        return 0;
    buf_t b = { area, 0, area_size, false };
    uint32_t rsdp_off, rsdt_off, xsdt_off, fadt_off, madt_off, dsdt_off;
    enum { N_TABLES = 2 };      /* FADT, MADT */
    uint8_t *rsdp = alloc(&b, ACPI_RSDP_SIZE, &rsdp_off);
    uint8_t *rsdt = alloc(&b, ACPI_HDR_SIZE + 4 * N_TABLES, &rsdt_off);
    uint8_t *xsdt = alloc(&b, ACPI_HDR_SIZE + 8 * N_TABLES, &xsdt_off);
    uint8_t *fadt = alloc(&b, ACPI_FADT_SIZE, &fadt_off);
    uint8_t *madt = alloc(&b, MADT_SIZE, &madt_off);
    uint8_t *dsdt = alloc(&b, 0, &dsdt_off);
    if (!dsdt || b.cap - b.len < DSDT_MAX)
        return 0;
    size_t dsdt_len = build_dsdt(dsdt, p);
    if (!dsdt_len)
        return 0;
    b.len += dsdt_len;
    uint32_t fadt_gpa = area_gpa + fadt_off, madt_gpa = area_gpa + madt_off;
    build_fadt(fadt, p, area_gpa + dsdt_off);
    build_madt(madt, p);
    wr32(rsdt + ACPI_HDR_SIZE, fadt_gpa);
    wr32(rsdt + ACPI_HDR_SIZE + 4, madt_gpa);
    header(rsdt, "RSDT", ACPI_HDR_SIZE + 4 * N_TABLES, RSDT_REVISION);
    finish(rsdt, ACPI_HDR_SIZE + 4 * N_TABLES);
    wr64(xsdt + ACPI_HDR_SIZE, fadt_gpa);
    wr64(xsdt + ACPI_HDR_SIZE + 8, madt_gpa);
    header(xsdt, "XSDT", ACPI_HDR_SIZE + 8 * N_TABLES, XSDT_REVISION);
    finish(xsdt, ACPI_HDR_SIZE + 8 * N_TABLES);
    /* RSDP (5.2.5.3): the first checksum covers the ACPI 1.0 part. */
    memcpy(rsdp, ACPI_RSDP_SIG, 8);
    memcpy(rsdp + ACPI_RSDP_OEMID, ACPI_OEMID, 6);
    rsdp[ACPI_RSDP_REVISION] = ACPI_RSDP_REV2;
    wr32(rsdp + ACPI_RSDP_RSDT, area_gpa + rsdt_off);
    wr32(rsdp + ACPI_RSDP_LENGTH, ACPI_RSDP_SIZE);
    wr64(rsdp + ACPI_RSDP_XSDT, area_gpa + xsdt_off);
    rsdp[ACPI_RSDP_CHECKSUM] = (uint8_t)-acpi_checksum(rsdp, ACPI_RSDP_V1_SIZE);
    rsdp[ACPI_RSDP_XCHECKSUM] = (uint8_t)-acpi_checksum(rsdp, ACPI_RSDP_SIZE);
    return b.len;
}
