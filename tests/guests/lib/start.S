/*
 * tests/guests/lib/start.S - guest entry: a Multiboot kernel (Multiboot
 * 0.6.96 section 3.1: the header with load addresses, so the loader needs no
 * ELF) entered in 32-bit protected mode, flat, no paging. Keep what the loader
 * passed, set a stack, run guest_main, report its result on the exit port.
 */
#include "guest.h"
#include "enter_main.inc"

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_FLAGS        0x00010002      /* address fields valid; memory information */

    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    jmp 2f
    .balign 4
mb_header:
    .long MB_HEADER_MAGIC, MB_FLAGS, -(MB_HEADER_MAGIC + MB_FLAGS)
    .long mb_header, _start, __load_end, __bss_end, _start
2:  GUEST_ENTER_MAIN
