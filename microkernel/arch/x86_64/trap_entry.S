/*
 * arch/x86_64/trap_entry.S - IDT entry stubs, SYSCALL entry, and the return
 * to user mode.
 *
 * A trap from user mode saves the thread's registers straight into its TCB:
 * TSS.RSP0 points just past the current thread's
 * trap_frame_t, so the CPU pushes SS..RIP there (SDM Vol. 3A 6.14.2) and the
 * stub pushes the rest. SYSCALL builds the same frame by hand. The C handler
 * then runs on the kernel stack. Traps in kernel mode stay on the kernel
 * stack and return with IRETQ.
 *
 * Each IDT stub is TRAP_STUB_SIZE bytes so trap_init can compute its
 * address. Vectors with a CPU error code (SDM Vol. 3A 6.13, Table 6-1: 8,
 * 10-14, 17, 21, 29, 30) skip the dummy push so every frame has one layout.
 */
#include "arch/x86_64/seg.h"
#include "arch/x86_64/gprs_asm.h"
#include "arch/x86_64/rflags.h"
#include "arch/x86_64/trap.h"
#include <nestor/syscalls.h>

#define KERNEL_STACK_SIZE 16384


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
    PUSH_GPRS
    cld
    movq %rsp, %rdi
    testb $3, TRAP_FRAME_CS(%rsp)
    jz 1f
    leaq kernel_stack_top(%rip), %rsp
    /* Interrupt delivery keeps the user's RFLAGS.AC (SDM 6.14.2 clears only
     * TF, NT, RF, VM and, for interrupt gates, IF); AC = 1 would suspend
     * SMAP in the kernel. Start from the reset flags instead (IF stays 0). */
    pushq $RFLAGS_KERNEL_ENTRY
    popfq
    call trap_from_user             /* does not return */
1:  call trap_from_kernel
    POP_GPRS
    addq $16, %rsp                  /* vector and error code */
    iretq

/* SYSCALL: RCX = user RIP, R11 = user RFLAGS, RSP still the user's
 * (SDM Vol. 2B SYSCALL). Interrupts are off (IA32_FMASK clears IF). */
    .globl syscall_entry
syscall_entry:
    movq %rsp, syscall_user_rsp(%rip)
    movq tss_iopb + TSS_RSP0_OFFSET(%rip), %rsp
    pushq $SEL_UDATA
    pushq syscall_user_rsp(%rip)
    pushq %r11
    pushq $SEL_UCODE64
    pushq %rcx
    pushq $0
    pushq $TRAP_VECTOR_SYSCALL
    PUSH_GPRS
    cld
    movq %rsp, %rdi
    leaq kernel_stack_top(%rip), %rsp
    /* IPC fast path first: it returns to user itself, or comes back here
     * when the general path must handle the call. The kernel stack top is
     * 16-byte aligned, as a call expects. */
    cmpq $NESTOR_SYS_CALL, %rax
    je 3f
    cmpq $NESTOR_SYS_REPLY_RECV, %rax
    je 6f
    cmpq $NESTOR_SYS_VCPU_REPLY_RECV, %rax
    jne 4f
    call fastpath_vcpu_reply_recv
    jmp 5f
6:  call fastpath_reply_recv
    jmp 5f
3:  call fastpath_call
5:  movq tss_iopb + TSS_RSP0_OFFSET(%rip), %rdi
    subq $TRAP_FRAME_SIZE, %rdi
4:  call syscall_from_user          /* does not return */

/* arch_return_to_user(frame): SYSRET after a syscall (RCX/R11 are clobbered
 * by the ABI anyway), IRETQ otherwise so every register comes back. The
 * frame's RIP is always canonical: the kernel refuses to set any other. */
    .globl arch_return_to_user
arch_return_to_user:
    movq %rdi, %rsp
    cmpq $TRAP_VECTOR_SYSCALL, 8 * TRAP_FRAME_GPRS(%rsp)
    jne 2f
    POP_GPRS
    movq TRAP_FRAME_RIP - 8 * TRAP_FRAME_GPRS(%rsp), %rcx
    movq TRAP_FRAME_RFLAGS - 8 * TRAP_FRAME_GPRS(%rsp), %r11
    movq TRAP_FRAME_RSP - 8 * TRAP_FRAME_GPRS(%rsp), %rsp
    sysretq
2:  POP_GPRS
    addq $16, %rsp
    iretq

    .data
    .balign 8
syscall_user_rsp:    .quad 0

    .bss
    .balign 16
    .globl kernel_stack_top
kernel_stack:   .skip KERNEL_STACK_SIZE
kernel_stack_top:
