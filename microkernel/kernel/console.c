/* kernel/console.c - kprintf on top of lib/fmt and the serial driver. */
#include "kernel/console.h"
#include "kernel/objects.h"
#include "arch/x86_64/serial.h"
#include <fmt.h>

static void console_put(void *ctx, char c)
{
    (void)ctx;
    serial_putc(c);
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(console_put, NULL, fmt, ap);
    va_end(ap);
    return n;
}

void console_thread_flush(tcb_t *t)
{
    for (unsigned i = 0; i < t->line_len; i++)
        serial_putc(t->line[i]);
    t->line_len = 0;
}

/* The kernel runs with interrupts off, so one line goes out whole: another
 * thread's characters wait in that thread's own line meanwhile. */
void console_thread_putc(tcb_t *t, char c)
{
    t->line[t->line_len++] = c;
    if (c == '\n' || t->line_len == TCB_LINE_MAX)
        console_thread_flush(t);
}
