/*
 * vmm-server/cpu_policy.h - what the guest's CPU is: the CPUID allow-list,
 * and the architectural rules the VMM applies when it carries out a
 * guest's CR, XSETBV and MSR writes. Pure code (no system calls, no VM
 * state): built into the VMM and into the host unit tests
 * (tests/unit/test_vmm_policy.c).
 *
 * What is shown follows what the kernel's VMCS gives a guest (secondary
 * controls: EPT, VPID, unrestricted guest only; MONITOR/MWAIT/RDPMC exit;
 * no x2APIC, PMU, SMX, VMX) and what the VMM emulates (msr.c). Anything a
 * guest is shown must work; anything not in the table reads as 0.
 */
#ifndef VMM_CPU_POLICY_H
#define VMM_CPU_POLICY_H
#include "x86_arch.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t eax, ebx, ecx, edx;
} cpuid_regs_t;

/* How the policy asks the host CPU (the VMM executes CPUID; tests fake it). */
typedef cpuid_regs_t (*cpuid_host_fn)(uint32_t leaf, uint32_t sub);

/* The guest state CPUID results depend on (SDM Vol. 2A CPUID). */
typedef struct {
    uint64_t cr4;          /* OSXSAVE is CPUID.1:ECX.OSXSAVE */
    uint64_t xcr0;         /* CPUID.(EAX=0DH,ECX=0):EBX is the size for XCR0 */
    bool apic_enabled;     /* IA32_APIC_BASE.EN: CPUID.1:EDX.APIC (SDM Vol. 3A 10.4.3) */
    uint32_t apic_id;      /* CPUID.1:EBX[31:24], the initial APIC ID */
    bool rdtscp;           /* the VMM enabled RDTSCP (secondary control): CPUID.80000001H:
                              EDX.RDTSCP as the host has it */
    bool vmx;              /* a nested-vmx monitor shows VMX: CPUID.1:ECX.VMX */
    bool long64;           /* executed in 64-bit mode: CPUID.80000001H:EDX.SYSCALL */
    bool x2apic;           /* the VM's LAPIC offers x2APIC mode: CPUID.1:ECX.x2APIC */
    bool tsc_deadline;     /* its timer offers TSC-deadline mode: CPUID.1:ECX.TSC-deadline */
} cpuid_guest_t;

#define CPUID_MAX_BASIC    0x16u
/* Leaf 0BH (SDM Vol. 2A): ECX[7:0] the level number, ECX[15:8] its type
 * (1 SMT, 2 core, 0 invalid); two levels here. */
#define CPUID_0B_LEVEL_MASK 0xFFu
#define CPUID_0B_TYPE_SHIFT 8
#define CPUID_0B_LEVELS     2
#define CPUID_HZ_PER_MHZ   1000000u    /* leaf 16H counts MHz */
#define CPUID_HZ_PER_KHZ   1000u
#define CPUID_HV_LEAF      0x40000000u
#define CPUID_MAX_EXTENDED 0x80000008u

/* The guest's CPUID(@leaf, @sub): cpuid_guest_state(cpuid_static()). */
cpuid_regs_t cpuid_guest(uint32_t leaf, uint32_t sub, const cpuid_guest_t *g,
                         cpuid_host_fn host);
/* The part that depends only on the host (a VMM may cache it per leaf and
 * subleaf), and the bits that follow the guest's state on top of it. */
cpuid_regs_t cpuid_static(uint32_t leaf, uint32_t sub, cpuid_host_fn host);
cpuid_regs_t cpuid_guest_state(uint32_t leaf, uint32_t sub, cpuid_regs_t r,
                               const cpuid_guest_t *g, cpuid_host_fn host);

/* XCR0 components the guest may enable: x87, SSE, AVX where the host has them
 * (CPUID.(EAX=0DH,ECX=0):EDX:EAX) and shows them (CPUID.1:ECX.AVX). */
uint64_t xcr0_allowed(cpuid_host_fn host);

/* EFER bits a guest may set (SDM Vol. 4 Table 2-2): SCE with SYSCALL, LME
 * with LM, NXE with NX shown in CPUID.80000001H:EDX. */
uint64_t efer_allowed(cpuid_host_fn host);

/* CR4 bits a guest may set: those of the features shown (SDM Vol. 3A 2.5). */
uint64_t cr4_allowed(cpuid_host_fn host);

/* The result of a guest's MOV to CR0/CR4. */
typedef struct {
    uint64_t cr0, cr4, efer;
} cr_state_t;

/* MOV to CR0 of @value with @cur (and CS.L = @cs_l): false means #GP(0);
 * else @out is the new CR0 and EFER (LMA follows PG with LME, SDM 9.8.5). */
bool cr0_write(const cr_state_t *cur, bool cs_l, uint64_t value, cr_state_t *out);
/* MOV to CR4 of @value: false means #GP(0). @cr3 for the PCIDE rule. */
bool cr4_write(const cr_state_t *cur, uint64_t cr3, uint64_t value, uint64_t allowed,
               cr_state_t *out);

/* XSETBV with ECX = @ecx, EDX:EAX = @value at CPL @cpl: false means #GP(0)
 * (SDM Vol. 2C XSETBV, Vol. 1 13.3). */
bool xcr0_valid(uint32_t ecx, uint64_t value, unsigned cpl, uint64_t allowed);

/* MSR value rules. */
bool pat_valid(uint64_t pat);                   /* SDM Vol. 3A 11.12.2 */
/* IA32_MISC_ENABLE as the VMM offers it (msr.c; the checkpoint's platform
 * record, dev_state.c). */
#define MISC_ENABLE_RESET (X86_MISC_ENABLE_FAST_STRINGS | X86_MISC_ENABLE_BTS_UNAVAIL | \
                           X86_MISC_ENABLE_PEBS_UNAVAIL)
/* SDM Vol. 4 Table 2-2: the R/W bits a VM may change (they select nothing
 * a VM can observe: string microcode, thermal control, xTPR messages), and
 * the R/O ones (which say no PMU and no debug store here: a write leaves
 * them as they are). Every other bit is reserved or enables what this VM
 * does not have (EIST, bit 16, and the MONITOR FSM, bit 18, which CPUID
 * does not show; Limit CPUID Maxval, bit 22, and XD Bit Disable, bit 34,
 * which would change CPUID leaves 0 and 80000001H and are not modelled):
 * setting one raises #GP. */
#define MISC_ENABLE_RW (X86_MISC_ENABLE_FAST_STRINGS | X86_MISC_ENABLE_TCC | \
                        X86_MISC_ENABLE_XTPR_DISABLE)
#define MISC_ENABLE_RO (X86_MISC_ENABLE_PERFMON | X86_MISC_ENABLE_BTS_UNAVAIL | \
                        X86_MISC_ENABLE_PEBS_UNAVAIL)
bool mtrr_def_type_valid(uint64_t v);           /* SDM Vol. 3A 11.11.2.1, no fixed MTRRs */
/* IA32_APIC_BASE write (SDM Vol. 3A 10.4.4): false means #GP; @maxphyaddr
 * bounds the base; @old is the value before (BSP is R/W, Vol. 4 Table 2-2);
 * @x2apic: x2APIC mode is offered (EXTD, the transitions of 10.12.5). */
bool apic_base_valid(uint64_t old, uint64_t value, unsigned maxphyaddr, bool x2apic);
/* IA32_EFER write: false means #GP; LMA is kept from @cur (read-only). */
bool efer_write(uint64_t cur, uint64_t value, uint64_t cr0, uint64_t allowed, uint64_t *out);

/* The event to re-inject after an exit that interrupted its delivery (SDM
 * Vol. 3C 27.2.4 IDT-vectoring information, 26.6.1.1 injection): false if
 * @idt_info is not valid. */
bool idt_reinject(uint32_t idt_info, uint32_t idt_error, uint32_t exit_instr_len,
                  uint32_t *info, uint32_t *error, uint32_t *instr_len);

/* An exception raised while delivering an event (SDM Vol. 3A 6.15, Table
 * 6-5): deliver the second one serially, or a double fault, or shut down. */
typedef enum { EVENT_SERIAL, EVENT_DOUBLE_FAULT, EVENT_TRIPLE_FAULT } event_merge_t;
/* @first: the interrupted event's IDT-vectoring information; @second: the
 * vector of a hardware exception raised during its delivery. */
event_merge_t event_merge(uint32_t first, unsigned second);

/* What to do about an NMI before entering the guest (SDM Vol. 3C 26.6,
 * 26.3.1.5; Vol. 3A 6.7.1). NMI_INJECT: inject it now (type 2, vector 2);
 * NMI_WAIT: keep it pending and arm NMI-window exiting (25.2); NMI_NONE:
 * none pending. @injecting: the entry already injects another event (one
 * per entry); @interruptibility: the guest's state (Table 24-3). */
typedef enum { NMI_NONE, NMI_INJECT, NMI_WAIT } nmi_action_t;
nmi_action_t nmi_decide(bool pending, bool injecting, uint64_t interruptibility);

/* The VMX-preemption timer value that runs out no earlier than @ns from
 * now: the timer counts down by one every 2^@rate TSC ticks (SDM Vol. 3C
 * 25.5.1, IA32_VMX_MISC[4:0]), the TSC at @tsc_per_ms. Rounded up, at
 * least 1 (0 means off to NESTOR_VCPU_SET_TIMER); @ns at most
 * VMX_TIMER_MAX_NS (longer waits are cut to it: the caller sets the timer
 * again when it runs out early). */
#define VMX_TIMER_MAX_NS (10ULL * 1000000000ULL)
uint64_t vmx_timer_units(uint64_t ns, uint64_t tsc_per_ms, unsigned rate);

#endif
