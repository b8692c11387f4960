/* tests/unit/test_fmt.c - lib/fmt against the host C library's snprintf. */
#include "unit.h"
#include <fmt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Format with both and compare text and return value. */
#define SAME(...)                                                          \
    do {                                                                   \
        char a[256], b[256];                                               \
        int na = fmt_snprintf(a, sizeof(a), __VA_ARGS__);                  \
        int nb = snprintf(b, sizeof(b), __VA_ARGS__);                      \
        CU_ASSERT_STRING_EQUAL(a, b);                                      \
        CU_ASSERT_EQUAL(na, nb);                                           \
    } while (0)

static void test_integers(void)
{
    SAME("%d %i %u", 0, -42, 42u);
    SAME("%d", INT32_MIN);
    SAME("%ld %lu", (long)INT64_MIN, (unsigned long)UINT64_MAX);
    SAME("%lld %llx", -1LL, 0xdeadbeefcafeULL);
    SAME("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
    SAME("%zu %zx", (size_t)12345, (size_t)0xabc);
    SAME("%x %X %o", 0xbeefu, 0xbeefu, 8u);
}

static void test_flags_width_precision(void)
{
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, 42, 42, 42);
    SAME("[%08x] [%#x] [%#X] [%#o] [%#o]", 0xabcu, 0xabcu, 0xabcu, 8u, 0u);
    SAME("[%.3d] [%8.3d] [%-8.3d]", 7, 7, 7);
    SAME("[%.0d] [%.0x] [%5.0d]", 0, 0u, 0);
    SAME("[%*d] [%-*d] [%.*d]", 6, 1, 6, 1, 4, 1);
    SAME("[%*d]", -6, 1);
    SAME("[%016lx]", 0xffffffff80101000UL);
}

static void test_strings_chars_pointers(void)
{
    SAME("[%s] [%10s] [%-10s] [%.2s] [%.*s]", "abc", "abc", "abc", "abc", 1, "abc");
    SAME("[%c] [%3c] [%-3c]", 'x', 'y', 'z');
    SAME("%p", (void *)0x1234);
    SAME("%%d 100%%");
}

static void test_truncation(void)
{
    char a[6];
    CU_ASSERT_EQUAL(fmt_snprintf(a, sizeof(a), "%s", "hello world"), 11);
    CU_ASSERT_STRING_EQUAL(a, "hello");
    CU_ASSERT_EQUAL(fmt_snprintf(a, 0, "%d", 12345), 5);
    CU_ASSERT_EQUAL(fmt_snprintf(a, 1, "%d", 12345), 5);
    CU_ASSERT_STRING_EQUAL(a, "");
}

/* Formats the compiler would reject go through this unchecked wrapper. */
static int unchecked(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fmt_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

static void test_unknown_and_trailing(void)
{
    char a[32];
    unchecked(a, sizeof(a), "%q|");
    CU_ASSERT_STRING_EQUAL(a, "%q|");
    unchecked(a, sizeof(a), "end%");
    CU_ASSERT_STRING_EQUAL(a, "end");
    unchecked(a, sizeof(a), "%s", (char *)NULL);
    CU_ASSERT_STRING_EQUAL(a, "(null)");
    unchecked(a, sizeof(a), "[%08.3d]", 7);     /* C11: '0' ignored with a precision */
    CU_ASSERT_STRING_EQUAL(a, "[     007]");
}

typedef struct {
    char buf[64];
    int n;
} sink_t;

static void put(void *ctx, char c)
{
    sink_t *s = ctx;
    s->buf[s->n++] = c;
}

static int via_sink(sink_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(put, s, fmt, ap);
    va_end(ap);
    return n;
}

static void test_sink(void)
{
    sink_t s = { { 0 }, 0 };
    CU_ASSERT_EQUAL(via_sink(&s, "a%cb%d", 0, 5), 4);
    CU_ASSERT_EQUAL(s.n, 4);
    CU_ASSERT_EQUAL(memcmp(s.buf, "a\0b5", 4), 0);
}

UNIT_SUITE(fmt_suite)
{
    CU_pSuite s = CU_add_suite("lib/fmt formatter", NULL, NULL);
    CU_add_test(s, "integers and length modifiers", test_integers);
    CU_add_test(s, "flags, width, precision", test_flags_width_precision);
    CU_add_test(s, "strings, chars, pointers", test_strings_chars_pointers);
    CU_add_test(s, "truncation keeps snprintf semantics", test_truncation);
    CU_add_test(s, "unknown conversions, trailing %, NULL, 0 with precision", test_unknown_and_trailing);
    CU_add_test(s, "character sink", test_sink);
}
