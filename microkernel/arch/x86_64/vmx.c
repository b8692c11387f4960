/*
 * arch/x86_64/vmx.c - entering VMX operation (SDM Vol. 3C 23.7-23.8).
 */
#include "arch/x86_64/vmx.h"
#include "arch/x86_64/cr.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/paging.h"
#include <string.h>

static uint8_t vmxon_region[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static bool enabled;
static vmx_caps_raw_t raw_caps;
static uint64_t revision;
uint64_t vmx_eptp_attrs;

static uint64_t ept_vpid_cap(void)
{
    return raw_caps.ept_vpid_valid ? raw_caps.ept_vpid : 0;
}

uint32_t vmx_controls(uint64_t ctls_msr, uint32_t want)
{
    uint32_t allowed0 = (uint32_t)ctls_msr, allowed1 = (uint32_t)(ctls_msr >> 32);
    return (want | allowed0) & allowed1;
}

const vmx_caps_raw_t *vmx_raw_caps(void) { return &raw_caps; }
uint64_t vmx_revision(void) { return revision; }
bool vmx_enabled(void) { return enabled; }

bool vmx_enable(const vmx_caps_t *caps, const vmx_caps_raw_t *raw, const char **why)
{
    if (!caps->present) {
        *why = "the CPU has no VMX";
        return false;
    }
    if (!caps->ept || !caps->unrestricted_guest || !caps->vpid) {
        *why = "VMX lacks EPT, VPID or unrestricted guest";
        return false;
    }
    /* SDM 23.7: VMXON needs IA32_FEATURE_CONTROL locked with VMX allowed
     * outside SMX; if firmware left it unlocked, set and lock it. */
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK)) {
        fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
    }
    if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
        *why = "firmware locked VMX off (IA32_FEATURE_CONTROL)";
        return false;
    }
    /* SDM 23.8: CR0 and CR4 must satisfy the fixed bits in VMX operation. */
    uint64_t cr0 = read_cr0(), cr4 = read_cr4() | CR4_VMXE;
    cr0 = (cr0 | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    cr4 = (cr4 | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) & rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    write_cr0(cr0);
    write_cr4(cr4);
    raw_caps = *raw;
    revision = raw->basic & VMX_BASIC_REVISION_MASK;
    /* SDM 24.6.11: WB for the EPT walks, a 4-level walk, and accessed/dirty
     * flags where the CPU has them (SDM 28.3.5; bit 6 may be 1 only then,
     * 26.2.1.1). */
    vmx_eptp_attrs = EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4 |
                     (ept_vpid_cap() & EPT_CAP_ACCESSED_DIRTY ? EPTP_AD_ENABLE : 0);
    memcpy(vmxon_region, &revision, sizeof(uint32_t));
    uint64_t pa = (uint64_t)(uintptr_t)vmxon_region - KERNEL_VMA;
    uint8_t fail;
    __asm__ volatile("vmxon %1; setna %0" : "=r"(fail) : "m"(pa) : "cc", "memory");
    if (fail) {
        *why = "VMXON failed";
        return false;
    }
    enabled = true;
    return true;
}

bool vmx_vmclear(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmclear %1; setna %0" : "=r"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

bool vmx_vmptrld(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmptrld %1; setna %0" : "=r"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static void invept(uint64_t type, uint64_t eptp)
{
    struct { uint64_t eptp, reserved; } desc = { eptp, 0 };
    if (enabled)
        __asm__ volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

void vmx_invept_all(void)
{
    invept(INVEPT_ALL_CONTEXT, 0);
}

/*
 * SDM Vol. 2C INVEPT, 28.4.3.1: single-context invalidation drops the
 * guest-physical and combined mappings tagged with the EP4TA in @eptp (bits
 * 51:12), whatever their VPID, and leaves other EPTs' cached translations
 * alone. The descriptor's EPTP must pass the VM-entry checks (26.2.1.1),
 * which the one EPTP builder (vspace_eptp) guarantees. Where the CPU lacks
 * the single-context type (IA32_VMX_EPT_VPID_CAP bit 25), all-context.
 */
void vmx_invept(uint64_t eptp)
{
    if (ept_vpid_cap() & EPT_CAP_INVEPT_SINGLE)
        invept(INVEPT_SINGLE_CONTEXT, eptp);
    else
        invept(INVEPT_ALL_CONTEXT, 0);
}

bool vmx_ept_execute_only(void)
{
    return ept_vpid_cap() & EPT_CAP_EXECUTE_ONLY;
}

bool vmx_ept_ad(void)
{
    return enabled && (vmx_eptp_attrs & EPTP_AD_ENABLE);
}

/*
 * Forget every translation tagged with @vpid (SDM Vol. 2C INVVPID, 28.4.3.3):
 * a VPID given to a new VCPU must not find the old owner's. Single-context
 * where the CPU has it, else all-context; without INVVPID, INVEPT
 * all-context drops every combined mapping, and with EPT always on those
 * are the only ones a guest makes (SDM 28.4.1).
 */
void vmx_flush_vpid(uint16_t vpid)
{
    struct { uint64_t vpid, linear; } desc = { vpid, 0 };
    uint64_t cap = ept_vpid_cap();
    if (!enabled)
        return;
    if (cap & VPID_CAP_INVVPID && cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)) {
        uint64_t type = cap & VPID_CAP_INVVPID_SINGLE ? INVVPID_SINGLE_CONTEXT
                                                      : INVVPID_ALL_CONTEXT;
        __asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
    } else {
        vmx_invept_all();
    }
}
