/*
 * tests/guests/calc_l2.c - calc's computation (calc_rule.h) as the L2 of a
 * test hypervisor (calchv: debughv.c with this program embedded, its ELF
 * linked at 4 MiB), for the checkpoint of a VM whose guest is a hypervisor
 * (tests/system/checkpoint-l2.spec): `rounds` rounds (24) over a zeroed
 * 1 MiB area in its bss, a line per round, then the digest of calc's rule
 * (0x97b2fb70, computed on the host), whether the value it pushed on the
 * x87 stack at its start is still there (L2's FPU state is nested-vmx's
 * thread's, not L1's: a restore without it loses it), and its failure count
 * on port 0xF4. L2 of calchv runs on L1's identity paging without an IDT
 * and without interrupts; every port access exits to L1, which writes its
 * bytes to COM1.
 */
#include "calc_rule.h"

#define COM1        0x3F8
#define EXIT_PORT   0xF4
#define ROUNDS      24

static volatile uint32_t area[CALC_AREA_WORDS];   /* zero: the loader clears the bss */

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void put(const char *s)
{
    for (; *s; s++)
        outb(COM1, (uint8_t)*s);        /* a byte per exit to L1 */
}

/* @n in base @base (10, or 16 with 8 digits) on COM1, the highest digit first. */
static void put_number(uint32_t n, unsigned base)
{
    const unsigned width = base == 16 ? 8 : 1;
    uint32_t div = 1;
    for (unsigned w = 1; w < width || n / div >= base; w++)
        div *= base;
    for (; div; div /= base)
        outb(COM1, (uint8_t)"0123456789abcdef"[n / div % base]);
}

void calc_l2_main(void);
void calc_l2_main(void)
{
    /* SDM Vol. 1 8.3.4: FILD pushes the integer, FISTP pops it back. */
    static const int32_t mark = CALC_FPU_MARK;
    __asm__ volatile("fninit; fildl %0" : : "m"(mark));
    uint32_t x = CALC_SEED;
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        x = calc_round(area, x);
        put("calc-l2: round ");
        put_number(r, 10);
        put(" of ");
        put_number(ROUNDS, 10);
        put("\n");
    }
    const uint32_t digest = calc_digest(area, x);
    int32_t back = 0;
    __asm__ volatile("fistpl %0" : "=m"(back));
    const unsigned failed = back != CALC_FPU_MARK;
    put("calc-l2: ");
    put_number(ROUNDS, 10);
    put(" rounds: digest 0x");
    put_number(digest, 16);
    put(failed ? "\ncalc-l2: x87 st(0) kept: no\ncalc-l2: 0 passed, 1 failed\n"
               : "\ncalc-l2: x87 st(0) kept: yes\ncalc-l2: 1 passed, 0 failed\n");
    __asm__ volatile("outl %0, %1" : : "a"(failed), "Nd"(EXIT_PORT));
    for (;;)
        __asm__ volatile("hlt");
}

/* The entry: L1 enters at e_entry with RSP at the top of L2's 2 MiB page;
 * a call keeps the ABI's 16-byte alignment. */
__asm__(".text\n.globl start\nstart:\n\tcall calc_l2_main\n1:\thlt\n\tjmp 1b\n");
