/* arch/x86_64/gdt.h - the kernel GDT and TSS. */
#ifndef ARCH_X86_64_GDT_H
#define ARCH_X86_64_GDT_H
#include "arch/x86_64/seg.h"
#include <stdint.h>

/* Load the kernel GDT and TSS (with IST stacks) on the boot CPU. */
void gdt_init(void);
/* 64-bit TSS (SDM Vol. 3A 7.7, Figure 7-11). */
typedef struct __attribute__((packed)) {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} tss64_t;

/* The TSS is followed by its I/O permission bitmap: one bit per port, 1 =
 * access faults, and a final all-ones byte (SDM Vol. 1 18.5.2). */
#define IOPB_BYTES (65536 / 8)
typedef struct __attribute__((packed)) {
    tss64_t tss;
    uint8_t iopb[IOPB_BYTES];
    uint8_t iopb_end;
} tss_iopb_t;

extern tss_iopb_t tss_iopb;

/* Reload the GDTR limit and TR (with its limit) a VM exit left wrong. */
void gdt_restore_after_vm_exit(void);
/* Linear address of the GDT (VMCS host state). */
uint64_t gdt_base(void);
/* Allow (or deny again) user-mode IN/OUT on ports [first, last]. */
void iopb_set(uint16_t first, uint16_t last, int allow);

/* Stack pointer loaded on an interrupt from user mode (TSS.RSP0). */
static inline void tss_set_rsp0(uint64_t rsp0)
{
    __builtin_memcpy((uint8_t *)&tss_iopb + TSS_RSP0_OFFSET, &rsp0, sizeof(rsp0));  /* unaligned */
}

#endif
