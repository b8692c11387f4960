/*
 * nested-vmx/nvmx_caps.h - the VMX nested-vmx shows a guest hypervisor (L1):
 * exactly what it implements, nothing more (SDM Vol. 3D Appendix A). Every
 * control allowed here is honoured when L1 enters L2 (vmcs02 built from
 * it, or the exits it asks for reflected); one not allowed fails VM entry
 * with VMXERR_ENTRY_INVALID_CONTROLS (SDM 26.2.1).
 *
 * Left out on purpose, each a feature of its own: TPR shadow and APIC
 * virtualization (a virtual-APIC page), posted interrupts, monitor trap
 * flag (Bochs has none to build it on), PML, VMFUNC, EPT A/D flags, CR3-target
 * values (count 0), SMM and the dual-monitor treatment, "load
 * IA32_PERF_GLOBAL_CTRL".
 *
 * IA32_VMX_MISC bit 29 is set (SDM A.6, Vol. 2C VMWRITE): VMWRITE may write
 * every supported field, the read-only VM-exit information fields too. In
 * vmcs12 they are data like any other (the next exit overwrites them; a
 * VMRESUME loads nothing from them, l2.c field_group); what it buys is a
 * guest hypervisor that fills its own shadow VMCS's exit information, so
 * that its guest hypervisor reads it without exits (a Nestor as L1: its
 * kernel's NESTOR_SHADOW_WRITE, used by its nested-vmx's shadow12.c).
 *
 * "VMCS shadowing" (SDM 24.6.2, 24.10) is offered: VMPTRLD takes a VMCS
 * whose revision has the shadow-VMCS indicator (bit 31), VMLAUNCH/VMRESUME
 * refuse one, and L2's VMREAD/VMWRITE of the fields clear in L1's bitmaps
 * run on the shadow VMCS the link pointer names (instr.c nvmx_l2_shadow_*,
 * l2_through.c) without reaching L1.
 */
#ifndef NVMX_CAPS_H
#define NVMX_CAPS_H
#include <nestor/vmcs.h>
#include <stdbool.h>
#include <stdint.h>
#include <x86_arch.h>
#include <x86_vmx.h>

/* IA32_VMX_BASIC: our revision identifier ("NV"), 4 KiB regions, write-back,
 * the TRUE control MSRs (SDM A.1). */
#define NVMX_REVISION      0x4E56u
#define NVMX_BASIC         ((uint64_t)NVMX_REVISION | (uint64_t)4096 << VMX_BASIC_REGION_SIZE_SHIFT | \
                            VMX_BASIC_MEMTYPE_WB << VMX_BASIC_MEMTYPE_SHIFT | VMX_BASIC_TRUE_CTLS)

/* Controls that may be 1 (SDM 24.6-24.8); the default1 bits are forced. */
#define NVMX_PIN_ALLOWED1  (VMX_PIN_DEFAULT1 | PIN_EXTINT_EXITING | PIN_NMI_EXITING |        \
                            PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER)
#define NVMX_PROC_ALLOWED1 (VMX_PROC_DEFAULT1 | PROC_INTR_WINDOW_EXITING |                     \
                            PROC_TSC_OFFSETTING | PROC_HLT_EXITING | PROC_INVLPG_EXITING |      \
                            PROC_MWAIT_EXITING | PROC_RDPMC_EXITING | PROC_RDTSC_EXITING |     \
                            PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |                   \
                            PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |                   \
                            PROC_NMI_WINDOW_EXITING | PROC_MOV_DR_EXITING |                    \
                            PROC_UNCOND_IO_EXITING | PROC_USE_IO_BITMAPS |                     \
                            PROC_USE_MSR_BITMAPS | PROC_MONITOR_EXITING |                      \
                            PROC_PAUSE_EXITING | PROC_ACTIVATE_SECONDARY)
/* TRUE_PROCBASED (SDM A.3.2): CR3-load/store exiting may be 0. */
#define NVMX_PROC_TRUE_DEFAULT1 (VMX_PROC_DEFAULT1 & ~(PROC_CR3_LOAD_EXITING |                \
                                                       PROC_CR3_STORE_EXITING))
#define NVMX_PROC2_ALLOWED1 (PROC2_ENABLE_EPT | PROC2_DESC_TABLE_EXITING |                     \
                             PROC2_ENABLE_RDTSCP | PROC2_ENABLE_VPID |                         \
                             PROC2_WBINVD_EXITING | PROC2_UNRESTRICTED_GUEST |                 \
                             PROC2_VMCS_SHADOWING)
/* "Acknowledge interrupt on exit": the VMM acknowledges L1's interrupt
 * controller for the exit (NVMX_REQ_ACK); "save VMX-preemption timer
 * value": what the kernel gives back of vcpu02's timer (l2.c). */
#define NVMX_EXIT_ALLOWED1 (VMX_EXIT_DEFAULT1 | EXIT_HOST_ADDR_SPACE_SIZE |                    \
                            EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PAT | EXIT_LOAD_PAT |            \
                            EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PREEMPT_TIMER)
/* TRUE_EXIT / TRUE_ENTRY (SDM A.4.2, A.5.2): "save/load debug controls" may be 0. */
#define NVMX_EXIT_TRUE_DEFAULT1  (VMX_EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG_CTLS)
#define NVMX_ENTRY_ALLOWED1 (VMX_ENTRY_DEFAULT1 | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_PAT |     \
                             ENTRY_LOAD_EFER)
#define NVMX_ENTRY_TRUE_DEFAULT1 (VMX_ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG_CTLS)

/* IA32_VMX_MISC (SDM A.6): the preemption timer counts every 2^5 TSC ticks,
 * EFER.LMA is stored on exits, HLT is the one activity state besides
 * active, no CR3-target values, lists of up to 512 MSRs, VMWRITE to any
 * supported field (bit 29, above). */
#define NVMX_PREEMPT_RATE  5
#define NVMX_MISC          (NVMX_PREEMPT_RATE | VMX_MISC_STORE_LMA | VMX_MISC_ACTIVITY_HLT |    \
                            VMX_MISC_VMWRITE_ANY_FIELD)
#define NVMX_MSR_LIST_MAX  512

/* CR0/CR4 bits fixed in VMX operation (SDM A.7, A.8): PE, NE and PG must be
 * 1 (PE and PG not for an unrestricted guest, SDM 26.3.1.1), VMXE must be 1. */
#define NVMX_CR0_FIXED0    0x80000021ULL
#define NVMX_CR0_FIXED1    0xFFFFFFFFULL
#define NVMX_CR4_FIXED0    0x00002000ULL
/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT VMXE FSGSBASE PCIDE
 * OSXSAVE SMEP SMAP */
#define NVMX_CR4_FIXED1    0x003727FFULL

/* IA32_VMX_EPT_VPID_CAP (SDM A.10): 4-level walks, write-back, 2 MiB pages,
 * INVEPT single/all-context, INVVPID of every type. */
#define NVMX_EPT_VPID_CAP  (EPT_CAP_PAGE_WALK_4 | EPT_CAP_MEMTYPE_WB | EPT_CAP_2MB_PAGES |      \
                            EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL |     \
                            VPID_CAP_INVVPID | VPID_CAP_INVVPID_ADDR |                        \
                            VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL |                  \
                            VPID_CAP_INVVPID_SINGLE_NG)

/* IA32_FEATURE_CONTROL as firmware leaves it: locked, VMXON allowed outside
 * SMX (SDM 23.7). Writes to it #GP: it is locked. */
#define NVMX_FEATURE_CONTROL (X86_FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX)

/* The value of VMX capability MSR @msr (MSR_IA32_VMX_*) into *@value;
 * false for an MSR nested-vmx does not implement (IA32_VMX_VMFUNC: VMFUNC
 * is not allowed), which the caller answers with #GP(0) (SDM A.11). */
bool nvmx_cap_msr(uint32_t msr, uint64_t *value);

/* Whether a control value honours an allowed-0/allowed-1 pair (SDM A.3-A.5:
 * every default1 bit set, no bit outside allowed1). */
static inline bool nvmx_ctls_valid(uint32_t value, uint32_t default1, uint32_t allowed1)
{
    return (value & default1) == default1 && (value & ~allowed1) == 0;
}

#endif
