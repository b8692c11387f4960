/*
 * arch/x86_64/seg.h - the kernel's GDT layout and descriptor bits
 * (SDM Vol. 3A 3.4.5 segment descriptors, 7.2.3 TSS descriptor in 64-bit mode).
 *
 * The order kernel-code, kernel-data, user-code32, user-data, user-code64 is
 * the one SYSCALL/SYSRET require (SDM Vol. 2B SYSRET: CS = STAR[63:48]+16,
 * SS = STAR[63:48]+8).
 */
#ifndef ARCH_X86_64_SEG_H
#define ARCH_X86_64_SEG_H

#define GDT_NULL        0
#define GDT_KCODE       1
#define GDT_KDATA       2
#define GDT_UCODE32     3
#define GDT_UDATA       4
#define GDT_UCODE64     5
#define GDT_TSS         6       /* a 16-byte descriptor: two slots */
#define GDT_ENTRIES     8

#define SEL_KCODE       (GDT_KCODE * 8)
#define SEL_KDATA       (GDT_KDATA * 8)
#define SEL_UDATA       (GDT_UDATA * 8 + 3)
#define SEL_UCODE64     (GDT_UCODE64 * 8 + 3)
#define SEL_TSS         (GDT_TSS * 8)

/* Flat 64-bit code / data descriptors (SDM 3.4.5: L=1 for 64-bit code). */
#define DESC_KCODE64    0x00AF9A000000FFFF
#define DESC_KDATA      0x00CF92000000FFFF
#define DESC_UCODE32    0x00CFFA000000FFFF
#define DESC_UDATA      0x00CFF2000000FFFF
#define DESC_UCODE64    0x00AFFA000000FFFF

/* System descriptor type for an available 64-bit TSS (SDM 3.5, Table 3-2). */
#define DESC_TYPE_TSS64_AVAIL 0x9
#define DESC_TSS_BUSY_BIT     0x2   /* in the type field: 0x9 available, 0xB busy (SDM 7.2.2) */
#define DESC_PRESENT          0x80

/* IDT gate: 64-bit interrupt gate, present, DPL 0 (SDM 6.14.1). */
#define IDT_GATE_INTERRUPT    0x8E
#define IDT_VECTORS           256

/* Byte offset of RSP0 in the 64-bit TSS (SDM Vol. 3A 7.7, Figure 7-11). */
#define TSS_RSP0_OFFSET       4

/* Interrupt stack table slots (SDM 6.14.5); 0 means "no IST". */
#define IST_DOUBLE_FAULT      1
#define IST_NMI               2
#define IST_MACHINE_CHECK     3
#define IST_COUNT             3

#endif
