/* lib/libc/stdlib.c - strtoul for freestanding code (C11 7.22.1.4). */
#include <stdlib.h>

#define ULONG_ALL_ONES (~0UL)   /* ULONG_MAX (limits.h is not freestanding-clean with -m32) */
#include <stdbool.h>

static int digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    const char *p = s;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    bool neg = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
        digit(p[2]) < 16)
        p += 2, base = 16;
    else if (base == 0)
        base = p[0] == '0' ? 8 : 10;
    unsigned long v = 0;
    bool any = false, overflow = false;
    for (; digit(*p) < base; p++, any = true) {
        unsigned d = (unsigned)digit(*p);
        if (v > (ULONG_ALL_ONES - d) / (unsigned)base)
            overflow = true;
        v = v * (unsigned)base + d;
    }
    if (end)
        *end = (char *)(any ? p : s);
    if (overflow)
        return ULONG_ALL_ONES;
    return neg ? -v : v;
}
