/* vmm-server/boot/multiboot.c - see multiboot.h. */
#include "boot/multiboot.h"
#include <string.h>

typedef struct {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} mb_header_t;

static uint32_t word_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

mb_status_t mb_parse(const uint8_t *image, uint64_t size, uint64_t ram_bytes, mb_layout_t *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t off;
    mb_header_t h;
    for (off = 0; off + sizeof(h) <= size && off < MB_SEARCH_BYTES; off += 4) {
        uint32_t magic = word_at(image + off), flags = word_at(image + off + 4);
        if (magic == MB_HEADER_MAGIC && magic + flags + word_at(image + off + 8) == 0)
            break;
    }
    if (off + sizeof(h) > size || off >= MB_SEARCH_BYTES)
        return MB_NO_HEADER;
    memcpy(&h, image + off, sizeof(h));
    out->flags = h.flags;
    if ((h.flags & 0xFFFF) & ~MB_FLAGS_KNOWN)
        return MB_UNSUPPORTED_FLAGS;          /* bits 0-15 must be honoured (3.1.2) */
    if (!(h.flags & MB_FLAG_ADDRESSES))
        return MB_NO_ADDRESSES;
    /* header_addr corresponds to file offset off; load_addr to off - (header - load). */
    if (h.load_addr > h.header_addr || h.header_addr - h.load_addr > off ||
        h.load_addr < MB_HIGH_MEM_START)
        return MB_BAD_ADDRESSES;
    uint64_t file_offset = off - (h.header_addr - h.load_addr), avail = size - file_offset;
    uint64_t end = h.load_end_addr ? h.load_end_addr : h.load_addr + avail;
    uint64_t bss_end = h.bss_end_addr ? h.bss_end_addr : end;
    if (end <= h.load_addr || end - h.load_addr > avail || bss_end < end ||
        bss_end > ram_bytes || h.entry_addr < h.load_addr || h.entry_addr >= end)
        return MB_BAD_ADDRESSES;
    out->file_offset = file_offset;
    out->load_addr = h.load_addr;
    out->copy_bytes = end - h.load_addr;
    out->bss_end = bss_end;
    out->entry = h.entry_addr;
    return MB_OK;
}

const char *mb_status_str(mb_status_t st)
{
    switch (st) {
    case MB_OK: return "ok";
    case MB_NO_HEADER: return "no Multiboot header";
    case MB_UNSUPPORTED_FLAGS: return "the header asks for what this loader does not give";
    case MB_NO_ADDRESSES: return "no load addresses in the header (ELF32 kernels are not loaded yet)";
    case MB_BAD_ADDRESSES: return "the header's addresses do not fit the image or RAM";
    }
    return "unknown error";
}
