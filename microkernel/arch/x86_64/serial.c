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

static void put_raw(char c)
{
    while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE))
        ;
    outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void serial_putc(char c)
{
    if (c == '\n')
        put_raw('\r');
    put_raw(c);
}

void serial_drain(void)
{
    while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_TEMT))
        ;
}
