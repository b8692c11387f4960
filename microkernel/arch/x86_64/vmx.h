/*
 * arch/x86_64/vmx.h - VMX operation: VMXON and the VMCS instructions
 * (SDM Vol. 3C 23-24, Vol. 2B/2C VMX instruction reference).
 */
#ifndef ARCH_X86_64_VMX_H
#define ARCH_X86_64_VMX_H
#include "arch/x86_64/vmcs_fields.h"
#include <stdbool.h>
#include <stdint.h>

/* Bits 11:0 of every EPT pointer (SDM 24.6.11), fixed at VMXON: see
 * vspace_eptp, the only place an EPTP is built. */
extern uint64_t vmx_eptp_attrs;

/* Enter VMX operation on this CPU. False (with a reason) if impossible. */
bool vmx_enable(const vmx_caps_t *caps, const vmx_caps_raw_t *raw, const char **why);
bool vmx_enabled(void);
/* A control value with the allowed-0 bits forced on and allowed-1 bits
 * kept (SDM Appendix A.3): @want must already be allowed. */
uint32_t vmx_controls(uint64_t ctls_msr, uint32_t want);
/* Raw capability MSR values, for control adjustment. */
const vmx_caps_raw_t *vmx_raw_caps(void);
uint64_t vmx_revision(void);

/* VMCS instructions. vmptrld/vmclear return false on VMfail. */
bool vmx_vmclear(uint64_t vmcs_pa);
bool vmx_vmptrld(uint64_t vmcs_pa);

static inline uint64_t vmread(uint64_t field)
{
    uint64_t v;
    __asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
    return v;
}

static inline void vmwrite(uint64_t field, uint64_t v)
{
    __asm__ volatile("vmwrite %1, %0" : : "r"(field), "r"(v) : "cc");
}

/* INVEPT all-context (SDM Vol. 2C INVEPT): every EPT's cached translations. */
void vmx_invept_all(void);
/* INVEPT for one EPT, given its EPTP: single-context where the CPU has it
 * (IA32_VMX_EPT_VPID_CAP bit 25), else all-context. */
void vmx_invept(uint64_t eptp);
/* Whether EPT accessed and dirty flags are available (EPT_VPID_CAP bit 21). */
bool vmx_ept_ad(void);
/* Whether EPT entries may allow execute alone (EPT_VPID_CAP bit 0). */
bool vmx_ept_execute_only(void);
/* Invalidate the translations of one VPID (before it is given out again). */
void vmx_flush_vpid(uint16_t vpid);

/* VMREAD that reports VMfail (SDM 30.2: CF or ZF set). */
static inline bool vmread_checked(uint64_t field, uint64_t *value)
{
    uint8_t ok;
    __asm__ volatile("vmread %2, %0; seta %1" : "=r"(*value), "=r"(ok) : "r"(field) : "cc");
    return ok;
}

#endif
