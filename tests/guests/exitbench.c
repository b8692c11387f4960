/*
 * tests/guests/exitbench.c - cost of a VM exit, from inside the guest.
 *
 * On Bochs the TSC counts instructions, and the guest reads it without an
 * exit, so (cycles of N exiting instructions - cycles of N NOPs) / N is the
 * number of instructions executed outside the guest per exit: kernel and
 * monitors together. Reports every CPUID it executed through a hypercall, so
 * a stacked count monitor's count can be checked against it.
 */
#include "lib/guest.h"
#include <vmm_hypercall.h>

#define ITERATIONS   2000         /* default; "iterations=N" on its command line */
#define ITERATIONS_OPT "iterations="
#define WARMUP       50
#define BENCH_PORT   0x2E8          /* no device: the VMM answers all ones */
#define LAPIC_OPT    "lapic"        /* on its command line: time LAPIC MMIO exits too */
/* The local APIC's EOI register at its default base (SDM Vol. 3A 10.4.1,
 * Table 10-1): a write with no interrupt in service does nothing (10.8.5).
 * The guest runs unpaged, so the linear address is the physical one. */
#define LAPIC_EOI    ((volatile uint32_t *)0xFEE000B0u)
#define CPUID_1_EDX_APIC (1u << 9)  /* SDM Vol. 2A CPUID, Table 3-11 */

static unsigned cpuids, iterations = ITERATIONS;

/* "iterations=N" from the Multiboot command line (nested deep, an exit
 * costs millions of instructions: fewer of them do). */
static void read_options(void)
{
    unsigned n = guest_cmdline_number(ITERATIONS_OPT, 0, 1000000);
    if (n)
        iterations = n;
}

enum { OP_NOP, OP_CPUID, OP_VMCALL, OP_IN, OP_LAPIC_EOI };

static inline void op(int kind)
{
    uint32_t a = 0, b, c = 0, d;
    switch (kind) {
    case OP_NOP: __asm__ volatile("nop"); break;
    case OP_CPUID: __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)); break;
    case OP_VMCALL: __asm__ volatile("vmcall" : "+a"(a) : : "memory"); break;
    case OP_LAPIC_EOI: *LAPIC_EOI = 0; break;
    default: (void)inb(BENCH_PORT); break;
    }
}

static uint64_t run(int kind, unsigned n)
{
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < n; i++)
        op(kind);
    uint64_t t = rdtsc() - t0;
    if (kind == OP_CPUID)
        cpuids += n;
    return t;
}

static void report(const char *reason, int kind, uint64_t base)
{
    run(kind, WARMUP);
    uint64_t t = run(kind, iterations);
    guest_printf("exit_roundtrip_instructions{reason=%s} %llu\n", reason,
                 (unsigned long long)((t > base ? t - base : 0) / iterations));
}

int guest_main(void)
{
    read_options();
    run(OP_NOP, WARMUP);
    uint64_t base = run(OP_NOP, iterations);
    report("cpuid", OP_CPUID, base);
    report("vmcall", OP_VMCALL, base);
    report("io_in", OP_IN, base);
    /* An MMIO exit (EPT violation, decoded and emulated by the VMM): only
     * where asked, so the usual figures and stacks stay as they were. */
    if (guest_cmdline_has(LAPIC_OPT)) {
        CHECK(guest_cpuid(1, 0).edx & CPUID_1_EDX_APIC, "a local APIC for the lapic figure");
        if (guest_cpuid(1, 0).edx & CPUID_1_EDX_APIC)
            report("lapic_eoi", OP_LAPIC_EOI, base);
    }
    uint32_t r;
    __asm__ volatile("vmcall" : "=a"(r) : "a"(VMM_HC_REPORT_CPUID), "b"(cpuids) : "memory");
    CHECK(r == 0, "the VMM took the CPUID count");
    return guest_report("exitbench");
}
