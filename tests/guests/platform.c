/*
 * tests/guests/platform.c - what the guest is shown is what it gets, and
 * every exit gives the architectural result: hidden features raise #UD,
 * MSRs follow their SDM rules (#GP for reserved values and unknown MSRs),
 * the APIC base moves and disables, CR0/CR4 writes that exit are checked and
 * keep CR3, CR0.PG with EFER.LME gives EFER.LMA, and instructions a VMM must
 * answer (INVD, WBINVD, RDPMC, MONITOR, MWAIT, VMX) do what a CPU does.
 * Each check runs its instruction; a fault is counted per vector and the
 * handler skips the instruction (its length is set before).
 *
 * Also booted bare (tests/system/guest-platform.spec): a feature's checks
 * follow what CPUID shows (shown: it works; hidden: #UD/#GP), so the same
 * checks hold on the bare machine, which shows more; what the VMM shows
 * (its policy) is a marked line the spec checks. SDM rules bare Bochs 2.7
 * breaks are CHECK_SDMs.
 */
#include "lib/guest.h"
#include <x86_arch.h>

#define MSR_TSC            0x10
#define MSR_APIC_BASE      0x1B
#define MSR_TSC_ADJUST     0x3B
#define MSR_FEATURE_CONTROL 0x3A
#define MSR_MTRRCAP        0xFE
#define MTRRCAP_FIX        (1u << 8)  /* SDM Vol. 3A 11.11.1: fixed ranges */
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1u << 2)
#define MSR_XSS            0xDA0      /* SDM Vol. 4 Table 2-2: with XSAVES */
/* x2APIC registers (SDM Vol. 3A 10.12.1.2, Table 10-6). */
#define MSR_X2APIC_ID      0x802
#define MSR_X2APIC_VERSION 0x803
#define MSR_X2APIC_TPR     0x808
#define MSR_X2APIC_EOI     0x80B
#define MSR_X2APIC_LDR     0x80D
#define MSR_X2APIC_DFR     0x80E
#define MSR_X2APIC_SVR     0x80F
#define MSR_X2APIC_IRR     0x820      /* 820H-827H: vectors 32 at a time */
#define MSR_X2APIC_ICR     0x830
#define MSR_X2APIC_SELF_IPI 0x83F
#define X2APIC_SELF_VECTOR 0x50
#define X2APIC_ICR_VECTOR  0x51
#define APIC_SVR_ENABLED   0x1FF      /* software enable, spurious vector 0xFF */
#define CPUID_1_EDX_MTRR   (1u << 12)
#define MSR_SYSENTER_CS    0x174
#define MSR_SYSENTER_ESP   0x175
#define MSR_SYSENTER_EIP   0x176
#define MSR_MISC_ENABLE    0x1A0
#define MSR_DEBUGCTL       0x1D9
#define MSR_PAT            0x277
#define MSR_MTRR_DEF_TYPE  0x2FF
#define MSR_EFER           0xC0000080u
#define MSR_LSTAR          0xC0000082u
#define MSR_FS_BASE        0xC0000100u
#define MSR_GS_BASE        0xC0000101u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define MSR_TSC_AUX        0xC0000103u
#define EFER_LME           (1u << 8)
#define EFER_LMA           (1u << 10)
#define CR0_NE             (1u << 5)
#define CR0_NW             (1u << 29)
#define CR0_CD             (1u << 30)
#define CR0_PG             (1u << 31)
#define CR4_PSE            (1u << 4)
#define CR4_PAE            (1u << 5)
#define CR4_VMXE           (1u << 13)
#define APIC_DEFAULT       0xFEE00000u
#define APIC_MOVED         0xFEA00000u
#define APIC_BSP           (1u << 8)
#define APIC_EN            (1u << 11)
#define APIC_EXTD          (1u << 10)
#define APIC_REG_VERSION   0x30
#define APIC_REG_SVR       0xF0
#define APIC_REG_TPR       0x80
#define APIC_VERSION_LOW   0x14       /* integrated xAPIC (vmm-server/devices/lapic.h) */
#define APIC_SVR_RESET     0xFF       /* SDM 10.4.7.1: power-up SVR */
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_TIMER_INITIAL 0x380
#define APIC_REG_TIMER_CURRENT 0x390
#define APIC_REG_TIMER_DIVIDE  0x3E0
#define APIC_LVT_MASKED    (1u << 16)
#define APIC_DIVIDE_BY_1   0xB        /* SDM Figure 10-10 */
#define PDE_P              0x1
#define PDE_W              0x2
#define PDE_PCD            0x10
#define PDE_PS             0x80
#define VEC_DE             0
#define VEC_UD             6
#define VEC_GP             13

static volatile unsigned seen[GUEST_IDT_VECTORS];
static volatile unsigned skip_len;

static void on_fault(guest_frame_t *f)
{
    seen[f->vector]++;
    f->eip += skip_len;
}

/* Faults of @vec while running the code since the last mark. */
static unsigned mark_ud, mark_gp;
static void mark(void) { mark_ud = seen[VEC_UD]; mark_gp = seen[VEC_GP]; }
static int gp_since(void) { return seen[VEC_GP] - mark_gp; }
static int ud_since(void) { return seen[VEC_UD] - mark_ud; }

static int rdmsr_ok(uint32_t msr, uint64_t *v)
{
    mark();
    skip_len = 2;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    *v = (uint64_t)hi << 32 | lo;
    return !gp_since();
}

static int wrmsr_ok(uint32_t msr, uint64_t v)
{
    mark();
    skip_len = 2;
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
    return !gp_since();
}

static int roundtrip(uint32_t msr, uint64_t v)
{
    uint64_t r = ~v;
    return wrmsr_ok(msr, v) && rdmsr_ok(msr, &r) && r == v;
}

/* MOV to CR0/CR4 (3 bytes): did it fault with #GP? */
static int cr0_gp(uint32_t v)
{
    mark();
    skip_len = 3;
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
    return gp_since();
}

static int cr4_gp(uint32_t v)
{
    mark();
    skip_len = 3;
    __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
    return gp_since();
}

static uint32_t apic_read(uint32_t base, uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(base + reg);
}

static void apic_write(uint32_t base, uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(base + reg) = v;
}

/* --- hidden features: shown as absent, and absent --- */
static void check_cpuid(void)
{
    guest_cpuid_t l1 = guest_cpuid(1, 0), l7 = guest_cpuid(7, 0), x1 = guest_cpuid(0x80000001, 0);
    guest_cpuid_t pmu = guest_cpuid(0xA, 0), d1 = guest_cpuid(0xD, 1);
    /* What is shown: the VMM's policy (guest-platform.spec checks this line
     * under it); the checks below hold for either answer. */
    guest_env_printf("platform: shown: MONITOR %u VMX %u x2APIC %u PDCM %u INVPCID %u "
                     "XSAVES %u PMU version %u\n", !!(l1.ecx & CPUID_1_ECX_MONITOR),
                     !!(l1.ecx & CPUID_1_ECX_VMX), !!(l1.ecx & CPUID_1_ECX_X2APIC),
                     !!(l1.ecx & CPUID_1_ECX_PDCM), !!(l7.ebx & CPUID_7_EBX_INVPCID),
                     !!(d1.eax & CPUID_D1_EAX_XSAVES), pmu.eax & 0xFF);
    CHECK((l1.edx & (1u << 11)) && (l1.edx & (1u << 9)), "CPUID.1: SEP and APIC shown");
    CHECK(l7.ebx & (1u << 1), "CPUID.7: TSC_ADJUST shown (emulated)");
    uint64_t v;
    /* IA32_XSS exists with XSAVES (SDM Vol. 4 Table 2-2); else #GP. */
    CHECK(rdmsr_ok(MSR_XSS, &v) == !!(d1.eax & CPUID_D1_EAX_XSAVES),
          "IA32_XSS readable exactly where XSAVES is shown");
    /* CPUID.0AH: EAX[7:0] the PMU version, EAX[15:8] its counters. */
    CHECK((pmu.eax & 0xFF) || (!pmu.ebx && !pmu.ecx && !pmu.edx && !(pmu.eax >> 8)),
          "CPUID.0AH: no counters without a PMU version");

    /* RDTSCP: shown where the VMM enabled it, and then it runs; else #UD. */
    mark();
    skip_len = 3;
    uint32_t aux = 0;
    __asm__ volatile("rdtscp" : "=c"(aux) : : "eax", "edx");
    if (x1.edx & (1u << 27))
        CHECK(ud_since() == 0 && aux == 0, "RDTSCP shown and runs (TSC_AUX 0)");
    else
        CHECK(ud_since() == 1, "RDTSCP hidden and raises #UD");
    guest_printf("platform: RDTSCP %s\n", x1.edx & (1u << 27) ? "shown" : "hidden");
    static uint64_t desc[2];
    mark();
    skip_len = 5;                                    /* 66 0F 38 82 08 */
    __asm__ volatile("invpcid (%0), %1" : : "a"(desc), "c"(2) : "memory");
    /* Type 2 (all contexts) needs no PCID (SDM Vol. 2A INVPCID). */
    if (l7.ebx & CPUID_7_EBX_INVPCID)
        CHECK(!ud_since() && !gp_since(), "INVPCID shown: type 2 runs");
    else
        CHECK(ud_since() == 1, "INVPCID hidden: raises #UD");
    /* MWAIT before any MONITOR: no range armed, so it does not wait but
     * goes on (SDM Vol. 2B MWAIT); then MONITOR arms one. */
    int monitor = (l1.ecx & CPUID_1_ECX_MONITOR) != 0;
    mark();
    skip_len = 3;
    __asm__ volatile("mwait" : : "a"(0), "c"(0));
    CHECK(ud_since() == !monitor, monitor ? "MWAIT shown: runs, nothing armed"
                                          : "MWAIT hidden: raises #UD");
    mark();
    skip_len = 3;
    __asm__ volatile("monitor" : : "a"(desc), "c"(0), "d"(0));
    CHECK(ud_since() == !monitor, monitor ? "MONITOR shown: runs" : "MONITOR hidden: raises #UD");
    static uint64_t vmxon_region;
    mark();
    skip_len = 4;                                    /* F3 0F C7 30: vmxon (%eax) */
    __asm__ volatile("vmxon (%0)" : : "a"(&vmxon_region) : "memory");
    /* SDM Vol. 3C 30.3 VMXON: #UD with CR4.VMXE = 0, shown or not. */
    CHECK(ud_since() == 1, "VMXON with CR4.VMXE = 0 raises #UD");
    mark();
    skip_len = 2;
    __asm__ volatile("rdpmc" : : "c"(0) : "eax", "edx");
    /* SDM Vol. 2B RDPMC: #GP for a counter that does not exist (CPL 0). */
    int counters = (pmu.eax & 0xFF) && ((pmu.eax >> 8) & 0xFF);
    CHECK(gp_since() == !counters, counters ? "RDPMC counter 0 (shown) reads"
                                            : "RDPMC raises #GP (no counters)");
    mark();
    __asm__ volatile("wbinvd; invd" ::: "memory");
    CHECK(!gp_since() && !ud_since(), "WBINVD and INVD run");
}

/* --- MSRs --- */
static void check_msrs(void)
{
    uint64_t v, t1 = 0, t2 = 0;
    CHECK(roundtrip(MSR_SYSENTER_CS, 0x10) && roundtrip(MSR_SYSENTER_ESP, 0x8000) &&
              roundtrip(MSR_SYSENTER_EIP, 0x101000), "SYSENTER MSRs keep what was written");
    CHECK(roundtrip(MSR_PAT, 0x0007010600070406ULL), "PAT keeps a valid value");
    CHECK(!wrmsr_ok(MSR_PAT, 0x0000000000000002ULL), "PAT type 2 raises #GP");
    CHECK(!wrmsr_ok(MSR_PAT, 0x0800000000000000ULL), "PAT type 8 raises #GP");
    /* MTRRs as CPUID.1:EDX.MTRR shows them (SDM Vol. 3A 11.11.1): MTRRcap is
     * read-only; FE needs fixed ranges (MTRRcap.FIX). */
    uint64_t cap = 0;
    CHECK((guest_cpuid(1, 0).edx & CPUID_1_EDX_MTRR) && rdmsr_ok(MSR_MTRRCAP, &cap) &&
              !wrmsr_ok(MSR_MTRRCAP, cap), "MTRRs shown: MTRRcap reads, writes raise #GP");
    guest_env_printf("platform: MTRRcap 0x%x\n", (unsigned)cap);
    CHECK(roundtrip(MSR_MTRR_DEF_TYPE, 0x806), "MTRR default type: E, WB");
    CHECK(!wrmsr_ok(MSR_MTRR_DEF_TYPE, 0x1006) && !wrmsr_ok(MSR_MTRR_DEF_TYPE, 0x802),
          "MTRR default type: reserved bits, type 2 raise #GP");
    CHECK(wrmsr_ok(MSR_MTRR_DEF_TYPE, 0xC06) == !!(cap & MTRRCAP_FIX) &&
              wrmsr_ok(MSR_MTRR_DEF_TYPE, 0x806), "MTRR default type: FE exactly with fixed ranges");
    /* IA32_FEATURE_CONTROL (SDM Vol. 3C 23.7): once locked, a write #GPs;
     * without VMX shown its VMX enables are clear. */
    int vmx = (guest_cpuid(1, 0).ecx & CPUID_1_ECX_VMX) != 0;
    CHECK(rdmsr_ok(MSR_FEATURE_CONTROL, &v) && (vmx || !(v & 6)) &&
              ((v & 1) || (wrmsr_ok(MSR_FEATURE_CONTROL, v | 1 | (vmx ? 4 : 0)) &&
                           rdmsr_ok(MSR_FEATURE_CONTROL, &v) && (v & 1))) &&
              !wrmsr_ok(MSR_FEATURE_CONTROL, v), "FEATURE_CONTROL: locked (or locked now), then #GP");
    CHECK(rdmsr_ok(MSR_MISC_ENABLE, &v), "MISC_ENABLE reads");
    guest_env_printf("platform: MISC_ENABLE 0x%x\n", (unsigned)v);
    /* SDM Vol. 4 Table 2-2: fast-strings enable (bit 0) is R/W, bit 1 is
     * reserved (#GP). */
    uint64_t misc = v, w = 0;
    CHECK_SDM(wrmsr_ok(MSR_MISC_ENABLE, misc ^ 1) && rdmsr_ok(MSR_MISC_ENABLE, &w) &&
                  w == (misc ^ 1) && wrmsr_ok(MSR_MISC_ENABLE, misc) &&
                  rdmsr_ok(MSR_MISC_ENABLE, &w) && w == misc,
              "MISC_ENABLE: fast strings R/W");
    CHECK_SDM(!wrmsr_ok(MSR_MISC_ENABLE, misc | 2), "MISC_ENABLE: reserved bit 1 #GP");
    wrmsr_ok(MSR_MISC_ENABLE, misc);
    /* SDM Vol. 3B 17.4.1: BTF is architectural. Bare Bochs 2.7 has no
     * IA32_DEBUGCTL: it reads 0 and drops writes (ignore_bad_msrs). */
    CHECK_SDM(roundtrip(MSR_DEBUGCTL, 2) && wrmsr_ok(MSR_DEBUGCTL, 0), "DEBUGCTL: BTF kept");
    /* LBR: the VMM offers no branch records and refuses it (a policy line). */
    int lbr = wrmsr_ok(MSR_DEBUGCTL, 1);
    wrmsr_ok(MSR_DEBUGCTL, 0);
    guest_env_printf("platform: DEBUGCTL LBR write %s\n", lbr ? "taken" : "refused (#GP)");
    CHECK(roundtrip(MSR_LSTAR, 0xFFFFFFFF80001000ULL) &&
              !wrmsr_ok(MSR_LSTAR, 0x0000800000000000ULL), "LSTAR: non-canonical raises #GP");
    CHECK(roundtrip(MSR_KERNEL_GS_BASE, 0x12345000) &&
              !wrmsr_ok(MSR_KERNEL_GS_BASE, 0x8000000000000000ULL), "KERNEL_GS_BASE rules");
    if (guest_cpuid(0x80000001, 0).edx & (1u << 27)) {
        /* SDM Vol. 2B RDTSCP: ECX = IA32_TSC_AUX[31:0]; bits 63:32 reserved. */
        uint32_t aux = 0;
        /* Bare Bochs 2.7 takes the write and keeps bits 31:0. */
        CHECK_SDM(!wrmsr_ok(MSR_TSC_AUX, 1ULL << 32), "TSC_AUX: reserved bits 63:32 raise #GP");
        CHECK(roundtrip(MSR_TSC_AUX, 0x12345), "TSC_AUX round trip");
        __asm__ volatile("rdtscp" : "=c"(aux) : : "eax", "edx");
        CHECK(aux == 0x12345, "RDTSCP returns TSC_AUX in ECX");
    } else {
        CHECK(!rdmsr_ok(MSR_TSC_AUX, &v), "TSC_AUX raises #GP (RDTSCP hidden)");
    }
    /* RDPID (SDM Vol. 2B): TSC_AUX into a register where CPUID.7:ECX[22]
     * shows it, else #UD (under VMX it runs exactly where RDTSCP does,
     * Vol. 3C 25.3, so the VMM shows it only then). */
    uint32_t pid = 0;
    mark();
    skip_len = 4;                                    /* F3 0F C7 F8: RDPID EAX */
    __asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8" : "=a"(pid) : "a"(0));
    if (guest_cpuid(7, 0).ecx & (1u << 22))
        CHECK(ud_since() == 0 && pid == 0x12345, "RDPID shown: runs, returns TSC_AUX");
    else
        CHECK(ud_since() == 1, "RDPID hidden and raises #UD");
    guest_env_printf("platform: RDPID %s\n", guest_cpuid(7, 0).ecx & (1u << 22) ? "shown" : "hidden");
    /* FS base through the MSR: a segment-relative load reads through it. */
    static volatile uint32_t target = 0xF5BA5E00;
    CHECK(wrmsr_ok(MSR_FS_BASE, (uint32_t)(uintptr_t)&target), "FS_BASE written");
    uint32_t through_fs;
    __asm__ volatile("movl %%fs:0, %0" : "=r"(through_fs));
    CHECK(through_fs == 0xF5BA5E00 && rdmsr_ok(MSR_FS_BASE, &v) && v == (uintptr_t)&target,
          "FS_BASE is the base FS addresses through");
    CHECK(roundtrip(MSR_GS_BASE, 0x4000) && !wrmsr_ok(MSR_GS_BASE, 0x0001000000000000ULL),
          "GS_BASE round trip, non-canonical #GP");
    __asm__ volatile("movw %0, %%ax; movw %%ax, %%fs; movw %%ax, %%gs" : : "i"(GUEST_SEL_DATA) : "eax");
    /* The TSC continues from a written value. */
    const uint64_t start = 0x100000000000ULL;
    CHECK(wrmsr_ok(MSR_TSC, start) && rdmsr_ok(MSR_TSC, &t1) && rdmsr_ok(MSR_TSC, &t2) &&
              t1 >= start && t2 > t1 && t1 - start < 0x10000000ULL, "TSC counts on from a write");
    /* RDTSC (no exit: TSC offsetting) counts on from the written value too. */
    const uint64_t near = 0x10000000ULL;
    uint64_t r1 = rdtsc();
    CHECK(r1 > t2 && r1 - start < 2 * near, "RDTSC continues from the written TSC");
    /* IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3): a TSC write added its change;
     * writing the MSR moves the TSC by as much. */
    uint64_t adj0, adj1, before, after;
    CHECK(rdmsr_ok(MSR_TSC_ADJUST, &adj0), "TSC_ADJUST readable");
    before = rdtsc();
    CHECK(wrmsr_ok(MSR_TSC, before + near), "TSC written forward");
    CHECK(rdmsr_ok(MSR_TSC_ADJUST, &adj1) && adj1 - adj0 <= near && adj1 - adj0 > near / 2,
          "a TSC write moved TSC_ADJUST by its change");
    before = rdtsc();
    CHECK(wrmsr_ok(MSR_TSC_ADJUST, adj1 + (near << 4)), "TSC_ADJUST written");
    after = rdtsc();
    CHECK(after - before >= (near << 4) && after - before < (near << 4) + near,
          "a TSC_ADJUST write moved the TSC by its change");
    CHECK(rdmsr_ok(MSR_TSC_ADJUST, &v) && v == adj1 + (near << 4), "TSC_ADJUST reads back");
    /* TSC frequency leaves (15H, 16H) as the host has them. */
    guest_cpuid_t l0 = guest_cpuid(0, 0);
    if (l0.eax >= 0x15) {
        guest_cpuid_t l15 = guest_cpuid(0x15, 0), l16 = guest_cpuid(0x16, 0);
        guest_env_printf("platform: CPUID.15H %u/%u crystal %u Hz, 16H base %u MHz\n", l15.ebx,
                     l15.eax, l15.ecx, l16.eax & 0xFFFF);
        CHECK(l15.ebx == 0 || l15.eax != 0, "CPUID.15H: a ratio has a denominator");
    }
}

/* Whether @vector is requested in the x2APIC IRR (SDM 10.8.4). */
static int x2apic_irr_has(unsigned vector)
{
    uint64_t irr = 0;
    return rdmsr_ok(MSR_X2APIC_IRR + vector / 32, &irr) && (irr >> (vector % 32) & 1);
}

/* x2APIC mode, entered from xAPIC mode (SDM Vol. 3A 10.12). IF is 0: the
 * IPIs sent stay requested until the disable that follows resets them. */
static void check_x2apic_mode(void)
{
    uint64_t v, id = 0, ldr = 0;
    CHECK(wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN | APIC_EXTD) &&
              wrmsr_ok(MSR_X2APIC_TPR, 0x20) && rdmsr_ok(MSR_X2APIC_TPR, &v) && v == 0x20 &&
              wrmsr_ok(MSR_X2APIC_TPR, 0), "x2APIC shown: enabled, its TPR MSR round trip");
    /* 10.12.5.1: the x2APIC ID is the initial APIC ID; 10.12.10.2: the
     * LDR is derived from it (cluster in 31:16, 1 << ID[3:0]), read-only.
     * Bare Bochs 2.7 reads the LDR as 0 in x2APIC mode. */
    CHECK(rdmsr_ok(MSR_X2APIC_ID, &id) && id == guest_cpuid(1, 0).ebx >> 24,
          "x2APIC ID is the initial APIC ID");
    /* SDM Vol. 2A CPUID leaf 0BH (where EBX[15:0] of subleaf 0 is not 0):
     * EDX is the x2APIC ID; subleaf 0 is a valid level, the SMT one (type
     * 1). Bare Bochs 2.7 gives subleaf 0 EBX 1 but level type 0 (invalid). */
    guest_cpuid_t topo = guest_cpuid(0xB, 0);
    int has_0b = guest_cpuid(0, 0).eax >= 0xB && (topo.ebx & 0xFFFF);
    CHECK(!has_0b || topo.edx == id, "CPUID.0BH: EDX is the x2APIC ID");
    CHECK_SDM(!has_0b || (((topo.ecx >> 8) & 0xFF) == 1 && (topo.ecx & 0xFF) == 0),
              "CPUID.0BH: subleaf 0 is the SMT level");
    CHECK_SDM(rdmsr_ok(MSR_X2APIC_LDR, &ldr) && ldr == ((id >> 4) << 16 | 1u << (id & 0xF)),
              "x2APIC LDR derived from the x2APIC ID");
    /* 10.12.1.2: read-only registers and the DFR (absent) raise #GP; EOI is
     * write-only, and a non-zero EOI or a reserved bit (10.12.1.3) #GPs. */
    CHECK(!wrmsr_ok(MSR_X2APIC_LDR, ldr) && !wrmsr_ok(MSR_X2APIC_VERSION, 0) &&
              !wrmsr_ok(MSR_X2APIC_ID, id), "x2APIC: writes to ID, version, LDR raise #GP");
    CHECK(!rdmsr_ok(MSR_X2APIC_DFR, &v) && !wrmsr_ok(MSR_X2APIC_DFR, ~0u),
          "x2APIC: no DFR (#GP)");
    CHECK(!rdmsr_ok(MSR_X2APIC_EOI, &v) && !wrmsr_ok(MSR_X2APIC_EOI, 1) &&
              !wrmsr_ok(MSR_X2APIC_TPR, 0x100) && !wrmsr_ok(MSR_X2APIC_TPR, 1ULL << 32),
          "x2APIC: EOI read, non-zero EOI, TPR reserved bits raise #GP");
    /* 10.12.11 SELF IPI and 10.12.9 the 64-bit ICR (destination 63:32, the
     * own x2APIC ID): each vector is requested. */
    CHECK(wrmsr_ok(MSR_X2APIC_SVR, APIC_SVR_ENABLED) &&
              wrmsr_ok(MSR_X2APIC_SELF_IPI, X2APIC_SELF_VECTOR) && x2apic_irr_has(X2APIC_SELF_VECTOR),
          "x2APIC: SELF IPI requests its vector");
    CHECK(wrmsr_ok(MSR_X2APIC_ICR, id << 32 | X2APIC_ICR_VECTOR) &&
              x2apic_irr_has(X2APIC_ICR_VECTOR), "x2APIC: a fixed IPI by the 64-bit ICR to its own ID");
    CHECK(!wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN) &&
              rdmsr_ok(MSR_APIC_BASE, &v) && (v & APIC_EXTD), "x2APIC -> xAPIC raises #GP");
    /* 10.12.1.2: the xAPIC page acts as a globally disabled APIC's. */
    CHECK(apic_read(APIC_DEFAULT, APIC_REG_VERSION) == 0xFFFFFFFFu,
          "x2APIC mode: the xAPIC page is not the APIC's (all ones)");
}

/* The LAPIC timer counts the core crystal clock CPUID.15H:ECX enumerates
 * (SDM Vol. 3A 10.5.4): Linux programs it at that rate without calibrating
 * it. Measured against the PIT (counter 2 in mode 0 gated by port 61h, as
 * Linux calibrates: 8254 data sheet, mode 0 "interrupt on terminal count",
 * OUT2 on port 61h bit 5): over 10 ms of PIT time the timer must count
 * ECX / 100 ticks within 15% (each read of it is an exit). Not against the
 * TSC: Bochs's TSC counts instructions, not the 3.5 GHz its CPUID claims. */
#define PIT_HZ             1193182u
#define PIT_CH2            0x42
#define PIT_CMD            0x43
#define PIT_CH2_MODE0_LOHI 0xB0       /* counter 2, LSB then MSB, mode 0, binary */
#define PORT_61            0x61
#define PORT_61_GATE2      0x01
#define PORT_61_SPEAKER    0x02
#define PORT_61_OUT2       0x20
#define PIT_WINDOW_PER_S   100u       /* a 10 ms window */

static void check_apic_timer_rate(void)
{
    guest_cpuid_t l15 = guest_cpuid(0x15, 0);
    if (guest_cpuid(0, 0).eax < 0x15 || !l15.ecx) {
        /* As many checks either way: nothing to hold the rate to. */
        guest_env_printf("platform: CPUID.15H enumerates no crystal: timer rate not checked\n");
        CHECK(1, "the LAPIC timer counts at CPUID.15H's crystal rate (none enumerated)");
        return;
    }
    uint16_t count = (uint16_t)(PIT_HZ / PIT_WINDOW_PER_S);
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~(PORT_61_GATE2 | PORT_61_SPEAKER)));
    outb(PIT_CMD, PIT_CH2_MODE0_LOHI);
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    apic_write(APIC_DEFAULT, APIC_REG_LVT_TIMER, APIC_LVT_MASKED | 0x40);
    apic_write(APIC_DEFAULT, APIC_REG_TIMER_DIVIDE, APIC_DIVIDE_BY_1);
    apic_write(APIC_DEFAULT, APIC_REG_TIMER_INITIAL, 0xFFFFFFFFu);
    outb(PORT_61, (uint8_t)(inb(PORT_61) | PORT_61_GATE2));       /* start counting */
    uint32_t c0 = apic_read(APIC_DEFAULT, APIC_REG_TIMER_CURRENT);
    unsigned polls = 0;
    while (!(inb(PORT_61) & PORT_61_OUT2) && ++polls < 10000000u)
        ;
    uint32_t c1 = apic_read(APIC_DEFAULT, APIC_REG_TIMER_CURRENT);
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~PORT_61_GATE2));
    apic_write(APIC_DEFAULT, APIC_REG_TIMER_INITIAL, 0);
    uint32_t want = l15.ecx / PIT_WINDOW_PER_S, got = c0 - c1;
    guest_env_printf("platform: LAPIC timer %u ticks in 10 ms of PIT time (CPUID.15H crystal %u Hz)\n",
                 got, l15.ecx);
    CHECK(c0 > c1 && got > want - want / 100 * 15 && got < want + want / 100 * 15,
          "the LAPIC timer counts at CPUID.15H's crystal rate");
}

/* --- the APIC base: relocation, global disable, re-enable --- */
static void check_apic_base(void)
{
    uint64_t v;
    CHECK(rdmsr_ok(MSR_APIC_BASE, &v) && v == (APIC_DEFAULT | APIC_BSP | APIC_EN),
          "APIC base: 0xFEE00000, BSP, enabled");
    CHECK((apic_read(APIC_DEFAULT, APIC_REG_VERSION) & 0xFF) == APIC_VERSION_LOW,
          "LAPIC version at the default base");
    /* SDM Vol. 4 Table 2-2: BSP is R/W (it only reports). */
    CHECK(wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_EN) && rdmsr_ok(MSR_APIC_BASE, &v) &&
              v == (APIC_DEFAULT | APIC_EN) &&
              wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN), "APIC base: BSP is R/W");
    CHECK(!wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN | 1),
          "APIC base: reserved bit raises #GP");
    CHECK(wrmsr_ok(MSR_APIC_BASE, APIC_MOVED | APIC_BSP | APIC_EN) &&
              rdmsr_ok(MSR_APIC_BASE, &v) && v == (APIC_MOVED | APIC_BSP | APIC_EN),
          "APIC base moved");
    CHECK((apic_read(APIC_MOVED, APIC_REG_VERSION) & 0xFF) == APIC_VERSION_LOW &&
              wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN),
          "LAPIC answers at the new base, and moves back");
    /* x2APIC MSRs outside x2APIC mode raise #GP (SDM Vol. 3A 10.12.1.2). */
    CHECK(!wrmsr_ok(MSR_X2APIC_TPR, 0) && !rdmsr_ok(MSR_X2APIC_TPR, &v),
          "x2APIC MSRs in xAPIC mode raise #GP");
    /* SDM Vol. 3A 10.12.5, Figure 10-27: EXTD without EN is invalid. */
    CHECK(!wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EXTD),
          "APIC base: EXTD without EN raises #GP");
    if (guest_cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC)
        check_x2apic_mode();
    else
        CHECK(!wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN | APIC_EXTD),
              "x2APIC hidden: enabling it raises #GP");
    /* Disabled from either mode (10.12.5), CPUID.1:EDX.APIC follows (10.4.3). */
    CHECK(wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP) &&
              !(guest_cpuid(1, 0).edx & (1u << 9)), "APIC disabled: CPUID.1:EDX.APIC = 0");
    /* SDM 10.4.3: a globally disabled APIC's page is not the APIC's: on
     * this machine nothing answers there (all ones, writes dropped). */
    *(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT + APIC_REG_TPR) = 0x30;
    CHECK(apic_read(APIC_DEFAULT, APIC_REG_VERSION) == 0xFFFFFFFFu &&
              apic_read(APIC_DEFAULT, APIC_REG_TPR) == 0xFFFFFFFFu,
          "disabled APIC: its page reads all ones, a write is dropped");
    /* Disabled -> x2APIC is invalid (10.12.5). Bare Bochs 2.7 takes (and
     * ignores) any write that enables a disabled APIC. */
    CHECK_SDM(!wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN | APIC_EXTD),
              "APIC base: disabled -> x2APIC raises #GP");
    /* Bare Bochs 2.7 ignores the write that enables a disabled APIC again
     * (docs/platforms.md); hence this runs last. */
    CHECK_SDM(wrmsr_ok(MSR_APIC_BASE, APIC_DEFAULT | APIC_BSP | APIC_EN) &&
                  (guest_cpuid(1, 0).edx & (1u << 9)) &&
                  apic_read(APIC_DEFAULT, APIC_REG_SVR) == APIC_SVR_RESET,
              "APIC re-enabled in its power-up state");
}

/* --- MMIO: TEST, XCHG, PUSH, POP on the LAPIC; reserved registers; an
 * instruction at the very end of RAM --- */
#define RAM_END        0x800000u      /* 8 MiB (guest-platform.spec) */
#define TAIL_CODE_GPA  (RAM_END - 8)
#define APIC_REG_RESERVED 0x40
#define APIC_REG_ESR   0x280
#define APIC_ESR_ILLEGAL_REGISTER 0x80

static void check_mmio(void)
{
    uint32_t version_bit = APIC_VERSION_LOW, zf, v;
    uint32_t ver = APIC_DEFAULT + APIC_REG_VERSION, tpr = APIC_DEFAULT + APIC_REG_TPR;
    __asm__ volatile("testl %1, (%2); setz %b0; movzbl %b0, %0"
                     : "=q"(zf) : "r"(version_bit), "r"(ver) : "cc");
    CHECK(zf == 0, "TEST reg on the LAPIC version register");
    __asm__ volatile("testl $0x14, (%1); setz %b0; movzbl %b0, %0" : "=q"(zf) : "r"(ver) : "cc");
    CHECK(zf == 0, "TEST imm on the LAPIC version register");
    __asm__ volatile("pushl (%1); popl %0" : "=r"(v) : "r"(ver) : "memory");
    CHECK((v & 0xFF) == APIC_VERSION_LOW, "PUSH from the LAPIC");
    __asm__ volatile("pushl $0x20; popl (%0)" : : "r"(tpr) : "memory");
    CHECK(apic_read(APIC_DEFAULT, APIC_REG_TPR) == 0x20, "POP to the LAPIC TPR");
    v = 0x30;
    __asm__ volatile("xchgl %0, (%1)" : "+r"(v) : "r"(tpr) : "memory");
    CHECK(v == 0x20 && apic_read(APIC_DEFAULT, APIC_REG_TPR) == 0x30, "XCHG with the LAPIC TPR");
    *(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT + APIC_REG_TPR) = 0;
    /* A reserved register: the write is dropped and logged in the ESR. */
    *(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT + APIC_REG_RESERVED) = 0x1234;
    *(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT + APIC_REG_ESR) = 0;
    CHECK(apic_read(APIC_DEFAULT, APIC_REG_ESR) & APIC_ESR_ILLEGAL_REGISTER,
          "a reserved LAPIC register write is an illegal-register error, not a stop");
    /* mov (%eax), %ecx; ret - in the last bytes of RAM: the VMM must not
     * fetch 15 bytes past the end. */
    static const uint8_t tail[] = { 0x8B, 0x08, 0xC3 };
    volatile uint8_t *dst = (volatile uint8_t *)(uintptr_t)TAIL_CODE_GPA;
    for (unsigned i = 0; i < sizeof(tail); i++)
        dst[i] = tail[i];
    uint32_t got;
    __asm__ volatile("call *%2" : "=c"(got) : "a"(ver), "d"(TAIL_CODE_GPA) : "memory");
    CHECK((got & 0xFF) == APIC_VERSION_LOW, "MMIO instruction in the last bytes of RAM");
}

/* --- MMIO: shifts, bit tests, XADD, CMPXCHG and the string forms on the
 * LAPIC TPR (bits 7:0 read and write back), each carried out by the VMM's
 * emulator (vmm-server/decode); the LAPIC takes 32-bit accesses only. --- */
static uint32_t ram_word = 0x66;

static void check_mmio_forms(void)
{
    volatile uint32_t *tprp = (volatile uint32_t *)(uintptr_t)(APIC_DEFAULT + APIC_REG_TPR);
    uint32_t tpr = APIC_DEFAULT + APIC_REG_TPR, v, flag, si, di, cnt;
    *tprp = 0x11;
    __asm__ volatile("shll $2, (%0)" : : "r"(tpr) : "memory", "cc");
    CHECK(*tprp == 0x44, "SHL by 2 on the LAPIC TPR");
    __asm__ volatile("movb $3, %%cl; shrl %%cl, (%0)" : : "r"(tpr) : "ecx", "memory", "cc");
    CHECK(*tprp == 0x08, "SHR by CL on the LAPIC TPR");
    __asm__ volatile("roll $4, (%0)" : : "r"(tpr) : "memory", "cc");
    CHECK(*tprp == 0x80, "ROL on the LAPIC TPR");
    *tprp = 0x08;
    __asm__ volatile("lock btsl $5, (%1); setc %%dl; movzbl %%dl, %%edx"
                     : "=d"(flag) : "r"(tpr) : "memory", "cc");
    CHECK(flag == 0 && *tprp == 0x28, "LOCK BTS on the LAPIC TPR");
    /* A register bit offset beyond the operand moves it (SDM Vol. 2A BT):
     * 0x70 + 4 * ((128 + 3) >> 5) = 0x80, bit 3 of the TPR. */
    __asm__ volatile("btl %2, (%1); setc %%dl; movzbl %%dl, %%edx"
                     : "=d"(flag) : "r"(APIC_DEFAULT + 0x70), "r"(128u + 3) : "memory", "cc");
    CHECK(flag == 1, "BT with a register offset that reaches the LAPIC TPR");
    v = 0x10;
    __asm__ volatile("lock xaddl %0, (%1)" : "+r"(v) : "r"(tpr) : "memory", "cc");
    CHECK(v == 0x28 && *tprp == 0x38, "XADD with the LAPIC TPR");
    v = 0x38;
    __asm__ volatile("lock cmpxchgl %2, (%1)" : "+a"(v) : "r"(tpr), "r"(0x55u) : "memory", "cc");
    CHECK(v == 0x38 && *tprp == 0x55, "CMPXCHG (equal) on the LAPIC TPR");
    v = 0x11;
    __asm__ volatile("lock cmpxchgl %2, (%1)" : "+a"(v) : "r"(tpr), "r"(0x22u) : "memory", "cc");
    CHECK(v == 0x55 && *tprp == 0x55, "CMPXCHG (unequal) loads the accumulator from the TPR");
    si = (uint32_t)(uintptr_t)&ram_word;
    di = tpr;
    cnt = 1;
    __asm__ volatile("cld; rep movsl" : "+S"(si), "+D"(di), "+c"(cnt) : : "memory");
    CHECK(*tprp == 0x66 && cnt == 0 && di == tpr + 4, "REP MOVS from RAM to the LAPIC TPR");
    si = tpr;
    __asm__ volatile("cld; lodsl" : "=a"(v), "+S"(si) : : "memory");
    CHECK(v == 0x66 && si == tpr + 4, "LODS from the LAPIC TPR");
    di = tpr;
    __asm__ volatile("std; scasl; setz %%dl; movzbl %%dl, %%edx; cld"
                     : "=d"(flag), "+D"(di) : "a"(0x66u) : "memory", "cc");
    CHECK(flag == 1 && di == tpr - 4, "SCAS on the LAPIC TPR, DF = 1");
    si = (uint32_t)(uintptr_t)&ram_word;
    di = tpr;
    __asm__ volatile("cld; cmpsl; setz %%dl; movzbl %%dl, %%edx"
                     : "=d"(flag), "+S"(si), "+D"(di) : : "memory", "cc");
    CHECK(flag == 1 && si == (uint32_t)(uintptr_t)&ram_word + 4, "CMPS of RAM with the LAPIC TPR");
    /* Multiply, divide, CMOVcc, POPCNT with the TPR as the operand. */
    uint32_t hi;
    *tprp = 0x12;
    __asm__ volatile("mull (%2)" : "=a"(v), "=d"(hi) : "r"(tpr), "a"(3u) : "memory", "cc");
    CHECK(v == 0x36 && hi == 0, "MUL by the LAPIC TPR");
    __asm__ volatile("divl (%2)" : "=a"(v), "=d"(hi) : "r"(tpr), "a"(0x100u), "d"(0u) : "memory", "cc");
    CHECK(v == 0x0E && hi == 4, "DIV by the LAPIC TPR");
    *tprp = 1;   /* (SETcc would write a byte: the LAPIC takes dwords only) */
    v = 7;
    __asm__ volatile("testl %%eax, %%eax; cmovzl (%1), %0" : "+r"(v) : "r"(tpr), "a"(0u) : "memory", "cc");
    CHECK(v == 1, "CMOVZ from the LAPIC TPR");
    *tprp = 0xF0;
    __asm__ volatile("popcntl (%1), %0" : "=r"(v) : "r"(tpr) : "memory", "cc");
    CHECK(v == 4, "POPCNT of the LAPIC TPR");
    /* DIV by a zero TPR: the VMM's emulator raises #DE (SDM Vol. 2A DIV),
     * injected as a fault: EAX and EDX as they were (divl (%ecx): 2 bytes). */
    *tprp = 0;
    unsigned de = seen[VEC_DE];
    skip_len = 2;
    __asm__ volatile("divl (%%ecx)" : "=a"(v), "=d"(hi) : "c"(tpr), "a"(0x1234u), "d"(0u)
                     : "memory", "cc");
    CHECK(seen[VEC_DE] == de + 1 && v == 0x1234 && hi == 0, "DIV by a zero LAPIC TPR raises #DE");
    *tprp = 0;
}

/* --- control registers --- */
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));

static void check_cr(void)
{
    uint32_t cr0 = read_cr0(), cr4 = read_cr4();
    /* Writes that flip CR0.NE exit to the VMM, which must check them. */
    CHECK(cr0_gp(((cr0 & ~CR0_CD) ^ CR0_NE) | CR0_NW), "CR0: NW without CD raises #GP");
    CHECK(cr0_gp(((cr0 ^ CR0_NE) | CR0_PG) & ~1u), "CR0: PG without PE raises #GP");
    CHECK(read_cr0() == cr0, "CR0 unchanged by refused writes");
    /* CR4.VMXE is reserved where VMX is not shown (SDM Vol. 3A 2.5). */
    if (guest_cpuid(1, 0).ecx & CPUID_1_ECX_VMX)
        CHECK(!cr4_gp(cr4 | CR4_VMXE) && (read_cr4() & CR4_VMXE) && !cr4_gp(cr4),
              "VMX shown: CR4.VMXE sets and clears");
    else
        CHECK(cr4_gp(cr4 | CR4_VMXE) && !(read_cr4() & CR4_VMXE), "VMX hidden: CR4.VMXE raises #GP");
    CHECK(cr4_gp(cr4 | (1u << 15)), "CR4: reserved bit 15 raises #GP");

    /* Paging on, then CR0.NE flipped (an exit): CR3 and paging survive. */
    for (unsigned i = 0; i < 2; i++)
        page_dir[i] = (i << 22) | PDE_P | PDE_W | PDE_PS;
    page_dir[APIC_DEFAULT >> 22] = (APIC_DEFAULT & ~0x3FFFFFu) | PDE_P | PDE_W | PDE_PCD | PDE_PS;
    write_cr4(cr4 | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)page_dir);
    write_cr0(cr0 | CR0_PG);
    write_cr0(read_cr0() ^ CR0_NE);
    uint32_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    CHECK(cr3 == (uint32_t)(uintptr_t)page_dir, "CR3 kept when CR0.NE changes with paging on");
    CHECK((apic_read(APIC_DEFAULT, APIC_REG_VERSION) & 0xFF) == APIC_VERSION_LOW,
          "LAPIC MMIO through paging after the CR0 exit");
    write_cr0(read_cr0() & ~CR0_PG);
    write_cr0(cr0);
    write_cr4(cr4);

    /* IA-32e mode entered by a CR0 write that exits (PG with NE flipped):
     * the VMM sets EFER.LMA (compatibility mode, CS.L = 0), and clears it
     * when paging goes off. */
    pd[0] = 0 | PDE_P | PDE_W | PDE_PS;
    pd[1] = 0x200000 | PDE_P | PDE_W | PDE_PS;
    pd[2] = 0x400000 | PDE_P | PDE_W | PDE_PS;
    pd[3] = 0x600000 | PDE_P | PDE_W | PDE_PS;
    pdpt[0] = (uint32_t)(uintptr_t)pd | PDE_P | PDE_W;
    pml4[0] = (uint32_t)(uintptr_t)pdpt | PDE_P | PDE_W;
    write_cr4(cr4 | CR4_PAE);
    write_cr3((uint32_t)(uintptr_t)pml4);
    uint64_t efer;
    rdmsr_ok(MSR_EFER, &efer);
    wrmsr_ok(MSR_EFER, efer | EFER_LME);
    write_cr0((cr0 | CR0_PG) ^ CR0_NE);
    uint64_t lm;
    int ok = rdmsr_ok(MSR_EFER, &lm);
    write_cr0(cr0);                                  /* paging off: LMA off */
    uint64_t off;
    rdmsr_ok(MSR_EFER, &off);
    wrmsr_ok(MSR_EFER, efer);
    write_cr4(cr4);
    CHECK(ok && (lm & EFER_LMA), "CR0.PG with EFER.LME (an exiting write) sets EFER.LMA");
    CHECK(!(off & EFER_LMA), "clearing CR0.PG clears EFER.LMA");
}

/* --- XSETBV --- */
static int xsetbv_gp(uint32_t lo)
{
    mark();
    skip_len = 3;
    __asm__ volatile("xsetbv" : : "c"(0), "a"(lo), "d"(0));
    return gp_since();
}

static void check_xsetbv(void)
{
    guest_cpuid_t l1 = guest_cpuid(1, 0);
    if (!(l1.ecx & (1u << 26))) {
        CHECK(1, "no XSAVE shown");
        return;
    }
    write_cr4(read_cr4() | (1u << 18));              /* OSXSAVE */
    CHECK(guest_cpuid(1, 0).ecx & (1u << 27), "CPUID.1:ECX.OSXSAVE follows CR4");
    CHECK(!xsetbv_gp(3), "XSETBV x87|SSE accepted");
    CHECK(xsetbv_gp(0) && xsetbv_gp(2) && xsetbv_gp(5), "XSETBV: no x87, AVX without SSE #GP");
    guest_cpuid_t d0 = guest_cpuid(0xD, 0);
    /* SDM Vol. 1 13.2: EAX/EDX the components XCR0 may hold (x87 and SSE
     * always), EBX the XSAVE area for those XCR0 enables now (x87 | SSE:
     * the 512-byte legacy region and the 64-byte header). */
    guest_env_printf("platform: XCR0 components shown 0x%x\n", d0.eax);
    CHECK((d0.eax & 3) == 3 && d0.ebx == 576, "CPUID.0DH: x87 and SSE shown, size for XCR0 = 3");
    if (d0.eax & 4)
        CHECK(!xsetbv_gp(7) && guest_cpuid(0xD, 0).ebx > 576, "XSETBV AVX accepted, size grows");
    /* Opmask alone: unshown, or shown but without the ZMM components (SDM
     * Vol. 1 13.3: XCR0[7:5] all set or all clear). */
    CHECK(xsetbv_gp(1u << 5 | 7), "XSETBV: opmask without ZMM state raises #GP");
    xsetbv_gp(3);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(VEC_DE, on_fault);
    guest_set_handler(VEC_UD, on_fault);
    guest_set_handler(VEC_GP, on_fault);
    check_cpuid();
    check_msrs();
    check_mmio();
    check_mmio_forms();
    check_apic_timer_rate();
    check_cr();
    check_xsetbv();
    check_apic_base();
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("platform");
}
