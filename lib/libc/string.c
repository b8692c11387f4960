/*
 * lib/string/string.c - freestanding mem* / str* for the kernel and servers.
 */
#include <string.h>
#include <stdint.h>

/*
 * 64-bit code (the kernel, the servers, 64-bit guests) fills and copies
 * with string instructions, eight bytes per iteration and the rest byte by
 * byte (SDM Vol. 2B STOS, MOVS, REP): where Bochs counts each iteration as
 * an instruction, a byte loop costs four per byte (22 MB of Linux image and
 * initramfs were copied twice on their way into the VM). DF is clear at
 * every call (the SysV ABI; the kernel's entries clear it). The 32-bit test
 * guests keep the byte loops: some of them check MMIO access by access.
 */
#if defined(__x86_64__)
#define MEM_WORD_SHIFT 3                 /* 8-byte words: REP MOVSQ / STOSQ */
#define MEM_BYTE_FILL 0x0101010101010101ull

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    size_t words = n >> MEM_WORD_SHIFT, rest = n & ((1u << MEM_WORD_SHIFT) - 1);
    uint64_t v = (uint64_t)(unsigned char)c * MEM_BYTE_FILL;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(rest) : "a"(v) : "memory");
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    void *d = dst;
    const void *s = src;
    size_t words = n >> MEM_WORD_SHIFT, rest = n & ((1u << MEM_WORD_SHIFT) - 1);
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(rest) : : "memory");
    return dst;
}
#else
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}
#endif

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strncpy(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    for (; i < n && src[i]; i++)
        dst[i] = src[i];
    for (; i < n; i++)
        dst[i] = '\0';
    return dst;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}
