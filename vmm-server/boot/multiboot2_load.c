/* vmm-server/boot/multiboot2_load.c - see multiboot2_load.h. */
#include "boot/multiboot2_load.h"
#include <string.h>

/* The memory map's types are the same numbers in both specifications
 * (Multiboot 3.3 "mmap_addr", Multiboot2 3.6.8). */
_Static_assert(MB_MMAP_AVAILABLE == MB2_MEM_AVAILABLE && MB_MMAP_RESERVED == MB2_MEM_RESERVED,
               "memory map types");
/* Everything is page-aligned, so the information's tags start 8-byte aligned. */
_Static_assert(MB_PAGE_SIZE % MB2_TAG_ALIGN == 0, "tag alignment");

/* Header tag fields (3.1.3): u16 type, u16 flags, u32 size. */
#define HT_FLAGS       2
#define HT_SIZE        4
#define HT_ADDRESS_SIZE (MB2_HEADER_TAG_SIZE + 4 * 4)   /* 3.1.5 */
#define HT_ENTRY_SIZE   (MB2_HEADER_TAG_SIZE + 4)       /* 3.1.6 */

static uint32_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, sizeof v); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, sizeof v); return v; }

static uint64_t align_tag(uint64_t n)
{
    return (n + MB2_TAG_ALIGN - 1) & ~(uint64_t)(MB2_TAG_ALIGN - 1);
}

static mb_status_t blame(mb_layout_t *out, mb_status_t st, uint32_t tag)
{
    out->bad_tag = tag;
    out->nseg = 0;
    return st;
}

/* The information this loader gives (mb2_build_info), for requests (3.1.4). */
static int given(uint32_t type)
{
    return type == MB2_TAG_CMDLINE || type == MB2_TAG_BOOTLOADER || type == MB2_TAG_MODULE ||
           type == MB2_TAG_BASIC_MEMINFO || type == MB2_TAG_MMAP;
}

typedef struct {
    mb_addresses_t a;
    int have_address, have_entry;
} header_tags_t;

/* One header tag of `size` bytes (inside the header). */
static mb_status_t header_tag(const uint8_t *t, uint32_t size, header_tags_t *h, mb_layout_t *out)
{
    uint32_t type = get16(t);
    int optional = (get16(t + HT_FLAGS) & MB2_HEADER_TAG_OPTIONAL) != 0;
    switch (type) {
    case MB2_HEADER_TAG_INFO_REQUEST:
        for (uint32_t i = MB2_HEADER_TAG_SIZE; i + 4 <= size; i += 4)
            if (!given(get32(t + i)) && !optional)
                return blame(out, MB2_UNKNOWN_REQUEST, get32(t + i));
        return MB_OK;
    case MB2_HEADER_TAG_ADDRESS:
        if (size < HT_ADDRESS_SIZE)
            return blame(out, MB2_BAD_HEADER, type);
        h->a.header_addr = get32(t + 8);
        h->a.load_addr = get32(t + 12);
        h->a.load_end = get32(t + 16);
        h->a.bss_end = get32(t + 20);
        h->have_address = 1;
        return MB_OK;
    case MB2_HEADER_TAG_ENTRY:
        if (size < HT_ENTRY_SIZE)
            return blame(out, MB2_BAD_HEADER, type);
        h->a.entry = get32(t + 8);
        h->have_entry = 1;
        return MB_OK;
    case MB2_HEADER_TAG_CONSOLE:      /* the guest's console is its UART (COM1) */
    case MB2_HEADER_TAG_MODULE_ALIGN: /* modules are always page-aligned (3.1.10) */
    case MB2_HEADER_TAG_RELOCATABLE:  /* allows relocation; loaded at its link addresses */
    case MB2_HEADER_TAG_EFI_BS:       /* EFI only: ignored on a BIOS PC, as GRUB does */
    case MB2_HEADER_TAG_ENTRY_EFI32:
    case MB2_HEADER_TAG_ENTRY_EFI64:
        return MB_OK;
    default:                          /* a framebuffer (no video here) or unknown */
        return optional ? MB_OK : blame(out, MB2_UNSUPPORTED_TAG, type);
    }
}

/* Walk the header's tags from after its fixed part to its end tag. */
static mb_status_t header_tags(const uint8_t *hdr, uint32_t length, header_tags_t *h,
                               mb_layout_t *out)
{
    for (uint32_t at = MB2_HEADER_FIXED_SIZE;;) {
        if (length - at < MB2_HEADER_TAG_SIZE)
            return blame(out, MB2_BAD_HEADER, MB2_HEADER_TAG_END);     /* no end tag */
        const uint8_t *t = hdr + at;
        uint32_t type = get16(t), size = get32(t + HT_SIZE);
        if (size < MB2_HEADER_TAG_SIZE || size > length - at)
            return blame(out, MB2_BAD_HEADER, type);
        if (type == MB2_HEADER_TAG_END)
            return MB_OK;
        mb_status_t st = header_tag(t, size, h, out);
        if (st != MB_OK)
            return st;
        if (align_tag(size) > length - at)
            return blame(out, MB2_BAD_HEADER, MB2_HEADER_TAG_END);
        at += (uint32_t)align_tag(size);
    }
}

mb_status_t mb2_parse_header(const uint8_t *image, uint64_t size, uint64_t ram_bytes,
                             mb_layout_t *out)
{
    memset(out, 0, sizeof(*out));
    out->bad_index = -1;
    /* 3.1.1: 64-bit aligned, contained completely in the first 32768 bytes. */
    uint64_t search = size < MB2_SEARCH_BYTES ? size : MB2_SEARCH_BYTES, off;
    for (off = 0; off + MB2_HEADER_FIXED_SIZE <= search; off += MB2_HEADER_ALIGN) {
        const uint8_t *p = image + off;
        if (get32(p) == MB2_HEADER_MAGIC &&
            (uint32_t)(get32(p) + get32(p + 4) + get32(p + 8) + get32(p + 12)) == 0)
            break;
    }
    if (off + MB2_HEADER_FIXED_SIZE > search)
        return MB_NO_HEADER;
    const uint8_t *hdr = image + off;
    uint32_t arch = get32(hdr + 4), length = get32(hdr + 8);
    if (arch != MB2_ARCH_I386)
        return blame(out, MB2_BAD_ARCH, arch);
    if (length < MB2_HEADER_FIXED_SIZE || length > search - off)
        return blame(out, MB2_BAD_HEADER, MB2_HEADER_TAG_END);
    header_tags_t h = { 0 };
    mb_status_t st = header_tags(hdr, length, &h, out);
    if (st != MB_OK)
        return st;
    if (h.have_address) {
        /* 3.1.5: load_addr -1 loads the file from its start. */
        if (!h.have_entry)
            return blame(out, MB2_NO_ENTRY, MB2_HEADER_TAG_ADDRESS);
        if (h.a.load_addr == MB2_ADDRESS_LOAD_FROM_START) {
            if (h.a.header_addr < off)
                return blame(out, MB_BAD_ADDRESSES, MB2_HEADER_TAG_ADDRESS);
            h.a.load_addr = (uint32_t)(h.a.header_addr - off);
        }
        st = mb_parse_addresses(&h.a, off, size, ram_bytes, out);
        out->format = MB2_FORMAT_ADDRESS;
        return st;
    }
    if (!mb_is_elf(image, size))
        return MB_NO_ADDRESSES;
    st = mb_parse_elf(image, size, ram_bytes, out);
    out->format = out->format == MB_FORMAT_ELF32 ? MB2_FORMAT_ELF32 : MB2_FORMAT_ELF64;
    if (st != MB_OK || !h.have_entry)
        return st;
    /* 3.1.6: the entry address tag overrides e_entry; it must be in what is loaded. */
    for (unsigned i = 0; i < out->nseg; i++) {
        const mb_segment_t *s = &out->seg[i];
        if (h.a.entry >= s->load_addr && h.a.entry - s->load_addr < s->copy_bytes) {
            out->entry = h.a.entry;
            return MB_OK;
        }
    }
    out->bad_addr = h.a.entry;
    return blame(out, MB_BAD_ENTRY, MB2_HEADER_TAG_ENTRY);
}

/* ---- the boot information (3.6) ---- */

static uint64_t string_tag_bytes(const char *s)
{
    return align_tag(MB2_TAG_HDR_SIZE + strlen(s) + 1);
}

/* Tags written one after the other from at, each 8-byte aligned. */
typedef struct {
    uint8_t *ram;
    uint64_t at;
} writer_t;

static uint8_t *put_tag(writer_t *w, uint32_t type, uint64_t size)
{
    uint32_t hdr[2] = { type, (uint32_t)size };
    uint8_t *t = w->ram + w->at;
    memcpy(t, hdr, sizeof hdr);
    w->at += align_tag(size);
    return t + MB2_TAG_HDR_SIZE;
}

static void put_string_tag(writer_t *w, uint32_t type, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(put_tag(w, type, MB2_TAG_HDR_SIZE + n), s, n);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

mb_status_t mb2_build_info(uint8_t *ram, uint64_t ram_bytes, uint64_t kernel_end,
                           const char *cmdline, const mb_module_t *mods, unsigned n_mods,
                           mb_boot_t *out)
{
    if (n_mods > MB_MAX_MODULES)
        return mb_place(ram_bytes, kernel_end, mods, n_mods, 0, out);
    mb_region_t map[MB_MMAP_ENTRIES];
    unsigned n_map = mb_memory_map(ram_bytes, map);
    /* The size first: header, tags in the order written, the end tag. */
    uint64_t bytes = MB2_INFO_HDR_SIZE + string_tag_bytes(or_empty(cmdline)) +
                     string_tag_bytes(MB_LOADER_NAME) + align_tag(MB2_MEMINFO_SIZE) +
                     align_tag(MB2_MMAP_HDR_SIZE + (uint64_t)n_map * MB2_MMAP_ENTRY_SIZE) +
                     MB2_TAG_HDR_SIZE;
    for (unsigned i = 0; i < n_mods; i++)
        bytes += align_tag(MB2_MODULE_HDR_SIZE + strlen(or_empty(mods[i].string)) + 1);
    mb_status_t st = mb_place(ram_bytes, kernel_end, mods, n_mods, bytes, out);
    if (st != MB_OK)
        return st;
    mb_put_modules(ram, mods, n_mods, out);
    memset(ram + out->info_addr, 0, bytes);                     /* padding and reserved: 0 */
    uint32_t fixed[2] = { (uint32_t)bytes, 0 };                 /* total_size, reserved */
    memcpy(ram + out->info_addr, fixed, sizeof fixed);
    writer_t w = { ram, out->info_addr + MB2_INFO_HDR_SIZE };
    put_string_tag(&w, MB2_TAG_CMDLINE, or_empty(cmdline));            /* 3.6.3 */
    put_string_tag(&w, MB2_TAG_BOOTLOADER, MB_LOADER_NAME);            /* 3.6.4 */
    for (unsigned i = 0; i < n_mods; i++) {                             /* 3.6.6 */
        const char *s = or_empty(mods[i].string);
        size_t n = strlen(s) + 1;
        uint8_t *b = put_tag(&w, MB2_TAG_MODULE, MB2_MODULE_HDR_SIZE + n);
        uint32_t range[2] = { (uint32_t)out->mod_addr[i],
                              (uint32_t)(out->mod_addr[i] + mods[i].size) };
        memcpy(b, range, sizeof range);
        memcpy(b + sizeof range, s, n);
    }
    uint32_t mem[2] = { MB_MEM_LOWER_KB, mb_mem_upper_kb(ram_bytes) };  /* 3.6.2 */
    memcpy(put_tag(&w, MB2_TAG_BASIC_MEMINFO, MB2_MEMINFO_SIZE), mem, sizeof mem);
    uint8_t *m = put_tag(&w, MB2_TAG_MMAP,                              /* 3.6.8 */
                         MB2_MMAP_HDR_SIZE + (uint64_t)n_map * MB2_MMAP_ENTRY_SIZE);
    uint32_t mhdr[2] = { MB2_MMAP_ENTRY_SIZE, MB2_MMAP_VERSION };
    memcpy(m, mhdr, sizeof mhdr);
    for (unsigned i = 0; i < n_map; i++) {
        uint8_t *e = m + sizeof mhdr + i * MB2_MMAP_ENTRY_SIZE;
        memcpy(e, &map[i].base, 8);
        memcpy(e + 8, &map[i].length, 8);
        memcpy(e + 16, &map[i].type, 4);                     /* then reserved: 0 */
    }
    put_tag(&w, MB2_TAG_END, MB2_TAG_HDR_SIZE);
    return MB_OK;
}
