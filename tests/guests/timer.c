/*
 * tests/guests/timer.c - interrupts from the VMM's virtual devices: the PIT
 * through the 8259 PIC, the local APIC timer programmed through MMIO (every
 * access goes through the VMM's instruction decoder), HLT woken by them, a
 * busy loop interrupted, and the CMOS clock. Then the TSC (SDM Vol. 3B
 * 17.17): a written TSC advances from the value written, IA32_TSC_ADJUST
 * follows TSC writes and moves the TSC when written, RDTSCP returns
 * IA32_TSC_AUX, each where CPUID shows it (#GP / #UD where not); the LAPIC
 * timer's TSC-deadline mode (SDM Vol. 3A 10.5.4.1) where CPUID shows it; and the
 * LAPIC globally disabled and enabled again by IA32_APIC_BASE[11], with
 * CPUID.1:EDX.APIC following it and the APIC back in its power-up state
 * (SDM Vol. 3A 10.4.3). Every branch makes the same number of checks, so
 * bare and virtual print the same lines.
 */
#include "lib/guest.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC_EOI 0x20
#define PIC_OCW3_READ_IRR 0x0A         /* 8259A OCW3: RR=1, RIS=0 */
#define IRR_POLLS_MAX 100000u          /* reads of the IRR before giving up */
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
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define LAPIC_PERIODIC (1u << 17)
#define LAPIC_TSC_DEADLINE (2u << 17)  /* LVT timer mode 10b (SDM Vol. 3A 10.5.4.1) */
#define LAPIC_MASKED (1u << 16)
#define LAPIC_DIV_1 0xB
#define LAPIC_TIMER_1MS 1000000u     /* the VMM's APIC bus runs at 1 GHz */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_YEAR 0x09
#define CMOS_STATUS_B 0x0B
#define VEC_UD 6
#define VEC_GP 13
/* MSRs and CPUID bits (SDM Vol. 3B 17.17, Vol. 4 Table 2-2; Vol. 2A CPUID). */
#define MSR_TSC         0x10
#define MSR_APIC_BASE   0x1B
#define MSR_TSC_ADJUST  0x3B
#define MSR_TSC_AUX     0xC0000103u
#define MSR_TSC_DEADLINE 0x6E0
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define TSC_DEADLINE_DELTA 1000000u    /* TSC ticks ahead (20 ms of Bochs at 50 M/s) */
#define APIC_BASE_EN    (1u << 11)
#define CPUID1_EDX_APIC (1u << 9)
#define CPUID7_EBX_TSC_ADJUST (1u << 1)
#define CPUID_EXT_EDX_RDTSCP (1u << 27)
#define CPUID_EXT_LEAF  0x80000001u
#define TSC_WRITTEN     (1ULL << 44)   /* far from any TSC of a fresh machine */
#define TSC_SLACK       (1ULL << 32)   /* cycles between a write and a read, at most */
#define TSC_AUX_VALUE   0x2A5u

static volatile unsigned pit_ticks, lapic_ticks;
static volatile uint64_t lapic_tick_tsc;     /* the TSC at the last LAPIC timer interrupt */

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
    lapic_tick_tsc = rdtsc();
    lapic_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

/* RDMSR/WRMSR/RDTSCP that may fault: skip them (2 or 3 bytes), count it. */
static volatile unsigned faults_seen;
static volatile uint32_t fault_len;
static void on_fault(guest_frame_t *f)
{
    faults_seen++;
    f->eip += fault_len;
}

static uint64_t rdmsr_try(uint32_t msr, int *faulted)
{
    uint32_t lo = 0, hi = 0;
    unsigned before = faults_seen;
    fault_len = 2;
    __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr));
    *faulted = faults_seen != before;
    return (uint64_t)hi << 32 | lo;
}

static int wrmsr_try(uint32_t msr, uint64_t v)
{
    unsigned before = faults_seen;
    fault_len = 2;
    wrmsr(msr, v);
    return faults_seen != before;
}

static void tsc_checks(void)
{
    guest_set_handler(VEC_GP, on_fault);
    guest_set_handler(VEC_UD, on_fault);
    int f;

    /* A TSC write: RDTSC goes on from the value written (17.17). */
    CHECK(!wrmsr_try(MSR_TSC, TSC_WRITTEN), "WRMSR to the TSC");
    uint64_t t = rdtsc();
    CHECK(t >= TSC_WRITTEN && t < TSC_WRITTEN + TSC_SLACK, "RDTSC advances from the written TSC");

    /* IA32_TSC_ADJUST (17.17.3): a TSC write of X adds X minus the TSC's
     * value to it; writing it adds the difference to the TSC. */
    const int adjust = (guest_cpuid(7, 0).ebx & CPUID7_EBX_TSC_ADJUST) != 0;
    uint64_t adj0 = rdmsr_try(MSR_TSC_ADJUST, &f);
    CHECK(adjust ? !f : f, "IA32_TSC_ADJUST reads where CPUID.7:EBX[1] shows it, else #GP");
    if (adjust) {
        uint64_t before = rdtsc();
        wrmsr(MSR_TSC, 2 * TSC_WRITTEN);
        uint64_t moved = rdmsr(MSR_TSC_ADJUST) - adj0;     /* 2X - the TSC at the write */
        CHECK(moved <= 2 * TSC_WRITTEN - before && moved > 2 * TSC_WRITTEN - before - TSC_SLACK,
              "a TSC write adds its difference to IA32_TSC_ADJUST");
        before = rdtsc();
        wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST) + TSC_WRITTEN);
        t = rdtsc();
        CHECK(t >= before + TSC_WRITTEN && t < before + TSC_WRITTEN + TSC_SLACK,
              "writing IA32_TSC_ADJUST moves the TSC by the difference");
    } else {
        CHECK(wrmsr_try(MSR_TSC_ADJUST, 0), "IA32_TSC_ADJUST not shown: WRMSR #GP");
        CHECK(rdtsc() >= TSC_WRITTEN, "the TSC kept");
    }

    /* RDTSCP: ECX = IA32_TSC_AUX (Vol. 2B RDTSCP), #UD where not shown. */
    const int rdtscp = (guest_cpuid(CPUID_EXT_LEAF, 0).edx & CPUID_EXT_EDX_RDTSCP) != 0;
    int wf = wrmsr_try(MSR_TSC_AUX, TSC_AUX_VALUE);
    uint32_t lo = 0, hi = 0, aux = 0;
    unsigned before = faults_seen;
    fault_len = 3;
    __asm__ volatile("rdtscp" : "+a"(lo), "+d"(hi), "+c"(aux));
    int rf = faults_seen != before;
    uint64_t tp = (uint64_t)hi << 32 | lo;
    if (rdtscp) {
        CHECK(!wf && !rf && aux == TSC_AUX_VALUE, "RDTSCP returns IA32_TSC_AUX in ECX");
        CHECK(tp >= TSC_WRITTEN, "RDTSCP reads the TSC");
    } else {
        CHECK(wf && rf, "RDTSCP not shown: TSC_AUX #GP, RDTSCP #UD");
        CHECK(faults_seen == before + 1, "one #UD");
    }
    guest_set_handler(VEC_GP, 0);
    guest_set_handler(VEC_UD, 0);
}

/* IA32_APIC_BASE[11] off: no APIC, CPUID.1:EDX.APIC 0 (SDM Vol. 3A
 * 10.4.3); on again, a valid transition from "disabled" to xAPIC mode (SDM
 * 10.12.5, Figure 10-27): the bit and CPUID.1:EDX.APIC read 1. (The APIC's
 * state then "may" be its power-up state, 10.4.3: not checked here.) Bare
 * Bochs 2.7 ignores the write that enables it again: the APIC stays off. */
static void apic_enable_checks(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    CHECK((base & APIC_BASE_EN) && (guest_cpuid(1, 0).edx & CPUID1_EDX_APIC),
          "APIC globally enabled, CPUID.1:EDX.APIC = 1");
    wrmsr(MSR_APIC_BASE, base & ~(uint64_t)APIC_BASE_EN);
    CHECK(!(rdmsr(MSR_APIC_BASE) & APIC_BASE_EN) && !(guest_cpuid(1, 0).edx & CPUID1_EDX_APIC),
          "APIC globally disabled: CPUID.1:EDX.APIC = 0 (SDM 10.4.3)");
    wrmsr(MSR_APIC_BASE, base);
    CHECK_SDM(rdmsr(MSR_APIC_BASE) == base && (guest_cpuid(1, 0).edx & CPUID1_EDX_APIC),
              "APIC enabled again from disabled: IA32_APIC_BASE[11] and CPUID.1:EDX.APIC read 1 "
              "(SDM 10.12.5)");
}

static void pic_init(void)
{
    guest_pic_init(VEC_PIT, 0xFE, 0xFF);               /* only IRQ 0 */
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
    /* "sti; hlt" with an interrupt already requested: STI enables
     * interrupts after the next instruction (SDM Vol. 2B STI, Vol. 3A
     * 6.8.3), so the HLT completes and the interrupt wakes it at once: its
     * handler runs before the instruction after the HLT, here a CLI. A
     * VMM that carries out the HLT for the guest must end the STI shadow
     * with it, or the CLI comes first and the interrupt waits. */
    __asm__ volatile("cli");
    unsigned polls = 0;
    outb(PIC1_CMD, PIC_OCW3_READ_IRR);
    while (!(inb(PIC1_CMD) & 1) && polls < IRR_POLLS_MAX)
        polls++;
    unsigned ticks_at_hlt = pit_ticks;
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    CHECK(polls < IRR_POLLS_MAX && pit_ticks > ticks_at_hlt,
          "sti; hlt with an interrupt requested: its handler runs before the next instruction");
    __asm__ volatile("sti");
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

    /* TSC-deadline mode (SDM Vol. 3A 10.5.4.1; CPUID.1:ECX[24], on bare
     * Bochs too): one interrupt once the TSC reaches IA32_TSC_DEADLINE,
     * never before; then the timer disarms and the MSR reads 0. */
    if (guest_cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE) {
        lapic_write(LAPIC_LVT_TIMER, LAPIC_TSC_DEADLINE | VEC_LAPIC_TIMER);
        unsigned before = lapic_ticks;
        uint64_t deadline = rdtsc() + TSC_DEADLINE_DELTA;
        wrmsr(MSR_TSC_DEADLINE, deadline);
        CHECK(rdmsr(MSR_TSC_DEADLINE) == deadline && lapic_read(LAPIC_TIMER_CUR) == 0,
              "TSC deadline armed: the MSR reads it, the current count 0");
        while (lapic_ticks == before)
            __asm__ volatile("hlt");
        CHECK(lapic_tick_tsc >= deadline, "the TSC-deadline interrupt not before its deadline");
        while (rdtsc() < deadline + 2 * TSC_DEADLINE_DELTA)
            ;
        CHECK(lapic_ticks == before + 1, "one TSC-deadline interrupt per write");
        /* Bochs 2.7 leaves the deadline in the MSR after the interrupt. */
        CHECK_SDM(rdmsr(MSR_TSC_DEADLINE) == 0,
                  "the timer disarmed after its interrupt: IA32_TSC_DEADLINE reads 0 "
                  "(SDM 10.5.4.1)");
        lapic_write(LAPIC_LVT_TIMER, LAPIC_MASKED);
    } else {
        /* Not shown: the MSR does not exist (SDM Vol. 4 Table 2-2). */
        guest_set_handler(VEC_GP, on_fault);
        unsigned before = faults_seen;
        int f;
        (void)rdmsr_try(MSR_TSC_DEADLINE, &f);
        CHECK(f, "IA32_TSC_DEADLINE not shown: RDMSR #GP");
        CHECK(wrmsr_try(MSR_TSC_DEADLINE, 1), "IA32_TSC_DEADLINE not shown: WRMSR #GP");
        CHECK(faults_seen == before + 2, "two #GP");
        lapic_write(LAPIC_LVT_TIMER, LAPIC_TSC_DEADLINE | LAPIC_MASKED | VEC_LAPIC_TIMER);
        CHECK_SDM(!(lapic_read(LAPIC_LVT_TIMER) & LAPIC_TSC_DEADLINE),
                  "timer mode 10b not taken without TSC-deadline support (bit 18 reserved)");
        lapic_write(LAPIC_LVT_TIMER, LAPIC_MASKED);
    }

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
    tsc_checks();
    apic_enable_checks();
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    guest_printf("timer: %u PIT ticks, %u LAPIC ticks\n", pit_ticks, lapic_ticks);
    return guest_report("timer");
}
