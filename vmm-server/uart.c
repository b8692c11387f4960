/*
 * vmm-server/uart.c - a 16550 UART on COM1 (NS16550A data sheet): the
 * guest's console. Output is collected into lines and printed with the VM's
 * name as prefix; the transmitter always reports empty.
 */
#include "vmm.h"
#include <user/print.h>

#define UART_BASE  0x3F8
#define UART_PORTS 8
#define REG_THR    0
#define REG_LSR    5
#define REG_SCR    7                /* scratch register: holds a byte, no effect */
#define LSR_THRE_TEMT 0x60

void uart_flush(vm_t *vm)
{
    if (vm->line_len) {
        vm->line[vm->line_len] = '\0';
        printf("[%s] %s\n", vm->name, vm->line);
        vm->line_len = 0;
    }
}

static void put(vm_t *vm, char c)
{
    if (c == '\n') {
        uart_flush(vm);
        return;
    }
    if (c == '\r')
        return;
    /* Keep hostile output printable and bounded. */
    vm->line[vm->line_len++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    if (vm->line_len == VMM_LINE_MAX - 1)
        uart_flush(vm);
}

bool uart_io(vm_t *vm, uint16_t port, bool in, unsigned size, uint32_t *value)
{
    if (port < UART_BASE || port >= UART_BASE + UART_PORTS)
        return false;
    unsigned reg = port - UART_BASE;
    (void)size;
    if (!in) {
        if (reg == REG_THR)
            put(vm, (char)(*value & 0xFF));
        else if (reg == REG_SCR)
            vm->uart_scr = (uint8_t)*value;
        return true;
    }
    *value = reg == REG_LSR ? LSR_THRE_TEMT : reg == REG_SCR ? vm->uart_scr : 0;
    return true;
}
