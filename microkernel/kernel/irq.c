/*
 * kernel/irq.c - user-level interrupt handling through the legacy PICs.
 * A line stays masked from its arrival until the handler acknowledges it,
 * so a slow handler cannot be flooded.
 */
#include "kernel/irq.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/pic8259.h"
#include "kernel/ipc.h"
#include <nestor/limits.h>

#define PIC_EOI 0x20
#define PIC_CASCADE_LINE 2

static struct {
    bool issued;
    notification_t *ntfn;
    uint64_t badge;
} lines[NESTOR_IRQ_LINES];

static uint16_t pic_mask = 0xFFFF;
static uint16_t pic_mask_written = 0xFFFF;  /* what the PICs' IMRs hold (pic_remap_and_mask) */

/* Write the interrupt mask registers (OCW1) whose byte changed: masking
 * and unmasking one line costs one port write, not two (under a VMM each
 * is an exit). */
static void apply_mask(void)
{
    const uint16_t changed = pic_mask ^ pic_mask_written;
    if (changed & 0xFF)
        outb(PIC1_DATA, pic_mask & 0xFF);
    if (changed >> 8)
        outb(PIC2_DATA, pic_mask >> 8);
    pic_mask_written = pic_mask;
}

static void set_masked(unsigned line, bool masked)
{
    if (masked)
        pic_mask |= (uint16_t)(1u << line);
    else
        pic_mask &= (uint16_t)~(1u << line);
    /* The slave PIC's lines arrive through the master's cascade line. */
    if (pic_mask & 0xFF00)
        pic_mask = (pic_mask & 0xFF00) == 0xFF00 ? pic_mask | (1u << PIC_CASCADE_LINE)
                                                 : pic_mask & ~(1u << PIC_CASCADE_LINE);
    apply_mask();
}

void irq_handle(unsigned line)
{
    set_masked(line, true);
    if (line >= 8)
        outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
    if (lines[line].ntfn)
        ntfn_signal(lines[line].ntfn, lines[line].badge);
}

bool irq_line_issuable(unsigned line)
{
    return line < NESTOR_IRQ_LINES && line != PIC_CASCADE_LINE && !lines[line].issued;
}

void irq_handler_issue(unsigned line) { lines[line].issued = true; }

void irq_handler_release(unsigned line)
{
    lines[line].issued = false;
    lines[line].ntfn = 0;
    set_masked(line, true);
}

void irq_set_notification(unsigned line, notification_t *n, uint64_t badge)
{
    lines[line].ntfn = n;
    lines[line].badge = badge;
    set_masked(line, n == 0);
}

void irq_ack(unsigned line)
{
    if (lines[line].ntfn)
        set_masked(line, false);
}

void irq_forget_notification(notification_t *n)
{
    for (unsigned i = 0; i < NESTOR_IRQ_LINES; i++)
        if (lines[i].ntfn == n)
            irq_set_notification(i, 0, 0);
}
