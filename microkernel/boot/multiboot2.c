/*
 * boot/multiboot2.c - bounds-checked Multiboot2 information parser.
 *
 * Every length in the block is treated as hostile: a tag may not extend past
 * total_size, strings must end inside their tag, and the walk must reach an
 * end tag. The parser only records pointers into the block; it copies nothing.
 */
#include "boot/multiboot2.h"

/* Layouts from Multiboot2 spec 3.6; all fields little-endian. */
typedef struct {
    uint32_t type;
    uint32_t size;
} mb2_tag_hdr_t;


static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A string field occupies [p, end); it must contain a NUL. */
static const char *tag_string(const uint8_t *p, const uint8_t *end)
{
    for (const uint8_t *q = p; q < end; q++)
        if (*q == '\0')
            return (const char *)p;
    return NULL;
}

static mb2_status_t parse_mmap(const uint8_t *tag, uint32_t size, mb2_boot_t *out)
{
    if (size < MB2_MMAP_HDR_SIZE)
        return MB2_ERR_BAD_MMAP;
    uint32_t esize = rd32(tag + 8);
    if (esize < MB2_MMAP_ENTRY_SIZE || esize % 8 != 0)
        return MB2_ERR_BAD_MMAP;
    for (uint32_t off = MB2_MMAP_HDR_SIZE; off + esize <= size; off += esize) {
        const uint8_t *e = tag + off;
        if (out->mmap_count == MB2_MAX_MMAP) {
            out->mmap_dropped++;
            continue;
        }
        mb2_mmap_entry_t *m = &out->mmap[out->mmap_count++];
        m->base = rd64(e);
        m->length = rd64(e + 8);
        m->type = rd32(e + 16);
    }
    return MB2_OK;
}

static mb2_status_t parse_module(const uint8_t *tag, uint32_t size, mb2_boot_t *out)
{
    if (size < MB2_MODULE_HDR_SIZE + 1)
        return MB2_ERR_TAG_SIZE;
    uint32_t start = rd32(tag + 8), end = rd32(tag + 12);
    if (end < start)
        return MB2_ERR_BAD_MODULE;
    const char *cmd = tag_string(tag + MB2_MODULE_HDR_SIZE, tag + size);
    if (!cmd)
        return MB2_ERR_BAD_STRING;
    if (out->module_count == MB2_MAX_MODULES) {
        out->modules_dropped++;
        return MB2_OK;
    }
    out->modules[out->module_count++] = (mb2_module_t){ start, end, cmd };
    return MB2_OK;
}

static mb2_status_t parse_tag(const uint8_t *tag, uint32_t type, uint32_t size,
                              mb2_boot_t *out)
{
    const uint8_t *body = tag + sizeof(mb2_tag_hdr_t), *end = tag + size;
    switch (type) {
    case MB2_TAG_CMDLINE:
        out->cmdline = tag_string(body, end);
        return out->cmdline ? MB2_OK : MB2_ERR_BAD_STRING;
    case MB2_TAG_BOOTLOADER:
        out->bootloader = tag_string(body, end);
        return out->bootloader ? MB2_OK : MB2_ERR_BAD_STRING;
    case MB2_TAG_BASIC_MEMINFO:
        if (size < MB2_MEMINFO_SIZE)
            return MB2_ERR_TAG_SIZE;
        out->mem_lower_kib = rd32(body);
        out->mem_upper_kib = rd32(body + 4);
        out->has_meminfo = 1;
        return MB2_OK;
    case MB2_TAG_MMAP:
        return parse_mmap(tag, size, out);
    case MB2_TAG_MODULE:
        return parse_module(tag, size, out);
    default:
        return MB2_OK;   /* tags we do not use are skipped (spec 3.6.1) */
    }
}

mb2_status_t mb2_parse(const void *info, size_t avail, mb2_boot_t *out)
{
    if (!info || !out)
        return MB2_ERR_NULL;
    *out = (mb2_boot_t){ 0 };
    if ((uintptr_t)info % MB2_TAG_ALIGN != 0)
        return MB2_ERR_MISALIGNED;
    if (avail < MB2_INFO_HDR_SIZE)
        return MB2_ERR_TOTAL_SIZE;
    const uint8_t *base = info;
    uint32_t total = rd32(base);
    if (total < MB2_INFO_HDR_SIZE + sizeof(mb2_tag_hdr_t) || total > avail ||
        total > MB2_MAX_INFO_SIZE)
        return MB2_ERR_TOTAL_SIZE;

    uint32_t off = MB2_INFO_HDR_SIZE;
    while (off + sizeof(mb2_tag_hdr_t) <= total) {
        const uint8_t *tag = base + off;
        uint32_t type = rd32(tag), size = rd32(tag + 4);
        if (size < sizeof(mb2_tag_hdr_t) || size > total - off)
            return MB2_ERR_TAG_SIZE;
        if (type == MB2_TAG_END)
            return MB2_OK;
        mb2_status_t st = parse_tag(tag, type, size, out);
        if (st != MB2_OK)
            return st;
        /* Tags start on 8-byte boundaries (spec 3.6.1). */
        uint32_t next = (size + MB2_TAG_ALIGN - 1) & ~(uint32_t)(MB2_TAG_ALIGN - 1);
        if (next > total - off)
            break;
        off += next;
    }
    return MB2_ERR_NO_END_TAG;
}

const char *mb2_status_str(mb2_status_t st)
{
    static const char *const names[] = {
        [MB2_OK] = "ok",
        [MB2_ERR_NULL] = "no information block",
        [MB2_ERR_MISALIGNED] = "information block not 8-byte aligned",
        [MB2_ERR_TOTAL_SIZE] = "bad total_size",
        [MB2_ERR_TAG_SIZE] = "tag size out of bounds",
        [MB2_ERR_NO_END_TAG] = "no end tag",
        [MB2_ERR_BAD_STRING] = "unterminated string",
        [MB2_ERR_BAD_MMAP] = "malformed memory map",
        [MB2_ERR_BAD_MODULE] = "module ends before it starts",
    };
    if ((unsigned)st < sizeof(names) / sizeof(names[0]) && names[st])
        return names[st];
    return "unknown error";
}

const char *mb2_mem_type_str(uint32_t type)
{
    switch (type) {
    case MB2_MEM_AVAILABLE:    return "available";
    case MB2_MEM_RESERVED:     return "reserved";
    case MB2_MEM_ACPI_RECLAIM: return "acpi-reclaimable";
    case MB2_MEM_NVS:          return "acpi-nvs";
    case MB2_MEM_BAD:          return "bad";
    default:                   return "unknown";
    }
}
