/*
 * tests/guests/cpu.c - what the VMM shows of the CPU: CPUID (filtered),
 * MSRs (a policy: unknown ones raise #GP), port I/O, hypercalls. Also booted
 * bare (tests/system/guest-cpu.spec): what depends on a hypervisor being
 * underneath (its CPUID leaves, VMCALL) makes as many checks both ways, and
 * the #GP for an unknown MSR, which bare Bochs 2.7 does not raise, is a
 * CHECK_SDM.
 */
#include "lib/guest.h"
#include <vmm_hypercall.h>
#include <x86_arch.h>

#define MSR_TSC        0x10
#define MSR_APIC_BASE  0x1B
#define MSR_FEATURE_CONTROL 0x3A
#define MSR_PAT        0x277
#define MSR_BOGUS      0xDEADBEEF
#define MSR_EFER       0xC0000080
#define EFER_SCE       0x1
#define EFER_RESERVED  0x2
#define HC_BOGUS       0x12345
#define UNUSED_PORT    0x2F0         /* nothing there: reads all ones (bare Bochs
                                      * 2.7 answers 0x2E8's COM4 range) */
#define HV_LEAF        0x40000000u   /* the hypervisor's CPUID leaves */
#define VMCALL_LEN     3

static volatile unsigned gp_count, ud_count;

static void on_gp(guest_frame_t *f)
{
    gp_count++;
    f->eip += 2;                    /* rdmsr / wrmsr are 2 bytes */
}

static void on_ud(guest_frame_t *f)
{
    ud_count++;
    f->eip += VMCALL_LEN;           /* only VMCALL is expected to #UD */
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

/* Without a hypervisor VMCALL raises #UD (SDM Vol. 2C VMCALL: outside VMX
 * operation; Bochs runs the guest in none). */
static int vmcall_ud(uint32_t nr)
{
    unsigned before = ud_count;
    (void)vmcall(nr);
    return ud_count == before + 1;
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(13, on_gp);
    guest_set_handler(6, on_ud);

    guest_cpuid_t f = guest_cpuid(1, 0);
    int hypervisor = (f.ecx & CPUID_1_ECX_HYPERVISOR) != 0;
    CHECK(hypervisor == !guest_bare, "CPUID.1: hypervisor bit set under the VMM, clear bare");
    uint64_t t1, t2, v;
    if (hypervisor)
        CHECK(!(f.ecx & CPUID_1_ECX_VMX), "CPUID.1: VMX hidden");
    else    /* IA32_FEATURE_CONTROL exists where VMX does (SDM Vol. 4 Table 2-2) */
        CHECK(!(f.ecx & CPUID_1_ECX_VMX) || rdmsr_ok(MSR_FEATURE_CONTROL, &v),
              "bare: VMX shown, IA32_FEATURE_CONTROL reads");
    guest_cpuid_t hv = guest_cpuid(HV_LEAF, 0);
    int names_nestor = hv.ebx == 0x7473654E && hv.ecx == 0x4E726F74 && hv.edx == 0x726F7473;
    CHECK(names_nestor == hypervisor, "CPUID 0x40000000 names the hypervisor, and only under it");

    CHECK(rdmsr_ok(MSR_TSC, &t1) && rdmsr_ok(MSR_TSC, &t2) && t2 > t1, "TSC MSR advances");
    CHECK(rdmsr_ok(MSR_APIC_BASE, &v) && (v & ~0xFFFULL) == 0xFEE00000ULL,
          "APIC base at 0xFEE00000");
    CHECK(wrmsr_ok(MSR_PAT, 0x0606060606060606ULL) && rdmsr_ok(MSR_PAT, &v) &&
              v == 0x0606060606060606ULL, "PAT MSR keeps what was written");
    /* An unimplemented MSR raises #GP(0) (SDM Vol. 2B RDMSR/WRMSR); bare
     * Bochs 2.7 reads it as 0 and drops the write (its ignore_bad_msrs
     * default, docs/platforms.md). */
    unsigned gp_before = gp_count;
    CHECK_SDM(!rdmsr_ok(MSR_BOGUS, &v), "unknown MSR read raises #GP");
    CHECK_SDM(!wrmsr_ok(MSR_BOGUS, 1), "unknown MSR write raises #GP");
    unsigned gp_unknown = gp_count - gp_before;
    CHECK(wrmsr_ok(MSR_EFER, EFER_SCE) && rdmsr_ok(MSR_EFER, &v) && v == EFER_SCE,
          "EFER.SCE written and read back");
    CHECK(!wrmsr_ok(MSR_EFER, EFER_RESERVED), "a reserved EFER bit raises #GP");
    CHECK(gp_count == gp_unknown + 1, "no #GP but the reserved EFER bit and unknown MSRs");

    CHECK(inb(UNUSED_PORT) == 0xFF, "reading an empty port gives all ones");
    outb(UNUSED_PORT, 0x55);        /* writes to nothing are dropped */
    if (hypervisor) {
        CHECK(vmcall(VMM_HC_PING) == 0, "hypercall ping answered");
        CHECK(vmcall(HC_BOGUS) == 0xFFFFFFFFu, "unknown hypercall returns an error");
    } else {
        CHECK(vmcall_ud(VMM_HC_PING), "bare: VMCALL raises #UD");
        CHECK(vmcall_ud(HC_BOGUS), "bare: VMCALL raises #UD whatever EAX holds");
    }
    CHECK(ud_count == (hypervisor ? 0 : 2), "no other #UD");
    return guest_report("cpu");
}
