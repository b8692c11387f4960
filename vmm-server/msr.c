/*
 * vmm-server/msr.c - which MSRs a guest may read and write (no MSR bitmap:
 * every RDMSR/WRMSR exits). Architectural numbers: SDM Vol. 4, Table 2-2.
 * Unlisted MSRs raise #GP in the guest, as a CPU without them would.
 */
#include "vmm.h"

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
    if (!p)
        return false;
    *p = value;
    return true;
}
