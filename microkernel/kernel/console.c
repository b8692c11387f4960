/* kernel/console.c - kprintf on top of lib/fmt and the serial driver. */
#include "kernel/console.h"
#include "kernel/objects.h"
#include "arch/x86_64/serial.h"
#include <fmt.h>

/* kprintf's output, gathered so that it goes out in FIFO-sized writes
 * (serial_write): on the stack, so a kprintf of an exception handler
 * inside another's only interleaves. Sent at each newline and at the end. */
#define KPRINTF_CHUNK 64

typedef struct {
    char buf[KPRINTF_CHUNK];
    unsigned len;
} console_buf_t;

static void console_put(void *ctx, char c)
{
    console_buf_t *b = ctx;
    b->buf[b->len++] = c;
    if (c == '\n' || b->len == sizeof b->buf) {
        serial_write(b->buf, b->len);
        b->len = 0;
    }
}

int kprintf(const char *fmt, ...)
{
    console_buf_t b;
    b.len = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(console_put, &b, fmt, ap);
    va_end(ap);
    if (b.len)
        serial_write(b.buf, b.len);
    return n;
}

void console_thread_flush(tcb_t *t)
{
    serial_write(t->line, t->line_len);
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
