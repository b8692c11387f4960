/* kernel/console.c - kprintf on top of lib/fmt and the serial driver. */
#include "kernel/console.h"
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
