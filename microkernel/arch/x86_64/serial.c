/*
 * arch/x86_64/serial.c - 16550 UART on COM1, polled: the kernel console.
 * Polling keeps output working in every context, exceptions included.
 */
#include "arch/x86_64/serial.h"
#include "arch/x86_64/io.h"
#include <x86_uart16550.h>

void serial_init(void)
{
    uint16_t divisor = UART_CLOCK_HZ / 16 / UART_BAUD;
    outb(COM1_BASE + UART_IER, 0);                  /* no interrupts */
    outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
    outb(COM1_BASE + UART_DLL, divisor & 0xFF);
    outb(COM1_BASE + UART_DLM, divisor >> 8);
    outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
    outb(COM1_BASE + UART_FCR, UART_FCR_ENABLE_CLEAR);
    outb(COM1_BASE + UART_MCR, UART_MCR_DTR_RTS_OUT2);
}

/*
 * Output goes out a FIFO's worth at a time: serial_init enables the FIFOs,
 * so once LSR.THRE reads 1 the transmit FIFO is empty and takes
 * UART_TX_FIFO_BYTES bytes without another look (PC16550D data sheet, LSR
 * bit 5). They go with one REP OUTSB (SDM Vol. 2B OUTS/OUTSB: RCX bytes
 * from DS:RSI to port DX, RSI up with RFLAGS.DF = 0, as the kernel keeps
 * it). Under a VMM each IN and OUT is an exit, and one level deeper a chain
 * of reflected exits: two exits per byte became two per 16 bytes.
 */
static void put_fifo(const char *buf, uint64_t n)
{
    while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE))
        ;
    __asm__ volatile("rep outsb"
                     : "+S"(buf), "+c"(n)
                     : "d"((uint16_t)(COM1_BASE + UART_THR))
                     : "memory");
}

void serial_write(const char *s, uint64_t n)
{
    char fifo[UART_TX_FIFO_BYTES];
    unsigned k = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            fifo[k++] = '\r';
            if (k == sizeof fifo) {
                put_fifo(fifo, k);
                k = 0;
            }
        }
        fifo[k++] = s[i];
        if (k == sizeof fifo) {
            put_fifo(fifo, k);
            k = 0;
        }
    }
    if (k)
        put_fifo(fifo, k);
}

void serial_putc(char c)
{
    serial_write(&c, 1);
}

void serial_drain(void)
{
    while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_TEMT))
        ;
}
