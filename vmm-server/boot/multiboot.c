/* vmm-server/boot/multiboot.c - see multiboot.h. */
#include "boot/multiboot.h"
#include <string.h>

/* Header fields by word (3.1.1): magic, flags, checksum, then the a.out
 * kludge's header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
enum { H_MAGIC, H_FLAGS, H_CHECKSUM, H_HEADER_ADDR, H_LOAD_ADDR, H_LOAD_END, H_BSS_END,
       H_ENTRY, H_WORDS };
#define H_BASIC_BYTES (3u * 4u)

/* ELF (System V gABI ch. 4 "ELF Header", ch. 5 "Program Header"). */
#define EI_CLASS     4
#define EI_DATA      5
#define EI_VERSION   6
#define ELFCLASS32   1
#define ELFCLASS64   2
#define ELFDATA2LSB  1
#define EV_CURRENT   1
#define ET_EXEC      2
#define EM_386       3
#define EM_X86_64    62
#define PT_LOAD      1
#define E_TYPE       16
#define E_MACHINE    18
#define E_ENTRY      24

typedef struct {              /* byte offsets of what is read, per class */
    unsigned ehdr_size, phoff, phentsize, phnum, phdr_size, word;
    unsigned p_offset, p_vaddr, p_paddr, p_filesz, p_memsz;
    uint16_t machine;
} elf_class_t;

static const elf_class_t elf32 = { 52, 28, 42, 44, 32, 4, 4, 8, 12, 16, 20, EM_386 };
static const elf_class_t elf64 = { 64, 32, 54, 56, 56, 8, 8, 16, 24, 32, 40, EM_X86_64 };

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static uint64_t rdw(const uint8_t *p, unsigned word) { return word == 4 ? rd32(p) : rd64(p); }

/* [off, off + len) inside a buffer of size bytes, without computing a sum that can wrap. */
static int inside(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* Guest RAM a kernel may load into: [0, 640 KiB) and [1 MiB, ram_bytes). */
static int loadable(uint64_t ram_bytes, uint64_t addr, uint64_t len)
{
    if (!inside(ram_bytes, addr, len))
        return 0;
    return len == 0 || addr + len <= MB_LOW_MEM_END || addr >= MB_HIGH_MEM_START;
}

static mb_status_t refuse(mb_layout_t *out, mb_status_t st, int index, uint64_t addr,
                          uint64_t size)
{
    out->bad_index = index;
    out->bad_addr = addr;
    out->bad_size = size;
    out->nseg = 0;
    return st;
}

/* Add a segment after the checks every format shares. */
static mb_status_t add_segment(mb_layout_t *out, uint64_t ram_bytes, int index,
                               const mb_segment_t *s)
{
    if (out->nseg == MB_MAX_SEGMENTS)
        return refuse(out, MB_TOO_MANY_SEGMENTS, index, s->load_addr, s->mem_bytes);
    if (s->copy_bytes > s->mem_bytes)
        return refuse(out, MB_BAD_SEGMENT, index, s->load_addr, s->mem_bytes);
    if (!loadable(ram_bytes, s->load_addr, s->mem_bytes))
        return refuse(out, MB_OUTSIDE_RAM, index, s->load_addr, s->mem_bytes);
    for (unsigned i = 0; i < out->nseg; i++) {
        const mb_segment_t *o = &out->seg[i];
        if (s->load_addr < o->load_addr + o->mem_bytes && o->load_addr < s->load_addr + s->mem_bytes)
            return refuse(out, MB_OVERLAP, index, s->load_addr, s->mem_bytes);
    }
    out->seg[out->nseg++] = *s;
    if (s->load_addr + s->mem_bytes > out->end)
        out->end = s->load_addr + s->mem_bytes;
    return MB_OK;
}

/* The a.out kludge (3.1.3; Multiboot2's address tag, 3.1.5, is the same):
 * header_addr is where the header's own file offset lands, so the load
 * starts off - (header_addr - load_addr) into the file. */
mb_status_t mb_parse_addresses(const mb_addresses_t *a, uint64_t off, uint64_t size,
                               uint64_t ram_bytes, mb_layout_t *out)
{
    out->format = MB_FORMAT_KLUDGE;
    if (a->load_addr > a->header_addr || a->header_addr - a->load_addr > off)
        return refuse(out, MB_BAD_ADDRESSES, -1, a->load_addr, 0);
    uint64_t file_offset = off - (a->header_addr - a->load_addr), avail = size - file_offset;
    uint64_t load = a->load_addr;
    uint64_t end = a->load_end ? a->load_end : load + avail;
    uint64_t bss_end = a->bss_end ? a->bss_end : end;
    if (end <= load || end - load > avail || bss_end < end)
        return refuse(out, MB_BAD_ADDRESSES, -1, load, end > load ? end - load : 0);
    mb_segment_t s = { .file_offset = file_offset, .load_addr = load, .copy_bytes = end - load,
                       .mem_bytes = bss_end - load };
    mb_status_t st = add_segment(out, ram_bytes, -1, &s);
    if (st != MB_OK)
        return st;
    if (a->entry < load || a->entry >= end)
        return refuse(out, MB_BAD_ENTRY, -1, a->entry, 0);
    out->entry = a->entry;
    return MB_OK;
}

/* An ELF kernel without the kludge: its PT_LOAD segments at p_paddr. */
mb_status_t mb_parse_elf(const uint8_t *image, uint64_t size, uint64_t ram_bytes,
                         mb_layout_t *out)
{
    if (size < 16 || image[EI_CLASS] < ELFCLASS32 || image[EI_CLASS] > ELFCLASS64)
        return refuse(out, MB_BAD_ELF, -1, 0, 0);
    const elf_class_t *c = image[EI_CLASS] == ELFCLASS32 ? &elf32 : &elf64;
    out->format = image[EI_CLASS] == ELFCLASS32 ? MB_FORMAT_ELF32 : MB_FORMAT_ELF64;
    if (size < c->ehdr_size || image[EI_DATA] != ELFDATA2LSB ||
        image[EI_VERSION] != EV_CURRENT || rd16(image + E_TYPE) != ET_EXEC ||
        rd16(image + E_MACHINE) != c->machine)
        return refuse(out, MB_BAD_ELF, -1, 0, 0);
    uint64_t phoff = rdw(image + c->phoff, c->word), entsize = rd16(image + c->phentsize);
    uint64_t phnum = rd16(image + c->phnum), entry = rdw(image + E_ENTRY, c->word);
    /* phnum and entsize are 16-bit: their product cannot wrap. */
    if (phnum == 0 || entsize < c->phdr_size || !inside(size, phoff, phnum * entsize))
        return refuse(out, MB_BAD_ELF, -1, phoff, phnum * entsize);
    int entry_found = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        const uint8_t *ph = image + phoff + i * entsize;
        if (rd32(ph) != PT_LOAD)
            continue;
        mb_segment_t s = { .file_offset = rdw(ph + c->p_offset, c->word),
                           .load_addr = rdw(ph + c->p_paddr, c->word),
                           .copy_bytes = rdw(ph + c->p_filesz, c->word),
                           .mem_bytes = rdw(ph + c->p_memsz, c->word) };
        uint64_t vaddr = rdw(ph + c->p_vaddr, c->word);
        if (s.mem_bytes == 0 && s.copy_bytes == 0)
            continue;                           /* loads nothing */
        if (!inside(size, s.file_offset, s.copy_bytes))
            return refuse(out, MB_BAD_SEGMENT, (int)i, s.load_addr, s.mem_bytes);
        mb_status_t st = add_segment(out, ram_bytes, (int)i, &s);
        if (st != MB_OK)
            return st;
        /* e_entry is virtual: made physical through its segment (as GRUB 2 does). */
        if (!entry_found && entry >= vaddr && entry - vaddr < s.copy_bytes) {
            out->entry = s.load_addr + (entry - vaddr);
            entry_found = 1;
        }
    }
    if (out->nseg == 0)
        return refuse(out, MB_BAD_ELF, -1, 0, 0);
    if (!entry_found)
        return refuse(out, MB_BAD_ENTRY, -1, entry, 0);
    return MB_OK;
}

int mb_is_elf(const uint8_t *image, uint64_t size)
{
    return size >= 4 && image[0] == 0x7F && image[1] == 'E' && image[2] == 'L' && image[3] == 'F';
}

mb_status_t mb_parse(const uint8_t *image, uint64_t size, uint64_t ram_bytes, mb_layout_t *out)
{
    memset(out, 0, sizeof(*out));
    out->bad_index = -1;
    uint64_t off;
    uint32_t h[H_WORDS] = { 0 };
    for (off = 0; off + H_BASIC_BYTES <= size && off < MB_SEARCH_BYTES; off += MB_HEADER_ALIGN) {
        uint32_t magic = rd32(image + off), flags = rd32(image + off + 4);
        if (magic == MB_HEADER_MAGIC && magic + flags + rd32(image + off + 8) == 0)
            break;
    }
    if (off + H_BASIC_BYTES > size || off >= MB_SEARCH_BYTES)
        return MB_NO_HEADER;
    for (unsigned w = 0; w < H_WORDS && off + 4 * w + 4 <= size; w++)
        h[w] = rd32(image + off + 4 * w);
    out->flags = h[H_FLAGS];
    if ((h[H_FLAGS] & MB_FLAGS_REQUIRED) & ~MB_FLAGS_KNOWN)
        return MB_UNSUPPORTED_FLAGS;            /* bits 0-15 must be honoured (3.1.2) */
    if (h[H_FLAGS] & MB_FLAG_ADDRESSES) {
        if (off + sizeof(h) > size)
            return refuse(out, MB_BAD_ADDRESSES, -1, 0, 0);
        mb_addresses_t a = { h[H_HEADER_ADDR], h[H_LOAD_ADDR], h[H_LOAD_END], h[H_BSS_END],
                             h[H_ENTRY] };
        return mb_parse_addresses(&a, off, size, ram_bytes, out);
    }
    if (!mb_is_elf(image, size))
        return MB_NO_ADDRESSES;
    return mb_parse_elf(image, size, ram_bytes, out);
}

void mb_load(const uint8_t *image, const mb_layout_t *l, uint8_t *ram)
{
    for (unsigned i = 0; i < l->nseg; i++) {
        const mb_segment_t *s = &l->seg[i];
        memcpy(ram + s->load_addr, image + s->file_offset, s->copy_bytes);
        memset(ram + s->load_addr + s->copy_bytes, 0, s->mem_bytes - s->copy_bytes);
    }
}

/* Round up to a page; addresses here stay far below 2^63, so this cannot wrap. */
static uint64_t page_up(uint64_t v)
{
    return (v + MB_PAGE_SIZE - 1) & ~(uint64_t)(MB_PAGE_SIZE - 1);
}

static uint32_t put_string(uint8_t *ram, uint64_t *pos, const char *s)
{
    uint64_t at = *pos;
    size_t n = strlen(s) + 1;
    memcpy(ram + at, s, n);
    *pos += n;
    return (uint32_t)at;
}

uint64_t mb_ram_limit(uint64_t ram_bytes)
{
    return ram_bytes < MB_ADDR_LIMIT ? ram_bytes : MB_ADDR_LIMIT;
}

mb_status_t mb_place(uint64_t ram_bytes, uint64_t kernel_end, const mb_module_t *mods,
                     unsigned n_mods, uint64_t info_bytes, mb_boot_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n_mods > MB_MAX_MODULES)
        return MB_TOO_MANY_MODULES;
    uint64_t limit = mb_ram_limit(ram_bytes);
    if (kernel_end > limit)
        return MB_NO_ROOM;
    /* Each step checked against the limit before it is taken. */
    uint64_t pos = page_up(kernel_end < MB_HIGH_MEM_START ? MB_HIGH_MEM_START : kernel_end);
    for (unsigned i = 0; i < n_mods; i++) {
        if (pos > limit || mods[i].size > limit - pos)
            return MB_NO_ROOM;
        out->mod_addr[i] = pos;
        pos = page_up(pos + mods[i].size);
    }
    if (pos > limit || info_bytes > limit - pos)
        return MB_NO_ROOM;
    out->info_addr = pos;
    out->end = pos + info_bytes;
    return MB_OK;
}

void mb_put_modules(uint8_t *ram, const mb_module_t *mods, unsigned n_mods, const mb_boot_t *b)
{
    for (unsigned i = 0; i < n_mods; i++)
        if (mods[i].size)
            memcpy(ram + b->mod_addr[i], mods[i].data, mods[i].size);
}

unsigned mb_memory_map(uint64_t ram_bytes, mb_region_t map[MB_MMAP_ENTRIES])
{
    uint64_t limit = mb_ram_limit(ram_bytes);
    map[0] = (mb_region_t){ 0, MB_LOW_MEM_END, MB_MMAP_AVAILABLE };
    map[1] = (mb_region_t){ MB_LOW_MEM_END, MB_HIGH_MEM_START - MB_LOW_MEM_END, MB_MMAP_RESERVED };
    map[2] = (mb_region_t){ MB_HIGH_MEM_START, limit - MB_HIGH_MEM_START, MB_MMAP_AVAILABLE };
    return ram_bytes > MB_HIGH_MEM_START ? MB_MMAP_ENTRIES : MB_MMAP_ENTRIES - 1;
}

uint32_t mb_mem_upper_kb(uint64_t ram_bytes)
{
    /* KiB from 1 MiB up to the first hole (3.3), here the end of RAM. */
    return ram_bytes > MB_HIGH_MEM_START
               ? (uint32_t)((mb_ram_limit(ram_bytes) - MB_HIGH_MEM_START) >> 10) : 0;
}

mb_status_t mb_build_info(uint8_t *ram, uint64_t ram_bytes, uint64_t kernel_end,
                          const char *cmdline, const mb_module_t *mods, unsigned n_mods,
                          mb_boot_t *out)
{
    if (n_mods > MB_MAX_MODULES)
        return mb_place(ram_bytes, kernel_end, mods, n_mods, 0, out);
    uint64_t strings = strlen(cmdline ? cmdline : "") + 1 + sizeof(MB_LOADER_NAME);
    for (unsigned i = 0; i < n_mods; i++)
        strings += strlen(mods[i].string ? mods[i].string : "") + 1;
    uint64_t info_bytes = sizeof(mb_info_t) + n_mods * sizeof(mb_module_entry_t) +
                          MB_MMAP_ENTRIES * sizeof(mb_mmap_entry_t) + strings;
    mb_status_t st = mb_place(ram_bytes, kernel_end, mods, n_mods, info_bytes, out);
    if (st != MB_OK)
        return st;
    uint64_t pos = out->info_addr;
    mb_put_modules(ram, mods, n_mods, out);
    memset(ram + pos, 0, info_bytes);
    mb_info_t info = { .flags = MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
                                MB_INFO_LOADER,
                       .mem_lower = MB_MEM_LOWER_KB, .mem_upper = mb_mem_upper_kb(ram_bytes) };
    uint64_t at = pos + sizeof(mb_info_t);
    info.mods_count = n_mods;
    info.mods_addr = (uint32_t)at;
    uint64_t mods_at = at;
    at += n_mods * sizeof(mb_module_entry_t);
    /* The memory map (3.3): each entry's size field counts the bytes after it. */
    mb_region_t map[MB_MMAP_ENTRIES];
    unsigned n_map = mb_memory_map(ram_bytes, map);
    for (unsigned i = 0; i < n_map; i++) {
        mb_mmap_entry_t e = { MB_MMAP_ENTRY_SIZE, map[i].base, map[i].length, map[i].type };
        memcpy(ram + at + i * sizeof(e), &e, sizeof(e));
    }
    info.mmap_addr = (uint32_t)at;
    info.mmap_length = (uint32_t)(n_map * sizeof(mb_mmap_entry_t));
    at += MB_MMAP_ENTRIES * sizeof(mb_mmap_entry_t);
    info.cmdline = put_string(ram, &at, cmdline ? cmdline : "");
    info.boot_loader_name = put_string(ram, &at, MB_LOADER_NAME);
    for (unsigned i = 0; i < n_mods; i++) {
        mb_module_entry_t e = { .mod_start = (uint32_t)out->mod_addr[i],
                                .mod_end = (uint32_t)(out->mod_addr[i] + mods[i].size),
                                .string = put_string(ram, &at, mods[i].string ? mods[i].string : "") };
        memcpy(ram + mods_at + i * sizeof(e), &e, sizeof(e));
    }
    memcpy(ram + pos, &info, sizeof(info));
    return MB_OK;
}

const char *mb_status_str(mb_status_t st)
{
    switch (st) {
    case MB_OK: return "ok";
    case MB_NO_HEADER: return "no Multiboot header in the first 8 KiB";
    case MB_UNSUPPORTED_FLAGS:
        return "the header asks for what this loader does not give (only flags 0, 1 and 16 "
               "are known)";
    case MB_NO_ADDRESSES:
        return "no load addresses in the header (Multiboot flag 16, Multiboot2 address tag) "
               "and not an ELF image";
    case MB_BAD_ADDRESSES: return "the header's addresses do not fit the image";
    case MB_BAD_ELF:
        return "expected an ELF32 i386 or ELF64 x86-64 executable (ET_EXEC, little-endian) "
               "with a program header table inside the file and a PT_LOAD segment";
    case MB_BAD_SEGMENT: return "a segment's file bytes lie outside the file or p_filesz > p_memsz";
    case MB_TOO_MANY_SEGMENTS: return "more PT_LOAD segments than this loader takes (8)";
    case MB_OUTSIDE_RAM:
        return "a segment lies outside guest RAM or in the reserved 0xA0000-0xFFFFF";
    case MB_OVERLAP: return "two segments overlap";
    case MB_BAD_ENTRY: return "the entry point is not in what is loaded";
    case MB_TOO_MANY_MODULES: return "more modules than this loader takes (8)";
    case MB_NO_ROOM:
        return "the modules and the boot information do not fit in RAM above the kernel";
    case MB2_BAD_ARCH:
        return "the Multiboot2 header is for another architecture (only 0, i386, is loaded)";
    case MB2_BAD_HEADER:
        return "the Multiboot2 header's tags are malformed (a size out of the header, "
               "a repeated tag or no end tag)";
    case MB2_UNKNOWN_REQUEST:
        return "the Multiboot2 header requires boot information this loader does not give "
               "(given: types 1, 2, 3, 4 and 6)";
    case MB2_UNSUPPORTED_TAG:
        return "the Multiboot2 header has a required tag this loader cannot honour";
    case MB2_NO_ENTRY: return "a Multiboot2 address tag without an entry address tag";
    }
    return "unknown error";
}

const char *mb_format_str(mb_format_t f)
{
    switch (f) {
    case MB_FORMAT_KLUDGE: return "Multiboot";
    case MB_FORMAT_ELF32: return "Multiboot ELF32";
    case MB_FORMAT_ELF64: return "Multiboot ELF64";
    case MB2_FORMAT_ADDRESS: return "Multiboot2";
    case MB2_FORMAT_ELF32: return "Multiboot2 ELF32";
    case MB2_FORMAT_ELF64: return "Multiboot2 ELF64";
    }
    return "?";
}
