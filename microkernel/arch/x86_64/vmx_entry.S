/*
 * arch/x86_64/vmx_entry.S - entering a guest and coming back.
 *
 * The guest's general registers live in the VCPU (vcpu_t.gprs, in
 * trap_frame_t order, then cr2). VMX does not switch them (SDM 27.5), nor
 * CR2. HOST_RSP points just past gprs, at the cr2 word, so the exit stub
 * pushes the guest's registers straight into their place.
 */
#include "arch/x86_64/gprs_asm.h"

#define VCPU_GPRS 15

    .text
/* vmx_enter(gprs, launched): load the guest registers and enter. */
    .globl vmx_enter
vmx_enter:
    movq 8 * VCPU_GPRS(%rdi), %rax
    movq %rax, %cr2
    testl %esi, %esi                /* MOVs below keep the flags */
    movq 0(%rdi), %r15
    movq 8(%rdi), %r14
    movq 16(%rdi), %r13
    movq 24(%rdi), %r12
    movq 32(%rdi), %r11
    movq 40(%rdi), %r10
    movq 48(%rdi), %r9
    movq 56(%rdi), %r8
    movq 64(%rdi), %rbp
    movq 80(%rdi), %rsi
    movq 88(%rdi), %rdx
    movq 96(%rdi), %rcx
    movq 104(%rdi), %rbx
    movq 112(%rdi), %rax
    movq 72(%rdi), %rdi
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  /* VMfailInvalid / VMfailValid: the guest never ran. */
    leaq kernel_stack_top(%rip), %rsp
    call vmx_entry_failed           /* does not return */

/* HOST_RIP: RSP = HOST_RSP = &vcpu->cr2. Interrupts are off (SDM 27.5.3). */
    .globl vmx_exit_entry
vmx_exit_entry:
    PUSH_GPRS
    movq %cr2, %rax
    movq %rax, 8 * VCPU_GPRS(%rsp)
    cld
    movq %rsp, %rdi
    leaq kernel_stack_top(%rip), %rsp
    call vmx_exit_handler           /* does not return */
