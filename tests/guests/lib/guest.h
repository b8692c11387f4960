/*
 * tests/guests/lib/guest.h - the tiny runtime of test guests: serial output,
 * port I/O, CPUID, a test counter. Guests report "NAME: N passed, N failed"
 * and end by writing their status to GUEST_EXIT_PORT (0 = success), which
 * the VMM turns into the VM's verdict.
 */
#ifndef GUEST_H
#define GUEST_H

#define GUEST_STACK_TOP 0x80000
#define GUEST_EXIT_PORT 0xF4
#define GUEST_COM1      0x3F8
#define GUEST_COM1_LSR  (GUEST_COM1 + 5)
#define GUEST_LSR_THRE  0x20

#ifndef __ASSEMBLER__
#include <stdarg.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

typedef struct {
    uint32_t eax, ebx, ecx, edx;
} guest_cpuid_t;

static inline guest_cpuid_t guest_cpuid(uint32_t leaf, uint32_t sub)
{
    guest_cpuid_t r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(sub));
    return r;
}

int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test bookkeeping: CHECK(cond, what) counts and prints failures. */
extern unsigned guest_passed, guest_failed;
#define CHECK(cond, what)                                                     \
    do {                                                                      \
        if (cond)                                                             \
            guest_passed++;                                                   \
        else {                                                                \
            guest_failed++;                                                   \
            guest_printf("  check failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
        }                                                                     \
    } while (0)
/* Print "NAME: N passed, N failed" and return the exit status for _start. */
int guest_report(const char *name);

int guest_main(void);
#endif
#endif
