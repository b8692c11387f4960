/*
 * tests/guests/bphide.c - a guest that reads and writes its own code under
 * gdb's breakpoints and must find neither an int3 nor lose a breakpoint
 * (tests/system/inspector-bphide.spec, inspector-bphide.gdb): an ELF64
 * kernel like the debuggee (built -O0 -g) whose checks pass with or
 * without gdb attached through the inspector:
 *   - it copies target_fn's first bytes (copied(): gdb's hardware
 *     breakpoint, before gdb puts its breakpoints on target_fn and
 *     patch_fn), then reads them again, byte by byte and as a checksum,
 *     while gdb's breakpoint is on target_fn's first instruction: the
 *     same bytes (an int3 there would read 0xCC, SDM Vol. 2A INT3);
 *   - it writes the same bytes over target_fn's first instruction (a
 *     loader putting its code in place again) and calls it: gdb's
 *     breakpoint still stops it, and it still computes 3n + 1;
 *   - it patches patch_fn's first instruction (xor/inc, which gives 1,
 *     becomes mov $5: a different first byte under gdb's breakpoint) and
 *     calls it: gdb's breakpoint stops it at the new instruction, which
 *     then runs (5), and its bytes read back as written.
 * Reports "bphide: N passed, N failed" on COM1, its failures on port 0xF4.
 */
#include <stdint.h>

#define CODE_BYTES  8                 /* target_fn's first instructions */
#define PATCH_BYTES 5                 /* patch_fn's first five bytes */
#define TARGET_A    4
#define TARGET_B    5
#define PATCHED_RET 5                 /* what patch_fn returns once patched */

static unsigned passed, failed;
static uint8_t copy[CODE_BYTES];

/* target_fn(n) = 3n + 1 (LEA, then padding to CODE_BYTES); patch_fn()
 * = 1: XOR EAX, INC EAX, NOP (five bytes, SDM Vol. 2A), which the guest
 * overwrites with MOV EAX, 5 (B8 imm32). */
extern const uint8_t target_fn[], patch_fn[];
__asm__(".text\n"
        ".globl target_fn\n"
        "target_fn:\n"
        "\tlea 1(%rdi,%rdi,2), %rax\n"     /* 48 8D 44 7F 01 */
        "\tnop\n\tnop\n\tnop\n"
        "\tret\n"
        ".globl patch_fn\n"
        "patch_fn:\n"
        "\txor %eax, %eax\n"              /* 31 C0 */
        "\tinc %eax\n"                    /* FF C0 */
        "\tnop\n"                         /* 90 */
        "\tret\n");

/* (After the code above, so that no C function of its comes first in
 * .text: gdb shows target_fn and patch_fn without a source line.) */
#include "lib/guest.h"             /* outb, outl, the console and exit ports only */

static const uint8_t patched[PATCH_BYTES] = { 0xB8, PATCHED_RET, 0, 0, 0 };   /* mov $5, %eax */

static void puts_(const char *s)
{
    while (*s)
        outb(GUEST_COM1, (uint8_t)*s++);
}

/* @v < 100 in decimal (the counts of its checks). */
static void put_count(unsigned v)
{
    if (v >= 10)
        outb(GUEST_COM1, (uint8_t)('0' + v / 10 % 10));
    outb(GUEST_COM1, (uint8_t)('0' + v % 10));
}

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    puts_("bphide: FAIL ");
    puts_(what);
    puts_("\n");
}

/* The code's bytes as data (a volatile read each: no copy the compiler keeps). */
static uint8_t code_byte(const uint8_t *code, unsigned i)
{
    return ((const volatile uint8_t *)code)[i];
}

static int same(const uint8_t *code, const uint8_t *want, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (code_byte(code, i) != want[i])
            return 0;
    return 1;
}

/* A checksum of the code's bytes (a loader's or an integrity check's). */
static uint32_t checksum(const uint8_t *code, unsigned n)
{
    uint32_t h = 0;
    for (unsigned i = 0; i < n; i++)
        h = h * 31 + code_byte(code, i);
    return h;
}

/* gdb's hardware breakpoint: the copy is made. */
void copied(void);
void copied(void)
{
    __asm__ volatile("nop");
}

void bphide_main(void);
void bphide_main(void)
{
    uint64_t (*volatile target)(uint64_t) = (uint64_t(*)(uint64_t))(uintptr_t)target_fn;
    uint64_t (*volatile patch)(void) = (uint64_t(*)(void))(uintptr_t)patch_fn;
    puts_("bphide: start\n");
    for (unsigned i = 0; i < CODE_BYTES; i++)
        copy[i] = code_byte(target_fn, i);
    copied();
    /* Under gdb's breakpoint: its bytes as they were. */
    check(same(target_fn, copy, CODE_BYTES), "read under a breakpoint");
    check(checksum(target_fn, CODE_BYTES) == checksum(copy, CODE_BYTES), "checksum");
    check(target(TARGET_A) == 3 * TARGET_A + 1, "target_fn");
    /* The same bytes written over it: the breakpoint stays. */
    for (unsigned i = 0; i < CODE_BYTES; i++)
        ((volatile uint8_t *)target_fn)[i] = copy[i];
    check(same(target_fn, copy, CODE_BYTES), "read after the write");
    check(target(TARGET_B) == 3 * TARGET_B + 1, "target_fn after the write");
    /* A new first instruction under the breakpoint: it stays, and the new
     * instruction runs. */
    check(patch() == 1, "patch_fn before the patch");
    for (unsigned i = 0; i < PATCH_BYTES; i++)
        ((volatile uint8_t *)patch_fn)[i] = patched[i];
    check(same(patch_fn, patched, PATCH_BYTES), "read after the patch");
    check(patch() == PATCHED_RET, "patch_fn patched");
    puts_("bphide: ");
    put_count(passed);
    puts_(" passed, ");
    put_count(failed);
    puts_(" failed\n");
    outl(GUEST_EXIT_PORT, failed);
    for (;;)
        __asm__ volatile("hlt");
}

/* The entry: the VMM enters at e_entry in 64-bit mode with RSP at the top
 * of a stack it set up; a call keeps the ABI's 16-byte alignment. */
__asm__(".text\n.globl start\nstart:\n\tcall bphide_main\n1:\thlt\n\tjmp 1b\n");
