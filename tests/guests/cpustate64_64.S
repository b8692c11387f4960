/*
 * tests/guests/cpustate64_64.S - the 64-bit part of the cpustate64 guest.
 *
 * cs64_call(fn, arg) is called from 32-bit code in compatibility mode: it
 * far-jumps to the 64-bit code segment, calls fn(arg) with the System V AMD64
 * convention and far-returns to the caller's 32-bit segment (SDM Vol. 3A 9.8.5,
 * 5.8.8 far transfers in IA-32e mode). The routines record what they saw in
 * the cs64_* variables, which cpustate64.c checks.
 */
#include "cpustate64.h"

#define MSR_GS_BASE        0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102

    .text
    .code32
    .globl cs64_call
cs64_call:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 20(%esp), %eax             /* fn */
    movl 24(%esp), %edi             /* arg */
    ljmp $CS64_SEL_CODE64, $1f

    .code64
    /* Writing a 32-bit register zero-extends it (SDM Vol. 1 3.4.1.1): the
     * upper halves are undefined after compatibility mode. */
1:  movl %esp, %esp
    movl %eax, %eax
    movl %edi, %edi
    movq %rsp, %rbp
    andq $-16, %rsp                 /* the ABI's call alignment */
    call *%rax
    movq %rbp, %rsp
    movq %rax, %rdx
    shrq $32, %rdx                  /* EDX:EAX for the 32-bit caller */
    pushq $CS64_SEL_CODE32
    leaq 2f(%rip), %rcx
    pushq %rcx
    lretq

    .code32
2:  popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .code64
    .globl cs64_lidt
cs64_lidt:
    lidt (%rdi)
    ret

/*
 * SYSCALL at CPL 0 lands on the pad LSTAR names; the first entry returns with
 * SYSRET to cs64_sysret_target at CPL 3 (RIP from RCX, RFLAGS from R11; SDM
 * Vol. 2B SYSRET); there a second SYSCALL enters the handler again at CPL 0,
 * which goes on at the instruction after it (RCX). SYSCALL does not switch
 * stacks: the one stack is mapped user-accessible.
 */
    .globl cs64_syscall_round
cs64_syscall_round:
    movq $0, cs64_sc_count(%rip)
    movq $-1, cs64_sc_pad(%rip)
    std                             /* FMASK clears it in the handler */
    syscall
    .globl cs64_sysret_target
cs64_sysret_target:                 /* CPL 3 */
    pushfq
    popq %rax
    movq %rax, cs64_sc_uflags(%rip)
    cld
    movw %cs, %ax
    movzwq %ax, %rax
    movq %rax, cs64_sc_ucs(%rip)
    movw %ss, %ax
    movzwq %ax, %rax
    movq %rax, cs64_sc_uss(%rip)
    syscall
    .globl cs64_after_syscall2
cs64_after_syscall2:                /* CPL 0 again */
    cld
    movw $CS64_SEL_DATA, %ax        /* SYSCALL loaded SS from STAR[47:32] + 8 */
    movw %ax, %ss
    ret

    .balign CS64_PAD_SIZE
    .globl cs64_syscall_pads
cs64_syscall_pads:
    .irp pad, 0, 1, 2, 3, 4, 5, 6, 7
    .balign CS64_PAD_SIZE
    movq $\pad, cs64_sc_pad(%rip)
    jmp syscall_common
    .endr

syscall_common:
    pushfq
    popq %rax
    movq cs64_sc_count(%rip), %rdx
    leaq cs64_sc_rcx(%rip), %rsi
    movq %rcx, (%rsi,%rdx,8)
    leaq cs64_sc_r11(%rip), %rsi
    movq %r11, (%rsi,%rdx,8)
    leaq cs64_sc_hflags(%rip), %rsi
    movq %rax, (%rsi,%rdx,8)
    incq cs64_sc_count(%rip)
    testq %rdx, %rdx
    jnz 1f
    sysretq                         /* first entry: to CPL 3 */
1:  jmp *%rcx                       /* second entry: on at CPL 0 */

/* %gs:0 before SWAPGS, after it and after swapping back; the GS and
 * KERNEL_GS_BASE MSRs while swapped (SDM Vol. 2B SWAPGS). */
    .globl cs64_swapgs_probe
cs64_swapgs_probe:
    movq %gs:0, %rax
    movq %rax, cs64_gs_before(%rip)
    swapgs
    movq %gs:0, %rax
    movq %rax, cs64_gs_swapped(%rip)
    movl $MSR_GS_BASE, %ecx
    rdmsr
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, cs64_msr_gs_swapped(%rip)
    movl $MSR_KERNEL_GS_BASE, %ecx
    rdmsr
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, cs64_msr_kgs_swapped(%rip)
    swapgs
    movq %gs:0, %rax
    movq %rax, cs64_gs_after(%rip)
    ret

    .globl cs64_fsgs_probe
cs64_fsgs_probe:
    movq %fs:0, %rax
    movq %rax, cs64_fs_load(%rip)
    movq %gs:0, %rax
    movq %rax, cs64_gs_load(%rip)
    ret

    .globl cs64_dr_write
cs64_dr_write:
    movq 0(%rdi), %rax
    movq %rax, %dr0
    movq 8(%rdi), %rax
    movq %rax, %dr1
    movq 16(%rdi), %rax
    movq %rax, %dr2
    movq 24(%rdi), %rax
    movq %rax, %dr3
    movq 32(%rdi), %rax
    movq %rax, %dr7
    ret

    .globl cs64_dr_read
cs64_dr_read:
    movq %dr0, %rax
    movq %rax, 0(%rdi)
    movq %dr1, %rax
    movq %rax, 8(%rdi)
    movq %dr2, %rax
    movq %rax, 16(%rdi)
    movq %dr3, %rax
    movq %rax, 24(%rdi)
    movq %dr7, %rax
    movq %rax, 32(%rdi)
    ret

/*
 * A data breakpoint (DR0, write, 4 bytes): #DB is a trap after the store; an
 * instruction breakpoint (DR1, execute, length 1): #DB is a fault before the
 * instruction (SDM Vol. 3A 17.2.4, 17.3.1). The handler records DR6 and goes
 * on at recover_rip.
 */
    .globl cs64_breakpoints
cs64_breakpoints:
    movq $0, cs64_db_count(%rip)
    movl $CS64_DR6_RESET, %eax
    movq %rax, %dr6
    leaq cs64_bp_data(%rip), %rax
    movq %rax, %dr0
    movq $(CS64_DR7_RESET | CS64_DR7_L0 | CS64_DR7_RW0_WRITE | CS64_DR7_LEN0_4), %rax
    movq %rax, %dr7
    leaq 1f(%rip), %rax
    movq %rax, recover_rip(%rip)
    movl $1, cs64_bp_data(%rip)
1:  leaq bp_insn(%rip), %rax
    movq %rax, %dr1
    movq $(CS64_DR7_RESET | CS64_DR7_L1), %rax
    movq %rax, %dr7
    leaq 2f(%rip), %rax
    movq %rax, recover_rip(%rip)
bp_insn:
    nop
2:  movq $CS64_DR7_RESET, %rax
    movq %rax, %dr7
    movq $0, recover_rip(%rip)
    ret

/* XSETBV XCR0 = arg: returns the vector it raised (#GP, #UD) or 0. */
    .globl cs64_xsetbv
cs64_xsetbv:
    movq $0, cs64_exc_vector(%rip)
    leaq 1f(%rip), %rax
    movq %rax, recover_rip(%rip)
    movl %edi, %eax
    movq %rdi, %rdx
    shrq $32, %rdx
    xorl %ecx, %ecx
    xsetbv
1:  movq $0, recover_rip(%rip)
    movq cs64_exc_vector(%rip), %rax
    ret

    .globl cs64_xgetbv
cs64_xgetbv:
    xorl %ecx, %ecx
    xgetbv
    shlq $32, %rdx
    orq %rdx, %rax
    ret

/* CPUID.80000001H:EDX executed in 64-bit mode (RBX is callee-saved). */
    .globl cs64_ext_edx
cs64_ext_edx:
    pushq %rbx
    movl $0x80000001, %eax
    xorl %ecx, %ecx
    cpuid
    movl %edx, %eax
    popq %rbx
    ret

/* Exception entries: vector and error code (0 when the CPU pushes none). */
    .globl cs64_exc_db, cs64_exc_ud, cs64_exc_gp, cs64_exc_other
cs64_exc_db:
    pushq $0
    pushq $CS64_VEC_DB
    jmp exc_common
cs64_exc_ud:
    pushq $0
    pushq $CS64_VEC_UD
    jmp exc_common
cs64_exc_gp:
    pushq $CS64_VEC_GP
    jmp exc_common
cs64_exc_other:                     /* nothing expects it: end the VM */
    movw $CS64_EXIT_PORT, %dx
    movl $CS64_EXIT_UNEXPECTED, %eax
    outl %eax, %dx
1:  cli
    hlt
    jmp 1b

/* Stack: RAX, vector, error, RIP, CS, RFLAGS, RSP, SS (SDM Vol. 3A 6.14.2). */
exc_common:
    pushq %rax
    movq 8(%rsp), %rax
    movq %rax, cs64_exc_vector(%rip)
    movq 16(%rsp), %rax
    movq %rax, cs64_exc_error(%rip)
    cmpq $CS64_VEC_DB, 8(%rsp)
    jne 1f
    pushq %rdx
    movq cs64_db_count(%rip), %rdx
    andq $1, %rdx
    movq %dr6, %rax
    pushq %rsi
    leaq cs64_db_dr6(%rip), %rsi
    movq %rax, (%rsi,%rdx,8)
    popq %rsi
    popq %rdx
    incq cs64_db_count(%rip)
    movl $CS64_DR6_RESET, %eax
    movq %rax, %dr6
1:  movq recover_rip(%rip), %rax
    testq %rax, %rax
    jz cs64_exc_other
    movq %rax, 24(%rsp)
    movq $0, recover_rip(%rip)
    popq %rax
    addq $16, %rsp
    iretq

    .data
    .balign 8
recover_rip:            .quad 0
    .globl cs64_sc_count, cs64_sc_pad, cs64_sc_rcx, cs64_sc_r11, cs64_sc_hflags
    .globl cs64_sc_uflags, cs64_sc_ucs, cs64_sc_uss
cs64_sc_count:          .quad 0
cs64_sc_pad:            .quad 0
cs64_sc_rcx:            .quad 0, 0
cs64_sc_r11:            .quad 0, 0
cs64_sc_hflags:         .quad 0, 0
cs64_sc_uflags:         .quad 0
cs64_sc_ucs:            .quad 0
cs64_sc_uss:            .quad 0
    .globl cs64_gs_before, cs64_gs_swapped, cs64_gs_after, cs64_msr_gs_swapped
    .globl cs64_msr_kgs_swapped, cs64_fs_load, cs64_gs_load
cs64_gs_before:         .quad 0
cs64_gs_swapped:        .quad 0
cs64_gs_after:          .quad 0
cs64_msr_gs_swapped:    .quad 0
cs64_msr_kgs_swapped:   .quad 0
cs64_fs_load:           .quad 0
cs64_gs_load:           .quad 0
    .globl cs64_db_count, cs64_db_dr6, cs64_bp_data, cs64_exc_vector, cs64_exc_error
cs64_db_count:          .quad 0
cs64_db_dr6:            .quad 0, 0
cs64_exc_vector:        .quad 0
cs64_exc_error:         .quad 0
cs64_bp_data:           .quad 0
