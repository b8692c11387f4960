/*
 * inspector/uart.c - the link to gdb: the host's COM2, a 16550 UART
 * granted by init from the config (ioports 0x2F8-0x2FF, IRQ 3), driven by
 * lib/user's hostuart (received bytes raise IRQ 3, which signals our bound
 * notification; we send by polling the holding register; 115200 8N1).
 */
#include "inspector.h"
#include <nestor/bootinfo.h>
#include <user/invoke.h>
#include <user/print.h>
#include <x86_uart16550.h>

bool uart_setup(insp_t *in, const nestor_bootinfo_t *bi, nestor_cptr_t notification)
{
    if (!nu_hostuart_find(&in->uart, bi, 0, -1)) {
        printf("inspector %s: no serial port granted (ioports = <0x%x 0x%x> and irqs = <%d> in "
               "its node)\n", in->name, COM2_BASE, COM2_BASE + UART_PORTS - 1, COM2_IRQ);
        return false;
    }
    if (!nu_hostuart_open(&in->uart, notification)) {
        printf("inspector %s: no serial port at 0x%x: no link to gdb\n", in->name,
               in->uart.base);
        return false;
    }
    return true;
}

void uart_put(insp_t *in, const uint8_t *buf, size_t n)
{
    nu_hostuart_put(&in->uart, buf, n);
    in->bytes_out += n;
}

size_t uart_drain(insp_t *in, uint8_t *buf, size_t cap)
{
    size_t n = nu_hostuart_drain(&in->uart, buf, cap);
    in->bytes_in += n;
    return n;
}
