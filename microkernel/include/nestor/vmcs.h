/*
 * nestor/vmcs.h - the one VMCS field table: every field's encoding (SDM Vol.
 * 3D Appendix B) and what a monitor may do with it through
 * NESTOR_VCPU_READ_VMCS / NESTOR_VCPU_WRITE_VMCS, and the execution-control
 * bits with the floor the kernel always forces and the ceiling a monitor may
 * set (SDM Vol. 3C 24.6-24.8). The kernel's checks, the user-level accessors
 * and the documentation (microkernel/README.md) all come from here. It is an
 * allow-list: a field that is not in the table, or the HIGH half of a 64-bit
 * field (encoding bit 0 set, SDM 24.11.2), is refused.
 *
 * Access:
 *   HIDDEN   host state, pointers to kernel memory, the kernel's own
 *            controls (VPID, MSR areas, the preemption timer): neither read
 *            nor written by monitors.
 *   READ     readable (exit information, controls the kernel fixes; the
 *            exception bitmap, derived from the exit tables: nestor/vcpu.h).
 *   RW       guest state and controls with no effect outside the guest.
 *   CONTROL  readable; written values must lie within the ceiling (and the
 *            CPU's allowed-1 bits); the floor (and the CPU's allowed-0 bits)
 *            are always set.
 *   CRMASK   CR0/CR4 guest/host masks: the bits VMX fixes stay owned by the
 *            host (SDM 23.8); a monitor may own more.
 */
#ifndef NESTOR_VMCS_H
#define NESTOR_VMCS_H
#include <nestor/bits.h>

#define NESTOR_VMCS_HIDDEN   0
#define NESTOR_VMCS_READ     1
#define NESTOR_VMCS_RW       2
#define NESTOR_VMCS_CONTROL  3
#define NESTOR_VMCS_CRMASK   4

/* X(name, encoding, access): VMCS_<name> is the encoding. */
#define NESTOR_VMCS_FIELDS(X)                                                   \
    /* 16-bit control fields (B.1.1) */                                          \
    X(VPID, 0x0000, HIDDEN)                                                      \
    X(POSTED_INTR_NV, 0x0002, HIDDEN)                                            \
    X(EPTP_INDEX, 0x0004, HIDDEN)                                                \
    /* 16-bit guest-state fields (B.1.2) */                                      \
    X(GUEST_ES_SEL, 0x0800, RW)                                                  \
    X(GUEST_CS_SEL, 0x0802, RW)                                                  \
    X(GUEST_SS_SEL, 0x0804, RW)                                                  \
    X(GUEST_DS_SEL, 0x0806, RW)                                                  \
    X(GUEST_FS_SEL, 0x0808, RW)                                                  \
    X(GUEST_GS_SEL, 0x080A, RW)                                                  \
    X(GUEST_LDTR_SEL, 0x080C, RW)                                                \
    X(GUEST_TR_SEL, 0x080E, RW)                                                  \
    X(GUEST_INTR_STATUS, 0x0810, HIDDEN)                                         \
    X(GUEST_PML_INDEX, 0x0812, RW)                                               \
    /* 16-bit host-state fields (B.1.3) */                                       \
    X(HOST_ES_SEL, 0x0C00, HIDDEN)                                               \
    X(HOST_CS_SEL, 0x0C02, HIDDEN)                                               \
    X(HOST_SS_SEL, 0x0C04, HIDDEN)                                               \
    X(HOST_DS_SEL, 0x0C06, HIDDEN)                                               \
    X(HOST_FS_SEL, 0x0C08, HIDDEN)                                               \
    X(HOST_GS_SEL, 0x0C0A, HIDDEN)                                               \
    X(HOST_TR_SEL, 0x0C0C, HIDDEN)                                               \
    /* 64-bit control fields (B.2.1): all but the TSC offset point at memory */  \
    X(IO_BITMAP_A, 0x2000, HIDDEN)                                               \
    X(IO_BITMAP_B, 0x2002, HIDDEN)                                               \
    X(MSR_BITMAP, 0x2004, HIDDEN)                                                \
    X(EXIT_MSR_STORE_ADDR, 0x2006, HIDDEN)                                       \
    X(EXIT_MSR_LOAD_ADDR, 0x2008, HIDDEN)                                        \
    X(ENTRY_MSR_LOAD_ADDR, 0x200A, HIDDEN)                                       \
    X(EXECUTIVE_VMCS_PTR, 0x200C, HIDDEN)                                        \
    X(PML_ADDRESS, 0x200E, HIDDEN)                                               \
    X(TSC_OFFSET, 0x2010, RW)                                                    \
    X(VIRTUAL_APIC_ADDR, 0x2012, HIDDEN)                                         \
    X(APIC_ACCESS_ADDR, 0x2014, HIDDEN)                                          \
    X(POSTED_INTR_DESC, 0x2016, HIDDEN)                                          \
    X(VMFUNC_CONTROLS, 0x2018, HIDDEN)                                           \
    X(EPT_POINTER, 0x201A, HIDDEN)                                               \
    X(EPTP_LIST_ADDR, 0x2024, HIDDEN)                                            \
    X(VMREAD_BITMAP, 0x2026, HIDDEN)                                             \
    X(VMWRITE_BITMAP, 0x2028, HIDDEN)                                            \
    X(VE_INFO_ADDR, 0x202A, HIDDEN)                                              \
    X(XSS_EXIT_BITMAP, 0x202C, HIDDEN)                                           \
    /* 64-bit read-only data field (B.2.2) */                                    \
    X(GUEST_PHYS_ADDR, 0x2400, READ)                                             \
    /* 64-bit guest-state fields (B.2.3) */                                      \
    X(LINK_POINTER, 0x2800, HIDDEN)                                              \
    X(GUEST_DEBUGCTL, 0x2802, RW)                                                \
    X(GUEST_PAT, 0x2804, RW)                                                     \
    X(GUEST_EFER, 0x2806, RW)                                                    \
    X(GUEST_PERF_GLOBAL_CTRL, 0x2808, HIDDEN)                                    \
    X(GUEST_PDPTE0, 0x280A, RW)                                                  \
    X(GUEST_PDPTE1, 0x280C, RW)                                                  \
    X(GUEST_PDPTE2, 0x280E, RW)                                                  \
    X(GUEST_PDPTE3, 0x2810, RW)                                                  \
    X(GUEST_BNDCFGS, 0x2812, HIDDEN)                                             \
    /* 64-bit host-state fields (B.2.4) */                                       \
    X(HOST_PAT, 0x2C00, HIDDEN)                                                  \
    X(HOST_EFER, 0x2C02, HIDDEN)                                                 \
    X(HOST_PERF_GLOBAL_CTRL, 0x2C04, HIDDEN)                                     \
    /* 32-bit control fields (B.3.1) */                                          \
    X(PIN_CONTROLS, 0x4000, CONTROL)                                             \
    X(PROC_CONTROLS, 0x4002, CONTROL)                                            \
    X(EXCEPTION_BITMAP, 0x4004, READ)                                            \
    X(PF_ERROR_MASK, 0x4006, RW)                                                 \
    X(PF_ERROR_MATCH, 0x4008, RW)                                                \
    X(CR3_TARGET_COUNT, 0x400A, READ)                                            \
    X(EXIT_CONTROLS, 0x400C, READ)                                               \
    X(EXIT_MSR_STORE_COUNT, 0x400E, HIDDEN)                                      \
    X(EXIT_MSR_LOAD_COUNT, 0x4010, HIDDEN)                                       \
    X(ENTRY_CONTROLS, 0x4012, READ)                                              \
    X(ENTRY_MSR_LOAD_COUNT, 0x4014, HIDDEN)                                      \
    X(ENTRY_INTR_INFO, 0x4016, RW)                                               \
    X(ENTRY_EXCEPTION_ERROR, 0x4018, RW)                                         \
    X(ENTRY_INSTR_LEN, 0x401A, RW)                                               \
    X(TPR_THRESHOLD, 0x401C, HIDDEN)                                             \
    X(PROC_CONTROLS2, 0x401E, CONTROL)                                           \
    X(PLE_GAP, 0x4020, RW)                                                       \
    X(PLE_WINDOW, 0x4022, RW)                                                    \
    /* 32-bit read-only data fields (B.3.2) */                                   \
    X(INSTR_ERROR, 0x4400, READ)                                                 \
    X(EXIT_REASON, 0x4402, READ)                                                 \
    X(EXIT_INTR_INFO, 0x4404, READ)                                              \
    X(EXIT_INTR_ERROR, 0x4406, READ)                                             \
    X(IDT_VECTORING_INFO, 0x4408, READ)                                          \
    X(IDT_VECTORING_ERROR, 0x440A, READ)                                         \
    X(EXIT_INSTR_LEN, 0x440C, READ)                                              \
    X(EXIT_INSTR_INFO, 0x440E, READ)                                             \
    /* 32-bit guest-state fields (B.3.3) */                                      \
    X(GUEST_ES_LIMIT, 0x4800, RW)                                                \
    X(GUEST_CS_LIMIT, 0x4802, RW)                                                \
    X(GUEST_SS_LIMIT, 0x4804, RW)                                                \
    X(GUEST_DS_LIMIT, 0x4806, RW)                                                \
    X(GUEST_FS_LIMIT, 0x4808, RW)                                                \
    X(GUEST_GS_LIMIT, 0x480A, RW)                                                \
    X(GUEST_LDTR_LIMIT, 0x480C, RW)                                              \
    X(GUEST_TR_LIMIT, 0x480E, RW)                                                \
    X(GUEST_GDTR_LIMIT, 0x4810, RW)                                              \
    X(GUEST_IDTR_LIMIT, 0x4812, RW)                                              \
    X(GUEST_ES_AR, 0x4814, RW)                                                   \
    X(GUEST_CS_AR, 0x4816, RW)                                                   \
    X(GUEST_SS_AR, 0x4818, RW)                                                   \
    X(GUEST_DS_AR, 0x481A, RW)                                                   \
    X(GUEST_FS_AR, 0x481C, RW)                                                   \
    X(GUEST_GS_AR, 0x481E, RW)                                                   \
    X(GUEST_LDTR_AR, 0x4820, RW)                                                 \
    X(GUEST_TR_AR, 0x4822, RW)                                                   \
    X(GUEST_INTERRUPTIBILITY, 0x4824, RW)                                        \
    X(GUEST_ACTIVITY, 0x4826, RW)                                                \
    X(GUEST_SMBASE, 0x4828, HIDDEN)                                              \
    X(GUEST_SYSENTER_CS, 0x482A, RW)                                             \
    X(PREEMPT_TIMER_VALUE, 0x482E, HIDDEN)                                       \
    /* 32-bit host-state field (B.3.4) */                                        \
    X(HOST_SYSENTER_CS, 0x4C00, HIDDEN)                                          \
    /* natural-width control fields (B.4.1) */                                   \
    X(CR0_MASK, 0x6000, CRMASK)                                                  \
    X(CR4_MASK, 0x6002, CRMASK)                                                  \
    X(CR0_SHADOW, 0x6004, RW)                                                    \
    X(CR4_SHADOW, 0x6006, RW)                                                    \
    X(CR3_TARGET0, 0x6008, HIDDEN)                                               \
    X(CR3_TARGET1, 0x600A, HIDDEN)                                               \
    X(CR3_TARGET2, 0x600C, HIDDEN)                                               \
    X(CR3_TARGET3, 0x600E, HIDDEN)                                               \
    /* natural-width read-only data fields (B.4.2) */                            \
    X(EXIT_QUALIFICATION, 0x6400, READ)                                          \
    X(IO_RCX, 0x6402, READ)                                                      \
    X(IO_RSI, 0x6404, READ)                                                      \
    X(IO_RDI, 0x6406, READ)                                                      \
    X(IO_RIP, 0x6408, READ)                                                      \
    X(GUEST_LINEAR_ADDR, 0x640A, READ)                                           \
    /* natural-width guest-state fields (B.4.3) */                               \
    X(GUEST_CR0, 0x6800, RW)                                                     \
    X(GUEST_CR3, 0x6802, RW)                                                     \
    X(GUEST_CR4, 0x6804, RW)                                                     \
    X(GUEST_ES_BASE, 0x6806, RW)                                                 \
    X(GUEST_CS_BASE, 0x6808, RW)                                                 \
    X(GUEST_SS_BASE, 0x680A, RW)                                                 \
    X(GUEST_DS_BASE, 0x680C, RW)                                                 \
    X(GUEST_FS_BASE, 0x680E, RW)                                                 \
    X(GUEST_GS_BASE, 0x6810, RW)                                                 \
    X(GUEST_LDTR_BASE, 0x6812, RW)                                               \
    X(GUEST_TR_BASE, 0x6814, RW)                                                 \
    X(GUEST_GDTR_BASE, 0x6816, RW)                                               \
    X(GUEST_IDTR_BASE, 0x6818, RW)                                               \
    X(GUEST_DR7, 0x681A, RW)                                                     \
    X(GUEST_RSP, 0x681C, RW)                                                     \
    X(GUEST_RIP, 0x681E, RW)                                                     \
    X(GUEST_RFLAGS, 0x6820, RW)                                                  \
    X(GUEST_PENDING_DBG, 0x6822, RW)                                             \
    X(GUEST_SYSENTER_ESP, 0x6824, RW)                                            \
    X(GUEST_SYSENTER_EIP, 0x6826, RW)                                            \
    /* natural-width host-state fields (B.4.4) */                                \
    X(HOST_CR0, 0x6C00, HIDDEN)                                                  \
    X(HOST_CR3, 0x6C02, HIDDEN)                                                  \
    X(HOST_CR4, 0x6C04, HIDDEN)                                                  \
    X(HOST_FS_BASE, 0x6C06, HIDDEN)                                              \
    X(HOST_GS_BASE, 0x6C08, HIDDEN)                                              \
    X(HOST_TR_BASE, 0x6C0A, HIDDEN)                                              \
    X(HOST_GDTR_BASE, 0x6C0C, HIDDEN)                                            \
    X(HOST_IDTR_BASE, 0x6C0E, HIDDEN)                                            \
    X(HOST_SYSENTER_ESP, 0x6C10, HIDDEN)                                         \
    X(HOST_SYSENTER_EIP, 0x6C12, HIDDEN)                                         \
    X(HOST_RSP, 0x6C14, HIDDEN)                                                  \
    X(HOST_RIP, 0x6C16, HIDDEN)

/* Pin-based VM-execution controls (SDM 24.6.1, Table 24-5) */
#define PIN_EXTINT_EXITING          BIT(0)
#define PIN_NMI_EXITING             BIT(3)
#define PIN_VIRTUAL_NMIS            BIT(5)
#define PIN_PREEMPTION_TIMER        BIT(6)
#define PIN_POSTED_INTERRUPTS       BIT(7)

/* Primary processor-based controls (SDM 24.6.2, Table 24-6) */
#define PROC_INTR_WINDOW_EXITING    BIT(2)
#define PROC_TSC_OFFSETTING         BIT(3)
#define PROC_HLT_EXITING            BIT(7)
#define PROC_INVLPG_EXITING         BIT(9)
#define PROC_MWAIT_EXITING          BIT(10)
#define PROC_RDPMC_EXITING          BIT(11)
#define PROC_RDTSC_EXITING          BIT(12)
#define PROC_CR3_LOAD_EXITING       BIT(15)
#define PROC_CR3_STORE_EXITING      BIT(16)
#define PROC_CR8_LOAD_EXITING       BIT(19)
#define PROC_CR8_STORE_EXITING      BIT(20)
#define PROC_USE_TPR_SHADOW         BIT(21)
#define PROC_NMI_WINDOW_EXITING     BIT(22)
#define PROC_MOV_DR_EXITING         BIT(23)
#define PROC_UNCOND_IO_EXITING      BIT(24)
#define PROC_USE_IO_BITMAPS         BIT(25)
#define PROC_MONITOR_TRAP_FLAG      BIT(27)
#define PROC_USE_MSR_BITMAPS        BIT(28)
#define PROC_MONITOR_EXITING        BIT(29)
#define PROC_PAUSE_EXITING          BIT(30)
#define PROC_ACTIVATE_SECONDARY     BIT(31)

/* Secondary processor-based controls (SDM 24.6.2, Table 24-7) */
#define PROC2_VIRT_APIC_ACCESSES    BIT(0)
#define PROC2_ENABLE_EPT            BIT(1)
#define PROC2_DESC_TABLE_EXITING    BIT(2)
#define PROC2_ENABLE_RDTSCP         BIT(3)
#define PROC2_ENABLE_VPID           BIT(5)
#define PROC2_WBINVD_EXITING        BIT(6)
#define PROC2_UNRESTRICTED_GUEST    BIT(7)
#define PROC2_APIC_REG_VIRT         BIT(8)
#define PROC2_VIRT_INTR_DELIVERY    BIT(9)
#define PROC2_PAUSE_LOOP_EXITING    BIT(10)
#define PROC2_RDRAND_EXITING        BIT(11)
#define PROC2_ENABLE_INVPCID        BIT(12)
#define PROC2_ENABLE_VMFUNC         BIT(13)
#define PROC2_VMCS_SHADOWING        BIT(14)
#define PROC2_RDSEED_EXITING        BIT(16)
#define PROC2_ENABLE_PML            BIT(17)

/*
 * Floors: what keeps the CPU the kernel's and the host's resources out of a
 * guest's reach, whatever a monitor writes. Every external interrupt and NMI
 * exits and the preemption timer bounds each stay (SDM 24.6.1, 25.5.1);
 * every port and MSR access exits (no bitmaps: they would point at memory);
 * CR8 is the real TPR without a TPR shadow (SDM 24.6.2), so its accesses
 * exit; MONITOR/MWAIT exit (in MWAIT's C-states the timer may stop, SDM
 * 25.5.1); RDPMC exits (the host's performance counters are a side channel)
 * and so does WBINVD (a guest flushing every cache slows all others); EPT
 * and VPID keep guest memory and TLBs apart (SDM 28).
 */
#define NESTOR_PIN_FLOOR   (PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_PREEMPTION_TIMER)
#define NESTOR_PIN_CEILING (NESTOR_PIN_FLOOR | PIN_VIRTUAL_NMIS)
#define NESTOR_PROC_FLOOR  (PROC_UNCOND_IO_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | \
                            PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |                    \
                            PROC_RDPMC_EXITING | PROC_ACTIVATE_SECONDARY)
#define NESTOR_PROC_CEILING (NESTOR_PROC_FLOOR | PROC_INTR_WINDOW_EXITING | PROC_TSC_OFFSETTING | \
                             PROC_HLT_EXITING | PROC_INVLPG_EXITING | PROC_RDPMC_EXITING |       \
                             PROC_RDTSC_EXITING | PROC_CR3_LOAD_EXITING |                         \
                             PROC_CR3_STORE_EXITING | PROC_NMI_WINDOW_EXITING |                   \
                             PROC_MOV_DR_EXITING | PROC_MONITOR_TRAP_FLAG | PROC_PAUSE_EXITING)
#define NESTOR_PROC2_FLOOR (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_WBINVD_EXITING)
/* (PROC2_ENABLE_PML is the kernel's to set: it follows NESTOR_VCPU_SET_PML.) */
#define NESTOR_PROC2_CEILING (NESTOR_PROC2_FLOOR | PROC2_UNRESTRICTED_GUEST |                    \
                              PROC2_DESC_TABLE_EXITING | PROC2_ENABLE_RDTSCP |                     \
                              PROC2_WBINVD_EXITING | PROC2_PAUSE_LOOP_EXITING |                    \
                              PROC2_RDRAND_EXITING | PROC2_ENABLE_INVPCID | PROC2_RDSEED_EXITING)
/* What a fresh VCPU starts with on top of the floors. */
#define NESTOR_PROC_DEFAULT  (NESTOR_PROC_FLOOR | PROC_HLT_EXITING | PROC_RDPMC_EXITING)
#define NESTOR_PROC2_DEFAULT (NESTOR_PROC2_FLOOR | PROC2_UNRESTRICTED_GUEST)

#ifndef __ASSEMBLER__
enum nestor_vmcs_field {
#define NESTOR_VMCS_ENUM_(name, enc, access) VMCS_##name = (enc),
    NESTOR_VMCS_FIELDS(NESTOR_VMCS_ENUM_)
#undef NESTOR_VMCS_ENUM_
};
#endif

#endif
