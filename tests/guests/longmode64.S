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
