/*
 * tests/unit/test_vmm_policy.c - the VMM's CPU policy (vmm-server/cpu_policy.c):
 * the CPUID allow-list against a fake host that has every feature, and the
 * CR0/CR4, XCR0, PAT, MTRR, APIC base, EFER and re-injection rules.
 */
#include "unit.h"
#include "cpu_policy.h"
#include "devices/lapic.h"
#include <string.h>

/* A host with every feature bit set, leaves up to 0x1F / 0x80000008, XCR0
 * components up to AVX-512 and the AVX area at offset 576, 256 bytes. */
static cpuid_regs_t host_all(uint32_t leaf, uint32_t sub)
{
    if (leaf == 0)
        return (cpuid_regs_t){ 0x1F, 0x756E6547, 0x6C65746E, 0x49656E69 };
    if (leaf == 0x80000000)
        return (cpuid_regs_t){ 0x80000008, 0, 0, 0 };
    if (leaf == 0xD && sub == 0)
        return (cpuid_regs_t){ 0xE7, 2688, 2688, 0 };
    if (leaf == 0xD && sub == 2)
        return (cpuid_regs_t){ 256, 576, 0, 0 };
    return (cpuid_regs_t){ 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF };
}

/* A host without XSAVE or AVX. */
static cpuid_regs_t host_noxsave(uint32_t leaf, uint32_t sub)
{
    cpuid_regs_t r = host_all(leaf, sub);
    if (leaf == 1)
        r.ecx &= ~(uint32_t)(CPUID_1_ECX_XSAVE | CPUID_1_ECX_AVX | CPUID_1_ECX_OSXSAVE);
    return r;
}

#define ALL_ONES 0xFFFFFFFFu

static const cpuid_guest_t g_default = { .cr4 = 0, .xcr0 = 1, .apic_enabled = true };

static void test_cpuid_hidden(void)
{
    cpuid_regs_t l1 = cpuid_guest(1, 0, &g_default, host_all);
    CU_ASSERT_FALSE(l1.ecx & CPUID_1_ECX_VMX);
    CU_ASSERT_FALSE(l1.ecx & CPUID_1_ECX_MONITOR);
    CU_ASSERT_FALSE(l1.ecx & CPUID_1_ECX_X2APIC);        /* no LAPIC offering it */
    CU_ASSERT_FALSE(l1.ecx & CPUID_1_ECX_TSC_DEADLINE);  /* the same */
    cpuid_guest_t gx = g_default;
    gx.x2apic = true;
    CU_ASSERT_TRUE(cpuid_guest(1, 0, &gx, host_all).ecx & CPUID_1_ECX_X2APIC);
    CU_ASSERT_FALSE(cpuid_guest(1, 0, &gx, host_all).ecx & CPUID_1_ECX_TSC_DEADLINE);
    gx.tsc_deadline = true;
    CU_ASSERT_TRUE(cpuid_guest(1, 0, &gx, host_all).ecx & CPUID_1_ECX_TSC_DEADLINE);
    gx.tsc_deadline = false;
    /* Leaf 0BH: the x2APIC ID in EDX, SMT and core levels of one, then
     * invalid; nothing where x2APIC is hidden. */
    gx.apic_id = 5;
    cpuid_regs_t t0 = cpuid_guest(0xB, 0, &gx, host_all), t1 = cpuid_guest(0xB, 1, &gx, host_all);
    cpuid_regs_t t2 = cpuid_guest(0xB, 2, &gx, host_all);
    CU_ASSERT_TRUE(t0.eax == 0 && t0.ebx == 1 && t0.ecx == 0x100 && t0.edx == 5);
    CU_ASSERT_TRUE(t1.eax == 0 && t1.ebx == 1 && t1.ecx == 0x201 && t1.edx == 5);
    CU_ASSERT_TRUE(t2.eax == 0 && t2.ebx == 0 && t2.ecx == 2 && t2.edx == 5);
    cpuid_regs_t tn = cpuid_guest(0xB, 0, &g_default, host_all);
    CU_ASSERT_TRUE(tn.eax == 0 && tn.ebx == 0 && tn.ecx == 0 && tn.edx == 0);
    CU_ASSERT_FALSE(l1.ecx & CPUID_1_ECX_PDCM);
    CU_ASSERT_FALSE(l1.ecx & CPUID_1_ECX_OSXSAVE);      /* guest CR4.OSXSAVE = 0 */
    CU_ASSERT_TRUE(l1.ecx & CPUID_1_ECX_HYPERVISOR);
    CU_ASSERT_TRUE(l1.ecx & CPUID_1_ECX_XSAVE);
    CU_ASSERT_TRUE(l1.ecx & CPUID_1_ECX_AVX);
    CU_ASSERT_TRUE(l1.edx & CPUID_1_EDX_SEP);
    CU_ASSERT_TRUE(l1.edx & CPUID_1_EDX_APIC);
    CU_ASSERT_EQUAL(l1.ebx >> 16, 1);                    /* one processor, APIC ID 0 */
    cpuid_regs_t l7 = cpuid_guest(7, 0, &g_default, host_all);
    CU_ASSERT_FALSE(l7.ebx & CPUID_7_EBX_INVPCID);
    CU_ASSERT_EQUAL(l7.eax, 0);
    cpuid_regs_t pmu = cpuid_guest(0xA, 0, &g_default, host_all);
    CU_ASSERT_TRUE(pmu.eax == 0 && pmu.ebx == 0 && pmu.ecx == 0 && pmu.edx == 0);
    cpuid_regs_t x1 = cpuid_guest(0x80000001, 0, &g_default, host_all);
    CU_ASSERT_FALSE(x1.edx & CPUID_81_EDX_RDTSCP);      /* the control is not on */
    CU_ASSERT_TRUE(x1.edx & (1u << 29));                 /* LM */
    /* SYSCALL: shown in 64-bit mode only (SDM Vol. 2A Table 3-8); EFER.SCE
     * stays writable outside it. */
    CU_ASSERT_FALSE(x1.edx & CPUID_81_EDX_SYSCALL);
    cpuid_guest_t g64 = g_default;
    g64.long64 = true;
    CU_ASSERT_TRUE(cpuid_guest(0x80000001, 0, &g64, host_all).edx & CPUID_81_EDX_SYSCALL);
    CU_ASSERT_TRUE(efer_allowed(host_all) & X86_EFER_SCE);
    cpuid_regs_t d1 = cpuid_guest(0xD, 1, &g_default, host_all);
    CU_ASSERT_FALSE(d1.eax & CPUID_D1_EAX_XSAVES);
    CU_ASSERT_EQUAL(cpuid_guest(0, 0, &g_default, host_all).eax, CPUID_MAX_BASIC);
    CU_ASSERT_EQUAL(cpuid_guest(0x80000000, 0, &g_default, host_all).eax, CPUID_MAX_EXTENDED);
    cpuid_regs_t beyond = cpuid_guest(0x1F, 0, &g_default, host_all);
    CU_ASSERT_TRUE(beyond.eax == 0 && beyond.ebx == 0);
    cpuid_regs_t hv = cpuid_guest(CPUID_HV_LEAF, 0, &g_default, host_all);
    CU_ASSERT_EQUAL(hv.ebx, 0x7473654E);
}

static void test_cpuid_dynamic(void)
{
    cpuid_guest_t g = g_default;
    g.cr4 = X86_CR4_OSXSAVE;
    g.apic_enabled = false;
    cpuid_regs_t l1 = cpuid_guest(1, 0, &g, host_all);
    CU_ASSERT_TRUE(l1.ecx & CPUID_1_ECX_OSXSAVE);
    CU_ASSERT_FALSE(l1.edx & CPUID_1_EDX_APIC);
    /* Leaf 0DH: x87, SSE, AVX only; sizes for the guest's XCR0. */
    cpuid_regs_t d0 = cpuid_guest(0xD, 0, &g, host_all);
    CU_ASSERT_EQUAL(d0.eax, 7);
    CU_ASSERT_EQUAL(d0.edx, 0);
    CU_ASSERT_EQUAL(d0.ebx, 576);
    CU_ASSERT_EQUAL(d0.ecx, 832);
    g.xcr0 = 7;
    CU_ASSERT_EQUAL(cpuid_guest(0xD, 0, &g, host_all).ebx, 832);
    CU_ASSERT_EQUAL(cpuid_guest(0xD, 5, &g, host_all).eax, 0);   /* AVX-512: not shown */
    /* No XSAVE on the host: none shown, no components. */
    cpuid_regs_t n1 = cpuid_guest(1, 0, &g, host_noxsave);
    CU_ASSERT_FALSE(n1.ecx & (CPUID_1_ECX_XSAVE | CPUID_1_ECX_AVX | CPUID_1_ECX_OSXSAVE));
    CU_ASSERT_EQUAL(cpuid_guest(0xD, 0, &g, host_noxsave).eax, 0);
    CU_ASSERT_EQUAL(xcr0_allowed(host_noxsave), 0);
    CU_ASSERT_FALSE(cr4_allowed(host_noxsave) & X86_CR4_OSXSAVE);
}

static void test_cr0(void)
{
    cr_state_t cur = { .cr0 = X86_CR0_PE | X86_CR0_ET, .cr4 = 0, .efer = 0 }, out;
    CU_ASSERT_FALSE(cr0_write(&cur, false, 1ULL << 32 | X86_CR0_PE, &out));
    CU_ASSERT_FALSE(cr0_write(&cur, false, X86_CR0_PG, &out));              /* PG, no PE */
    CU_ASSERT_FALSE(cr0_write(&cur, false, X86_CR0_PE | X86_CR0_NW, &out)); /* NW, no CD */
    CU_ASSERT_TRUE(cr0_write(&cur, false, X86_CR0_PE | X86_CR0_NW | X86_CR0_CD, &out));
    CU_ASSERT_TRUE(cr0_write(&cur, false, X86_CR0_PE | X86_CR0_NE | (1u << 6), &out));
    CU_ASSERT_EQUAL(out.cr0, X86_CR0_PE | X86_CR0_NE | X86_CR0_ET);      /* reserved ignored */
    /* PG with LME: LMA, or #GP without PAE. */
    cur.efer = X86_EFER_LME;
    CU_ASSERT_FALSE(cr0_write(&cur, false, X86_CR0_PE | X86_CR0_PG, &out));
    cur.cr4 = X86_CR4_PAE;
    CU_ASSERT_TRUE(cr0_write(&cur, false, X86_CR0_PE | X86_CR0_PG | X86_CR0_NE, &out));
    CU_ASSERT_EQUAL(out.efer, X86_EFER_LME | X86_EFER_LMA);
    /* Clearing PG: LMA off (compatibility mode), #GP in 64-bit mode. */
    cur = out;
    CU_ASSERT_FALSE(cr0_write(&cur, true, X86_CR0_PE, &out));
    CU_ASSERT_TRUE(cr0_write(&cur, false, X86_CR0_PE, &out));
    CU_ASSERT_EQUAL(out.efer, X86_EFER_LME);
    /* Setting NE with paging on keeps everything else. */
    CU_ASSERT_TRUE(cr0_write(&cur, true, cur.cr0 | X86_CR0_NE, &out));
    CU_ASSERT_EQUAL(out.efer, cur.efer);
}

static cpuid_regs_t host_nonx(uint32_t leaf, uint32_t sub)
{
    cpuid_regs_t r = host_all(leaf, sub);
    if (leaf == 0x80000001)
        r.edx &= ~(uint32_t)(1u << 20);
    return r;
}

static void test_efer_allowed(void)
{
    CU_ASSERT_EQUAL(efer_allowed(host_all), X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE);
    CU_ASSERT_EQUAL(efer_allowed(host_nonx), X86_EFER_SCE | X86_EFER_LME);
}

static void test_cr4(void)
{
    uint64_t ok = cr4_allowed(host_all);
    CU_ASSERT_FALSE(ok & X86_CR4_VMXE);
    CU_ASSERT_FALSE(ok & X86_CR4_SMXE);
    CU_ASSERT_FALSE(ok & X86_CR4_PKE);
    CU_ASSERT_FALSE(ok & X86_CR4_LA57);
    CU_ASSERT_TRUE(ok & X86_CR4_OSXSAVE);
    cr_state_t cur = { .cr0 = X86_CR0_PE, .cr4 = 0, .efer = 0 }, out;
    CU_ASSERT_FALSE(cr4_write(&cur, 0, X86_CR4_VMXE, ok, &out));
    CU_ASSERT_FALSE(cr4_write(&cur, 0, 1ULL << 15, ok, &out));              /* reserved */
    CU_ASSERT_TRUE(cr4_write(&cur, 0, X86_CR4_PAE | X86_CR4_OSFXSR, ok, &out));
    CU_ASSERT_EQUAL(out.cr4, X86_CR4_PAE | X86_CR4_OSFXSR);
    CU_ASSERT_FALSE(cr4_write(&cur, 0, X86_CR4_PCIDE, ok, &out));           /* not IA-32e */
    cur.efer = X86_EFER_LME | X86_EFER_LMA;
    cur.cr4 = X86_CR4_PAE;
    CU_ASSERT_FALSE(cr4_write(&cur, 0, 0, ok, &out));                       /* PAE off in LM */
    CU_ASSERT_FALSE(cr4_write(&cur, 0x1000 | 1, X86_CR4_PAE | X86_CR4_PCIDE, ok, &out));
    CU_ASSERT_TRUE(cr4_write(&cur, 0x1000, X86_CR4_PAE | X86_CR4_PCIDE, ok, &out));
}

static void test_xcr0(void)
{
    uint64_t ok = xcr0_allowed(host_all);
    CU_ASSERT_EQUAL(ok, 7);
    CU_ASSERT_TRUE(xcr0_valid(0, 1, 0, ok));
    CU_ASSERT_TRUE(xcr0_valid(0, 3, 0, ok));
    CU_ASSERT_TRUE(xcr0_valid(0, 7, 0, ok));
    CU_ASSERT_FALSE(xcr0_valid(1, 1, 0, ok));           /* ECX != 0 */
    CU_ASSERT_FALSE(xcr0_valid(0, 0, 0, ok));           /* x87 clear */
    CU_ASSERT_FALSE(xcr0_valid(0, 5, 0, ok));           /* AVX without SSE */
    CU_ASSERT_FALSE(xcr0_valid(0, 0xE7, 0, ok));        /* AVX-512: not allowed */
    CU_ASSERT_FALSE(xcr0_valid(0, 1ULL << 40 | 1, 0, ok));
    CU_ASSERT_FALSE(xcr0_valid(0, 3, 3, ok));           /* CPL 3 */
}

static void test_msr_rules(void)
{
    CU_ASSERT_TRUE(pat_valid(X86_PAT_RESET));
    CU_ASSERT_TRUE(pat_valid(0x0606060606060606ULL));
    CU_ASSERT_TRUE(pat_valid(0x0701050400000000ULL));
    CU_ASSERT_FALSE(pat_valid(0x0000000000000002ULL));
    CU_ASSERT_FALSE(pat_valid(0x0300000000000000ULL));
    CU_ASSERT_FALSE(pat_valid(0x0000000800000000ULL));
    CU_ASSERT_FALSE(pat_valid(0x00000000000000FFULL));
    CU_ASSERT_TRUE(mtrr_def_type_valid(X86_MTRR_DEF_E | X86_MT_WB));
    CU_ASSERT_TRUE(mtrr_def_type_valid(X86_MT_UC));
    CU_ASSERT_FALSE(mtrr_def_type_valid(X86_MTRR_DEF_FE | X86_MTRR_DEF_E | X86_MT_WB));
    CU_ASSERT_FALSE(mtrr_def_type_valid(2));
    CU_ASSERT_FALSE(mtrr_def_type_valid(1u << 12));
    uint64_t reset = X86_APIC_BASE_RESET;
    CU_ASSERT_TRUE(apic_base_valid(reset, reset, 39, true));
    CU_ASSERT_TRUE(apic_base_valid(reset, 0xFEA00000 | X86_APIC_BASE_BSP | X86_APIC_BASE_EN, 39, true));
    CU_ASSERT_TRUE(apic_base_valid(reset, 0xFEE00000 | X86_APIC_BASE_BSP, 39, true));   /* disable */
    CU_ASSERT_TRUE(apic_base_valid(reset, 0xFEE00000 | X86_APIC_BASE_EN, 39, true));    /* BSP R/W */
    CU_ASSERT_TRUE(apic_base_valid(0xFEE00000 | X86_APIC_BASE_EN, reset, 39, true));
    CU_ASSERT_FALSE(apic_base_valid(reset, reset | 1, 39, true));
    CU_ASSERT_FALSE(apic_base_valid(reset, reset | 1ULL << 39, 39, true));
    /* x2APIC (SDM Vol. 3A 10.12.5, Figure 10-27): EXTD reserved where not
     * offered; xAPIC -> x2APIC -> disabled -> xAPIC; never x2APIC -> xAPIC,
     * disabled -> x2APIC or EXTD without EN. */
    const uint64_t x2 = reset | X86_APIC_BASE_EXTD, off = 0xFEE00000 | X86_APIC_BASE_BSP;
    CU_ASSERT_FALSE(apic_base_valid(reset, x2, 39, false));
    CU_ASSERT_TRUE(apic_base_valid(reset, x2, 39, true));
    CU_ASSERT_TRUE(apic_base_valid(x2, x2, 39, true));
    CU_ASSERT_FALSE(apic_base_valid(x2, reset, 39, true));
    CU_ASSERT_TRUE(apic_base_valid(x2, off, 39, true));
    CU_ASSERT_FALSE(apic_base_valid(off, x2, 39, true));
    CU_ASSERT_TRUE(apic_base_valid(off, reset, 39, true));
    CU_ASSERT_FALSE(apic_base_valid(reset, off | X86_APIC_BASE_EXTD, 39, true));
    CU_ASSERT_FALSE(apic_base_valid(x2, off | X86_APIC_BASE_EXTD, 39, true));
    uint64_t efer;
    uint64_t allowed = X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE;
    CU_ASSERT_TRUE(efer_write(0, X86_EFER_SCE, 0, allowed, &efer));
    CU_ASSERT_EQUAL(efer, X86_EFER_SCE);
    CU_ASSERT_FALSE(efer_write(0, 2, 0, allowed, &efer));
    CU_ASSERT_FALSE(efer_write(0, X86_EFER_LME, X86_CR0_PG, allowed, &efer));
    CU_ASSERT_TRUE(efer_write(X86_EFER_LME | X86_EFER_LMA, X86_EFER_LME, X86_CR0_PG, allowed,
                              &efer));
    CU_ASSERT_EQUAL(efer, X86_EFER_LME | X86_EFER_LMA);                 /* LMA read-only */
    CU_ASSERT_TRUE(x86_canonical(0x00007FFFFFFFFFFFULL));
    CU_ASSERT_TRUE(x86_canonical(0xFFFF800000000000ULL));
    CU_ASSERT_FALSE(x86_canonical(0x0000800000000000ULL));
}

static void test_reinject(void)
{
    uint32_t info, err, len;
    CU_ASSERT_FALSE(idt_reinject(0, 0, 0, &info, &err, &len));
    /* #PF with its error code: hardware exception, no length. */
    CU_ASSERT_TRUE(idt_reinject(X86_INTR_VALID | X86_INTR_TYPE_HW_EXC | X86_INTR_DELIVER_ERR |
                                X86_BIT(12) | X86_VEC_PF, 6, 3, &info, &err, &len));
    CU_ASSERT_EQUAL(info, X86_INTR_VALID | X86_INTR_TYPE_HW_EXC | X86_INTR_DELIVER_ERR |
                          X86_VEC_PF);
    CU_ASSERT_EQUAL(err, 6);
    CU_ASSERT_EQUAL(len, 0);
    /* INT 0x80: a software interrupt keeps its instruction length. */
    CU_ASSERT_TRUE(idt_reinject(X86_INTR_VALID | X86_INTR_TYPE_SW_INT | 0x80, 0, 2, &info, &err,
                                &len));
    CU_ASSERT_EQUAL(len, 2);
    CU_ASSERT_EQUAL(err, 0);
    /* An external interrupt. */
    CU_ASSERT_TRUE(idt_reinject(X86_INTR_VALID | 0x20, 0, 5, &info, &err, &len));
    CU_ASSERT_EQUAL(info, X86_INTR_VALID | 0x20);
    CU_ASSERT_EQUAL(len, 0);
}

static void test_exception_class(void)
{
    /* SDM Vol. 3A Table 6-1: the faults, and the rest. */
    static const unsigned faults[] = { X86_VEC_DE, X86_VEC_BR, X86_VEC_UD, X86_VEC_NM,
                                       X86_VEC_TS, X86_VEC_NP, X86_VEC_SS, X86_VEC_GP,
                                       X86_VEC_PF, X86_VEC_MF, X86_VEC_AC, X86_VEC_XM,
                                       X86_VEC_VE, X86_VEC_CP };
    unsigned n = 0;
    for (unsigned v = 0; v < 256; v++) {
        bool fault = false;
        for (unsigned i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
            fault |= faults[i] == v;
        CU_ASSERT_EQUAL(x86_exception_is_fault(v), fault);
        n += x86_exception_is_fault(v);
    }
    CU_ASSERT_EQUAL(n, 14);
    CU_ASSERT_FALSE(x86_exception_is_fault(X86_VEC_DB));   /* fault or trap by cause */
    CU_ASSERT_FALSE(x86_exception_is_fault(X86_VEC_BP));
    CU_ASSERT_FALSE(x86_exception_is_fault(X86_VEC_DF));   /* an abort */
    CU_ASSERT_FALSE(x86_exception_is_fault(X86_VEC_MC));   /* an abort */
}

static void test_event_merge(void)
{
    const uint32_t hw = X86_INTR_VALID | X86_INTR_TYPE_HW_EXC;
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_GP, X86_VEC_NP), EVENT_DOUBLE_FAULT);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_GP, X86_VEC_PF), EVENT_SERIAL);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_PF, X86_VEC_PF), EVENT_DOUBLE_FAULT);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_PF, X86_VEC_GP), EVENT_DOUBLE_FAULT);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_PF, X86_VEC_UD), EVENT_SERIAL);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_DF, X86_VEC_GP), EVENT_TRIPLE_FAULT);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_DF, X86_VEC_DB), EVENT_SERIAL);
    CU_ASSERT_EQUAL(event_merge(hw | X86_VEC_UD, X86_VEC_GP), EVENT_SERIAL);
    CU_ASSERT_EQUAL(event_merge(X86_INTR_VALID | 0x20, X86_VEC_GP), EVENT_SERIAL);
    CU_ASSERT_EQUAL(event_merge(X86_INTR_VALID | X86_INTR_TYPE_SW_INT | X86_VEC_GP, X86_VEC_GP),
                    EVENT_SERIAL);
    CU_ASSERT_EQUAL(event_merge(0, X86_VEC_GP), EVENT_SERIAL);
}

/* NMI injection (SDM Vol. 3C 26.3.1.5, 26.6): blocked by (virtual-)NMI
 * blocking and by the STI/MOV SS shadows, never by RFLAGS.IF; behind any
 * other event of the same entry. */
static void test_vmx_timer_units(void)
{
    /* SDM Vol. 3C 25.5.1: one unit per 2^rate TSC ticks; rounded up so
     * that the timer never runs out before the deadline. */
    CU_ASSERT_EQUAL(vmx_timer_units(1000000, 50003, 0), 50003);         /* 1 ms at Bochs's rate */
    CU_ASSERT_EQUAL(vmx_timer_units(1, 50003, 0), 1);                   /* 0.05 ticks: 1 */
    CU_ASSERT_EQUAL(vmx_timer_units(0, 50003, 0), 1);                   /* never 0 (off) */
    CU_ASSERT_EQUAL(vmx_timer_units(1000, 3000000, 5), 94);             /* 3000 ticks / 32 = 93.75 */
    CU_ASSERT_EQUAL(vmx_timer_units(1000, 3200000, 5), 100);            /* exactly 100 */
    CU_ASSERT_EQUAL(vmx_timer_units(1500000, 2000000, 1), 1500000);     /* 3,000,000 / 2 */
    /* Long waits are cut to VMX_TIMER_MAX_NS, without overflow at a fast TSC. */
    CU_ASSERT_EQUAL(vmx_timer_units(UINT64_MAX, 1000000, 0), VMX_TIMER_MAX_NS);
    CU_ASSERT_EQUAL(vmx_timer_units(VMX_TIMER_MAX_NS, 5000000, 0), VMX_TIMER_MAX_NS * 5);
    CU_ASSERT_EQUAL(vmx_timer_units(1000000, 1, 70), 1);                /* rate out of range */
    /* Never short: units << rate covers ns * tsc_per_ms / 1e6. */
    for (uint64_t ns = 1; ns < 5000000; ns = ns * 3 + 7)
        for (unsigned rate = 0; rate < 8; rate++) {
            uint64_t u = vmx_timer_units(ns, 50003, rate);
            CU_ASSERT_TRUE((u << rate) * 1000000 >= ns * 50003);
            CU_ASSERT_TRUE(((u - 1) << rate) * 1000000 < ns * 50003 + 1000000);
        }
}

static void test_nmi_decide(void)
{
    CU_ASSERT_EQUAL(nmi_decide(false, false, 0), NMI_NONE);
    CU_ASSERT_EQUAL(nmi_decide(false, true, X86_INTR_BLOCK_NMI), NMI_NONE);
    CU_ASSERT_EQUAL(nmi_decide(true, false, 0), NMI_INJECT);
    CU_ASSERT_EQUAL(nmi_decide(true, false, X86_INTR_BLOCK_NMI), NMI_WAIT);
    CU_ASSERT_EQUAL(nmi_decide(true, false, X86_INTR_BLOCK_STI), NMI_WAIT);
    CU_ASSERT_EQUAL(nmi_decide(true, false, X86_INTR_BLOCK_MOVSS), NMI_WAIT);
    CU_ASSERT_EQUAL(nmi_decide(true, true, 0), NMI_WAIT);
    /* Blocking by SMI (bit 2) and enclave interruption (bit 4) do not
     * hold an NMI back here. */
    CU_ASSERT_EQUAL(nmi_decide(true, false, X86_BIT(2) | X86_BIT(4)), NMI_INJECT);
}

/* Time: RDTSCP where the VMM enabled it (and the host has it), TSC_ADJUST
 * always (emulated), leaves 15H/16H as the host has them. */
static cpuid_regs_t host_no_rdtscp(uint32_t leaf, uint32_t sub)
{
    cpuid_regs_t r = host_all(leaf, sub);
    if (leaf == 0x80000001)
        r.edx &= ~(uint32_t)CPUID_81_EDX_RDTSCP;
    if (leaf == 7)
        r.ebx &= ~(uint32_t)CPUID_7_EBX_TSC_ADJUST;
    return r;
}

/* Leaf 15H/16H of a host: @l15 and the base frequency @mhz (0: 16H absent). */
static cpuid_regs_t host_l15, host_l16;

static cpuid_regs_t host_tsc(uint32_t leaf, uint32_t sub)
{
    if (leaf == 0x15)
        return host_l15;
    if (leaf == 0x16)
        return host_l16;
    return host_all(leaf, sub);
}

static cpuid_regs_t l15_of(cpuid_regs_t l15, uint32_t base_mhz)
{
    host_l15 = l15;
    host_l16 = (cpuid_regs_t){ base_mhz, base_mhz, 100, 0 };
    return cpuid_guest(0x15, 0, &g_default, host_tsc);
}

/* Leaf 15H rewritten so that the LAPIC timer's clock is the crystal the
 * guest is told (SDM Vol. 3A 10.5.4) and the TSC keeps its frequency. */
static void test_cpuid_tsc_leaf(void)
{
    /* Bochs's Skylake-X: ratio 292/2, crystal not enumerated, base 3500 MHz:
     * TSC 3.5 GHz = 10^9 * 7/2. */
    cpuid_regs_t r = l15_of((cpuid_regs_t){ 2, 292, 0, 0 }, 3500);
    CU_ASSERT_TRUE(r.ecx == LAPIC_BUS_HZ && r.ebx == 7 && r.eax == 2);
    /* A 24 MHz crystal with ratio 292/2: 3.504 GHz = 10^9 * 438/125. */
    r = l15_of((cpuid_regs_t){ 2, 292, 24000000, 0 }, 3500);
    CU_ASSERT_TRUE(r.ecx == LAPIC_BUS_HZ && r.ebx == 438 && r.eax == 125);
    /* No exact 32-bit ratio (two large primes): the TSC in kHz over 10^6. */
    r = l15_of((cpuid_regs_t){ 4294967291u, 4294967279u, 25000000, 0 }, 0);
    CU_ASSERT_TRUE(r.ecx == LAPIC_BUS_HZ && r.ebx == 24999 && r.eax == 1000000);
    /* Nothing to go on: 15H reads 0 (the guest calibrates its timer). */
    r = l15_of((cpuid_regs_t){ 0, 0, 24000000, 0 }, 3500);
    CU_ASSERT_TRUE(r.eax == 0 && r.ebx == 0 && r.ecx == 0 && r.edx == 0);
    r = l15_of((cpuid_regs_t){ 2, 292, 0, 0 }, 0);
    CU_ASSERT_TRUE(r.eax == 0 && r.ebx == 0 && r.ecx == 0 && r.edx == 0);
    r = l15_of((cpuid_regs_t){ 2, 0, 24000000, 0 }, 3500);
    CU_ASSERT_TRUE(r.eax == 0 && r.ebx == 0 && r.ecx == 0);
    /* A TSC below 1 kHz with no exact ratio: not enumerated rather than 0/x. */
    r = l15_of((cpuid_regs_t){ 4294967291u, 1, 1000, 0 }, 0);
    CU_ASSERT_TRUE(r.eax == 0 && r.ebx == 0 && r.ecx == 0);
}

static void test_cpuid_time(void)
{
    cpuid_guest_t g = g_default;
    g.rdtscp = true;
    CU_ASSERT_TRUE(cpuid_guest(0x80000001, 0, &g, host_all).edx & CPUID_81_EDX_RDTSCP);
    CU_ASSERT_FALSE(cpuid_guest(0x80000001, 0, &g, host_no_rdtscp).edx & CPUID_81_EDX_RDTSCP);
    CU_ASSERT_TRUE(cpuid_guest(7, 0, &g_default, host_no_rdtscp).ebx & CPUID_7_EBX_TSC_ADJUST);
    CU_ASSERT_FALSE(cpuid_guest(7, 1, &g_default, host_all).ebx & CPUID_7_EBX_TSC_ADJUST);
    /* RDPID: shown exactly where the RDTSCP control is on (it enables both,
     * SDM Vol. 3C 25.3) and the host has it. */
    CU_ASSERT_TRUE(cpuid_guest(7, 0, &g, host_all).ecx & CPUID_7_ECX_RDPID);
    CU_ASSERT_FALSE(cpuid_guest(7, 0, &g_default, host_all).ecx & CPUID_7_ECX_RDPID);
    CU_ASSERT_FALSE(cpuid_guest(7, 1, &g, host_all).ecx & CPUID_7_ECX_RDPID);
    /* 15H: the crystal is the LAPIC model's clock, the TSC frequency
     * (ECX * EBX / EAX) the host's: 2^32-1 Hz * (2^32-1) / (2^32-1) =
     * 10^9 * (2^32-1) / 10^9, reduced by their common factor 5. */
    cpuid_regs_t l15 = cpuid_guest(0x15, 0, &g_default, host_all);
    CU_ASSERT_TRUE(l15.ecx == LAPIC_BUS_HZ && l15.ebx == ALL_ONES / 5 &&
                   l15.eax == LAPIC_BUS_HZ / 5 && l15.edx == 0);
    cpuid_regs_t l16 = cpuid_guest(0x16, 0, &g_default, host_all);
    CU_ASSERT_TRUE(l16.eax == 0xFFFF && l16.ebx == 0xFFFF && l16.ecx == 0xFFFF && l16.edx == 0);
    /* Leaves between the shown ones (SGX 12H, PT 14H) read 0. */
    cpuid_regs_t l12 = cpuid_guest(0x12, 0, &g_default, host_all);
    CU_ASSERT_TRUE(l12.eax == 0 && l12.ebx == 0 && l12.ecx == 0 && l12.edx == 0);
    cpuid_regs_t l14 = cpuid_guest(0x14, 0, &g_default, host_all);
    CU_ASSERT_TRUE(l14.eax == 0 && l14.ebx == 0 && l14.ecx == 0 && l14.edx == 0);
}

UNIT_SUITE(vmm_policy_suite)
{
    CU_pSuite s = CU_add_suite("vmm cpu policy", NULL, NULL);
    CU_add_test(s, "CPUID hides what the VMCS does not give", test_cpuid_hidden);
    CU_add_test(s, "CPUID follows CR4, XCR0, APIC base", test_cpuid_dynamic);
    CU_add_test(s, "CPUID time: RDTSCP, TSC_ADJUST, leaves 15H/16H", test_cpuid_time);
    CU_add_test(s, "CPUID 15H: the LAPIC clock as crystal, the host's TSC rate", test_cpuid_tsc_leaf);
    CU_add_test(s, "MOV to CR0 rules and LMA", test_cr0);
    CU_add_test(s, "MOV to CR4 rules", test_cr4);
    CU_add_test(s, "EFER bits follow CPUID", test_efer_allowed);
    CU_add_test(s, "XSETBV rules", test_xcr0);
    CU_add_test(s, "PAT, MTRR, APIC base, EFER, canonical", test_msr_rules);
    CU_add_test(s, "IDT-vectoring re-injection", test_reinject);
    CU_add_test(s, "exceptions during delivery (Table 6-5)", test_event_merge);
    CU_add_test(s, "fault-class exceptions (Table 6-1)", test_exception_class);
    CU_add_test(s, "NMI injection or NMI window", test_nmi_decide);
    CU_add_test(s, "VMX-preemption timer units for a deadline", test_vmx_timer_units);
}
