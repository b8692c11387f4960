/*
 * tests/guests/nestbench_l2.S - nestbench's exit path and its L2.
 *
 * nb_run(resume): VMLAUNCH (0) or VMRESUME (1) with L2's general registers
 * loaded from nb_l2 (struct nb_gprs, nestbench.c), as a minimal
 * hypervisor's entry path does; HOST_RSP and HOST_RIP are written only
 * when the host stack moved (once: the caller's loop calls from one depth).
 * A VM exit lands at nb_exit (SDM 27.5.3: RSP and RIP from the host-state
 * area, the general registers as L2 left them), which stores L2's
 * registers into nb_l2 and returns 0; a failed VMLAUNCH/VMRESUME returns
 * RFLAGS (never 0: bit 1 is always set).
 *
 * The L2 (nb_l2_entry): NB_WARM CPUIDs, then NB_ROUNDS CPUIDs between two
 * RDTSCs (RDTSC does not exit), then as many rounds of the same loop with
 * a 2-byte NOP in CPUID's place, then VMCALL with the two spans in R10 and
 * R11 and the round count in R12. On Bochs (clock sync=none) RDTSC counts
 * instructions: the difference of the spans is what NB_ROUNDS CPUID exits
 * cost, everything below L2 included.
 */
#define VMCS_HOST_RSP   0x6C14
#define VMCS_HOST_RIP   0x6C16
#define NB_WARM         100
#define NB_ROUNDS       1000
#define G(r)            (8 * (r))       /* struct nb_gprs: rax rbx rcx rdx rsi rdi rbp r8..r15 */

    .text
    .globl nb_run
nb_run:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cmpq nb_host_rsp(%rip), %rsp
    je 1f
    movq %rsp, nb_host_rsp(%rip)
    movq $VMCS_HOST_RSP, %rax
    vmwrite %rsp, %rax
    movq $VMCS_HOST_RIP, %rax
    leaq nb_exit(%rip), %rdx
    vmwrite %rdx, %rax
1:  testq %rdi, %rdi                /* the flags survive the MOVs below */
    leaq nb_l2(%rip), %rax
    movq G(1)(%rax), %rbx
    movq G(2)(%rax), %rcx
    movq G(3)(%rax), %rdx
    movq G(4)(%rax), %rsi
    movq G(5)(%rax), %rdi
    movq G(6)(%rax), %rbp
    movq G(7)(%rax), %r8
    movq G(8)(%rax), %r9
    movq G(9)(%rax), %r10
    movq G(10)(%rax), %r11
    movq G(11)(%rax), %r12
    movq G(12)(%rax), %r13
    movq G(13)(%rax), %r14
    movq G(14)(%rax), %r15
    movq G(0)(%rax), %rax
    jnz 2f
    vmlaunch
    jmp 3f
2:  vmresume
3:  pushfq                          /* VMfailInvalid / VMfailValid */
    popq %rax
    jmp 4f

nb_exit:
    movq %rax, nb_l2 + G(0)(%rip)
    leaq nb_l2(%rip), %rax
    movq %rbx, G(1)(%rax)
    movq %rcx, G(2)(%rax)
    movq %rdx, G(3)(%rax)
    movq %rsi, G(4)(%rax)
    movq %rdi, G(5)(%rax)
    movq %rbp, G(6)(%rax)
    movq %r8, G(7)(%rax)
    movq %r9, G(8)(%rax)
    movq %r10, G(9)(%rax)
    movq %r11, G(10)(%rax)
    movq %r12, G(11)(%rax)
    movq %r13, G(12)(%rax)
    movq %r14, G(13)(%rax)
    movq %r15, G(14)(%rax)
    xorl %eax, %eax
4:  popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* RDTSC into %rax as one 64-bit value. */
.macro tsc
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
.endm

    .globl nb_l2_entry
nb_l2_entry:
    movl $NB_WARM, %r8d
1:  xorl %eax, %eax
    xorl %ecx, %ecx
    cpuid
    decl %r8d
    jnz 1b
    tsc
    movq %rax, %r9
    movl $NB_ROUNDS, %r8d
2:  xorl %eax, %eax
    xorl %ecx, %ecx
    cpuid
    decl %r8d
    jnz 2b
    tsc
    subq %r9, %rax
    movq %rax, %r10
    tsc
    movq %rax, %r9
    movl $NB_ROUNDS, %r8d
3:  xorl %eax, %eax
    xorl %ecx, %ecx
    xchgw %ax, %ax                  /* 66 90: a 2-byte NOP, CPUID's length */
    decl %r8d
    jnz 3b
    tsc
    subq %r9, %rax
    movq %rax, %r11
    movl $NB_ROUNDS, %r12d
    vmcall
4:  hlt
    jmp 4b

    .bss
    .balign 8
nb_host_rsp: .skip 8
    .globl nb_l2                    /* struct nb_gprs (vmxcheck.h) */
nb_l2:  .skip G(15)
