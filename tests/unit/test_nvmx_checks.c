/*
 * tests/unit/test_nvmx_checks.c - nested-vmx's VM-entry checks
 * (nested-vmx/entry_checks.c, checks_*.c; SDM Vol. 3C 26.2, 26.3, 26.4).
 * A fully valid 64-bit vmcs12 (64-bit L2 with paging, EPT, VPID, flat
 * segments, a 64-bit host) passes; so do a 32-bit protected-mode, a PAE,
 * a virtual-8086 and an unrestricted real-mode guest. Each case of the
 * tables then breaks exactly one field or bit of one of those (after
 * setting up whatever makes the rule apply, itself valid) and asserts the
 * exact outcome: VMfailValid 7 or 8, or a VM-entry failure exit 33 with its
 * qualification, and the SDM section the rule cites.
 */
#include "unit.h"
#include "../../nested-vmx/entry_checks.h"
#include "../../nested-vmx/msr_lists.h"
#include "../../nested-vmx/nvmx_caps.h"
#include <stdio.h>
#include <string.h>
#include <x86_arch.h>

/* The case tables leave unused mutation slots and the l1_32 flag out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- a fake L1: 1 MiB of RAM, 36-bit physical addresses ---- */

#define RAM_SIZE      0x100000u
#define MAXPHYADDR    36
#define CUR_VMCS      0x9000ULL   /* the current VMCS (ctx.vmcs_ptr) */
#define SHADOW_PAGE   0xA000ULL   /* a VMCS region with our revision */
#define WRONG_PAGE    0xB000ULL   /* a VMCS region with another revision */
#define SHADOWBIT_PAGE 0xC000ULL  /* our revision with the shadow bit */
#define PDPT_GOOD     0x6000ULL   /* four valid PDPTEs */
#define PDPT_BAD      0x6020ULL   /* a present PDPTE with bit 1 set */
#define PDPT_NP       0x6040ULL   /* a not-present PDPTE with reserved bits */

static uint8_t ram[RAM_SIZE];

static void *fake_phys(void *ctx, uint64_t gpa, size_t n)
{
    (void)ctx;
    if (gpa >= RAM_SIZE || n > RAM_SIZE - gpa)
        return NULL;
    return ram + gpa;
}

static const nvmx_env_t env = { .phys = fake_phys, .maxphyaddr = MAXPHYADDR };

static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static void put64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }

static void ram_setup(void)
{
    memset(ram, 0, sizeof ram);
    put32(CUR_VMCS, NVMX_REVISION);
    put32(SHADOW_PAGE, NVMX_REVISION);
    put32(WRONG_PAGE, NVMX_REVISION + 1);
    put32(SHADOWBIT_PAGE, NVMX_REVISION | (uint32_t)VMCS_REVISION_SHADOW);
    put64(PDPT_GOOD + 0, 0x7001);
    put64(PDPT_GOOD + 8, 0x8001);
    put64(PDPT_BAD + 0, 0x7001);
    put64(PDPT_BAD + 8, 0x8003);        /* present, bit 1 reserved */
    put64(PDPT_NP + 0, 0x7001);
    put64(PDPT_NP + 8, 0xFFFFFFFFFFFFFFFEULL);  /* not present: ignored */
}

/* ---- valid vmcs12s ---- */

#define F(v, name) ((v)->field[V12_##name])

/* AR values (SDM 24.4.1): 64-bit code, flat data, busy TSS. */
#define AR_CODE64 0xA09Bu   /* G L P S type 11 */
#define AR_CODE32 0xC09Bu   /* G D P S type 11 */
#define AR_DATA   0xC093u   /* G D P S type 3 */
#define AR_TSS    0x008Bu   /* P type 11 */
#define AR_UNUSABLE 0x10000u

static void set_seg(vmcs12_t *v, unsigned sel, unsigned base, unsigned limit, unsigned ar,
                    uint16_t s, uint64_t b, uint32_t l, uint32_t a)
{
    v->field[sel] = s;
    v->field[base] = b;
    v->field[limit] = l;
    v->field[ar] = a;
}

#define SEG(v, R, s, b, l, a)                                                        \
    set_seg(v, V12_GUEST_##R##_SEL, V12_GUEST_##R##_BASE, V12_GUEST_##R##_LIMIT,       \
            V12_GUEST_##R##_AR, s, b, l, a)

/* A 64-bit L2 with paging, EPT, VPID, flat segments; a 64-bit host. */
static void valid64(vmcs12_t *v)
{
    memset(v, 0, sizeof *v);
    v->revision = NVMX_REVISION;
    v->launch_state = VMCS12_CLEAR;
    /* controls */
    F(v, PIN_CONTROLS) = VMX_PIN_DEFAULT1 | PIN_EXTINT_EXITING | PIN_NMI_EXITING |
                         PIN_VIRTUAL_NMIS;
    F(v, PROC_CONTROLS) = NVMX_PROC_TRUE_DEFAULT1 | PROC_HLT_EXITING | PROC_USE_IO_BITMAPS |
                          PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY;
    F(v, PROC_CONTROLS2) = PROC2_ENABLE_EPT | PROC2_ENABLE_VPID;
    F(v, EXIT_CONTROLS) = NVMX_EXIT_TRUE_DEFAULT1 | EXIT_HOST_ADDR_SPACE_SIZE |
                          EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER;
    F(v, ENTRY_CONTROLS) = NVMX_ENTRY_TRUE_DEFAULT1 | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_PAT |
                           ENTRY_LOAD_EFER;
    F(v, IO_BITMAP_A) = 0x10000;
    F(v, IO_BITMAP_B) = 0x11000;
    F(v, MSR_BITMAP) = 0x12000;
    F(v, EPT_POINTER) = 0x20000 | X86_MT_WB | EPTP_WALK_4;
    F(v, VPID) = 1;
    F(v, EXIT_MSR_STORE_ADDR) = 0x13000;
    F(v, EXIT_MSR_STORE_COUNT) = 1;
    F(v, EXIT_MSR_LOAD_ADDR) = 0x13010;
    F(v, EXIT_MSR_LOAD_COUNT) = 1;
    F(v, ENTRY_MSR_LOAD_ADDR) = 0x13020;
    F(v, ENTRY_MSR_LOAD_COUNT) = 1;
    /* host */
    F(v, HOST_CR0) = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
    F(v, HOST_CR3) = 0x1000;
    F(v, HOST_CR4) = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_VMXE;
    F(v, HOST_CS_SEL) = 0x08;
    F(v, HOST_SS_SEL) = 0x10;
    F(v, HOST_DS_SEL) = 0x10;
    F(v, HOST_ES_SEL) = 0x10;
    F(v, HOST_TR_SEL) = 0x18;
    F(v, HOST_TR_BASE) = 0xFFFF800000003000ULL;
    F(v, HOST_GDTR_BASE) = 0xFFFF800000002000ULL;
    F(v, HOST_IDTR_BASE) = 0xFFFF800000004000ULL;
    F(v, HOST_PAT) = X86_PAT_RESET;
    F(v, HOST_EFER) = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    F(v, HOST_RIP) = 0xFFFFFFFF80001000ULL;
    F(v, HOST_RSP) = 0xFFFFFFFF80008000ULL;
    F(v, HOST_SYSENTER_EIP) = 0xFFFFFFFF80002000ULL;
    /* guest */
    F(v, GUEST_CR0) = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    F(v, GUEST_CR3) = 0x5000;
    F(v, GUEST_CR4) = X86_CR4_PAE | X86_CR4_VMXE;
    F(v, GUEST_DR7) = 0x400;
    F(v, GUEST_PAT) = X86_PAT_RESET;
    F(v, GUEST_EFER) = X86_EFER_LME | X86_EFER_LMA;
    SEG(v, CS, 0x08, 0, 0xFFFFFFFF, AR_CODE64);
    SEG(v, SS, 0x10, 0, 0xFFFFFFFF, AR_DATA);
    SEG(v, DS, 0x10, 0, 0xFFFFFFFF, AR_DATA);
    SEG(v, ES, 0x10, 0, 0xFFFFFFFF, AR_DATA);
    SEG(v, FS, 0x10, 0, 0xFFFFFFFF, AR_DATA);
    SEG(v, GS, 0x10, 0, 0xFFFFFFFF, AR_DATA);
    SEG(v, LDTR, 0, 0, 0, AR_UNUSABLE);
    SEG(v, TR, 0x18, 0x3000, 0x67, AR_TSS);
    F(v, GUEST_GDTR_BASE) = 0x2000;
    F(v, GUEST_GDTR_LIMIT) = 0x2F;
    F(v, GUEST_IDTR_BASE) = 0x2800;
    F(v, GUEST_IDTR_LIMIT) = 0xFFF;
    F(v, GUEST_RIP) = 0x400000;
    F(v, GUEST_RSP) = 0x7FF000;
    F(v, GUEST_RFLAGS) = X86_RFLAGS_FIXED;
    F(v, LINK_POINTER) = VMCS_LINK_PTR_NONE;
}

/* A 32-bit protected-mode L2 with 4-KiB/4-MiB paging (no PAE). */
static void valid32(vmcs12_t *v)
{
    valid64(v);
    F(v, ENTRY_CONTROLS) &= ~ENTRY_IA32E_MODE_GUEST;
    F(v, GUEST_EFER) = 0;
    F(v, GUEST_CR4) = X86_CR4_PSE | X86_CR4_VMXE;
    F(v, GUEST_CS_AR) = AR_CODE32;
    F(v, GUEST_RIP) = 0x100000;
}

/* 32-bit PAE paging: PDPTEs from the fields (EPT). */
static void valid_pae_ept(vmcs12_t *v)
{
    valid32(v);
    F(v, GUEST_CR4) = X86_CR4_PAE | X86_CR4_VMXE;
    F(v, GUEST_PDPTE0) = 0x7001;
    F(v, GUEST_PDPTE1) = 0x8001;
}

/* 32-bit PAE paging without EPT: PDPTEs loaded from memory at CR3. */
static void valid_pae_mem(vmcs12_t *v)
{
    valid_pae_ept(v);
    F(v, PROC_CONTROLS2) = PROC2_ENABLE_VPID;
    F(v, GUEST_CR3) = PDPT_GOOD;
}

/* A virtual-8086 task under a 32-bit protected-mode L2. */
static void valid_v86(vmcs12_t *v)
{
    valid32(v);
    F(v, GUEST_RFLAGS) = X86_RFLAGS_FIXED | X86_RFLAGS_VM;
    SEG(v, CS, 0x1000, 0x10000, 0xFFFF, 0xF3);
    SEG(v, SS, 0x2000, 0x20000, 0xFFFF, 0xF3);
    SEG(v, DS, 0x1000, 0x10000, 0xFFFF, 0xF3);
    SEG(v, ES, 0, 0, 0xFFFF, 0xF3);
    SEG(v, FS, 0, 0, 0xFFFF, 0xF3);
    SEG(v, GS, 0, 0, 0xFFFF, 0xF3);
    F(v, GUEST_RIP) = 0x100;
}

/* An unrestricted guest in real mode, as at reset. */
static void valid_real(vmcs12_t *v)
{
    valid64(v);
    F(v, PROC_CONTROLS2) = PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST;
    F(v, ENTRY_CONTROLS) &= ~ENTRY_IA32E_MODE_GUEST;
    F(v, GUEST_EFER) = 0;
    F(v, GUEST_CR0) = X86_CR0_ET | X86_CR0_NE;
    F(v, GUEST_CR3) = 0;
    F(v, GUEST_CR4) = X86_CR4_VMXE;
    SEG(v, CS, 0xF000, 0xF0000, 0xFFFF, 0x9B);
    SEG(v, SS, 0, 0, 0xFFFF, 0x93);
    SEG(v, DS, 0, 0, 0xFFFF, 0x93);
    SEG(v, ES, 0, 0, 0xFFFF, 0x93);
    SEG(v, FS, 0, 0, 0xFFFF, 0x93);
    SEG(v, GS, 0, 0, 0xFFFF, 0x93);
    SEG(v, TR, 0, 0, 0xFFFF, AR_TSS);
    F(v, GUEST_GDTR_BASE) = 0;
    F(v, GUEST_GDTR_LIMIT) = 0xFFFF;
    F(v, GUEST_IDTR_BASE) = 0;
    F(v, GUEST_IDTR_LIMIT) = 0x3FF;
    F(v, GUEST_RIP) = 0xFFF0;
}

static const nvmx_entry_ctx_t ctx64 = { .l1_ia32e = true, .vmcs_ptr = CUR_VMCS };

/* ---- table-driven cases ---- */

typedef enum { B64, B32, BPAE_EPT, BPAE_MEM, BV86, BREAL } base_t;
typedef enum { END = 0, SET, OR, CLR } op_t;

typedef struct {
    op_t op;
    unsigned field;
    uint64_t value;
} mut_t;

typedef struct {
    const char *name;
    base_t base;
    mut_t m[8];              /* applied in order; END stops */
    nvmx_entry_kind_t kind;
    uint32_t code;           /* VM-instruction error or exit reason */
    uint64_t qual;
    const char *rule;        /* expected prefix of the rule, or NULL */
    bool l1_32;              /* L1 outside IA-32e mode */
} case_t;

#define M(op, f, val) { op, V12_##f, (uint64_t)(val) }
#define OK_     NVMX_ENTRY_OK, 0, 0
#define CTL     NVMX_ENTRY_VMFAIL, VMXERR_ENTRY_INVALID_CONTROLS, 0
#define HOST    NVMX_ENTRY_VMFAIL, VMXERR_ENTRY_INVALID_HOST_STATE, 0
#define EXIT_REASON_33 ((uint32_t)NESTOR_EXIT_INVALID_STATE | (uint32_t)EXIT_REASON_ENTRY_FAILURE)
#define GUEST   NVMX_ENTRY_EXIT, EXIT_REASON_33, ENTRY_FAIL_QUAL_DEFAULT
#define GUESTQ(q) NVMX_ENTRY_EXIT, EXIT_REASON_33, (q)

#define INJ(type, vec) (X86_INTR_VALID | (type) | (vec))
#define NONCANON 0x0000800000000000ULL

static void build(vmcs12_t *v, base_t b)
{
    switch (b) {
    case B64: valid64(v); break;
    case B32: valid32(v); break;
    case BPAE_EPT: valid_pae_ept(v); break;
    case BPAE_MEM: valid_pae_mem(v); break;
    case BV86: valid_v86(v); break;
    case BREAL: valid_real(v); break;
    }
}

static unsigned cases_run, memo_cases_run;

static void mutate(vmcs12_t *v, const case_t *c)
{
    for (unsigned k = 0; k < 8 && c->m[k].op != END; k++) {
        uint64_t *f = &v->field[c->m[k].field];
        switch (c->m[k].op) {
        case SET: *f = c->m[k].value; break;
        case OR: *f |= c->m[k].value; break;
        case CLR: *f &= ~c->m[k].value; break;
        case END: break;
        }
    }
}

static bool same_result(nvmx_entry_check_t a, nvmx_entry_check_t b)
{
    return a.kind == b.kind && a.error_or_reason == b.error_or_reason &&
           a.qualification == b.qualification && a.rule == b.rule;
}

/*
 * The guest-state checks' memo (entry_checks.h nvmx_check_guest_known): an
 * entry of the valid base passes and is remembered, the case's fields then
 * change between that entry and the next (as L1's VMWRITEs, its plain
 * writes to its VMCS region or a reflected exit would change them), and the
 * next entry through the memo must give exactly what the whole check gives
 * (@want); the base again after it passes again (a failure is never
 * remembered as a pass).
 */
static void memo_case(const case_t *c, const nvmx_entry_ctx_t *ctx, nvmx_entry_check_t want)
{
    static vmcs12_t v;
    nvmx_guest_memo_t memo = { .valid = false };
    build(&v, c->base);
    if (nvmx_check_entry_known(&v, &env, ctx, false, &memo).kind != NVMX_ENTRY_OK)
        return;                         /* a base that fails for this L1: nothing to remember */
    CU_ASSERT(memo.valid);
    /* and a second entry of the unchanged base takes the memo */
    CU_ASSERT_EQUAL(nvmx_check_entry_known(&v, &env, ctx, true, &memo).kind, NVMX_ENTRY_OK);
    mutate(&v, c);
    nvmx_entry_check_t r = nvmx_check_entry_known(&v, &env, ctx, false, &memo);
    if (!same_result(r, want))
        fprintf(stderr, "case '%s' through the memo: kind %d rule '%s', whole check '%s'\n",
                c->name, (int)r.kind, r.rule ? r.rule : "(none)",
                want.rule ? want.rule : "(none)");
    CU_ASSERT(same_result(r, want));
    CU_ASSERT_EQUAL(memo.valid, want.kind == NVMX_ENTRY_OK);
    build(&v, c->base);
    CU_ASSERT_EQUAL(nvmx_check_entry_known(&v, &env, ctx, false, &memo).kind, NVMX_ENTRY_OK);
    memo_cases_run++;
}

static void run_cases(const case_t *c, size_t n)
{
    ram_setup();
    for (size_t i = 0; i < n; i++, c++) {
        static vmcs12_t v;
        build(&v, c->base);
        mutate(&v, c);
        nvmx_entry_ctx_t ctx = ctx64;
        if (c->l1_32)
            ctx.l1_ia32e = false;
        nvmx_entry_check_t r = nvmx_check_entry(&v, &env, &ctx);
        bool good = r.kind == c->kind && r.error_or_reason == c->code &&
                    r.qualification == c->qual &&
                    (c->kind == NVMX_ENTRY_OK ? r.rule == NULL : r.rule != NULL) &&
                    (!c->rule || (r.rule && strncmp(r.rule, c->rule, strlen(c->rule)) == 0));
        if (!good)
            fprintf(stderr, "case '%s': kind %d code %u qual %llu rule '%s'\n", c->name,
                    (int)r.kind, r.error_or_reason, (unsigned long long)r.qualification,
                    r.rule ? r.rule : "(none)");
        CU_ASSERT(good);
        memo_case(c, &ctx, r);
        cases_run++;
    }
}

/* SDM 26.2.1: controls -> VMfailValid 7. */
static const case_t ctl_cases[] = {
    { "pin default1 bit 1 clear", B64, { M(CLR, PIN_CONTROLS, BIT(1)) }, CTL, "26.2.1.1" },
    { "pin posted interrupts", B64, { M(OR, PIN_CONTROLS, PIN_POSTED_INTERRUPTS) }, CTL, "26.2.1.1" },
    { "proc TPR shadow", B64, { M(OR, PROC_CONTROLS, PROC_USE_TPR_SHADOW) }, CTL, "26.2.1.1" },
    { "proc monitor trap flag", B64, { M(OR, PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG) }, CTL, "26.2.1.1" },
    { "proc default1 bit 1 clear", B64, { M(CLR, PROC_CONTROLS, BIT(1)) }, CTL, "26.2.1.1" },
    { "proc CR3-load exiting may be 0 (TRUE MSR)", B64,
      { M(CLR, PROC_CONTROLS, PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING) }, OK_, NULL },
    { "proc2 VMCS shadowing (offered), bitmaps at 0", B64,
      { M(OR, PROC_CONTROLS2, PROC2_VMCS_SHADOWING) }, OK_, NULL },
    { "VMREAD bitmap unaligned", B64,
      { M(OR, PROC_CONTROLS2, PROC2_VMCS_SHADOWING), M(SET, VMREAD_BITMAP, 0x1008) }, CTL,
      "26.2.1.1: VMREAD-bitmap" },
    { "VMWRITE bitmap beyond width", B64,
      { M(OR, PROC_CONTROLS2, PROC2_VMCS_SHADOWING), M(SET, VMWRITE_BITMAP, 1ULL << MAXPHYADDR) },
      CTL, "26.2.1.1: VMWRITE-bitmap" },
    { "VMREAD/VMWRITE bitmaps ignored without VMCS shadowing", B64,
      { M(SET, VMREAD_BITMAP, 0x1008), M(SET, VMWRITE_BITMAP, 1ULL << MAXPHYADDR) }, OK_, NULL },
    { "proc2 PML", B64, { M(OR, PROC_CONTROLS2, PROC2_ENABLE_PML) }, CTL, "26.2.1.1" },
    { "proc2 ignored without activate secondary", B64,
      { M(CLR, PROC_CONTROLS, PROC_ACTIVATE_SECONDARY), M(SET, PROC_CONTROLS2, 0xFFFFFFFF) },
      OK_, NULL },
    { "control slot bits 63:32 ignored (32-bit field)", B64,
      { M(OR, PIN_CONTROLS, BIT(40)), M(OR, PROC_CONTROLS, BIT(63)), M(OR, ENTRY_CONTROLS, BIT(32)),
        M(OR, EXIT_CONTROLS, BIT(33)), M(OR, ENTRY_INTR_INFO, BIT(50)) }, OK_, NULL },
    { "CR3-target count 1", B64, { M(SET, CR3_TARGET_COUNT, 1) }, CTL, "26.2.1.1: CR3-target" },
    { "I/O bitmap A unaligned", B64, { M(SET, IO_BITMAP_A, 0x10008) }, CTL, "26.2.1.1: I/O bitmap A" },
    { "I/O bitmap B beyond width", B64, { M(SET, IO_BITMAP_B, 1ULL << MAXPHYADDR) }, CTL,
      "26.2.1.1: I/O bitmap B" },
    { "I/O bitmaps unused: address ignored", B64,
      { M(CLR, PROC_CONTROLS, PROC_USE_IO_BITMAPS), M(SET, IO_BITMAP_A, 1) }, OK_, NULL },
    { "MSR bitmap unaligned", B64, { M(SET, MSR_BITMAP, 0x12800) }, CTL, "26.2.1.1: MSR bitmap" },
    { "virtual NMIs without NMI exiting", B64, { M(CLR, PIN_CONTROLS, PIN_NMI_EXITING) }, CTL,
      "26.2.1.1: virtual NMIs" },
    { "NMI-window exiting without virtual NMIs", B64,
      { M(CLR, PIN_CONTROLS, PIN_VIRTUAL_NMIS), M(OR, PROC_CONTROLS, PROC_NMI_WINDOW_EXITING) },
      CTL, "26.2.1.1: NMI-window" },
    { "VPID 0", B64, { M(SET, VPID, 0) }, CTL, "26.2.1.1: enable VPID" },
    { "EPTP memory type UC", B64, { M(CLR, EPT_POINTER, EPTP_MEMTYPE_MASK) }, CTL,
      "26.2.1.1: EPTP memory type" },
    { "EPTP walk length 5", B64, { M(OR, EPT_POINTER, 4ULL << 3) }, CTL, "26.2.1.1: EPTP page-walk" },
    { "EPTP A/D enable", B64, { M(OR, EPT_POINTER, EPTP_ACCESSED_DIRTY) }, CTL, "26.2.1.1: EPTP enables" },
    { "EPTP bit 7", B64, { M(OR, EPT_POINTER, BIT(7)) }, CTL, "26.2.1.1: EPTP reserved" },
    { "EPTP beyond width", B64, { M(OR, EPT_POINTER, 1ULL << MAXPHYADDR) }, CTL,
      "26.2.1.1: EPTP reserved" },
    { "unrestricted guest without EPT", B64,
      { M(SET, PROC_CONTROLS2, PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST) }, CTL,
      "26.2.1.1: unrestricted" },
    { "exit load IA32_PERF_GLOBAL_CTRL", B64, { M(OR, EXIT_CONTROLS, EXIT_LOAD_PERF_GLOBAL) }, CTL,
      "26.2.1.2" },
    { "exit default1 bit 0 clear", B64, { M(CLR, EXIT_CONTROLS, BIT(0)) }, CTL, "26.2.1.2" },
    { "exit save debug controls may be 0 (TRUE MSR)", B64,
      { M(CLR, EXIT_CONTROLS, EXIT_SAVE_DEBUG_CTLS) }, OK_, NULL },
    /* Offered (nvmx_caps.h); saving the timer needs the timer (26.2.1.2). */
    { "save preemption timer without the timer", B64,
      { M(OR, EXIT_CONTROLS, EXIT_SAVE_PREEMPT_TIMER) }, CTL,
      "26.2.1.2: save preemption timer without activate" },
    { "save preemption timer with the timer", B64,
      { M(OR, EXIT_CONTROLS, EXIT_SAVE_PREEMPT_TIMER), M(OR, PIN_CONTROLS, PIN_PREEMPTION_TIMER) },
      OK_, NULL },
    { "acknowledge interrupt on exit", B64, { M(OR, EXIT_CONTROLS, EXIT_ACK_INTR_ON_EXIT) }, OK_,
      NULL },
    { "acknowledge interrupt on exit with external-interrupt exiting", B64,
      { M(OR, EXIT_CONTROLS, EXIT_ACK_INTR_ON_EXIT), M(OR, PIN_CONTROLS, PIN_EXTINT_EXITING) },
      OK_, NULL },
    { "exit MSR-store area unaligned", B64, { M(SET, EXIT_MSR_STORE_ADDR, 0x13008) }, CTL,
      "26.2.1.2: VM-exit MSR-store" },
    { "exit MSR-load area last byte beyond width", B64,
      { M(SET, EXIT_MSR_LOAD_ADDR, (1ULL << MAXPHYADDR) - 16), M(SET, EXIT_MSR_LOAD_COUNT, 2) },
      CTL, "26.2.1.2: VM-exit MSR-load" },
    { "exit MSR-load area last byte at the width's end", B64,
      { M(SET, EXIT_MSR_LOAD_ADDR, (1ULL << MAXPHYADDR) - 32), M(SET, EXIT_MSR_LOAD_COUNT, 2) },
      OK_, NULL },
    { "exit MSR-store count 0: address ignored", B64,
      { M(SET, EXIT_MSR_STORE_COUNT, 0), M(SET, EXIT_MSR_STORE_ADDR, 3) }, OK_, NULL },
    { "entry to SMM", B64, { M(OR, ENTRY_CONTROLS, ENTRY_TO_SMM) }, CTL, "26.2.1.3" },
    { "entry load IA32_PERF_GLOBAL_CTRL", B64, { M(OR, ENTRY_CONTROLS, ENTRY_LOAD_PERF_GLOBAL) },
      CTL, "26.2.1.3" },
    { "entry default1 bit 0 clear", B64, { M(CLR, ENTRY_CONTROLS, BIT(0)) }, CTL, "26.2.1.3" },
    { "inject type 1 (reserved)", B64, { M(SET, ENTRY_INTR_INFO, INJ(1u << 8, 0x20)) }, CTL,
      "26.2.1.3: injected event of a reserved" },
    { "inject type 7 (no MTF)", B64, { M(SET, ENTRY_INTR_INFO, INJ(7u << 8, 0)) }, CTL,
      "26.2.1.3: injected event of a reserved" },
    { "inject NMI vector 3", B64, { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_NMI, 3)) }, CTL,
      "26.2.1.3: injected NMI" },
    { "inject hardware exception vector 32", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, 32)) }, CTL,
      "26.2.1.3: injected hardware exception" },
    { "inject #GP without error code", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_GP)) }, CTL,
      "26.2.1.3: deliver-error-code clear" },
    { "inject #UD with error code", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_UD) | X86_INTR_DELIVER_ERR) },
      CTL, "26.2.1.3: deliver-error-code set" },
    { "inject #CP with error code (no CET)", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_CP) | X86_INTR_DELIVER_ERR) },
      CTL, "26.2.1.3: deliver-error-code set" },
    { "inject external interrupt with error code", B64,
      { M(SET, GUEST_RFLAGS, 0x202),
        M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_EXT, 0x20) | X86_INTR_DELIVER_ERR) },
      CTL, "26.2.1.3: deliver-error-code set" },
    { "inject with bit 12 set", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_UD) | BIT(12)) }, CTL,
      "26.2.1.3: reserved bits" },
    { "inject #PF with error code bit 16", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_PF) | X86_INTR_DELIVER_ERR),
        M(SET, ENTRY_EXCEPTION_ERROR, 0x10002) }, CTL, "26.2.1.3: VM-entry exception error code" },
    { "inject #PF with error code", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_PF) | X86_INTR_DELIVER_ERR),
        M(SET, ENTRY_EXCEPTION_ERROR, 0x2) }, OK_, NULL },
    { "inject INT n with length 0", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_SW_INT, 0x80)) }, CTL,
      "26.2.1.3: software event" },
    { "inject INT3 with length 16", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_SW_EXC, X86_VEC_BP)),
        M(SET, ENTRY_INSTR_LEN, 16) }, CTL, "26.2.1.3: software event" },
    { "inject INT n with length 2", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_SW_INT, 0x80)), M(SET, ENTRY_INSTR_LEN, 2) },
      OK_, NULL },
    { "inject INT1 with length 15", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_PRIV_SW_EXC, X86_VEC_DB)),
        M(SET, ENTRY_INSTR_LEN, 15) }, OK_, NULL },
    { "valid bit clear: garbage ignored", B64, { M(SET, ENTRY_INTR_INFO, 0x7FFFFFFF) }, OK_, NULL },
    { "entry MSR-load area unaligned", B64, { M(SET, ENTRY_MSR_LOAD_ADDR, 0x13024) }, CTL,
      "26.2.1.3: VM-entry MSR-load" },
    { "real mode: #GP injected without error code", BREAL,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_GP)) }, OK_, NULL },
    { "real mode: #GP injected with error code", BREAL,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_GP) | X86_INTR_DELIVER_ERR) },
      CTL, "26.2.1.3: deliver-error-code set" },
};

/* SDM 26.2.2-26.2.4: host state -> VMfailValid 8. */
static const case_t host_cases[] = {
    { "host CR0.PE clear", B64, { M(CLR, HOST_CR0, X86_CR0_PE) }, HOST, "26.2.2: host CR0" },
    { "host CR0 bit 32", B64, { M(OR, HOST_CR0, BIT(32)) }, HOST, "26.2.2: host CR0" },
    { "host CR4.VMXE clear", B64, { M(CLR, HOST_CR4, X86_CR4_VMXE) }, HOST, "26.2.2: host CR4" },
    { "host CR4.LA57 (not allowed)", B64, { M(OR, HOST_CR4, X86_CR4_LA57) }, HOST,
      "26.2.2: host CR4" },
    { "host CR3 beyond width", B64, { M(OR, HOST_CR3, 1ULL << MAXPHYADDR) }, HOST,
      "26.2.2: host CR3" },
    { "host SYSENTER_ESP not canonical", B64, { M(SET, HOST_SYSENTER_ESP, NONCANON) }, HOST,
      "26.2.2: host IA32_SYSENTER_ESP" },
    { "host SYSENTER_EIP not canonical", B64, { M(SET, HOST_SYSENTER_EIP, NONCANON) }, HOST,
      "26.2.2: host IA32_SYSENTER_EIP" },
    { "host PAT type 2", B64, { M(SET, HOST_PAT, 0x0007040600070402ULL) }, HOST,
      "26.2.2: host IA32_PAT" },
    { "host PAT not loaded: ignored", B64,
      { M(CLR, EXIT_CONTROLS, EXIT_LOAD_PAT), M(SET, HOST_PAT, 0x0202020202020202ULL) }, OK_, NULL },
    { "host EFER bit 1", B64, { M(OR, HOST_EFER, BIT(1)) }, HOST, "26.2.2: host IA32_EFER reserved" },
    { "host EFER.LMA clear", B64, { M(CLR, HOST_EFER, X86_EFER_LMA) }, HOST,
      "26.2.2: host IA32_EFER.LMA" },
    { "host EFER.LME clear", B64, { M(CLR, HOST_EFER, X86_EFER_LME) }, HOST,
      "26.2.2: host IA32_EFER.LME" },
    { "host CS RPL 1", B64, { M(SET, HOST_CS_SEL, 0x09) }, HOST, "26.2.3: host selector" },
    { "host DS TI", B64, { M(SET, HOST_DS_SEL, 0x14) }, HOST, "26.2.3: host selector" },
    { "host TR RPL 3", B64, { M(SET, HOST_TR_SEL, 0x1B) }, HOST, "26.2.3: host selector" },
    { "host CS null", B64, { M(SET, HOST_CS_SEL, 0) }, HOST, "26.2.3: host CS" },
    { "host TR null", B64, { M(SET, HOST_TR_SEL, 0) }, HOST, "26.2.3: host TR" },
    { "host SS null with a 64-bit host", B64, { M(SET, HOST_SS_SEL, 0) }, OK_, NULL },
    { "host FS base not canonical", B64, { M(SET, HOST_FS_BASE, NONCANON) }, HOST,
      "26.2.3: host FS or GS" },
    { "host GDTR base not canonical", B64, { M(SET, HOST_GDTR_BASE, NONCANON) }, HOST,
      "26.2.3: host GDTR or IDTR" },
    { "host TR base not canonical", B64, { M(SET, HOST_TR_BASE, NONCANON) }, HOST,
      "26.2.3: host TR base" },
    { "host address-space size 0 in IA-32e mode", B32,
      { M(CLR, EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER) }, HOST,
      "26.2.4: host address-space size 0 while" },
    { "IA-32e mode guest from a 32-bit L1", B64,
      { M(CLR, EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER) }, HOST,
      "26.2.4: IA-32e mode guest while", true },
    { "host address-space size 1 from a 32-bit L1", B32,
      { M(CLR, EXIT_CONTROLS, EXIT_LOAD_EFER) }, HOST, "26.2.4: host address-space size 1", true },
    { "32-bit L1, 32-bit host and guest", B32,
      { M(CLR, EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER),
        M(SET, HOST_RIP, 0x80001000), M(CLR, HOST_CR4, X86_CR4_PAE) }, OK_, NULL, true },
    { "32-bit host with SS null", B32,
      { M(CLR, EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER),
        M(SET, HOST_RIP, 0x80001000), M(SET, HOST_SS_SEL, 0) }, HOST, "26.2.3: host SS", true },
    { "32-bit host with RIP bit 32", B32,
      { M(CLR, EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER),
        M(SET, HOST_RIP, 0x180001000ULL) }, HOST, "26.2.4: host RIP bits 63:32", true },
    { "32-bit host with CR4.PCIDE", B32,
      { M(CLR, EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER),
        M(SET, HOST_RIP, 0x80001000), M(OR, HOST_CR4, X86_CR4_PCIDE) }, HOST,
      "26.2.4: host CR4.PCIDE", true },
    { "64-bit host with CR4.PAE clear", B64, { M(CLR, HOST_CR4, X86_CR4_PAE) }, HOST,
      "26.2.4: host CR4.PAE" },
    { "host RIP not canonical", B64, { M(SET, HOST_RIP, NONCANON) }, HOST, "26.2.4: host RIP" },
    { "bad host and bad guest: the host's error wins", B64,
      { M(SET, HOST_TR_SEL, 0), M(CLR, GUEST_CR0, X86_CR0_NE) }, HOST, "26.2.3" },
    { "bad control and bad host: the control's error wins", B64,
      { M(SET, HOST_TR_SEL, 0), M(SET, VPID, 0) }, CTL, "26.2.1.1" },
};

/* SDM 26.3.1.1-26.3.1.4: guest registers -> exit 33, qualification 0. */
static const case_t guest_reg_cases[] = {
    { "guest CR0.PE clear", B64, { M(CLR, GUEST_CR0, X86_CR0_PE) }, GUEST, "26.3.1.1: guest CR0" },
    { "guest CR0.NE clear", B64, { M(CLR, GUEST_CR0, X86_CR0_NE) }, GUEST, "26.3.1.1: guest CR0" },
    { "guest CR0 bit 40", B64, { M(OR, GUEST_CR0, BIT(40)) }, GUEST, "26.3.1.1: guest CR0" },
    { "guest CR4.VMXE clear", B64, { M(CLR, GUEST_CR4, X86_CR4_VMXE) }, GUEST,
      "26.3.1.1: guest CR4" },
    { "guest CR4.UMIP (not allowed)", B64, { M(OR, GUEST_CR4, X86_CR4_UMIP) }, GUEST,
      "26.3.1.1: guest CR4" },
    { "guest DEBUGCTL bit 2 with load debug controls", B64,
      { M(OR, ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CTLS), M(SET, GUEST_DEBUGCTL, BIT(2)) }, GUEST,
      "26.3.1.1: guest IA32_DEBUGCTL" },
    { "guest DEBUGCTL not loaded: ignored", B64, { M(SET, GUEST_DEBUGCTL, BIT(2)) }, OK_, NULL },
    { "IA-32e mode guest with CR4.PAE clear", B64, { M(CLR, GUEST_CR4, X86_CR4_PAE) }, GUEST,
      "26.3.1.1: IA-32e mode guest with CR4.PAE" },
    { "CR4.PCIDE in a 32-bit guest", B32, { M(OR, GUEST_CR4, X86_CR4_PCIDE) }, GUEST,
      "26.3.1.1: CR4.PCIDE" },
    { "guest CR3 beyond width", B64, { M(OR, GUEST_CR3, 1ULL << MAXPHYADDR) }, GUEST,
      "26.3.1.1: guest CR3" },
    { "DR7 bit 32 with load debug controls", B64,
      { M(OR, ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CTLS), M(OR, GUEST_DR7, BIT(32)) }, GUEST,
      "26.3.1.1: guest DR7" },
    { "guest SYSENTER_ESP not canonical", B64, { M(SET, GUEST_SYSENTER_ESP, NONCANON) }, GUEST,
      "26.3.1.1: guest IA32_SYSENTER_ESP" },
    { "guest SYSENTER_EIP not canonical", B64, { M(SET, GUEST_SYSENTER_EIP, NONCANON) }, GUEST,
      "26.3.1.1: guest IA32_SYSENTER_EIP" },
    { "guest PAT byte 8", B64, { M(SET, GUEST_PAT, 0x0807040600070406ULL) }, GUEST,
      "26.3.1.1: guest IA32_PAT" },
    { "guest EFER bit 9", B64, { M(OR, GUEST_EFER, BIT(9)) }, GUEST,
      "26.3.1.1: guest IA32_EFER reserved" },
    { "guest EFER.LMA clear", B64, { M(CLR, GUEST_EFER, X86_EFER_LMA) }, GUEST,
      "26.3.1.1: guest IA32_EFER.LMA" },
    { "guest EFER.LME clear with paging", B64, { M(CLR, GUEST_EFER, X86_EFER_LME) }, GUEST,
      "26.3.1.1: guest IA32_EFER.LME" },
    { "guest EFER.LME in a 32-bit paging guest", B32, { M(OR, GUEST_EFER, X86_EFER_LME) }, GUEST,
      "26.3.1.1: guest IA32_EFER.LME" },
    { "guest EFER.LME without paging (unrestricted)", BREAL, { M(OR, GUEST_EFER, X86_EFER_LME) },
      OK_, NULL },
    { "GDTR/IDTR limit slot bits 63:32 ignored", B64,
      { M(OR, GUEST_GDTR_LIMIT, BIT(40)), M(OR, GUEST_IDTR_LIMIT, BIT(32)),
        M(OR, GUEST_ACTIVITY, BIT(33)), M(OR, GUEST_INTERRUPTIBILITY, BIT(34)) }, OK_, NULL },
    { "GDTR base not canonical", B64, { M(SET, GUEST_GDTR_BASE, NONCANON) }, GUEST,
      "26.3.1.3: GDTR or IDTR base" },
    { "IDTR limit 10000H", B64, { M(SET, GUEST_IDTR_LIMIT, 0x10000) }, GUEST,
      "26.3.1.3: GDTR or IDTR limit" },
    { "RIP not canonical in 64-bit mode", B64, { M(SET, GUEST_RIP, NONCANON) }, GUEST,
      "26.3.1.4: RIP not canonical" },
    { "RIP bit 32 in a 32-bit guest", B32, { M(SET, GUEST_RIP, 0x100000000ULL) }, GUEST,
      "26.3.1.4: RIP bits 63:32" },
    { "RIP bit 32 in compatibility mode", B64,
      { M(SET, GUEST_CS_AR, AR_CODE32), M(SET, GUEST_RIP, 0x100000000ULL) }, GUEST,
      "26.3.1.4: RIP bits 63:32" },
    { "RFLAGS bit 1 clear", B64, { M(SET, GUEST_RFLAGS, 0) }, GUEST, "26.3.1.4: RFLAGS bit 1" },
    { "RFLAGS bit 15", B64, { M(OR, GUEST_RFLAGS, BIT(15)) }, GUEST, "26.3.1.4: RFLAGS reserved" },
    { "RFLAGS bit 22", B64, { M(OR, GUEST_RFLAGS, BIT(22)) }, GUEST, "26.3.1.4: RFLAGS reserved" },
    /* The virtual-8086 segment rules (26.3.1.2) come before the RFLAGS ones. */
    { "RFLAGS.VM in IA-32e mode (flat segments)", B64, { M(OR, GUEST_RFLAGS, X86_RFLAGS_VM) },
      GUEST, "26.3.1.2: virtual-8086 segment" },
    { "RFLAGS.VM in real mode", BREAL,
      { M(OR, GUEST_RFLAGS, X86_RFLAGS_VM), M(SET, GUEST_CS_AR, 0xF3), M(SET, GUEST_SS_AR, 0xF3),
        M(SET, GUEST_DS_AR, 0xF3), M(SET, GUEST_ES_AR, 0xF3), M(SET, GUEST_FS_AR, 0xF3),
        M(SET, GUEST_GS_AR, 0xF3) }, GUEST, "26.3.1.4: RFLAGS.VM" },
    { "external interrupt injected with IF clear", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_EXT, 0x20)) }, GUEST, "26.3.1.4: RFLAGS.IF" },
    { "external interrupt injected with IF set", B64,
      { M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_EXT, 0x20)), M(SET, GUEST_RFLAGS, 0x202) },
      OK_, NULL },
};

#define SEG_AR(R) GUEST_##R##_AR
/* SDM 26.3.1.2: segment registers -> exit 33, qualification 0. */
static const case_t guest_seg_cases[] = {
    { "TR selector TI", B64, { M(SET, GUEST_TR_SEL, 0x1C) }, GUEST, "26.3.1.2: TR selector" },
    { "usable LDTR selector TI", B64,
      { M(SET, GUEST_LDTR_SEL, 0x24), M(SET, GUEST_LDTR_AR, 0x82), M(SET, GUEST_LDTR_LIMIT, 0xFF) },
      GUEST, "26.3.1.2: LDTR selector" },
    { "usable LDTR", B64,
      { M(SET, GUEST_LDTR_SEL, 0x20), M(SET, GUEST_LDTR_AR, 0x82), M(SET, GUEST_LDTR_LIMIT, 0xFF) },
      OK_, NULL },
    { "SS.RPL differs from CS.RPL", B64, { M(SET, GUEST_SS_SEL, 0x13) }, GUEST,
      "26.3.1.2: SS.RPL" },
    { "CS base bit 32", B64, { M(SET, GUEST_CS_BASE, BIT(32)) }, GUEST, "26.3.1.2: CS base" },
    { "DS base bit 32", B64, { M(SET, GUEST_DS_BASE, BIT(32)) }, GUEST, "26.3.1.2: SS, DS or ES" },
    { "unusable DS with base bit 32", B64,
      { M(SET, GUEST_DS_BASE, BIT(32)), M(SET, GUEST_DS_AR, AR_UNUSABLE) }, OK_, NULL },
    { "FS base not canonical", B64, { M(SET, GUEST_FS_BASE, NONCANON) }, GUEST,
      "26.3.1.2: FS or GS base" },
    { "FS base above 4G (64-bit)", B64, { M(SET, GUEST_FS_BASE, 0x7FFF00000000ULL) }, OK_, NULL },
    { "TR base not canonical", B64, { M(SET, GUEST_TR_BASE, NONCANON) }, GUEST,
      "26.3.1.2: TR base" },
    { "CS type 3 without unrestricted guest", B64, { M(SET, GUEST_CS_AR, 0xA093) }, GUEST,
      "26.3.1.2: CS type" },
    { "CS type 8 (not accessed)", B64, { M(SET, GUEST_CS_AR, 0xA098) }, GUEST, "26.3.1.2: CS type" },
    { "SS type 1", B64, { M(SET, GUEST_SS_AR, 0xC091) }, GUEST, "26.3.1.2: SS type" },
    { "unusable SS with garbage", B64, { M(SET, GUEST_SS_AR, AR_UNUSABLE | 0xF00) }, OK_, NULL },
    { "DS type 2 (not accessed)", B64, { M(SET, GUEST_DS_AR, 0xC092) }, GUEST,
      "26.3.1.2: ES/DS/FS/GS type not accessed" },
    { "GS execute-only code", B64, { M(SET, GUEST_GS_AR, 0xC099) }, GUEST,
      "26.3.1.2: ES/DS/FS/GS execute-only" },
    { "ES readable code", B64, { M(SET, GUEST_ES_AR, 0xC09B) }, OK_, NULL },
    { "CS with S clear", B64, { M(CLR, GUEST_CS_AR, X86_AR_S) }, GUEST, "26.3.1.2: code/data segment with S" },
    { "FS with S clear", B64, { M(CLR, GUEST_FS_AR, X86_AR_S) }, GUEST, "26.3.1.2: code/data segment with S" },
    { "non-conforming CS.DPL 3, SS.DPL 0", B64, { M(OR, GUEST_CS_AR, 3u << 5) }, GUEST,
      "26.3.1.2: non-conforming CS.DPL" },
    { "conforming CS.DPL 0 below SS.DPL 3 at CPL 3", B64,
      { M(SET, GUEST_CS_SEL, 0x0B), M(SET, GUEST_CS_AR, 0xA09F), M(SET, GUEST_SS_SEL, 0x13),
        M(SET, GUEST_SS_AR, 0xC0F3) }, OK_, NULL },
    { "conforming CS.DPL 3 above SS.DPL 0", B64, { M(SET, GUEST_CS_AR, 0xA0FF) }, GUEST,
      "26.3.1.2: conforming CS.DPL" },
    { "SS.DPL differs from SS.RPL", B64,
      { M(SET, GUEST_CS_AR, 0xA0FF), M(SET, GUEST_SS_AR, 0xC0F3) }, GUEST,
      "26.3.1.2: SS.DPL differs" },
    { "DS.DPL below DS.RPL", B64, { M(SET, GUEST_DS_SEL, 0x13) }, GUEST,
      "26.3.1.2: ES/DS/FS/GS DPL" },
    { "DS RPL 3, DPL 3", B64, { M(SET, GUEST_DS_SEL, 0x13), M(SET, GUEST_DS_AR, 0xC0F3) }, OK_, NULL },
    { "CS not present", B64, { M(CLR, GUEST_CS_AR, X86_AR_P) }, GUEST, "26.3.1.2: code/data segment not present" },
    { "DS access rights bit 8", B64, { M(OR, GUEST_DS_AR, BIT(8)) }, GUEST, "26.3.1.2: code/data segment access rights bits 11:8" },
    { "CS.L and CS.D both 1", B64, { M(OR, GUEST_CS_AR, X86_AR_DB) }, GUEST,
      "26.3.1.2: CS.L and CS.D both 1" },
    { "CS.L and CS.D in a 32-bit guest (L ignored)", B32, { M(OR, GUEST_CS_AR, X86_AR_L) },
      OK_, NULL },
    { "CS G clear with limit FFFFFFFFH", B64, { M(CLR, GUEST_CS_AR, X86_AR_G) }, GUEST,
      "26.3.1.2: code/data segment G" },
    { "ES G set with limit 1000H", B64, { M(SET, GUEST_ES_LIMIT, 0x1000) }, GUEST,
      "26.3.1.2: code/data segment G" },
    { "SS access rights bit 17", B64, { M(OR, GUEST_SS_AR, BIT(17)) }, GUEST,
      "26.3.1.2: code/data segment access rights bits 31:17" },
    { "TR 16-bit busy TSS in IA-32e mode", B64, { M(SET, GUEST_TR_AR, 0x83) }, GUEST,
      "26.3.1.2: TR type" },
    { "TR 16-bit busy TSS in a 32-bit guest", B32, { M(SET, GUEST_TR_AR, 0x83) }, OK_, NULL },
    { "TR available (not busy) TSS", B64, { M(SET, GUEST_TR_AR, 0x89) }, GUEST, "26.3.1.2: TR type" },
    { "TR with S set", B64, { M(OR, GUEST_TR_AR, X86_AR_S) }, GUEST, "26.3.1.2: TR with S" },
    { "TR not present", B64, { M(CLR, GUEST_TR_AR, X86_AR_P) }, GUEST, "26.3.1.2: TR not present" },
    { "TR G set with limit 67H", B64, { M(OR, GUEST_TR_AR, X86_AR_G) }, GUEST, "26.3.1.2: TR G" },
    { "TR unusable", B64, { M(OR, GUEST_TR_AR, AR_UNUSABLE) }, GUEST, "26.3.1.2: TR unusable" },
    { "LDTR usable with type 3", B64, { M(SET, GUEST_LDTR_AR, 0x83) }, GUEST, "26.3.1.2: LDTR type" },
    { "LDTR usable not present", B64, { M(SET, GUEST_LDTR_AR, 0x02) }, GUEST,
      "26.3.1.2: LDTR not present" },
    { "LDTR usable with base not canonical", B64,
      { M(SET, GUEST_LDTR_AR, 0x82), M(SET, GUEST_LDTR_BASE, NONCANON) }, GUEST,
      "26.3.1.2: LDTR base" },
    { "v86: segment base not selector * 16", BV86, { M(SET, GUEST_DS_BASE, 0x10010) }, GUEST,
      "26.3.1.2: virtual-8086 segment base" },
    { "v86: segment limit not FFFFH", BV86, { M(SET, GUEST_SS_LIMIT, 0xFFFFF) }, GUEST,
      "26.3.1.2: virtual-8086 segment limit" },
    { "v86: access rights not F3H", BV86, { M(SET, GUEST_CS_AR, 0xFB) }, GUEST,
      "26.3.1.2: virtual-8086 segment access" },
    { "real mode: SS.DPL 3", BREAL, { M(SET, GUEST_SS_AR, 0xF3) }, GUEST,
      "26.3.1.2: non-conforming CS.DPL" },
    { "real mode: SS.DPL 3 under a conforming CS", BREAL,
      { M(SET, GUEST_CS_AR, 0x9F), M(SET, GUEST_SS_AR, 0xF3) }, GUEST,
      "26.3.1.2: SS.DPL not 0 with CS type 3 or CR0.PE clear" },
    { "real mode: SS.RPL differs from CS.RPL (allowed)", BREAL, { M(SET, GUEST_SS_SEL, 3) },
      OK_, NULL },
    { "real mode: CS type 3, DPL 0", BREAL, { M(SET, GUEST_CS_AR, 0x93) }, OK_, NULL },
    { "real mode: CS type 3, DPL 3", BREAL, { M(SET, GUEST_CS_AR, 0xF3) }, GUEST,
      "26.3.1.2: CS type 3 with DPL" },
    { "real mode: DS DPL below RPL (allowed)", BREAL, { M(SET, GUEST_DS_SEL, 3) }, OK_, NULL },
    { "real mode without unrestricted guest", BREAL,
      { M(SET, PROC_CONTROLS2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID) }, GUEST, "26.3.1.1: guest CR0" },
    { "unrestricted: CR0.PG without CR0.PE", BREAL, { M(OR, GUEST_CR0, X86_CR0_PG) }, GUEST,
      "26.3.1.1: guest CR0.PG without" },
};

/* SDM 26.3.1.5: non-register state -> exit 33 (qualification 0, 3 or 4). */
static const case_t guest_nonreg_cases[] = {
    { "activity state shutdown", B64, { M(SET, GUEST_ACTIVITY, 2) }, GUEST, "26.3.1.5: activity state not" },
    { "activity state wait-for-SIPI", B64, { M(SET, GUEST_ACTIVITY, 3) }, GUEST, "26.3.1.5: activity state not" },
    { "activity state HLT", B64, { M(SET, GUEST_ACTIVITY, 1) }, OK_, NULL },
    { "CPL 3 (CS and SS DPL 3)", B64,
      { M(SET, GUEST_CS_SEL, 0x0B), M(SET, GUEST_CS_AR, 0xA0FB), M(SET, GUEST_SS_AR, 0xC0F3),
        M(SET, GUEST_SS_SEL, 0x13) }, OK_, NULL },
    { "HLT with SS.DPL 3", B64,
      { M(SET, GUEST_CS_SEL, 0x0B), M(SET, GUEST_CS_AR, 0xA0FB), M(SET, GUEST_SS_AR, 0xC0F3),
        M(SET, GUEST_SS_SEL, 0x13), M(SET, GUEST_ACTIVITY, 1) }, GUEST,
      "26.3.1.5: HLT activity state with SS.DPL" },
    { "HLT with blocking by STI", B64,
      { M(SET, GUEST_RFLAGS, 0x202), M(SET, GUEST_INTERRUPTIBILITY, 1), M(SET, GUEST_ACTIVITY, 1) },
      GUEST, "26.3.1.5: blocking by STI or MOV SS outside" },
    { "HLT with an injected external interrupt", B64,
      { M(SET, GUEST_RFLAGS, 0x202), M(SET, GUEST_ACTIVITY, 1),
        M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_EXT, 0x30)) }, OK_, NULL },
    { "HLT with an injected NMI", B64,
      { M(SET, GUEST_ACTIVITY, 1), M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_NMI, 2)) }, OK_, NULL },
    { "HLT with an injected #DB", B64,
      { M(SET, GUEST_ACTIVITY, 1), M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_DB)) },
      OK_, NULL },
    { "HLT with an injected #MC", B64,
      { M(SET, GUEST_ACTIVITY, 1), M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_MC)) },
      OK_, NULL },
    { "HLT with an injected #UD", B64,
      { M(SET, GUEST_ACTIVITY, 1), M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_HW_EXC, X86_VEC_UD)) },
      GUEST, "26.3.1.5: injected event blocked in the HLT" },
    { "HLT with an injected INT n", B64,
      { M(SET, GUEST_ACTIVITY, 1), M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_SW_INT, 0x80)),
        M(SET, ENTRY_INSTR_LEN, 2) }, GUEST, "26.3.1.5: injected event blocked in the HLT" },
    { "interruptibility bit 5", B64, { M(SET, GUEST_INTERRUPTIBILITY, BIT(5)) }, GUEST,
      "26.3.1.5: interruptibility state reserved" },
    { "interruptibility bit 4 (enclave)", B64, { M(SET, GUEST_INTERRUPTIBILITY, BIT(4)) }, GUEST,
      "26.3.1.5: interruptibility state reserved" },
    { "blocking by STI and MOV SS", B64,
      { M(SET, GUEST_RFLAGS, 0x202), M(SET, GUEST_INTERRUPTIBILITY, 3) }, GUEST,
      "26.3.1.5: blocking by both" },
    { "blocking by STI with IF clear", B64, { M(SET, GUEST_INTERRUPTIBILITY, 1) }, GUEST,
      "26.3.1.5: blocking by STI with RFLAGS.IF" },
    { "blocking by MOV SS with IF clear", B64, { M(SET, GUEST_INTERRUPTIBILITY, 2) }, OK_, NULL },
    { "external interrupt injected under MOV-SS blocking", B64,
      { M(SET, GUEST_RFLAGS, 0x202), M(SET, GUEST_INTERRUPTIBILITY, 2),
        M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_EXT, 0x30)) }, GUEST,
      "26.3.1.5: blocking by STI or MOV SS while injecting an external" },
    { "NMI injected under MOV-SS blocking", B64,
      { M(SET, GUEST_INTERRUPTIBILITY, 2), M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_NMI, 2)) },
      GUEST, "26.3.1.5: blocking by MOV SS while injecting an NMI" },
    { "blocking by SMI", B64, { M(SET, GUEST_INTERRUPTIBILITY, VMX_INTR_BLOCK_SMI) }, GUEST,
      "26.3.1.5: blocking by SMI" },
    { "NMI injected under STI blocking", B64,
      { M(SET, GUEST_RFLAGS, 0x202), M(SET, GUEST_INTERRUPTIBILITY, 1),
        M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_NMI, 2)) },
      GUESTQ(ENTRY_FAIL_QUAL_NMI_INJECT), "26.3.1.5: blocking by STI while injecting an NMI" },
    { "NMI injected under virtual-NMI blocking", B64,
      { M(SET, GUEST_INTERRUPTIBILITY, X86_INTR_BLOCK_NMI),
        M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_NMI, 2)) }, GUEST,
      "26.3.1.5: virtual-NMI blocking" },
    { "NMI injected under NMI blocking without virtual NMIs", B64,
      { M(CLR, PIN_CONTROLS, PIN_VIRTUAL_NMIS), M(SET, GUEST_INTERRUPTIBILITY, X86_INTR_BLOCK_NMI),
        M(SET, ENTRY_INTR_INFO, INJ(X86_INTR_TYPE_NMI, 2)) }, OK_, NULL },
    { "pending debug bit 4", B64, { M(SET, GUEST_PENDING_DBG, BIT(4)) }, GUEST,
      "26.3.1.5: pending debug exceptions reserved" },
    { "pending debug bit 16 (RTM not offered)", B64, { M(SET, GUEST_PENDING_DBG, BIT(16)) }, GUEST,
      "26.3.1.5: pending debug exceptions reserved" },
    { "pending B0 and enabled breakpoint", B64, { M(SET, GUEST_PENDING_DBG, BIT(0) | BIT(12)) },
      OK_, NULL },
    { "TF under MOV-SS blocking without BS", B64,
      { M(SET, GUEST_RFLAGS, 0x102), M(SET, GUEST_INTERRUPTIBILITY, 2) }, GUEST,
      "26.3.1.5: pending BS clear" },
    { "TF under MOV-SS blocking with BS", B64,
      { M(SET, GUEST_RFLAGS, 0x102), M(SET, GUEST_INTERRUPTIBILITY, 2),
        M(SET, GUEST_PENDING_DBG, VMX_PENDING_DBG_BS) }, OK_, NULL },
    { "TF and BTF under MOV-SS blocking with BS", B64,
      { M(SET, GUEST_RFLAGS, 0x102), M(SET, GUEST_INTERRUPTIBILITY, 2),
        M(SET, GUEST_PENDING_DBG, VMX_PENDING_DBG_BS),
        M(OR, ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CTLS) }, OK_, NULL },
    { "BS in HLT without TF", B64,
      { M(SET, GUEST_ACTIVITY, 1), M(SET, GUEST_PENDING_DBG, VMX_PENDING_DBG_BS) }, GUEST,
      "26.3.1.5: pending BS set" },
    { "BS without blocking or HLT (no rule)", B64, { M(SET, GUEST_PENDING_DBG, VMX_PENDING_DBG_BS) },
      OK_, NULL },
    { "link pointer to a VMCS with our revision", B64, { M(SET, LINK_POINTER, SHADOW_PAGE) },
      OK_, NULL },
    { "link pointer unaligned", B64, { M(SET, LINK_POINTER, SHADOW_PAGE + 8) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5: VMCS link pointer unaligned" },
    { "link pointer beyond width", B64, { M(SET, LINK_POINTER, 1ULL << MAXPHYADDR) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5: VMCS link pointer unaligned" },
    { "link pointer to a wrong revision", B64, { M(SET, LINK_POINTER, WRONG_PAGE) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5: VMCS link pointer references" },
    { "link pointer to a shadow VMCS (no VMCS shadowing)", B64,
      { M(SET, LINK_POINTER, SHADOWBIT_PAGE) }, GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR),
      "26.3.1.5: VMCS link pointer references" },
    { "link pointer to a shadow VMCS with VMCS shadowing", B64,
      { M(OR, PROC_CONTROLS2, PROC2_VMCS_SHADOWING), M(SET, LINK_POINTER, SHADOWBIT_PAGE) },
      OK_, NULL },
    { "link pointer to an ordinary VMCS with VMCS shadowing", B64,
      { M(OR, PROC_CONTROLS2, PROC2_VMCS_SHADOWING), M(SET, LINK_POINTER, SHADOW_PAGE) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5: VMCS link pointer references" },
    { "link pointer outside RAM", B64, { M(SET, LINK_POINTER, 0x200000) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5: VMCS link pointer references" },
    { "link pointer to the current VMCS", B64, { M(SET, LINK_POINTER, CUR_VMCS) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5: VMCS link pointer equals" },
    { "bad RFLAGS and bad link pointer: RFLAGS first", B64,
      { M(SET, LINK_POINTER, WRONG_PAGE), M(OR, GUEST_RFLAGS, BIT(3)) }, GUEST, "26.3.1.4" },
};

/* SDM 26.3.1.6: PDPTEs -> exit 33, qualification 2. */
static const case_t pdpte_cases[] = {
    { "PAE with EPT: PDPTE fields valid", BPAE_EPT, { { END, 0, 0 } }, OK_, NULL },
    { "PAE with EPT: PDPTE1 bit 1", BPAE_EPT, { M(OR, GUEST_PDPTE1, BIT(1)) },
      GUESTQ(ENTRY_FAIL_QUAL_PDPTE), "26.3.1.6" },
    { "PAE with EPT: PDPTE3 beyond width", BPAE_EPT,
      { M(SET, GUEST_PDPTE3, (1ULL << MAXPHYADDR) | 1) }, GUESTQ(ENTRY_FAIL_QUAL_PDPTE), "26.3.1.6" },
    { "PAE with EPT: PDPTE2 bit 63 (XD is reserved in PDPTEs)", BPAE_EPT,
      { M(SET, GUEST_PDPTE2, BIT(63) | 0x9001) }, GUESTQ(ENTRY_FAIL_QUAL_PDPTE), "26.3.1.6" },
    { "PAE with EPT: not-present PDPTE with reserved bits", BPAE_EPT,
      { M(SET, GUEST_PDPTE2, 0xFFFFFFFFFFFFFFFEULL) }, OK_, NULL },
    { "PAE without EPT: PDPTEs in memory valid", BPAE_MEM, { { END, 0, 0 } }, OK_, NULL },
    { "PAE without EPT: memory PDPTE with bit 1", BPAE_MEM, { M(SET, GUEST_CR3, PDPT_BAD) },
      GUESTQ(ENTRY_FAIL_QUAL_PDPTE), "26.3.1.6" },
    { "PAE without EPT: not-present memory PDPTE ignored", BPAE_MEM, { M(SET, GUEST_CR3, PDPT_NP) },
      OK_, NULL },
    { "PAE without EPT: PDPTE fields ignored", BPAE_MEM, { M(SET, GUEST_PDPTE0, 0x7003) }, OK_, NULL },
    { "PAE without EPT: CR3 outside RAM", BPAE_MEM, { M(SET, GUEST_CR3, 0x400000) },
      GUESTQ(ENTRY_FAIL_QUAL_PDPTE), "26.3.1.6" },
    { "PAE without EPT: CR3 bits 4:0 ignored", BPAE_MEM, { M(SET, GUEST_CR3, PDPT_GOOD | 0x18) },
      OK_, NULL },
    { "64-bit guest: PDPTE fields ignored", B64, { M(SET, GUEST_PDPTE0, 0x7003) }, OK_, NULL },
    { "bad PDPTE and bad link pointer: link pointer first", BPAE_EPT,
      { M(OR, GUEST_PDPTE1, BIT(1)), M(SET, LINK_POINTER, WRONG_PAGE) },
      GUESTQ(ENTRY_FAIL_QUAL_LINK_PTR), "26.3.1.5" },
};

#define RUN(tab) run_cases(tab, sizeof tab / sizeof tab[0])

static void test_valid(void)
{
    static vmcs12_t v;
    static const struct { const char *name; void (*fn)(vmcs12_t *); } bases[] = {
        { "64-bit", valid64 }, { "32-bit", valid32 }, { "PAE with EPT", valid_pae_ept },
        { "PAE without EPT", valid_pae_mem }, { "virtual-8086", valid_v86 },
        { "unrestricted real mode", valid_real },
    };
    ram_setup();
    for (unsigned i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        bases[i].fn(&v);
        nvmx_entry_check_t r = nvmx_check_entry(&v, &env, &ctx64);
        if (r.kind != NVMX_ENTRY_OK)
            fprintf(stderr, "valid %s guest fails: %s\n", bases[i].name, r.rule);
        CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_OK);
        CU_ASSERT_PTR_NULL(r.rule);
        cases_run++;
    }
}

static void test_controls(void) { RUN(ctl_cases); }
static void test_host(void) { RUN(host_cases); }
static void test_guest_regs(void) { RUN(guest_reg_cases); }
static void test_guest_segs(void) { RUN(guest_seg_cases); }
static void test_guest_nonreg(void) { RUN(guest_nonreg_cases); }
static void test_pdptes(void) { RUN(pdpte_cases); }

/* The groups on their own agree with the whole. */
static void test_groups(void)
{
    static vmcs12_t v;
    valid64(&v);
    CU_ASSERT_EQUAL(nvmx_check_controls(&v, &env).kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(nvmx_check_host(&v, &env, &ctx64).kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(nvmx_check_guest(&v, &env, &ctx64).kind, NVMX_ENTRY_OK);
    F(&v, GUEST_CS_AR) |= X86_AR_DB;
    nvmx_entry_check_t r = nvmx_check_guest(&v, &env, &ctx64);
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
    CU_ASSERT_EQUAL(r.error_or_reason, 33u | 0x80000000u);
    CU_ASSERT_STRING_EQUAL(r.rule, "26.3.1.2: CS.L and CS.D both 1");
}

/* SDM 26.4: one VM-entry MSR-load list entry -> exit 34, qualification n. */
static void test_msr_load(void)
{
    static const struct {
        uint32_t n;
        uint64_t index_word, data;
        bool ok;
    } c[] = {
        { 1, MSR_IA32_STAR, 0x0023001000000000ULL, true },
        { 2, MSR_IA32_FS_BASE, 0x00007FFFFFFFF000ULL, false },   /* 26.4: never in a list */
        { 3, MSR_IA32_FS_BASE, NONCANON, false },
        { 4, MSR_IA32_GS_BASE, 0xFFFF800000000000ULL, false },
        { 5, MSR_IA32_LSTAR, NONCANON, false },
        { 6, MSR_IA32_KERNEL_GS_BASE, 0xFFFF800000000000ULL, true },
        { 7, MSR_X2APIC_FIRST, 0, false },
        { 8, 0x808, 0, false },                /* x2APIC TPR */
        { 9, MSR_X2APIC_LAST, 0, false },
        { 10, 0x7FF, 0, true },
        { 11, MSR_IA32_SMBASE, 0x30000, false },
        { 12, MSR_IA32_SMM_MONITOR_CTL, 0, false },
        { 13, MSR_IA32_BIOS_UPDT_TRIG, 0, false },
        { 14, MSR_IA32_BIOS_SIGN_ID, 0, false },
        { 15, MSR_IA32_STAR | (1ULL << 32), 0, false },
        { 512, MSR_IA32_TSC_AUX, 1, true },
    };
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
        nvmx_entry_check_t r = nvmx_check_msr_load_entry(c[i].n, c[i].index_word, c[i].data);
        if (c[i].ok) {
            CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_OK);
        } else {
            CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
            CU_ASSERT_EQUAL(r.error_or_reason, 34u | 0x80000000u);
            CU_ASSERT_EQUAL(r.qualification, c[i].n);
            CU_ASSERT(r.rule && strncmp(r.rule, "26.4: ", 6) == 0);
        }
        cases_run++;
    }
    nvmx_entry_check_t r = nvmx_entry_msr_fail(7, "26.4: WRMSR would #GP");
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
    CU_ASSERT_EQUAL(r.error_or_reason, 34u | 0x80000000u);
    CU_ASSERT_EQUAL(r.qualification, 7);
}

/*
 * The memo against the whole check at random: from a valid base, entry
 * after entry, one field of those the guest-state checks read (or a
 * control) changes a few bits (one bit, a byte, or all of it) between two
 * entries; the entry through the memo (which went on from the entries
 * before) must give what the whole check gives. A change that fails is
 * undone, as L1 would fix its VMCS; one that passes stays.
 */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One field changed at random: a bit, a byte, or all of it. */
static void random_change(uint64_t *f)
{
    switch (rng() % 3) {
    case 0: *f ^= 1ULL << (rng() % 64); break;
    case 1: *f ^= (rng() & 0xFF) << (8 * (rng() % 8)); break;
    default: *f = rng(); break;
    }
}

typedef struct {
    unsigned passes, fails, mismatches, stale_stops;
} memo_run_t;

/* From each valid base, 20,000 random changes of @fields, each entry
 * through the memo compared with the whole check. With @lazy, random
 * groups are stale at each entry (entry_checks.h NVMX_ENTRY_STALE) and
 * their fields change only while not stale, as l2.c keeps them; a stop
 * for a sync is followed by the entry with none stale. */
static memo_run_t memo_random(const unsigned *fields, size_t n, bool lazy)
{
    static const base_t bases[] = { B64, B32, BPAE_EPT, BPAE_MEM, BV86, BREAL };
    static vmcs12_t v, before;
    memo_run_t run = { 0 };
    ram_setup();
    for (unsigned b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        nvmx_guest_memo_t memo = { .valid = false };
        build(&v, bases[b]);
        CU_ASSERT_EQUAL(nvmx_check_entry_known(&v, &env, &ctx64, false, &memo).kind,
                        NVMX_ENTRY_OK);
        for (unsigned i = 0; i < 20000; i++) {
            nvmx_entry_ctx_t ctx = ctx64;
            ctx.stale = lazy ? rng() & NVMX_LAZY_GROUPS : 0;
            before = v;
            const unsigned f = fields[rng() % n];
            if (!(nvmx_lazy_group(f) & ctx.stale))
                random_change(&v.field[f]);
            nvmx_entry_check_t whole = nvmx_check_entry(&v, &env, &ctx64);
            nvmx_entry_check_t r = nvmx_check_entry_known(&v, &env, &ctx, false, &memo);
            if (r.kind == NVMX_ENTRY_STALE) {
                run.stale_stops++;
                r = nvmx_check_entry_known(&v, &env, &ctx64, false, &memo);
            }
            if (!same_result(r, whole) && run.mismatches++ < 5)
                fprintf(stderr, "memo: field slot %u = 0x%llx: '%s', whole check '%s'\n", f,
                        (unsigned long long)v.field[f], r.rule ? r.rule : "(none)",
                        whole.rule ? whole.rule : "(none)");
            if (whole.kind == NVMX_ENTRY_OK) {
                run.passes++;
            } else {
                run.fails++;
                v = before;
            }
        }
    }
    return run;
}

static void test_memo_random(void)
{
    static const unsigned fields[] = {
        V12_GUEST_CR0, V12_GUEST_CR3, V12_GUEST_CR4, V12_GUEST_DR7, V12_GUEST_RIP,
        V12_GUEST_RSP, V12_GUEST_RFLAGS, V12_GUEST_DEBUGCTL, V12_GUEST_PAT, V12_GUEST_EFER,
        V12_GUEST_SYSENTER_ESP, V12_GUEST_SYSENTER_EIP, V12_GUEST_CS_SEL, V12_GUEST_SS_SEL,
        V12_GUEST_DS_SEL, V12_GUEST_TR_SEL, V12_GUEST_LDTR_SEL, V12_GUEST_CS_AR,
        V12_GUEST_SS_AR, V12_GUEST_DS_AR, V12_GUEST_ES_AR, V12_GUEST_FS_AR, V12_GUEST_GS_AR,
        V12_GUEST_TR_AR, V12_GUEST_LDTR_AR, V12_GUEST_CS_LIMIT, V12_GUEST_SS_LIMIT,
        V12_GUEST_TR_LIMIT, V12_GUEST_CS_BASE, V12_GUEST_FS_BASE, V12_GUEST_GS_BASE,
        V12_GUEST_TR_BASE, V12_GUEST_LDTR_BASE, V12_GUEST_GDTR_BASE, V12_GUEST_IDTR_BASE,
        V12_GUEST_GDTR_LIMIT, V12_GUEST_IDTR_LIMIT, V12_GUEST_ACTIVITY,
        V12_GUEST_INTERRUPTIBILITY, V12_GUEST_PENDING_DBG, V12_LINK_POINTER,
        V12_GUEST_PDPTE0, V12_ENTRY_INTR_INFO, V12_ENTRY_CONTROLS, V12_PIN_CONTROLS,
        V12_PROC_CONTROLS, V12_PROC_CONTROLS2,
    };
    const memo_run_t run = memo_random(fields, sizeof fields / sizeof fields[0], false);
    printf("\n  nvmx-checks memo: %u random changes passed, %u failed, %u mismatches\n",
           run.passes, run.fails, run.mismatches);
    CU_ASSERT_EQUAL(run.mismatches, 0);
    CU_ASSERT(run.passes > 1000 && run.fails > 1000);
}

/*
 * Lazy L2 guest state (entry_checks.h NVMX_ENTRY_STALE): with groups of
 * the vmcs12 stale (nvmx.h NVMX_LAZY_GROUPS: vcpu02 holds them, the vmcs12
 * has what the last check passed on), a check that is to run and reads
 * one of them where its result depends on it stops with NVMX_ENTRY_STALE,
 * the memo as it was; one that does not, runs or is skipped as before.
 */
static nvmx_entry_check_t stale_entry(vmcs12_t *v, nvmx_guest_memo_t *memo, uint64_t stale)
{
    nvmx_entry_ctx_t ctx = ctx64;
    ctx.stale = stale;
    return nvmx_check_guest_known(v, &env, &ctx, memo);
}

static void test_memo_stale(void)
{
    static vmcs12_t v;
    nvmx_guest_memo_t memo = { .valid = false };
    const uint64_t segs = NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS;
    ram_setup();
    valid64(&v);
    /* Never checked: every group runs, the segment checks read them. */
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, segs).kind, NVMX_ENTRY_STALE);
    CU_ASSERT_FALSE(memo.valid);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, 0).kind, NVMX_ENTRY_OK);
    CU_ASSERT_TRUE(memo.valid);
    /* Nothing changed: every lazy group stale, nothing read, a pass. */
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NVMX_LAZY_GROUPS).kind, NVMX_ENTRY_OK);
    /* RIP changed (every exit changes it), below 4 GiB: CS.L not needed. */
    F(&v, GUEST_RIP) = 0x200000;
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NVMX_LAZY_GROUPS).kind, NVMX_ENTRY_OK);
    /* ... above it in an IA-32e mode guest: 26.3.1.4 reads CS.L. */
    F(&v, GUEST_RIP) = 0xFFFFFFFF80001000ULL;
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_SEGS).kind, NVMX_ENTRY_STALE);
    CU_ASSERT_TRUE(memo.valid);         /* kept */
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_SYS_SEGS).kind, NVMX_ENTRY_OK);
    F(&v, GUEST_RIP) = 0x200000;
    /* An input of the segment checks that is not lazy changed (CR0.PE is
     * one, RFLAGS.VM another): they run, and read the stale segments. */
    F(&v, PROC_CONTROLS) ^= PROC_HLT_EXITING;
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_SYS_SEGS).kind, NVMX_ENTRY_STALE);
    CU_ASSERT_TRUE(memo.valid);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_PDPTE).kind, NVMX_ENTRY_OK);
    /* The HLT activity state: 26.3.1.5 reads SS.DPL. */
    F(&v, GUEST_ACTIVITY) = NESTOR_ACTIVITY_HLT;
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_SEGS).kind, NVMX_ENTRY_STALE);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_SYS_SEGS | NESTOR_MTD_PDPTE).kind,
                    NVMX_ENTRY_OK);
    /* A stale field is not compared while all of its check group's lazy
     * inputs are stale (only L1's plain write to its VMCS region could
     * change it, SDM 24.11.1, and a stale group is not loaded): a broken
     * TR that a whole check refuses passes unread; where the segment
     * registers are not all stale it is compared, the checks run and stop
     * for a sync, and made whole the broken TR fails. */
    F(&v, GUEST_ACTIVITY) = NESTOR_ACTIVITY_ACTIVE;
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, 0).kind, NVMX_ENTRY_OK);
    F(&v, GUEST_TR_AR) |= X86_AR_UNUSABLE;
    CU_ASSERT_EQUAL(nvmx_check_guest(&v, &env, &ctx64).kind, NVMX_ENTRY_EXIT);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, segs).kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_SYS_SEGS).kind, NVMX_ENTRY_STALE);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, 0).kind, NVMX_ENTRY_EXIT);
    /* PAE paging with EPT: 26.3.1.6 reads the PDPTE fields at every entry. */
    memo.valid = false;
    valid_pae_ept(&v);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, 0).kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, NESTOR_MTD_PDPTE).kind, NVMX_ENTRY_STALE);
    CU_ASSERT_EQUAL(stale_entry(&v, &memo, segs).kind, NVMX_ENTRY_OK);
}

/* At random: the memo with random stale groups gives the whole check's
 * result, after a sync where it stops for one. */
static void test_memo_stale_random(void)
{
    static const unsigned fields[] = {
        V12_GUEST_CR0, V12_GUEST_CR4, V12_GUEST_RIP, V12_GUEST_RFLAGS, V12_GUEST_EFER,
        V12_GUEST_CS_AR, V12_GUEST_SS_AR, V12_GUEST_TR_AR, V12_GUEST_CS_BASE,
        V12_GUEST_GDTR_LIMIT, V12_GUEST_IDTR_BASE, V12_GUEST_ACTIVITY,
        V12_GUEST_INTERRUPTIBILITY, V12_GUEST_PDPTE0, V12_GUEST_PDPTE1, V12_ENTRY_CONTROLS,
        V12_PROC_CONTROLS, V12_PROC_CONTROLS2,
    };
    const memo_run_t run = memo_random(fields, sizeof fields / sizeof fields[0], true);
    printf("\n  nvmx-checks stale memo: %u passed, %u stopped for a sync, %u mismatches\n",
           run.passes, run.stale_stops, run.mismatches);
    CU_ASSERT_EQUAL(run.mismatches, 0);
    CU_ASSERT(run.passes > 1000 && run.stale_stops > 1000);
}

static void test_count(void)
{
    printf("\n  nvmx-checks: %u cases, %u of them through the memo\n", cases_run,
           memo_cases_run);
    CU_ASSERT(cases_run >= 150);
    CU_ASSERT(memo_cases_run >= 140);
}

/* ---- the lists (msr_lists.c): 26.4, 27.4, 27.6 ---- */

#define LIST_ADDR   0x5000ULL
#define FAKE_MTRR_DEF 0x2FFu            /* a platform MSR the fake knows */
#define FAKE_GP_MSR 0x12345u            /* one it #GPs for */

static uint64_t fake_mtrr_def = 0x806;
static unsigned platform_calls;

static nvmx_pmsr_t fake_platform(void *ctx, uint32_t msr, bool write, uint64_t *value)
{
    (void)ctx;
    platform_calls++;
    if (msr != FAKE_MTRR_DEF)
        return NVMX_PMSR_GP;
    if (write)
        fake_mtrr_def = *value;
    else
        *value = fake_mtrr_def;
    return NVMX_PMSR_OK;
}

static const nvmx_platform_msrs_t platform = {
    .access = fake_platform, .efer_allowed = X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE };

static void list_put(unsigned i, uint64_t index_word, uint64_t data)
{
    put64(LIST_ADDR + i * 16, index_word);
    put64(LIST_ADDR + i * 16 + 8, data);
}

static void test_msr_lists(void)
{
    nestor_vcpu_state_t s;
    memset(&s, 0, sizeof s);
    ram_setup();
    /* State MSRs into the state, the rest through the platform, in order. */
    list_put(0, MSR_IA32_SYSENTER_CS, 0xFFFFFFFF00000010ULL);
    list_put(1, FAKE_MTRR_DEF, 0xC00);
    list_put(2, MSR_IA32_DEBUGCTL, 1);
    platform_calls = 0;
    nvmx_entry_check_t r = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 3, &s);
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(s.sysenter_cs, 0x10);           /* WRMSR of SYSENTER_CS: bits 31:0 */
    CU_ASSERT_EQUAL(s.debugctl, 1);
    CU_ASSERT_EQUAL(fake_mtrr_def, 0xC00);
    CU_ASSERT_EQUAL(platform_calls, 1);
    /* A platform #GP fails at its entry, after the ones before it loaded. */
    list_put(0, FAKE_MTRR_DEF, 0x806);
    list_put(1, FAKE_GP_MSR, 0);
    r = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 2, &s);
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
    CU_ASSERT_EQUAL(r.error_or_reason, 34u | 0x80000000u);
    CU_ASSERT_EQUAL(r.qualification, 2);
    CU_ASSERT_EQUAL(fake_mtrr_def, 0x806);
    /* State MSR #GPs, forbidden MSRs, EFER, no platform: never loaded. */
    const struct { uint64_t index_word, data; } bad[] = {
        { MSR_IA32_DEBUGCTL, X86_DEBUGCTL_RESERVED }, { MSR_IA32_PAT, 0x02 },
        { MSR_IA32_TSC_AUX, 1ULL << 32 }, { MSR_IA32_FS_BASE, 0 }, { MSR_IA32_GS_BASE, 0 },
        { 0x830, 0 }, { MSR_IA32_EFER, X86_BIT(1) },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        list_put(0, MSR_IA32_STAR, 0x1234);
        list_put(1, bad[i].index_word, bad[i].data);
        platform_calls = 0;
        r = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 2, &s);
        CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
        CU_ASSERT_EQUAL(r.qualification, 2);
        CU_ASSERT_EQUAL(platform_calls, 0);
        CU_ASSERT(r.rule && strncmp(r.rule, "26.4: ", 6) == 0);
    }
    list_put(0, FAKE_MTRR_DEF, 0);
    r = nvmx_msr_list_load(&env, NULL, LIST_ADDR, 1, &s);
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
    /* 26.4: IA32_EFER as WRMSR loads it: into the state, LMA kept, never
     * the platform; LME changed with CR0.PG 1 or a bit L1 cannot set fail. */
    s.cr0 = X86_CR0_PE | X86_CR0_PG;
    s.efer = X86_EFER_LME | X86_EFER_LMA;
    list_put(0, MSR_IA32_EFER, X86_EFER_LME | X86_EFER_SCE | X86_EFER_NXE);
    platform_calls = 0;
    r = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 1, &s);
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(s.efer, X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE);
    CU_ASSERT_EQUAL(platform_calls, 0);
    const uint64_t efer_bad[] = { X86_EFER_SCE, X86_EFER_LME | X86_BIT(9) };
    for (unsigned i = 0; i < sizeof efer_bad / sizeof efer_bad[0]; i++) {
        list_put(0, MSR_IA32_STAR, 0);
        list_put(1, MSR_IA32_EFER, efer_bad[i]);
        r = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 2, &s);
        CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_EXIT);
        CU_ASSERT_EQUAL(r.qualification, 2);
        CU_ASSERT_EQUAL(s.efer, X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE);
    }
    s.cr0 = X86_CR0_PE;                 /* paging off: LME may change, LMA stays */
    s.efer = 0;
    list_put(0, MSR_IA32_EFER, X86_EFER_LME | X86_EFER_LMA);
    r = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 1, &s);
    CU_ASSERT_EQUAL(r.kind, NVMX_ENTRY_OK);
    CU_ASSERT_EQUAL(s.efer, X86_EFER_LME);
    s.cr0 = 0;
    /* 27.4: the store list reads state and platform; x2APIC, SMBASE,
     * reserved bits, a #GP or a list outside RAM abort (false, the entry). */
    uint32_t at = 0;
    s.pat = 0x0007040600070406ULL;
    s.fs.base = 0x7000;
    fake_mtrr_def = 0xC06;
    list_put(0, MSR_IA32_PAT, 0);
    list_put(1, FAKE_MTRR_DEF, 0);
    list_put(2, MSR_IA32_FS_BASE, 0);
    CU_ASSERT_TRUE(nvmx_msr_list_store(&env, &platform, LIST_ADDR, 3, &s, &at));
    uint64_t got[3];
    for (unsigned i = 0; i < 3; i++)
        memcpy(&got[i], ram + LIST_ADDR + i * 16 + 8, 8);
    CU_ASSERT_EQUAL(got[0], s.pat);
    CU_ASSERT_EQUAL(got[1], 0xC06);
    CU_ASSERT_EQUAL(got[2], 0x7000);
    const uint64_t unstorable[] = { 0x808, MSR_IA32_SMBASE, MSR_IA32_PAT | 1ULL << 32,
                                    FAKE_GP_MSR };
    for (unsigned i = 0; i < sizeof unstorable / sizeof unstorable[0]; i++) {
        list_put(1, unstorable[i], 0);
        at = 0;
        CU_ASSERT_FALSE(nvmx_msr_list_store(&env, &platform, LIST_ADDR, 3, &s, &at));
        CU_ASSERT_EQUAL(at, 2);
    }
    put64(RAM_SIZE - 16, MSR_IA32_PAT);
    CU_ASSERT_FALSE(nvmx_msr_list_store(&env, &platform, RAM_SIZE - 16, 2, &s, &at));
    CU_ASSERT_EQUAL(at, 2);
}

/*
 * The lists' memo (msr_lists.h nvmx_msr_memo_t) against the walk without
 * one, at random: a list of six entries changes one index word (state-page
 * MSRs, platform ones, refused ones, reserved bits) or one value (canonical
 * or not, a bad PAT or DEBUGCTL) between two loads (and stores), as a
 * hostile L1 may between two exits; the load with the memo (which goes on
 * from the loads before) must give the same result, state and platform
 * writes as the load without, and the store the same list.
 */
static void test_msr_memo_random(void)
{
    static const uint64_t indexes[] = {
        MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR, MSR_IA32_FMASK, MSR_IA32_KERNEL_GS_BASE,
        MSR_IA32_TSC_AUX, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
        MSR_IA32_PAT, MSR_IA32_DEBUGCTL, MSR_IA32_FS_BASE, MSR_IA32_EFER, FAKE_MTRR_DEF,
        FAKE_GP_MSR, 0x830, MSR_IA32_SMBASE, MSR_IA32_STAR | 1ULL << 40,
        MSR_IA32_LSTAR | 1ULL << 63,
    };
    static const uint64_t values[] = {
        0, 0x1234, NONCANON, 0xFFFF800000001000ULL, 0x0007040600070406ULL, 0x02,
        X86_DEBUGCTL_RESERVED, 1ULL << 32, 0xFFFFFFFF00000010ULL, X86_EFER_SCE,
    };
    nvmx_msr_memo_t load_memo, store_memo;
    memset(&load_memo, 0, sizeof load_memo);
    memset(&store_memo, 0, sizeof store_memo);
    static nestor_vcpu_state_t base, a, b;
    static uint8_t list_a[6 * 16], list_b[6 * 16];
    unsigned mismatches = 0, oks = 0, fails = 0;
    ram_setup();
    memset(&base, 0, sizeof base);
    base.cr0 = X86_CR0_PE;
    static const uint64_t start[] = { MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR,
                                      MSR_IA32_FMASK, MSR_IA32_KERNEL_GS_BASE, MSR_IA32_TSC_AUX };
    for (unsigned i = 0; i < 6; i++)
        list_put(i, start[i], 0x1000 * i);
    for (unsigned it = 0; it < 20000; it++) {
        const unsigned i = (unsigned)(rng() % 6);
        if (rng() % 2)
            put64(LIST_ADDR + i * 16, indexes[rng() % (sizeof indexes / sizeof indexes[0])]);
        else
            put64(LIST_ADDR + i * 16 + 8, values[rng() % (sizeof values / sizeof values[0])]);
        /* load: without, then with the memo, from the same state and platform */
        const uint64_t mtrr = fake_mtrr_def;
        a = base;
        nvmx_entry_check_t ra = nvmx_msr_list_load(&env, &platform, LIST_ADDR, 6, &a);
        const uint64_t mtrr_a = fake_mtrr_def;
        fake_mtrr_def = mtrr;
        b = base;
        nvmx_entry_check_t rb = nvmx_msr_list_load_memo(&env, &platform, LIST_ADDR, 6, &b,
                                                        &load_memo);
        bool same = same_result(ra, rb) && memcmp(&a, &b, sizeof a) == 0 &&
                    fake_mtrr_def == mtrr_a;
        /* store: the list as it is, without and with the memo */
        uint32_t at_a = 0, at_b = 0;
        memcpy(list_b, ram + LIST_ADDR, sizeof list_b);
        const bool sa = nvmx_msr_list_store(&env, &platform, LIST_ADDR, 6, &a, &at_a);
        memcpy(list_a, ram + LIST_ADDR, sizeof list_a);
        memcpy(ram + LIST_ADDR, list_b, sizeof list_b);
        const bool sb = nvmx_msr_list_store_memo(&env, &platform, LIST_ADDR, 6, &a, &at_b,
                                                 &store_memo);
        same = same && sa == sb && at_a == at_b &&
               memcmp(list_a, ram + LIST_ADDR, sizeof list_a) == 0;
        if (!same && mismatches++ < 5)
            fprintf(stderr, "msr memo: entry %u: load '%s' / '%s', store %d / %d\n", i,
                    ra.rule ? ra.rule : "(ok)", rb.rule ? rb.rule : "(ok)", sa, sb);
        if (ra.kind == NVMX_ENTRY_OK) {
            oks++;
        } else {
            fails++;
            list_put(i, start[i], 0x1000 * i);  /* as L1 would fix it */
        }
    }
    printf("\n  nvmx-checks MSR-list memo: %u loads passed, %u failed, %u mismatches\n", oks,
           fails, mismatches);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(oks > 1000 && fails > 1000);
}

UNIT_SUITE(nvmx_checks_suite)
{
    CU_pSuite s = CU_add_suite("nested-vmx VM-entry checks", NULL, NULL);
    CU_add_test(s, "valid 64-bit, 32-bit, PAE, v86 and real-mode guests pass", test_valid);
    CU_add_test(s, "26.2.1 controls -> VMfailValid 7", test_controls);
    CU_add_test(s, "26.2.2-26.2.4 host state -> VMfailValid 8", test_host);
    CU_add_test(s, "26.3.1.1/3/4 guest registers -> exit 33", test_guest_regs);
    CU_add_test(s, "26.3.1.2 guest segments -> exit 33", test_guest_segs);
    CU_add_test(s, "26.3.1.5 non-register state -> exit 33 (qual 3, 4)", test_guest_nonreg);
    CU_add_test(s, "26.3.1.6 PDPTEs -> exit 33 qual 2", test_pdptes);
    CU_add_test(s, "the groups on their own", test_groups);
    CU_add_test(s, "26.4 MSR-load entries -> exit 34 qual n", test_msr_load);
    CU_add_test(s, "26.4, 27.4, 27.6 the MSR lists: state, platform, refusals", test_msr_lists);
    CU_add_test(s, "the guest-state checks' memo against the whole check, at random",
                test_memo_random);
    CU_add_test(s, "the MSR lists' memo against the walk without, at random",
                test_msr_memo_random);
    CU_add_test(s, "lazy L2 guest state: checks that read a stale group stop", test_memo_stale);
    CU_add_test(s, "lazy L2 guest state: the memo with stale groups, at random",
                test_memo_stale_random);
    CU_add_test(s, "case count", test_count);
}
