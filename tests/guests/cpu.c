/*
 * tests/guests/cpu.c - what the VMM shows of the CPU: CPUID (filtered),
 * MSRs (a policy: unknown ones raise #GP), port I/O, hypercalls.
 */
#include "lib/guest.h"

#define MSR_TSC        0x10
#define MSR_APIC_BASE  0x1B
#define MSR_PAT        0x277
#define MSR_BOGUS      0xDEADBEEF
#define MSR_EFER       0xC0000080
#define EFER_SCE       0x1
#define EFER_RESERVED  0x2
#define HC_PING        0
#define HC_BOGUS       0x12345
#define UNUSED_PORT    0x2E8         /* nothing there: reads all ones */

static volatile unsigned gp_count;

static void on_gp(guest_frame_t *f)
{
    gp_count++;
    f->eip += 2;                    /* rdmsr / wrmsr are 2 bytes */
}

static int rdmsr_ok(uint32_t msr, uint64_t *v)
{
    unsigned before = gp_count;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    *v = (uint64_t)hi << 32 | lo;
    return gp_count == before;
}

static int wrmsr_ok(uint32_t msr, uint64_t v)
{
    unsigned before = gp_count;
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
    return gp_count == before;
}

static uint32_t vmcall(uint32_t nr)
{
    uint32_t r = nr;
    __asm__ volatile("vmcall" : "+a"(r) : : "memory");
    return r;
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(13, on_gp);

    guest_cpuid_t f = guest_cpuid(1, 0);
    CHECK(f.ecx & (1u << 31), "CPUID.1: hypervisor bit set");
    CHECK(!(f.ecx & (1u << 5)), "CPUID.1: VMX hidden");
    guest_cpuid_t hv = guest_cpuid(0x40000000, 0);
    CHECK(hv.ebx == 0x7473654E && hv.ecx == 0x4E726F74 && hv.edx == 0x726F7473,
          "CPUID 0x40000000 names the hypervisor");

    uint64_t t1, t2, v;
    CHECK(rdmsr_ok(MSR_TSC, &t1) && rdmsr_ok(MSR_TSC, &t2) && t2 > t1, "TSC MSR advances");
    CHECK(rdmsr_ok(MSR_APIC_BASE, &v) && (v & ~0xFFFULL) == 0xFEE00000ULL,
          "APIC base at 0xFEE00000");
    CHECK(wrmsr_ok(MSR_PAT, 0x0606060606060606ULL) && rdmsr_ok(MSR_PAT, &v) &&
              v == 0x0606060606060606ULL, "PAT MSR keeps what was written");
    CHECK(!rdmsr_ok(MSR_BOGUS, &v), "unknown MSR read raises #GP");
    CHECK(!wrmsr_ok(MSR_BOGUS, 1), "unknown MSR write raises #GP");
    CHECK(wrmsr_ok(MSR_EFER, EFER_SCE) && rdmsr_ok(MSR_EFER, &v) && v == EFER_SCE,
          "EFER.SCE written and read back");
    CHECK(!wrmsr_ok(MSR_EFER, EFER_RESERVED), "a reserved EFER bit raises #GP");
    CHECK(gp_count == 3, "exactly three #GPs");

    CHECK(inb(UNUSED_PORT) == 0xFF, "reading an empty port gives all ones");
    outb(UNUSED_PORT, 0x55);        /* writes to nothing are dropped */
    CHECK(vmcall(HC_PING) == 0, "hypercall ping answered");
    CHECK(vmcall(HC_BOGUS) == 0xFFFFFFFFu, "unknown hypercall returns an error");
    return guest_report("cpu");
}
