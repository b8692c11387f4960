/* vmm-server/boot/linux_load.c - a Linux bzImage by the x86 boot protocol (linux_load.h). */
#include "linux_load.h"
#include <string.h>

static const char *const status_str[] = {
    [LX_OK] = "ok",
    [LX_NOT_LINUX] = "no Linux setup header (\"HdrS\" at 0x202)",
    [LX_OLD_PROTOCOL] = "boot protocol older than 2.06",
    [LX_NOT_BZIMAGE] = "not a bzImage (loadflags.LOADED_HIGH clear)",
    [LX_BAD_SETUP] = "setup sectors or setup header beyond the file",
    [LX_BAD_CODE32_START] = "code32_start is not 1 MiB",
    [LX_NO_ROOM] = "kernel (init_size), initrd or command line do not fit the VM's RAM",
    [LX_CMDLINE_TOO_LONG] = "command line longer than the kernel's cmdline_size",
};

const char *lx_status_str(lx_status_t st)
{
    return (unsigned)st < sizeof status_str / sizeof status_str[0] && status_str[st]
               ? status_str[st] : "?";
}

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

void lx_set_rsdp(uint8_t *ram, uint64_t rsdp_gpa)
{
    wr64(ram + LX_ZERO_PAGE_GPA + LX_ZP_ACPI_RSDP_ADDR, rsdp_gpa);
}

lx_status_t lx_parse(const uint8_t *image, uint64_t size, lx_layout_t *out)
{
    memset(out, 0, sizeof *out);
    if (size < LX_OFF_HEADER + 4 || rd32(image + LX_OFF_HEADER) != LX_HDR_MAGIC ||
        rd16(image + LX_OFF_BOOT_FLAG) != LX_BOOT_FLAG)
        return LX_NOT_LINUX;
    out->version = (uint16_t)rd16(image + LX_OFF_VERSION);
    if (out->version < LX_MIN_VERSION)
        return LX_OLD_PROTOCOL;
    /* The header ends where the jump at 0x200 lands (its signed 8-bit
     * displacement is always forward in a real header). */
    out->header_end = LX_OFF_HEADER + image[LX_OFF_JUMP + 1];
    unsigned sects = image[LX_OFF_SETUP_SECTS] ? image[LX_OFF_SETUP_SECTS] : LX_DEFAULT_SETUP_SECTS;
    out->setup_bytes = (sects + 1) * LX_SECTOR;
    if (out->header_end < LX_OFF_CMDLINE_SIZE + 4 || out->header_end > out->setup_bytes ||
        out->setup_bytes >= size)
        return LX_BAD_SETUP;
    if (!(image[LX_OFF_LOADFLAGS] & LX_LOADED_HIGH))
        return LX_NOT_BZIMAGE;
    if (rd32(image + LX_OFF_CODE32_START) != LX_KERNEL_ADDR)
        return LX_BAD_CODE32_START;
    if (size - out->setup_bytes > UINT32_MAX)
        return LX_NO_ROOM;
    out->kernel_bytes = (uint32_t)(size - out->setup_bytes);
    /* init_size (2.10+): the kernel's footprint from its load address while
     * it decompresses; before 2.10 the loaded bytes are all we know. */
    uint32_t init = out->header_end >= LX_OFF_INIT_SIZE + 4 ? rd32(image + LX_OFF_INIT_SIZE) : 0;
    out->init_size = init > out->kernel_bytes ? init : out->kernel_bytes;
    out->initrd_max = rd32(image + LX_OFF_INITRD_MAX);
    out->cmdline_size = rd32(image + LX_OFF_CMDLINE_SIZE);
    return LX_OK;
}

/* The VM's E820 map ("THE ZERO PAGE" e820_table): what its Multiboot memory
 * map also says (boot/multiboot.h): low RAM, the hole, RAM from 1 MiB. */
static unsigned put_e820(uint8_t *zp, uint64_t ram_bytes)
{
    const struct { uint64_t addr, size; uint32_t type; } map[] = {
        { 0, LX_LOW_RAM_END, LX_E820_RAM },
        { LX_LOW_RAM_END, LX_HIGH_RAM_START - LX_LOW_RAM_END, LX_E820_RESERVED },
        { LX_HIGH_RAM_START, ram_bytes - LX_HIGH_RAM_START, LX_E820_RAM },
    };
    unsigned n = sizeof map / sizeof map[0];
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = zp + LX_ZP_E820_TABLE + i * LX_E820_ENTRY_SIZE;
        wr64(e, map[i].addr);
        wr64(e + 8, map[i].size);
        wr32(e + 16, map[i].type);
    }
    zp[LX_ZP_E820_ENTRIES] = (uint8_t)n;
    return n;
}

/* Flat 4 GiB descriptors (SDM Vol. 3A 3.4.5): base 0, limit 0xFFFFF pages,
 * G=1, D/B=1, P=1, DPL 0, S=1; type 0xA execute/read code, 0x2 read/write data. */
#define LX_DESC_CODE 0x00CF9A000000FFFFull
#define LX_DESC_DATA 0x00CF92000000FFFFull

lx_status_t lx_load(const uint8_t *image, uint64_t size, const lx_layout_t *l, uint8_t *ram,
                    uint64_t ram_bytes, const char *cmdline, const uint8_t *initrd,
                    uint64_t initrd_size, lx_boot_t *out)
{
    size_t clen = strlen(cmdline);
    if (l->setup_bytes >= size || l->kernel_bytes != size - l->setup_bytes)
        return LX_BAD_SETUP;                    /* @l is not this image's */
    if (clen > l->cmdline_size)
        return LX_CMDLINE_TOO_LONG;
    if (clen >= LX_CMDLINE_MAX || ram_bytes <= LX_HIGH_RAM_START ||
        ram_bytes > (uint64_t)UINT32_MAX + 1 || l->init_size > ram_bytes - LX_HIGH_RAM_START)
        return LX_NO_ROOM;
    uint64_t kernel_end = LX_KERNEL_ADDR + (uint64_t)l->init_size;
    /* The initrd: page-aligned, as high as RAM and initrd_addr_max allow
     * ("initrd_addr_max": the highest address it may occupy), above the
     * kernel's footprint. */
    uint64_t top = ram_bytes;
    if ((uint64_t)l->initrd_max + 1 < top)
        top = (uint64_t)l->initrd_max + 1;
    uint64_t initrd_addr = 0;
    if (initrd_size) {
        if (initrd_size > top)
            return LX_NO_ROOM;
        initrd_addr = (top - initrd_size) & ~(uint64_t)(LX_PAGE - 1);
        if (initrd_addr < kernel_end)
            return LX_NO_ROOM;
    }
    /* Everything fits: write. */
    memcpy(ram + LX_KERNEL_ADDR, image + l->setup_bytes, l->kernel_bytes);
    if (initrd_size)
        memcpy(ram + initrd_addr, initrd, initrd_size);
    memcpy(ram + LX_CMDLINE_GPA, cmdline, clen + 1);
    uint8_t *zp = ram + LX_ZERO_PAGE_GPA;
    memset(zp, 0, LX_ZP_SIZE);
    memcpy(zp + LX_HDR_START, image + LX_HDR_START, l->header_end - LX_HDR_START);
    zp[LX_OFF_TYPE_OF_LOADER] = LX_LOADER_UNDEFINED;
    /* No real-mode setup runs (32-bit entry), so no heap for it. */
    zp[LX_OFF_LOADFLAGS] &= (uint8_t)~LX_CAN_USE_HEAP;
    wr16(zp + LX_OFF_HEAP_END_PTR, 0);
    wr32(zp + LX_OFF_CMD_LINE_PTR, LX_CMDLINE_GPA);
    wr32(zp + LX_OFF_RAMDISK_IMAGE, (uint32_t)initrd_addr);
    wr32(zp + LX_OFF_RAMDISK_SIZE, (uint32_t)initrd_size);
    put_e820(zp, ram_bytes);
    uint64_t gdt[LX_GDT_ENTRIES] = { 0, 0, LX_DESC_CODE, LX_DESC_DATA };
    memcpy(ram + LX_GDT_GPA, gdt, sizeof gdt);
    *out = (lx_boot_t){ .entry = LX_KERNEL_ADDR, .zero_page = LX_ZERO_PAGE_GPA,
                        .gdt = LX_GDT_GPA, .gdt_limit = sizeof gdt - 1,
                        .initrd_addr = (uint32_t)initrd_addr, .initrd_size = (uint32_t)initrd_size };
    return LX_OK;
}
