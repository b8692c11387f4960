/*
 * tests/guests/elf64.S - a guest kernel as an ELF64 executable: the VMM loads
 * its PT_LOAD segments and enters it at e_entry already in 64-bit mode
 * (paging on, first GiB identity-mapped). Written without the guest library
 * (which is 32-bit): it checks it really is in 64-bit mode and reports
 * "elf64: N passed, N failed" on COM1, then its failure count on port 0xF4.
 */
#define EXIT_PORT  0xF4
#define MSR_EFER   0xC0000080
#define EFER_LMA   (1 << 10)
#define CR0_PG     (1 << 31)
#define WIDE_IN    0x123456789
#define WIDE_OUT   0x12345678900
#define HIGH_GPA   0x300000          /* beyond the image: in the identity map */
#define MARKER     0xC0FFEE

    .code64
    .text
    .globl start
start:
    xorl %r12d, %r12d               /* passed */
    xorl %r13d, %r13d               /* failed */

    /* 1: EFER.LMA is set (RDMSR through the VMM). */
    movl $MSR_EFER, %ecx
    rdmsr
    testl $EFER_LMA, %eax
    setnz %al
    call tally

    /* 2: 64-bit arithmetic. */
    movabsq $WIDE_IN, %rax
    shlq $8, %rax
    movabsq $WIDE_OUT, %rbx
    cmpq %rbx, %rax
    sete %al
    call tally

    /* 3: paging is on and memory beyond the image is reachable. */
    movq %cr0, %rax
    btq $31, %rax
    setc %bl
    movl $HIGH_GPA, %edi
    movl $MARKER, (%rdi)
    cmpl $MARKER, (%rdi)
    sete %al
    andb %bl, %al
    call tally

    /* 4: a data segment (.data) was loaded with its contents. */
    cmpl $MARKER, data_word(%rip)
    sete %al
    call tally

    leaq msg_name(%rip), %rsi
    call puts
    movl %r12d, %eax
    call putdigit
    leaq msg_passed(%rip), %rsi
    call puts
    movl %r13d, %eax
    call putdigit
    leaq msg_failed(%rip), %rsi
    call puts

    movl %r13d, %eax
    movw $EXIT_PORT, %dx
    outl %eax, %dx
1:  hlt
    jmp 1b

/* AL = 1: a pass, else a failure. */
tally:
    testb %al, %al
    jz 1f
    incl %r12d
    ret
1:  incl %r13d
    ret

#include "lib/raw_console.inc"

msg_name:   .asciz "elf64: "
msg_passed: .asciz " passed, "
msg_failed: .asciz " failed\n"

    .data
    .balign 4096
data_word:  .long MARKER
