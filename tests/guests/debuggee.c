/*
 * tests/guests/debuggee.c - a guest to be debugged from gdb through the
 * inspector (tests/system/inspector.spec, tests/system/inspector.gdb): an
 * ELF64 kernel the VMM starts in 64-bit mode (like elf64.S), in C built
 * with -O0 -g so gdb shows its source lines, locals and globals:
 *   add_up(n)      a function to break on, with a local (total) to read and
 *                  a few lines to step;
 *   watched        a global the main line writes (a watchpoint's target);
 *   poked          a global the debugger rewrites; its value is printed;
 *   released       a global the debugger sets to end a bounded spin (a
 *                  running guest to stop with Ctrl-C); without it the spin
 *                  ends by itself after SPIN_MAX rounds (some seconds on Bochs).
 * Without a debugger it runs through and reports "debuggee: N passed, N
 * failed" on COM1, its failure count on port 0xF4, like every test guest.
 */
#include <stdint.h>

#define COM1        0x3F8
#define EXIT_PORT   0xF4
#define ADD_UP_N    10
#define ADD_UP_SUM  55                /* 1 + 2 + ... + 10 */
#define POKED_INIT  0x1111
#define SPIN_MAX    50000000u

volatile uint64_t watched;
volatile uint64_t poked = POKED_INIT;
volatile uint64_t released;
static unsigned passed, failed;

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static void puts_(const char *s)
{
    while (*s)
        outb(COM1, (uint8_t)*s++);
}

static void put_num(uint64_t v, unsigned base)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        outb(COM1, (uint8_t)buf[--n]);
}

static void check(int ok)
{
    if (ok)
        passed++;
    else
        failed++;
}

uint64_t add_up(uint64_t n)
{
    uint64_t total = 0;
    for (uint64_t i = 1; i <= n; i++)
        total += i;
    return total;
}

void debuggee_main(void);
void debuggee_main(void)
{
    puts_("debuggee: start\n");
    uint64_t sum = add_up(ADD_UP_N);
    check(sum == ADD_UP_SUM);
    watched = sum;
    check(watched == ADD_UP_SUM);
    puts_("debuggee: poked=0x");
    put_num(poked, 16);
    puts_("\n");
    uint64_t spins = 0;
    while (!released && spins < SPIN_MAX)
        spins++;
    puts_(released ? "debuggee: released by the debugger\n" : "debuggee: spun to the end\n");
    puts_("debuggee: ");
    put_num(passed, 10);
    puts_(" passed, ");
    put_num(failed, 10);
    puts_(" failed\n");
    outl(EXIT_PORT, failed);
    for (;;)
        __asm__ volatile("hlt");
}

/* The entry: the VMM enters at e_entry in 64-bit mode with RSP at the top
 * of a stack it set up; a call keeps the ABI's 16-byte alignment. */
__asm__(".text\n.globl start\nstart:\n\tcall debuggee_main\n1:\thlt\n\tjmp 1b\n");
