/*
 * tests/unit/test_nvmx.c - nested-vmx's pure logic against a fake L1: the
 * vmcs12 field table and width semantics, the capability MSRs, and every
 * VMX instruction's success and error paths (SDM Vol. 2C VMX instruction
 * reference). L1's RAM is a buffer; linear addresses map 1:1 onto it and a
 * page fault can be planted at one address.
 */
#include "unit.h"
#include "../../nested-vmx/nvmx.h"
#include "../../nested-vmx/nvmx_caps.h"
#include <string.h>
#include <x86_arch.h>

/* ---- the fake L1 ---- */

#define PAGE        4096u
#define RAM_SIZE    (64u * PAGE)
#define MAXPHY      36u
#define VMXON_PA    0x1000ULL
#define VMCS_A      0x2000ULL
#define VMCS_B      0x3000ULL
#define OPND        0x8000ULL          /* where memory operands live */
#define LEN         5u                 /* instruction length */
#define RIP0        0x100000ULL

static _Alignas(4096) uint8_t ram[RAM_SIZE];

typedef struct {
    bool fault;              /* #PF at fault_at */
    uint64_t fault_at;
    uint64_t last_la;        /* the last linear access */
    size_t last_n;
    bool last_write;
    unsigned calls;
    unsigned syncs;          /* env.sync calls (lazy guest state) */
    uint64_t synced_vmcs;    /* the current VMCS at the last one */
} fake_t;
static fake_t fake;

static void *fake_phys(void *ctx, uint64_t gpa, size_t n)
{
    (void)ctx;
    if (gpa > RAM_SIZE || n > RAM_SIZE - gpa)
        return NULL;
    return ram + gpa;
}

static nvmx_mem_t fake_linear(void *ctx, const nestor_vcpu_state_t *st, uint64_t la, void *buf,
                              size_t n, bool write, uint32_t *error, uint64_t *addr)
{
    fake_t *f = ctx;
    (void)st;
    f->calls++;
    f->last_la = la;
    f->last_n = n;
    f->last_write = write;
    if (f->fault && f->fault_at >= la && f->fault_at - la < n) {
        *error = (uint32_t)(X86_PF_PRESENT | (write ? X86_PF_WRITE : 0));
        *addr = f->fault_at;
        return NVMX_MEM_PAGE_FAULT;
    }
    if (la > RAM_SIZE || n > RAM_SIZE - la)
        return NVMX_MEM_NOT_RAM;
    if (write)
        memcpy(ram + la, buf, n);
    else
        memcpy(buf, ram + la, n);
    return NVMX_MEM_OK;
}

static void fake_sync(void *ctx);
static const nvmx_env_t env = { .ctx = &fake, .phys = fake_phys, .linear = fake_linear,
                                .maxphyaddr = MAXPHY, .sync = fake_sync };

/* Access rights (SDM 24.4.1): S (code/data) and P flags, types. */
#define AR_S        (1u << 4)
#define AR_P        (1u << 7)
#define AR_DPL3     (3u << X86_AR_DPL_SHIFT)
#define TYPE_RW     0x3u               /* data, read/write, accessed */
#define TYPE_RO     0x1u               /* data, read-only, accessed */
#define TYPE_RW_DN  0x7u               /* data, read/write, expand-down */
#define TYPE_CODE   0xBu               /* code, execute/read, accessed */
#define TYPE_XO     0x9u               /* code, execute-only, accessed */
#define FLAT32      0xFFFFFFFFu

/* Instruction-information encoders (the inverse of x86_vmx.h VMX_II_*). */
#define II_SCALE(x)   ((uint32_t)(x))
#define II_REG1(r)    ((uint32_t)(r) << 3)
#define II_ASIZE(a)   ((uint32_t)(a) << 7)
#define II_ISREG      (1u << 10)
#define II_SEG(x)     ((uint32_t)(x) << 15)
#define II_INDEX(r)   ((uint32_t)(r) << 18)
#define II_NOINDEX    (1u << 22)
#define II_BASE(r)    ((uint32_t)(r) << 23)
#define II_NOBASE     (1u << 27)
#define II_REG2(r)    ((uint32_t)(r) << 28)
/* [disp] through DS, 64-bit addressing */
#define II_MEM        (II_ASIZE(VMX_II_ADDR_64) | II_SEG(VMX_II_SEG_DS) | II_NOINDEX | II_NOBASE)
#define II_MEM32      (II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_DS) | II_NOINDEX | II_NOBASE)
/* registers (SDM 27.2.5 numbering) */
#define R_RAX 0
#define R_RCX 1
#define R_RDX 2
#define R_RBX 3
#define R_RSP 4
#define R_RSI 6
#define R_R9  9
#define R_R12 12

static nvmx_vcpu_t vcpu;
static nestor_vcpu_state_t s, before;

/* vcpu02's values of the lazy fields (nvmx.h NVMX_LAZY_GROUPS): a pattern
 * per slot, fitting every width. */
#define LAZY_NOW(slot) (0x7000u + (slot))

/* What l2.c l2_sync12 does: the stale groups of the current VMCS as
 * "vcpu02" holds them, then none stale. */
static void fake_sync(void *ctx)
{
    fake_t *f = ctx;
    f->syncs++;
    f->synced_vmcs = vcpu.current;
    vmcs12_t *v = nvmx_current(&vcpu, &env);
    for (unsigned i = 0; v && i < NVMX_FIELD_COUNT; i++)
        if (nvmx_lazy_group(i) & vcpu.stale)
            v->field[i] = LAZY_NOW(i);
    vcpu.stale = 0;
}

static nestor_vcpu_seg_t seg(uint32_t type, uint32_t extra)
{
    return (nestor_vcpu_seg_t){ .base = 0, .limit = FLAT32, .ar = type | AR_S | AR_P | extra };
}

/* 64-bit mode, CPL 0, paging, VMXE. */
static void state64(void)
{
    memset(&s, 0, sizeof(s));
    s.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
    s.cr4 = X86_CR4_PAE | X86_CR4_VMXE;
    s.efer = X86_EFER_LME | X86_EFER_LMA;
    s.rflags = X86_RFLAGS_FIXED;
    s.rip = RIP0;
    s.cs = seg(TYPE_CODE, X86_AR_L);
    s.es = s.ss = s.ds = s.fs = s.gs = seg(TYPE_RW, 0);
}

/* 32-bit protected mode with paging, flat segments. */
static void state32(void)
{
    state64();
    s.efer = 0;
    s.cr4 = X86_CR4_VMXE;
    s.cs = seg(TYPE_CODE, X86_AR_DB);
    s.es = s.ss = s.ds = s.fs = s.gs = seg(TYPE_RW, X86_AR_DB);
}

static void put32(uint64_t pa, uint32_t v) { memcpy(ram + pa, &v, sizeof(v)); }
static void put64(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, sizeof(v)); }
static uint64_t get64(uint64_t pa)
{
    uint64_t v;
    memcpy(&v, ram + pa, sizeof(v));
    return v;
}
static vmcs12_t *region(uint64_t pa) { return (vmcs12_t *)(void *)(ram + pa); }

static void reset(void)
{
    memset(ram, 0, sizeof(ram));
    memset(&fake, 0, sizeof(fake));
    vcpu = (nvmx_vcpu_t){ .vmxon = false, .vmxon_ptr = NVMX_NO_VMCS, .current = NVMX_NO_VMCS };
    put32(VMXON_PA, NVMX_REVISION);
    put32(VMCS_A, NVMX_REVISION);
    put32(VMCS_B, NVMX_REVISION);
    state64();
}

static nvmx_result_t run(uint32_t reason, uint32_t ii, uint64_t qual)
{
    nvmx_insn_t in = { .reason = reason, .qualification = qual, .instr_info = ii,
                       .instr_len = LEN };
    before = s;
    return nvmx_instruction(&vcpu, &env, &s, &in);
}

/* An instruction with a 64-bit memory operand holding @ptr. */
static nvmx_result_t run_ptr(uint32_t reason, uint64_t ptr)
{
    put64(OPND, ptr);
    return run(reason, II_MEM, OPND);
}

static uint64_t rip_after(void)
{
    return before.rip + LEN;
}

/* Outcome checks: each CU_ASSERT counts. */
static void expect_succeed(nvmx_result_t r, nvmx_status_t status)
{
    CU_ASSERT_EQUAL(r.status, status);
    CU_ASSERT_EQUAL(r.vm_error, 0);
    CU_ASSERT_EQUAL(s.rflags & VMX_RFLAGS_ARITH, 0);
    CU_ASSERT_EQUAL(s.rip, rip_after());
}

static void expect_fail_invalid(nvmx_result_t r)
{
    CU_ASSERT_EQUAL(r.status, NVMX_DONE);
    CU_ASSERT_EQUAL(r.vm_error, NVMX_VMFAIL_INVALID);
    CU_ASSERT_EQUAL(s.rflags & VMX_RFLAGS_ARITH, VMX_RFLAGS_CF);
    CU_ASSERT_EQUAL(s.rip, rip_after());
}

static void expect_fail_valid(nvmx_result_t r, uint32_t error)
{
    CU_ASSERT_EQUAL(r.status, NVMX_DONE);
    CU_ASSERT_EQUAL(r.vm_error, error);
    CU_ASSERT_EQUAL(s.rflags & VMX_RFLAGS_ARITH, VMX_RFLAGS_ZF);
    CU_ASSERT_EQUAL(s.rip, rip_after());
    vmcs12_t *cur = nvmx_current(&vcpu, &env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
    CU_ASSERT_EQUAL(vmcs12_read(cur, VMCS_INSTR_ERROR), error);
}

static void expect_fault(nvmx_result_t r, uint8_t vector)
{
    CU_ASSERT_EQUAL(r.status, NVMX_FAULT);
    CU_ASSERT_EQUAL(r.vector, vector);
    CU_ASSERT_EQUAL(r.has_error, vector != X86_VEC_UD);
    if (vector != X86_VEC_PF && vector != X86_VEC_UD)
        CU_ASSERT_EQUAL(r.error_code, 0);
    CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof(s)), 0);   /* state unchanged */
}

static void enter_vmx(void)
{
    nvmx_result_t r = run_ptr(NESTOR_EXIT_VMXON, VMXON_PA);
    CU_ASSERT_EQUAL_FATAL(r.vm_error, 0);
    CU_ASSERT_TRUE_FATAL(vcpu.vmxon);
}

/* VMXON, VMCLEAR and VMPTRLD of @pa. */
static void load_vmcs(uint64_t pa)
{
    enter_vmx();
    CU_ASSERT_EQUAL_FATAL(run_ptr(NESTOR_EXIT_VMCLEAR, pa).vm_error, 0);
    CU_ASSERT_EQUAL_FATAL(run_ptr(NESTOR_EXIT_VMPTRLD, pa).vm_error, 0);
    CU_ASSERT_EQUAL_FATAL(vcpu.current, pa);
}

/* ---- a record loaded from a checkpoint (nvmx_state.h) ---- */

static bool valid(bool on, uint64_t vmxon_ptr, uint64_t current)
{
    const nvmx_vcpu_t v = { .vmxon = on, .vmxon_ptr = vmxon_ptr, .current = current };
    return nvmx_vcpu_valid(&v, &env);
}

static void test_vcpu_valid(void)
{
    reset();
    /* What the instructions leave is valid: outside, after VMXON, VMPTRLD, VMXOFF. */
    CU_ASSERT_TRUE(nvmx_vcpu_valid(&vcpu, &env));
    load_vmcs(VMCS_A);
    CU_ASSERT_TRUE(nvmx_vcpu_valid(&vcpu, &env));
    expect_succeed(run(NESTOR_EXIT_VMXOFF, 0, 0), NVMX_DONE);
    CU_ASSERT_TRUE(nvmx_vcpu_valid(&vcpu, &env));
    CU_ASSERT_TRUE(valid(true, VMXON_PA, NVMX_NO_VMCS));
    put32(VMCS_B, NVMX_REVISION | VMCS_REVISION_SHADOW);
    CU_ASSERT_TRUE(valid(true, VMXON_PA, VMCS_B));        /* a shadow VMCS can be current */
    /* Outside VMX operation nothing is current. */
    CU_ASSERT_FALSE(valid(false, NVMX_NO_VMCS, VMCS_A));
    CU_ASSERT_FALSE(valid(false, VMXON_PA, NVMX_NO_VMCS));
    /* The VMXON pointer: aligned, within the width, a region of RAM with
     * the revision, not a shadow (SDM Vol. 2C VMXON). */
    CU_ASSERT_FALSE(valid(true, VMXON_PA + 8, NVMX_NO_VMCS));
    CU_ASSERT_FALSE(valid(true, 1ULL << MAXPHY, NVMX_NO_VMCS));
    CU_ASSERT_FALSE(valid(true, RAM_SIZE, NVMX_NO_VMCS));
    CU_ASSERT_FALSE(valid(true, NVMX_NO_VMCS, NVMX_NO_VMCS));
    CU_ASSERT_FALSE(valid(true, VMCS_B, NVMX_NO_VMCS));
    /* The current VMCS: as VMPTRLD checks it (SDM Vol. 2C VMPTRLD). */
    CU_ASSERT_FALSE(valid(true, VMXON_PA, VMXON_PA));
    CU_ASSERT_FALSE(valid(true, VMXON_PA, VMCS_A + 0x800));
    CU_ASSERT_FALSE(valid(true, VMXON_PA, 1ULL << 40));
    CU_ASSERT_FALSE(valid(true, VMXON_PA, RAM_SIZE));
    CU_ASSERT_FALSE(valid(true, VMXON_PA, RAM_SIZE - PAGE / 2));
    put32(VMCS_A, NVMX_REVISION ^ 1);
    CU_ASSERT_FALSE(valid(true, VMXON_PA, VMCS_A));
}

/* ---- vmcs12 ---- */

static void test_vmcs12_index(void)
{
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++) {
        uint32_t enc = vmcs12_encoding(i);
        bool high = true;
        CU_ASSERT_EQUAL(vmcs12_index(enc, &high), (int)i);
        CU_ASSERT_FALSE(high);
        high = false;
        int hi = vmcs12_index(enc | 1, &high);
        if (VMCS_FIELD_WIDTH(enc) == VMCS_WIDTH_64) {
            CU_ASSERT_EQUAL(hi, (int)i);          /* SDM 24.11.2: high access */
            CU_ASSERT_TRUE(high);
        } else {
            CU_ASSERT_EQUAL(hi, -1);              /* no high half */
        }
        CU_ASSERT_EQUAL(vmcs12_index(enc | BIT(12), NULL), -1);   /* reserved bit 12 */
        CU_ASSERT_EQUAL(vmcs12_index(enc | BIT(15), NULL), -1);   /* reserved 31:15 */
    }
    /* Fields of features not offered. */
    CU_ASSERT_EQUAL(vmcs12_index(VMCS_POSTED_INTR_NV, NULL), -1);
    CU_ASSERT_EQUAL(vmcs12_index(VMCS_PML_ADDRESS, NULL), -1);
    CU_ASSERT_EQUAL(vmcs12_index(VMCS_VIRTUAL_APIC_ADDR, NULL), -1);
    CU_ASSERT_EQUAL(vmcs12_index(VMCS_GUEST_PERF_GLOBAL_CTRL, NULL), -1);
    CU_ASSERT_EQUAL(vmcs12_index(VMCS_TPR_THRESHOLD, NULL), -1);
    CU_ASSERT_EQUAL(vmcs12_encoding(NVMX_FIELD_COUNT), ~0u);
    /* max index (SDM A.9) */
    unsigned max = 0;
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
        if (VMCS_FIELD_INDEX(vmcs12_encoding(i)) > max)
            max = VMCS_FIELD_INDEX(vmcs12_encoding(i));
    CU_ASSERT_EQUAL(vmcs12_max_index(), max);
    CU_ASSERT_EQUAL(vmcs12_max_index(), VMCS_FIELD_INDEX(VMCS_PREEMPT_TIMER_VALUE));
}

static uint64_t width_mask(uint32_t enc)
{
    switch (VMCS_FIELD_WIDTH(enc)) {
    case VMCS_WIDTH_16:
        return 0xFFFF;
    case VMCS_WIDTH_32:
        return 0xFFFFFFFF;
    default:
        return ~0ULL;
    }
}

static void test_vmcs12_rw(void)
{
    static vmcs12_t v;
    const uint64_t pat = 0x8877665544332211ULL;
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++) {
        uint32_t enc = vmcs12_encoding(i);
        vmcs12_write(&v, enc, pat);
        CU_ASSERT_EQUAL(v.field[i], pat & width_mask(enc));     /* stored truncated */
        CU_ASSERT_EQUAL(vmcs12_read(&v, enc), pat & width_mask(enc));
        if (VMCS_FIELD_WIDTH(enc) == VMCS_WIDTH_64) {
            CU_ASSERT_EQUAL(vmcs12_read(&v, enc | 1), pat >> 32);
            vmcs12_write(&v, enc | 1, 0xDEADBEEFCAFEF00DULL);
            CU_ASSERT_EQUAL(vmcs12_read(&v, enc), 0xCAFEF00D44332211ULL);
        }
    }
}

/* ---- capability MSRs ---- */

static void test_caps(void)
{
    uint64_t v, w;
    for (uint32_t msr = MSR_IA32_VMX_FIRST; msr < MSR_IA32_VMX_VMFUNC; msr++)
        CU_ASSERT_TRUE(nvmx_cap_msr(msr, &v));
    CU_ASSERT_FALSE(nvmx_cap_msr(MSR_IA32_VMX_VMFUNC, &v));
    CU_ASSERT_FALSE(nvmx_cap_msr(MSR_IA32_VMX_FIRST - 1, &v));

    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_BASIC, &v));
    CU_ASSERT_EQUAL(v & VMX_BASIC_REVISION_MASK, NVMX_REVISION);
    CU_ASSERT_EQUAL(v & BIT(31), 0);
    CU_ASSERT_EQUAL((v >> VMX_BASIC_REGION_SIZE_SHIFT) & VMX_BASIC_REGION_SIZE_MASK, PAGE);
    CU_ASSERT_EQUAL((v >> VMX_BASIC_MEMTYPE_SHIFT) & 0xF, VMX_BASIC_MEMTYPE_WB);
    CU_ASSERT_NOT_EQUAL(v & VMX_BASIC_TRUE_CTLS, 0);
    CU_ASSERT_EQUAL(v & VMX_BASIC_PHYS_32, 0);

    /* Control MSRs: must-be-1 within allowed-1; TRUE must-be-1 a subset of
     * the non-TRUE one; same allowed-1 (SDM A.3-A.5). */
    static const uint32_t pairs[][2] = {
        { MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS },
        { MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS },
        { MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS },
        { MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS },
    };
    static const uint32_t default1[] = { VMX_PIN_DEFAULT1, VMX_PROC_DEFAULT1, VMX_EXIT_DEFAULT1,
                                         VMX_ENTRY_DEFAULT1 };
    for (unsigned i = 0; i < 4; i++) {
        CU_ASSERT_TRUE(nvmx_cap_msr(pairs[i][0], &v));
        CU_ASSERT_TRUE(nvmx_cap_msr(pairs[i][1], &w));
        uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
        uint32_t tlo = (uint32_t)w, thi = (uint32_t)(w >> 32);
        CU_ASSERT_EQUAL(lo & ~hi, 0);
        CU_ASSERT_EQUAL(lo, default1[i]);               /* non-TRUE: default1 forced */
        CU_ASSERT_EQUAL(tlo & ~lo, 0);
        CU_ASSERT_EQUAL(hi, thi);
        CU_ASSERT_TRUE(nvmx_ctls_valid(tlo, tlo, thi));
    }
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &w));
    CU_ASSERT_EQUAL(w & PROC_CR3_LOAD_EXITING, 0);        /* may be 0 (TRUE) */
    /* Acknowledge interrupt on exit and save the preemption timer may be 1
     * (SDM A.4: allowed-1 bits 15, 22) and need not be (allowed-0 clear). */
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_TRUE_EXIT_CTLS, &w));
    CU_ASSERT_EQUAL((w >> 32) & (EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPT_TIMER),
                    EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPT_TIMER);
    CU_ASSERT_EQUAL(w & (EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPT_TIMER), 0);
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_PROCBASED_CTLS2, &v));
    CU_ASSERT_EQUAL((uint32_t)v, 0);                   /* allowed-0 all 0 */
    CU_ASSERT_EQUAL(v >> 32, NVMX_PROC2_ALLOWED1);
    CU_ASSERT_EQUAL((v >> 32) & PROC2_ENABLE_VMFUNC, 0);
    CU_ASSERT_EQUAL((v >> 32) & PROC2_VMCS_SHADOWING, PROC2_VMCS_SHADOWING);   /* offered */
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_VMCS_ENUM, &v));
    CU_ASSERT_EQUAL(v, (uint64_t)vmcs12_max_index() << 1);
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_EPT_VPID_CAP, &v));
    CU_ASSERT_EQUAL(v, NVMX_EPT_VPID_CAP);
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_MISC, &v));
    CU_ASSERT_EQUAL(v & VMX_MISC_PREEMPT_RATE_MASK, NVMX_PREEMPT_RATE);
    CU_ASSERT_EQUAL(v & VMX_MISC_VMWRITE_ANY_FIELD, VMX_MISC_VMWRITE_ANY_FIELD);  /* offered */
    CU_ASSERT_EQUAL((v >> VMX_MISC_MSR_LIST_SHIFT) & 7, 0);   /* 512 MSRs */
    CU_ASSERT_EQUAL((v >> VMX_MISC_CR3_TARGETS_SHIFT) & 0x1FF, 0);
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_CR0_FIXED0, &v));
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_CR0_FIXED1, &w));
    CU_ASSERT_EQUAL(v & ~w, 0);
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_CR4_FIXED0, &v));
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_CR4_FIXED1, &w));
    CU_ASSERT_EQUAL(v & ~w, 0);
    CU_ASSERT_NOT_EQUAL(v & X86_CR4_VMXE, 0);
}

static void test_msrs(void)
{
    uint64_t v = 0;
    CU_ASSERT_EQUAL(nvmx_rdmsr(MSR_IA32_FEATURE_CONTROL, &v), 1);
    CU_ASSERT_EQUAL(v, NVMX_FEATURE_CONTROL);
    CU_ASSERT_NOT_EQUAL(v & X86_FEATURE_CONTROL_LOCK, 0);
    CU_ASSERT_NOT_EQUAL(v & FEATURE_CONTROL_VMXON_OUTSIDE_SMX, 0);
    CU_ASSERT_EQUAL(nvmx_wrmsr(MSR_IA32_FEATURE_CONTROL, v), -1);
    CU_ASSERT_EQUAL(nvmx_rdmsr(MSR_IA32_VMX_BASIC, &v), 1);
    CU_ASSERT_EQUAL(v, NVMX_BASIC);
    CU_ASSERT_EQUAL(nvmx_rdmsr(MSR_IA32_VMX_VMFUNC, &v), -1);
    for (uint32_t msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST; msr++)
        CU_ASSERT_EQUAL(nvmx_wrmsr(msr, 0), -1);
    CU_ASSERT_EQUAL(nvmx_rdmsr(MSR_IA32_EFER, &v), 0);
    CU_ASSERT_EQUAL(nvmx_wrmsr(MSR_IA32_EFER, 0), 0);
    CU_ASSERT_EQUAL(nvmx_rdmsr(MSR_IA32_VMX_LAST + 1, &v), 0);

    nvmx_vcpu_t off = { .vmxon = false }, on = { .vmxon = true };
    CU_ASSERT_TRUE(nvmx_cr4_write_ok(&off, 0));
    CU_ASSERT_TRUE(nvmx_cr4_write_ok(&on, X86_CR4_VMXE | X86_CR4_PAE));
    CU_ASSERT_FALSE(nvmx_cr4_write_ok(&on, X86_CR4_PAE));           /* clears VMXE */
    CU_ASSERT_FALSE(nvmx_cr4_write_ok(&on, X86_CR4_VMXE | X86_CR4_LA57));  /* fixed 0 */
}

/* ---- VMXON / VMXOFF ---- */

static void test_vmxon(void)
{
    reset();
    s.rflags |= VMX_RFLAGS_CF | VMX_RFLAGS_ZF;
    nvmx_result_t r = run_ptr(NESTOR_EXIT_VMXON, VMXON_PA);
    expect_succeed(r, NVMX_DONE);
    CU_ASSERT_TRUE(vcpu.vmxon);
    CU_ASSERT_EQUAL(vcpu.vmxon_ptr, VMXON_PA);
    CU_ASSERT_EQUAL(vcpu.current, NVMX_NO_VMCS);
    CU_ASSERT_EQUAL(fake.last_la, OPND);
    CU_ASSERT_EQUAL(fake.last_n, 8);
    CU_ASSERT_FALSE(fake.last_write);
    /* In VMX root operation: VMfailInvalid (no current VMCS), then
     * VMfailValid(15) with one. */
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA));
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), VMXERR_VMXON_IN_ROOT);
    s.ss.ar |= AR_DPL3;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_GP);
}

static void test_vmxon_ud_gp(void)
{
    /* #UD: CR4.VMXE = 0, CR0.PE = 0, RFLAGS.VM = 1, compatibility mode,
     * register operand. */
    reset();
    s.cr4 &= ~X86_CR4_VMXE;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_UD);
    reset();
    s.cr0 &= ~(X86_CR0_PE | X86_CR0_PG);
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_UD);
    reset();
    state32();
    s.rflags |= X86_RFLAGS_VM;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_UD);
    reset();
    s.cs.ar &= ~X86_AR_L;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_UD);
    reset();
    expect_fault(run(NESTOR_EXIT_VMXON, II_MEM | II_ISREG, 0), X86_VEC_UD);
    /* #GP(0): CPL 3, CR0.NE = 0, CR0.PG = 0 (no unrestricted-guest
     * exception for VMXON), a CR4 bit fixed to 0. */
    reset();
    s.ss.ar |= AR_DPL3;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_GP);
    reset();
    s.cr0 &= ~X86_CR0_NE;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_GP);
    reset();
    state32();
    s.cr0 &= ~X86_CR0_PG;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_GP);
    reset();
    s.cr4 |= X86_CR4_LA57;
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_GP);
    reset();
    s.cr0 |= BIT(32);                          /* outside CR0_FIXED1 */
    expect_fault(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA), X86_VEC_GP);
    CU_ASSERT_FALSE(vcpu.vmxon);
    CU_ASSERT_EQUAL(fake.calls, 0);            /* the operand is never read */
}

static void test_vmxon_fail(void)
{
    /* VMfailInvalid: unaligned, beyond MAXPHYADDR, wrong revision, shadow
     * bit, not RAM. */
    reset();
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA + 8));
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, 1ULL << MAXPHY));
    put32(VMXON_PA, NVMX_REVISION + 1);
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA));
    put32(VMXON_PA, NVMX_REVISION | VMCS_REVISION_SHADOW);
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA));
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, RAM_SIZE));
    CU_ASSERT_FALSE(vcpu.vmxon);
    /* #PF reading the operand. */
    put32(VMXON_PA, NVMX_REVISION);
    fake.fault = true;
    fake.fault_at = OPND + 4;
    nvmx_result_t r = run_ptr(NESTOR_EXIT_VMXON, VMXON_PA);
    expect_fault(r, X86_VEC_PF);
    CU_ASSERT_EQUAL(r.cr2, OPND + 4);
    CU_ASSERT_EQUAL(r.error_code, X86_PF_PRESENT);
    CU_ASSERT_FALSE(vcpu.vmxon);
}

static void test_vmxoff(void)
{
    reset();
    expect_fault(run(NESTOR_EXIT_VMXOFF, 0, 0), X86_VEC_UD);     /* not in VMX operation */
    load_vmcs(VMCS_A);
    s.ss.ar |= AR_DPL3;
    expect_fault(run(NESTOR_EXIT_VMXOFF, 0, 0), X86_VEC_GP);
    s.ss.ar &= ~AR_DPL3;
    s.rflags |= X86_RFLAGS_VM;
    expect_fault(run(NESTOR_EXIT_VMXOFF, 0, 0), X86_VEC_UD);
    s.rflags &= ~X86_RFLAGS_VM;
    expect_succeed(run(NESTOR_EXIT_VMXOFF, 0, 0), NVMX_DONE);
    CU_ASSERT_FALSE(vcpu.vmxon);
    CU_ASSERT_EQUAL(vcpu.current, NVMX_NO_VMCS);
    expect_fault(run(NESTOR_EXIT_VMXOFF, 0, 0), X86_VEC_UD);
    enter_vmx();                                /* VMXON again */
}

/* ---- VMCLEAR / VMPTRLD / VMPTRST ---- */

static void test_vmclear(void)
{
    reset();
    expect_fault(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_A), X86_VEC_UD);   /* not in VMX operation */
    enter_vmx();
    expect_fault(run(NESTOR_EXIT_VMCLEAR, II_MEM | II_ISREG, OPND), X86_VEC_UD);
    s.ss.ar |= AR_DPL3;
    expect_fault(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_A), X86_VEC_GP);
    s.ss.ar &= ~AR_DPL3;
    /* No current VMCS: failures are VMfailInvalid. */
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_A + 0x10));
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMCLEAR, VMXON_PA));
    region(VMCS_A)->launch_state = VMCS12_LAUNCHED;
    expect_succeed(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_A), NVMX_DONE);
    CU_ASSERT_EQUAL(region(VMCS_A)->launch_state, VMCS12_CLEAR);
    expect_succeed(run_ptr(NESTOR_EXIT_VMCLEAR, RAM_SIZE), NVMX_DONE);   /* not RAM */
    /* With a current VMCS: VMfailValid(2), (3). */
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_B + 1), VMXERR_VMCLEAR_INVALID_ADDR);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMCLEAR, 1ULL << MAXPHY), VMXERR_VMCLEAR_INVALID_ADDR);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMCLEAR, VMXON_PA), VMXERR_VMCLEAR_VMXON_PTR);
    /* Another VMCS: the current one stays. */
    expect_succeed(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_B), NVMX_DONE);
    CU_ASSERT_EQUAL(vcpu.current, VMCS_A);
    CU_ASSERT_EQUAL(region(VMCS_B)->launch_state, VMCS12_CLEAR);
    /* The current one: no current VMCS afterwards. */
    expect_succeed(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_A), NVMX_DONE);
    CU_ASSERT_EQUAL(vcpu.current, NVMX_NO_VMCS);
}

static void test_vmptrld(void)
{
    reset();
    expect_fault(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A), X86_VEC_UD);
    enter_vmx();
    expect_fault(run(NESTOR_EXIT_VMPTRLD, II_MEM | II_ISREG, OPND), X86_VEC_UD);
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A + 0x800));
    expect_succeed(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A), NVMX_DONE);
    CU_ASSERT_EQUAL(vcpu.current, VMCS_A);
    CU_ASSERT_PTR_EQUAL(nvmx_current(&vcpu, &env), region(VMCS_A));
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B | 0x4), VMXERR_VMPTRLD_INVALID_ADDR);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, 1ULL << 40), VMXERR_VMPTRLD_INVALID_ADDR);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, VMXON_PA), VMXERR_VMPTRLD_VMXON_PTR);
    put32(VMCS_B, NVMX_REVISION ^ 1);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B), VMXERR_VMPTRLD_BAD_REVISION);
    put32(VMCS_B, (NVMX_REVISION ^ 1) | VMCS_REVISION_SHADOW);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B), VMXERR_VMPTRLD_BAD_REVISION);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, RAM_SIZE), VMXERR_VMPTRLD_BAD_REVISION);
    CU_ASSERT_EQUAL(vcpu.current, VMCS_A);
    put32(VMCS_B, NVMX_REVISION);
    expect_succeed(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B), NVMX_DONE);
    CU_ASSERT_EQUAL(vcpu.current, VMCS_B);
    s.ss.ar |= AR_DPL3;
    expect_fault(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A), X86_VEC_GP);
}

static void test_vmptrst(void)
{
    reset();
    expect_fault(run(NESTOR_EXIT_VMPTRST, II_MEM, OPND), X86_VEC_UD);
    enter_vmx();
    put64(OPND, 0);
    expect_succeed(run(NESTOR_EXIT_VMPTRST, II_MEM, OPND), NVMX_DONE);
    CU_ASSERT_EQUAL(get64(OPND), NVMX_NO_VMCS);
    CU_ASSERT_TRUE(fake.last_write);
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    expect_succeed(run(NESTOR_EXIT_VMPTRST, II_MEM, OPND + 0x100), NVMX_DONE);
    CU_ASSERT_EQUAL(get64(OPND + 0x100), VMCS_A);
    /* #PF on the write: nothing written, state unchanged. */
    fake.fault = true;
    fake.fault_at = OPND + 0x207;
    put64(OPND + 0x200, 0);
    nvmx_result_t r = run(NESTOR_EXIT_VMPTRST, II_MEM, OPND + 0x200);
    expect_fault(r, X86_VEC_PF);
    CU_ASSERT_EQUAL(r.error_code, X86_PF_PRESENT | X86_PF_WRITE);
    CU_ASSERT_EQUAL(r.cr2, OPND + 0x207);
    CU_ASSERT_EQUAL(get64(OPND + 0x200), 0);
    fake.fault = false;
    expect_fault(run(NESTOR_EXIT_VMPTRST, II_MEM | II_ISREG, OPND), X86_VEC_UD);
}

/* ---- memory operands ---- */

static void test_operand_64(void)
{
    reset();
    enter_vmx();
    /* base + index * scale + displacement; DS base ignored in 64-bit mode */
    s.rbx = 0x6000;
    s.rsi = 0x100;
    s.ds.base = 0x123000;
    put64(0x6000 + 0x100 * 8 + 0x40, 0);
    uint32_t ii = II_ASIZE(VMX_II_ADDR_64) | II_SEG(VMX_II_SEG_DS) | II_BASE(R_RBX) |
                  II_INDEX(R_RSI) | II_SCALE(3);
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, 0x40), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_la, 0x6000 + 0x800 + 0x40);
    /* negative displacement (sign-extended in the qualification) */
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, (uint64_t)-0x40), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_la, 0x6000 + 0x800 - 0x40);
    /* FS base counts; rsp as base */
    s.fs.base = 0x2000;
    s.rsp = 0x5000;
    ii = II_ASIZE(VMX_II_ADDR_64) | II_SEG(VMX_II_SEG_FS) | II_BASE(R_RSP) | II_NOINDEX;
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, 0x8), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_la, 0x7008);
    /* 32-bit address size truncates before the segment base is added */
    s.r12 = 0xFFFFFFFF00004000ULL;
    ii = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_GS) | II_BASE(R_R12) | II_NOINDEX;
    s.gs.base = 0x1000;
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, 0x10), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_la, 0x5010);
    /* non-canonical: #GP(0) through DS, #SS(0) through SS */
    s.rbx = 0x0000800000000000ULL;
    ii = II_ASIZE(VMX_II_ADDR_64) | II_SEG(VMX_II_SEG_DS) | II_BASE(R_RBX) | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, ii, 0), X86_VEC_GP);
    ii = II_ASIZE(VMX_II_ADDR_64) | II_SEG(VMX_II_SEG_SS) | II_BASE(R_RBX) | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, ii, 0), X86_VEC_SS);
    /* the last byte non-canonical */
    s.rbx = 0x00007FFFFFFFFFFCULL;
    expect_fault(run(NESTOR_EXIT_VMPTRST, ii, 0), X86_VEC_SS);
    /* high canonical half is fine (reaches the fake, not RAM: dropped) */
    s.rbx = 0xFFFF800000000000ULL;
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, 0), NVMX_DONE);
    /* undefined address size / segment encodings */
    expect_fault(run(NESTOR_EXIT_VMPTRST, II_ASIZE(3) | II_SEG(VMX_II_SEG_DS) | II_NOBASE |
                     II_NOINDEX, OPND), X86_VEC_UD);
    expect_fault(run(NESTOR_EXIT_VMPTRST, II_ASIZE(VMX_II_ADDR_64) | II_SEG(6) | II_NOBASE |
                     II_NOINDEX, OPND), X86_VEC_UD);
}

static void test_operand_32(void)
{
    reset();
    state32();
    enter_vmx();
    CU_ASSERT_EQUAL(s.rip, RIP0 + LEN);
    /* DS base added, wraps at 4 GiB */
    s.ds.base = 0xFFFFF000;
    s.rbx = 0x9000;
    uint32_t ii = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_DS) | II_BASE(R_RBX) | II_NOINDEX;
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, 0), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_la, 0x8000);
    s.ds.base = 0;
    /* 16-bit address size: the offset wraps at 64 KiB */
    s.rbx = 0xFFF0;
    ii = II_ASIZE(VMX_II_ADDR_16) | II_SEG(VMX_II_SEG_DS) | II_BASE(R_RBX) | II_NOINDEX;
    expect_succeed(run(NESTOR_EXIT_VMPTRST, ii, 0x20), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_la, 0x10);
    /* limits: DS #GP(0), SS #SS(0) */
    s.ds.limit = OPND + 6;                         /* last byte OPND + 7 is outside */
    expect_fault(run(NESTOR_EXIT_VMPTRST, II_MEM32, OPND), X86_VEC_GP);
    s.ds.limit = OPND + 7;
    expect_succeed(run(NESTOR_EXIT_VMPTRST, II_MEM32, OPND), NVMX_DONE);
    s.ss.limit = 0xFFF;
    uint32_t ss = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_SS) | II_NOBASE | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, ss, OPND), X86_VEC_SS);
    s.ss.limit = FLAT32;
    /* expand-down: offsets up to the limit are outside */
    s.es = seg(TYPE_RW_DN, X86_AR_DB);
    s.es.limit = OPND;
    uint32_t es = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_ES) | II_NOBASE | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, es, OPND), X86_VEC_GP);
    expect_succeed(run(NESTOR_EXIT_VMPTRST, es, OPND + 8), NVMX_DONE);
    /* unusable segment */
    s.fs.ar |= X86_AR_UNUSABLE;
    uint32_t fs = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_FS) | II_NOBASE | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, fs, OPND), X86_VEC_GP);
    /* write through a read-only data segment or code; read through
     * execute-only code */
    s.gs = seg(TYPE_RO, X86_AR_DB);
    uint32_t gs = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_GS) | II_NOBASE | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, gs, OPND), X86_VEC_GP);
    put64(OPND, VMCS_A);
    expect_succeed(run(NESTOR_EXIT_VMCLEAR, gs, OPND), NVMX_DONE);   /* reads are fine */
    uint32_t cs = II_ASIZE(VMX_II_ADDR_32) | II_SEG(VMX_II_SEG_CS) | II_NOBASE | II_NOINDEX;
    expect_fault(run(NESTOR_EXIT_VMPTRST, cs, OPND), X86_VEC_GP);
    expect_succeed(run(NESTOR_EXIT_VMCLEAR, cs, OPND), NVMX_DONE);   /* readable code */
    s.cs.ar = (s.cs.ar & ~X86_AR_TYPE_MASK) | TYPE_XO;
    expect_fault(run(NESTOR_EXIT_VMCLEAR, cs, OPND), X86_VEC_GP);
    /* EIP wraps at 4 GiB */
    s.cs.ar = (s.cs.ar & ~X86_AR_TYPE_MASK) | TYPE_CODE;
    s.rip = 0xFFFFFFFE;
    run(NESTOR_EXIT_VMPTRST, II_MEM32, OPND);
    CU_ASSERT_EQUAL(s.rip, LEN - 2);
}

/* ---- VMREAD / VMWRITE ---- */

static nvmx_result_t vmwrite_reg(uint32_t enc, uint64_t value)
{
    s.rdx = enc;
    s.r9 = value;
    return run(NESTOR_EXIT_VMWRITE, II_ISREG | II_REG1(R_R9) | II_REG2(R_RDX), 0);
}

static nvmx_result_t vmread_reg(uint32_t enc)
{
    s.rdx = enc;
    s.rcx = 0x5A5A5A5A5A5A5A5AULL;
    return run(NESTOR_EXIT_VMREAD, II_ISREG | II_REG1(R_RCX) | II_REG2(R_RDX), 0);
}

static void test_vmread_vmwrite_fields(void)
{
    reset();
    load_vmcs(VMCS_A);
    vmcs12_t *v = region(VMCS_A);
    const uint64_t pat = 0x0123456789ABCDEFULL;
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++) {
        uint32_t enc = vmcs12_encoding(i);
        uint64_t val = pat ^ ((uint64_t)i << 40) ^ i;
        /* Every field, the read-only ones too: IA32_VMX_MISC bit 29 (SDM
         * A.6, Vol. 2C VMWRITE). */
        nvmx_result_t r = vmwrite_reg(enc, val);
        CU_ASSERT_EQUAL(r.vm_error, 0);
        CU_ASSERT_EQUAL(vmread_reg(enc).vm_error, 0);
        CU_ASSERT_EQUAL(s.rcx, val & width_mask(enc));
        if (VMCS_FIELD_WIDTH(enc) == VMCS_WIDTH_64) {
            CU_ASSERT_EQUAL(vmread_reg(enc | 1).vm_error, 0);
            CU_ASSERT_EQUAL(s.rcx, val >> 32);
            r = vmwrite_reg(enc | 1, 0xFFFFFFFF00C0FFEEULL);
            CU_ASSERT_EQUAL(r.vm_error, 0);
            CU_ASSERT_EQUAL(vmread_reg(enc).vm_error, 0);
            CU_ASSERT_EQUAL(s.rcx, 0x00C0FFEE00000000ULL | (val & 0xFFFFFFFF));
        }
    }
    /* A VMWRITE of a read-only field is what a VMREAD then gives, and a
     * VMRESUME loads nothing from it (l2.c field_group). */
    CU_ASSERT_EQUAL(vmwrite_reg(VMCS_EXIT_REASON, 1).vm_error, 0);
    CU_ASSERT_EQUAL(vmcs12_read(v, VMCS_EXIT_REASON), 1);
}

static void test_vmread_vmwrite_errors(void)
{
    reset();
    expect_fault(vmread_reg(VMCS_GUEST_RIP), X86_VEC_UD);
    expect_fault(vmwrite_reg(VMCS_GUEST_RIP, 0), X86_VEC_UD);
    enter_vmx();
    /* no current VMCS */
    expect_fail_invalid(vmread_reg(VMCS_GUEST_RIP));
    expect_fail_invalid(vmwrite_reg(VMCS_GUEST_RIP, 0));
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    /* CPL 3 */
    s.ss.ar |= AR_DPL3;
    expect_fault(vmread_reg(VMCS_GUEST_RIP), X86_VEC_GP);
    expect_fault(vmwrite_reg(VMCS_GUEST_RIP, 0), X86_VEC_GP);
    s.ss.ar &= ~AR_DPL3;
    /* unsupported fields */
    expect_fail_valid(vmread_reg(VMCS_PML_ADDRESS), VMXERR_UNSUPPORTED_FIELD);
    expect_fail_valid(vmwrite_reg(VMCS_POSTED_INTR_NV, 0), VMXERR_UNSUPPORTED_FIELD);
    expect_fail_valid(vmread_reg(VMCS_GUEST_RIP | 1), VMXERR_UNSUPPORTED_FIELD);
    expect_fail_valid(vmread_reg(VMCS_GUEST_RIP | BIT(12)), VMXERR_UNSUPPORTED_FIELD);
    /* 64-bit mode: bits 63:32 of the encoding register must be 0 */
    s.rdx = BIT(32) | VMCS_GUEST_RIP;
    expect_fail_valid(run(NESTOR_EXIT_VMREAD, II_ISREG | II_REG1(R_RCX) | II_REG2(R_RDX), 0),
                      VMXERR_UNSUPPORTED_FIELD);
    expect_fail_valid(run(NESTOR_EXIT_VMWRITE, II_ISREG | II_REG1(R_RCX) | II_REG2(R_RDX), 0),
                      VMXERR_UNSUPPORTED_FIELD);
    /* read-only fields: written (IA32_VMX_MISC bit 29), their encodings
     * checked as any other's */
    expect_succeed(vmwrite_reg(VMCS_EXIT_QUALIFICATION, 0), NVMX_DONE);
    expect_succeed(vmwrite_reg(VMCS_GUEST_PHYS_ADDR | 1, 0), NVMX_DONE);
    expect_fail_valid(vmwrite_reg(VMCS_EXIT_QUALIFICATION | 1, 0), VMXERR_UNSUPPORTED_FIELD);
    /* success clears the flags the failures set */
    expect_succeed(vmwrite_reg(VMCS_GUEST_RIP, 0xFFFFFFFF80001000ULL), NVMX_DONE);
    expect_succeed(vmread_reg(VMCS_GUEST_RIP), NVMX_DONE);
    CU_ASSERT_EQUAL(s.rcx, 0xFFFFFFFF80001000ULL);
    /* a 16-bit field: truncated on write, zero-extended on read */
    expect_succeed(vmwrite_reg(VMCS_GUEST_CS_SEL, 0xABCD1234), NVMX_DONE);
    expect_succeed(vmread_reg(VMCS_GUEST_CS_SEL), NVMX_DONE);
    CU_ASSERT_EQUAL(s.rcx, 0x1234);
    /* memory operands: VMREAD stores 8 bytes, VMWRITE loads 8 */
    s.rdx = VMCS_GUEST_CR3;
    put64(OPND, 0x0000000012345000ULL);
    expect_succeed(run(NESTOR_EXIT_VMWRITE, II_MEM | II_REG2(R_RDX), OPND), NVMX_DONE);
    CU_ASSERT_EQUAL(vmcs12_read(region(VMCS_A), VMCS_GUEST_CR3), 0x12345000ULL);
    put64(OPND + 8, ~0ULL);
    s.rdx = VMCS_GUEST_CS_SEL;
    expect_succeed(run(NESTOR_EXIT_VMREAD, II_MEM | II_REG2(R_RDX), OPND + 8), NVMX_DONE);
    CU_ASSERT_EQUAL(get64(OPND + 8), 0x1234);
    CU_ASSERT_EQUAL(fake.last_n, 8);
    /* #PF on the memory operand: no VMfail, nothing written */
    fake.fault = true;
    fake.fault_at = OPND + 0x10;
    s.rdx = VMCS_GUEST_CR3;
    nvmx_result_t r = run(NESTOR_EXIT_VMWRITE, II_MEM | II_REG2(R_RDX), OPND + 0x10);
    expect_fault(r, X86_VEC_PF);
    CU_ASSERT_EQUAL(r.error_code, X86_PF_PRESENT);
    r = run(NESTOR_EXIT_VMREAD, II_MEM | II_REG2(R_RDX), OPND + 0x10);
    expect_fault(r, X86_VEC_PF);
    CU_ASSERT_EQUAL(r.error_code, X86_PF_PRESENT | X86_PF_WRITE);
    CU_ASSERT_EQUAL(vmcs12_read(region(VMCS_A), VMCS_GUEST_CR3), 0x12345000ULL);
}

static void test_vmread_vmwrite_32(void)
{
    /* Outside 64-bit mode: 32-bit operands, the encoding register's bits
     * 63:32 do not count. */
    reset();
    state32();
    load_vmcs(VMCS_A);
    s.rdx = BIT(32) | VMCS_GUEST_RSP;            /* high bits ignored */
    s.rbx = 0xAAAAAAAA87654321ULL;
    vmcs12_write(region(VMCS_A), VMCS_GUEST_RSP, ~0ULL);
    expect_succeed(run(NESTOR_EXIT_VMWRITE, II_ISREG | II_REG1(R_RBX) | II_REG2(R_RDX), 0),
                   NVMX_DONE);
    /* the field's high bits are cleared */
    CU_ASSERT_EQUAL(vmcs12_read(region(VMCS_A), VMCS_GUEST_RSP), 0x87654321ULL);
    vmcs12_write(region(VMCS_A), VMCS_TSC_OFFSET, 0x1111111122222222ULL);
    s.rdx = VMCS_TSC_OFFSET;
    expect_succeed(run(NESTOR_EXIT_VMREAD, II_ISREG | II_REG1(R_RBX) | II_REG2(R_RDX), 0),
                   NVMX_DONE);
    CU_ASSERT_EQUAL(s.rbx, 0x22222222ULL);       /* the high bits are not read */
    /* memory: 4 bytes */
    put64(OPND, ~0ULL);
    expect_succeed(run(NESTOR_EXIT_VMREAD, II_MEM32 | II_REG2(R_RDX), OPND), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.last_n, 4);
    CU_ASSERT_EQUAL(get64(OPND), 0xFFFFFFFF22222222ULL);
    put64(OPND, 0x9999999933333333ULL);
    expect_succeed(run(NESTOR_EXIT_VMWRITE, II_MEM32 | II_REG2(R_RDX), OPND), NVMX_DONE);
    CU_ASSERT_EQUAL(vmcs12_read(region(VMCS_A), VMCS_TSC_OFFSET), 0x33333333ULL);
}

/* ---- VMLAUNCH / VMRESUME ---- */

static void test_vmlaunch_vmresume(void)
{
    reset();
    expect_fault(run(NESTOR_EXIT_VMLAUNCH, 0, 0), X86_VEC_UD);
    expect_fault(run(NESTOR_EXIT_VMRESUME, 0, 0), X86_VEC_UD);
    enter_vmx();
    expect_fail_invalid(run(NESTOR_EXIT_VMLAUNCH, 0, 0));
    expect_fail_invalid(run(NESTOR_EXIT_VMRESUME, 0, 0));
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_A).vm_error, 0);
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    s.ss.ar |= AR_DPL3;
    expect_fault(run(NESTOR_EXIT_VMLAUNCH, 0, 0), X86_VEC_GP);
    s.ss.ar &= ~AR_DPL3;
    s.efer |= X86_EFER_LMA;
    s.cs.ar &= ~X86_AR_L;                          /* compatibility mode */
    expect_fault(run(NESTOR_EXIT_VMLAUNCH, 0, 0), X86_VEC_UD);
    s.cs.ar |= X86_AR_L;
    /* MOV-SS blocking comes before the launch-state checks */
    s.interruptibility = X86_INTR_BLOCK_MOVSS;
    expect_fail_valid(run(NESTOR_EXIT_VMLAUNCH, 0, 0), VMXERR_ENTRY_MOVSS_BLOCKING);
    CU_ASSERT_EQUAL(s.interruptibility, 0);        /* the instruction retired */
    s.interruptibility = X86_INTR_BLOCK_MOVSS;
    expect_fail_valid(run(NESTOR_EXIT_VMRESUME, 0, 0), VMXERR_ENTRY_MOVSS_BLOCKING);
    s.interruptibility = X86_INTR_BLOCK_STI;       /* STI blocking is fine */
    expect_fail_valid(run(NESTOR_EXIT_VMRESUME, 0, 0), VMXERR_VMRESUME_NOT_LAUNCHED);
    s.interruptibility = X86_INTR_BLOCK_STI;
    nvmx_result_t r = run(NESTOR_EXIT_VMLAUNCH, 0, 0);
    CU_ASSERT_EQUAL(r.status, NVMX_ENTER);
    CU_ASSERT_TRUE(r.launch);
    CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof(s)), 0);   /* the caller enters */
    region(VMCS_A)->launch_state = VMCS12_LAUNCHED;   /* as the caller would */
    expect_fail_valid(run(NESTOR_EXIT_VMLAUNCH, 0, 0), VMXERR_VMLAUNCH_NOT_CLEAR);
    r = run(NESTOR_EXIT_VMRESUME, 0, 0);
    CU_ASSERT_EQUAL(r.status, NVMX_ENTER);
    CU_ASSERT_FALSE(r.launch);
    /* a VMCS L1 never cleared is neither clear nor launched */
    region(VMCS_B)->launch_state = 0;
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B).vm_error, 0);
    expect_fail_valid(run(NESTOR_EXIT_VMLAUNCH, 0, 0), VMXERR_VMLAUNCH_NOT_CLEAR);
    expect_fail_valid(run(NESTOR_EXIT_VMRESUME, 0, 0), VMXERR_VMRESUME_NOT_LAUNCHED);
    /* nvmx_fail as the caller uses it for entry-check failures */
    before = s;
    nvmx_fail(&vcpu, &env, &s, LEN, VMXERR_ENTRY_INVALID_CONTROLS);
    CU_ASSERT_EQUAL(s.rflags & VMX_RFLAGS_ARITH, VMX_RFLAGS_ZF);
    CU_ASSERT_EQUAL(vmcs12_read(region(VMCS_B), VMCS_INSTR_ERROR), VMXERR_ENTRY_INVALID_CONTROLS);
    CU_ASSERT_EQUAL(s.rip, rip_after());
}

/* ---- VMCS shadowing (SDM 24.10): L1's side and L2's VMREAD/VMWRITE ---- */

#define SHADOW_PA   0x4000ULL
#define RBITMAP_PA  0x5000ULL
#define WBITMAP_PA  0x6000ULL

/* A shadow VMCS (indicator set) is VMPTRLD'able and readable from the root,
 * never enterable; VMXON takes no shadow indicator. */
static void test_shadow_l1(void)
{
    uint64_t v;
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_PROCBASED_CTLS2, &v));
    CU_ASSERT_TRUE((v >> VMX_CTLS_ALLOWED1_SHIFT) & PROC2_VMCS_SHADOWING);
    CU_ASSERT_TRUE(nvmx_cap_msr(MSR_IA32_VMX_MISC, &v));
    CU_ASSERT_TRUE(v & VMX_MISC_VMWRITE_ANY_FIELD);        /* VMWRITE to any field */
    reset();
    put32(VMXON_PA, NVMX_REVISION | VMCS_REVISION_SHADOW);
    expect_fail_invalid(run_ptr(NESTOR_EXIT_VMXON, VMXON_PA));
    CU_ASSERT_FALSE(vcpu.vmxon);
    reset();
    put32(SHADOW_PA, NVMX_REVISION | VMCS_REVISION_SHADOW);
    load_vmcs(SHADOW_PA);
    s.rax = VMCS_GUEST_RIP;
    s.rbx = 0x1234;
    expect_succeed(run(NESTOR_EXIT_VMWRITE, II_ISREG | II_REG1(R_RBX) | II_REG2(R_RAX), 0),
                   NVMX_DONE);
    CU_ASSERT_EQUAL(vmcs12_read(region(SHADOW_PA), VMCS_GUEST_RIP), 0x1234);
    /* SDM 26.1 / 24.10: VM entry with a shadow VMCS is VMfailInvalid,
     * before the MOV-SS and launch-state checks. */
    s.interruptibility = X86_INTR_BLOCK_MOVSS;
    expect_fail_invalid(run(NESTOR_EXIT_VMLAUNCH, 0, 0));
    expect_fail_invalid(run(NESTOR_EXIT_VMRESUME, 0, 0));
    CU_ASSERT_EQUAL(region(SHADOW_PA)->launch_state, VMCS12_CLEAR);
}

static nestor_vcpu_state_t s2;

/* L1's vmcs12 at VMCS_A running L2 with "VMCS shadowing" (@on), its
 * bitmaps all zero but for RIP's bit, and the shadow at SHADOW_PA. */
static vmcs12_t *shadow_setup(bool on)
{
    reset();
    vmcs12_t *v = region(VMCS_A);
    vmcs12_write(v, VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
    vmcs12_write(v, VMCS_PROC_CONTROLS2, on ? PROC2_VMCS_SHADOWING : 0);
    vmcs12_write(v, VMCS_VMREAD_BITMAP, RBITMAP_PA);
    vmcs12_write(v, VMCS_VMWRITE_BITMAP, WBITMAP_PA);
    vmcs12_write(v, VMCS_LINK_POINTER, SHADOW_PA);
    put32(SHADOW_PA, NVMX_REVISION | VMCS_REVISION_SHADOW);
    ram[RBITMAP_PA + ((VMCS_GUEST_RIP & VMX_RW_BITMAP_INDEX_MASK) >> 3)] |=
        (uint8_t)(1u << (VMCS_GUEST_RIP & 7));
    ram[WBITMAP_PA + ((VMCS_GUEST_RIP & VMX_RW_BITMAP_INDEX_MASK) >> 3)] |=
        (uint8_t)(1u << (VMCS_GUEST_RIP & 7));
    state64();
    s2 = s;
    s2.cr4 &= ~(uint64_t)X86_CR4_VMXE;     /* L2 needs none: it runs in VMX non-root */
    return v;
}

static bool l2_exits(vmcs12_t *v, uint32_t reason, uint32_t ii)
{
    nvmx_insn_t in = { .reason = reason, .instr_info = ii, .instr_len = LEN };
    return nvmx_l2_shadow_exits(v, &env, &s2, &in);
}

static nvmx_result_t l2_run(vmcs12_t *v, uint32_t reason, uint32_t ii)
{
    nvmx_insn_t in = { .reason = reason, .instr_info = ii, .instr_len = LEN };
    before = s2;
    return nvmx_l2_shadow_access(v, &env, &s2, &in);
}

#define RR (II_ISREG | II_REG1(R_RBX) | II_REG2(R_RAX))   /* rbx <-> field rax */

/* SDM 25.1.3: which of L2's VMREAD/VMWRITE exit to L1. */
static void test_shadow_l2_exits(void)
{
    vmcs12_t *v = shadow_setup(false);
    s2.rax = VMCS_GUEST_RSP;
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));     /* shadowing off */
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMWRITE, RR));
    v = shadow_setup(true);
    s2.rax = VMCS_GUEST_RSP;
    CU_ASSERT_FALSE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));    /* bit clear */
    CU_ASSERT_FALSE(l2_exits(v, NESTOR_EXIT_VMWRITE, RR));
    vmcs12_write(v, VMCS_PROC_CONTROLS, 0);                  /* secondary controls off */
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));
    vmcs12_write(v, VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
    s2.rax = VMCS_GUEST_RIP;                                 /* bit set */
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMWRITE, RR));
    ram[WBITMAP_PA + ((VMCS_GUEST_RIP & VMX_RW_BITMAP_INDEX_MASK) >> 3)] = 0;
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));     /* each its own bitmap */
    CU_ASSERT_FALSE(l2_exits(v, NESTOR_EXIT_VMWRITE, RR));
    s2.rax = VMCS_GUEST_RSP | (1ULL << 15);                  /* bits 63:15 */
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));
    s2.rax = VMCS_GUEST_RSP | (1ULL << 40);
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));
    state32();                                               /* 31:15 outside 64-bit mode */
    s2 = s;
    s2.rax = VMCS_GUEST_RSP | (1ULL << 40);
    CU_ASSERT_FALSE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));
    state64();
    s2 = s;
    s2.rax = VMCS_GUEST_RSP;
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, II_MEM | II_REG2(R_RAX)));  /* memory operand */
    vmcs12_write(v, VMCS_VMREAD_BITMAP, RAM_SIZE);           /* bitmap outside RAM: all ones */
    CU_ASSERT_TRUE(l2_exits(v, NESTOR_EXIT_VMREAD, RR));
}

/* SDM Vol. 2C VMREAD/VMWRITE in VMX non-root operation: on the shadow. */
static void test_shadow_l2_access(void)
{
    vmcs12_t *v = shadow_setup(true);
    vmcs12_t *sh = region(SHADOW_PA);
    vmcs12_write(sh, VMCS_GUEST_RSP, 0xABCDEF);
    vmcs12_write(v, VMCS_GUEST_RSP, 0x111);                  /* the ordinary VMCS: untouched */
    s2.rax = VMCS_GUEST_RSP;
    nvmx_result_t r = l2_run(v, NESTOR_EXIT_VMREAD, RR);
    CU_ASSERT_EQUAL(r.status, NVMX_DONE);
    CU_ASSERT_EQUAL(r.vm_error, 0);
    CU_ASSERT_EQUAL(s2.rbx, 0xABCDEF);
    CU_ASSERT_EQUAL(s2.rip, before.rip + LEN);
    CU_ASSERT_EQUAL(s2.rflags & VMX_RFLAGS_ARITH, 0);
    s2.rbx = 0x5555;
    r = l2_run(v, NESTOR_EXIT_VMWRITE, RR);
    CU_ASSERT_EQUAL(r.vm_error, 0);
    CU_ASSERT_EQUAL(vmcs12_read(sh, VMCS_GUEST_RSP), 0x5555);
    CU_ASSERT_EQUAL(vmcs12_read(v, VMCS_GUEST_RSP), 0x111);
    /* a 16-bit field truncated, as VMWRITE does */
    s2.rax = VMCS_GUEST_CS_SEL;
    s2.rbx = 0x12345;
    l2_run(v, NESTOR_EXIT_VMWRITE, RR);
    CU_ASSERT_EQUAL(vmcs12_read(sh, VMCS_GUEST_CS_SEL), 0x2345);
    /* read-only field: written into the shadow (IA32_VMX_MISC bit 29,
     * Vol. 2C VMWRITE), L1's current VMCS untouched */
    s2.rax = VMCS_EXIT_REASON;
    s2.rbx = 0x77;
    s2.rflags |= X86_RFLAGS_CF;
    r = l2_run(v, NESTOR_EXIT_VMWRITE, RR);
    CU_ASSERT_EQUAL(r.vm_error, 0);
    CU_ASSERT_EQUAL(s2.rflags & VMX_RFLAGS_ARITH, 0);
    CU_ASSERT_EQUAL(vmcs12_read(sh, VMCS_EXIT_REASON), 0x77);
    CU_ASSERT_NOT_EQUAL(vmcs12_read(v, VMCS_EXIT_REASON), 0x77);
    CU_ASSERT_EQUAL(vmcs12_read(v, VMCS_INSTR_ERROR), 0);
    /* reading it is fine */
    vmcs12_write(sh, VMCS_EXIT_REASON, 48);
    r = l2_run(v, NESTOR_EXIT_VMREAD, RR);
    CU_ASSERT_EQUAL(r.vm_error, 0);
    CU_ASSERT_EQUAL(s2.rbx, 48);
    /* a field nested-vmx does not have: VMfailValid(12) */
    s2.rax = 0x6C00 | 0x7E;                                  /* unused natural-width host index */
    r = l2_run(v, NESTOR_EXIT_VMREAD, RR);
    CU_ASSERT_EQUAL(r.vm_error, VMXERR_UNSUPPORTED_FIELD);
    CU_ASSERT_EQUAL(vmcs12_read(v, VMCS_INSTR_ERROR), VMXERR_UNSUPPORTED_FIELD);
    CU_ASSERT_EQUAL(s2.rip, before.rip + LEN);
    /* no valid link pointer: VMfailInvalid */
    vmcs12_write(v, VMCS_LINK_POINTER, VMCS_LINK_PTR_NONE);
    s2.rax = VMCS_GUEST_RSP;
    r = l2_run(v, NESTOR_EXIT_VMREAD, RR);
    CU_ASSERT_EQUAL(r.vm_error, NVMX_VMFAIL_INVALID);
    CU_ASSERT_EQUAL(s2.rflags & VMX_RFLAGS_ARITH, VMX_RFLAGS_CF);
    vmcs12_write(v, VMCS_LINK_POINTER, SHADOW_PA);
    /* CPL 3: #GP(0), nothing changed */
    s2.ss.ar |= AR_DPL3;
    r = l2_run(v, NESTOR_EXIT_VMWRITE, RR);
    CU_ASSERT_EQUAL(r.status, NVMX_FAULT);
    CU_ASSERT_EQUAL(r.vector, X86_VEC_GP);
    CU_ASSERT_EQUAL(memcmp(&s2, &before, sizeof(s2)), 0);
    CU_ASSERT_EQUAL(vmcs12_read(sh, VMCS_GUEST_RSP), 0x5555);
    /* outside 64-bit mode the destination has 32 bits */
    state32();
    s2 = s;
    vmcs12_write(sh, VMCS_GUEST_RSP, 0x1122334455667788ULL);
    s2.rax = VMCS_GUEST_RSP;
    l2_run(v, NESTOR_EXIT_VMREAD, RR);
    CU_ASSERT_EQUAL(s2.rbx, 0x55667788);
}

/* ---- INVEPT / INVVPID ---- */

#define GOOD_EPTP (0x40000ULL | EPTP_WALK_4 | X86_MT_WB)

static nvmx_result_t inv(uint32_t reason, uint64_t type, uint64_t lo, uint64_t hi)
{
    s.rax = type;
    put64(OPND, lo);
    put64(OPND + 8, hi);
    return run(reason, II_MEM | II_REG2(R_RAX), OPND);
}

static void test_invept(void)
{
    reset();
    expect_fault(inv(NESTOR_EXIT_INVEPT, INVEPT_ALL_CONTEXT, 0, 0), X86_VEC_UD);
    enter_vmx();
    s.ss.ar |= AR_DPL3;
    expect_fault(inv(NESTOR_EXIT_INVEPT, INVEPT_ALL_CONTEXT, 0, 0), X86_VEC_GP);
    s.ss.ar &= ~AR_DPL3;
    /* no current VMCS: VMfailInvalid; unsupported types */
    expect_fail_invalid(inv(NESTOR_EXIT_INVEPT, 0, GOOD_EPTP, 0));
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    expect_fail_valid(inv(NESTOR_EXIT_INVEPT, 0, GOOD_EPTP, 0), VMXERR_INVALID_INVEPT_INVVPID);
    expect_fail_valid(inv(NESTOR_EXIT_INVEPT, 3, GOOD_EPTP, 0), VMXERR_INVALID_INVEPT_INVVPID);
    expect_fail_valid(inv(NESTOR_EXIT_INVEPT, BIT(32) | INVEPT_ALL_CONTEXT, GOOD_EPTP, 0),
                      VMXERR_INVALID_INVEPT_INVVPID);
    /* the type is checked before the descriptor is read */
    fake.fault = true;
    fake.fault_at = OPND;
    expect_fail_valid(inv(NESTOR_EXIT_INVEPT, 7, GOOD_EPTP, 0), VMXERR_INVALID_INVEPT_INVVPID);
    expect_fault(inv(NESTOR_EXIT_INVEPT, INVEPT_ALL_CONTEXT, GOOD_EPTP, 0), X86_VEC_PF);
    fake.fault = false;
    /* single-context: the EPTP as VM entry checks it */
    const uint64_t bad[] = {
        (GOOD_EPTP & ~EPTP_MEMTYPE_MASK) | X86_MT_UC,             /* UC not offered */
        (GOOD_EPTP & ~EPTP_MEMTYPE_MASK) | X86_MT_WT,
        (GOOD_EPTP & ~EPTP_WALK_MASK) | (2ULL << EPTP_WALK_SHIFT),  /* 3 levels */
        (GOOD_EPTP & ~EPTP_WALK_MASK) | (4ULL << EPTP_WALK_SHIFT),  /* 5 levels */
        GOOD_EPTP | EPTP_ACCESSED_DIRTY,
        GOOD_EPTP | BIT(7),
        GOOD_EPTP | BIT(11),
        GOOD_EPTP | (1ULL << MAXPHY),
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_fail_valid(inv(NESTOR_EXIT_INVEPT, INVEPT_SINGLE_CONTEXT, bad[i], 0),
                          VMXERR_INVALID_INVEPT_INVVPID);
    nvmx_result_t r = inv(NESTOR_EXIT_INVEPT, INVEPT_SINGLE_CONTEXT, GOOD_EPTP, ~0ULL);
    expect_succeed(r, NVMX_INVALIDATE);
    CU_ASSERT_TRUE(r.inv_ept);
    CU_ASSERT_EQUAL(r.inv_type, INVEPT_SINGLE_CONTEXT);
    CU_ASSERT_EQUAL(r.inv_eptp, GOOD_EPTP);
    CU_ASSERT_EQUAL(fake.last_n, INV_DESC_SIZE);
    r = inv(NESTOR_EXIT_INVEPT, INVEPT_ALL_CONTEXT, ~0ULL, 0);   /* EPTP not looked at */
    expect_succeed(r, NVMX_INVALIDATE);
    CU_ASSERT_EQUAL(r.inv_type, INVEPT_ALL_CONTEXT);
    CU_ASSERT_TRUE(nvmx_eptp_valid(GOOD_EPTP, MAXPHY));
    CU_ASSERT_FALSE(nvmx_eptp_valid(GOOD_EPTP | (1ULL << 35), 35));
}

static void test_invvpid(void)
{
    reset();
    expect_fault(inv(NESTOR_EXIT_INVVPID, INVVPID_ALL_CONTEXT, 0, 0), X86_VEC_UD);
    load_vmcs(VMCS_A);
    s.ss.ar |= AR_DPL3;
    expect_fault(inv(NESTOR_EXIT_INVVPID, INVVPID_ALL_CONTEXT, 0, 0), X86_VEC_GP);
    s.ss.ar &= ~AR_DPL3;
    const uint32_t e = VMXERR_INVALID_INVEPT_INVVPID;
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, 4, 1, 0), e);             /* no such type */
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, ~0ULL, 1, 0), e);
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, INVVPID_ADDRESS, 0, 0x1000), e);  /* VPID 0 */
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, INVVPID_SINGLE_CONTEXT, 0, 0), e);
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, INVVPID_SINGLE_NON_GLOBAL, 0, 0), e);
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, INVVPID_ADDRESS, 1, 0x0000800000000000ULL), e);
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, INVVPID_SINGLE_CONTEXT, 0x10001, 0), e); /* 63:16 */
    expect_fail_valid(inv(NESTOR_EXIT_INVVPID, INVVPID_ALL_CONTEXT, BIT(63), 0), e);
    nvmx_result_t r = inv(NESTOR_EXIT_INVVPID, INVVPID_ADDRESS, 7, 0xFFFF800000001000ULL);
    expect_succeed(r, NVMX_INVALIDATE);
    CU_ASSERT_FALSE(r.inv_ept);
    CU_ASSERT_EQUAL(r.inv_type, INVVPID_ADDRESS);
    CU_ASSERT_EQUAL(r.inv_vpid, 7);
    CU_ASSERT_EQUAL(r.inv_addr, 0xFFFF800000001000ULL);
    r = inv(NESTOR_EXIT_INVVPID, INVVPID_SINGLE_CONTEXT, 0xFFFF, 0x0000800000000000ULL);
    expect_succeed(r, NVMX_INVALIDATE);                 /* address ignored */
    CU_ASSERT_EQUAL(r.inv_vpid, 0xFFFF);
    r = inv(NESTOR_EXIT_INVVPID, INVVPID_SINGLE_NON_GLOBAL, 3, 0);
    expect_succeed(r, NVMX_INVALIDATE);
    CU_ASSERT_EQUAL(r.inv_type, INVVPID_SINGLE_NON_GLOBAL);
    r = inv(NESTOR_EXIT_INVVPID, INVVPID_ALL_CONTEXT, 0, 0);    /* VPID 0 allowed */
    expect_succeed(r, NVMX_INVALIDATE);
    CU_ASSERT_EQUAL(r.inv_type, INVVPID_ALL_CONTEXT);
    fake.fault = true;
    fake.fault_at = OPND + 15;
    r = inv(NESTOR_EXIT_INVVPID, INVVPID_ALL_CONTEXT, 0, 0);
    expect_fault(r, X86_VEC_PF);
    CU_ASSERT_EQUAL(r.cr2, OPND + 15);
}

/* ---- lazy L2 guest state (nvmx.h nvmx_vcpu_t.stale, l2.c l2_sync12) ---- */

/* Which slots are lazy: the segment registers, LDTR/TR/GDTR/IDTR, the
 * PDPTEs, and nothing else (CR4, RIP, RSP, RFLAGS are in L1's shadow). */
static void test_lazy_groups(void)
{
    unsigned segs = 0, sys = 0, pdpte = 0;
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++) {
        const uint64_t g = nvmx_lazy_group(i);
        const uint32_t enc = vmcs12_encoding(i);
        segs += g == NESTOR_MTD_SEGS;
        sys += g == NESTOR_MTD_SYS_SEGS;
        pdpte += g == NESTOR_MTD_PDPTE;
        if (g)
            CU_ASSERT_EQUAL(VMCS_FIELD_TYPE(enc), VMCS_TYPE_GUEST);
        CU_ASSERT_EQUAL(g & ~(uint64_t)NVMX_LAZY_GROUPS, 0);
    }
    CU_ASSERT_EQUAL(segs, 6 * 4);
    CU_ASSERT_EQUAL(sys, 2 * 4 + 4);
    CU_ASSERT_EQUAL(pdpte, 4);
    CU_ASSERT_EQUAL(nvmx_lazy_group((unsigned)vmcs12_index(VMCS_GUEST_CS_AR, NULL)),
                    NESTOR_MTD_SEGS);
    CU_ASSERT_EQUAL(nvmx_lazy_group((unsigned)vmcs12_index(VMCS_GUEST_IDTR_LIMIT, NULL)),
                    NESTOR_MTD_SYS_SEGS);
    static const uint32_t eager[] = { VMCS_GUEST_RIP, VMCS_GUEST_RSP, VMCS_GUEST_RFLAGS,
                                      VMCS_GUEST_CR0, VMCS_GUEST_CR4, VMCS_GUEST_INTERRUPTIBILITY,
                                      VMCS_GUEST_SYSENTER_EIP, VMCS_EXIT_REASON };
    for (unsigned i = 0; i < sizeof eager / sizeof eager[0]; i++)
        CU_ASSERT_EQUAL(nvmx_lazy_group((unsigned)vmcs12_index(eager[i], NULL)), 0);
}

/* A reflected exit left @groups stale in the current VMCS, whose fields
 * hold older values (0x1111), and wrote the other lazy groups' (vcpu02's
 * values, as l2.c save_exit). */
static void make_stale(uint64_t groups)
{
    vmcs12_t *v = nvmx_current(&vcpu, &env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
        if (nvmx_lazy_group(i))
            v->field[i] = nvmx_lazy_group(i) & groups ? 0x1111 : LAZY_NOW(i);
    vcpu.stale = groups;
    memset(vcpu.dirty, 0, sizeof vcpu.dirty);   /* (the entry before the exit took them) */
    fake.syncs = 0;
}

static unsigned slot_of(uint32_t enc) { return (unsigned)vmcs12_index(enc, NULL); }

static void test_lazy_vmread(void)
{
    reset();
    load_vmcs(VMCS_A);
    make_stale(NVMX_LAZY_GROUPS);
    /* Fields of no stale group: read as they are, nothing fetched. */
    region(VMCS_A)->field[slot_of(VMCS_GUEST_RIP)] = 0x4000;
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_RIP).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, 0x4000);
    CU_ASSERT_EQUAL(vmread_reg(VMCS_EXIT_REASON).vm_error, 0);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    CU_ASSERT_EQUAL(vcpu.stale, NVMX_LAZY_GROUPS);
    /* An unsupported field: VMfailValid(12), nothing fetched. */
    expect_fail_valid(vmread_reg(VMCS_PML_ADDRESS), VMXERR_UNSUPPORTED_FIELD);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    /* A stale field (and a 64-bit one's high half): vcpu02's value, once. */
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_SS_AR).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, LAZY_NOW(slot_of(VMCS_GUEST_SS_AR)));
    CU_ASSERT_EQUAL(fake.syncs, 1);
    CU_ASSERT_EQUAL(vcpu.stale, 0);
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_TR_BASE).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, LAZY_NOW(slot_of(VMCS_GUEST_TR_BASE)));
    CU_ASSERT_EQUAL(fake.syncs, 1);
    make_stale(NESTOR_MTD_PDPTE);
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_PDPTE2 | 1).vm_error, 0);   /* high half */
    CU_ASSERT_EQUAL(s.rcx, 0);
    CU_ASSERT_EQUAL(fake.syncs, 1);
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_PDPTE2).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, LAZY_NOW(slot_of(VMCS_GUEST_PDPTE2)));
    /* Only the stale groups are fetched: a group that is not keeps its value. */
    make_stale(NESTOR_MTD_SYS_SEGS);
    region(VMCS_A)->field[slot_of(VMCS_GUEST_CS_SEL)] = 0x2222;
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_CS_SEL).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, 0x2222);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_GDTR_LIMIT).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, LAZY_NOW(slot_of(VMCS_GUEST_GDTR_LIMIT)));
    CU_ASSERT_EQUAL(fake.syncs, 1);
}

static bool dirty(unsigned slot) { return (vcpu.dirty[slot / 64] >> (slot % 64)) & 1; }

static void test_lazy_vmwrite(void)
{
    reset();
    load_vmcs(VMCS_A);
    memset(vcpu.dirty, 0, sizeof vcpu.dirty);
    make_stale(NVMX_LAZY_GROUPS);
    /* A field of no stale group: written, nothing fetched. */
    CU_ASSERT_EQUAL(vmwrite_reg(VMCS_GUEST_RIP, 0x5000).vm_error, 0);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    CU_ASSERT_EQUAL(vcpu.stale, NVMX_LAZY_GROUPS);
    /* A stale field: the group fetched first, then L1's value over it;
     * its group's other fields are vcpu02's, and the field is dirty (a
     * VMRESUME loads the group), which a stale group's never is. */
    CU_ASSERT_EQUAL(vmwrite_reg(VMCS_GUEST_DS_LIMIT, 0xABCD).vm_error, 0);
    CU_ASSERT_EQUAL(fake.syncs, 1);
    CU_ASSERT_EQUAL(vcpu.stale, 0);
    CU_ASSERT_EQUAL(region(VMCS_A)->field[slot_of(VMCS_GUEST_DS_LIMIT)], 0xABCD);
    CU_ASSERT_EQUAL(region(VMCS_A)->field[slot_of(VMCS_GUEST_DS_BASE)],
                    LAZY_NOW(slot_of(VMCS_GUEST_DS_BASE)));
    CU_ASSERT_EQUAL(region(VMCS_A)->field[slot_of(VMCS_GUEST_LDTR_AR)],
                    LAZY_NOW(slot_of(VMCS_GUEST_LDTR_AR)));
    CU_ASSERT_TRUE(dirty(slot_of(VMCS_GUEST_DS_LIMIT)));
    CU_ASSERT_EQUAL(vmread_reg(VMCS_GUEST_DS_LIMIT).vm_error, 0);
    CU_ASSERT_EQUAL(s.rcx, 0xABCD);
    /* A refused write (a field that does not exist) fetches nothing. */
    make_stale(NESTOR_MTD_SEGS);
    expect_fail_valid(vmwrite_reg(VMCS_PML_ADDRESS, 1), VMXERR_UNSUPPORTED_FIELD);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    /* Random VMREAD/VMWRITE with random stale groups: a dirty field is
     * never of a stale group (what a VMRESUME loads, l2.c fast_resume, is
     * never stale: the kernel has it), and every read is vcpu02's value
     * or L1's own write, never the older one. */
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    for (unsigned n = 0; n < 20000; n++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        const unsigned slot = (unsigned)(rng % NVMX_FIELD_COUNT);
        const uint32_t enc = vmcs12_encoding(slot);
        if (rng >> 60 == 0) {
            make_stale(((rng >> 8) & 7) == 0 ? 0 : NVMX_LAZY_GROUPS & (rng >> 20));
        }
        const bool write = (rng >> 59) & 1;
        const uint64_t was_stale = vcpu.stale & nvmx_lazy_group(slot);
        if (write) {
            CU_ASSERT_EQUAL(vmwrite_reg(enc, 0x3333).vm_error, 0);
        } else {
            CU_ASSERT_EQUAL(vmread_reg(enc).vm_error, 0);
            if (was_stale)
                CU_ASSERT_EQUAL(s.rcx, LAZY_NOW(slot));
            if (nvmx_lazy_group(slot))
                CU_ASSERT_NOT_EQUAL(s.rcx, 0x1111);
        }
        for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
            if (dirty(i) && (nvmx_lazy_group(i) & vcpu.stale))
                CU_FAIL("a dirty field of a stale group");
    }
}

static void test_lazy_vmclear_vmptrld_vmxoff(void)
{
    reset();
    load_vmcs(VMCS_A);
    make_stale(NVMX_LAZY_GROUPS);
    /* VMCLEAR of another VMCS: the current one stays, stale. */
    expect_succeed(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_B), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    CU_ASSERT_EQUAL(vcpu.stale, NVMX_LAZY_GROUPS);
    /* A VMPTRLD that fails (a bad revision) fetches nothing. */
    put32(VMCS_B, NVMX_REVISION ^ 1);
    expect_fail_valid(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B), VMXERR_VMPTRLD_BAD_REVISION);
    CU_ASSERT_EQUAL(fake.syncs, 0);
    put32(VMCS_B, NVMX_REVISION);
    /* VMPTRLD of another: the old current VMCS whole in its region first. */
    expect_succeed(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_B), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.syncs, 1);
    CU_ASSERT_EQUAL(fake.synced_vmcs, VMCS_A);
    CU_ASSERT_EQUAL(vcpu.stale, 0);
    CU_ASSERT_EQUAL(region(VMCS_A)->field[slot_of(VMCS_GUEST_GS_SEL)],
                    LAZY_NOW(slot_of(VMCS_GUEST_GS_SEL)));
    CU_ASSERT_EQUAL(region(VMCS_A)->field[slot_of(VMCS_GUEST_PDPTE3)],
                    LAZY_NOW(slot_of(VMCS_GUEST_PDPTE3)));
    CU_ASSERT_EQUAL(region(VMCS_B)->field[slot_of(VMCS_GUEST_GS_SEL)], 0);
    /* VMCLEAR of the current VMCS: its region whole. */
    make_stale(NESTOR_MTD_SEGS);
    region(VMCS_B)->field[slot_of(VMCS_GUEST_LDTR_AR)] = 0x4444;
    expect_succeed(run_ptr(NESTOR_EXIT_VMCLEAR, VMCS_B), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.syncs, 1);
    CU_ASSERT_EQUAL(fake.synced_vmcs, VMCS_B);
    CU_ASSERT_EQUAL(region(VMCS_B)->field[slot_of(VMCS_GUEST_ES_AR)],
                    LAZY_NOW(slot_of(VMCS_GUEST_ES_AR)));
    CU_ASSERT_EQUAL(region(VMCS_B)->field[slot_of(VMCS_GUEST_LDTR_AR)], 0x4444); /* not stale */
    CU_ASSERT_EQUAL(vcpu.current, NVMX_NO_VMCS);
    /* VMXOFF: the current VMCS whole before VMX operation ends. */
    CU_ASSERT_EQUAL(run_ptr(NESTOR_EXIT_VMPTRLD, VMCS_A).vm_error, 0);
    make_stale(NESTOR_MTD_SYS_SEGS);
    expect_succeed(run(NESTOR_EXIT_VMXOFF, 0, 0), NVMX_DONE);
    CU_ASSERT_EQUAL(fake.syncs, 1);
    CU_ASSERT_EQUAL(fake.synced_vmcs, VMCS_A);
    CU_ASSERT_EQUAL(region(VMCS_A)->field[slot_of(VMCS_GUEST_IDTR_BASE)],
                    LAZY_NOW(slot_of(VMCS_GUEST_IDTR_BASE)));
    CU_ASSERT_EQUAL(vcpu.stale, 0);
}

static void test_not_vmx(void)
{
    reset();
    expect_fault(run(NESTOR_EXIT_CPUID, 0, 0), X86_VEC_UD);
}

UNIT_SUITE(nvmx_suite)
{
    CU_pSuite su = CU_add_suite("nested-vmx", NULL, NULL);
    CU_add_test(su, "vmcs12 encodings and slots", test_vmcs12_index);
    CU_add_test(su, "vmcs12 widths and high halves", test_vmcs12_rw);
    CU_add_test(su, "capability MSRs", test_caps);
    CU_add_test(su, "RDMSR/WRMSR and CR4", test_msrs);
    CU_add_test(su, "VMXON", test_vmxon);
    CU_add_test(su, "VMXON #UD and #GP", test_vmxon_ud_gp);
    CU_add_test(su, "VMXON VMfailInvalid and #PF", test_vmxon_fail);
    CU_add_test(su, "VMXOFF", test_vmxoff);
    CU_add_test(su, "VMCLEAR", test_vmclear);
    CU_add_test(su, "VMPTRLD", test_vmptrld);
    CU_add_test(su, "VMPTRST", test_vmptrst);
    CU_add_test(su, "memory operands, 64-bit mode", test_operand_64);
    CU_add_test(su, "memory operands, protected mode", test_operand_32);
    CU_add_test(su, "VMREAD/VMWRITE every field", test_vmread_vmwrite_fields);
    CU_add_test(su, "VMREAD/VMWRITE errors", test_vmread_vmwrite_errors);
    CU_add_test(su, "VMREAD/VMWRITE outside 64-bit mode", test_vmread_vmwrite_32);
    CU_add_test(su, "VMLAUNCH/VMRESUME", test_vmlaunch_vmresume);
    CU_add_test(su, "VMCS shadowing: shadow VMCSs in L1's VMX operation", test_shadow_l1);
    CU_add_test(su, "VMCS shadowing: which L2 VMREAD/VMWRITE exit (SDM 25.1.3)",
                test_shadow_l2_exits);
    CU_add_test(su, "VMCS shadowing: L2 VMREAD/VMWRITE on the shadow", test_shadow_l2_access);
    CU_add_test(su, "INVEPT", test_invept);
    CU_add_test(su, "INVVPID", test_invvpid);
    CU_add_test(su, "not a VMX instruction", test_not_vmx);
    CU_add_test(su, "lazy L2 guest state: the lazy groups' fields", test_lazy_groups);
    CU_add_test(su, "lazy L2 guest state: VMREAD fetches a stale group", test_lazy_vmread);
    CU_add_test(su, "lazy L2 guest state: VMWRITE fetches, then writes; never dirty and stale",
                test_lazy_vmwrite);
    CU_add_test(su, "lazy L2 guest state: VMCLEAR, VMPTRLD, VMXOFF make the region whole",
                test_lazy_vmclear_vmptrld_vmxoff);
    CU_add_test(su, "a checkpoint's VMX state checked as VMXON and VMPTRLD would",
                test_vcpu_valid);
}
