/*
 * kernel/devices.c - IRQ and I/O port capabilities.
 *
 * Port accesses go through the kernel (an invocation per access), so a port
 * capability is exactly the ports it names. Ports the kernel itself drives
 * (COM1, the PICs) can never be issued.
 */
#include "arch/x86_64/io.h"
#include "arch/x86_64/pic8259.h"
#include <x86_uart16550.h>
#include "kernel/cspace.h"
#include "kernel/invoke.h"
#include "kernel/irq.h"
#include <nestor/limits.h>

#define UART_PORTS 8

static nestor_error_t dest_slot(inv_t *iv, unsigned first_mr, cte_t **out)
{
    uint64_t index, depth;
    if (!inv_arg(iv, first_mr, &index) || !inv_arg(iv, first_mr + 1, &depth))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *root = inv_cap(iv, 0);
    if (!root)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (root->cap.type != NESTOR_OBJ_CNODE)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, root->cap.type);
    nestor_error_t err = inv_slot(iv, &root->cap, index, depth, out);
    if (err == NESTOR_OK && !cap_is_null(&(*out)->cap))
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 0, 0);
    return err;
}

nestor_error_t invoke_irq(inv_t *iv, cte_t *slot)
{
    cap_t *c = &slot->cap;
    uint64_t line;
    cte_t *dest, *n;
    nestor_error_t err;
    bool control = c->type == NESTOR_OBJ_IRQ_CONTROL;
    if (control != (iv->label == NESTOR_IRQ_CONTROL_GET))
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    switch (iv->label) {
    case NESTOR_IRQ_CONTROL_GET:
        if (!inv_arg(iv, 0, &line))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (line >= NESTOR_IRQ_LINES || !irq_line_issuable((unsigned)line))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 0, line);
        if ((err = dest_slot(iv, 1, &dest)) != NESTOR_OK)
            return err;
        irq_handler_issue((unsigned)line);
        cdt_insert(slot, dest, (cap_t){ .type = NESTOR_OBJ_IRQ_HANDLER,
                                        .rights = NESTOR_RIGHTS_ALL, .obj = line }, true, false);
        return NESTOR_OK;
    case NESTOR_IRQ_HANDLER_ACK:
        irq_ack((unsigned)c->obj);
        return NESTOR_OK;
    case NESTOR_IRQ_HANDLER_SET_NOTIFICATION:
        if (!(n = inv_cap(iv, 0)))
            return NESTOR_ERR_INVALID_CAPABILITY;
        if (n->cap.type != NESTOR_OBJ_NOTIFICATION || !(n->cap.rights & NESTOR_RIGHT_WRITE))
            return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, n->cap.type);
        irq_set_notification((unsigned)c->obj, cap_ntfn(&n->cap), cap_badge(&n->cap));
        return NESTOR_OK;
    case NESTOR_IRQ_HANDLER_CLEAR:
        irq_set_notification((unsigned)c->obj, 0, 0);
        return NESTOR_OK;
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    }
}

static bool overlaps(uint64_t first, uint64_t last, uint64_t a, uint64_t b)
{
    return first <= b && a <= last;
}

static bool kernel_port(uint64_t first, uint64_t last)
{
    return overlaps(first, last, COM1_BASE, COM1_BASE + UART_PORTS - 1) ||
           overlaps(first, last, PIC1_CMD, PIC1_DATA) || overlaps(first, last, PIC2_CMD, PIC2_DATA);
}

static nestor_error_t port_io(inv_t *iv, const cap_t *c, bool out)
{
    uint64_t port, size, value = 0;
    if (!inv_arg(iv, 0, &port) || !inv_arg(iv, 1, &size) || (out && !inv_arg(iv, 2, &value)))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (size != 1 && size != 2 && size != 4)
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 1, size);
    /* Written so that no sum can wrap (port comes straight from user space). */
    if (port > NESTOR_IOPORTS - 1 || port < IOPORT_FIRST(c->obj) ||
        size - 1 > IOPORT_LAST(c->obj) - port || port > IOPORT_LAST(c->obj))
        return inv_error(iv, NESTOR_ERR_RANGE, IOPORT_FIRST(c->obj), IOPORT_LAST(c->obj));
    uint16_t p = (uint16_t)port;
    if (out) {
        if (size == 1) outb(p, (uint8_t)value);
        else if (size == 2) outw(p, (uint16_t)value);
        else outl(p, (uint32_t)value);
        return NESTOR_OK;
    }
    inv_result(iv, 0, size == 1 ? inb(p) : size == 2 ? inw(p) : inl(p));
    return NESTOR_OK;
}

nestor_error_t invoke_ioport(inv_t *iv, cte_t *slot)
{
    cap_t *c = &slot->cap;
    uint64_t first, last;
    cte_t *dest;
    nestor_error_t err;
    bool control = c->type == NESTOR_OBJ_IOPORT_CONTROL;
    if (control != (iv->label == NESTOR_IOPORT_CONTROL_ISSUE))
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    switch (iv->label) {
    case NESTOR_IOPORT_CONTROL_ISSUE:
        if (!inv_arg(iv, 0, &first) || !inv_arg(iv, 1, &last))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (first > last || last >= NESTOR_IOPORTS)
            return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_IOPORTS - 1);
        if (kernel_port(first, last))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 0, first);
        if ((err = dest_slot(iv, 2, &dest)) != NESTOR_OK)
            return err;
        cdt_insert(slot, dest, (cap_t){ .type = NESTOR_OBJ_IOPORT, .rights = NESTOR_RIGHTS_ALL,
                                        .obj = IOPORT_RANGE(first, last) }, true, false);
        return NESTOR_OK;
    case NESTOR_IOPORT_IN:
        return port_io(iv, c, false);
    case NESTOR_IOPORT_OUT:
        return port_io(iv, c, true);
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    }
}
