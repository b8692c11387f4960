/*
 * arch/x86_64/gprs_asm.h - (assembly only) saving and restoring the general
 * registers in trap_frame_t order: a trap frame (trap_entry.S) and a guest's
 * registers in its VCPU (vmx_entry.S) share one layout.
 */
#ifndef ARCH_X86_64_GPRS_ASM_H
#define ARCH_X86_64_GPRS_ASM_H
#ifdef __ASSEMBLER__

.macro PUSH_GPRS
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
.endm

.macro POP_GPRS
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
.endm

#endif
#endif
