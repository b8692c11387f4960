/*
 * lib/include/multiboot2_abi.h - the numbers of the Multiboot2 protocol
 * (Multiboot2 Specification version 1.6), shared by the kernel, which is
 * booted by it (microkernel/boot/multiboot2.h), and the VMM, which boots
 * kernels by it (vmm-server/boot/multiboot2_load.h). Safe for assembly.
 */
#ifndef MULTIBOOT2_ABI_H
#define MULTIBOOT2_ABI_H

/* The OS image's header (spec 3.1.1): 8-byte aligned, wholly inside the
 * first 32768 bytes of the image; magic, architecture, header_length and
 * checksum, with magic + architecture + header_length + checksum == 0 (mod 2^32). */
#define MB2_HEADER_MAGIC       0xE85250D6
#define MB2_ARCH_I386          0          /* 32-bit (protected mode of) i386 */
#define MB2_SEARCH_BYTES       32768
#define MB2_HEADER_ALIGN       8
#define MB2_HEADER_FIXED_SIZE  16         /* the four fields above */

/* Header tags (spec 3.1.3-3.1.13): u16 type, u16 flags, u32 size; 8-byte aligned. */
#define MB2_HEADER_TAG_END           0
#define MB2_HEADER_TAG_INFO_REQUEST  1    /* 3.1.4: u32 mbi_tag_types[] */
#define MB2_HEADER_TAG_ADDRESS       2    /* 3.1.5: header_addr, load_addr, load_end_addr, bss_end_addr */
#define MB2_HEADER_TAG_ENTRY         3    /* 3.1.6: entry_addr */
#define MB2_HEADER_TAG_CONSOLE       4    /* 3.1.8: console_flags */
#define MB2_HEADER_TAG_FRAMEBUFFER   5    /* 3.1.9: width, height, depth */
#define MB2_HEADER_TAG_MODULE_ALIGN  6    /* 3.1.10: modules page-aligned */
#define MB2_HEADER_TAG_EFI_BS        7    /* 3.1.11: EFI boot services (EFI only) */
#define MB2_HEADER_TAG_ENTRY_EFI32   8    /* 3.1.7 (EFI only) */
#define MB2_HEADER_TAG_ENTRY_EFI64   9    /* 3.1.7 (EFI only) */
#define MB2_HEADER_TAG_RELOCATABLE   10   /* 3.1.12 */
#define MB2_HEADER_TAG_OPTIONAL      1    /* flags bit 0: the loader may ignore the tag */
#define MB2_HEADER_TAG_SIZE          8
#define MB2_ADDRESS_LOAD_FROM_START  0xFFFFFFFF /* load_addr -1: load from the file's start (3.1.5) */

/* Value in EAX when the loader jumps to the kernel (spec 3.3). */
#define MB2_BOOTLOADER_MAGIC   0x36D76289

/* The boot information (spec 3.6): u32 total_size, u32 reserved, then tags
 * of u32 type, u32 size (header included), each starting 8-byte aligned. */
#define MB2_INFO_HDR_SIZE      8
#define MB2_TAG_HDR_SIZE       8
#define MB2_TAG_ALIGN          8
#define MB2_TAG_END            0
#define MB2_TAG_CMDLINE        1          /* 3.6.3: string */
#define MB2_TAG_BOOTLOADER     2          /* 3.6.4: string */
#define MB2_TAG_MODULE         3          /* 3.6.6: mod_start, mod_end, string */
#define MB2_TAG_BASIC_MEMINFO  4          /* 3.6.2: mem_lower, mem_upper (KiB) */
#define MB2_TAG_MMAP           6          /* 3.6.8: entry_size, entry_version, entries */
#define MB2_MODULE_HDR_SIZE    16         /* tag header + mod_start + mod_end */
#define MB2_MEMINFO_SIZE       16         /* tag header + mem_lower + mem_upper */
#define MB2_MMAP_HDR_SIZE      16         /* tag header + entry_size + entry_version */
#define MB2_MMAP_ENTRY_SIZE    24         /* u64 base_addr, u64 length, u32 type, u32 reserved */
#define MB2_MMAP_VERSION       0

/* Memory map entry types (spec 3.6.8) */
#define MB2_MEM_AVAILABLE      1
#define MB2_MEM_RESERVED       2
#define MB2_MEM_ACPI_RECLAIM   3
#define MB2_MEM_NVS            4
#define MB2_MEM_BAD            5

#endif
