/*
 * tests/guests/hostile_strio.c - a hostile guest's string I/O: dword
 * INS/OUTS at the end of the port space (0xFFFD, 0xFFFE), then REP OUTSB
 * with ECX = 0xFFFFFFFF from just below the end of its RAM: the VMM carries
 * out a bounded batch per exit and stops the VM when the memory side leaves
 * RAM, instead of running 4 GiB or touching anything outside the VM.
 */
#include "lib/guest.h"

#define POST_PORT   0x80
#define RAM_END     0x800000u       /* 8 MiB: the VM's RAM (hostile-strio.spec) */
#define TAIL        200u            /* bytes of RAM before the end */

#define STRIO(insn, port, si, di, cx)                                                   \
    __asm__ volatile(insn : "+S"(si), "+D"(di), "+c"(cx) : "d"(port) : "memory", "cc")

int guest_main(void)
{
    static uint32_t word = 0x12345678;
    uint32_t si = (uint32_t)(uintptr_t)&word, di = (uint32_t)(uintptr_t)&word, cx = 0;
    STRIO("outsl", 0xFFFE, si, di, cx);
    STRIO("insl", 0xFFFD, si, di, cx);
    CHECK(word == 0xFFFFFFFF, "INSD at 0xFFFD: all ones");
    guest_printf("hostile-strio: port-space end survived\n");
    si = RAM_END - TAIL;
    cx = 0xFFFFFFFFu;
    STRIO("rep outsb", POST_PORT, si, di, cx);
    guest_printf("hostile-strio: still running after the end of RAM\n");
    return guest_report("hostile-strio");
}
