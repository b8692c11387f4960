/*
 * tests/guests/mb2_start.S - the entry of the Multiboot2 guest: a Multiboot2
 * header (Multiboot2 spec 1.6, 3.1.1: 8-byte aligned, in the first 32 KiB)
 * with an information request tag (3.1.4) for what it reads and a module
 * alignment tag (3.1.10), no address tag: the loader must load it by its
 * ELF program headers (loader.ld: a segment below 640 KiB with the entry,
 * the rest at 1 MiB), as GRUB 2 does.
 */
#include "lib/guest.h"
#include "lib/enter_main.inc"
#include <multiboot2_abi.h>

#define MB2_HEADER_FLAGS_REQUIRED 0

    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    jmp 2f
    .balign MB2_HEADER_ALIGN
mb2_header:
    .long MB2_HEADER_MAGIC, MB2_ARCH_I386, mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8
mb2_request:                                    /* required: all of it is read */
    .short MB2_HEADER_TAG_INFO_REQUEST, MB2_HEADER_FLAGS_REQUIRED
    .long mb2_request_end - mb2_request
    .long MB2_TAG_CMDLINE, MB2_TAG_BOOTLOADER, MB2_TAG_MODULE, MB2_TAG_BASIC_MEMINFO, MB2_TAG_MMAP
mb2_request_end:
    .balign 8
    .short MB2_HEADER_TAG_MODULE_ALIGN, MB2_HEADER_FLAGS_REQUIRED
    .long MB2_HEADER_TAG_SIZE
    .balign 8
    .short MB2_HEADER_TAG_END, 0
    .long MB2_HEADER_TAG_SIZE
mb2_header_end:
2:  GUEST_ENTER_MAIN
