/*
 * vmm-server/devices/pic8259.h - a cascaded pair of Intel 8259A programmable
 * interrupt controllers as wired in a PC/AT: master at ports 0x20/0x21, slave
 * at 0xA0/0xA1, the slave's INT output on master input IR2.
 *
 * Pure model (no system calls, no clock): the VMM calls pic_io() from its
 * port I/O exits, pic_set_irq() when a device line changes, and before each
 * guest entry pic_pending_vector() / pic_ack() (the INTA cycle).
 *
 * References (8259A data sheet, Intel order no. 231468): "Initialization
 * Command Words" (ICW1-ICW4), "Operation Command Words" (OCW1-OCW3),
 * "Fully Nested Mode", "End of Interrupt", "Special Mask Mode", "Poll
 * Command", "Cascading".
 */
#ifndef VMM_DEVICES_PIC8259_H
#define VMM_DEVICES_PIC8259_H
#include <stdbool.h>
#include <stdint.h>

/* Ports. */
#define PIC_MASTER_CMD   0x20
#define PIC_MASTER_DATA  0x21
#define PIC_SLAVE_CMD    0xA0
#define PIC_SLAVE_DATA   0xA1

#define PIC_IRQS         16   /* lines 0-7 on the master, 8-15 on the slave */
#define PIC_LINES        8    /* IR inputs per chip */
#define PIC_CASCADE_IRQ  2    /* master input the slave's INT drives */
#define PIC_MASTER       0    /* index of a chip in pic_t.chip[] */
#define PIC_SLAVE        1

/* Command-port writes: bit 4 set = ICW1; else bit 3 set = OCW3, clear = OCW2. */
#define PIC_CMD_ICW1       0x10
#define PIC_CMD_OCW3       0x08

/* ICW1 bits. */
#define PIC_ICW1_IC4       0x01  /* ICW4 follows */
#define PIC_ICW1_SNGL      0x02  /* single chip, no ICW3 */
#define PIC_ICW1_ADI       0x04  /* call address interval (8080 only; ignored) */
#define PIC_ICW1_LTIM      0x08  /* level-triggered mode (not modelled: always edge) */

/* ICW2: vector base (T7-T3); the low three bits come from the IR level. */
#define PIC_ICW2_BASE_MASK 0xF8

/* ICW4 bits. */
#define PIC_ICW4_UPM       0x01  /* 8086/8088 mode */
#define PIC_ICW4_AEOI      0x02  /* automatic end of interrupt */
#define PIC_ICW4_MS        0x04  /* buffered mode master/slave (ignored) */
#define PIC_ICW4_BUF       0x08  /* buffered mode (ignored) */
#define PIC_ICW4_SFNM      0x10  /* special fully nested mode */

/* OCW2: bits 7-5 are R, SL, EOI; bits 2-0 the level L. */
#define PIC_OCW2_LEVEL_MASK     0x07
#define PIC_OCW2_CMD_MASK       0xE0
#define PIC_OCW2_ROTATE_AEOI_CLEAR 0x00
#define PIC_OCW2_EOI            0x20  /* non-specific EOI */
#define PIC_OCW2_NOP            0x40
#define PIC_OCW2_SPECIFIC_EOI   0x60  /* | level */
#define PIC_OCW2_ROTATE_AEOI_SET 0x80
#define PIC_OCW2_ROTATE_EOI     0xA0  /* rotate on non-specific EOI */
#define PIC_OCW2_SET_PRIORITY   0xC0  /* | level: level becomes the lowest */
#define PIC_OCW2_ROTATE_SPECIFIC_EOI 0xE0

/* OCW3 bits. */
#define PIC_OCW3_RIS       0x01  /* with RR: 1 = read ISR, 0 = read IRR */
#define PIC_OCW3_RR        0x02  /* read register command */
#define PIC_OCW3_POLL      0x04  /* poll command */
#define PIC_OCW3_SMM       0x20  /* with ESMM: 1 = set special mask mode */
#define PIC_OCW3_ESMM      0x40  /* enable special mask mode change */
#define PIC_OCW3_READ_IRR  (PIC_CMD_OCW3 | PIC_OCW3_RR)                 /* 0x0A */
#define PIC_OCW3_READ_ISR  (PIC_CMD_OCW3 | PIC_OCW3_RR | PIC_OCW3_RIS)  /* 0x0B */

/* Poll command result: bit 7 = an interrupt was pending, bits 2-0 its level. */
#define PIC_POLL_INT       0x80

/* State after pic_init(): what a PC BIOS leaves (vectors 0x08 and 0x70),
 * every line masked until the guest unmasks it. */
#define PIC_RESET_MASTER_BASE 0x08
#define PIC_RESET_SLAVE_BASE  0x70

typedef struct {
    uint8_t irr;          /* interrupt request register */
    uint8_t isr;          /* in-service register */
    uint8_t imr;          /* interrupt mask register (OCW1) */
    uint8_t lines;        /* last level of each IR input (edge detection) */
    uint8_t vector_base;  /* ICW2 & 0xF8 */
    uint8_t icw3, icw4;   /* as written (ICW3 is kept, the wiring is fixed) */
    uint8_t init_step;    /* 0: operational; 2, 3, 4: the ICW expected next */
    uint8_t lowest;       /* lowest-priority level (7 unless rotated) */
    bool icw4_needed, single;
    bool read_isr;        /* OCW3 RR/RIS: command-port reads give ISR */
    bool poll;            /* OCW3 P: the next command-port read is a poll */
    bool special_mask;    /* OCW3 special mask mode */
    bool rotate_aeoi;     /* OCW2 rotate in automatic EOI mode */
} pic_chip_t;

typedef struct {
    pic_chip_t chip[2];   /* [PIC_MASTER], [PIC_SLAVE] */
} pic_t;

void pic_init(pic_t *p);
/* A port access (@in: read into *value, else write *value). Returns false,
 * touching nothing, if @port is not one of the PIC's four ports. */
bool pic_io(pic_t *p, uint16_t port, bool in, uint8_t *value);
/* Drive input line @irq (0-15) to @level; a rising edge latches the request.
 * Line 2 is the cascade input and out-of-range lines are ignored. */
void pic_set_irq(pic_t *p, unsigned irq, bool level);
/* The vector pic_ack() would return now, or -1. */
int pic_pending_vector(const pic_t *p);
/* The INTA cycle: IRR -> ISR (both chips for lines 8-15); the vector, or -1. */
int pic_ack(pic_t *p);

#endif
