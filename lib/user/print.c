/* lib/user/print.c - printf through the kernel's debug putchar. */
#include <fmt.h>
#include <user/print.h>
#include <user/sys.h>

static void put(void *ctx, char c)
{
    (void)ctx;
    nu_debug_putchar(c);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(put, 0, fmt, ap);
    va_end(ap);
    return n;
}
