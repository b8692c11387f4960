/*
 * arch/x86_64/boot.S - Multiboot2 header and the path from GRUB's 32-bit
 * protected-mode entry to the higher-half 64-bit kernel.
 *
 * GRUB enters in 32-bit protected mode with paging off, EAX = bootloader
 * magic, EBX = physical address of the boot information (Multiboot2 spec 3.3).
 * We build boot page tables, enter IA-32e mode (SDM Vol. 3A 9.8.5
 * "Initializing IA-32e Mode"), and jump to kernel_entry64 in the high half.
 *
 * Everything in .boot.* is linked at its physical address; everything else at
 * KERNEL_VMA + physical, so 32-bit code subtracts KERNEL_VMA from high symbols.
 */
#include <nestor/bits.h>
#include "boot/multiboot2.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/cr.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/seg.h"
#include <x86_uart16550.h>

#define PHYS(sym) ((sym) - KERNEL_VMA)
#define BOOT_PTE (PTE_P | PTE_W)
#define BOOT_PD_COUNT PHYSMAP_BOOT_GIB

/* ---- Multiboot2 header: 8-byte aligned, in the first 32 KiB (spec 3.1.1) ---- */
    .section .multiboot, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8
    .short MB2_HEADER_TAG_END
    .short 0
    .long 8
mb2_header_end:

/* ---- 32-bit entry ---- */
    .section .boot.text, "ax"
    .code32
    .globl boot_entry32
boot_entry32:
    cli
    cld
    movl $PHYS(boot_stack_top), %esp
    movl %ebx, PHYS(boot_mbi_phys)
    movl %eax, PHYS(boot_mbi_magic)

    /* Long mode present? (CPUID.80000001H:EDX.LM, SDM Vol. 2A CPUID) */
    movl $CPUID_LEAF_EXT_MAX, %eax
    cpuid
    cmpl $CPUID_LEAF_EXT_FEATURES, %eax
    jb no_long_mode
    movl $CPUID_LEAF_EXT_FEATURES, %eax
    cpuid
    testl $CPUID_81_EDX_LM, %edx
    jz no_long_mode

    /* Zero the boot page tables (PML4, two PDPTs, BOOT_PD_COUNT PDs). */
    movl $PHYS(boot_pml4), %edi
    movl $((3 + BOOT_PD_COUNT) * PAGE_SIZE / 4), %ecx
    xorl %eax, %eax
    rep stosl

    /* PDs: 2 MiB identity pages covering the first PHYSMAP_BOOT_GIB GiB. */
    movl $PHYS(boot_pd), %esi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $LARGE_PAGE_SHIFT, %eax
    orl $(BOOT_PTE | PTE_PS), %eax
    movl %eax, (%esi, %ecx, 8)
    movl %ecx, %eax
    shrl $(32 - LARGE_PAGE_SHIFT), %eax
    movl %eax, 4(%esi, %ecx, 8)
    incl %ecx
    cmpl $(BOOT_PD_COUNT * PT_ENTRIES), %ecx
    jb 1b

    /* Low PDPT: entries 0..BOOT_PD_COUNT-1 -> the PDs. */
    movl $PHYS(boot_pdpt_low), %edi
    movl $(PHYS(boot_pd) + BOOT_PTE), %eax
    xorl %ecx, %ecx
2:  movl %eax, (%edi, %ecx, 8)
    addl $PAGE_SIZE, %eax
    incl %ecx
    cmpl $BOOT_PD_COUNT, %ecx
    jb 2b

    /* High PDPT: KERNEL_VMA's 2 GiB -> the first two PDs. */
    movl $PHYS(boot_pdpt_high), %edi
    movl $(PHYS(boot_pd) + BOOT_PTE), 8 * PDPT_INDEX_KERNEL(%edi)
    movl $(PHYS(boot_pd) + PAGE_SIZE + BOOT_PTE), 8 * (PDPT_INDEX_KERNEL + 1)(%edi)

    /* PML4: identity (removed once in the high half), physmap, kernel. */
    movl $PHYS(boot_pml4), %edi
    movl $(PHYS(boot_pdpt_low) + BOOT_PTE), (%edi)
    movl $(PHYS(boot_pdpt_low) + BOOT_PTE), 8 * PML4_INDEX_PHYSMAP(%edi)
    movl $(PHYS(boot_pdpt_high) + BOOT_PTE), 8 * PML4_INDEX_KERNEL(%edi)

    /* SDM 9.8.5: CR4.PAE, CR3, EFER.LME, then CR0.PG activates IA-32e mode. */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl %edi, %cr3
    movl $MSR_IA32_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE | CR0_WP), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $SEL_KCODE, $boot_entry64

/* Without long mode we cannot run at all: say so on COM1 and stop. */
no_long_mode:
    movl $boot_msg_no_lm, %esi
3:  lodsb
    testb %al, %al
    jz 5f
    movb %al, %bl
    movw $(COM1_BASE + UART_LSR), %dx
4:  inb %dx, %al
    testb $UART_LSR_THRE, %al
    jz 4b
    movb %bl, %al
    movw $(COM1_BASE + UART_THR), %dx
    outb %al, %dx
    jmp 3b
5:  cli
    hlt
    jmp 5b

    .code64
boot_entry64:
    movw $SEL_KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $kernel_entry64, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad DESC_KCODE64
    .quad DESC_KDATA
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt
boot_msg_no_lm:
    .asciz "nestor: boot: this CPU has no long mode; cannot continue\r\n"

/* ---- 64-bit, high half ---- */
    .text
    .globl kernel_entry64
kernel_entry64:
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_mbi_magic(%rip), %edi
    movl boot_mbi_phys(%rip), %esi
    call kmain
6:  cli
    hlt
    jmp 6b

    .data
    .balign 4
    .globl boot_mbi_phys
boot_mbi_phys:  .long 0
boot_mbi_magic: .long 0

    .bss
    .balign PAGE_SIZE
    .globl boot_pml4
boot_pml4:      .skip PAGE_SIZE
boot_pdpt_low:  .skip PAGE_SIZE
boot_pdpt_high: .skip PAGE_SIZE
boot_pd:        .skip BOOT_PD_COUNT * PAGE_SIZE
    .balign 16
boot_stack:     .skip 16384
boot_stack_top:
