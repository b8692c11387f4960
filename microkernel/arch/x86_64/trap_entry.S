/*
 * arch/x86_64/trap_entry.S - IDT entry stubs and the common trap path.
 *
 * Each stub is TRAP_STUB_SIZE bytes so trap_init can compute its address.
 * Vectors for which the CPU pushes an error code (SDM Vol. 3A 6.13, Table 6-1:
 * 8, 10-14, 17, 21, 29, 30) skip the dummy push so every frame has one layout.
 */
#include "arch/x86_64/trap.h"

    .text
    .balign TRAP_STUB_SIZE
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept IDT_VECTORS_ASM
    .balign TRAP_STUB_SIZE
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    call trap_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp          /* vector and error code */
    iretq
