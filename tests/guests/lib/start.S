/*
 * tests/guests/lib/start.S - guest entry: 32-bit protected mode, flat, no
 * paging. Set a stack, run guest_main, report its result on the exit port.
 */
#include "guest.h"

    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    movl $GUEST_STACK_TOP, %esp
    call guest_main
    movw $GUEST_EXIT_PORT, %dx
    outl %eax, %dx
1:  cli
    hlt
    jmp 1b
