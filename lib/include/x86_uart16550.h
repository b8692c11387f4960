/*
 * lib/include/x86_uart16550.h - 16550 UART registers (NS16550A data sheet),
 * for the kernel's console (COM1) and the inspector's link to gdb (COM2).
 */
#ifndef X86_UART16550_H
#define X86_UART16550_H
#include <nestor/bits.h>

#define COM1_BASE       0x3F8
#define COM2_BASE       0x2F8
#define COM2_IRQ        3       /* the PC's line for COM2 */
#define UART_PORTS      8

#define UART_THR        0   /* transmit holding (DLAB=0) */
#define UART_RBR        0   /* receive buffer (DLAB=0) */
#define UART_DLL        0   /* divisor latch low (DLAB=1) */
#define UART_IER        1
#define UART_DLM        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_IIR        2   /* interrupt identification (read) */

#define UART_LCR_8N1    0x03
#define UART_LCR_DLAB   BIT(7)
#define UART_FCR_ENABLE_CLEAR 0xC7  /* enable, clear both FIFOs, 14-byte trigger */
#define UART_MCR_DTR_RTS_OUT2 0x0B
#define UART_IER_RX     BIT(0)      /* received data available */
#define UART_FCR_ENABLE 0x01        /* enable, 1-byte trigger, FIFOs kept (bytes already in) */
#define UART_LSR_DR     BIT(0)      /* data ready */
#define UART_LSR_THRE   BIT(5)      /* holding register empty */
#define UART_LSR_TEMT   BIT(6)      /* transmitter completely empty */
/* With the FIFOs enabled (FCR bit 0) the transmitter holds this many bytes,
 * and LSR.THRE reads 1 only when its FIFO is empty (PC16550D data sheet,
 * LSR bit 5 and "FIFO Control Register"): so many may follow one THRE. */
#define UART_TX_FIFO_BYTES 16

#define UART_CLOCK_HZ   1843200
#define UART_BAUD       115200

#endif
