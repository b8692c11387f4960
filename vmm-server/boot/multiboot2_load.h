/*
 * vmm-server/boot/multiboot2_load.h - loading a Multiboot2 kernel the way
 * GRUB 2's "multiboot2" and "module2" commands do on a BIOS PC (Multiboot2
 * Specification 1.6):
 *   - the header (3.1.1) 8-byte aligned, wholly in the first 32 KiB, for
 *     architecture 0 (i386), with its tags (3.1.2-3.1.13): information
 *     requests (3.1.4) for what is not given here refuse the image unless
 *     optional; with an address tag (3.1.5) and an entry address tag (3.1.6)
 *     the image is loaded as the tag says; otherwise it must be ELF32 or
 *     ELF64, loaded by its PT_LOAD segments at p_paddr (as GRUB 2 does);
 *     an entry address tag overrides e_entry;
 *   - the boot information (3.6) with the command line, the loader's name,
 *     the modules, the basic memory information and the memory map, tags
 *     8-byte aligned, placed as the Multiboot (v1) information is: modules
 *     page-aligned above the kernel, then the information's page
 *     (boot/multiboot.h: mb_place, mb_memory_map).
 * The machine state at entry (3.3) is the VMM's (vm.c). Pure code, like
 * boot/multiboot.c; host-tested (unit-vmm-boot).
 */
#ifndef VMM_BOOT_MULTIBOOT2_LOAD_H
#define VMM_BOOT_MULTIBOOT2_LOAD_H
#include "boot/multiboot.h"
#include <multiboot2_abi.h>

/* Find and check the Multiboot2 header of image[0..size) and where its parts
 * go in a guest of ram_bytes. MB_NO_HEADER: not a Multiboot2 image (no
 * magic with a good checksum in the first 32 KiB). On a refusal l->bad_tag
 * names the header tag (MB2_UNSUPPORTED_TAG, MB2_BAD_HEADER) or the
 * requested information type (MB2_UNKNOWN_REQUEST) to blame. */
mb_status_t mb2_parse_header(const uint8_t *image, uint64_t size, uint64_t ram_bytes,
                             mb_layout_t *out);

/* The boot information (3.6) and modules, as mb_build_info (boot/multiboot.h)
 * does for Multiboot: the same interface, placement and refusals. */
mb_status_t mb2_build_info(uint8_t *ram, uint64_t ram_bytes, uint64_t kernel_end,
                           const char *cmdline, const mb_module_t *mods, unsigned n_mods,
                           mb_boot_t *out);

#endif
