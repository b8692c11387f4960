/*
 * vmm-server/boot/multiboot.h - where a Multiboot kernel image goes
 * (Multiboot Specification 0.6.96, section 3.1: the header in the first
 * 8 KiB, 4-byte aligned, with the a.out-kludge address fields of flag 16).
 * Pure code: it reads the image and says where to copy what; the VMM copies.
 */
#ifndef VMM_BOOT_MULTIBOOT_H
#define VMM_BOOT_MULTIBOOT_H
#include <stddef.h>
#include <stdint.h>

#define MB_HEADER_MAGIC   0x1BADB002u
#define MB_LOADER_MAGIC   0x2BADB002u     /* in EAX at entry (section 3.2) */
#define MB_SEARCH_BYTES   8192u
#define MB_FLAG_ADDRESSES (1u << 16)
#define MB_FLAGS_KNOWN    (0x3u | MB_FLAG_ADDRESSES)  /* page-align modules, memory info */
#define MB_HIGH_MEM_START 0x100000u
#define MB_INFO_MEM       (1u << 0)       /* boot information: mem_lower, mem_upper valid */
#define MB_INFO_CMDLINE   (1u << 2)       /* boot information: cmdline valid */
#define MB_MEM_LOWER_KB   640u

typedef struct {                           /* the start of the boot information (3.3) */
    uint32_t flags, mem_lower, mem_upper;
    uint32_t boot_device;                  /* flags[1]: not given */
    uint32_t cmdline;                      /* flags[2]: physical address of a C string */
} mb_info_t;

typedef enum {
    MB_OK,
    MB_NO_HEADER,           /* not a Multiboot image */
    MB_UNSUPPORTED_FLAGS,   /* asks for something this loader does not give (video mode) */
    MB_NO_ADDRESSES,        /* flag 16 clear: an ELF kernel (not loaded yet) */
    MB_BAD_ADDRESSES,       /* the address fields do not fit the image or RAM */
} mb_status_t;

typedef struct {
    uint64_t file_offset;   /* copy image[file_offset, +copy_bytes) ... */
    uint64_t load_addr;     /* ... to guest-physical load_addr */
    uint64_t copy_bytes;
    uint64_t bss_end;       /* then zero [load_addr + copy_bytes, bss_end) */
    uint64_t entry;
    uint32_t flags;         /* the header's flags, for messages */
} mb_layout_t;

/* Find and check the header of image[0..size) for a guest of ram_bytes. */
mb_status_t mb_parse(const uint8_t *image, uint64_t size, uint64_t ram_bytes, mb_layout_t *out);
const char *mb_status_str(mb_status_t st);

#endif
