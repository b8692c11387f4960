/* kernel/irq.h - interrupt lines delivered to user space as notifications. */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H
#include "kernel/objects.h"

/* A legacy PIC interrupt on @line arrived: mask it, EOI, signal its notification. */
void irq_handle(unsigned line);
bool irq_line_issuable(unsigned line);
void irq_handler_issue(unsigned line);
void irq_handler_release(unsigned line);
void irq_set_notification(unsigned line, notification_t *n, uint64_t badge);
void irq_ack(unsigned line);
void irq_forget_notification(notification_t *n);

#endif
