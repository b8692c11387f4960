/*
 * tests/guests/loader_start.S - the entry of the loader guest: a Multiboot
 * header WITHOUT the a.out kludge (Multiboot 0.6.96 3.1.2: flag 16 clear),
 * so the loader must load it by its ELF program headers, as GRUB does. It
 * sits in the low segment (below 640 KiB, loader.ld), which is also where
 * execution starts; the rest of the guest is at 1 MiB.
 */
#include "lib/guest.h"
#include "lib/enter_main.inc"

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_FLAGS        0x00000003      /* page-aligned modules, memory information */
#define LOADER_LOW_BSS_BYTES 8192      /* loader.c: the same */

    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    jmp 2f
    .balign 4
    .long MB_HEADER_MAGIC, MB_FLAGS, -(MB_HEADER_MAGIC + MB_FLAGS)
2:  GUEST_ENTER_MAIN

/* Data and bss in the low segment: the loader must copy the one (p_filesz)
 * and zero the other (p_memsz beyond it). */
    .section .lowdata, "aw"
    .globl low_data
low_data:
    .long 0x4E455354, 0x4F520A00, 0x12345678, 0xCAFEF00D

    .section .lowbss, "aw", @nobits
    .globl low_bss
low_bss:
    .skip LOADER_LOW_BSS_BYTES
