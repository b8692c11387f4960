/*
 * tests/guests/vmxfuzz.c - a hostile L1: a seeded fuzzer of VM entry. It
 * VMXONs, builds vmxcheck's valid VMCS (vmxcheck_entry.c) for a tiny 64-bit
 * L2 with EPT (EPT12 in 2 MiB pages, L2's own through 4 KiB pages now and then; L2 has
 * its own page tables) and the VMX-preemption timer on, and
 * then, for N iterations (command line `seed=S iterations=N`, default 1 and
 * 10000): restores the valid VMCS, writes random values (biased: all ones,
 * single bits, small numbers, boundaries, bit flips of the valid value) to
 * 1-4 random fields (Appendix B encodings and invalid ones), now and then
 * to an EPT12 entry, rewrites L2's few instructions and VMLAUNCHes (or
 * VMRESUMEs the VMCS L2 just left). Each outcome is classed (VMfailValid,
 * VMfailInvalid, VM-entry failure 33/34, an L2 exit by reason, a fault) and
 * checked against what the SDM allows (an "error"): VMLAUNCH fails only
 * with error 7 or 8 (26.2), VMRESUME of a clear VMCS with 5, RFLAGS as 30.2
 * says, a broken host field never enters, an entry failure only with 33 or
 * 34 (26.8), an L2 exit only for a reason L1 asked for (25.1), the
 * interruption-information valid bit cleared (24.8.3), saved guest state
 * L2 could not change equal to what was loaded (27.3), RFLAGS' reserved bits.
 * One VMRESUME in 4 writes, instead of random values, one guest-state
 * field broken so that a check of 26.3.1 fails since the entry before, and
 * must be an entry failure 33 (`between`: the same on Bochs's own VMX).
 *
 * What a random L1 could legitimately hang or abort on is kept out by
 * construction, not left to luck: the preemption timer stays on with a
 * bounded value (an L2 halted for good would otherwise wait forever, as on
 * hardware); EPT stays on (without it L2-physical is L1-physical and a
 * fuzzed L2 writes over L1 itself: seed 1, iteration 8471 did); the VM-exit MSR-store/load counts stay 0 (a bad list is a VMX
 * abort, 27.7: the processor shuts down); host-state fields are only ever
 * broken in ways 26.2.2-26.2.4 refuse (a valid but different host state
 * would wreck L1 itself); EPT12 and its pointer never let L2 write or run
 * L1's own 2 MiB (0-2 MiB) and never point outside L1's RAM below
 * MAXPHYADDR (nested-vmx stops the VM there, ept02.c); 4 KiB leaves (L2's
 * 2 MiB through a page table now and then) point only at L2's first pages
 * (its code, or zeros). L2's code uses no I/O, MSR or CR
 * instruction at any byte offset, so no exit the kernel's floor adds is
 * left to nested-vmx. The VMCS is restored by VMCLEAR, a copy of the
 * cleared valid region, VMPTRLD (an L1 may write its VMCS region; both
 * nested-vmx and Bochs keep the VMCS there once it is clear).
 *
 * Output (the UART is slow): a line per 1000 iterations, errors (the first
 * 10 in full), then `vmxfuzz: N launches: ...` and `vmxfuzz: N iterations,
 * E errors`.
 */
#include "vmxcheck.h"
#include <fmt.h>
#include <nestor/vmcs.h>
#include <string.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define L2_BASE        0x400000ULL          /* L2's code and stack: L1-physical 4-6 MiB */
#define PAGE_2M        0x200000ULL
#define L2_PT          (L2_BASE + 0x100000) /* L2's own page tables (PML4, PDPT, PD) */
#define PTE_P_RW_A_D   0x63ULL
#define PTE_PS         0x80ULL
#define RAM_BYTES      0x800000ULL          /* tests/configs/vmxfuzz.dts: 8 MiB */
#define EPT_R          1ULL
#define EPT_W          2ULL
#define EPT_X          4ULL
#define EPT_WB         (6ULL << 3)
#define EPT_PS         BIT(7)
#define EPTP_WB_4      (6ULL | 3ULL << 3)   /* WB, 4-level walk (24.6.11) */
#define TIMER_VALUE    200                  /* preemption-timer start (x 2^rate TSC ticks) */
#define TIMER_CAP      0xFFF
#define MAX_MUT        4
#define MAX_REASON     66
#define MAX_PRINTED    10
#define REASON_BAD_GUEST 33
#define REASON_MSR_LOAD  34

static uint64_t golden[512] __attribute__((aligned(4096)));   /* the valid VMCS, cleared */
static uint64_t ept_pml4[512] __attribute__((aligned(4096)));
static uint64_t ept_pdpt[512] __attribute__((aligned(4096)));
static uint64_t ept_pd[512] __attribute__((aligned(4096)));
static uint64_t ept_pt[512] __attribute__((aligned(4096)));
static uint64_t ept_pd_golden[4];
static uint64_t eptp_golden;

static uint64_t rng;
static unsigned long long seed, iterations = 10000, it, trace = ~0ULL;
static unsigned long long n_launch, n_vmfail, n_invalid, n_entryfail, n_exit, n_fault, n_errors;
static unsigned long long vmfail_by[32], exits_by[MAX_REASON], entryfail_by[2];

struct mut {
    uint32_t field;
    uint64_t value;
    int written;            /* VMWRITE succeeded */
    int host_broken;        /* a host field broken in a way 26.2.2-26.2.4 refuse */
};
static struct mut muts[MAX_MUT];
static unsigned n_mut;
static int ept_touched;
static uint64_t ept_slot_old, *ept_slot;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;                       /* xorshift64* */
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }

static uint64_t cmdline_number(const char *cmd, const char *key, uint64_t dflt)
{
    size_t n = strlen(key);
    for (const char *p = cmd; *p; p++)
        if ((p == cmd || p[-1] == ' ') && strncmp(p, key, n) == 0) {
            uint64_t v = 0;
            for (p += n; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint64_t)(*p - '0');
            return v;
        }
    return dflt;
}

static void error(const char *what, uint64_t a, uint64_t b)
{
    n_errors++;
    if (n_errors > MAX_PRINTED)
        return;
    vmxc_printf("vmxfuzz: ERROR seed %llu iteration %llu: %s (%#llx, %#llx); fields:", seed, it, what,
                (unsigned long long)a, (unsigned long long)b);
    for (unsigned i = 0; i < n_mut; i++)
        vmxc_printf(" %#x=%#llx", muts[i].field, (unsigned long long)muts[i].value);
    if (ept_touched)
        vmxc_printf(" ept[%#llx]=%#llx", (unsigned long long)pa(ept_slot), (unsigned long long)*ept_slot);
    vmxc_printf("\n");
}

/* A biased random value: all ones, single bits, small numbers, boundaries,
 * or the valid value with bits flipped. */
static uint64_t biased(uint64_t valid)
{
    static const uint64_t edges[] = {
        0, 1, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000ULL,
        0x00007FFFFFFFFFFFULL, 0x0000800000000000ULL, 0xFFFF800000000000ULL,
        0x7FFFFFFFFFFFFFFFULL, 0x8000000000000000ULL, 0xFFFFFFFFFFFFF000ULL,
    };
    switch (below(8)) {
    case 0: return ~0ULL;
    case 1: return 1ULL << below(64);
    case 2: return below(16);
    case 3: return edges[below(sizeof(edges) / sizeof(edges[0]))];
    case 4:
    case 5: return valid ^ 1ULL << below(64);
    case 6: return valid ^ (rnd() & rnd());
    default: return rnd();
    }
}

/* A host field broken as 26.2.2-26.2.4 refuse: VMLAUNCH must fail (7 or 8). */
static int break_host(uint32_t enc, uint64_t valid, uint64_t *v)
{
    uint64_t noncanon = 1ULL << caps.linear_bits | (rnd() & ((1ULL << caps.linear_bits) - 1));
    switch (enc) {
    case VMCS_HOST_ES_SEL: case VMCS_HOST_CS_SEL: case VMCS_HOST_SS_SEL: case VMCS_HOST_DS_SEL:
    case VMCS_HOST_FS_SEL: case VMCS_HOST_GS_SEL: case VMCS_HOST_TR_SEL:
        *v = valid | (1 + below(7));        /* RPL or TI not 0 (26.2.3) */
        return 1;
    case VMCS_HOST_FS_BASE: case VMCS_HOST_GS_BASE: case VMCS_HOST_TR_BASE:
    case VMCS_HOST_GDTR_BASE: case VMCS_HOST_IDTR_BASE: case VMCS_HOST_SYSENTER_ESP:
    case VMCS_HOST_SYSENTER_EIP: case VMCS_HOST_RIP:
        *v = noncanon;                      /* 26.2.2, 26.2.3, 26.2.4 */
        return 1;
    case VMCS_HOST_CR4:
        *v = valid & ~(X86_CR4_VMXE | (below(2) ? X86_CR4_PAE : 0));   /* 26.2.2, 26.2.4 */
        return 1;
    default:
        return 0;                           /* left alone: L1 needs it to come back */
    }
}

static uint64_t golden_field(uint32_t enc)
{
    uint64_t v = 0;
    vmx_vmread(enc, &v);
    return v;
}

/* One field mutation; the value the VMCS now holds is kept for the checks. */
static void mutate_field(void)
{
    struct mut *m = &muts[n_mut];
    uint32_t enc;
    if (below(8))
        enc = vmxc_fields[below(vmxc_n_fields)].enc | (below(8) ? 0 : 1);   /* some high halves */
    else
        enc = (uint32_t)biased(vmxc_fields[below(vmxc_n_fields)].enc);      /* mostly invalid */
    uint64_t valid = golden_field(enc), v = biased(valid);
    m->host_broken = 0;
    if (VMCS_FIELD_TYPE(enc) == VMCS_TYPE_HOST && !(enc & 1) && enc < 0x10000) {
        if (!break_host(enc, valid, &v))
            return;
        m->host_broken = 1;
    }
    switch (enc) {
    case VMCS_PIN_CONTROLS:
        v |= PIN_PREEMPTION_TIMER;          /* bounded L2 */
        break;
    case VMCS_PROC_CONTROLS:
        v |= PROC_ACTIVATE_SECONDARY;       /* EPT stays on: without it L2 owns L1's memory */
        break;
    case VMCS_PROC_CONTROLS2:
        v |= PROC2_ENABLE_EPT;
        break;
    case VMCS_PREEMPT_TIMER_VALUE:
        v &= TIMER_CAP;
        break;
    case VMCS_EXIT_MSR_STORE_COUNT:
    case VMCS_EXIT_MSR_LOAD_COUNT:
        return;                             /* a bad list is a VMX abort (27.7) */
    case VMCS_EPT_POINTER:
    case VMCS_EPT_POINTER + 1:
        /* Below MAXPHYADDR the tables stay ours; above, the entry checks refuse it. */
        if (enc == VMCS_EPT_POINTER + 1 || !(v & 0x000FFFFFFFFFF000ULL & ~(beyond_phys() - 1)))
            v = (v & ~0x000FFFFFFFFFF000ULL) | pa(ept_pml4);
        if (enc == VMCS_EPT_POINTER + 1) {
            enc = VMCS_EPT_POINTER;
            if (!(v & 0x000FFFFFFFFFF000ULL & ~(beyond_phys() - 1)))
                v = (v & 0xFFFFFFFF) | (pa(ept_pml4) & ~0xFFFULL);
        }
        break;
    }
    m->field = enc;
    m->value = v;
    uint64_t r = vmx_vmwrite(enc, v);
    m->written = r == VR_OK;
    /* VMWRITE: success, or an unsupported field (12) or a read-only one (13). */
    if (r != VR_OK && r != VR_VALID(VMXERR_UNSUPPORTED_FIELD) && r != VR_VALID(VMXERR_VMWRITE_READ_ONLY))
        error("VMWRITE outcome", enc, r);
    if (m->written)
        m->value = v & vmxc_width_mask(enc);
    n_mut++;
}

/* The value a field had when VMLAUNCH ran (after the mutations). */
static uint64_t loaded(uint32_t enc, uint64_t valid)
{
    for (unsigned i = n_mut; i-- > 0;)
        if (muts[i].written && muts[i].field == enc)
            return muts[i].value;
    return valid;
}

/* An EPT12 entry: perms, memory type, ignore-PAT, PS of non-leaves, ignored
 * and reserved bits, addresses; never W/X on L1's own 2 MiB, never a table
 * or page outside L1's RAM below MAXPHYADDR, leaves stay 2 MiB. */
static void mutate_ept(void)
{
    unsigned k = below(8);
    uint64_t *e = k == 0 ? &ept_pml4[0] : k == 1 ? &ept_pdpt[0] : k < 6 ? &ept_pd[k - 2]
                                                                    : &ept_pd[4 + below(508)];
    uint64_t v = biased(*e);
    uint64_t addr_mask = 0x000FFFFFFFFFF000ULL, low = beyond_phys() - 1;
    int beyond = (v & addr_mask & ~low) != 0;
    if (e == &ept_pml4[0] || e == &ept_pdpt[0]) {
        if (!beyond)
            v = (v & ~addr_mask) | (*e & addr_mask);
    } else if (v & 7) {
        v |= EPT_PS;
        if (!beyond) {
            uint64_t a = v & addr_mask & (RAM_BYTES - 1) & ~(PAGE_2M - 1);
            v = (v & ~(addr_mask & low)) | a | (v & 0x1FE000);   /* keep reserved 20:12 */
            if (a < PAGE_2M)
                v &= ~(EPT_W | EPT_X);
        }
    }
    ept_slot = e;
    ept_slot_old = *e;
    *e = v;
    ept_touched = 1;
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
}

/* EPT12 maps L2's 2 MiB through a page table (SDM 28.3.2): 4 KiB pages in
 * order with all rights, then 1-4 entries mutated (rights, memory type,
 * reserved and ignored bits) and, unless beyond MAXPHYADDR, pointed at one
 * of L2's first pages (its code, or zeros): 4 KiB leaves that do not make
 * a 2 MiB page, which nested-vmx maps one by one (ept02.c). */
#define PAGE_4K        0x1000ULL
#define PT_FIRST_PAGES 8
static void mutate_ept_4k(void)
{
    const uint64_t addr_mask = 0x000FFFFFFFFFF000ULL, low = beyond_phys() - 1;
    for (unsigned i = 0; i < 512; i++)
        ept_pt[i] = (L2_BASE + i * PAGE_4K) | EPT_R | EPT_W | EPT_X | EPT_WB;
    for (unsigned n = 1 + below(4); n; n--) {
        unsigned i = below(4) ? below(PT_FIRST_PAGES) : below(512);
        uint64_t v = biased(ept_pt[i]);
        if (!(v & addr_mask & ~low))
            v = (v & ~(addr_mask & low)) | (L2_BASE + below(PT_FIRST_PAGES) * PAGE_4K);
        ept_pt[i] = v;
    }
    ept_slot = &ept_pd[L2_BASE / PAGE_2M];
    ept_slot_old = *ept_slot;
    *ept_slot = pa(ept_pt) | EPT_R | EPT_W | EPT_X;
    ept_touched = 1;
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
}

/* L2: 1-4 instructions from a set with no I/O, MSR or CR access at any byte
 * offset, then HLT and a jump to itself (the preemption timer ends it). */
static void write_l2(void)
{
    static const struct {
        uint8_t len, b[3];
    } set[] = {
        { 2, { 0x0F, 0xA2 } },              /* CPUID */
        { 1, { 0x90 } },                    /* NOP */
        { 2, { 0xF3, 0x90 } },              /* PAUSE */
        { 3, { 0x0F, 0x01, 0xC1 } },        /* VMCALL */
        { 3, { 0x48, 0xFF, 0xC0 } },        /* INC RAX */
        { 2, { 0x31, 0xC0 } },              /* XOR EAX, EAX */
        { 1, { 0xF4 } },                    /* HLT */
    };
    uint8_t *p = (uint8_t *)(uintptr_t)L2_BASE;
    unsigned n = 1 + below(4);
    for (unsigned i = 0; i < n; i++) {
        unsigned j = below(sizeof(set) / sizeof(set[0]));
        memcpy(p, set[j].b, set[j].len);
        p += set[j].len;
    }
    *p++ = 0xF4;                            /* HLT */
    *p++ = 0xEB;                            /* JMP $ */
    *p++ = 0xFE;
    memset(p, 0, 32);
    /* L2's paging, in its own memory (L1's tables are read-only to L2, and
     * an accessed-flag update there would be a write): 0-8 MiB identity in
     * 2 MiB pages, accessed and dirty already. Rewritten each time: L2 may
     * have written over them. */
    uint64_t *pml4 = (uint64_t *)(uintptr_t)L2_PT, *pdpt = pml4 + 512, *pd = pdpt + 512;
    pml4[0] = pa(pdpt) | PTE_P_RW_A_D;
    pdpt[0] = pa(pd) | PTE_P_RW_A_D;
    for (unsigned i = 0; i < RAM_BYTES / PAGE_2M; i++)
        pd[i] = i * PAGE_2M | PTE_P_RW_A_D | PTE_PS;
}

static void setup(void)
{
    write_cr0(read_cr0() | (caps.cr0_fixed0 & 0xFFFFFFFF));
    write_cr4(read_cr4() | caps.cr4_fixed0 | X86_CR4_VMXE);
    vmxc_write_revision(vmxon_region, caps.revision);
    vmxc_write_revision(vmcs_region, caps.revision);
    vmxc_check_vr("VMXON", VR_OK, vmx_vmxon(pa(vmxon_region)));
    vmxc_build_vmcs();
    /* EPT12: L1's 0-2 MiB read-only, 4-6 MiB (L2) all rights, 6-8 MiB
     * read/write, the rest not present; all 2 MiB leaves. */
    ept_pml4[0] = pa(ept_pdpt) | EPT_R | EPT_W | EPT_X;
    ept_pdpt[0] = pa(ept_pd) | EPT_R | EPT_W | EPT_X;
    ept_pd[0] = 0 | EPT_R | EPT_WB | EPT_PS;
    ept_pd[2] = L2_BASE | EPT_R | EPT_W | EPT_X | EPT_WB | EPT_PS;
    ept_pd[3] = (L2_BASE + PAGE_2M) | EPT_R | EPT_W | EPT_WB | EPT_PS;
    memcpy(ept_pd_golden, ept_pd, sizeof(ept_pd_golden));
    eptp_golden = pa(ept_pml4) | EPTP_WB_4;
    uint32_t proc = (uint32_t)golden_field(VMCS_PROC_CONTROLS) | PROC_ACTIVATE_SECONDARY |
                    PROC_HLT_EXITING;
    uint32_t proc2 = (uint32_t)golden_field(VMCS_PROC_CONTROLS2) | PROC2_ENABLE_EPT;
    vmwr(VMCS_PROC_CONTROLS, proc);
    vmwr(VMCS_PROC_CONTROLS2, proc2);
    vmwr(VMCS_EPT_POINTER, eptp_golden);
    vmwr(VMCS_PIN_CONTROLS, golden_field(VMCS_PIN_CONTROLS) | PIN_PREEMPTION_TIMER);
    vmwr(VMCS_PREEMPT_TIMER_VALUE, TIMER_VALUE);
    vmwr(VMCS_GUEST_RIP, L2_BASE);
    vmwr(VMCS_GUEST_CR3, L2_PT);
    vmwr(VMCS_GUEST_RSP, L2_BASE + PAGE_2M - 64);
    if (ctl_can1(exit_msr(), EXIT_LOAD_PAT))
        vmwr(VMCS_HOST_PAT, rdmsr_safe(MSR_IA32_PAT, &(uint64_t){ 0 }));
    if (ctl_can1(exit_msr(), EXIT_LOAD_EFER))
        vmwr(VMCS_HOST_EFER, rdmsr_safe(MSR_IA32_EFER, &(uint64_t){ 0 }));
    vmx_vmclear(pa(vmcs_region));
    memcpy(golden, vmcs_region, sizeof(golden));
    vmx_vmptrld(pa(vmcs_region));
}

/* Exits L1 asked for only with a control (25.1.3): reason -> control. */
static int exit_wanted(unsigned reason, uint32_t pin, uint32_t proc)
{
    switch (reason) {
    case 12: return (proc & PROC_HLT_EXITING) != 0;
    case 40: return (proc & PROC_PAUSE_EXITING) != 0;
    case 52: return (pin & PIN_PREEMPTION_TIMER) != 0;
    case 7: return (proc & PROC_INTR_WINDOW_EXITING) != 0;
    case 8: return (proc & PROC_NMI_WINDOW_EXITING) != 0;
    case 1: return (pin & PIN_EXTINT_EXITING) != 0;
    /* exceptions/NMI, triple fault, task switch, CPUID, VMCALL, EPT violation
     * and misconfiguration (EPT is on), XSETBV... exit unconditionally */
    case 0: case 2: case 9: case 10: case 18: case 48: case 49: return 1;
    default: return 0;                      /* nothing in L2 can cause it */
    }
}

/* Guest fields no instruction of L2's can change: saved as loaded (27.3). */
static const uint32_t kept[] = {
    VMCS_GUEST_GDTR_BASE, VMCS_GUEST_GDTR_LIMIT, VMCS_GUEST_IDTR_BASE, VMCS_GUEST_IDTR_LIMIT,
    VMCS_GUEST_SYSENTER_CS, VMCS_GUEST_SYSENTER_ESP, VMCS_GUEST_SYSENTER_EIP,
};
#define N_KEPT (sizeof(kept) / sizeof(kept[0]))
static uint64_t kept_golden[N_KEPT], pin_golden, proc_golden, rsp_golden;

static void check_exit(unsigned reason, int resumed)
{
    uint64_t v;
    if (reason >= MAX_REASON) {
        error("exit reason out of range", reason, 0);
        return;
    }
    exits_by[reason]++;
    if (vmrd(VMCS_ENTRY_INTR_INFO) & X86_INTR_VALID)
        error("entry interruption valid after an exit (24.8.3)", reason, 0);
    uint64_t rfl = vmrd(VMCS_GUEST_RFLAGS);
    if (!(rfl & 2) || (rfl & (BIT(3) | BIT(5) | BIT(15) | ~0x3FFFFFULL)))
        error("saved guest RFLAGS reserved bits (27.3.3)", reason, rfl);
    if (resumed)
        return;                             /* the checks below need the loaded values */
    uint32_t pin = (uint32_t)loaded(VMCS_PIN_CONTROLS, pin_golden);
    uint32_t proc = (uint32_t)loaded(VMCS_PROC_CONTROLS, proc_golden);
    if (!exit_wanted(reason, pin, proc))
        error("an exit L1 did not ask for (25.1)", reason, proc);
    for (unsigned i = 0; i < N_KEPT; i++) {
        uint64_t want = loaded(kept[i], kept_golden[i]);
        v = vmrd(kept[i]);
        if (v != want)
            error("saved guest field differs from the loaded one (27.3)", kept[i], v);
    }
    int injected = (loaded(VMCS_ENTRY_INTR_INFO, 0) & X86_INTR_VALID) != 0;
    if (!injected && (reason == 10 || reason == 12 || reason == 18 || reason == 40)) {
        v = vmrd(VMCS_GUEST_RSP);
        if (v != loaded(VMCS_GUEST_RSP, rsp_golden))
            error("saved guest RSP differs from the loaded one (27.3.3)", reason, v);
    }
}

/* One iteration; returns 1 after an L2 exit (the VMCS is launched). */
/*
 * One guest-state field broken between two entries: a VMRESUME of the VMCS
 * L2 just left, whose guest state passed its checks at the entry before,
 * with one field written (VMWRITE) so that a check of SDM 26.3.1 fails,
 * must be a VM-entry failure (exit reason 33 with bit 31, 26.8), however
 * the monitor below remembers what it checked (nested-vmx's memo of the
 * guest-state checks, nested-vmx/README.md). Each one breaks a field only
 * that check reads of those L2's exits rewrite. L2 is 64-bit: CS.L is 1.
 */
static const struct {
    uint32_t field;
    uint64_t set, clear;        /* bits set, then cleared, in its valid value */
    const char *rule;
} between[] = {
    { VMCS_GUEST_CS_AR, X86_AR_DB, 0, "26.3.1.2: CS.L and CS.D both 1" },
    { VMCS_GUEST_TR_AR, X86_AR_UNUSABLE, 0, "26.3.1.2: TR unusable" },
    { VMCS_GUEST_GDTR_LIMIT, X86_BIT(16), 0, "26.3.1.3: GDTR limit bits 31:16" },
    { VMCS_GUEST_RFLAGS, 0, X86_RFLAGS_FIXED, "26.3.1.4: RFLAGS bit 1 clear" },
    { VMCS_GUEST_INTERRUPTIBILITY, X86_BIT(5), 0,   /* bits 31:5 reserved (bit 4: SGX) */
      "26.3.1.5: interruptibility reserved bit" },
};
static unsigned long long n_between, between_by[sizeof between / sizeof between[0]];

static void break_between(unsigned k)
{
    vmwr(between[k].field, (vmrd(between[k].field) | between[k].set) & ~between[k].clear);
}

static int iteration(int was_exit)
{
    int resume = was_exit && below(4) == 0;
    /* now and then on a VMRESUME: one field broken between two entries */
    const int broken = resume && below(4) == 0 ? 1 + (int)below(sizeof between / sizeof between[0])
                                               : 0;
    n_mut = 0;
    ept_touched = 0;
    if (!resume) {
        vmx_vmclear(pa(vmcs_region));
        memcpy(vmcs_region, golden, sizeof(golden));
        vmx_vmptrld(pa(vmcs_region));
    }
    if (!resume && below(16) == 0)
        resume = 2;                         /* VMRESUME of a clear VMCS */
    write_l2();
    unsigned n = broken ? 0 : 1 + below(MAX_MUT);
    if (broken)
        break_between((unsigned)broken - 1);
    for (unsigned i = 0; i < n; i++)
        mutate_field();
    if (!broken && below(8) == 0) {
        if (below(4))
            mutate_ept();
        else
            mutate_ept_4k();
    }
    uint64_t flags = resume ? VMXC_ENTER_RESUME : 0;
    if (it == trace) {
        /* `trace=N`: say what iteration N launches with (a reproduction). */
        vmxc_printf("vmxfuzz: iteration %llu: %s,", it, resume ? "VMRESUME" : "VMLAUNCH");
        for (unsigned i = 0; i < n_mut; i++)
            vmxc_printf(" %#x=%#llx%s", muts[i].field, (unsigned long long)muts[i].value,
                        muts[i].written ? "" : " (refused)");
        if (ept_touched)
            vmxc_printf(" ept[%#llx]=%#llx", (unsigned long long)pa(ept_slot), (unsigned long long)*ept_slot);
        vmxc_printf(" l2 %#llx\n", (unsigned long long)*(uint64_t *)(uintptr_t)L2_BASE);
    }
    int host_broken = 0;
    for (unsigned i = 0; i < n_mut; i++) {
        if (muts[i].written && muts[i].field == VMCS_HOST_RIP)
            flags |= VMXC_ENTER_KEEP_HRIP;
        host_broken |= muts[i].host_broken && muts[i].written;
    }
    n_launch++;
    vmxc_fault_vector = NO_FAULT;
    uint64_t fl = vmxc_enter(flags), r;
    int exited = 0;
    if (broken) {
        n_between++;
        between_by[broken - 1]++;
        if (fl != 0 || vmrd(VMCS_EXIT_REASON) != (EXIT_REASON_ENTRY_FAILURE | REASON_BAD_GUEST))
            error(between[broken - 1].rule, fl, fl ? 0 : vmrd(VMCS_EXIT_REASON));
    }
    if (fl == 0) {
        r = vmrd(VMCS_EXIT_REASON);
        if (r & EXIT_REASON_ENTRY_FAILURE) {
            unsigned b = r & 0xFFFF;
            n_entryfail++;
            if (b == REASON_BAD_GUEST || b == REASON_MSR_LOAD)
                entryfail_by[b - REASON_BAD_GUEST]++;
            else
                error("entry failure reason (26.8)", r, 0);
        } else {
            n_exit++;
            exited = 1;
            check_exit((unsigned)(r & 0xFFFF), resume != 0);
            if (r >> 16)
                error("exit reason bits 31:16 (24.9.1)", r, 0);
        }
        if (host_broken)
            error("entered with a broken host field (26.2.2-26.2.4)", r, 0);
        if (resume == 2)
            error("VMRESUME of a clear VMCS entered (VMRESUME)", r, 0);
    } else {
        r = vr_from(fl);
        if (r == VR_INVALID) {
            n_invalid++;
            error("VMfailInvalid with a current VMCS (30.2)", fl, 0);
        } else if ((r >> 8) == 1) {
            unsigned e = r & 0xFF;
            n_vmfail++;
            vmfail_by[e < 32 ? e : 31]++;
            if ((fl & VMX_RFLAGS_ARITH) != VMX_RFLAGS_ZF)
                error("VMfailValid RFLAGS (30.2)", fl, e);
            if (resume == 2 ? e != VMXERR_VMRESUME_NOT_LAUNCHED
                            : e != VMXERR_ENTRY_INVALID_CONTROLS && e != VMXERR_ENTRY_INVALID_HOST_STATE)
                error("VMfailValid error number (VMLAUNCH/VMRESUME, 26.2)", e, resume);
        } else {
            n_fault++;
            error("VMLAUNCH/VMRESUME faulted", r, fl);
        }
    }
    if (it == trace)
        vmxc_printf("vmxfuzz: iteration %llu: outcome %#llx, guest RIP %#llx\n", it,
                    (unsigned long long)r, (unsigned long long)vmrd(VMCS_GUEST_RIP));
    if (ept_touched) {
        *ept_slot = ept_slot_old;
        vmx_invept(INVEPT_ALL_CONTEXT, 0);
    }
    return exited;
}

int vmxc_main(uint32_t magic, uint32_t info);
int vmxc_main(uint32_t magic, uint32_t info)
{
    const char *cmd = vmxc_cmdline(magic, info);
    vmxc_name = "vmxfuzz";
    vmxc_opt_bare = vmxc_has_word(cmd, "bare");
    if (vmxc_opt_bare)
        vmxc_serial_init();
    vmxc_setup_descriptors();
    seed = cmdline_number(cmd, "seed=", 1);
    iterations = cmdline_number(cmd, "iterations=", 10000);
    trace = cmdline_number(cmd, "trace=", ~0ULL);
    rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
    vmxc_printf("vmxfuzz: a hostile L1, seed %llu, %llu iterations\n", seed, iterations);
    if (!vmxc_section_caps() || !ctl_can1(proc2_msr(), PROC2_ENABLE_EPT) ||
        !ctl_can1(pin_msr(), PIN_PREEMPTION_TIMER) || !(caps.ept_vpid & EPT_CAP_2MB_PAGES) ||
        !(caps.ept_vpid & EPT_CAP_INVEPT_ALL)) {
        vmxc_printf("vmxfuzz: FAILED needs VMX with EPT (2 MiB pages, INVEPT), preemption timer\n");
        return 1;
    }
    setup();
    pin_golden = golden_field(VMCS_PIN_CONTROLS);
    proc_golden = golden_field(VMCS_PROC_CONTROLS);
    rsp_golden = golden_field(VMCS_GUEST_RSP);
    for (unsigned i = 0; i < N_KEPT; i++)
        kept_golden[i] = golden_field(kept[i]);
    int was_exit = 0;
    for (it = 0; it < iterations; it++) {
        was_exit = iteration(was_exit);
        if ((it + 1) % 1000 == 0)
            vmxc_printf("vmxfuzz: %llu\n", it + 1);
    }
    vmxc_printf("vmxfuzz: %llu launches: %llu vmfail, %llu entry failures, %llu exits to L1 "
                "(by reason:", n_launch, n_vmfail + n_invalid, n_entryfail, n_exit);
    for (unsigned i = 0; i < MAX_REASON; i++)
        if (exits_by[i])
            vmxc_printf(" %u:%llu", i, exits_by[i]);
    vmxc_printf("), %llu faults\n", n_fault);
    vmxc_printf("vmxfuzz: vmfail by error:");
    for (unsigned i = 0; i < 32; i++)
        if (vmfail_by[i])
            vmxc_printf(" %u:%llu", i, vmfail_by[i]);
    vmxc_printf(", VMfailInvalid %llu; entry failures 33:%llu 34:%llu\n", n_invalid, entryfail_by[0],
                entryfail_by[1]);
    vmxc_printf("vmxfuzz: %llu VMRESUMEs with one guest field broken since the entry before "
                "(each an entry failure 33):", n_between);
    for (unsigned i = 0; i < sizeof between / sizeof between[0]; i++)
        vmxc_printf(" %llu", between_by[i]);
    vmxc_printf("\n");
    unsigned long long errors = n_errors + vmxc_total_failed;
    vmxc_printf("vmxfuzz: %llu iterations, %llu errors\n", it, errors);
    vmx_vmxoff();
    if (vmxc_opt_bare) {
        char why[32];
        fmt_snprintf(why, sizeof(why), "%llu errors", errors);
        vmxc_bare_finish(errors ? why : 0);
    }
    return errors ? 1 : 0;
}
