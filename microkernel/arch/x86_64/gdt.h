/* arch/x86_64/gdt.h - the kernel GDT and TSS. */
#ifndef ARCH_X86_64_GDT_H
#define ARCH_X86_64_GDT_H

/* Load the kernel GDT and TSS (with IST stacks) on the boot CPU. */
void gdt_init(void);

#endif
