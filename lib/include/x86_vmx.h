/*
 * lib/include/x86_vmx.h - the architectural VMX vocabulary, defined once for
 * the kernel (which runs VMX) and nested-vmx (which shows VMX to guest
 * hypervisors): capability MSRs and their layouts (SDM Vol. 3D Appendix A),
 * VMCS field-encoding layout (SDM Vol. 3C 24.11.2), VM-entry and VM-exit
 * control bits (24.7, 24.8), VM-instruction error numbers (30.4), VMX
 * instruction operand types (Vol. 2C INVEPT/INVVPID). Field encodings and
 * the execution-control bits are in nestor/vmcs.h (the kernel's public
 * field table). Pure header: also built into host unit tests.
 */
#ifndef X86_VMX_H
#define X86_VMX_H
#include <nestor/bits.h>

/* VMX capability MSRs (SDM Vol. 3D Appendix A). */
#define MSR_IA32_VMX_BASIC              0x480
#define MSR_IA32_VMX_PINBASED_CTLS      0x481
#define MSR_IA32_VMX_PROCBASED_CTLS     0x482
#define MSR_IA32_VMX_EXIT_CTLS          0x483
#define MSR_IA32_VMX_ENTRY_CTLS         0x484
#define MSR_IA32_VMX_MISC               0x485
#define MSR_IA32_VMX_CR0_FIXED0         0x486
#define MSR_IA32_VMX_CR0_FIXED1         0x487
#define MSR_IA32_VMX_CR4_FIXED0         0x488
#define MSR_IA32_VMX_CR4_FIXED1         0x489
#define MSR_IA32_VMX_VMCS_ENUM          0x48A
#define MSR_IA32_VMX_PROCBASED_CTLS2    0x48B
#define MSR_IA32_VMX_EPT_VPID_CAP       0x48C
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48D
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_IA32_VMX_TRUE_EXIT_CTLS     0x48F
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS    0x490
#define MSR_IA32_VMX_VMFUNC             0x491
#define MSR_IA32_VMX_FIRST              MSR_IA32_VMX_BASIC
#define MSR_IA32_VMX_LAST               MSR_IA32_VMX_VMFUNC

/* IA32_VMX_BASIC (SDM A.1) */
#define VMX_BASIC_REVISION_MASK     0x7FFFFFFF
#define VMX_BASIC_REGION_SIZE_SHIFT 32
#define VMX_BASIC_REGION_SIZE_MASK  0x1FFF
#define VMX_BASIC_PHYS_32           BIT(48)  /* addresses limited to 32 bits */
#define VMX_BASIC_MEMTYPE_SHIFT     50
#define VMX_BASIC_MEMTYPE_WB        6ULL
#define VMX_BASIC_INOUT_INFO        BIT(54)  /* INS/OUTS exits report instruction info */
#define VMX_BASIC_TRUE_CTLS         BIT(55)
/* SDM 24.2: bit 31 of a VMCS region's first word, the shadow-VMCS indicator. */
#define VMCS_REVISION_SHADOW        BIT(31)

/* IA32_VMX_EPT_VPID_CAP (SDM A.10) */
#define EPT_CAP_EXECUTE_ONLY        BIT(0)
#define EPT_CAP_PAGE_WALK_4         BIT(6)
#define EPT_CAP_MEMTYPE_UC          BIT(8)
#define EPT_CAP_MEMTYPE_WB          BIT(14)
#define EPT_CAP_2MB_PAGES           BIT(16)
#define EPT_CAP_1GB_PAGES           BIT(17)
#define EPT_CAP_INVEPT              BIT(20)
#define EPT_CAP_ACCESSED_DIRTY      BIT(21)
#define EPT_CAP_INVEPT_SINGLE       BIT(25)
#define EPT_CAP_INVEPT_ALL          BIT(26)
#define VPID_CAP_INVVPID            BIT(32)
#define VPID_CAP_INVVPID_ADDR       BIT(40)
#define VPID_CAP_INVVPID_SINGLE     BIT(41)
#define VPID_CAP_INVVPID_ALL        BIT(42)
#define VPID_CAP_INVVPID_SINGLE_NG  BIT(43)
/* INVVPID / INVEPT types (SDM Vol. 2C) */
#define INVVPID_ADDRESS             0
#define INVVPID_SINGLE_CONTEXT      1
#define INVVPID_ALL_CONTEXT         2
#define INVVPID_SINGLE_NON_GLOBAL   3
#define INVEPT_SINGLE_CONTEXT       1    /* the mappings of one EP4TA (SDM 28.4.3.1) */
#define INVEPT_ALL_CONTEXT          2    /* the mappings of every EP4TA */

/* IA32_VMX_MISC (SDM A.6) */
#define VMX_MISC_PREEMPT_RATE_MASK  0x1F
#define VMX_MISC_STORE_LMA          BIT(5)
#define VMX_MISC_ACTIVITY_HLT       BIT(6)
#define VMX_MISC_CR3_TARGETS_SHIFT  16
#define VMX_MISC_MSR_LIST_SHIFT     25   /* 512 * (N + 1) entries recommended at most */
#define VMX_MISC_MSR_LIST_UNIT      512
#define VMX_MISC_VMWRITE_ANY_FIELD  BIT(29)

/* A control may be 0 iff its bit is clear in the MSR's low half, may be 1
 * iff its bit is set in the high half (SDM A.3). */
#define VMX_CTLS_ALLOWED1_SHIFT     32
/* Controls that are 1 by default ("default1", SDM A.2) in the non-TRUE MSRs. */
#define VMX_PIN_DEFAULT1            0x00000016u
#define VMX_PROC_DEFAULT1           0x0401E172u
#define VMX_EXIT_DEFAULT1           0x00036DFFu
#define VMX_ENTRY_DEFAULT1          0x000011FFu

/* VMCS field encoding (SDM 24.11.2): bit 0 access (1: high half of a 64-bit
 * field), bits 9:1 index, bits 11:10 type, bits 14:13 width. */
#define VMCS_FIELD_HIGH(f)           ((f) & 1)
#define VMCS_FIELD_INDEX(f)          (((f) >> 1) & 0x1FF)
#define VMCS_FIELD_WIDTH(f)          (((f) >> 13) & 3)
#define VMCS_WIDTH_16                0
#define VMCS_WIDTH_64                1
#define VMCS_WIDTH_32                2
#define VMCS_WIDTH_NATURAL           3
#define VMCS_FIELD_TYPE(f)           (((f) >> 10) & 3)
#define VMCS_TYPE_CONTROL            0
#define VMCS_TYPE_READ_ONLY          1
#define VMCS_TYPE_GUEST              2
#define VMCS_TYPE_HOST               3
/* Bits that must be 0 in an encoding (SDM 24.11.2: bit 12 and bits 31:15). */
#define VMCS_FIELD_RESERVED          0xFFFF9000u
/* VMREAD and VMWRITE bitmaps (SDM 24.6.15): 4 KiB each; the bit numbered by
 * bits 14:0 of a field's encoding says whether a guest's VMREAD/VMWRITE of
 * it exits (1) or uses the shadow VMCS (0); encodings with any of bits
 * 63:15 set always exit (SDM 25.1.3). */
#define VMX_RW_BITMAP_INDEX_MASK     0x7FFFu
#define VMX_RW_BITMAP_BYTES          4096u

/* VM-exit controls (SDM 24.7.1, Table 24-13) */
#define EXIT_SAVE_DEBUG_CTLS         BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE    BIT(9)
#define EXIT_LOAD_PERF_GLOBAL        BIT(12)
#define EXIT_ACK_INTR_ON_EXIT        BIT(15)
#define EXIT_SAVE_PAT                BIT(18)
#define EXIT_LOAD_PAT                BIT(19)
#define EXIT_SAVE_EFER               BIT(20)
#define EXIT_LOAD_EFER               BIT(21)
#define EXIT_SAVE_PREEMPT_TIMER      BIT(22)
/* VM-entry controls (SDM 24.8.1, Table 24-15) */
#define ENTRY_LOAD_DEBUG_CTLS        BIT(2)
#define ENTRY_IA32E_MODE_GUEST       BIT(9)
#define ENTRY_TO_SMM                 BIT(10)
#define ENTRY_DEACT_DUAL_MONITOR     BIT(11)
#define ENTRY_LOAD_PERF_GLOBAL       BIT(13)
#define ENTRY_LOAD_PAT               BIT(14)
#define ENTRY_LOAD_EFER              BIT(15)

/* Exit reason field (SDM 24.9.1): basic reason in bits 15:0, bit 31 = entry failure. */
#define EXIT_REASON_BASIC_MASK       0xFFFF
#define EXIT_REASON_ENTRY_FAILURE    BIT(31)
/* Exit qualification of an entry failure for invalid guest state (SDM 26.8). */
#define ENTRY_FAIL_QUAL_DEFAULT      0
#define ENTRY_FAIL_QUAL_PDPTE        2
#define ENTRY_FAIL_QUAL_NMI_INJECT   3
#define ENTRY_FAIL_QUAL_LINK_PTR     4

/* VM-instruction error numbers (SDM 30.4, Table 30-1) */
#define VMXERR_VMCALL_IN_ROOT              1
#define VMXERR_VMCLEAR_INVALID_ADDR        2
#define VMXERR_VMCLEAR_VMXON_PTR           3
#define VMXERR_VMLAUNCH_NOT_CLEAR          4
#define VMXERR_VMRESUME_NOT_LAUNCHED       5
#define VMXERR_VMRESUME_AFTER_VMXOFF       6
#define VMXERR_ENTRY_INVALID_CONTROLS      7
#define VMXERR_ENTRY_INVALID_HOST_STATE    8
#define VMXERR_VMPTRLD_INVALID_ADDR        9
#define VMXERR_VMPTRLD_VMXON_PTR           10
#define VMXERR_VMPTRLD_BAD_REVISION        11
#define VMXERR_UNSUPPORTED_FIELD           12
#define VMXERR_VMWRITE_READ_ONLY           13
#define VMXERR_VMXON_IN_ROOT               15
#define VMXERR_ENTRY_BAD_EXECUTIVE_VMCS    16
#define VMXERR_ENTRY_NONLAUNCHED_EXECUTIVE 17
#define VMXERR_ENTRY_EXECUTIVE_NOT_VMXON   18
#define VMXERR_VMCALL_NONCLEAR             19
#define VMXERR_VMCALL_BAD_EXIT_CONTROLS    20
#define VMXERR_VMCALL_BAD_MSEG_REVISION    22
#define VMXERR_VMXOFF_DUAL_MONITOR         23
#define VMXERR_VMCALL_BAD_SMM_FEATURES     24
#define VMXERR_ENTRY_BAD_EXEC_CONTROLS_EXECUTIVE 25
#define VMXERR_ENTRY_MOVSS_BLOCKING        26
#define VMXERR_INVALID_INVEPT_INVVPID      28

/* Exit qualification of a control-register access (SDM 27.2.1, Table
 * 27-3): CR number 3:0, access type 5:4, GPR 11:8, LMSW source 31:16. The
 * I/O qualification's bits are x86_arch.h's X86_IOQ_*. */
#define CRQ_NUMBER(q)      ((q) & 0xF)
#define CRQ_TYPE(q)        (((q) >> 4) & 0x3)
#define CRQ_GPR(q)         (((q) >> 8) & 0xF)
#define CRQ_LMSW_SRC(q)    (((q) >> 16) & 0xFFFF)
#define CRQ_MOV_TO_CR      0
#define CRQ_MOV_FROM_CR    1
#define CRQ_CLTS           2
#define CRQ_LMSW           3
#define LMSW_BITS          0xFULL      /* what LMSW loads: PE MP EM TS (SDM Vol. 2A LMSW) */
/* Exit qualification of a MOV DR (SDM 27.2.1, Table 27-3): the debug
 * register 2:0, the direction 4 (1: MOV from DR), the GPR 11:8. */
#define DRQ_NUMBER(q)      ((q) & 0x7)
#define DRQ_FROM_DR        BIT(4)
#define DRQ_GPR(q)         (((q) >> 8) & 0xF)
/* The pending debug exceptions field (SDM 24.4.2, Table 24-4): B3-B0 3:0,
 * enabled breakpoint 12, BS 14 (a single-step trap pending). */
#define PENDING_DBG_BS     BIT(14)
/* The I/O qualification's access size in bytes and port (Table 27-5). */
#define IOQ_SIZE(q)        (((q) & X86_IOQ_SIZE_MASK) + 1)
#define IOQ_PORT(q)        (((q) >> X86_IOQ_PORT_SHIFT) & 0xFFFF)

/* VMX instruction results in RFLAGS (SDM 30.2): VMsucceed clears CF PF AF
 * ZF SF OF; VMfailInvalid sets CF; VMfailValid sets ZF. */
#define VMX_RFLAGS_ARITH   (BIT(0) | BIT(2) | BIT(4) | BIT(6) | BIT(7) | BIT(11))
#define VMX_RFLAGS_CF      BIT(0)
#define VMX_RFLAGS_ZF      BIT(6)

/* The VM-exit instruction-information field of VMX instructions (SDM 27.2.5,
 * Table 27-13 for VMCLEAR VMPTRLD VMPTRST VMXON INVEPT INVVPID and 27-14 for
 * VMREAD VMWRITE): scaling 1:0, reg1 6:3 (VMREAD/VMWRITE), address size
 * 9:7, mem/reg 10, segment 17:15, index 21:18 (+invalid 22), base 26:23
 * (+invalid 27), reg2 31:28. */
#define VMX_II_SCALE(ii)        ((ii) & 3)
#define VMX_II_REG1(ii)         (((ii) >> 3) & 0xF)
#define VMX_II_ADDR_SIZE(ii)    (((ii) >> 7) & 7)    /* 0: 16, 1: 32, 2: 64 bits */
#define VMX_II_IS_REG(ii)       (((ii) >> 10) & 1)
#define VMX_II_SEG(ii)          (((ii) >> 15) & 7)   /* ES CS SS DS FS GS */
#define VMX_II_INDEX(ii)        (((ii) >> 18) & 0xF)
#define VMX_II_INDEX_INVALID(ii) (((ii) >> 22) & 1)
#define VMX_II_BASE(ii)         (((ii) >> 23) & 0xF)
#define VMX_II_BASE_INVALID(ii) (((ii) >> 27) & 1)
#define VMX_II_REG2(ii)         (((ii) >> 28) & 0xF)

/* Address sizes and segment registers in the instruction-information field
 * (SDM 27.2.5, Tables 27-13 and 27-14). */
#define VMX_II_ADDR_16          0
#define VMX_II_ADDR_32          1
#define VMX_II_ADDR_64          2
#define VMX_II_SEG_ES           0
#define VMX_II_SEG_CS           1
#define VMX_II_SEG_SS           2
#define VMX_II_SEG_DS           3
#define VMX_II_SEG_FS           4
#define VMX_II_SEG_GS           5
#define VMX_II_SEG_COUNT        6

/* IA32_FEATURE_CONTROL (SDM 23.7): bit 2 enables VMXON outside SMX. */
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)

/* Exit qualification of an EPT violation (SDM 27.2.1, Table 27-7): the
 * access (read, write, fetch), the EPT entries' permissions (bits 5:3),
 * whether the guest-linear address field is valid (7) and, if so, whether
 * the access was to the linear address's translation (8: 1) or to a
 * paging-structure entry (0), NMI unblocking by IRET (12). */
#define EPT_QUAL_READ               BIT(0)
#define EPT_QUAL_WRITE              BIT(1)
#define EPT_QUAL_FETCH              BIT(2)
#define EPT_QUAL_ACCESS             (EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_FETCH)
#define EPT_QUAL_PERM_SHIFT         3
#define EPT_QUAL_LINEAR_VALID       BIT(7)
#define EPT_QUAL_TRANSLATED         BIT(8)
#define EPT_QUAL_NMI_UNBLOCKED      BIT(12)

/* The EPT pointer (SDM 24.6.11, Table 24-8): memory type 2:0, page-walk
 * length minus 1 in 5:3, accessed/dirty flags 6, bits 11:7 reserved here
 * (bit 7 is the supervisor-shadow-stack control, not offered), the EPT
 * PML4 table's address from bit 12. */
#define EPTP_MEMTYPE_MASK           0x7ULL
#define EPTP_WALK_SHIFT             3
#define EPTP_WALK_MASK              (0x7ULL << EPTP_WALK_SHIFT)
#define EPTP_WALK_4                 (3ULL << EPTP_WALK_SHIFT)
#define EPTP_ACCESSED_DIRTY         BIT(6)
#define EPTP_RESERVED_LOW           0xF80ULL
/* EPT paging-structure entries (SDM 28.3.2, Tables 28-1 .. 28-6): read,
 * write and execute 2:0 (not present when all three are 0), a 1 GiB or
 * 2 MiB page in a PDPTE or PDE with bit 7, the address bits 51:12. */
#define X86_EPT_R                   BIT(0)
#define X86_EPT_W                   BIT(1)
#define X86_EPT_X                   BIT(2)
#define X86_EPT_RWX                 (X86_EPT_R | X86_EPT_W | X86_EPT_X)
#define X86_EPT_PS                  BIT(7)
#define X86_EPT_ADDR_MASK           0x000FFFFFFFFFF000ULL
#define X86_EPT_LEVELS              4           /* with EPTP_WALK_4 */
/* IA32_VMX_EPT_VPID_CAP (SDM A.10): INVEPT type t is supported iff bit
 * (EPT_CAP_INVEPT_TYPE_SHIFT + t) is set, INVVPID type t iff bit
 * (VPID_CAP_INVVPID_TYPE_SHIFT + t). */
#define EPT_CAP_INVEPT_TYPE_SHIFT   24
#define VPID_CAP_INVVPID_TYPE_SHIFT 40
/* The INVEPT / INVVPID descriptor (SDM Vol. 2C INVEPT, INVVPID): 128 bits;
 * INVVPID's VPID in bits 15:0, bits 63:16 reserved (must be 0), the linear
 * address in bits 127:64. */
#define INV_DESC_SIZE               16
#define INVVPID_DESC_VPID_MASK      0xFFFFULL

/* What the VM-entry checks examine (SDM 26.2, 26.3, 26.4) that x86_arch.h
 * does not name. */
/* VM-entry interruption-information field (SDM 24.8.3, Table 24-16):
 * bits 30:12 reserved; types 1 (reserved) and 7 (other event). */
#define VMX_ENTRY_INTR_RESERVED      0x7FFFF000u
#define VMX_INTR_TYPE_RESERVED       1u
#define VMX_INTR_TYPE_OTHER          7u
/* Instruction length for software events (SDM 26.2.1.3): 1..15. */
#define VMX_INSTR_LEN_MAX            15u
/* VM-entry exception error code (SDM 26.2.1.3): bits 31:16 must be 0. */
#define VMX_ENTRY_ERRCODE_RESERVED   0xFFFF0000u
/* Guest interruptibility state (SDM 24.4.2, Table 24-3): bit 2 blocking by
 * SMI; bit 4 (enclave interruption, SGX) and bits 31:5 reserved here. */
#define VMX_INTR_BLOCK_SMI           BIT(2)
#define VMX_INTERRUPTIBILITY_RESERVED 0xFFFFFFF0ULL
/* Pending debug exceptions (SDM 24.4.2, Table 24-4): B3-B0 3:0, enabled
 * breakpoint 12, BS 14; bit 16 (RTM) is reserved without RTM, so the rest. */
#define VMX_PENDING_DBG_BS           BIT(14)
#define VMX_PENDING_DBG_RESERVED     0xFFFFFFFFFFFFAFF0ULL
/* VMCS link pointer meaning "none" (SDM 24.4.2). */
#define VMCS_LINK_PTR_NONE           0xFFFFFFFFFFFFFFFFULL
/* MSR-load/-store area entries (SDM 24.7.2, Table 24-12): bits 31:0 the
 * MSR index, 63:32 reserved, 127:64 the data; 16 bytes, 16-byte aligned. */
#define VMX_MSR_ENTRY_SIZE           16u
#define VMX_MSR_ENTRY_RESERVED       0xFFFFFFFF00000000ULL
#define VMX_MSR_AREA_ALIGN_MASK      0xFULL
/* MSRs no VM-entry MSR-load list may load (SDM 26.4; Vol. 4 2.1 and the
 * microcode-update MSRs): x2APIC registers 800H-8FFH, the SMM-only MSRs,
 * microcode update trigger and signature. */
#define MSR_IA32_BIOS_UPDT_TRIG      0x079
#define MSR_IA32_BIOS_SIGN_ID        0x08B
#define MSR_IA32_SMM_MONITOR_CTL     0x09B
#define MSR_IA32_SMBASE              0x09E
#define MSR_X2APIC_FIRST             0x800
#define MSR_X2APIC_LAST              0x8FF

/* Architectural state the guest- and host-state checks examine (SDM Vol. 1
 * 3.4.3, Vol. 3A 2.2.1, 3.4.2, 3.4.5, 4.4.1, 17.2.4, 17.4.1). */
#define X86_RFLAGS_TF                BIT(8)
/* #MC, the machine-check exception (SDM Vol. 3A 6.3.1, Table 6-1). */
#define X86_VEC_MC                   18
/* RFLAGS bits 63:22, 15, 5 and 3 are reserved (must be 0). */
#define X86_RFLAGS_RESERVED          0xFFFFFFFFFFC08028ULL
/* IA32_EFER: everything but SCE (0), LME (8), LMA (10), NXE (11). */
#define X86_EFER_RESERVED            (~0xD01ULL)
/* IA32_DEBUGCTL: bits 5:2 and 63:16 reserved. */
#define X86_DEBUGCTL_RESERVED        0xFFFFFFFFFFFF003CULL
/* DR7 bits 63:32 are reserved. */
#define X86_DR7_RESERVED_HIGH        0xFFFFFFFF00000000ULL
/* Segment selectors: RPL 1:0, TI 2. */
#define X86_SEL_RPL_MASK             0x3u
#define X86_SEL_TI                   BIT(2)
/* Segment access rights as in the VMCS (SDM 24.4.1, Table 24-2), beyond
 * the DPL, L, D/B and unusable bits of x86_arch.h: type 3:0, S 4, P 7,
 * G 15; bits 11:8 and 31:17 reserved. */
#define X86_AR_TYPE_MASK             0xFu
#define X86_AR_S                     BIT(4)
#define X86_AR_P                     BIT(7)
#define X86_AR_G                     BIT(15)
#define X86_AR_RESERVED              0xFFFE0F00u
/* Code/data segment type bits (SDM Vol. 3A 3.4.5.1, Table 3-1). */
#define X86_SEG_TYPE_ACCESSED        0x1u
#define X86_SEG_TYPE_RW              0x2u   /* writable data / readable code */
#define X86_SEG_TYPE_CONFORMING      0x4u   /* code; expand-down for data */
#define X86_SEG_TYPE_CODE            0x8u
/* System segment types (SDM Vol. 3A 3.5, Table 3-2). */
#define X86_SYS_TYPE_LDT             0x2u
#define X86_SYS_TYPE_TSS16_BUSY      0x3u
#define X86_SYS_TYPE_TSS32_BUSY      0xBu
/* PAE-paging PDPTEs (SDM Vol. 3A 4.4.1, Table 4-8): bits 2:1 and 8:5 are
 * reserved (and bits 63:MAXPHYADDR); four of them, 32-byte aligned at
 * CR3[31:5]. */
#define X86_PDPTE_RESERVED           0x1E6ULL
#define X86_PAE_PDPT_MASK            0xFFFFFFE0ULL
#define X86_PAE_PDPTE_COUNT          4

#endif
