/*
 * tests/guests/longmode64.S - the 64-bit part of the long-mode guest.
 *
 * long_mode_probe(results) is called from 32-bit code running in
 * compatibility mode (IA-32e mode active, CS.L = 0). It far-jumps to the
 * 64-bit code segment, fills the results, and far-returns to the caller's
 * 32-bit segment (SDM Vol. 3A 9.8.5 initializing IA-32e mode, 5.8.8 far
 * transfers in IA-32e mode).
 */
#include "longmode.h"

    .text
    .code32
    .globl long_mode_probe
long_mode_probe:
    pushl %ebx
    pushl %edi
    pushl %esi
    movl 16(%esp), %esi             /* results */
    ljmp $LM_SEL_CODE64, $1f

    .code64
1:  /* 64-bit arithmetic: only right in 64-bit mode. */
    movabs $LM_WIDE_INPUT, %rax
    shlq $LM_WIDE_SHIFT, %rax
    movq %rax, LM_RES_WIDE(%rsi)
    /* CPUID leaf 0x80000001: EDX bit 29 = long mode. */
    movl $0x80000001, %eax
    cpuid
    movl %edx, LM_RES_EXT_EDX(%rsi)
    /* An MMIO load with a 64-bit address register, through the VMM's decoder. */
    movl $LM_LAPIC_VERSION_GPA, %edi
    movl (%rdi), %eax
    movl %eax, LM_RES_LAPIC_VERSION(%rsi)
    /* A load through the alias mapping (a 2 MiB page at 1 GiB). */
    movl $LM_ALIAS_VA, %edi
    movl (%rdi), %eax
    movl %eax, LM_RES_ALIAS(%rsi)
    /* String I/O in 64-bit mode (the VMM's INS, vmm-server/exits.c):
     * REP INSB with RDI and RCX, then with 32-bit addresses (0x67): EDI and
     * ECX count, and both are written zero-extended. */
    leaq LM_RES_STR_BUF(%rsi), %rdi
    movq $3, %rcx
    movw $LM_ABSENT_PORT, %dx
    cld
    rep insb
    movq %rdi, LM_RES_STR_RDI(%rsi)
    movq %rcx, LM_RES_STR_RCX(%rsi)
    movabs $LM_STR_HIGH, %rax
    orq %rax, %rdi
    orq %rax, %rcx
    orq $2, %rcx
    addr32 rep insb
    movq %rdi, LM_RES_STR32_RDI(%rsi)
    movq %rcx, LM_RES_STR32_RCX(%rsi)
    /* CR8 is the LAPIC TPR's class (SDM Vol. 3A 10.8.6.1): both ways. */
    movq $LM_CR8_VALUE, %rax
    movq %rax, %cr8
    movl $LM_LAPIC_TPR_GPA, %edi
    movl (%rdi), %eax
    movl %eax, LM_RES_CR8_TPR(%rsi)
    movl $LM_TPR_VALUE, (%rdi)
    movq %cr8, %rax
    movl %eax, LM_RES_TPR_CR8(%rsi)
    xorl %eax, %eax
    movq %rax, %cr8
    movl $1, LM_RES_RAN64(%rsi)
    /* Back to the 32-bit code segment (compatibility mode). */
    pushq $LM_SEL_CODE32
    leaq 2f(%rip), %rax
    pushq %rax
    lretq

    .code32
2:  popl %esi
    popl %edi
    popl %ebx
    ret
