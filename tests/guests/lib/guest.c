/* tests/guests/lib/guest.c - serial output and reporting for test guests. */
#include "guest.h"

uint32_t guest_boot_magic, guest_boot_info;   /* written by start.S before anything */
#include <fmt.h>

unsigned guest_passed, guest_failed;

static void serial_put(void *ctx, char c)
{
    (void)ctx;
    while (!(inb(GUEST_COM1_LSR) & GUEST_LSR_THRE))
        ;
    outb(GUEST_COM1, (uint8_t)c);
}

int guest_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(serial_put, 0, fmt, ap);
    va_end(ap);
    return n;
}

const char *guest_cmdline(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)(uintptr_t)guest_boot_info;
    if (guest_boot_magic != GUEST_MB_LOADER_MAGIC || !mb || !(mb->flags & GUEST_MB_INFO_CMDLINE))
        return "";
    return (const char *)(uintptr_t)mb->cmdline;
}

uint32_t guest_cmdline_number(const char *key, uint32_t dflt, uint32_t max)
{
    for (const char *c = guest_cmdline(); *c; c++) {
        const char *k = key, *p = c;
        while (*k && *p == *k)
            k++, p++;
        if (*k)
            continue;
        uint32_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            uint32_t d = (uint32_t)(*p - '0');
            if (d > max || n > (max - d) / 10)
                break;                          /* n * 10 + d would pass @max */
            n = n * 10 + d;
        }
        return n;
    }
    return dflt;
}

int guest_report(const char *name)
{
    guest_printf("%s: %u passed, %u failed\n", name, guest_passed, guest_failed);
    return guest_failed ? 1 : 0;
}

/* 64-bit division for 32-bit code (GCC emits calls to these; no libgcc here). */
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);

static uint64_t divmod(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ULL << i;
        }
    }
    *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    return divmod(n, d, &r);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    divmod(n, d, &r);
    return r;
}

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t r, q = divmod(n, d, &r);
    if (rem)
        *rem = r;
    return q;
}
