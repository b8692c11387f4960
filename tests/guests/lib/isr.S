/*
 * tests/guests/lib/isr.S - IDT stubs for test guests (32-bit protected mode).
 * Each stub pushes an error code where the CPU does not (SDM Vol. 3A 6.13)
 * and its vector, then the common path calls guest_isr_dispatch(frame).
 */
#include "guest.h"

    .text
    .code32
    .globl guest_isr_stubs
    .balign GUEST_ISR_STUB_SIZE
guest_isr_stubs:
    .set vec, 0
    .rept GUEST_IDT_VECTORS
    .balign GUEST_ISR_STUB_SIZE
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushal
    pushl %esp                  /* the guest_frame_t */
    call guest_isr_dispatch
    addl $4, %esp
    popal
    addl $8, %esp               /* vector and error code */
    iret

/* Load the flat GDT and reload every segment register (CS by a far return). */
    .globl guest_load_gdt
guest_load_gdt:
    movl 4(%esp), %eax
    lgdt (%eax)
    movw $GUEST_SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    popl %eax                   /* return address */
    pushl $GUEST_SEL_CODE
    pushl %eax
    lret
