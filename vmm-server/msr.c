/*
 * vmm-server/msr.c - which MSRs a guest may read and write (no MSR bitmap:
 * every RDMSR/WRMSR exits). Architectural numbers: SDM Vol. 4, Table 2-2.
 * Unlisted MSRs raise #GP in the guest, as a CPU without them would.
 */
#include "vmm.h"
#include "arch/x86_64/vmcs_fields.h"

#define MSR_TSC            0x010
#define MSR_APIC_BASE      0x01B
#define MSR_FEATURE_CONTROL 0x03A
#define MSR_MTRRCAP        0x0FE
#define MSR_MISC_ENABLE    0x1A0
#define MSR_PAT            0x277
#define MSR_MTRR_DEF_TYPE  0x2FF
#define MSR_STAR           0xC0000081
#define MSR_LSTAR          0xC0000082
#define MSR_CSTAR          0xC0000083
#define MSR_FMASK          0xC0000084
#define MSR_KERNEL_GS_BASE 0xC0000102

#define APIC_BASE_DEFAULT  0xFEE00900ULL   /* 0xFEE00000, enabled, BSP */
#define FEATURE_CONTROL_LOCKED 0x1ULL      /* locked, VMX off: no nested VMX offered */
#define MISC_ENABLE_DEFAULT 0x1ULL         /* fast strings */
#define PAT_DEFAULT        0x0007040600070406ULL

/* IA32_EFER (SDM Vol. 3A 2.2.1, Vol. 4 Table 2-2): SCE, LME, LMA, NXE. The
 * guest's value lives in the VMCS (loaded and saved at entry and exit); LMA
 * is the CPU's (set when the guest turns paging on with LME, SDM 9.8.5). */
#define MSR_EFER   0xC0000080
#define EFER_SCE   BIT(0)
#define EFER_LME   BIT(8)
#define EFER_LMA   BIT(10)
#define EFER_NXE   BIT(11)
#define CR0_PG     BIT(31)

static uint64_t vmcs_get(vm_t *vm, nestor_word_t field)
{
    nestor_word_t v = 0;
    nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &v, 1);
    return v;
}

static bool efer_write(vm_t *vm, uint64_t value)
{
    uint64_t cur = vmcs_get(vm, VMCS_GUEST_EFER);
    if (value & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        return false;                           /* reserved bits: #GP */
    /* Changing LME with paging on is #GP (SDM 9.8.5). */
    if (((value ^ cur) & EFER_LME) && (vmcs_get(vm, VMCS_GUEST_CR0) & CR0_PG))
        return false;
    value = (value & ~(uint64_t)EFER_LMA) | (cur & EFER_LMA);
    const nestor_word_t args[] = { VMCS_GUEST_EFER, value };
    return nu_invoke(vm->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 2, 0, 0, 0, 0) == NESTOR_OK;
}

static uint64_t *stored(vm_t *vm, uint32_t msr)
{
    switch (msr) {
    case MSR_PAT: return &vm->msr_pat;
    case MSR_STAR: return &vm->msr_star;
    case MSR_LSTAR: return &vm->msr_lstar;
    case MSR_CSTAR: return &vm->msr_cstar;
    case MSR_FMASK: return &vm->msr_fmask;
    case MSR_KERNEL_GS_BASE: return &vm->msr_kernel_gs;
    case MSR_MTRR_DEF_TYPE: return &vm->msr_mtrr_def;
    default: return 0;
    }
}

bool msr_read(vm_t *vm, uint32_t msr, uint64_t *value)
{
    uint64_t *p = stored(vm, msr);
    switch (msr) {
    case MSR_TSC: {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        *value = (uint64_t)hi << 32 | lo;
        return true;
    }
    case MSR_APIC_BASE: *value = APIC_BASE_DEFAULT; return true;
    case MSR_FEATURE_CONTROL: *value = FEATURE_CONTROL_LOCKED; return true;
    case MSR_MTRRCAP: *value = 0; return true;                /* no MTRRs */
    case MSR_MISC_ENABLE: *value = MISC_ENABLE_DEFAULT; return true;
    case MSR_PAT: *value = vm->msr_pat ? vm->msr_pat : PAT_DEFAULT; return true;
    case MSR_EFER: *value = vmcs_get(vm, VMCS_GUEST_EFER); return true;
    default:
        if (!p)
            return false;
        *value = *p;
        return true;
    }
}

bool msr_write(vm_t *vm, uint32_t msr, uint64_t value)
{
    uint64_t *p = stored(vm, msr);
    if (msr == MSR_APIC_BASE)
        return value == APIC_BASE_DEFAULT;      /* relocating the APIC: not supported */
    if (msr == MSR_EFER)
        return efer_write(vm, value);
    if (!p)
        return false;
    *p = value;
    return true;
}
