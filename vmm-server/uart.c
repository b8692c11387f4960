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
        if (vm->console_count)
            uart_refill(vm);            /* room in the FIFO for typed bytes */
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

/* Bytes from the host's console for this VM's COM1 (main.c, host console
 * input). A terminal types faster than the guest empties its 16-byte
 * receive FIFO while the VMM reads the host's port, so they wait in
 * console_ring and go into the FIFO as it has room (uart_refill, after each
 * of the guest's accesses): flow control a real line would not have, but
 * no key lost. Returns the bytes taken (the rest: the ring is full). */
size_t uart_receive(vm_t *vm, const uint8_t *buf, size_t n)
{
    size_t taken = 0;
    for (; taken < n && vm->console_count < VMM_CONSOLE_RING; taken++, vm->console_count++)
        vm->console_ring[(vm->console_head + vm->console_count) % VMM_CONSOLE_RING] = buf[taken];
    uart_refill(vm);
    return taken;
}

void uart_refill(vm_t *vm)
{
    while (vm->console_count && uart16550_rx_room(&vm->uart)) {
        uart16550_receive(&vm->uart, vm->console_ring[vm->console_head]);
        vm->console_head = (vm->console_head + 1) % VMM_CONSOLE_RING;
        vm->console_count--;
    }
    irq_line(vm, UART_COM1_IRQ, uart16550_irq_level(&vm->uart));
}
