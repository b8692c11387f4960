/*
 * lib/elf/elf64.c - bounds-checked ELF64 executable parser (see elf64.h).
 *
 * The image comes from a boot module, so every field is treated as hostile:
 * each read is preceded by a check that it lies inside the file, every sum
 * of two file-supplied values is written so that it cannot wrap, and the
 * image is read byte by byte (little-endian) because a module need not be
 * aligned and unaligned pointer casts are undefined behaviour in C.
 *
 * Freestanding: no library calls, so the kernel can link it as is. For the
 * same reason nothing here copies or clears a structure wholesale, which the
 * compiler could turn into a call to memcpy or memset.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elf64.h"

/* Byte offsets of the Elf64_Ehdr fields we use (gABI ch. 4 "ELF Header"). */
#define EH_TYPE        16
#define EH_MACHINE     18
#define EH_VERSION     20
#define EH_ENTRY       24
#define EH_PHOFF       32
#define EH_PHENTSIZE   54
#define EH_PHNUM       56

/* Byte offsets of the Elf64_Phdr fields we use (gABI ch. 5 "Program Header"). */
#define PH_TYPE        0
#define PH_FLAGS       4
#define PH_OFFSET      8
#define PH_VADDR       16
#define PH_FILESZ      32
#define PH_MEMSZ       40
#define PH_ALIGN       48

/* e_phnum value meaning "the real count is in section header 0's sh_info"
 * (gABI ch. 4 "Sections", extended numbering). The root task never needs
 * 65535 program headers, so we refuse it rather than trust a second table. */
#define PN_XNUM        0xFFFF

#define PAGE_MASK      ((uint64_t)ELF_PAGE_SIZE - 1)

/* Little-endian reads; the caller has checked p[0..n) is inside the image. */
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Does [off, off + len) lie inside a file of size bytes? Comparing len with
 * the room left after off, instead of adding, means no sum can wrap. */
static bool in_file(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* e_ident (gABI ch. 4 "ELF Identification"). The OS ABI byte and padding
 * are not checked: toolchains set EI_OSABI to SYSV or GNU interchangeably
 * and neither changes the program headers' meaning. */
static elf_status_t check_ident(const uint8_t *p)
{
    if (p[ELF_EI_MAG0] != ELF_MAG0 || p[ELF_EI_MAG0 + 1] != ELF_MAG1 ||
        p[ELF_EI_MAG0 + 2] != ELF_MAG2 || p[ELF_EI_MAG0 + 3] != ELF_MAG3)
        return ELF_ERR_MAGIC;
    if (p[ELF_EI_CLASS] != ELFCLASS64)
        return ELF_ERR_CLASS;
    if (p[ELF_EI_DATA] != ELFDATA2LSB)
        return ELF_ERR_ENDIAN;
    if (p[ELF_EI_VERSION] != EV_CURRENT)
        return ELF_ERR_VERSION;
    return ELF_OK;
}

/* The fixed fields after e_ident: only a static x86-64 executable will do,
 * since we neither relocate (ET_DYN) nor link (ET_REL). */
static elf_status_t check_header(const uint8_t *p)
{
    if (rd32(p + EH_VERSION) != EV_CURRENT)
        return ELF_ERR_VERSION;
    if (rd16(p + EH_TYPE) != ET_EXEC)
        return ELF_ERR_TYPE;
    if (rd16(p + EH_MACHINE) != EM_X86_64)
        return ELF_ERR_MACHINE;
    return ELF_OK;
}

/* The program header table must hold at least one full Elf64_Phdr per
 * entry and lie wholly inside the file. e_phentsize may exceed 56 (gABI
 * lets structures grow; extra bytes are ignored) but never fall short. */
static elf_status_t check_phdr_table(const uint8_t *p, size_t size)
{
    uint64_t off = rd64(p + EH_PHOFF);
    uint64_t entsize = rd16(p + EH_PHENTSIZE);
    uint64_t num = rd16(p + EH_PHNUM);

    if (num == 0 || num == PN_XNUM || entsize < ELF64_PHDR_SIZE)
        return ELF_ERR_PHDR;
    /* Both factors are 16-bit, so num * entsize < 2^32 cannot wrap; the
     * addition of off is the dangerous part, and in_file avoids it. */
    if (!in_file(size, off, num * entsize))
        return ELF_ERR_TRUNCATED;
    return ELF_OK;
}

/* Checks on one PT_LOAD taken alone; order matters only for which error a
 * file with several faults reports. */
static elf_status_t check_segment(const elf_segment_t *s, uint64_t align, size_t size,
                                  uint64_t user_limit)
{
    /* Everything the loader will copy from the file must be in the file. */
    if (!in_file(size, s->offset, s->filesz))
        return ELF_ERR_SEGMENT_BOUNDS;
    /* Memory beyond filesz is zero-filled (bss); the converse, more file
     * bytes than memory, has no meaning. An empty segment maps nothing and
     * would make the page-granular overlap check below ill-defined. */
    if (s->memsz == 0 || s->filesz > s->memsz)
        return ELF_ERR_SEGMENT_SIZE;
    /* gABI "Program Header": p_align 0 or 1 means no constraint; otherwise
     * a power of two. The loader maps 4 KiB pages, so where alignment is
     * asked for, file and memory must agree on the offset within a page. */
    if (align > 1 && (!is_pow2(align) || (s->vaddr & PAGE_MASK) != (s->offset & PAGE_MASK)))
        return ELF_ERR_SEGMENT_ALIGN;
    /* Pages are mapped whole, so the limit is effectively rounded down to a
     * page; page 0 stays unmapped so NULL dereferences fault. memsz is
     * compared with the room left so vaddr + memsz is never computed. */
    uint64_t limit = user_limit & ~PAGE_MASK;
    if (s->vaddr < ELF_PAGE_SIZE || s->vaddr >= limit || s->memsz > limit - s->vaddr)
        return ELF_ERR_ADDRESS;
    return ELF_OK;
}

/* Page numbers of a segment's first and last byte; only valid once
 * check_segment passed (memsz > 0 and vaddr + memsz cannot wrap). */
static uint64_t first_page(const elf_segment_t *s)
{
    return s->vaddr / ELF_PAGE_SIZE;
}

static uint64_t last_page(const elf_segment_t *s)
{
    return (s->vaddr + s->memsz - 1) / ELF_PAGE_SIZE;
}

static void read_segment(const uint8_t *ph, elf_segment_t *s)
{
    s->flags = rd32(ph + PH_FLAGS);
    s->offset = rd64(ph + PH_OFFSET);
    s->vaddr = rd64(ph + PH_VADDR);
    s->filesz = rd64(ph + PH_FILESZ);
    s->memsz = rd64(ph + PH_MEMSZ);
}

/* Append the PT_LOAD described at ph to out, if it passes. The gABI requires
 * loadable segments in ascending p_vaddr order; we also require that no two
 * share a page, since one page cannot carry two sets of permissions. A
 * strictly increasing first page after the previous last page covers both. */
static elf_status_t add_load(const uint8_t *ph, size_t size, uint64_t user_limit,
                             elf_info_t *out)
{
    if (out->nseg == ELF_MAX_SEGMENTS)
        return ELF_ERR_TOO_MANY_SEGMENTS;
    elf_segment_t *s = &out->seg[out->nseg];
    read_segment(ph, s);
    elf_status_t st = check_segment(s, rd64(ph + PH_ALIGN), size, user_limit);
    if (st != ELF_OK)
        return st;
    if (out->nseg > 0 && first_page(s) <= last_page(&out->seg[out->nseg - 1]))
        return ELF_ERR_SEGMENT_OVERLAP;
    out->nseg++;
    return ELF_OK;
}

/* Walk the (already bounds-checked) program header table. Other segment
 * types (PT_NOTE, PT_GNU_STACK, PT_TLS, ...) describe nothing we must map,
 * so their fields are not even read, let alone trusted. */
static elf_status_t collect_loads(const uint8_t *p, size_t size, uint64_t user_limit,
                                  elf_info_t *out)
{
    /* check_phdr_table proved off + num * entsize <= size, so these fit in
     * size_t and every entry lies inside the image. */
    size_t off = (size_t)rd64(p + EH_PHOFF);
    size_t entsize = rd16(p + EH_PHENTSIZE);
    size_t num = rd16(p + EH_PHNUM);

    for (size_t i = 0; i < num; i++) {
        const uint8_t *ph = p + off + i * entsize;
        if (rd32(ph + PH_TYPE) != PT_LOAD)
            continue;
        elf_status_t st = add_load(ph, size, user_limit, out);
        if (st != ELF_OK)
            return st;
    }
    /* A program with nothing to load has no code to enter. */
    return out->nseg == 0 ? ELF_ERR_PHDR : ELF_OK;
}

/* The entry point must be code we will actually map executable; otherwise
 * the root task's first instruction fetch faults (or runs data). */
static bool entry_ok(const elf_info_t *info, uint64_t entry)
{
    for (size_t i = 0; i < info->nseg; i++) {
        const elf_segment_t *s = &info->seg[i];
        if ((s->flags & PF_X) && entry >= s->vaddr && entry - s->vaddr < s->memsz)
            return true;
    }
    return false;
}

static elf_status_t parse(const uint8_t *p, size_t size, uint64_t user_limit, elf_info_t *out)
{
    if (size < ELF64_EHDR_SIZE)
        return ELF_ERR_TRUNCATED;
    elf_status_t st = check_ident(p);
    if (st == ELF_OK)
        st = check_header(p);
    if (st == ELF_OK)
        st = check_phdr_table(p, size);
    if (st == ELF_OK)
        st = collect_loads(p, size, user_limit, out);
    if (st != ELF_OK)
        return st;
    uint64_t entry = rd64(p + EH_ENTRY);
    if (!entry_ok(out, entry))
        return ELF_ERR_ENTRY;
    out->entry = entry;
    return ELF_OK;
}

elf_status_t elf_parse(const void *image, size_t size, uint64_t user_limit, elf_info_t *out)
{
    if (image == NULL || out == NULL)
        return ELF_ERR_NULL;
    out->nseg = 0;
    out->entry = 0;
    elf_status_t st = parse(image, size, user_limit, out);
    /* Never leave a half-filled description a careless caller could load. */
    if (st != ELF_OK)
        out->nseg = 0;
    return st;
}

const char *elf_status_str(elf_status_t st)
{
    switch (st) {
    case ELF_OK:                    return "ok";
    case ELF_ERR_NULL:              return "NULL image or result";
    case ELF_ERR_TRUNCATED:         return "file truncated (header or program headers)";
    case ELF_ERR_MAGIC:             return "not an ELF file (bad magic)";
    case ELF_ERR_CLASS:             return "not ELFCLASS64";
    case ELF_ERR_ENDIAN:            return "not little-endian";
    case ELF_ERR_VERSION:           return "unsupported ELF version";
    case ELF_ERR_TYPE:              return "not an executable (ET_EXEC)";
    case ELF_ERR_MACHINE:           return "not x86-64";
    case ELF_ERR_PHDR:              return "bad program header table";
    case ELF_ERR_TOO_MANY_SEGMENTS: return "too many PT_LOAD segments";
    case ELF_ERR_SEGMENT_BOUNDS:    return "segment data outside the file";
    case ELF_ERR_SEGMENT_SIZE:      return "segment empty or file size exceeds memory size";
    case ELF_ERR_SEGMENT_ALIGN:     return "segment misaligned";
    case ELF_ERR_SEGMENT_OVERLAP:   return "segments unsorted or overlapping";
    case ELF_ERR_ADDRESS:           return "segment outside the user address range";
    case ELF_ERR_ENTRY:             return "entry point not in an executable segment";
    }
    return "unknown error";
}
