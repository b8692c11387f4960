/*
 * arch/x86_64/msr.h - model-specific register numbers and bits used by the
 * kernel (SDM Vol. 4, Table 2-2 "IA-32 Architectural MSRs").
 */
#ifndef ARCH_X86_64_MSR_H
#define ARCH_X86_64_MSR_H
#include <nestor/bits.h>
#include <x86_vmx.h>

#define MSR_IA32_FEATURE_CONTROL        0x03A
#define   FEATURE_CONTROL_LOCK          BIT(0)
#define   FEATURE_CONTROL_VMX_IN_SMX    BIT(1)
#define   FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)

/* VMX capability MSRs: lib/include/x86_vmx.h. */

#define MSR_IA32_APIC_BASE              0x01B
#define   APIC_BASE_ADDR_MASK           0xFFFFFF000ULL
#define   APIC_BASE_GLOBAL_ENABLE       BIT(11)

#define MSR_IA32_STAR                   0xC0000081   /* SYSCALL/SYSRET selectors */
#define MSR_IA32_LSTAR                  0xC0000082   /* SYSCALL entry point */
#define MSR_IA32_CSTAR                  0xC0000083   /* compatibility-mode SYSCALL entry */
#define MSR_IA32_FMASK                  0xC0000084   /* RFLAGS bits cleared by SYSCALL */
#define MSR_IA32_KERNEL_GS_BASE         0xC0000102   /* swapped with GS base by SWAPGS */
#define MSR_IA32_TSC_AUX                0xC0000103   /* read by RDTSCP and RDPID */
#define MSR_IA32_PAT                    0x277
#define MSR_IA32_FS_BASE                0xC0000100
#define MSR_IA32_GS_BASE                0xC0000101
#define   STAR_KERNEL_CS_SHIFT          32
#define   STAR_USER_BASE_SHIFT          48

#define MSR_IA32_EFER                   0xC0000080
#define   EFER_SCE                      BIT(0)
#define   EFER_LME                      BIT(8)
#define   EFER_LMA                      BIT(10)
#define   EFER_NXE                      BIT(11)

#endif
