/*
 * tests/guests/vmxcheck_l2x_guest.S - the L2 programs of vmxcheck's L2-exit
 * sections (vmxcheck_l2x.c). L2 runs on L1's page tables, GDT and TSS with
 * an IDT of its own (l2x_idt, built by the C side): each stub below reports
 * the vector, error code, return RIP, CR2 and pushed RFLAGS it was entered
 * with by VMCALL (RBX, RCX, RDX, RSI, RDI).
 * Inputs come from l2x_in, results go to l2x_out; l2x_exit (HOST_RIP)
 * saves L2's general-purpose registers, which a VM exit leaves as they are
 * (SDM 27.3), into l2x_gprs before vmxc_exit_point.
 */
#include "vmxcheck.h"

    .text
/* HOST_RIP: RAX RCX RDX RBX RBP RSI RDI R8-R15 as L2 left them. */
    .globl l2x_exit
l2x_exit:
    movq %rax, l2x_gprs+0(%rip)
    movq %rcx, l2x_gprs+8(%rip)
    movq %rdx, l2x_gprs+16(%rip)
    movq %rbx, l2x_gprs+24(%rip)
    movq %rbp, l2x_gprs+32(%rip)
    movq %rsi, l2x_gprs+40(%rip)
    movq %rdi, l2x_gprs+48(%rip)
    movq %r8, l2x_gprs+56(%rip)
    movq %r9, l2x_gprs+64(%rip)
    movq %r10, l2x_gprs+72(%rip)
    movq %r11, l2x_gprs+80(%rip)
    movq %r12, l2x_gprs+88(%rip)
    movq %r13, l2x_gprs+96(%rip)
    movq %r14, l2x_gprs+104(%rip)
    movq %r15, l2x_gprs+112(%rip)
    jmp vmxc_exit_point

/*
 * uint64_t l2x_enter(uint64_t resume): vmxc_enter (vmxcheck_start.S) for
 * these sections: HOST_RSP here (HOST_RIP stays l2x_exit, which ends at
 * vmxc_exit_point with the same six registers pushed), and L2's
 * general-purpose registers loaded from l2x_gprs first, so that an L2
 * resumed after an exit L1 handled finds them as it left them.
 */
#define LOAD_GPRS                        \
    movq l2x_gprs+8(%rip), %rcx;         \
    movq l2x_gprs+16(%rip), %rdx;        \
    movq l2x_gprs+24(%rip), %rbx;        \
    movq l2x_gprs+32(%rip), %rbp;        \
    movq l2x_gprs+40(%rip), %rsi;        \
    movq l2x_gprs+48(%rip), %rdi;        \
    movq l2x_gprs+56(%rip), %r8;         \
    movq l2x_gprs+64(%rip), %r9;         \
    movq l2x_gprs+72(%rip), %r10;        \
    movq l2x_gprs+80(%rip), %r11;        \
    movq l2x_gprs+88(%rip), %r12;        \
    movq l2x_gprs+96(%rip), %r13;        \
    movq l2x_gprs+104(%rip), %r14;       \
    movq l2x_gprs+112(%rip), %r15;       \
    movq l2x_gprs+0(%rip), %rax
    .globl l2x_enter
l2x_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    leaq 3f(%rip), %rax
    movq %rax, vmxc_fault_resume(%rip)
    movq $0x6C14, %rdx              /* VMCS_HOST_RSP */
    vmwrite %rsp, %rdx
    testq %rdi, %rdi
    jnz 2f
    LOAD_GPRS
    vmlaunch
    jmp 3f
2:  LOAD_GPRS
    vmresume
3:  pushfq
    popq %rax
    movq $0, vmxc_fault_resume(%rip)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* L2's interrupt stubs, 16 bytes each: [RSP] vector, error code (0 where
 * the vector pushes none, SDM Vol. 3A 6.13), RIP. RBX = vector, RCX =
 * error code, RDX = RIP, RSI = CR2, then VMCALL. */
    .balign 16
    .globl l2x_stubs
l2x_stubs:
    .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
    .balign 16
    .if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
    pushq $\v
    .else
    pushq $0
    pushq $\v
    .endif
    jmp l2x_stub_common
    .endr
l2x_stub_common:
    movq (%rsp), %rbx
    movq 8(%rsp), %rcx
    movq 16(%rsp), %rdx
    movq %cr2, %rsi
    movq 32(%rsp), %rdi             /* the RFLAGS pushed (past RIP and CS) */
    vmcall
1:  jmp 1b

/* I/O instructions for unconditional I/O exiting; L1 skips each. */
    .globl l2x_io, l2x_io_out_dx, l2x_io_in_dx, l2x_io_out_imm, l2x_io_in_imm, l2x_io_rep
l2x_io:
    movw $0x3FF, %dx
    movb $0x5A, %al
l2x_io_out_dx:
    outb %al, %dx                   /* 1 byte, out, DX */
l2x_io_in_dx:
    inw %dx, %ax                    /* 2 bytes, in, DX */
l2x_io_out_imm:
    outb %al, $0x80                 /* 1 byte, out, immediate */
l2x_io_in_imm:
    inl $0x71, %eax                 /* 4 bytes, in, immediate */
    leaq l2x_out(%rip), %rsi
    movl $2, %ecx
l2x_io_rep:
    rep outsb                       /* string, REP, out, DX */
    vmcall

/* I/O bitmaps: 0x3FF clear (the UART scratch register), 0x80 and 0x8000 set. */
    .globl l2x_iobm, l2x_iobm_80, l2x_iobm_7f, l2x_iobm_7fff
l2x_iobm:
    movw $0x3FF, %dx
    movb l2x_in(%rip), %al
    outb %al, %dx
    xorl %eax, %eax
    inb %dx, %al
    movq %rax, l2x_out(%rip)
l2x_iobm_80:
    outb %al, $0x80
    movw $0x7F, %dx
l2x_iobm_7f:
    inw %dx, %ax                    /* 0x7F clear, 0x80 set */
    movw $0x7FFF, %dx
l2x_iobm_7fff:
    inw %dx, %ax                    /* 0x7FFF clear (bitmap A), 0x8000 set (B) */
    vmcall

/* String I/O to the clear port 3FFH: REP OUTSB of l2x_in[1] bytes from
 * l2x_in[0] (more than one batch of nested-vmx's), then INSB into l2x_out[2]:
 * RSI, RCX and RDI after them in l2x_out. */
    .globl l2x_iostr
l2x_iostr:
    cld
    movq l2x_in(%rip), %rsi
    movq l2x_in+8(%rip), %rcx
    movw $0x3FF, %dx
    rep outsb
    movq %rsi, l2x_out(%rip)
    movq %rcx, l2x_out+8(%rip)
    leaq l2x_out+16(%rip), %rdi
    insb
    movq %rdi, l2x_out+24(%rip)
    vmcall

/* String I/O at any L2 address (l2ept): REP OUTSB of l2x_in[1] bytes from
 * l2x_in[0] to 3FFH, or REP INSB of l2x_in[1] bytes to l2x_in[0]; RSI or
 * RDI after it into l2x_out[0], RCX into l2x_out[1]. */
    .globl l2x_outs, l2x_outs_insn, l2x_ins, l2x_ins_insn
l2x_outs:
    cld
    movq l2x_in(%rip), %rsi
    movq l2x_in+8(%rip), %rcx
    movw $0x3FF, %dx
l2x_outs_insn:
    rep outsb
    movq %rsi, l2x_out(%rip)
    movq %rcx, l2x_out+8(%rip)
    vmcall
l2x_ins:
    cld
    movq l2x_in(%rip), %rdi
    movq l2x_in+8(%rip), %rcx
    movw $0x3FF, %dx
l2x_ins_insn:
    rep insb
    movq %rdi, l2x_out(%rip)
    movq %rcx, l2x_out+8(%rip)
    vmcall

/* VMCS shadowing (section l2shadow): VMREAD RBX := field RAX, or VMWRITE
 * field RAX := RBX, in VMX non-root operation; RFLAGS after it into RCX
 * (VMsucceed / VMfailInvalid / VMfailValid), then VMCALL. */
    .globl l2x_vmread, l2x_vmwrite
l2x_vmread:
    vmread %rax, %rbx
    pushfq
    popq %rcx
    vmcall
l2x_vmwrite:
    vmwrite %rbx, %rax
    pushfq
    popq %rcx
    vmcall

/* RDMSR/WRMSR without MSR bitmaps. */
    .globl l2x_msr, l2x_msr_rd, l2x_msr_wr
l2x_msr:
    movl $0x174, %ecx
l2x_msr_rd:
    rdmsr
    movl $0x175, %ecx
    movl $0x11223344, %eax
    movl $0x55667788, %edx
l2x_msr_wr:
    wrmsr
    vmcall

/* With MSR bitmaps: KERNEL_GS_BASE write+read, SYSENTER_CS write and TSC
 * read pass; SYSENTER_ESP read, FS_BASE write and 0x40000000 exit. */
    .globl l2x_msrbm
l2x_msrbm:
    movl $0xC0000102, %ecx
    movl l2x_in(%rip), %eax
    movl l2x_in+4(%rip), %edx
    wrmsr
    xorl %eax, %eax
    xorl %edx, %edx
    rdmsr
    movl %eax, l2x_out(%rip)
    movl %edx, l2x_out+4(%rip)
    movl $0x174, %ecx
    movl l2x_in+8(%rip), %eax
    xorl %edx, %edx
    wrmsr
    movl $0x10, %ecx
    rdmsr
    movl %eax, l2x_out+8(%rip)
    movl %edx, l2x_out+12(%rip)
    movl $0x175, %ecx
    rdmsr
    movl $0xC0000100, %ecx
    wrmsr
    movl $0x40000000, %ecx
    rdmsr
    vmcall

/* MSR lists: read IA32_MTRR_DEF_TYPE (2FFH, its read bit clear) as the
 * VM-entry MSR-load list left it, and KERNEL_GS_BASE. */
    .globl l2x_msrlist
l2x_msrlist:
    movl $0x2FF, %ecx
    rdmsr
    movl %eax, l2x_out(%rip)
    movl %edx, l2x_out+4(%rip)
    movl $0xC0000102, %ecx
    rdmsr
    movl %eax, l2x_out+8(%rip)
    movl %edx, l2x_out+12(%rip)
    vmcall

/* IA32_EFER with the MSR bitmaps clear: read it (out[0]), write in[0] and
 * read it back (out[1]), then write in[1], which #GPs. */
    .globl l2x_efer, l2x_efer_gp
l2x_efer:
    movl $0xC0000080, %ecx
    rdmsr
    movl %eax, l2x_out(%rip)
    movl %edx, l2x_out+4(%rip)
    movl l2x_in(%rip), %eax
    movl l2x_in+4(%rip), %edx
    wrmsr
    rdmsr
    movl %eax, l2x_out+8(%rip)
    movl %edx, l2x_out+12(%rip)
    movl l2x_in+8(%rip), %eax
    movl l2x_in+12(%rip), %edx
l2x_efer_gp:
    wrmsr
    vmcall

/* CR0 mask TS (shadow TS = 1), CR4 mask PCE (shadow PCE = 0). */
    .globl l2x_cr, l2x_cr_mov0, l2x_cr_clts, l2x_cr_mov4
l2x_cr:
    movq %cr0, %rax
    movq %rax, l2x_out(%rip)
    movq %cr4, %rax
    movq %rax, l2x_out+8(%rip)
    movq l2x_out(%rip), %rbx
    movq %rbx, %cr0                 /* TS as the shadow: no exit */
    xorq $0x10000, %rbx
    movq %rbx, %cr0                 /* WP, not masked: no exit */
    andq $~8, %rbx
l2x_cr_mov0:
    movq %rbx, %cr0                 /* TS against the shadow: exit */
l2x_cr_clts:
    clts                            /* TS masked, shadow TS = 1: exit */
    movq l2x_out+8(%rip), %rdx
    movq %rdx, %cr4                 /* PCE as the shadow: no exit */
    orq $0x100, %rdx
l2x_cr_mov4:
    movq %rdx, %cr4                 /* PCE against the shadow: exit */
    vmcall

    .globl l2x_cr3
l2x_cr3:
    movq %cr3, %rax
    movq %rax, %cr3
    vmcall

/* Exceptions. */
    .globl l2x_ud, l2x_gp, l2x_pfr, l2x_pfw
l2x_ud:
    ud2
    vmcall
l2x_gp:
    movw $0x80, %ax
    .globl l2x_gp_insn
l2x_gp_insn:
    movw %ax, %es                   /* past the GDT limit: #GP(0x80) */
    vmcall
l2x_pfr:
    movq 0x40000000, %rax           /* not mapped (PDPTE 1): #PF, PFEC 0 */
    vmcall
l2x_pfw:
    movq %rax, 0x40000000           /* #PF, PFEC 2 */
    vmcall

/* Spin, HLT, STI. */
    .globl l2x_spin, l2x_hlt, l2x_sti, l2x_sti_end
l2x_spin:
    jmp l2x_spin
l2x_hlt:
    hlt
1:  jmp 1b
l2x_sti:
    sti
    nop
l2x_sti_end:
    vmcall

/* L1's external interrupt while L2 waits (RFLAGS.IF = 1), at most
 * L2X_EXTINT_SPIN iterations (about 0.7 s on Bochs, the interrupt is due in
 * 30 ms): the VMCALL ends a wait that no interrupt ended. The preemption timer across two runs: a loop, CPUID
 * (an exit), the loop again, CPUID. L1's IRQ 0 handler: counts, EOIs. */
    .globl l2x_extint_wait, l2x_extint_wait_end, l2x_timer_runs, l2x_l1_irq
#define L2X_EXTINT_SPIN 0x1000000
#define L2X_TIMER_LOOP  2000
#define PIC1_CMD        0x20
#define PIC_OCW2_EOI    0x20
l2x_extint_wait:
    movl $L2X_EXTINT_SPIN, %ecx
1:  decl %ecx
    jnz 1b
l2x_extint_wait_end:
    vmcall
l2x_timer_runs:
    movl $L2X_TIMER_LOOP, %ecx
1:  decl %ecx
    jnz 1b
    cpuid
    movl $L2X_TIMER_LOOP, %ecx
1:  decl %ecx
    jnz 1b
    cpuid
    vmcall
/* L1's NMI handler for the l2nmi section: its cases run inside it, where
 * NMIs are blocked until this IRETQ (SDM Vol. 3A 6.7.1). Nine pushes keep
 * the call 16-byte aligned (the CPU aligned RSP before its 40-byte frame). */
    .globl l2x_l1_nmi
l2x_l1_nmi:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    call l2x_nmi_cases
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    iretq

l2x_l1_irq:
    pushq %rax
    incq l2x_l1_irqs(%rip)
    movb $PIC_OCW2_EOI, %al         /* 8259 OCW2: non-specific EOI */
    outb %al, $PIC1_CMD
    popq %rax
    iretq

/* EPT: a read of an unmapped address, a write to a read-only page, a read
 * of it; and L2 reading what L1 left in l2x_in. */
    .globl l2x_ept_unmapped, l2x_ept_write, l2x_ept_read, l2x_mem
l2x_ept_unmapped:
    movq 0xA00010, %rax
    vmcall
l2x_ept_write:
    movq %rax, 0x600010
    vmcall
l2x_ept_read:
    movq 0x600010, %rax
    movq %rax, l2x_out(%rip)
    vmcall
/* EPT 4 KiB pages: store l2x_in[1] at address l2x_in[0], then load from
 * l2x_in[2] into l2x_out[0] (l2x_peek: the load alone). */
    .globl l2x_poke, l2x_poke_store, l2x_peek, l2x_peek_load
l2x_poke:
    movq l2x_in(%rip), %rdi
    movq l2x_in+8(%rip), %rax
l2x_poke_store:
    movq %rax, (%rdi)
l2x_peek:
    movq l2x_in+16(%rip), %rsi
l2x_peek_load:
    movq (%rsi), %rax
    movq %rax, l2x_out(%rip)
    vmcall
/* The same with 32-bit accesses (a local APIC takes only those). */
    .globl l2x_poke32, l2x_peek32
l2x_poke32:
    movq l2x_in(%rip), %rdi
    movq l2x_in+8(%rip), %rax
    movl %eax, (%rdi)
l2x_peek32:
    movq l2x_in+16(%rip), %rsi
    movl (%rsi), %eax
    movq %rax, l2x_out(%rip)
    vmcall
/* l2state: ES loaded with the selector in l2x_in[3], IDTR from the 10
 * bytes at l2x_in (limit, base), then VMCALL: what the exit saves. */
    .globl l2x_segs
l2x_segs:
    movq l2x_in+24(%rip), %rax
    movw %ax, %es
    lidt l2x_in(%rip)
    vmcall
l2x_mem:
    cpuid
    outb %al, $0x80
    movq l2x_in(%rip), %rax
    movq %rax, l2x_out(%rip)
    vmcall

    .bss
    .balign 16
    .globl l2x_gprs, l2x_in, l2x_out, l2x_l1_irqs
l2x_gprs:   .skip 8 * 15
    .balign 8
l2x_in:     .skip 8 * 4
l2x_out:    .skip 8 * 4
l2x_l1_irqs: .skip 8
