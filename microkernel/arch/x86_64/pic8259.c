/*
 * arch/x86_64/pic8259.c - move the legacy PICs off the exception vectors
 * (the BIOS leaves IRQ0-7 on vectors 8-15, which alias #DF..#PF) and mask
 * them; interrupts will come through the LAPIC.
 */
#include "arch/x86_64/pic8259.h"
#include "arch/x86_64/io.h"

void pic_remap_and_mask(void)
{
    outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC1_DATA, PIC1_VECTOR_BASE);
    outb(PIC2_DATA, PIC2_VECTOR_BASE);
    outb(PIC1_DATA, PIC_ICW3_MASTER);
    outb(PIC2_DATA, PIC_ICW3_SLAVE);
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, PIC_MASK_ALL);
    outb(PIC2_DATA, PIC_MASK_ALL);
}
