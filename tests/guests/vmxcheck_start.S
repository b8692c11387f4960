/*
 * tests/guests/vmxcheck_start.S - entry and 64-bit glue of the vmxcheck guest.
 *
 * A Multiboot kernel (Multiboot 0.6.96 section 3.1: the header with load
 * addresses, so a loader needs no ELF: vmm-server and GRUB's `multiboot`
 * command both load the flat image at 1 MiB) entered in 32-bit protected
 * mode. It enters IA-32e mode (SDM Vol. 3A 9.8.5: CR4.PAE, CR3, EFER.LME,
 * CR0.PG) with the first GiB identity-mapped in 2 MiB pages, and calls
 * vmxc_main(magic, info) in 64-bit mode; the status it returns goes to the
 * exit port as other test guests do (lib/enter_main.inc).
 *
 * Also here: the exception stubs (vectors 0-31; a fault the C code
 * expected resumes at vmxc_fault_resume), vmxc_enter (VMLAUNCH/VMRESUME
 * with the host-state RSP/RIP pointing back at itself, SDM 27.5.3), and
 * the trivial L2 guest.
 */
#include "vmxcheck.h"

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_FLAGS        0x00010002      /* address fields valid; memory information */
#define MSR_EFER        0xC0000080
#define EFER_LME        0x100
#define CR0_PE_NE_PG    0x80000021
#define CR4_PAE         0x20
#define PTE_P_RW        0x3
#define PTE_PS          0x80
#define VMCS_HOST_RSP   0x6C14
#define VMCS_HOST_RIP   0x6C16

    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    jmp 2f
    .balign 4
mb_header:
    .long MB_HEADER_MAGIC, MB_FLAGS, -(MB_HEADER_MAGIC + MB_FLAGS)
    .long mb_header, _start, __load_end, __bss_end, _start
2:  movl %eax, vmxc_boot_magic
    movl %ebx, vmxc_boot_info
    movl $vmxc_stack_top, %esp
    lgdt gdtr32
    ljmp $VMXC_SEL_CODE32, $3f
3:  movw $VMXC_SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    /* 512 2 MiB pages: the first GiB, identity (SDM Vol. 3A 4.5). */
    movl $vmxc_pd, %edi
    xorl %ecx, %ecx
4:  movl %ecx, %eax
    shll $21, %eax
    orl $(PTE_P_RW | PTE_PS), %eax
    movl %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 4b
    movl $vmxc_pd, %eax
    orl $PTE_P_RW, %eax
    movl %eax, vmxc_pdpt
    movl $0, vmxc_pdpt + 4
    movl $vmxc_pdpt, %eax
    orl $PTE_P_RW, %eax
    movl %eax, vmxc_pml4
    movl $0, vmxc_pml4 + 4
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $vmxc_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PE_NE_PG, %eax
    movl %eax, %cr0
    ljmp $VMXC_SEL_CODE64, $long_entry

    .code64
long_entry:
    movw $VMXC_SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $vmxc_stack_top, %rsp
    movl vmxc_boot_magic(%rip), %edi
    movl vmxc_boot_info(%rip), %esi
    call vmxc_main
    movw $VMXC_EXIT_PORT, %dx
    outl %eax, %dx
5:  cli
    hlt
    jmp 5b

/*
 * Exception stubs, VMXC_ISR_STUB bytes each: vectors that push an error
 * code (SDM Vol. 3A 6.13: 8, 10-14, 17, 21, 29, 30) push only the vector.
 */
    .text
    .balign VMXC_ISR_STUB
    .globl vmxc_isr_stubs
vmxc_isr_stubs:
    .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .balign VMXC_ISR_STUB
    .if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
    pushq $\v
    .else
    pushq $0
    pushq $\v
    .endif
    jmp isr_common
    .endr

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS (64-bit frame). */
isr_common:
    pushq %rax
    movq 8(%rsp), %rax
    movq %rax, vmxc_fault_vector(%rip)
    movq 16(%rsp), %rax
    movq %rax, vmxc_fault_error(%rip)
    movq 40(%rsp), %rax
    movq %rax, vmxc_fault_rflags(%rip)
    movq vmxc_fault_resume(%rip), %rax
    testq %rax, %rax
    jz 1f
    movq %rax, 24(%rsp)
    movq $0, vmxc_fault_resume(%rip)
    popq %rax
    addq $16, %rsp
    iretq
1:  movq 8(%rsp), %rdi              /* vector */
    movq 16(%rsp), %rsi             /* error code */
    movq 24(%rsp), %rdx             /* RIP */
    andq $-16, %rsp
    call vmxc_unexpected            /* does not return */
2:  cli
    hlt
    jmp 2b

/*
 * uint64_t vmxc_enter(uint64_t flags): VMLAUNCH (or VMRESUME) with
 * HOST_RSP = the stack after saving the callee-saved registers and HOST_RIP
 * = vmxc_exit_point, where a VM exit or a VM-entry failure resumes with the
 * host state loaded (SDM 27.5.3; 26.8). Returns 0 there, or RFLAGS after
 * the instruction failed (VMfailInvalid/VMfailValid, SDM 30.2; RFLAGS
 * always has bit 1 set, so it is never 0).
 */
    .globl vmxc_enter
vmxc_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    leaq 3f(%rip), %rax             /* before the VMWRITEs: they #UD after VMXOFF */
    movq %rax, vmxc_fault_resume(%rip)
    movq $VMCS_HOST_RSP, %rdx
    vmwrite %rsp, %rdx
    testq $VMXC_ENTER_KEEP_HRIP, %rdi
    jnz 1f
    movq $VMCS_HOST_RIP, %rdx
    leaq vmxc_exit_point(%rip), %rax
    vmwrite %rax, %rdx
1:  testq $VMXC_ENTER_MOVSS, %rdi
    jz 5f
    movw %ss, %ax                   /* blocking by MOV SS for the next instruction */
    movw %ax, %ss
    vmlaunch
    jmp 3f
5:  testq $VMXC_ENTER_RESUME, %rdi
    jnz 2f
    vmlaunch
    jmp 3f
2:  vmresume
3:  pushfq
    popq %rax
    movq $0, vmxc_fault_resume(%rip)
    jmp 4f
    .globl vmxc_exit_point
vmxc_exit_point:
    xorl %eax, %eax
4:  popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* The L2 guest: CPUID (exits unconditionally, SDM 25.1.2), VMCALL (exits
 * unconditionally), HLT (exits with "HLT exiting"), again. */
    .globl vmxc_l2_entry, vmxc_l2_hlt_loop
vmxc_l2_entry:
    xorl %eax, %eax
    cpuid
    vmcall
vmxc_l2_hlt_loop:
    hlt
    jmp vmxc_l2_entry

    .data
    .balign 8
gdtr32:
    .word VMXC_GDT_BYTES - 1
    .long vmxc_gdt
    .balign 16
    .globl vmxc_gdt
vmxc_gdt:                           /* SDM Vol. 3A 3.4.5 */
    .quad 0
    .quad 0x00CF9A000000FFFF        /* VMXC_SEL_CODE32 */
    .quad 0x00CF92000000FFFF        /* VMXC_SEL_DATA */
    .quad 0x00AF9A000000FFFF        /* VMXC_SEL_CODE64: L = 1 */
    .quad 0, 0                      /* VMXC_SEL_TSS: filled by vmxc_main */

    .bss
    .balign 4096
vmxc_pml4:  .skip 4096
    .globl vmxc_pdpt                /* vmxcheck_l2x.c maps the local APIC through it */
vmxc_pdpt:  .skip 4096
vmxc_pd:    .skip 4096
vmxc_stack: .skip 32768
vmxc_stack_top:
    .balign 8
    .globl vmxc_fault_resume, vmxc_fault_vector, vmxc_fault_error, vmxc_fault_rflags
vmxc_fault_resume: .skip 8
vmxc_fault_vector: .skip 8
vmxc_fault_error:  .skip 8
vmxc_fault_rflags: .skip 8
    .globl vmxc_boot_magic, vmxc_boot_info
vmxc_boot_magic: .skip 4
vmxc_boot_info:  .skip 4
