/*
 * lib/fmt/fmt.c - freestanding printf-style formatter.
 */
#include "fmt.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    fmt_put_fn put;
    void *ctx;
    int count;
} sink_t;

typedef struct {
    bool left, zero, plus, space, alt;
    int width;          /* -1: none */
    int prec;           /* -1: none */
    int length;         /* number of 'l'; -1 'h', -2 'hh'; 2 for z/t/j */
} spec_t;

static void emit(sink_t *s, char c)
{
    s->put(s->ctx, c);
    s->count++;
}

static void emit_n(sink_t *s, char c, int n)
{
    while (n-- > 0)
        emit(s, c);
}

static const char *parse_flags(const char *p, spec_t *sp)
{
    for (;; p++) {
        switch (*p) {
        case '-': sp->left = true; break;
        case '0': sp->zero = true; break;
        case '+': sp->plus = true; break;
        case ' ': sp->space = true; break;
        case '#': sp->alt = true; break;
        default: return p;
        }
    }
}

static const char *parse_num(const char *p, int *out, va_list *ap)
{
    if (*p == '*') {
        *out = va_arg(*ap, int);
        return p + 1;
    }
    int v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    *out = v;
    return p;
}

static const char *parse_length(const char *p, spec_t *sp)
{
    sp->length = 0;
    if (*p == 'h') {
        sp->length = (p[1] == 'h') ? -2 : -1;
        return p + (p[1] == 'h' ? 2 : 1);
    }
    if (*p == 'l') {
        sp->length = (p[1] == 'l') ? 2 : 1;
        return p + (p[1] == 'l' ? 2 : 1);
    }
    if (*p == 'z' || *p == 't' || *p == 'j') {
        sp->length = 2;
        return p + 1;
    }
    return p;
}

static uint64_t arg_unsigned(const spec_t *sp, va_list *ap)
{
    switch (sp->length) {
    case -2: return (unsigned char)va_arg(*ap, unsigned int);
    case -1: return (unsigned short)va_arg(*ap, unsigned int);
    case 0:  return va_arg(*ap, unsigned int);
    case 1:  return va_arg(*ap, unsigned long);
    default: return va_arg(*ap, unsigned long long);
    }
}

static int64_t arg_signed(const spec_t *sp, va_list *ap)
{
    switch (sp->length) {
    case -2: return (signed char)va_arg(*ap, int);
    case -1: return (short)va_arg(*ap, int);
    case 0:  return va_arg(*ap, int);
    case 1:  return va_arg(*ap, long);
    default: return va_arg(*ap, long long);
    }
}

/* Emit a converted number: sign/prefix, precision zeros, width padding. */
static void emit_number(sink_t *s, const spec_t *sp, const char *digits, int ndig,
                        const char *prefix)
{
    int plen = 0;
    while (prefix[plen])
        plen++;
    int zeros = (sp->prec > ndig) ? sp->prec - ndig : 0;
    if (sp->prec == 0 && ndig == 1 && digits[0] == '0')
        ndig = 0;   /* C11 7.21.6.1: precision 0 with value 0 prints nothing */
    int body = plen + zeros + ndig;
    int pad = sp->width > body ? sp->width - body : 0;
    if (!sp->left && !(sp->zero && sp->prec < 0))
        emit_n(s, ' ', pad);
    for (int i = 0; i < plen; i++)
        emit(s, prefix[i]);
    if (!sp->left && sp->zero && sp->prec < 0)
        emit_n(s, '0', pad);
    emit_n(s, '0', zeros);
    for (int i = 0; i < ndig; i++)
        emit(s, digits[i]);
    if (sp->left)
        emit_n(s, ' ', pad);
}

static int to_digits(uint64_t v, unsigned base, bool upper, char *out)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = set[v % base];
        v /= base;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void conv_int(sink_t *s, const spec_t *sp, char conv, va_list *ap)
{
    char digits[24];
    const char *prefix = "";
    uint64_t v;
    unsigned base = 10;
    if (conv == 'd' || conv == 'i') {
        int64_t sv = arg_signed(sp, ap);
        v = sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
        prefix = sv < 0 ? "-" : sp->plus ? "+" : sp->space ? " " : "";
    } else {
        v = arg_unsigned(sp, ap);
        base = (conv == 'o') ? 8 : (conv == 'u') ? 10 : 16;
        if (sp->alt && v != 0 && base == 16)
            prefix = (conv == 'X') ? "0X" : "0x";
    }
    int n = to_digits(v, base, conv == 'X', digits);
    spec_t local = *sp;
    if (sp->alt && base == 8 && local.prec <= n && digits[0] != '0')
        local.prec = n + 1;  /* C11: '#' with o forces a leading zero */
    emit_number(s, &local, digits, n, prefix);
}

static void conv_str(sink_t *s, const spec_t *sp, const char *str)
{
    if (!str)
        str = "(null)";
    int len = 0;
    while (str[len] && (sp->prec < 0 || len < sp->prec))
        len++;
    int pad = sp->width > len ? sp->width - len : 0;
    if (!sp->left)
        emit_n(s, ' ', pad);
    for (int i = 0; i < len; i++)
        emit(s, str[i]);
    if (sp->left)
        emit_n(s, ' ', pad);
}

static void conv_ptr(sink_t *s, const spec_t *sp, void *p)
{
    char digits[24];
    int n = to_digits((uint64_t)(uintptr_t)p, 16, false, digits);
    emit_number(s, sp, digits, n, "0x");
}

static const char *convert(sink_t *s, const char *p, va_list *ap)
{
    spec_t sp = { .width = -1, .prec = -1 };
    p = parse_flags(p, &sp);
    if (*p == '*' || (*p >= '0' && *p <= '9')) {
        p = parse_num(p, &sp.width, ap);
        if (sp.width < 0) {         /* negative '*' width means '-' flag */
            sp.left = true;
            sp.width = -sp.width;
        }
    }
    if (*p == '.') {
        p = parse_num(p + 1, &sp.prec, ap);
        if (sp.prec < 0)
            sp.prec = -1;
    }
    p = parse_length(p, &sp);
    char conv = *p;
    switch (conv) {
    case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
        conv_int(s, &sp, conv, ap);
        break;
    case 'c': {
        char c = (char)va_arg(*ap, int);
        char str[2] = { c, 0 };
        spec_t cs = sp;
        cs.prec = 1;
        if (c == '\0') {            /* a NUL char still counts as output */
            emit_n(s, ' ', sp.left ? 0 : sp.width - 1);
            emit(s, '\0');
            emit_n(s, ' ', sp.left ? sp.width - 1 : 0);
        } else {
            conv_str(s, &cs, str);
        }
        break;
    }
    case 's':
        conv_str(s, &sp, va_arg(*ap, const char *));
        break;
    case 'p':
        conv_ptr(s, &sp, va_arg(*ap, void *));
        break;
    case '%':
        emit(s, '%');
        break;
    case '\0':
        return p;                   /* lone '%' at end: stop */
    default:                        /* unknown conversion: print it as is */
        emit(s, '%');
        emit(s, conv);
        break;
    }
    return p + 1;
}

int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap)
{
    sink_t s = { put, ctx, 0 };
    va_list aq;
    va_copy(aq, ap);
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            emit(&s, *p++);
            continue;
        }
        p = convert(&s, p + 1, &aq);
    }
    va_end(aq);
    return s.count;
}

typedef struct {
    char *buf;
    size_t size, pos;
} buf_sink_t;

static void buf_put(void *ctx, char c)
{
    buf_sink_t *b = ctx;
    if (b->pos + 1 < b->size)
        b->buf[b->pos] = c;
    b->pos++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    buf_sink_t b = { buf, size, 0 };
    int n = fmt_vformat(buf_put, &b, fmt, ap);
    if (size > 0)
        buf[b.pos < size ? b.pos : size - 1] = '\0';
    return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
