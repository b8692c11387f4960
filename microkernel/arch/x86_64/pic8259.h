/* arch/x86_64/pic8259.h - legacy 8259A PIC pair (Intel 8259A data sheet). */
#ifndef ARCH_X86_64_PIC8259_H
#define ARCH_X86_64_PIC8259_H

#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xA0
#define PIC2_DATA       0xA1
#define PIC_ICW1_INIT_ICW4 0x11     /* edge, cascade, ICW4 follows */
#define PIC_ICW3_MASTER 0x04        /* slave on IRQ2 */
#define PIC_ICW3_SLAVE  0x02        /* slave identity 2 */
#define PIC_ICW4_8086   0x01
#define PIC_MASK_ALL    0xFF
#define PIC1_VECTOR_BASE 0x20       /* IRQ0-7 -> vectors 32-39, clear of exceptions */
#define PIC2_VECTOR_BASE 0x28

/* Remap both PICs above the exception vectors and mask every line. */
void pic_remap_and_mask(void);

#endif
