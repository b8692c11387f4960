/*
 * inspector/uart.c - the link to gdb: the host's COM2, a 16550 UART
 * (NS16550A data sheet), granted by init from the config (ioports
 * 0x2F8-0x2FF, IRQ 3). Received bytes raise IRQ 3, which signals our bound
 * notification; we send by polling the holding register. 115200 8N1.
 */
#include "inspector.h"
#include <nestor/bootinfo.h>
#include <user/invoke.h>
#include <user/print.h>
#include <x86_uart16550.h>

static uint8_t in8(insp_t *in, unsigned reg)
{
    nestor_word_t v = 0;
    nu_ioport_in(in->uart_ports, in->uart_base + reg, 1, &v);
    return (uint8_t)v;
}

static void out8(insp_t *in, unsigned reg, uint8_t v)
{
    nu_ioport_out(in->uart_ports, in->uart_base + reg, 1, v);
}

bool uart_setup(insp_t *in, const nestor_bootinfo_t *bi, nestor_cptr_t notification)
{
    for (nestor_word_t i = 0; i < bi->grant_count && i < NESTOR_BOOTINFO_MAX_GRANTS; i++) {
        const nestor_grant_desc_t *g = &bi->grants[i];
        if (g->kind == NESTOR_GRANT_IOPORT && g->arg1 >= g->arg0 &&
            g->arg1 - g->arg0 + 1 >= UART_PORTS && !in->uart_ports) {
            in->uart_ports = g->cptr;
            in->uart_base = (uint16_t)g->arg0;
        }
        if (g->kind == NESTOR_GRANT_IRQ && !in->uart_irq)
            in->uart_irq = g->cptr;
    }
    if (!in->uart_ports || !in->uart_irq) {
        printf("inspector %s: no serial port granted (ioports = <0x%x 0x%x> and irqs = <%d> in "
               "its node)\n", in->name, COM2_BASE, COM2_BASE + UART_PORTS - 1, COM2_IRQ);
        return false;
    }
    const unsigned divisor = UART_CLOCK_HZ / 16 / UART_BAUD;
    out8(in, UART_IER, 0);
    out8(in, UART_LCR, UART_LCR_DLAB);
    out8(in, UART_DLL, divisor & 0xFF);
    out8(in, UART_DLM, divisor >> 8);
    out8(in, UART_LCR, UART_LCR_8N1);
    if (in8(in, UART_LCR) != UART_LCR_8N1) {
        /* No UART answers there (an absent device reads all ones). */
        printf("inspector %s: no serial port at 0x%x: no link to gdb\n", in->name,
               in->uart_base);
        return false;
    }
    out8(in, UART_FCR, UART_FCR_ENABLE);
    out8(in, UART_MCR, UART_MCR_DTR_RTS_OUT2);
    if (nu_irq_handler_set_notification(in->uart_irq, notification) != NESTOR_OK)
        return false;
    out8(in, UART_IER, UART_IER_RX);
    (void)in8(in, UART_IIR);
    nu_irq_handler_ack(in->uart_irq);
    return true;
}

void uart_put(insp_t *in, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(in8(in, UART_LSR) & UART_LSR_THRE))
            ;
        out8(in, UART_THR, buf[i]);
    }
    in->bytes_out += n;
}

size_t uart_drain(insp_t *in, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && (in8(in, UART_LSR) & UART_LSR_DR))
        buf[n++] = in8(in, UART_RBR);
    in->bytes_in += n;
    nu_irq_handler_ack(in->uart_irq);
    return n;
}
