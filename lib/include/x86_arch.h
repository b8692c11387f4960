/*
 * lib/include/x86_arch.h - architectural constants of the x86-64 CPU that
 * monitors (vmm-server, nested-vmx) show their guests, defined once: control-register and EFER bits, MSR
 * numbers, exception vectors, event-injection encodings, CPUID feature bits
 * and XCR0 components. Citations: Intel SDM (Vol. 1 basic architecture,
 * Vol. 2 instructions, Vol. 3A/3C system and VMX, Vol. 4 MSRs). Pure header:
 * also built into host unit tests.
 */
#ifndef X86_ARCH_H
#define X86_ARCH_H
#include <stdint.h>

#define X86_BIT(n) (1ULL << (n))

/* CR0 (SDM Vol. 3A 2.5, Figure 2-7). */
#define X86_CR0_PE  X86_BIT(0)
#define X86_CR0_MP  X86_BIT(1)
#define X86_CR0_EM  X86_BIT(2)
#define X86_CR0_TS  X86_BIT(3)
#define X86_CR0_ET  X86_BIT(4)
#define X86_CR0_NE  X86_BIT(5)
#define X86_CR0_WP  X86_BIT(16)
#define X86_CR0_AM  X86_BIT(18)
#define X86_CR0_NW  X86_BIT(29)
#define X86_CR0_CD  X86_BIT(30)
#define X86_CR0_PG  X86_BIT(31)
/* The defined bits; bits 63:32 are reserved (#GP when set, SDM Vol. 2B MOV
 * CR), reserved bits in 31:0 are ignored (SDM Vol. 3A 2.5: "reserved bits
 * should always be set to the values previously read"). */
#define X86_CR0_DEFINED (X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | \
                         X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | \
                         X86_CR0_PG)

/* CR4 (SDM Vol. 3A 2.5, Figure 2-7). */
#define X86_CR4_VME        X86_BIT(0)
#define X86_CR4_PVI        X86_BIT(1)
#define X86_CR4_TSD        X86_BIT(2)
#define X86_CR4_DE         X86_BIT(3)
#define X86_CR4_PSE        X86_BIT(4)
#define X86_CR4_PAE        X86_BIT(5)
#define X86_CR4_MCE        X86_BIT(6)
#define X86_CR4_PGE        X86_BIT(7)
#define X86_CR4_PCE        X86_BIT(8)
#define X86_CR4_OSFXSR     X86_BIT(9)
#define X86_CR4_OSXMMEXCPT X86_BIT(10)
#define X86_CR4_UMIP       X86_BIT(11)
#define X86_CR4_LA57       X86_BIT(12)
#define X86_CR4_VMXE       X86_BIT(13)
#define X86_CR4_SMXE       X86_BIT(14)
#define X86_CR4_FSGSBASE   X86_BIT(16)
#define X86_CR4_PCIDE      X86_BIT(17)
#define X86_CR4_OSXSAVE    X86_BIT(18)
#define X86_CR4_SMEP       X86_BIT(20)
#define X86_CR4_SMAP       X86_BIT(21)
#define X86_CR4_PKE        X86_BIT(22)

/* IA32_EFER (SDM Vol. 3A 2.2.1, Vol. 4 Table 2-2). */
#define X86_EFER_SCE X86_BIT(0)
#define X86_EFER_LME X86_BIT(8)
#define X86_EFER_LMA X86_BIT(10)
#define X86_EFER_NXE X86_BIT(11)

/* RFLAGS (SDM Vol. 1 3.4.3): bit 1 is reserved and reads as 1. */
#define X86_RFLAGS_CF     X86_BIT(0)
#define X86_RFLAGS_FIXED  X86_BIT(1)
#define X86_RFLAGS_PF     X86_BIT(2)
#define X86_RFLAGS_AF     X86_BIT(4)
#define X86_RFLAGS_ZF     X86_BIT(6)
#define X86_RFLAGS_SF     X86_BIT(7)
#define X86_RFLAGS_IF_BIT X86_BIT(9)
#define X86_RFLAGS_DF     X86_BIT(10)
#define X86_RFLAGS_OF     X86_BIT(11)
#define X86_RFLAGS_IOPL_SHIFT 12     /* I/O privilege level, bits 13:12 (3.4.3.3) */
#define X86_RFLAGS_IOPL_MASK  3u
#define X86_RFLAGS_NT     X86_BIT(14)
#define X86_RFLAGS_AC     X86_BIT(18)   /* alignment check (3.4.3.3) */
#define X86_RFLAGS_VM     X86_BIT(17)
#define X86_RFLAGS_RF     X86_BIT(16)    /* resume flag: skip instruction breakpoints once */
/* The status flags arithmetic instructions set (SDM Vol. 1 3.4.3.1). */
#define X86_RFLAGS_STATUS (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
                           X86_RFLAGS_SF | X86_RFLAGS_OF)

/* Guest activity state (SDM Vol. 3C 24.4.2, Table 24-3): 1 = HLT. */
#define X86_ACTIVITY_HLT 1

/* Guest interruptibility state (SDM Vol. 3C 24.4.2, Table 24-3). With the
 * "virtual NMIs" pin control, bit 3 is virtual-NMI blocking (SDM 25.3). */
#define X86_INTR_BLOCK_STI   X86_BIT(0)
#define X86_INTR_BLOCK_MOVSS X86_BIT(1)
#define X86_INTR_BLOCK_NMI   X86_BIT(3)
#define X86_INTR_BLOCK_SHADOW (X86_INTR_BLOCK_STI | X86_INTR_BLOCK_MOVSS)

/* Segment access rights as in the VMCS (SDM Vol. 3C 24.4.1, Table 24-2). */
#define X86_AR_DPL_SHIFT 5
#define X86_AR_DPL_MASK  3u
#define X86_AR_L         X86_BIT(13)
#define X86_AR_DB        X86_BIT(14)
#define X86_AR_UNUSABLE  X86_BIT(16)

/* Paging-structure entries (SDM Vol. 3A 4.3, 4.5: Tables 4-4 .. 4-19):
 * present, writable, user-mode accessible, accessed, dirty (in the entry
 * that maps a page: 4.8), page size (a 4 MiB, 2 MiB or 1 GiB page). */
#define X86_PTE_P  X86_BIT(0)
#define X86_PTE_RW X86_BIT(1)
#define X86_PTE_US X86_BIT(2)
#define X86_PTE_A  X86_BIT(5)
#define X86_PTE_D  X86_BIT(6)
#define X86_PTE_PS X86_BIT(7)

/* MSRs (SDM Vol. 4, Table 2-2 architectural MSRs). */
#define MSR_IA32_TSC               0x010
#define MSR_IA32_APIC_BASE         0x01B
#define MSR_IA32_TSC_ADJUST        0x03B
#define MSR_IA32_FEATURE_CONTROL   0x03A
#define MSR_IA32_BIOS_SIGN_ID      0x08B
#define MSR_IA32_MTRRCAP           0x0FE
#define MSR_IA32_TSC_DEADLINE      0x6E0      /* SDM Vol. 3A 10.5.4.1 */
#define MSR_IA32_SYSENTER_CS       0x174
#define MSR_IA32_SYSENTER_ESP      0x175
#define MSR_IA32_SYSENTER_EIP      0x176
#define MSR_IA32_MISC_ENABLE       0x1A0
#define MSR_IA32_DEBUGCTL          0x1D9
#define MSR_IA32_PAT               0x277
#define MSR_IA32_MTRR_DEF_TYPE     0x2FF
#define MSR_IA32_EFER              0xC0000080
#define MSR_IA32_STAR              0xC0000081
#define MSR_IA32_LSTAR             0xC0000082
#define MSR_IA32_CSTAR             0xC0000083
#define MSR_IA32_FMASK             0xC0000084
#define MSR_IA32_FS_BASE           0xC0000100
#define MSR_IA32_GS_BASE           0xC0000101
#define MSR_IA32_KERNEL_GS_BASE    0xC0000102
#define MSR_IA32_TSC_AUX           0xC0000103

/* IA32_APIC_BASE (SDM Vol. 3A 10.4.4, Figure 10-5). */
#define X86_APIC_BASE_BSP    X86_BIT(8)
#define X86_APIC_BASE_EXTD   X86_BIT(10)       /* x2APIC mode (10.12.1) */
#define X86_APIC_BASE_EN     X86_BIT(11)
#define X86_APIC_BASE_ADDR   0xFFFFFFFFFF000ULL /* bits MAXPHYADDR-1:12 */
#define X86_APIC_BASE_RESET  (0xFEE00000ULL | X86_APIC_BASE_BSP | X86_APIC_BASE_EN)

/* IA32_TSC_AUX (SDM Vol. 4 Table 2-2): bits 31:0 the value RDTSCP returns
 * in ECX, bits 63:32 reserved. */
#define X86_TSC_AUX_MASK 0xFFFFFFFFULL

/* IA32_FEATURE_CONTROL (SDM Vol. 3C 23.7): bit 0 lock. */
#define X86_FEATURE_CONTROL_LOCK X86_BIT(0)

/* IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2): fast strings (R/W), automatic
 * thermal control (R/W), performance monitoring available (R/O), BTS and
 * PEBS unavailable (R/O), xTPR message disable (R/W). */
#define X86_MISC_ENABLE_FAST_STRINGS X86_BIT(0)
#define X86_MISC_ENABLE_TCC          X86_BIT(3)
#define X86_MISC_ENABLE_PERFMON      X86_BIT(7)
#define X86_MISC_ENABLE_BTS_UNAVAIL  X86_BIT(11)
#define X86_MISC_ENABLE_PEBS_UNAVAIL X86_BIT(12)
#define X86_MISC_ENABLE_XTPR_DISABLE X86_BIT(23)

/* Debug registers (SDM Vol. 3B 17.2): four breakpoint addresses, DR6
 * status, DR7 control. */
#define X86_DEBUG_SLOTS      4
#define X86_DR6_B(i)         X86_BIT(i)         /* breakpoint condition i met */
#define X86_DR6_BS           X86_BIT(14)        /* single step */
/* Debug register numbers (17.2): DR4 and DR5 are DR6 and DR7 unless CR4.DE
 * (17.2.2). */
#define X86_DR_ALIAS_STATUS  4u
#define X86_DR_ALIAS_CONTROL 5u
#define X86_DR_STATUS        6u
#define X86_DR_CONTROL       7u
#define X86_DR6_BD           X86_BIT(13)        /* a debug-register access detected (17.2.3) */
/* DR6 bits 31:16 and 11:4 are reserved and read as 1 (17.2.3). */
#define X86_DR6_FIXED1       0xFFFF0FF0ull
#define X86_DR7_GD           X86_BIT(13)        /* general detect: MOV DR raises #DB (17.2.4) */
/* DR7 bits 11, 12, 14 and 15 are reserved and read as 0 (17.2.4). */
#define X86_DR7_FIXED0       (X86_BIT(11) | X86_BIT(12) | X86_BIT(14) | X86_BIT(15))
#define X86_DR7_L(i)         X86_BIT(2 * (i))   /* local enable of breakpoint i */
#define X86_DR7_LE           X86_BIT(8)         /* exact data breakpoints (recommended) */
#define X86_DR7_FIXED1       X86_BIT(10)        /* reads as 1 */
#define X86_DR7_RW_SHIFT(i)  (16 + 4 * (i))     /* R/W field of breakpoint i */
#define X86_DR7_LEN_SHIFT(i) (18 + 4 * (i))     /* LEN field of breakpoint i */
#define X86_DR7_RW_EXEC      0u                 /* break on instruction execution */
#define X86_DR7_RW_WRITE     1u                 /* on data writes */
#define X86_DR7_RW_ACCESS    3u                 /* on data reads or writes */
/* SDM 17.2.5: LEN 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8 (IA-32e mode). */
#define X86_DR7_LEN_1        0u
#define X86_DR7_LEN_2        1u
#define X86_DR7_LEN_8        2u
#define X86_DR7_LEN_4        3u

/* Gate and segment descriptors as one 8-byte word (SDM Vol. 3A 3.4.5,
 * 6.11 Figure 6-2, 6.14.1 Figure 6-8: an IA-32e gate's second word holds
 * offset bits 63:32): type 43:40, present 47; a gate's offset 15:0 and
 * 63:48 (31:16), its selector 31:16; a segment's base 39:16 and 63:56. */
#define X86_DESC_TYPE(d)       (((d) >> 40) & 0xFu)
#define X86_DESC_P             X86_BIT(47)
#define X86_DESC_BASE(d)       ((((d) >> 16) & 0xFFFFFFull) | (((d) >> 56) << 24))
#define X86_GATE_OFFSET(d)     (((d) & 0xFFFFull) | (((d) >> 32) & 0xFFFF0000ull))
#define X86_GATE_SEL(d)        (((d) >> 16) & 0xFFFFu)
/* Gate types (3.5 Table 3-2): 16-bit interrupt and trap gates, 32-bit ones
 * (64-bit ones in IA-32e mode, where only these two are valid). */
#define X86_GATE_INT16         0x6u
#define X86_GATE_TRAP16        0x7u
#define X86_GATE_INT32         0xEu
#define X86_GATE_TRAP32        0xFu
#define X86_GATE_32BIT         0x8u     /* the type bit that makes a gate 32-bit */
#define X86_IDT_GATE_SIZE      8u       /* bytes per IDT entry (16 in IA-32e mode) */
#define X86_IDT_GATE_SIZE_64   16u
#define X86_IVT_ENTRY_SIZE     4u       /* real mode: offset, segment (20.1.4) */
#define X86_REAL_SEG_SHIFT     4        /* real-mode linear = segment * 16 + offset */

/* IA32_DEBUGCTL (SDM Vol. 3B 17.4.1): BTF, single-step on branches. */
#define X86_DEBUGCTL_BTF X86_BIT(1)

/* PAT (SDM Vol. 3A 11.12.2): 8 entries of 8 bits; memory types 2, 3 and
 * values >= 8 are reserved. Power-up value: WB WT UC- UC WB WT UC- UC. */
#define X86_PAT_RESET 0x0007040600070406ULL

/* MTRRs (SDM Vol. 3A 11.11.2.1): IA32_MTRR_DEF_TYPE type (7:0), FE (10), E (11). */
#define X86_MTRR_DEF_TYPE_MASK 0xFFULL
#define X86_MTRR_DEF_FE        X86_BIT(10)
#define X86_MTRR_DEF_E         X86_BIT(11)

/* Memory types (SDM Vol. 3A 11.3, Table 11-2 / 11-10). */
#define X86_MT_UC  0
#define X86_MT_WC  1
#define X86_MT_WT  4
#define X86_MT_WP  5
#define X86_MT_WB  6
#define X86_MT_UCM 7                            /* UC-: PAT only */

/* Exception vectors (SDM Vol. 3A 6.3.1, Table 6-1). */
#define X86_VECTORS 256          /* interrupt and exception vectors (6.2) */
#define X86_EXCEPTIONS 32        /* 0-31: the architecture's (6.2) */
#define X86_VEC_DE 0
#define X86_VEC_DB 1
#define X86_VEC_NMI 2
#define X86_VEC_BP 3
#define X86_OP_INT3 0xCC         /* its one-byte instruction (SDM Vol. 2A INT3) */
#define X86_VEC_OF 4
#define X86_VEC_BR 5
#define X86_VEC_UD 6
#define X86_VEC_NM 7
#define X86_VEC_DF 8
#define X86_VEC_TS 10
#define X86_VEC_NP 11
#define X86_VEC_SS 12
#define X86_VEC_GP 13
#define X86_VEC_PF 14
#define X86_VEC_MF 16
#define X86_VEC_AC 17
#define X86_VEC_MC 18
#define X86_VEC_XM 19
#define X86_VEC_VE 20
#define X86_VEC_CP 21
#define X86_VEC_VC 29
#define X86_VEC_SX 30

/* A fault-class exception (SDM Vol. 3A 6.5, Table 6-1): #DE #BR #UD #NM
 * #TS #NP #SS #GP #PF #MF #AC #XM #VE #CP. #DB is a fault or a trap by its
 * cause, #BP #OF traps, #DF #MC aborts: false for them. A fault pushes RF = 1
 * (SDM Vol. 3B 17.3.1.1), which event injection does not do by itself. */
static inline int x86_exception_is_fault(unsigned v)
{
    switch (v) {
    case X86_VEC_DE: case X86_VEC_BR: case X86_VEC_UD: case X86_VEC_NM: case X86_VEC_TS:
    case X86_VEC_NP: case X86_VEC_SS: case X86_VEC_GP: case X86_VEC_PF: case X86_VEC_MF:
    case X86_VEC_AC: case X86_VEC_XM: case X86_VEC_VE: case X86_VEC_CP:
        return 1;
    default:
        return 0;
    }
}

/* The exceptions that push an error code outside real mode (SDM Vol. 3A
 * 6.13, Table 6-1): #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. An INT n of
 * one of these vectors pushes none (6.4.2). */
static inline int x86_exception_has_error(unsigned v)
{
    switch (v) {
    case X86_VEC_DF: case X86_VEC_TS: case X86_VEC_NP: case X86_VEC_SS: case X86_VEC_GP:
    case X86_VEC_PF: case X86_VEC_AC: case X86_VEC_CP: case X86_VEC_VC: case X86_VEC_SX:
        return 1;
    default:
        return 0;
    }
}

/* #PF error code (SDM Vol. 3A 4.7, Figure 4-12). */
#define X86_PF_PRESENT X86_BIT(0)
#define X86_PF_WRITE   X86_BIT(1)
#define X86_PF_USER    X86_BIT(2)
#define X86_PF_FETCH   X86_BIT(4)

/* Event injection / IDT-vectoring information (SDM Vol. 3C 24.8.3, Table
 * 24-16; 24.9.3, Table 24-18: the same layout). */
#define X86_INTR_VECTOR_MASK  0xFFu
#define X86_INTR_TYPE_SHIFT   8
#define X86_INTR_TYPE_MASK    (7u << X86_INTR_TYPE_SHIFT)
#define X86_INTR_TYPE_EXT     (0u << X86_INTR_TYPE_SHIFT)   /* external interrupt */
#define X86_INTR_TYPE_NMI     (2u << X86_INTR_TYPE_SHIFT)
#define X86_INTR_TYPE_HW_EXC  (3u << X86_INTR_TYPE_SHIFT)   /* hardware exception */
#define X86_INTR_TYPE_SW_INT  (4u << X86_INTR_TYPE_SHIFT)   /* INT n */
#define X86_INTR_TYPE_PRIV_SW_EXC (5u << X86_INTR_TYPE_SHIFT) /* INT1 */
#define X86_INTR_TYPE_SW_EXC  (6u << X86_INTR_TYPE_SHIFT)   /* INT3, INTO */
#define X86_INTR_DELIVER_ERR  X86_BIT(11)
#define X86_INTR_VALID        X86_BIT(31)

/* I/O-instruction exit qualification (SDM Vol. 3C 27.2.1, Table 27-5):
 * size - 1 in bits 2:0 (0, 1 or 3), direction bit 3 (1 = IN), string
 * instruction bit 4, REP prefix bit 5, port number in bits 31:16. */
#define X86_IOQ_SIZE_MASK  0x7u
#define X86_IOQ_IN         X86_BIT(3)
#define X86_IOQ_STRING     X86_BIT(4)
#define X86_IOQ_REP        X86_BIT(5)
#define X86_IOQ_PORT_SHIFT 16
/* VM-exit instruction information for INS/OUTS (SDM Vol. 3C 27.2.5, Table
 * 27-8): address size in bits 9:7 (0 = 16, 1 = 32, 2 = 64 bit), segment
 * register in bits 17:15 (0 ES .. 5 GS; undefined for INS). */
#define X86_IOI_ASIZE_SHIFT 7
#define X86_IOI_ASIZE_MASK  0x7u
#define X86_IOI_ASIZE_64    2u
#define X86_IOI_SEG_SHIFT   15
#define X86_IOI_SEG_MASK    0x7u

/* XCR0 state components (SDM Vol. 1 13.1, 13.3). */
#define X86_XCR0_X87 X86_BIT(0)
#define X86_XCR0_SSE X86_BIT(1)
#define X86_XCR0_AVX X86_BIT(2)

/* CPUID feature bits (SDM Vol. 2A CPUID, Tables 3-8 .. 3-10). */
#define CPUID_1_ECX_MONITOR    X86_BIT(3)
#define CPUID_1_ECX_VMX        X86_BIT(5)
#define CPUID_1_ECX_PDCM       X86_BIT(15)
#define CPUID_1_ECX_X2APIC     X86_BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE X86_BIT(24)
#define CPUID_1_ECX_XSAVE      X86_BIT(26)
#define CPUID_1_ECX_OSXSAVE    X86_BIT(27)
#define CPUID_1_ECX_AVX        X86_BIT(28)
#define CPUID_1_ECX_HYPERVISOR X86_BIT(31)
#define CPUID_1_EDX_APIC       X86_BIT(9)
#define CPUID_1_EDX_SEP        X86_BIT(11)
#define CPUID_7_EBX_TSC_ADJUST X86_BIT(1)
#define CPUID_7_EBX_INVPCID    X86_BIT(10)
#define CPUID_7_ECX_RDPID      X86_BIT(22)
#define CPUID_D1_EAX_XSAVES    X86_BIT(3)
#define CPUID_81_EDX_SYSCALL   X86_BIT(11)
#define CPUID_81_EDX_RDTSCP    X86_BIT(27)

/* Canonical linear addresses with 48 bits (SDM Vol. 1 3.3.7.1; LA57 is not
 * offered): bits 63:47 all equal. */
static inline int x86_canonical(uint64_t la)
{
    return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

#endif
