/*
 * tests/guests/calc.c - a long deterministic computation for the
 * checkpoint tests (tests/system/checkpoint.spec): nothing it does depends
 * on time, so a run restored from a checkpoint taken midway must end with
 * the digest of an uninterrupted run.
 *
 * The state: AREA_WORDS 32-bit words at AREA (1 MiB from 2 MiB, zero at
 * start) and an xorshift32 generator (Marsaglia's 13/17/5, seed SEED).
 * Each of `rounds` rounds (command line "rounds=N", default 24) makes
 * STEPS steps: x = xorshift32(x); w = AREA[x % AREA_WORDS];
 * AREA[x % AREA_WORDS] = w * 31 + x + step (mod 2^32); after each round a
 * line "calc: round R of N". At the end the words in order and then x are
 * folded, byte by byte from the low byte, into a 32-bit FNV-1a digest:
 * "calc: N rounds: digest 0x........" (the spec holds the value computed
 * on the host by this rule).
 *
 * With "timer=HZ" the PIT interrupts it HZ times a second through the 8259
 * (IRQ 0, vector 0x20) all along; the handler only counts. The digest does
 * not depend on the ticks, but the ticks must keep coming: the last
 * LATE_ROUNDS rounds must see some (after a restore, only if the PIT's and
 * the PIC's state came back with the image), "calc: timer: ticks in the
 * last 4 rounds: yes".
 *
 * The x87 register stack holds FPU_MARK from the start to the end (no
 * code of the guest touches the FPU in between): "calc: x87 st(0) kept:
 * yes" only if the vCPU's FPU state survived every exit and, after a
 * restore, came back with the image.
 */
#include "lib/guest.h"
#include <stdbool.h>

#define AREA        ((volatile uint32_t *)0x200000)
#define AREA_WORDS  (256u * 1024u)
#define STEPS       (128u * 1024u)
#define SEED        0x2545F491u
#define FNV_OFFSET  0x811C9DC5u
#define FNV_PRIME   0x01000193u
#define LATE_ROUNDS 4
#define FPU_MARK    0x1234567
/* 8259A and 8254 programming (their data sheets), as tests/guests/timer.c. */
#define PIC1_CMD    0x20
#define PIC1_DATA   0x21
#define PIC2_CMD    0xA0
#define PIC2_DATA   0xA1
#define PIC_EOI     0x20
#define PIC_ICW1    0x11          /* edge triggered, cascade, ICW4 follows */
#define PIC_ICW4    0x01          /* 8086 mode */
#define PIT_CH0     0x40
#define PIT_CMD     0x43
#define PIT_RATE_GEN 0x34         /* counter 0, LSB then MSB, mode 2 */
#define PIT_HZ      1193182u
#define VEC_PIT     0x20

static volatile uint32_t ticks;

static void on_pit(guest_frame_t *f)
{
    (void)f;
    ticks++;
    outb(PIC1_CMD, PIC_EOI);
}

static void timer_start(uint32_t hz)
{
    guest_desc_init();
    guest_set_handler(VEC_PIT, on_pit);
    outb(PIC1_CMD, PIC_ICW1); outb(PIC2_CMD, PIC_ICW1);
    outb(PIC1_DATA, VEC_PIT); outb(PIC2_DATA, VEC_PIT + 8);
    outb(PIC1_DATA, 4); outb(PIC2_DATA, 2);            /* ICW3: the slave on IRQ 2 */
    outb(PIC1_DATA, PIC_ICW4); outb(PIC2_DATA, PIC_ICW4);
    outb(PIC1_DATA, 0xFE); outb(PIC2_DATA, 0xFF);      /* IRQ 0 only */
    const uint32_t divisor = PIT_HZ / hz;
    outb(PIT_CMD, PIT_RATE_GEN);
    outb(PIT_CH0, divisor & 0xFF);
    outb(PIT_CH0, divisor >> 8);
    __asm__ volatile("sti");
}

static uint32_t fnv_word(uint32_t h, uint32_t v)
{
    for (unsigned b = 0; b < 32; b += 8)
        h = (h ^ ((v >> b) & 0xFF)) * FNV_PRIME;
    return h;
}

int guest_main(void)
{
    const uint32_t rounds = guest_cmdline_number("rounds=", 24, 1000);
    const uint32_t hz = guest_cmdline_number("timer=", 0, 10000);
    if (hz)
        timer_start(hz);
    /* SDM Vol. 1 8.3.4: FILD pushes the integer, FISTP pops it back. */
    static const int32_t mark = FPU_MARK;
    __asm__ volatile("fninit; fildl %0" : : "m"(mark));
    uint32_t x = SEED, late_ticks = 0;
    for (uint32_t r = 1; r <= rounds; r++) {
        if (r == rounds - LATE_ROUNDS + 1)
            late_ticks = ticks;
        for (uint32_t s = 0; s < STEPS; s++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            const uint32_t i = x % AREA_WORDS;
            AREA[i] = AREA[i] * 31u + x + s;
        }
        guest_printf("calc: round %u of %u\n", r, rounds);
    }
    uint32_t digest = FNV_OFFSET;
    for (uint32_t i = 0; i < AREA_WORDS; i++)
        digest = fnv_word(digest, AREA[i]);
    digest = fnv_word(digest, x);
    int32_t back = 0;
    __asm__ volatile("fistpl %0" : "=m"(back));
    guest_printf("calc: %u rounds: digest 0x%08x\n", rounds, digest);
    guest_printf("calc: x87 st(0) kept: %s\n", back == FPU_MARK ? "yes" : "no");
    CHECK(back == FPU_MARK, "the x87 register stack kept its value");
    if (hz) {
        __asm__ volatile("cli");
        const bool late = ticks != late_ticks;
        guest_printf("calc: timer: ticks in the last %u rounds: %s\n", LATE_ROUNDS,
                     late ? "yes" : "no");
        CHECK(late, "timer interrupts in the last rounds");
    }
    return guest_report("calc");
}
