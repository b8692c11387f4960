/*
 * boot/multiboot2.h - Multiboot2 constants and a bounds-checked parser of the
 * boot information GRUB hands the kernel (Multiboot2 specification 1.6,
 * sections 3.1 "OS image format" and 3.6 "Boot information format").
 *
 * The parser is pure C with no kernel dependencies so that it is unit tested
 * on the host against malformed input.
 */
#ifndef BOOT_MULTIBOOT2_H
#define BOOT_MULTIBOOT2_H

/* The protocol's numbers (header, magic, tags, memory types): shared with
 * the VMM, which boots kernels by it. */
#include <multiboot2_abi.h>

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#define MB2_MAX_MMAP      64
#define MB2_MAX_MODULES   19        /* NESTOR_BOOTINFO_MAX_MODULES */
/* Sanity bound on the information block: GRUB's is a few KiB. */
#define MB2_MAX_INFO_SIZE (1u << 20)

typedef struct {
    uint64_t base;
    uint64_t length;
    uint32_t type;
} mb2_mmap_entry_t;

typedef struct {
    uint32_t start;         /* physical, inclusive */
    uint32_t end;           /* physical, exclusive */
    const char *cmdline;    /* NUL-terminated, inside the info block */
} mb2_module_t;

typedef struct {
    const char *cmdline;            /* NULL if absent */
    const char *bootloader;         /* NULL if absent */
    uint32_t mem_lower_kib, mem_upper_kib;
    int has_meminfo;
    mb2_mmap_entry_t mmap[MB2_MAX_MMAP];
    size_t mmap_count;
    size_t mmap_dropped;            /* entries beyond MB2_MAX_MMAP */
    mb2_module_t modules[MB2_MAX_MODULES];
    size_t module_count;
    size_t modules_dropped;
} mb2_boot_t;

typedef enum {
    MB2_OK = 0,
    MB2_ERR_NULL,            /* no information pointer */
    MB2_ERR_MISALIGNED,      /* info block not 8-byte aligned */
    MB2_ERR_TOTAL_SIZE,      /* total_size too small, too large or beyond buffer */
    MB2_ERR_TAG_SIZE,        /* a tag shorter than its header or past the end */
    MB2_ERR_NO_END_TAG,      /* ran off the block without an end tag */
    MB2_ERR_BAD_STRING,      /* a string not NUL-terminated inside its tag */
    MB2_ERR_BAD_MMAP,        /* mmap entry size/version inconsistent */
    MB2_ERR_BAD_MODULE,      /* module end before start */
} mb2_status_t;

/*
 * Parse the information block at @info. @avail bounds how many bytes may be
 * read at all (the caller's mapping); the block's own total_size must fit.
 */
mb2_status_t mb2_parse(const void *info, size_t avail, mb2_boot_t *out);
const char *mb2_status_str(mb2_status_t st);
const char *mb2_mem_type_str(uint32_t type);

#endif /* __ASSEMBLER__ */
#endif
