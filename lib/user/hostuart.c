/*
 * lib/user/hostuart.c - a host 16550 UART driven through granted ports
 * (see user/hostuart.h; NS16550A data sheet).
 */
#include <user/hostuart.h>
#include <user/invoke.h>
#include <x86_uart16550.h>

static uint8_t in8(nu_hostuart_t *u, unsigned reg)
{
    nestor_word_t v = 0;
    nu_ioport_in(u->ports, u->base + reg, 1, &v);
    return (uint8_t)v;
}

static void out8(nu_hostuart_t *u, unsigned reg, uint8_t v)
{
    nu_ioport_out(u->ports, u->base + reg, 1, v);
}

bool nu_hostuart_find(nu_hostuart_t *u, const nestor_bootinfo_t *bi, uint16_t base, int irq)
{
    u->ports = u->irq = 0;
    for (nestor_word_t i = 0; i < bi->grant_count && i < NESTOR_BOOTINFO_MAX_GRANTS; i++) {
        const nestor_grant_desc_t *g = &bi->grants[i];
        if (g->kind == NESTOR_GRANT_IOPORT && g->arg1 >= g->arg0 && !u->ports &&
            (base ? g->arg0 <= base && g->arg1 >= (nestor_word_t)base + UART_PORTS - 1
                  : g->arg1 - g->arg0 + 1 >= UART_PORTS)) {
            u->ports = g->cptr;
            u->base = base ? base : (uint16_t)g->arg0;
        }
        if (g->kind == NESTOR_GRANT_IRQ && !u->irq && (irq < 0 || g->arg0 == (nestor_word_t)irq)) {
            u->irq = g->cptr;
            u->line = (unsigned)g->arg0;
        }
    }
    return u->ports && u->irq;
}

bool nu_hostuart_find_com2(nu_hostuart_t *u, const nestor_bootinfo_t *bi)
{
    return nu_hostuart_find(u, bi, COM2_BASE, COM2_IRQ);
}

bool nu_hostuart_open(nu_hostuart_t *u, nestor_cptr_t notification)
{
    const unsigned divisor = UART_CLOCK_HZ / 16 / UART_BAUD;
    out8(u, UART_IER, 0);
    out8(u, UART_LCR, UART_LCR_DLAB);
    out8(u, UART_DLL, divisor & 0xFF);
    out8(u, UART_DLM, divisor >> 8);
    out8(u, UART_LCR, UART_LCR_8N1);
    if (in8(u, UART_LCR) != UART_LCR_8N1)
        return false;                   /* nothing answers there */
    out8(u, UART_FCR, UART_FCR_ENABLE);
    out8(u, UART_MCR, UART_MCR_DTR_RTS_OUT2);
    if (nu_irq_handler_set_notification(u->irq, notification) != NESTOR_OK)
        return false;
    out8(u, UART_IER, UART_IER_RX);
    (void)in8(u, UART_IIR);
    nu_irq_handler_ack(u->irq);
    return true;
}

void nu_hostuart_put(nu_hostuart_t *u, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(in8(u, UART_LSR) & UART_LSR_THRE))
            ;
        out8(u, UART_THR, buf[i]);
    }
}

size_t nu_hostuart_drain(nu_hostuart_t *u, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && (in8(u, UART_LSR) & UART_LSR_DR))
        buf[n++] = in8(u, UART_RBR);
    nu_irq_handler_ack(u->irq);
    return n;
}
