/*
 * vmm-server/cpu_policy.c - the CPUID allow-list and the architectural rules
 * of CR, XCR0 and MSR writes (see cpu_policy.h). Feature bits: SDM Vol. 2A
 * CPUID (Tables 3-8 .. 3-10, leaves 07H, 0DH, 80000001H); each row of the
 * table says why a feature is shown.
 */
#include "cpu_policy.h"
#include "devices/lapic.h"

#define ALL 0xFFFFFFFFu
#define ANY_SUB 0xFFFFFFFFu

enum { R_EAX, R_EBX, R_ECX, R_EDX };

/* One row: the bits of (leaf, subleaf) register reg the guest may see of the
 * host's value. Leaves and registers not listed read as 0. */
typedef struct {
    uint32_t leaf, sub;
    uint8_t reg;
    uint32_t bits;
} cpuid_allow_t;

#define B(n) (1u << (n))

static const cpuid_allow_t allow[] = {
    /* Leaf 0: vendor string (EAX, the highest basic leaf, is clamped below). */
    { 0x0, ANY_SUB, R_EBX, ALL }, { 0x0, ANY_SUB, R_ECX, ALL }, { 0x0, ANY_SUB, R_EDX, ALL },
    /* Leaf 1 EAX: family, model, stepping. EBX: brand index, CLFLUSH size
     * (15:0); 23:16 and the APIC ID are set below (one logical processor). */
    { 0x1, ANY_SUB, R_EAX, ALL }, { 0x1, ANY_SUB, R_EBX, 0xFFFF },
    /* Leaf 1 ECX. Shown: SSE3 0, PCLMULQDQ 1, SSSE3 9, FMA 12, CMPXCHG16B 13,
     * PCID 17 (CR4.PCIDE: guest paging under EPT/VPID), SSE4.1 19, SSE4.2 20,
     * MOVBE 22, POPCNT 23, AES 25, XSAVE 26 (XCR0 switched per vCPU,
     * XSETBV emulated), AVX 28, F16C 29, RDRAND 30 (no RDRAND exiting: runs
     * natively). OSXSAVE 27 and the hypervisor bit 31 are set below. Hidden:
     * DTES64 2, MONITOR 3 (MONITOR/MWAIT exit and #UD), DS-CPL 4, VMX 5 (no
     * nested VMX), SMX 6, EIST 7, TM2 8, CNXT-ID 10, SDBG 11, xTPR 14, PDCM 15
     * (no PMU), DCA 18, x2APIC 21 (set below where the VM has a LAPIC: the
     * model has the x2APIC MSRs), TSC-deadline 24 (set below where the VM
     * has a LAPIC: the model has the mode, msr.c IA32_TSC_DEADLINE). */
    { 0x1, ANY_SUB, R_ECX, B(0) | B(1) | B(9) | B(12) | B(13) | B(17) | B(19) | B(20) | B(22) |
                           B(23) | B(25) | B(26) | B(28) | B(29) | B(30) },
    /* Leaf 1 EDX. Shown: FPU 0, VME 1, DE 2, PSE 3, TSC 4, MSR 5, PAE 6, MCE 7,
     * CX8 8, APIC 9 (while IA32_APIC_BASE.EN, below), SEP 11 (SYSENTER MSRs
     * are VMCS guest fields, NESTOR_MTD_MSRS), MTRR 12 (MTRRcap 0: no
     * variable/fixed ranges, only IA32_MTRR_DEF_TYPE), PGE 13, CMOV 15, PAT 16,
     * PSE-36 17, CLFSH 19, MMX 23, FXSR 24, SSE 25, SSE2 26. Hidden: MCA 14
     * (no machine-check MSRs), PSN 18, DS 21, ACPI 22, SS 27, HTT 28, TM 29,
     * PBE 31. */
    { 0x1, ANY_SUB, R_EDX, B(0) | B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | B(9) |
                           B(11) | B(12) | B(13) | B(15) | B(16) | B(17) | B(19) | B(23) |
                           B(24) | B(25) | B(26) },
    /* Leaf 2: cache and TLB descriptors. */
    { 0x2, ANY_SUB, R_EAX, ALL }, { 0x2, ANY_SUB, R_EBX, ALL }, { 0x2, ANY_SUB, R_ECX, ALL },
    { 0x2, ANY_SUB, R_EDX, ALL },
    /* Leaf 4: deterministic cache parameters; EAX 31:14 (cores and threads
     * sharing) read 0: one logical processor. */
    { 0x4, ANY_SUB, R_EAX, 0x3FFF }, { 0x4, ANY_SUB, R_EBX, ALL }, { 0x4, ANY_SUB, R_ECX, ALL },
    { 0x4, ANY_SUB, R_EDX, ALL },
    /* Leaf 7 subleaf 0 (EAX = 0: no further subleaves). EBX shown: FSGSBASE 0,
     * BMI1 3, AVX2 5, FDP_EXCPTN_ONLY 6, SMEP 7, BMI2 8, ERMS 9, FPU CS/DS
     * deprecation 13, RDSEED 18 (no RDSEED exiting), ADX 19, SMAP 20,
     * CLFLUSHOPT 23, CLWB 24, SHA 29; TSC_ADJUST 1 is set below (the MSR is
     * emulated, msr.c, whatever the host has). Hidden: SGX 2, HLE 4 and
     * RTM 11, INVPCID 10 (the secondary control is off: #UD), RDT 12/15, MPX
     * 14, AVX-512 16/17/21/26-28/30/31 (XCR0 components not allowed), PT 25.
     * ECX shown: UMIP 2, GFNI 8, VAES 9, VPCLMULQDQ 10; hidden: PKU 3 / OSPKE 4
     * (PKRU not switched), WAITPKG 5 (user-wait control off), LA57 16,
     * everything else; RDPID 22 is set in cpuid_guest_state where the
     * RDTSCP control is on (it enables both). EDX: FSRM 4. */
    { 0x7, 0, R_EBX, B(0) | B(3) | B(5) | B(6) | B(7) | B(8) | B(9) | B(13) | B(18) | B(19) |
                     B(20) | B(23) | B(24) | B(29) },
    { 0x7, 0, R_ECX, B(2) | B(8) | B(9) | B(10) },
    { 0x7, 0, R_EDX, B(4) },
    /* Leaf 0AH (performance monitoring): 0; 0BH (x2APIC topology) is set in
     * cpuid_guest_state where x2APIC is shown (else 0). Leaves
     * 0EH-14H (RDT, SGX, PT: hidden) read 0. */
    /* Leaf 0DH subleaf 0: EAX components (filtered by xcr0_allowed below);
     * subleaf 1 EAX: XSAVEOPT 0, XSAVEC 1, XGETBV with ECX = 1 2; hidden XSAVES
     * 3 (the enable-XSAVES control is off) and XFD 4. Subleaf 2 (AVX):
     * size and offset, when AVX is shown. */
    { 0xD, 1, R_EAX, B(0) | B(1) | B(2) },
    { 0xD, 2, R_EAX, ALL }, { 0xD, 2, R_EBX, ALL },
    /* Leaf 15H: TSC / core crystal clock ratio (EBX/EAX) and the crystal's
     * frequency (ECX): rewritten below (tsc_leaf), the crystal being the
     * LAPIC model's timer clock. Leaf 16H: base, maximum and bus
     * frequencies in MHz, as the host has them (0 where it does not). The
     * guest's TSC is the host's plus an offset (SDM Vol. 3C 25.3), so a
     * guest need not calibrate (SDM Vol. 3B 18.7.3). */
    { 0x16, ANY_SUB, R_EAX, 0xFFFF }, { 0x16, ANY_SUB, R_EBX, 0xFFFF },
    { 0x16, ANY_SUB, R_ECX, 0xFFFF },
    /* Hypervisor leaf: set below. Extended leaves: 80000000H (EAX clamped),
     * 80000001H ECX LAHF 0, LZCNT 5, PREFETCHW 8; EDX SYSCALL 11, NX 20,
     * 1 GiB pages 26, LM 29; RDTSCP 27 only where the VMM enabled its
     * secondary control (cpuid_guest_state).
     * Brand string, L2 cache, address sizes (80000008H EAX). */
    { 0x80000001, ANY_SUB, R_EAX, ALL },
    { 0x80000001, ANY_SUB, R_ECX, B(0) | B(5) | B(8) },
    { 0x80000001, ANY_SUB, R_EDX, B(11) | B(20) | B(26) | B(29) },
    { 0x80000002, ANY_SUB, R_EAX, ALL }, { 0x80000002, ANY_SUB, R_EBX, ALL },
    { 0x80000002, ANY_SUB, R_ECX, ALL }, { 0x80000002, ANY_SUB, R_EDX, ALL },
    { 0x80000003, ANY_SUB, R_EAX, ALL }, { 0x80000003, ANY_SUB, R_EBX, ALL },
    { 0x80000003, ANY_SUB, R_ECX, ALL }, { 0x80000003, ANY_SUB, R_EDX, ALL },
    { 0x80000004, ANY_SUB, R_EAX, ALL }, { 0x80000004, ANY_SUB, R_EBX, ALL },
    { 0x80000004, ANY_SUB, R_ECX, ALL }, { 0x80000004, ANY_SUB, R_EDX, ALL },
    { 0x80000006, ANY_SUB, R_ECX, ALL },
    { 0x80000008, ANY_SUB, R_EAX, 0xFFFF },
};

static uint32_t *reg_of(cpuid_regs_t *r, unsigned reg)
{
    uint32_t *regs[] = { &r->eax, &r->ebx, &r->ecx, &r->edx };
    return regs[reg];
}

static cpuid_regs_t filtered(uint32_t leaf, uint32_t sub, cpuid_host_fn host)
{
    cpuid_regs_t h = host(leaf, sub), out = { 0, 0, 0, 0 };
    for (unsigned i = 0; i < sizeof(allow) / sizeof(allow[0]); i++) {
        const cpuid_allow_t *a = &allow[i];
        if (a->leaf == leaf && (a->sub == ANY_SUB || a->sub == sub))
            *reg_of(&out, a->reg) = *reg_of(&h, a->reg) & a->bits;
    }
    return out;
}

/* XSAVE area bytes for the components in @xcr0 (SDM Vol. 1 13.4: the legacy
 * region and header are 576 bytes; AVX at CPUID.(0DH,2):EBX, EAX bytes). */
#define XSAVE_LEGACY_AND_HEADER 576u

static uint32_t xsave_size(uint64_t xcr0, cpuid_host_fn host)
{
    if (!(xcr0 & X86_XCR0_AVX))
        return XSAVE_LEGACY_AND_HEADER;
    cpuid_regs_t avx = host(0xD, 2);
    return avx.ebx + avx.eax;
}

uint64_t xcr0_allowed(cpuid_host_fn host)
{
    uint64_t want = X86_XCR0_X87 | X86_XCR0_SSE;
    if (host(0x1, 0).ecx & CPUID_1_ECX_AVX)
        want |= X86_XCR0_AVX;
    if (!(host(0x1, 0).ecx & CPUID_1_ECX_XSAVE))
        return 0;
    return host(0xD, 0).eax & want;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Leaf 15H. The local APIC timer counts the core crystal clock when leaf
 * 15H enumerates it (SDM Vol. 3A 10.5.4), and a guest (Linux) programs it
 * at that rate without calibrating; our LAPIC model's clock is
 * LAPIC_BUS_HZ, not the host's crystal. So ECX says LAPIC_BUS_HZ and the
 * ratio EBX/EAX is chosen so that the TSC frequency ECX * EBX / EAX (SDM
 * Vol. 2A CPUID leaf 15H) stays the host's: the host's own ECX * EBX /
 * EAX, or, where the host does not enumerate its crystal (ECX = 0), its
 * base frequency (leaf 16H EAX, MHz), at which such a processor's TSC
 * runs (SDM Vol. 3B 18.7.3; Linux derives the crystal from it so). With
 * neither, 15H reads 0: the guest calibrates the timer against the PIT. */
static cpuid_regs_t tsc_leaf(uint32_t max_basic, cpuid_host_fn host)
{
    cpuid_regs_t h = host(0x15, 0), none = { 0, 0, 0, 0 };
    if (h.eax == 0 || h.ebx == 0)
        return none;
    uint64_t num, den;                  /* TSC Hz = num / den */
    if (h.ecx) {
        num = (uint64_t)h.ecx * h.ebx;
        den = h.eax;
    } else if (max_basic >= 0x16 && (host(0x16, 0).eax & 0xFFFF)) {
        num = (uint64_t)(host(0x16, 0).eax & 0xFFFF) * CPUID_HZ_PER_MHZ;
        den = 1;
    } else {
        return none;
    }
    uint64_t tsc_hz = num / den;
    den *= LAPIC_BUS_HZ;                /* EBX / EAX = TSC Hz / LAPIC_BUS_HZ */
    uint64_t g = gcd64(num, den);
    num /= g;
    den /= g;
    if (num > UINT32_MAX || den > UINT32_MAX) {
        /* No exact ratio in 32 bits: the TSC's kHz over LAPIC_BUS_HZ's. */
        num = tsc_hz / CPUID_HZ_PER_KHZ;
        den = LAPIC_BUS_HZ / CPUID_HZ_PER_KHZ;
        if (num == 0 || num > UINT32_MAX)
            return none;
    }
    return (cpuid_regs_t){ (uint32_t)den, (uint32_t)num, LAPIC_BUS_HZ, 0 };
}

cpuid_regs_t cpuid_static(uint32_t leaf, uint32_t sub, cpuid_host_fn host)
{
    cpuid_regs_t r;
    if (leaf == CPUID_HV_LEAF) {
        /* The hypervisor's leaf (the range 40000000H-4FFFFFFFH is reserved
         * for software, SDM Vol. 2A CPUID): "NestorNestor". */
        r.eax = CPUID_HV_LEAF;
        r.ebx = 0x7473654E; r.ecx = 0x4E726F74; r.edx = 0x726F7473;
        return r;
    }
    uint32_t max_basic = host(0x0, 0).eax, max_ext = host(0x80000000, 0).eax;
    if (max_basic > CPUID_MAX_BASIC)
        max_basic = CPUID_MAX_BASIC;
    if (max_ext > CPUID_MAX_EXTENDED)
        max_ext = CPUID_MAX_EXTENDED;
    if ((leaf < 0x80000000u && leaf > max_basic) || (leaf >= 0x80000000u && leaf > max_ext))
        return (cpuid_regs_t){ 0, 0, 0, 0 };
    r = filtered(leaf, sub, host);
    uint64_t xcr0_ok = leaf == 0x1 || leaf == 0x7 || leaf == 0xD ? xcr0_allowed(host) : 0;
    switch (leaf) {
    case 0x0:
        r.eax = max_basic;
        break;
    case 0x1:
        r.ebx |= 1u << 16;                  /* one logical processor (EBX[23:16]) */
        if (!xcr0_ok)
            r.ecx &= ~(uint32_t)(CPUID_1_ECX_XSAVE | CPUID_1_ECX_AVX);
        if (!(xcr0_ok & X86_XCR0_AVX))
            r.ecx &= ~(uint32_t)CPUID_1_ECX_AVX;
        r.ecx |= (uint32_t)CPUID_1_ECX_HYPERVISOR;
        break;
    case 0x7:
        if (!(xcr0_ok & X86_XCR0_AVX))
            r.ebx &= ~(uint32_t)(B(5));                     /* AVX2 needs AVX state */
        if (sub == 0)
            r.ebx |= (uint32_t)CPUID_7_EBX_TSC_ADJUST;      /* emulated (SDM Vol. 3B 17.17.3) */
        break;
    case 0xD:
        if (!xcr0_ok)
            return (cpuid_regs_t){ 0, 0, 0, 0 };
        if (sub == 0) {
            /* Components the guest may enable and the size for all of them
             * (ECX); EBX, the size for its XCR0, follows its state. */
            r.eax = (uint32_t)xcr0_ok;
            r.ecx = xsave_size(xcr0_ok, host);
            r.edx = 0;
        } else if (sub == 2 && !(xcr0_ok & X86_XCR0_AVX)) {
            r = (cpuid_regs_t){ 0, 0, 0, 0 };
        }
        break;
    case 0x15:
        r = tsc_leaf(max_basic, host);
        break;
    case 0x80000000:
        r.eax = max_ext;
        break;
    default:
        break;
    }
    return r;
}

cpuid_regs_t cpuid_guest_state(uint32_t leaf, uint32_t sub, cpuid_regs_t r,
                               const cpuid_guest_t *g, cpuid_host_fn host)
{
    if (leaf == 0x1) {
        r.ebx |= g->apic_id << 24;          /* the initial APIC ID */
        /* OSXSAVE reflects the guest's CR4.OSXSAVE. */
        if ((r.ecx & CPUID_1_ECX_XSAVE) && (g->cr4 & X86_CR4_OSXSAVE))
            r.ecx |= (uint32_t)CPUID_1_ECX_OSXSAVE;
        /* SDM Vol. 3A 10.4.3: with IA32_APIC_BASE.EN clear, CPUID.1:EDX.APIC = 0. */
        if (!g->apic_enabled)
            r.edx &= ~(uint32_t)CPUID_1_EDX_APIC;
        /* SDM Vol. 3A 10.12.1: x2APIC mode where the VM has a LAPIC (the
         * model's MSR interface, devices/lapic.h), whatever its mode now. */
        if (g->x2apic)
            r.ecx |= (uint32_t)CPUID_1_ECX_X2APIC;
        /* SDM Vol. 3A 10.5.4.1: the LAPIC timer's TSC-deadline mode. */
        if (g->tsc_deadline)
            r.ecx |= (uint32_t)CPUID_1_ECX_TSC_DEADLINE;
        /* SDM Vol. 3C 23.6: VMX is shown where a nested-vmx monitor
         * implements it for this guest (nested-vmx/README.md). */
        if (g->vmx)
            r.ecx |= (uint32_t)CPUID_1_ECX_VMX;
    } else if (leaf == 0x80000001) {
        /* RDTSCP runs natively once its secondary control is on (SDM Vol.
         * 3C 24.6.2, Table 24-7; else it raises #UD, 25.3). */
        if (g->rdtscp)
            r.edx |= host(leaf, sub).edx & (uint32_t)CPUID_81_EDX_RDTSCP;
        /* SDM Vol. 2A CPUID, Table 3-8 (note on EDX bit 11): Intel
         * processors support SYSCALL/SYSRET only in 64-bit mode, and the
         * flag is always enumerated as 0 outside it (bare Bochs does so). */
        if (!g->long64)
            r.edx &= ~(uint32_t)CPUID_81_EDX_SYSCALL;
    } else if (leaf == 0x7 && sub == 0) {
        /* SDM Vol. 3C 25.3: with "enable RDTSCP" RDPID runs natively too
         * (without it, #UD): where the host has RDPID it is shown then,
         * so that what runs is what CPUID says. */
        if (g->rdtscp)
            r.ecx |= host(leaf, sub).ecx & (uint32_t)CPUID_7_ECX_RDPID;
    } else if (leaf == 0xB && g->x2apic) {
        /* SDM Vol. 2A CPUID leaf 0BH, Vol. 3A 10.12.8.1: the x2APIC ID in
         * EDX of every subleaf; one logical processor: subleaf 0 the SMT
         * level, 1 the core level, each of one processor and a shift of 0;
         * later subleaves invalid (level type 0, EBX 0). */
        r = (cpuid_regs_t){ 0, 0, sub & CPUID_0B_LEVEL_MASK, g->apic_id };
        if (sub < CPUID_0B_LEVELS) {
            r.ebx = 1;
            r.ecx |= (sub + 1) << CPUID_0B_TYPE_SHIFT;
        }
    } else if (leaf == 0xD && (sub == 0 || sub == 1) && r.eax) {
        /* The XSAVE area size for the guest's XCR0 (| IA32_XSS, 0 here). */
        r.ebx = xsave_size(g->xcr0 & xcr0_allowed(host), host);
    }
    return r;
}

cpuid_regs_t cpuid_guest(uint32_t leaf, uint32_t sub, const cpuid_guest_t *g, cpuid_host_fn host)
{
    return cpuid_guest_state(leaf, sub, cpuid_static(leaf, sub, host), g, host);
}

uint64_t efer_allowed(cpuid_host_fn host)
{
    /* EFER.SCE is writable in any mode where SYSCALL exists in 64-bit mode. */
    static const cpuid_guest_t none = { .apic_enabled = true, .long64 = true };
    cpuid_regs_t x1 = cpuid_guest(0x80000001, 0, &none, host);
    uint64_t ok = 0;
    if (x1.edx & CPUID_81_EDX_SYSCALL)
        ok |= X86_EFER_SCE;
    if (x1.edx & B(29))
        ok |= X86_EFER_LME;
    if (x1.edx & B(20))
        ok |= X86_EFER_NXE;
    return ok;
}

uint64_t cr4_allowed(cpuid_host_fn host)
{
    static const cpuid_guest_t none = { .apic_enabled = true };
    cpuid_regs_t l1 = cpuid_guest(0x1, 0, &none, host), l7 = cpuid_guest(0x7, 0, &none, host);
    /* Always: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT (the
     * features of leaf 1 EDX shown above). VMXE and SMXE never (hidden). */
    uint64_t ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
                  X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
                  X86_CR4_OSXMMEXCPT;
    if (l7.ecx & B(2))
        ok |= X86_CR4_UMIP;
    if (l7.ebx & B(0))
        ok |= X86_CR4_FSGSBASE;
    if (l1.ecx & B(17))
        ok |= X86_CR4_PCIDE;
    if (l1.ecx & CPUID_1_ECX_XSAVE)
        ok |= X86_CR4_OSXSAVE;
    if (l7.ebx & B(7))
        ok |= X86_CR4_SMEP;
    if (l7.ebx & B(20))
        ok |= X86_CR4_SMAP;
    return ok;
}

bool cr0_write(const cr_state_t *cur, bool cs_l, uint64_t value, cr_state_t *out)
{
    *out = *cur;
    /* SDM Vol. 2B MOV CR: #GP(0) for a 1 in CR0[63:32], PG without PE, NW
     * without CD (SDM Vol. 3A 2.5, Table 11-5). */
    if (value >> 32)
        return false;
    if ((value & X86_CR0_PG) && !(value & X86_CR0_PE))
        return false;
    if ((value & X86_CR0_NW) && !(value & X86_CR0_CD))
        return false;
    bool pg_on = !(cur->cr0 & X86_CR0_PG) && (value & X86_CR0_PG);
    bool pg_off = (cur->cr0 & X86_CR0_PG) && !(value & X86_CR0_PG);
    /* SDM Vol. 3A 9.8.5: activating IA-32e mode (PG with EFER.LME) needs
     * CR4.PAE, else #GP; clearing PG in 64-bit mode is #GP (Vol. 2B MOV CR). */
    if (pg_on && (cur->efer & X86_EFER_LME) && !(cur->cr4 & X86_CR4_PAE))
        return false;
    if (pg_off && (cur->efer & X86_EFER_LMA) && cs_l)
        return false;
    /* SDM Vol. 3A 4.10.1: PG cannot be cleared with CR4.PCIDE set. */
    if (pg_off && (cur->cr4 & X86_CR4_PCIDE))
        return false;
    /* Reserved bits 31:0 keep their value (ignored); ET is fixed 1 (2.5). */
    out->cr0 = (value & X86_CR0_DEFINED) | X86_CR0_ET;
    /* SDM Vol. 3A 9.8.5: with LME, setting PG sets EFER.LMA and clearing it
     * clears LMA. */
    if (pg_on && (cur->efer & X86_EFER_LME))
        out->efer |= X86_EFER_LMA;
    if (pg_off)
        out->efer &= ~X86_EFER_LMA;
    return true;
}

bool cr4_write(const cr_state_t *cur, uint64_t cr3, uint64_t value, uint64_t allowed,
               cr_state_t *out)
{
    *out = *cur;
    /* SDM Vol. 2B MOV CR: #GP(0) for a 1 in a reserved CR4 bit; VMXE is
     * reserved for a guest that is not shown VMX (SDM Vol. 3C 23.7). */
    if (value & ~allowed)
        return false;
    /* SDM Vol. 3A 9.8.5.4: clearing PAE while IA-32e mode is active is #GP. */
    if ((cur->efer & X86_EFER_LMA) && !(value & X86_CR4_PAE))
        return false;
    /* SDM Vol. 3A 4.10.1: setting PCIDE needs IA-32e mode and CR3[11:0] = 0. */
    if ((value & X86_CR4_PCIDE) && !(cur->cr4 & X86_CR4_PCIDE) &&
        (!(cur->efer & X86_EFER_LMA) || (cr3 & 0xFFF)))
        return false;
    out->cr4 = value;
    return true;
}

bool xcr0_valid(uint32_t ecx, uint64_t value, unsigned cpl, uint64_t allowed)
{
    /* SDM Vol. 2C XSETBV: #GP(0) at CPL > 0, for ECX other than 0 (only
     * XCR0 exists), for a bit not supported, for bit 0 clear, and for AVX
     * without SSE (Vol. 1 13.3). */
    if (cpl != 0 || ecx != 0)
        return false;
    if (value & ~allowed)
        return false;
    if (!(value & X86_XCR0_X87))
        return false;
    if ((value & X86_XCR0_AVX) && !(value & X86_XCR0_SSE))
        return false;
    return true;
}

bool pat_valid(uint64_t pat)
{
    /* SDM Vol. 3A 11.12.2: each PAT entry takes the types 0, 1, 4, 5, 6 and 7;
     * 2, 3 and 8-255 are reserved (WRMSR #GP). */
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (unsigned)(pat >> (8 * i)) & 0xFF;
        if (t == 2 || t == 3 || t >= 8)
            return false;
    }
    return true;
}

bool mtrr_def_type_valid(uint64_t v)
{
    /* SDM Vol. 3A 11.11.2.1: type in 7:0 (UC, WC, WT, WP, WB; 11.11.1), FE
     * (10) only with fixed-range MTRRs (MTRRcap.FIX, 0 here), E (11); the
     * other bits are reserved (#GP). */
    if (v & ~(X86_MTRR_DEF_TYPE_MASK | X86_MTRR_DEF_E))
        return false;
    unsigned t = (unsigned)(v & X86_MTRR_DEF_TYPE_MASK);
    return t == X86_MT_UC || t == X86_MT_WC || t == X86_MT_WT || t == X86_MT_WP ||
           t == X86_MT_WB;
}

bool apic_base_valid(uint64_t old, uint64_t value, unsigned maxphyaddr, bool x2apic)
{
    /* SDM Vol. 3A 10.4.4, Figure 10-5 and Vol. 4 Table 2-2: BSP (8, R/W: it
     * only reports, so a write may change it, as on the bare machine), EXTD
     * (10, x2APIC mode: reserved where x2APIC is not offered), EN (11), base
     * (MAXPHYADDR-1:12); every other bit is reserved (#GP). */
    uint64_t base_mask = ((1ULL << maxphyaddr) - 1) & ~0xFFFULL;
    uint64_t ok = base_mask | X86_APIC_BASE_BSP | X86_APIC_BASE_EN |
                  (x2apic ? X86_APIC_BASE_EXTD : 0);
    if (value & ~ok)
        return false;
    /* SDM 10.12.5, Figure 10-27: the mode is (EN, EXTD); EXTD without EN is
     * invalid, x2APIC mode is entered from xAPIC mode only and left only
     * for disabled (a reset). */
    const uint64_t mode = X86_APIC_BASE_EN | X86_APIC_BASE_EXTD;
    uint64_t from = old & mode, to = value & mode;
    if (to == X86_APIC_BASE_EXTD)
        return false;
    if (from == mode && to == X86_APIC_BASE_EN)
        return false;
    return !(from == 0 && to == mode);
}

bool efer_write(uint64_t cur, uint64_t value, uint64_t cr0, uint64_t allowed, uint64_t *out)
{
    /* SDM Vol. 4 Table 2-2: SCE, LME, LMA (read-only), NXE; the rest is
     * reserved (#GP). Changing LME while paging is on is #GP (Vol. 3A
     * 9.8.5). LMA is the CPU's: the written value is ignored. */
    if (value & ~(allowed | X86_EFER_LMA))
        return false;
    if (((value ^ cur) & X86_EFER_LME) && (cr0 & X86_CR0_PG))
        return false;
    *out = (value & ~X86_EFER_LMA) | (cur & X86_EFER_LMA);
    return true;
}

/* SDM Vol. 3A 6.15, Table 6-4: contributory exceptions #DE #TS #NP #SS #GP
 * (and #CP 21); page faults; everything else (interrupts, NMI, #DB #BP #OF
 * #BR #UD #NM #MF #AC #MC #XM #VE, INT n) is benign. */
static bool contributory(unsigned v)
{
    return v == X86_VEC_DE || v == X86_VEC_TS || v == X86_VEC_NP || v == X86_VEC_SS ||
           v == X86_VEC_GP || v == X86_VEC_CP;
}

event_merge_t event_merge(uint32_t first, unsigned second)
{
    uint32_t type = first & X86_INTR_TYPE_MASK;
    unsigned v1 = first & X86_INTR_VECTOR_MASK;
    /* Only hardware exceptions combine (Table 6-5); the rest is benign. */
    if (!(first & X86_INTR_VALID) || type != X86_INTR_TYPE_HW_EXC)
        return EVENT_SERIAL;
    bool second_bad = contributory(second) || second == X86_VEC_PF;
    if (v1 == X86_VEC_DF)
        return second_bad ? EVENT_TRIPLE_FAULT : EVENT_SERIAL;
    if (contributory(v1))
        return contributory(second) ? EVENT_DOUBLE_FAULT : EVENT_SERIAL;
    if (v1 == X86_VEC_PF)
        return second_bad ? EVENT_DOUBLE_FAULT : EVENT_SERIAL;
    return EVENT_SERIAL;
}

bool idt_reinject(uint32_t idt_info, uint32_t idt_error, uint32_t exit_instr_len,
                  uint32_t *info, uint32_t *error, uint32_t *instr_len)
{
    if (!(idt_info & X86_INTR_VALID))
        return false;
    /* SDM Vol. 3C 24.9.3: bit 12 of IDT-vectoring information is undefined;
     * 24.8.3: bits 30:12 of the injection field are reserved (0). */
    *info = idt_info & (X86_INTR_VALID | X86_INTR_DELIVER_ERR | X86_INTR_TYPE_MASK |
                        X86_INTR_VECTOR_MASK);
    *error = (idt_info & X86_INTR_DELIVER_ERR) ? idt_error : 0;
    /* SDM Vol. 3C 26.6.1.3 / 27.2.5: software interrupts and software
     * exceptions are injected with the instruction length the exit reports
     * (VM-exit instruction length is saved for exits during their delivery). */
    uint32_t type = idt_info & X86_INTR_TYPE_MASK;
    *instr_len = (type == X86_INTR_TYPE_SW_INT || type == X86_INTR_TYPE_PRIV_SW_EXC ||
                  type == X86_INTR_TYPE_SW_EXC) ? exit_instr_len : 0;
    return true;
}

nmi_action_t nmi_decide(bool pending, bool injecting, uint64_t interruptibility)
{
    if (!pending)
        return NMI_NONE;
    /* One event per VM entry (SDM Vol. 3C 24.8.3): an exception or a
     * re-injected event goes first; the NMI-window exit then comes before
     * the first instruction of its handler, as an NMI recognised after the
     * event's delivery would (Vol. 3A 6.9: NMI above maskable interrupts,
     * below exceptions raised by the current instruction). */
    if (injecting)
        return NMI_WAIT;
    /* SDM 26.3.1.5: injecting an NMI with virtual-NMI blocking set, or with
     * blocking by MOV SS, fails the entry; blocking by STI may block NMIs
     * on some processors (Table 24-3, 25.2 "NMI-window exiting"), so the
     * NMI waits for the window, which opens when neither is in effect. An
     * NMI is never masked by RFLAGS.IF (Vol. 3A 6.8.1). */
    if (interruptibility & (X86_INTR_BLOCK_NMI | X86_INTR_BLOCK_SHADOW))
        return NMI_WAIT;
    return NMI_INJECT;
}

uint64_t vmx_timer_units(uint64_t ns, uint64_t tsc_per_ms, unsigned rate)
{
    const uint64_t ns_per_ms = 1000000;
    if (ns > VMX_TIMER_MAX_NS)
        ns = VMX_TIMER_MAX_NS;          /* with tsc_per_ms below 2^34, no overflow */
    if (rate > 63)
        rate = 63;
    uint64_t tsc = ns / ns_per_ms * tsc_per_ms + ((ns % ns_per_ms) * tsc_per_ms + ns_per_ms - 1) /
                   ns_per_ms;
    uint64_t units = (tsc >> rate) + ((tsc & ((1ULL << rate) - 1)) != 0);
    return units ? units : 1;
}
