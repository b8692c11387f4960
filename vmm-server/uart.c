/*
 * vmm-server/uart.c - COM1, the guest's console: a 16550A
 * (devices/uart16550.h) whose output is collected into lines and printed
 * with the VM's name as prefix, and whose interrupt drives IRQ 4 of the PIC.
 */
#include "vmm.h"
#include <guest_line.h>
#include <user/print.h>

void uart_flush(vm_t *vm)
{
    if (vm->line_len) {
        vm->line[vm->line_len] = '\0';
        printf("[%s] %s\n", vm->name, vm->line);
        vm->line_len = 0;
    }
}

/* Keep hostile output printable and bounded (guest_line.h). */
static void put(vm_t *vm, char c)
{
    if (guest_line_put(vm->line, &vm->line_len, VMM_LINE_MAX, (uint8_t)c))
        uart_flush(vm);
}

/* The access itself, out of line: the range check in uart_io stays a
 * few instructions for every other port's exit (./nestor bench exits). */
static __attribute__((noinline)) void uart_access(vm_t *vm, unsigned reg, bool in,
                                                  unsigned size, uint32_t *value)
{
    /* Byte registers: a wider access reaches the first one (the rest of the
     * bus reads as 1s, as an 8-bit ISA device leaves it). */
    if (in) {
        uint32_t open_bus = size == 1 ? 0 : size == 2 ? 0xFF00u : 0xFFFFFF00u;
        *value = uart16550_read(&vm->uart, reg) | open_bus;
    } else {
        uint8_t tx;
        if (uart16550_write(&vm->uart, reg, (uint8_t)*value, &tx))
            put(vm, (char)tx);
    }
    irq_line(vm, UART_COM1_IRQ, uart16550_irq_level(&vm->uart));
}

bool uart_io(vm_t *vm, uint16_t port, bool in, unsigned size, uint32_t *value)
{
    if (port < UART_COM1_BASE || port >= UART_COM1_BASE + UART_PORTS)
        return false;
    uart_access(vm, port - UART_COM1_BASE, in, size, value);
    return true;
}
