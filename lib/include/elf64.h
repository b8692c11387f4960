/*
 * lib/include/elf64.h - a bounds-checked parser of ELF64 executables, used by
 * the kernel to load the root task from a boot module.
 *
 * References (cited as "gABI" and "psABI" in lib/elf/elf64.c):
 *   - System V Application Binary Interface, edition 4.1 and its updates
 *     (gABI): chapter 4 "Object Files" (sections "ELF Header", "ELF
 *     Identification") and chapter 5 "Program Loading and Dynamic Linking"
 *     (sections "Program Header", "Segment Permissions").
 *   - ELF-64 Object File Format, version 1.5 (HP/Intel), sections "File
 *     header" and "Program header table": the same layout, 64-bit fields.
 *   - System V ABI, AMD64 Architecture Processor Supplement (psABI), section
 *     4.1.1 "Machine Information".
 *
 * The parser only reads: it never maps or copies anything. It is pure C with
 * no kernel dependencies so that it is unit tested on the host against
 * hostile input (tests/unit/test_elf.c).
 */
#ifndef LIB_ELF64_H
#define LIB_ELF64_H

#include <stddef.h>
#include <stdint.h>

/* e_ident[] (gABI ch. 4 "ELF Identification") */
#define ELF_EI_NIDENT      16
#define ELF_EI_MAG0        0
#define ELF_EI_CLASS       4
#define ELF_EI_DATA        5
#define ELF_EI_VERSION     6
#define ELF_MAG0           0x7F     /* e_ident[0..3] = 0x7F 'E' 'L' 'F' */
#define ELF_MAG1           'E'
#define ELF_MAG2           'L'
#define ELF_MAG3           'F'
#define ELFCLASS64         2        /* e_ident[EI_CLASS]: 64-bit objects */
#define ELFDATA2LSB        1        /* e_ident[EI_DATA]: two's complement, little-endian */
#define EV_CURRENT         1        /* e_ident[EI_VERSION] and e_version */

/* e_type and e_machine (gABI ch. 4 "ELF Header"; psABI 4.1.1) */
#define ET_EXEC            2        /* executable file */
#define EM_X86_64          62       /* AMD64 / Intel 64 */

/* p_type (gABI ch. 5 "Program Header", segment types) */
#define PT_LOAD            1

/* p_flags (gABI ch. 5 "Segment Permissions") */
#define PF_X               0x1
#define PF_W               0x2
#define PF_R               0x4

/* Sizes of the on-disk structures Elf64_Ehdr and Elf64_Phdr (gABI figures
 * "ELF Header" and "Program Header", 64-bit variants). */
#define ELF64_EHDR_SIZE    64
#define ELF64_PHDR_SIZE    56

/* Granule at which the loader maps segments; segments must not share one,
 * and page 0 is never mapped so that NULL dereferences fault. */
#define ELF_PAGE_SIZE      4096

#define ELF_MAX_SEGMENTS   16

typedef struct {
    uint64_t vaddr, memsz, filesz, offset;
    uint32_t flags;                 /* p_flags as found: PF_R | PF_W | PF_X, ... */
} elf_segment_t;

typedef struct {
    uint64_t entry;
    elf_segment_t seg[ELF_MAX_SEGMENTS];    /* PT_LOAD segments, ascending vaddr */
    size_t nseg;                            /* only seg[0..nseg) are meaningful */
} elf_info_t;

typedef enum {
    ELF_OK = 0,
    ELF_ERR_NULL,                   /* image or out is NULL */
    ELF_ERR_TRUNCATED,              /* file ends inside the ELF header or program header table */
    ELF_ERR_MAGIC,
    ELF_ERR_CLASS,                  /* not ELFCLASS64 */
    ELF_ERR_ENDIAN,                 /* not ELFDATA2LSB */
    ELF_ERR_VERSION,                /* e_ident[EI_VERSION] or e_version not EV_CURRENT */
    ELF_ERR_TYPE,                   /* not ET_EXEC */
    ELF_ERR_MACHINE,                /* not EM_X86_64 */
    ELF_ERR_PHDR,                   /* bad e_phentsize/e_phnum, or no PT_LOAD segment */
    ELF_ERR_TOO_MANY_SEGMENTS,      /* more than ELF_MAX_SEGMENTS PT_LOAD segments */
    ELF_ERR_SEGMENT_BOUNDS,         /* segment's file bytes not inside the file */
    ELF_ERR_SEGMENT_SIZE,           /* p_filesz > p_memsz, or p_memsz == 0 */
    ELF_ERR_SEGMENT_ALIGN,          /* p_align not a power of two, or vaddr/offset incongruent */
    ELF_ERR_SEGMENT_OVERLAP,        /* PT_LOADs unsorted or sharing a page */
    ELF_ERR_ADDRESS,                /* segment outside [ELF_PAGE_SIZE, user_limit) */
    ELF_ERR_ENTRY,                  /* e_entry not inside an executable PT_LOAD */
} elf_status_t;

/*
 * Check the ELF64 executable image[0..size) and describe its PT_LOAD
 * segments. user_limit is the first virtual address the program may not
 * use: every segment's pages must lie in [ELF_PAGE_SIZE, user_limit rounded
 * down to a page). Reads nothing outside image[0..size); needs no alignment
 * of image. On failure out->nseg and out->entry are 0.
 */
elf_status_t elf_parse(const void *image, size_t size, uint64_t user_limit, elf_info_t *out);

/* A short English description of st ("ok", ...; "unknown error" if out of range). */
const char *elf_status_str(elf_status_t st);

#endif
