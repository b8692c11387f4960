/*
 * tests/guests/timer.c - interrupts from the VMM's virtual devices: the PIT
 * through the 8259 PIC, the local APIC timer programmed through MMIO (every
 * access goes through the VMM's instruction decoder), HLT woken by them, a
 * busy loop interrupted, and the CMOS clock.
 */
#include "lib/guest.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI 0x20
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_RATE_GEN 0x34
#define PIT_HZ 1193182u
#define VEC_PIT 0x20
#define VEC_LAPIC_TIMER 0x40
#define LAPIC_BASE 0xFEE00000u
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define LAPIC_PERIODIC (1u << 17)
#define LAPIC_MASKED (1u << 16)
#define LAPIC_DIV_1 0xB
#define LAPIC_TIMER_1MS 1000000u     /* the VMM's APIC bus runs at 1 GHz */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_YEAR 0x09
#define CMOS_STATUS_B 0x0B

static volatile unsigned pit_ticks, lapic_ticks;

static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }

static void on_pit(guest_frame_t *f)
{
    (void)f;
    pit_ticks++;
    outb(PIC1_CMD, PIC_EOI);
}

static void on_lapic_timer(guest_frame_t *f)
{
    (void)f;
    lapic_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void pic_init(void)
{
    outb(PIC1_CMD, 0x11); outb(PIC2_CMD, 0x11);        /* ICW1: edge, cascade, ICW4 */
    outb(PIC1_DATA, VEC_PIT); outb(PIC2_DATA, VEC_PIT + 8);
    outb(PIC1_DATA, 4); outb(PIC2_DATA, 2);            /* ICW3: slave on IRQ 2 */
    outb(PIC1_DATA, 1); outb(PIC2_DATA, 1);            /* ICW4: 8086 mode */
    outb(PIC1_DATA, 0xFE); outb(PIC2_DATA, 0xFF);      /* only IRQ 0 */
}

static void pit_start(unsigned hz)
{
    unsigned divisor = PIT_HZ / hz;
    outb(PIT_CMD, PIT_RATE_GEN);
    outb(PIT_CH0, divisor & 0xFF);
    outb(PIT_CH0, divisor >> 8);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(VEC_PIT, on_pit);
    guest_set_handler(VEC_LAPIC_TIMER, on_lapic_timer);

    /* PIT at 1 kHz through the PIC; HLT until 10 ticks. */
    pic_init();
    pit_start(1000);
    __asm__ volatile("sti");
    while (pit_ticks < 10)
        __asm__ volatile("hlt");
    CHECK(pit_ticks >= 10, "PIT interrupts wake HLT");
    /* A busy loop without HLT is interrupted too (the VMM pauses the vCPU). */
    unsigned start = pit_ticks;
    while (pit_ticks < start + 10)
        ;
    CHECK(pit_ticks >= start + 10, "PIT interrupts reach a busy guest");
    outb(PIC1_DATA, 0xFF);                             /* PIT off at the PIC */

    /* The local APIC through MMIO: version, then a periodic timer. */
    uint32_t version = lapic_read(LAPIC_VERSION);
    CHECK((version & 0xFF) == 0x14, "LAPIC version register reads 0x14 through MMIO");
    lapic_write(LAPIC_SVR, 0x1FF);
    lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_1);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_PERIODIC | VEC_LAPIC_TIMER);
    lapic_write(LAPIC_TIMER_INIT, LAPIC_TIMER_1MS);
    CHECK(lapic_read(LAPIC_TIMER_INIT) == LAPIC_TIMER_1MS, "LAPIC initial count reads back");
    while (lapic_ticks < 10)
        __asm__ volatile("hlt");
    CHECK(lapic_ticks >= 10, "LAPIC timer interrupts wake HLT");
    lapic_write(LAPIC_LVT_TIMER, LAPIC_MASKED);

    /* MOVS with the device on either side (APIC registers are 16 bytes
     * apart, so one element each): RAM -> TPR with REP, version -> RAM. */
    static const uint32_t tpr_src[1] = { 0x30 };
    const uint32_t *src = tpr_src;
    uint32_t *dst = (uint32_t *)(LAPIC_BASE + LAPIC_TPR), count = 1;
    __asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(dst), "+c"(count) : : "memory");
    CHECK(lapic_read(LAPIC_TPR) == 0x30 && count == 0 && src == tpr_src + 1,
          "REP MOVS from RAM into the LAPIC (RSI, RCX updated)");
    uint32_t version_copy = 0;
    const uint32_t *vsrc = (const uint32_t *)(LAPIC_BASE + LAPIC_VERSION);
    uint32_t *vdst = &version_copy;
    __asm__ volatile("movsl" : "+S"(vsrc), "+D"(vdst) : : "memory");
    CHECK((version_copy & 0xFF) == 0x14, "MOVS from the LAPIC into RAM");
    lapic_write(LAPIC_TPR, 0);

    /* The CMOS clock starts in 2026 (BCD by default). */
    outb(CMOS_INDEX, CMOS_STATUS_B);
    uint8_t b = inb(CMOS_DATA);
    outb(CMOS_INDEX, CMOS_YEAR);
    uint8_t year = inb(CMOS_DATA);
    CHECK((b & 4) ? year == 26 : year == 0x26, "RTC year is 2026");
    __asm__ volatile("cli");
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    guest_printf("timer: %u PIT ticks, %u LAPIC ticks\n", pit_ticks, lapic_ticks);
    return guest_report("timer");
}
