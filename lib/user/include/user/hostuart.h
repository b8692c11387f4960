/*
 * lib/user/include/user/hostuart.h - a host 16550 UART (NS16550A data
 * sheet; registers in x86_uart16550.h) driven by a monitor through the
 * port range and IRQ init granted it: received bytes raise the IRQ, which
 * signals a notification; bytes go out by polling the holding register.
 * 115200 8N1. Used by the inspector (its link to gdb) and the VMM (host
 * console input for a VM's COM1).
 */
#ifndef USER_HOSTUART_H
#define USER_HOSTUART_H
#include <nestor/bootinfo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    nestor_cptr_t ports, irq;           /* the granted capabilities */
    uint16_t base;
    unsigned line;                      /* the IRQ line */
} nu_hostuart_t;

/* Find a granted range of at least UART_PORTS ports starting at @base (any
 * base when @base is 0) and the IRQ grant for line @irq (any when @irq is
 * negative) in @bi. False if either is missing. */
bool nu_hostuart_find(nu_hostuart_t *u, const nestor_bootinfo_t *bi, uint16_t base, int irq);
/* The same for the PC's COM2 (0x2F8, IRQ 3). */
bool nu_hostuart_find_com2(nu_hostuart_t *u, const nestor_bootinfo_t *bi);
/* Program it (115200 8N1, FIFO, receive interrupts to @notification).
 * False if no UART answers there (an absent one reads all ones) or the IRQ
 * cannot be bound. */
bool nu_hostuart_open(nu_hostuart_t *u, nestor_cptr_t notification);
void nu_hostuart_put(nu_hostuart_t *u, const uint8_t *buf, size_t n);
/* Received bytes, up to @cap; acknowledges the IRQ. */
size_t nu_hostuart_drain(nu_hostuart_t *u, uint8_t *buf, size_t cap);

#endif
