/* arch/x86_64/gdt.h - the kernel GDT and TSS. */
#ifndef ARCH_X86_64_GDT_H
#define ARCH_X86_64_GDT_H
#include <stdint.h>

/* Load the kernel GDT and TSS (with IST stacks) on the boot CPU. */
void gdt_init(void);
/* Stack pointer loaded on an interrupt from user mode (TSS.RSP0). */
void tss_set_rsp0(uint64_t rsp0);

#endif
