/* arch/x86_64/uart16550.h - 16550 UART registers (NS16550A data sheet). */
#ifndef ARCH_X86_64_UART16550_H
#define ARCH_X86_64_UART16550_H
#include <nestor/bits.h>

#define COM1_BASE       0x3F8

#define UART_THR        0   /* transmit holding (DLAB=0) */
#define UART_DLL        0   /* divisor latch low (DLAB=1) */
#define UART_IER        1
#define UART_DLM        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5

#define UART_LCR_8N1    0x03
#define UART_LCR_DLAB   BIT(7)
#define UART_FCR_ENABLE_CLEAR 0xC7  /* enable, clear both FIFOs, 14-byte trigger */
#define UART_MCR_DTR_RTS_OUT2 0x0B
#define UART_LSR_THRE   BIT(5)      /* holding register empty */
#define UART_LSR_TEMT   BIT(6)      /* transmitter completely empty */

#define UART_CLOCK_HZ   1843200
#define UART_BAUD       115200

#endif
