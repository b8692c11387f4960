/*
 * vmm-server/devices/uart16550.h - the NS16550A UART (National Semiconductor
 * PC16550D data sheet, "Register Description", Tables II-IV) as a pure
 * model: eight registers at a base port, the divisor latch behind LCR.DLAB,
 * the 16-byte receive FIFO, the four interrupt sources with the priorities
 * of Table IV, loopback (MCR.LOOP: transmitted bytes come back as received,
 * the modem inputs follow the modem outputs), and the PC convention that the
 * interrupt reaches the PIC only while MCR.OUT2 is set.
 *
 * Transmission is instant (the host console is always ready): after a write
 * to THR the transmitter is empty again at once, so LSR.THRE and LSR.TEMT
 * always read 1 and a THR-empty interrupt is pending again (if enabled).
 * The caller (vmm-server/uart.c) moves the byte to the console and drives
 * the PIC's input with uart_irq_level() after every access.
 */
#ifndef VMM_DEVICES_UART16550_H
#define VMM_DEVICES_UART16550_H
#include <stdbool.h>
#include <stdint.h>

#define UART_COM1_BASE   0x3F8
#define UART_COM1_IRQ    4
#define UART_PORTS       8

/* Register offsets (Table II); 0 and 1 are the divisor latch while LCR.DLAB. */
#define UART_RBR_THR     0       /* read: receiver buffer; write: transmitter holding */
#define UART_IER         1
#define UART_IIR_FCR     2       /* read: interrupt identification; write: FIFO control */
#define UART_LCR         3
#define UART_MCR         4
#define UART_LSR         5
#define UART_MSR         6
#define UART_SCR         7

#define UART_IER_ERBFI   0x01    /* received data available */
#define UART_IER_ETBEI   0x02    /* transmitter holding register empty */
#define UART_IER_ELSI    0x04    /* receiver line status */
#define UART_IER_EDSSI   0x08    /* modem status */
#define UART_IER_MASK    0x0F

/* IIR (Table IV): bit 0 = no interrupt pending; bits 3-1 the source. */
#define UART_IIR_NONE    0x01
#define UART_IIR_RLS     0x06    /* receiver line status: highest */
#define UART_IIR_RDA     0x04    /* received data available */
#define UART_IIR_THRE    0x02    /* transmitter holding register empty */
#define UART_IIR_MS      0x00    /* modem status: lowest */
#define UART_IIR_FIFO    0xC0    /* FIFOs enabled (FCR bit 0) */

#define UART_FCR_ENABLE  0x01
#define UART_FCR_CLR_RX  0x02
#define UART_FCR_CLR_TX  0x04

#define UART_LCR_DLAB    0x80

#define UART_MCR_DTR     0x01
#define UART_MCR_RTS     0x02
#define UART_MCR_OUT1    0x04
#define UART_MCR_OUT2    0x08    /* PC: gates the interrupt to the PIC */
#define UART_MCR_LOOP    0x10
#define UART_MCR_MASK    0x1F

#define UART_LSR_DR      0x01
#define UART_LSR_OE      0x02
#define UART_LSR_THRE    0x20
#define UART_LSR_TEMT    0x40
#define UART_LSR_ERRORS  0x1E    /* OE, PE, FE, BI: cleared by reading LSR */

#define UART_MSR_DCTS    0x01
#define UART_MSR_DDSR    0x02
#define UART_MSR_TERI    0x04
#define UART_MSR_DDCD    0x08
#define UART_MSR_CTS     0x10
#define UART_MSR_DSR     0x20
#define UART_MSR_RI      0x40
#define UART_MSR_DCD     0x80

#define UART_FIFO_SIZE   16

typedef struct {
    uint8_t ier, lcr, mcr, lsr_errors, msr_delta, scr, dll, dlm;
    bool fifo_enabled;
    bool thre_pending;           /* THR-empty interrupt, until IIR read or THR written */
    uint8_t rx[UART_FIFO_SIZE];  /* receive FIFO (one byte deep with the FIFOs off) */
    unsigned rx_head, rx_count;
} uart16550_t;

void uart16550_init(uart16550_t *u);

/* A guest access to register @reg (0-7). A write returns true and puts the
 * byte to transmit in *@tx when one goes out on the line (not in loopback). */
uint8_t uart16550_read(uart16550_t *u, unsigned reg);
bool uart16550_write(uart16550_t *u, unsigned reg, uint8_t v, uint8_t *tx);

/* A byte arriving on the line (false: overrun, the byte is lost and LSR.OE set). */
bool uart16550_receive(uart16550_t *u, uint8_t byte);
/* Bytes the receiver can take now without an overrun (the FIFO's free
 * places, or the holding register's with the FIFOs off). */
unsigned uart16550_rx_room(const uart16550_t *u);

/* The level of the interrupt output as the PIC sees it (gated by MCR.OUT2). */
bool uart16550_irq_level(const uart16550_t *u);

#endif
