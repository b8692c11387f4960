/*
 * arch/x86_64/vmx_caps.h - VMX capability reporting: control bits and the
 * decoder of the capability MSRs (SDM Vol. 3D Appendix A; control layouts
 * from SDM Vol. 3C 24.6). Section numbers follow the SDM editions whose
 * Vol. 3C has the VMCS in chapter 24 and VM entries in chapter 26.
 *
 * The decoder is pure: the kernel reads the MSRs (respecting which exist)
 * and hands the raw values here; unit tests hand it synthetic values.
 */
#ifndef ARCH_X86_64_VMX_CAPS_H
#define ARCH_X86_64_VMX_CAPS_H
#include <nestor/bits.h>
#include <nestor/vmcs.h>   /* control bits */
#include <x86_vmx.h>

/* Capability MSR layouts (BASIC, EPT_VPID_CAP, MISC, controls): lib/include/x86_vmx.h. */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

/* Raw MSR values as read; the *_valid flags say which MSRs exist (SDM A.3.3, A.10). */
typedef struct {
    bool vmx_cpuid;              /* CPUID.1:ECX.VMX */
    uint64_t feature_control;
    uint64_t basic;
    uint64_t pinbased, procbased, exit, entry, misc;
    bool procbased2_valid;
    uint64_t procbased2;
    bool ept_vpid_valid;
    uint64_t ept_vpid;
} vmx_caps_raw_t;

typedef struct {
    bool present;                /* VMX advertised by CPUID */
    bool feature_control_locked;
    bool vmx_outside_smx;        /* VMXON allowed outside SMX */
    uint32_t revision;
    uint32_t vmcs_size;
    bool true_ctls;
    bool secondary_ctls;
    bool ept, vpid, unrestricted_guest, vmcs_shadowing, pml, vmfunc;
    bool ept_ad, ept_2m, ept_1g, ept_wb, ept_walk4, ept_exec_only, invept, invvpid;
    bool preemption_timer, posted_interrupts, virtual_nmis, mtf;
    bool vmwrite_any_field;
    unsigned preemption_timer_rate;
} vmx_caps_t;

/* Whether @ctl may be 1 according to a controls MSR value (SDM A.3). */
static inline bool vmx_ctl_allowed1(uint64_t ctls_msr, uint64_t ctl)
{
    return ((ctls_msr >> VMX_CTLS_ALLOWED1_SHIFT) & ctl) == ctl;
}

void vmx_caps_decode(const vmx_caps_raw_t *raw, vmx_caps_t *out);

/* Whether the secondary-controls MSR exists, given the primary one (SDM A.3.3). */
bool vmx_caps_has_procbased2(uint64_t procbased);
/* Whether IA32_VMX_EPT_VPID_CAP exists, given the secondary one (SDM A.10). */
bool vmx_caps_has_ept_vpid(uint64_t procbased2);

#endif /* __ASSEMBLER__ */
#endif
