/*
 * vmm-server/boot/multiboot.h - loading a Multiboot (v1) kernel the way GRUB
 * does (Multiboot Specification 0.6.96):
 *   - the header (3.1) in the first 8 KiB, 4-byte aligned;
 *   - with the a.out kludge (flag 16, 3.1.3) the header's addresses say
 *     what to copy where;
 *   - without it the image must be ELF (ELF32 or ELF64): its PT_LOAD
 *     segments go to guest-physical p_paddr, the entry is e_entry made
 *     physical through the segment holding it (as GRUB 2 does);
 *   - the boot information (3.3) with memory sizes, command line, modules,
 *     a memory map and the boot loader's name goes above the highest byte
 *     loaded, page-aligned, after the modules.
 * Multiboot2 (boot/multiboot2_load.h) shares the ELF and address loading,
 * the placement of modules and information and the memory map from here.
 * Pure code: it reads images and writes into a buffer that stands for guest
 * RAM; every field of an image is treated as hostile (no sum of two of them
 * is computed before it is known not to wrap). Host-tested (unit-vmm-boot).
 */
#ifndef VMM_BOOT_MULTIBOOT_H
#define VMM_BOOT_MULTIBOOT_H
#include <stddef.h>
#include <stdint.h>

#define MB_HEADER_MAGIC    0x1BADB002u
#define MB_LOADER_MAGIC    0x2BADB002u    /* in EAX at entry (3.2) */
#define MB_SEARCH_BYTES    8192u          /* the header lies in the first 8 KiB (3.1) */
#define MB_HEADER_ALIGN    4u
/* Header flags (3.1.2). Bits 0-15 are requirements: one not known refuses the image. */
#define MB_FLAG_PAGE_ALIGN (1u << 0)      /* modules page-aligned (always done here) */
#define MB_FLAG_MEMORY     (1u << 1)      /* memory information (always given) */
#define MB_FLAG_VIDEO      (1u << 2)      /* a video mode: not given */
#define MB_FLAG_ADDRESSES  (1u << 16)     /* the a.out kludge: address fields valid */
#define MB_FLAGS_REQUIRED  0xFFFFu
#define MB_FLAGS_KNOWN     (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY | MB_FLAG_ADDRESSES)

/* Guest-physical memory as a PC has it: conventional memory below 640 KiB,
 * the VGA/ROM hole up to 1 MiB (reported reserved, loaded into never). */
#define MB_PAGE_SIZE       0x1000u
#define MB_LOW_MEM_END     0xA0000u
#define MB_HIGH_MEM_START  0x100000u
#define MB_MEM_LOWER_KB    (MB_LOW_MEM_END >> 10)
#define MB_ADDR_LIMIT      0x100000000ULL /* the information holds 32-bit addresses */

#define MB_MAX_SEGMENTS    8
#define MB_MAX_MODULES     16             /* a nested Nestor boots with up to 16 */

/* Boot information flags (3.3). */
#define MB_INFO_MEM        (1u << 0)      /* mem_lower, mem_upper */
#define MB_INFO_CMDLINE    (1u << 2)      /* cmdline */
#define MB_INFO_MODS       (1u << 3)      /* mods_count, mods_addr */
#define MB_INFO_MMAP       (1u << 6)      /* mmap_length, mmap_addr */
#define MB_INFO_LOADER     (1u << 9)      /* boot_loader_name */
#define MB_MMAP_AVAILABLE  1u             /* memory map entry types (3.3) */
#define MB_MMAP_RESERVED   2u
#define MB_LOADER_NAME     "Nestor"

/* The boot information (3.3), every field up to the VBE ones. */
typedef struct {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name, apm_table, vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
} mb_info_t;
_Static_assert(sizeof(mb_info_t) == 88, "Multiboot information layout (3.3)");

typedef struct {                          /* one module (3.3, "mods_addr") */
    uint32_t mod_start, mod_end, string, reserved;
} mb_module_entry_t;

typedef struct __attribute__((packed)) { /* one memory map entry (3.3, "mmap_addr") */
    uint32_t size;                        /* of the rest of the entry: 20 */
    uint64_t base_addr, length;
    uint32_t type;
} mb_mmap_entry_t;
#define MB_MMAP_ENTRY_SIZE ((uint32_t)(sizeof(mb_mmap_entry_t) - sizeof(uint32_t)))
#define MB_MMAP_ENTRIES    3              /* low memory, the hole, high memory */

typedef enum {
    MB_OK,
    MB_NO_HEADER,           /* not a Multiboot image */
    MB_UNSUPPORTED_FLAGS,   /* asks for what this loader does not give (a video mode) */
    MB_NO_ADDRESSES,        /* no a.out kludge and not an ELF image */
    MB_BAD_ADDRESSES,       /* the kludge's address fields do not fit the image */
    MB_BAD_ELF,             /* an ELF header or program header table this loader cannot use */
    MB_BAD_SEGMENT,         /* a segment's file bytes outside the file, or p_filesz > p_memsz */
    MB_TOO_MANY_SEGMENTS,   /* more than MB_MAX_SEGMENTS PT_LOAD segments */
    MB_OUTSIDE_RAM,         /* something would load outside guest RAM or into the hole */
    MB_OVERLAP,             /* two segments overlap */
    MB_BAD_ENTRY,           /* the entry point is not in what is loaded */
    MB_TOO_MANY_MODULES,    /* more than MB_MAX_MODULES modules */
    MB_NO_ROOM,             /* modules and boot information do not fit above the kernel */
    /* Multiboot2 only (boot/multiboot2_load.h): */
    MB2_BAD_ARCH,           /* a good header for another architecture (3.1.1) */
    MB2_BAD_HEADER,         /* header tags outside header_length, repeated, or no end tag */
    MB2_UNKNOWN_REQUEST,    /* a required information request not given here (3.1.4) */
    MB2_UNSUPPORTED_TAG,    /* a required header tag not honoured here */
    MB2_NO_ENTRY,           /* an address tag without an entry address tag (3.1.5, 3.1.6) */
} mb_status_t;
#define MB_STATUS_LAST MB2_NO_ENTRY

typedef enum {
    MB_FORMAT_KLUDGE, MB_FORMAT_ELF32, MB_FORMAT_ELF64,     /* Multiboot */
    MB2_FORMAT_ADDRESS, MB2_FORMAT_ELF32, MB2_FORMAT_ELF64, /* Multiboot2 */
} mb_format_t;

typedef struct {
    uint64_t file_offset;   /* copy image[file_offset, +copy_bytes) ... */
    uint64_t load_addr;     /* ... to guest-physical load_addr ... */
    uint64_t copy_bytes;
    uint64_t mem_bytes;     /* ... and zero the rest up to load_addr + mem_bytes */
} mb_segment_t;

typedef struct {
    mb_segment_t seg[MB_MAX_SEGMENTS];
    unsigned nseg;
    uint64_t entry;         /* guest-physical */
    uint64_t end;           /* one past the highest byte loaded */
    uint32_t flags;         /* the header's flags, for messages */
    mb_format_t format;
    /* On a refusal: the segment (program header index) and its range, when one is to blame. */
    int bad_index;
    uint64_t bad_addr, bad_size;
    uint32_t bad_tag;       /* Multiboot2: the header tag or requested information type */
} mb_layout_t;

/* Find and check the header of image[0..size) and where its parts go in a
 * guest of ram_bytes. MB_NO_HEADER means it is not a Multiboot image at all. */
mb_status_t mb_parse(const uint8_t *image, uint64_t size, uint64_t ram_bytes, mb_layout_t *out);

/* Copy the segments of a parsed image into ram (zeroing what p_memsz adds). */
void mb_load(const uint8_t *image, const mb_layout_t *l, uint8_t *ram);

typedef struct {
    const uint8_t *data;
    uint64_t size;
    const char *string;     /* its command line, "" for none */
} mb_module_t;

typedef struct {
    uint64_t info_addr;     /* for EBX */
    uint64_t mod_addr[MB_MAX_MODULES];
    uint64_t end;           /* one past the last byte of loader data */
} mb_boot_t;

/* Write the modules and the boot information into ram (ram_bytes of guest
 * RAM from guest-physical 0): modules page-aligned from the first page
 * above kernel_end (and at least at 1 MiB), then a page with the boot
 * information, the module list, the memory map and the strings. Nothing is
 * written unless everything fits. */
mb_status_t mb_build_info(uint8_t *ram, uint64_t ram_bytes, uint64_t kernel_end,
                          const char *cmdline, const mb_module_t *mods, unsigned n_mods,
                          mb_boot_t *out);

/* ---- shared with the Multiboot2 loader ---- */

int mb_is_elf(const uint8_t *image, uint64_t size);

/* Load addresses from a header (the v1 a.out kludge, 3.1.3, or Multiboot2's
 * address tag, 3.1.5, with the entry from its entry address tag, 3.1.6);
 * the header lies at file offset header_off. */
typedef struct {
    uint32_t header_addr, load_addr, load_end, bss_end, entry;
} mb_addresses_t;
mb_status_t mb_parse_addresses(const mb_addresses_t *a, uint64_t header_off, uint64_t size,
                               uint64_t ram_bytes, mb_layout_t *out);

/* An ELF32 i386 or ELF64 x86-64 executable by its PT_LOAD segments, at p_paddr. */
mb_status_t mb_parse_elf(const uint8_t *image, uint64_t size, uint64_t ram_bytes,
                         mb_layout_t *out);

/* Where the modules and info_bytes of boot information go (as mb_build_info
 * says), set in *out; nothing is written. */
mb_status_t mb_place(uint64_t ram_bytes, uint64_t kernel_end, const mb_module_t *mods,
                     unsigned n_mods, uint64_t info_bytes, mb_boot_t *out);
/* Copy the modules to where mb_place put them. */
void mb_put_modules(uint8_t *ram, const mb_module_t *mods, unsigned n_mods, const mb_boot_t *b);

/* The guest's physical memory as a PC has it: [0, 640 KiB) available, the
 * hole to 1 MiB reserved, [1 MiB, RAM end) available (not given when RAM
 * ends at 1 MiB); returns the count. Types are the same in both specs. */
typedef struct {
    uint64_t base, length;
    uint32_t type;
} mb_region_t;
unsigned mb_memory_map(uint64_t ram_bytes, mb_region_t map[MB_MMAP_ENTRIES]);
uint64_t mb_ram_limit(uint64_t ram_bytes);      /* RAM the information may describe */
uint32_t mb_mem_upper_kb(uint64_t ram_bytes);   /* KiB from 1 MiB to the end of RAM */

const char *mb_status_str(mb_status_t st);
const char *mb_format_str(mb_format_t f);

#endif
