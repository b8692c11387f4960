/*
 * lib/include/fmt.h - freestanding printf-style formatting, shared by the
 * kernel and user space (and unit tested on the host against libc).
 *
 * Supported: %% %c %s %d %i %u %x %X %o %p, flags '-' '0' '+' ' ' '#',
 * width and precision (also '*'), length modifiers hh h l ll z t j.
 */
#ifndef LIB_FMT_H
#define LIB_FMT_H
#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_put_fn)(void *ctx, char c);

/* Format to a character sink; returns the number of characters produced. */
int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap);

/* snprintf semantics: always NUL-terminates when size > 0, returns the
 * length the full output would have had. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
