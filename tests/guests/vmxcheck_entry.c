/*
 * tests/guests/vmxcheck_entry.c - the VM-entry half of vmxcheck: a complete
 * valid VMCS for a trivial 64-bit L2 (vmxcheck_start.S: CPUID, VMCALL,
 * HLT), then
 *   vmentry: cases that each break one field (or one control with what it
 *            needs) and check what VMLAUNCH must do (SDM Vol. 3C chapter 26):
 *            VMfailValid(7) for VM-execution/exit/entry control fields
 *            (26.2.1), VMfailValid(8) for host state (26.2.2-26.2.4), a
 *            VM-entry failure exit (basic reason 33 or 34 with bit 31 set,
 *            the exit qualification, 26.3, 26.4, 26.8) for guest state and
 *            MSR loading, which comes back through HOST_RIP;
 *   l2:      the valid VMCS run: CPUID (exit 10), VMCALL (18), HLT (12)
 *            exits with their instruction lengths and guest RIP, VMRESUME,
 *            VMLAUNCH of a launched VMCS (error 4).
 * Every expectation comes from the capability MSRs (caps, vmxcheck.c).
 */
#include "vmxcheck.h"
#include <fmt.h>
#include <nestor/vmcs.h>
#include <string.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define EXIT_FAIL(r)      VR_EXIT(EXIT_REASON_ENTRY_FAILURE | (r))
#define REASON_CPUID      10
#define REASON_HLT        12
#define REASON_VMCALL     18
#define REASON_BAD_GUEST  33                /* SDM Appendix C */
#define REASON_MSR_LOAD   34
#define AR_CODE64         0xA09B            /* type 11, S, P, L, G (SDM 24.4.1) */
#define AR_DATA           0xC093            /* type 3, S, P, D/B, G */
#define AR_TSS64_BUSY     0x008B            /* type 11, P */
#define AR_UNUSABLE       0x10000           /* bit 16 */
#define INTR_VALID        (1u << 31)        /* VM-entry interruption information (24.8.3) */
#define INTR_DELIVER_EC   (1u << 11)
#define INTR_TYPE(t)      ((uint32_t)(t) << 8)
#define TYPE_EXT_INTR     0
#define TYPE_RESERVED     1
#define TYPE_NMI          2
#define TYPE_HW_EXC       3
#define TYPE_SW_INTR      4
#define RFLAGS_FIXED      0x2
#define RFLAGS_IF         (1u << 9)
#define DR7_RESET         0x400

static uint64_t scratch[512] __attribute__((aligned(4096)));   /* zeroed: a wrong revision */
static uint64_t msr_area[8] __attribute__((aligned(16)));
static uint64_t l2_stack[512] __attribute__((aligned(16)));

static uint32_t pin, proc, proc2, exitc, entry;
static unsigned cases;

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t cr(int n)
{
    uint64_t v = 0;
    if (n == 0)
        __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    else if (n == 3)
        __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    else
        __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* A non-canonical linear address (SDM Vol. 3A 3.3.7.1) whose bits 63:N
 * also differ: bit N set, the rest 0. (Guest RIP is only checked for bits
 * 63:N being identical, 26.3.1.4: bit N-1 alone would pass that check.) */
static uint64_t noncanon(void) { return 1ULL << caps.linear_bits; }

/* The lowest bit of a 32-bit control that may not be 1 / must be 1; 0 if none. */
static uint32_t bit_not_allowed1(uint64_t msr)
{
    uint32_t a1 = ctl_allowed1(msr);
    for (unsigned b = 0; b < 32; b++)
        if (!(a1 & (1u << b)))
            return 1u << b;
    return 0;
}

static uint32_t bit_must_be1(uint64_t msr)
{
    uint32_t a0 = ctl_min(msr);
    for (unsigned b = 0; b < 32; b++)
        if (a0 & (1u << b))
            return 1u << b;
    return 0;
}

/* A valid VMCS for L2 (SDM 26.2-26.3 satisfied), current and clear. */
void vmxc_build_vmcs(void)
{
    struct dtr gdtr, idtr;
    uint16_t tr;
    __asm__ volatile("sgdt %0; sidt %1; str %2" : "=m"(gdtr), "=m"(idtr), "=r"(tr));
    vmx_vmclear(pa(vmcs_region));
    vmx_vmptrld(pa(vmcs_region));

    /* Controls: what must be 1, plus HLT exiting, a 64-bit host (26.2.4)
     * and an IA-32e-mode guest; debug controls loaded where allowed. */
    pin = ctl_min(pin_msr());
    proc = ctl_min(proc_msr());
    if (ctl_can1(proc_msr(), PROC_HLT_EXITING))
        proc |= PROC_HLT_EXITING;
    proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? ctl_min(proc2_msr()) : 0;
    exitc = ctl_min(exit_msr()) | EXIT_HOST_ADDR_SPACE_SIZE;
    entry = ctl_min(entry_msr()) | ENTRY_IA32E_MODE_GUEST;
    if (ctl_can1(entry_msr(), ENTRY_LOAD_DEBUG_CTLS))
        entry |= ENTRY_LOAD_DEBUG_CTLS;
    vmwr(VMCS_PIN_CONTROLS, pin);
    vmwr(VMCS_PROC_CONTROLS, proc);
    if (caps.has_proc2)
        vmwr(VMCS_PROC_CONTROLS2, proc2);
    if (proc2 & PROC2_ENABLE_VPID)
        vmwr(VMCS_VPID, 1);
    vmwr(VMCS_EXIT_CONTROLS, exitc);
    vmwr(VMCS_ENTRY_CONTROLS, entry);
    /* Every exception in L2 exits (24.6.3): a case that wrongly enters L2
     * comes back here instead of running our handlers as L2. */
    vmwr(VMCS_EXCEPTION_BITMAP, 0xFFFFFFFF);
    vmwr(VMCS_PF_ERROR_MASK, 0);
    vmwr(VMCS_PF_ERROR_MATCH, 0);
    vmwr(VMCS_CR3_TARGET_COUNT, 0);
    vmwr(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwr(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmwr(VMCS_ENTRY_INTR_INFO, 0);
    vmwr(VMCS_ENTRY_EXCEPTION_ERROR, 0);
    vmwr(VMCS_ENTRY_INSTR_LEN, 0);
    vmwr(VMCS_CR0_MASK, 0);
    vmwr(VMCS_CR4_MASK, 0);
    vmwr(VMCS_CR0_SHADOW, 0);
    vmwr(VMCS_CR4_SHADOW, 0);
    vmwr(VMCS_TSC_OFFSET, 0);

    /* Host state: what this code runs with now (26.2.2, 26.2.3). */
    vmwr(VMCS_HOST_CR0, cr(0));
    vmwr(VMCS_HOST_CR3, cr(3));
    vmwr(VMCS_HOST_CR4, cr(4));
    vmwr(VMCS_HOST_ES_SEL, VMXC_SEL_DATA);
    vmwr(VMCS_HOST_CS_SEL, VMXC_SEL_CODE64);
    vmwr(VMCS_HOST_SS_SEL, VMXC_SEL_DATA);
    vmwr(VMCS_HOST_DS_SEL, VMXC_SEL_DATA);
    vmwr(VMCS_HOST_FS_SEL, VMXC_SEL_DATA);
    vmwr(VMCS_HOST_GS_SEL, VMXC_SEL_DATA);
    vmwr(VMCS_HOST_TR_SEL, tr);
    vmwr(VMCS_HOST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
    vmwr(VMCS_HOST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));
    uint64_t *d = (uint64_t *)(uintptr_t)gdtr.base;
    uint64_t tr_base = (d[tr / 8] >> 16 & 0xFFFFFF) | (d[tr / 8] >> 56) << 24 |
                       (d[tr / 8 + 1] & 0xFFFFFFFF) << 32;
    vmwr(VMCS_HOST_TR_BASE, tr_base);
    vmwr(VMCS_HOST_GDTR_BASE, gdtr.base);
    vmwr(VMCS_HOST_IDTR_BASE, idtr.base);
    vmwr(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
    vmwr(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
    vmwr(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
    if (exitc & EXIT_LOAD_PAT)
        vmwr(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
    if (exitc & EXIT_LOAD_EFER)
        vmwr(VMCS_HOST_EFER, rdmsr(MSR_IA32_EFER));
    vmwr(VMCS_HOST_RIP, pa(vmxc_exit_point));

    /* Guest state: a 64-bit guest on the same paging and descriptors (26.3.1). */
    vmwr(VMCS_GUEST_CR0, cr(0));
    vmwr(VMCS_GUEST_CR3, cr(3));
    vmwr(VMCS_GUEST_CR4, cr(4));
    vmwr(VMCS_GUEST_DR7, DR7_RESET);
    vmwr(VMCS_GUEST_DEBUGCTL, 0);
    vmwr(VMCS_GUEST_SYSENTER_CS, 0);
    vmwr(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwr(VMCS_GUEST_SYSENTER_EIP, 0);
    if (entry & ENTRY_LOAD_PAT)
        vmwr(VMCS_GUEST_PAT, rdmsr(MSR_IA32_PAT));
    if (entry & ENTRY_LOAD_EFER)
        vmwr(VMCS_GUEST_EFER, rdmsr(MSR_IA32_EFER));
    static const struct {
        uint32_t sel, base, limit, ar;
    } segs[] = {
        { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
        { VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
        { VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
        { VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
        { VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
    };
    for (unsigned i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        vmwr(segs[i].sel, VMXC_SEL_DATA);
        vmwr(segs[i].base, 0);
        vmwr(segs[i].limit, 0xFFFFFFFF);
        vmwr(segs[i].ar, AR_DATA);
    }
    vmwr(VMCS_GUEST_CS_SEL, VMXC_SEL_CODE64);
    vmwr(VMCS_GUEST_CS_BASE, 0);
    vmwr(VMCS_GUEST_CS_LIMIT, 0xFFFFFFFF);
    vmwr(VMCS_GUEST_CS_AR, AR_CODE64);
    vmwr(VMCS_GUEST_LDTR_SEL, 0);
    vmwr(VMCS_GUEST_LDTR_BASE, 0);
    vmwr(VMCS_GUEST_LDTR_LIMIT, 0);
    vmwr(VMCS_GUEST_LDTR_AR, AR_UNUSABLE);
    vmwr(VMCS_GUEST_TR_SEL, tr);
    vmwr(VMCS_GUEST_TR_BASE, tr_base);
    vmwr(VMCS_GUEST_TR_LIMIT, 0x67);
    vmwr(VMCS_GUEST_TR_AR, AR_TSS64_BUSY);
    vmwr(VMCS_GUEST_GDTR_BASE, gdtr.base);
    vmwr(VMCS_GUEST_GDTR_LIMIT, gdtr.limit);
    vmwr(VMCS_GUEST_IDTR_BASE, idtr.base);
    vmwr(VMCS_GUEST_IDTR_LIMIT, idtr.limit);
    vmwr(VMCS_GUEST_RSP, pa(&l2_stack[512]));
    vmwr(VMCS_GUEST_RIP, pa(vmxc_l2_entry));
    vmwr(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
    vmwr(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwr(VMCS_GUEST_ACTIVITY, 0);
    vmwr(VMCS_GUEST_PENDING_DBG, 0);
    vmwr(VMCS_LINK_POINTER, ~0ULL);
}

/* ---- the cases ---- */

struct fv {
    uint32_t field;
    uint64_t value;
};

#define MAXFV 4

/*
 * One case: write the fields, VMLAUNCH from a clear VMCS, check the
 * outcome (and for a VM-entry failure exit the exit qualification), put the
 * fields back. An unexpected successful entry ran L2 (it exits at its
 * CPUID): the VMCS is rebuilt.
 */
static void run_case(const char *what, uint64_t expected, uint64_t qual, unsigned n,
                     const struct fv *fv)
{
    uint64_t old[MAXFV];
    cases++;
    vmx_vmclear(pa(vmcs_region));
    vmx_vmptrld(pa(vmcs_region));
    for (unsigned i = 0; i < n; i++) {
        old[i] = vmrd(fv[i].field);
        vmwr(fv[i].field, fv[i].value);
    }
    uint64_t flags = 0;
    for (unsigned i = 0; i < n; i++)
        if (fv[i].field == VMCS_HOST_RIP)
            flags |= VMXC_ENTER_KEEP_HRIP;
    uint64_t got = vmx_launch(flags);
    if (got == expected && (expected >> 32) == 1) {
        uint64_t q = vmrd(VMCS_EXIT_QUALIFICATION);
        char w[96];
        fmt_snprintf(w, sizeof(w), "%s: exit qualification", what);
        vmxc_check_eq(w, qual, q);
    } else {
        vmxc_check_vr(what, expected, got);
    }
    if ((got >> 32) == 1 && !(got & EXIT_REASON_ENTRY_FAILURE)) {
        vmxc_build_vmcs();
        return;
    }
    for (unsigned i = n; i-- > 0;)
        vmwr(fv[i].field, old[i]);
}

#define CASE(what, exp, ...)                                                           \
    do {                                                                               \
        const struct fv fv_[] = { __VA_ARGS__ };                                       \
        run_case(what, exp, 0, sizeof(fv_) / sizeof(fv_[0]), fv_);                     \
    } while (0)
#define CASEQ(what, exp, qual, ...)                                                    \
    do {                                                                               \
        const struct fv fv_[] = { __VA_ARGS__ };                                       \
        run_case(what, exp, qual, sizeof(fv_) / sizeof(fv_[0]), fv_);                  \
    } while (0)

#define CTL VR_VALID(VMXERR_ENTRY_INVALID_CONTROLS)
#define HOST VR_VALID(VMXERR_ENTRY_INVALID_HOST_STATE)
#define GUEST EXIT_FAIL(REASON_BAD_GUEST)

/* SDM 26.2.1: checks on VM-execution, VM-exit and VM-entry control fields. */
static void control_cases(void)
{
    uint32_t b;
    /* 26.2.1.1: reserved controls as the capability MSRs say (A.3-A.5). */
    if ((b = bit_not_allowed1(pin_msr())))
        CASE("pin-based control not allowed 1 (26.2.1.1)", CTL, { VMCS_PIN_CONTROLS, pin | b });
    if ((b = bit_must_be1(pin_msr())))
        CASE("pin-based control not allowed 0 (26.2.1.1)", CTL, { VMCS_PIN_CONTROLS, pin & ~b });
    if ((b = bit_not_allowed1(proc_msr())))
        CASE("processor-based control not allowed 1 (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, proc | b });
    if ((b = bit_must_be1(proc_msr())))
        CASE("processor-based control not allowed 0 (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, proc & ~b });
    if (caps.has_proc2 && (b = bit_not_allowed1(proc2_msr())))
        CASE("secondary control not allowed 1 (26.2.1.1)", CTL,
             { VMCS_PROC_CONTROLS, proc | PROC_ACTIVATE_SECONDARY }, { VMCS_PROC_CONTROLS2, proc2 | b });
    if ((b = bit_not_allowed1(exit_msr())))
        CASE("VM-exit control not allowed 1 (26.2.1.2)", CTL, { VMCS_EXIT_CONTROLS, exitc | b });
    if ((b = bit_must_be1(exit_msr())))
        CASE("VM-exit control not allowed 0 (26.2.1.2)", CTL, { VMCS_EXIT_CONTROLS, exitc & ~b });
    if ((b = bit_not_allowed1(entry_msr())))
        CASE("VM-entry control not allowed 1 (26.2.1.3)", CTL, { VMCS_ENTRY_CONTROLS, entry | b });
    if ((b = bit_must_be1(entry_msr())))
        CASE("VM-entry control not allowed 0 (26.2.1.3)", CTL, { VMCS_ENTRY_CONTROLS, entry & ~b });

    /* 26.2.1.1: the CR3-target count is at most 4 (and what IA32_VMX_MISC[24:16] says). */
    unsigned n_cr3 = (caps.misc >> VMX_MISC_CR3_TARGETS_SHIFT) & 0x1FF;
    CASE("CR3-target count too large (26.2.1.1)", CTL,
         { VMCS_CR3_TARGET_COUNT, n_cr3 < 4 ? 5 : n_cr3 + 1 });
    /* 26.2.1.1: I/O-bitmap and MSR-bitmap addresses 4 KiB aligned, within MAXPHYADDR. */
    if (ctl_can1(proc_msr(), PROC_USE_IO_BITMAPS)) {
        CASE("I/O bitmap A misaligned (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, proc | PROC_USE_IO_BITMAPS },
             { VMCS_IO_BITMAP_A, pa(scratch) + 0x800 }, { VMCS_IO_BITMAP_B, pa(scratch) });
        CASE("I/O bitmap B beyond MAXPHYADDR (26.2.1.1)", CTL,
             { VMCS_PROC_CONTROLS, proc | PROC_USE_IO_BITMAPS }, { VMCS_IO_BITMAP_A, pa(scratch) },
             { VMCS_IO_BITMAP_B, beyond_phys() });
    }
    if (ctl_can1(proc_msr(), PROC_USE_MSR_BITMAPS))
        CASE("MSR bitmap misaligned (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, proc | PROC_USE_MSR_BITMAPS },
             { VMCS_MSR_BITMAP, pa(scratch) + 0x10 });
    if (ctl_can1(proc_msr(), PROC_USE_TPR_SHADOW))
        CASE("virtual-APIC address misaligned (26.2.1.1)", CTL,
             { VMCS_PROC_CONTROLS, proc | PROC_USE_TPR_SHADOW }, { VMCS_VIRTUAL_APIC_ADDR, pa(scratch) + 0x80 },
             { VMCS_TPR_THRESHOLD, 0 });
    /* 26.2.1.1: virtual NMIs need NMI exiting; NMI-window exiting needs virtual NMIs. */
    if (ctl_can1(pin_msr(), PIN_VIRTUAL_NMIS) && ctl_can0(pin_msr(), PIN_NMI_EXITING))
        CASE("virtual NMIs without NMI exiting (26.2.1.1)", CTL,
             { VMCS_PIN_CONTROLS, (pin & ~PIN_NMI_EXITING) | PIN_VIRTUAL_NMIS });
    if (ctl_can1(proc_msr(), PROC_NMI_WINDOW_EXITING) && ctl_can0(pin_msr(), PIN_VIRTUAL_NMIS))
        CASE("NMI-window exiting without virtual NMIs (26.2.1.1)", CTL,
             { VMCS_PIN_CONTROLS, pin & ~PIN_VIRTUAL_NMIS }, { VMCS_PROC_CONTROLS, proc | PROC_NMI_WINDOW_EXITING });
    uint64_t p2 = proc2_msr();
    if (ctl_can1(p2, PROC2_ENABLE_EPT)) {
        /* 26.2.1.1: EPTP memory type UC/WB as supported, walk length as
         * supported, A/D only if supported, bits 11:7 reserved. */
        uint64_t mt = (caps.ept_vpid & EPT_CAP_MEMTYPE_WB) ? 6 : 0;
        uint64_t ok = pa(scratch) | mt | (3 << 3);
        uint32_t ept_proc = proc | PROC_ACTIVATE_SECONDARY;
        uint32_t ept_p2 = proc2 | PROC2_ENABLE_EPT;
        CASE("EPTP memory type 3 (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, ept_proc },
             { VMCS_PROC_CONTROLS2, ept_p2 }, { VMCS_EPT_POINTER, (ok & ~7ULL) | 3 });
        CASE("EPTP page-walk length 2 (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, ept_proc },
             { VMCS_PROC_CONTROLS2, ept_p2 }, { VMCS_EPT_POINTER, (ok & ~0x38ULL) | (1 << 3) });
        CASE("EPTP reserved bit 7 (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, ept_proc },
             { VMCS_PROC_CONTROLS2, ept_p2 }, { VMCS_EPT_POINTER, ok | BIT(7) });
        CASE("EPTP beyond MAXPHYADDR (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, ept_proc },
             { VMCS_PROC_CONTROLS2, ept_p2 }, { VMCS_EPT_POINTER, ok | beyond_phys() });
        if (!(caps.ept_vpid & EPT_CAP_ACCESSED_DIRTY))
            CASE("EPTP A/D flags unsupported (26.2.1.1)", CTL, { VMCS_PROC_CONTROLS, ept_proc },
                 { VMCS_PROC_CONTROLS2, ept_p2 }, { VMCS_EPT_POINTER, ok | BIT(6) });
    }
    if (ctl_can1(p2, PROC2_ENABLE_VPID))
        CASE("VPID 0 with enable VPID (26.2.1.1)", CTL,
             { VMCS_PROC_CONTROLS, proc | PROC_ACTIVATE_SECONDARY },
             { VMCS_PROC_CONTROLS2, proc2 | PROC2_ENABLE_VPID }, { VMCS_VPID, 0 });
    if (ctl_can1(p2, PROC2_UNRESTRICTED_GUEST) && ctl_can0(p2, PROC2_ENABLE_EPT))
        CASE("unrestricted guest without EPT (26.2.1.1)", CTL,
             { VMCS_PROC_CONTROLS, proc | PROC_ACTIVATE_SECONDARY },
             { VMCS_PROC_CONTROLS2, (proc2 & ~PROC2_ENABLE_EPT) | PROC2_UNRESTRICTED_GUEST });
    /* 26.2.1.2: saving the preemption timer needs the timer; MSR areas 16-byte aligned. */
    if (ctl_can1(exit_msr(), EXIT_SAVE_PREEMPT_TIMER) && ctl_can0(pin_msr(), PIN_PREEMPTION_TIMER))
        CASE("save preemption timer without the timer (26.2.1.2)", CTL,
             { VMCS_PIN_CONTROLS, pin & ~PIN_PREEMPTION_TIMER },
             { VMCS_EXIT_CONTROLS, exitc | EXIT_SAVE_PREEMPT_TIMER });
    CASE("VM-exit MSR-store area misaligned (26.2.1.2)", CTL, { VMCS_EXIT_MSR_STORE_COUNT, 1 },
         { VMCS_EXIT_MSR_STORE_ADDR, pa(msr_area) + 8 });
    CASE("VM-exit MSR-load area misaligned (26.2.1.2)", CTL, { VMCS_EXIT_MSR_LOAD_COUNT, 1 },
         { VMCS_EXIT_MSR_LOAD_ADDR, pa(msr_area) + 4 });
    CASE("VM-exit MSR-load area beyond MAXPHYADDR (26.2.1.2)", CTL, { VMCS_EXIT_MSR_LOAD_COUNT, 1 },
         { VMCS_EXIT_MSR_LOAD_ADDR, beyond_phys() });
    CASE("VM-entry MSR-load area misaligned (26.2.1.3)", CTL, { VMCS_ENTRY_MSR_LOAD_COUNT, 1 },
         { VMCS_ENTRY_MSR_LOAD_ADDR, pa(msr_area) + 8 });
    /* 26.2.1.3: event injection. */
    CASE("injection: reserved type 1 (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_RESERVED) | 0x20 });
    CASE("injection: hardware exception vector 32 (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_HW_EXC) | 32 });
    CASE("injection: NMI with vector 3 (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_NMI) | 3 });
    CASE("injection: external interrupt with error code (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_EXT_INTR) | INTR_DELIVER_EC | 0x30 },
         { VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF });
    CASE("injection: #GP without error code (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_HW_EXC) | 13 });
    CASE("injection: #UD with error code (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_HW_EXC) | INTR_DELIVER_EC | 6 });
    CASE("injection: reserved bits 30:12 (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | BIT(20) | INTR_TYPE(TYPE_HW_EXC) | 3 });
    CASE("injection: error code bits 31:16 (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_HW_EXC) | INTR_DELIVER_EC | 13 },
         { VMCS_ENTRY_EXCEPTION_ERROR, 0x10000 });
    CASE("injection: software interrupt length 16 (26.2.1.3)", CTL,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_SW_INTR) | 0x80 }, { VMCS_ENTRY_INSTR_LEN, 16 });
    if (!(caps.misc & BIT(30)))
        CASE("injection: software interrupt length 0, MISC[30]=0 (26.2.1.3)", CTL,
             { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_SW_INTR) | 0x80 }, { VMCS_ENTRY_INSTR_LEN, 0 });
    /* 26.2.1.3: "entry to SMM" and "deactivate dual-monitor treatment" are 0
     * outside SMM. Where the capability MSR does not allow them the
     * reserved-control check gives the same error; where it does (Bochs 2.7)
     * Bochs refuses "deactivate dual-monitor treatment" but takes "entry to
     * SMM" as far as the guest-state checks (exit 33): that case needs
     * "strict". */
    if (vmxc_opt_strict || !ctl_can1(entry_msr(), ENTRY_TO_SMM))
        CASE("entry to SMM outside SMM (26.2.1.3)", CTL, { VMCS_ENTRY_CONTROLS, entry | ENTRY_TO_SMM });
    CASE("deactivate dual-monitor treatment outside SMM (26.2.1.3)", CTL,
         { VMCS_ENTRY_CONTROLS, entry | ENTRY_DEACT_DUAL_MONITOR });
}

/* SDM 26.2.2-26.2.4: checks on host control registers, MSRs, segments,
 * descriptor tables, RIP and the address-space size. */
static void host_cases(void)
{
    uint64_t cr0 = cr(0), cr4 = cr(4);
    if (caps.cr0_fixed0 & X86_CR0_NE)
        CASE("host CR0.NE=0 (26.2.2)", HOST, { VMCS_HOST_CR0, cr0 & ~X86_CR0_NE });
    if (caps.cr0_fixed0 & X86_CR0_PG)
        CASE("host CR0.PG=0 (26.2.2)", HOST, { VMCS_HOST_CR0, cr0 & ~X86_CR0_PG });
    CASE("host CR4.VMXE=0 (26.2.2)", HOST, { VMCS_HOST_CR4, cr4 & ~X86_CR4_VMXE });
    for (unsigned b = 0; b < 32; b++)
        if (!(caps.cr4_fixed1 & (1ULL << b))) {
            CASE("host CR4 bit not allowed 1 (26.2.2)", HOST, { VMCS_HOST_CR4, cr4 | 1ULL << b });
            break;
        }
    CASE("host CR4.PAE=0 with a 64-bit host (26.2.4)", HOST, { VMCS_HOST_CR4, cr4 & ~X86_CR4_PAE });
    if (caps.maxphyaddr < 64)
        CASE("host CR3 beyond MAXPHYADDR (26.2.2)", HOST, { VMCS_HOST_CR3, cr(3) | beyond_phys() });
    CASE("host SYSENTER_ESP non-canonical (26.2.2)", HOST, { VMCS_HOST_SYSENTER_ESP, noncanon() });
    CASE("host SYSENTER_EIP non-canonical (26.2.2)", HOST, { VMCS_HOST_SYSENTER_EIP, noncanon() });
    if (ctl_can1(exit_msr(), EXIT_LOAD_PAT))
        CASE("host PAT memory type 2 (26.2.2)", HOST, { VMCS_EXIT_CONTROLS, exitc | EXIT_LOAD_PAT },
             { VMCS_HOST_PAT, 0x0007040600070402ULL });
    if (ctl_can1(exit_msr(), EXIT_LOAD_EFER)) {
        uint64_t efer = rdmsr(MSR_IA32_EFER);
        CASE("host EFER reserved bit (26.2.2)", HOST, { VMCS_EXIT_CONTROLS, exitc | EXIT_LOAD_EFER },
             { VMCS_HOST_EFER, efer | BIT(2) });
        CASE("host EFER.LMA=0 with a 64-bit host (26.2.2)", HOST,
             { VMCS_EXIT_CONTROLS, exitc | EXIT_LOAD_EFER },
             { VMCS_HOST_EFER, efer & ~(X86_EFER_LMA | X86_EFER_LME) });
    }
    /* 26.2.3: selectors RPL 0, TI 0; CS and TR not 0. */
    CASE("host CS selector 0 (26.2.3)", HOST, { VMCS_HOST_CS_SEL, 0 });
    CASE("host TR selector 0 (26.2.3)", HOST, { VMCS_HOST_TR_SEL, 0 });
    CASE("host SS selector RPL 3 (26.2.3)", HOST, { VMCS_HOST_SS_SEL, VMXC_SEL_DATA | 3 });
    CASE("host DS selector TI 1 (26.2.3)", HOST, { VMCS_HOST_DS_SEL, VMXC_SEL_DATA | 4 });
    CASE("host FS selector RPL 1 (26.2.3)", HOST, { VMCS_HOST_FS_SEL, VMXC_SEL_DATA | 1 });
    CASE("host CS selector TI 1 (26.2.3)", HOST, { VMCS_HOST_CS_SEL, VMXC_SEL_CODE64 | 4 });
    CASE("host FS base non-canonical (26.2.3)", HOST, { VMCS_HOST_FS_BASE, noncanon() });
    CASE("host GS base non-canonical (26.2.3)", HOST, { VMCS_HOST_GS_BASE, noncanon() });
    CASE("host GDTR base non-canonical (26.2.3)", HOST, { VMCS_HOST_GDTR_BASE, noncanon() });
    CASE("host IDTR base non-canonical (26.2.3)", HOST, { VMCS_HOST_IDTR_BASE, noncanon() });
    CASE("host TR base non-canonical (26.2.3)", HOST, { VMCS_HOST_TR_BASE, noncanon() });
    /* 26.2.4: in IA-32e mode the host address-space size control is 1; RIP canonical. */
    CASE("host address-space size 0 in IA-32e mode (26.2.4)", HOST,
         { VMCS_EXIT_CONTROLS, exitc & ~EXIT_HOST_ADDR_SPACE_SIZE });
    CASE("host RIP non-canonical (26.2.4)", HOST, { VMCS_HOST_RIP, noncanon() });
}

/* SDM 26.3.1: checks on the guest-state area; 26.4: MSR loading. */
static void guest_cases(void)
{
    uint64_t cr0 = cr(0), cr4 = cr(4);
    /* 26.3.1.1: control registers, debug registers, MSRs. */
    if (caps.cr0_fixed0 & X86_CR0_NE)
        CASE("guest CR0.NE=0 (26.3.1.1)", GUEST, { VMCS_GUEST_CR0, cr0 & ~X86_CR0_NE });
    CASE("guest CR0.PG=0 in IA-32e mode (26.3.1.1)", GUEST, { VMCS_GUEST_CR0, cr0 & ~X86_CR0_PG });
    CASE("guest CR4.VMXE=0 (26.3.1.1)", GUEST, { VMCS_GUEST_CR4, cr4 & ~X86_CR4_VMXE });
    CASE("guest CR4.PAE=0 in IA-32e mode (26.3.1.1)", GUEST, { VMCS_GUEST_CR4, cr4 & ~X86_CR4_PAE });
    if (caps.maxphyaddr < 64)
        CASE("guest CR3 beyond MAXPHYADDR (26.3.1.1)", GUEST, { VMCS_GUEST_CR3, cr(3) | beyond_phys() });
    if (entry & ENTRY_LOAD_DEBUG_CTLS)
        CASE("guest DR7 bits 63:32 (26.3.1.1)", GUEST, { VMCS_GUEST_DR7, DR7_RESET | BIT(32) });
    CASE("guest SYSENTER_ESP non-canonical (26.3.1.1)", GUEST, { VMCS_GUEST_SYSENTER_ESP, noncanon() });
    CASE("guest SYSENTER_EIP non-canonical (26.3.1.1)", GUEST, { VMCS_GUEST_SYSENTER_EIP, noncanon() });
    if (ctl_can1(entry_msr(), ENTRY_LOAD_PAT))
        CASE("guest PAT memory type 2 (26.3.1.1)", GUEST, { VMCS_ENTRY_CONTROLS, entry | ENTRY_LOAD_PAT },
             { VMCS_GUEST_PAT, 0x0007040600070402ULL });
    if (ctl_can1(entry_msr(), ENTRY_LOAD_EFER))
        CASE("guest EFER.LMA=0 in IA-32e mode (26.3.1.1)", GUEST,
             { VMCS_ENTRY_CONTROLS, entry | ENTRY_LOAD_EFER },
             { VMCS_GUEST_EFER, rdmsr(MSR_IA32_EFER) & ~(X86_EFER_LMA | X86_EFER_LME) });
    /* 26.3.1.2: segment registers. */
    CASE("guest TR selector TI 1 (26.3.1.2)", GUEST, { VMCS_GUEST_TR_SEL, VMXC_SEL_TSS | 4 });
    CASE("guest SS.RPL != CS.RPL (26.3.1.2)", GUEST, { VMCS_GUEST_SS_SEL, VMXC_SEL_DATA | 3 });
    CASE("guest DS base bits 63:32 (26.3.1.2)", GUEST, { VMCS_GUEST_DS_BASE, BIT(32) });
    CASE("guest FS base non-canonical (26.3.1.2)", GUEST, { VMCS_GUEST_FS_BASE, noncanon() });
    CASE("guest GS base non-canonical (26.3.1.2)", GUEST, { VMCS_GUEST_GS_BASE, noncanon() });
    CASE("guest TR base non-canonical (26.3.1.2)", GUEST, { VMCS_GUEST_TR_BASE, noncanon() });
    CASE("guest CS type data (26.3.1.2)", GUEST, { VMCS_GUEST_CS_AR, (AR_CODE64 & ~0xF) | 3 });
    CASE("guest CS L=1 and D=1 (26.3.1.2)", GUEST, { VMCS_GUEST_CS_AR, AR_CODE64 | BIT(14) });
    CASE("guest SS.DPL != SS.RPL (26.3.1.2)", GUEST, { VMCS_GUEST_SS_AR, AR_DATA | (3 << 5) });
    CASE("guest DS not present but usable (26.3.1.2)", GUEST, { VMCS_GUEST_DS_AR, AR_DATA & ~BIT(7) });
    CASE("guest DS access rights bit 17 (26.3.1.2)", GUEST, { VMCS_GUEST_DS_AR, AR_DATA | BIT(17) });
    CASE("guest ES limit 11:0 not all 1 with G=1 (26.3.1.2)", GUEST, { VMCS_GUEST_ES_LIMIT, 0xFFFFF000 });
    CASE("guest TR unusable (26.3.1.2)", GUEST, { VMCS_GUEST_TR_AR, AR_TSS64_BUSY | AR_UNUSABLE });
    CASE("guest TR type 9 in IA-32e mode (26.3.1.2)", GUEST, { VMCS_GUEST_TR_AR, (AR_TSS64_BUSY & ~0xF) | 9 });
    CASE("guest LDTR usable with type 3 (26.3.1.2)", GUEST, { VMCS_GUEST_LDTR_AR, 0x83 });
    /* 26.3.1.3: descriptor-table registers. */
    CASE("guest GDTR base non-canonical (26.3.1.3)", GUEST, { VMCS_GUEST_GDTR_BASE, noncanon() });
    CASE("guest IDTR base non-canonical (26.3.1.3)", GUEST, { VMCS_GUEST_IDTR_BASE, noncanon() });
    CASE("guest GDTR limit bits 31:16 (26.3.1.3)", GUEST, { VMCS_GUEST_GDTR_LIMIT, 0x10000 });
    CASE("guest IDTR limit bits 31:16 (26.3.1.3)", GUEST, { VMCS_GUEST_IDTR_LIMIT, 0x10000 });
    /* 26.3.1.4: RIP and RFLAGS. */
    CASE("guest RIP bits 63:32 with CS.L=0 (26.3.1.4)", GUEST,
         { VMCS_GUEST_CS_AR, (AR_CODE64 & ~BIT(13)) | BIT(14) }, { VMCS_GUEST_RIP, BIT(32) });
    /* Bochs 2.7 does not check this one at entry (the fetch #GPs: exit 0). */
    if (vmxc_opt_strict)
        CASE("guest RIP non-canonical, 64-bit CS (26.3.1.4)", GUEST, { VMCS_GUEST_RIP, noncanon() });
    CASE("guest RFLAGS bit 1 clear (26.3.1.4)", GUEST, { VMCS_GUEST_RFLAGS, 0 });
    CASE("guest RFLAGS reserved bit 15 (26.3.1.4)", GUEST, { VMCS_GUEST_RFLAGS, RFLAGS_FIXED | BIT(15) });
    CASE("guest RFLAGS bits 63:22 (26.3.1.4)", GUEST, { VMCS_GUEST_RFLAGS, RFLAGS_FIXED | BIT(32) });
    CASE("guest RFLAGS.VM in IA-32e mode (26.3.1.4)", GUEST, { VMCS_GUEST_RFLAGS, RFLAGS_FIXED | BIT(17) });
    CASE("guest RFLAGS.IF=0 with an injected external interrupt (26.3.1.4)", GUEST,
         { VMCS_ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE(TYPE_EXT_INTR) | 0x30 });
    /* 26.3.1.5: non-register state. */
    if (!(caps.misc & BIT(8)))
        CASE("guest activity wait-for-SIPI unsupported (26.3.1.5)", GUEST, { VMCS_GUEST_ACTIVITY, 3 });
    if (!(caps.misc & VMX_MISC_ACTIVITY_HLT))
        CASE("guest activity HLT unsupported (26.3.1.5)", GUEST, { VMCS_GUEST_ACTIVITY, 1 });
    CASE("guest interruptibility bits 31:5 (26.3.1.5)", GUEST, { VMCS_GUEST_INTERRUPTIBILITY, BIT(5) });
    CASE("guest blocking by STI and MOV SS (26.3.1.5)", GUEST,
         { VMCS_GUEST_INTERRUPTIBILITY, 3 }, { VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF });
    CASE("guest blocking by STI with RFLAGS.IF=0 (26.3.1.5)", GUEST, { VMCS_GUEST_INTERRUPTIBILITY, 1 });
    CASE("guest blocking by SMI outside SMM (26.3.1.5)", GUEST, { VMCS_GUEST_INTERRUPTIBILITY, BIT(2) });
    CASE("guest pending debug exceptions bit 4 (26.3.1.5)", GUEST, { VMCS_GUEST_PENDING_DBG, BIT(4) });
    /* 26.3.1.5: a VMCS link pointer that is not ~0 must name a VMCS of our
     * revision: an entry failure with exit qualification 4 (26.8). */
    memset(scratch, 0, sizeof(scratch));
    CASEQ("guest VMCS link pointer, wrong revision (26.3.1.5)", GUEST, ENTRY_FAIL_QUAL_LINK_PTR,
          { VMCS_LINK_POINTER, pa(scratch) });
    CASEQ("guest VMCS link pointer misaligned (26.3.1.5)", GUEST, ENTRY_FAIL_QUAL_LINK_PTR,
          { VMCS_LINK_POINTER, pa(scratch) + 0x40 });
    /* 26.4: VM-entry MSR loading: an entry for IA32_FS_BASE, or with bits
     * 63:32 of its first quadword set, fails entry with reason 34 and the
     * entry's number (from 1) as the exit qualification. */
    msr_area[0] = MSR_IA32_FS_BASE;
    msr_area[1] = 0;
    CASEQ("VM-entry MSR load of IA32_FS_BASE (26.4)", EXIT_FAIL(REASON_MSR_LOAD), 1,
          { VMCS_ENTRY_MSR_LOAD_COUNT, 1 }, { VMCS_ENTRY_MSR_LOAD_ADDR, pa(msr_area) });
    msr_area[0] = MSR_IA32_SYSENTER_CS | 1ULL << 32;
    CASEQ("VM-entry MSR load, reserved bits 63:32 (26.4)", EXIT_FAIL(REASON_MSR_LOAD), 1,
          { VMCS_ENTRY_MSR_LOAD_COUNT, 1 }, { VMCS_ENTRY_MSR_LOAD_ADDR, pa(msr_area) });
}

void vmxc_section_vmentry(void)
{
    vmxc_section_begin();
    vmxc_build_vmcs();
    cases = 0;
    control_cases();
    host_cases();
    guest_cases();
    vmxc_printf("vmxcheck: vmentry: %u broken-VMCS cases\n", cases);
    vmxc_section_end("vmentry");
}

/* ---- section l2: a real L2 run (SDM 26, 27, 25.1.2) ---- */

void vmxc_section_l2(void)
{
    uint64_t r, rip, len, l2 = pa(vmxc_l2_entry);
    vmxc_section_begin();
    vmxc_build_vmcs();
    /* CPUID exits unconditionally (25.1.2); the exit saves RIP of the
     * instruction (27.3.3) and its length (27.2.5). */
    r = vmx_launch(0);
    vmxc_check_vr("VMLAUNCH, L2 CPUID exits (25.1.2)", VR_EXIT(REASON_CPUID), r);
    if (r != VR_EXIT(REASON_CPUID)) {
        vmxc_section_end("l2");
        return;
    }
    rip = vmrd(VMCS_GUEST_RIP);
    len = vmrd(VMCS_EXIT_INSTR_LEN);
    vmxc_check_eq("CPUID exit: guest RIP at CPUID (27.3.3)", l2 + 2, rip);
    vmxc_check_eq("CPUID exit: instruction length 2 (27.2.5)", 2, len);
    vmxc_check_eq("CPUID exit: guest RSP saved (27.3.3)", pa(&l2_stack[512]), vmrd(VMCS_GUEST_RSP));
    vmxc_check_eq("CPUID exit: guest CS selector saved (27.3.2)", VMXC_SEL_CODE64,
                  vmrd(VMCS_GUEST_CS_SEL));
    /* VMLAUNCH of a launched VMCS: VMfailValid(4) (VMLAUNCH). */
    vmxc_check_vr("VMLAUNCH launched VMCS (VMLAUNCH)", VR_VALID(VMXERR_VMLAUNCH_NOT_CLEAR),
                  vmx_launch(0));
    vmwr(VMCS_GUEST_RIP, rip + len);
    r = vmx_launch(VMXC_ENTER_RESUME);
    vmxc_check_vr("VMRESUME, L2 VMCALL exits (25.1.2)", VR_EXIT(REASON_VMCALL), r);
    vmxc_check_eq("VMCALL exit: guest RIP (27.3.3)", l2 + 4, vmrd(VMCS_GUEST_RIP));
    vmxc_check_eq("VMCALL exit: instruction length 3 (27.2.5)", 3, vmrd(VMCS_EXIT_INSTR_LEN));
    if (proc & PROC_HLT_EXITING) {
        vmwr(VMCS_GUEST_RIP, vmrd(VMCS_GUEST_RIP) + vmrd(VMCS_EXIT_INSTR_LEN));
        r = vmx_launch(VMXC_ENTER_RESUME);
        vmxc_check_vr("VMRESUME, L2 HLT exits with HLT exiting (25.1.3)", VR_EXIT(REASON_HLT), r);
        vmxc_check_eq("HLT exit: guest RIP (27.3.3)", pa(vmxc_l2_hlt_loop), vmrd(VMCS_GUEST_RIP));
        vmxc_check_eq("HLT exit: instruction length 1 (27.2.5)", 1, vmrd(VMCS_EXIT_INSTR_LEN));
    }
    /* VMCLEAR makes the launch state clear: VMLAUNCH again (30.3 VMCLEAR). */
    vmwr(VMCS_GUEST_RIP, l2);
    vmxc_check_vr("VMCLEAR launched VMCS (VMCLEAR)", VR_OK, vmx_vmclear(pa(vmcs_region)));
    vmxc_check_vr("VMPTRLD (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_region)));
    vmxc_check_vr("VMRESUME after VMCLEAR (VMRESUME)", VR_VALID(VMXERR_VMRESUME_NOT_LAUNCHED),
                  vmx_launch(VMXC_ENTER_RESUME));
    vmxc_check_vr("VMLAUNCH after VMCLEAR (VMLAUNCH)", VR_EXIT(REASON_CPUID), vmx_launch(0));
    vmxc_check_eq("exit reason has no entry-failure bit (24.9.1)", REASON_CPUID,
                  vmrd(VMCS_EXIT_REASON));
    vmxc_section_end("l2");
}
