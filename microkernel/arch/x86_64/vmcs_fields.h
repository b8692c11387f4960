/*
 * arch/x86_64/vmcs_fields.h - VMCS field encodings (SDM Vol. 3D Appendix B)
 * and the control bits the kernel sets (SDM Vol. 3C 24.6-24.8, Tables 24-5
 * to 24-13). Control bits also used for capability decoding live in
 * vmx_caps.h.
 */
#ifndef ARCH_X86_64_VMCS_FIELDS_H
#define ARCH_X86_64_VMCS_FIELDS_H
#include "arch/x86_64/vmx_caps.h"

/* 16-bit fields (B.1) */
#define VMCS_VPID                    0x0000
#define VMCS_GUEST_ES_SEL            0x0800
#define VMCS_GUEST_CS_SEL            0x0802
#define VMCS_GUEST_SS_SEL            0x0804
#define VMCS_GUEST_DS_SEL            0x0806
#define VMCS_GUEST_FS_SEL            0x0808
#define VMCS_GUEST_GS_SEL            0x080A
#define VMCS_GUEST_LDTR_SEL          0x080C
#define VMCS_GUEST_TR_SEL            0x080E
#define VMCS_HOST_ES_SEL             0x0C00
#define VMCS_HOST_CS_SEL             0x0C02
#define VMCS_HOST_SS_SEL             0x0C04
#define VMCS_HOST_DS_SEL             0x0C06
#define VMCS_HOST_FS_SEL             0x0C08
#define VMCS_HOST_GS_SEL             0x0C0A
#define VMCS_HOST_TR_SEL             0x0C0C

/* 64-bit fields (B.2) */
#define VMCS_IO_BITMAP_A             0x2000
#define VMCS_IO_BITMAP_B             0x2002
#define VMCS_MSR_BITMAP              0x2004
#define VMCS_TSC_OFFSET              0x2010
#define VMCS_EPT_POINTER             0x201A
#define VMCS_GUEST_PHYS_ADDR         0x2400
#define VMCS_LINK_POINTER            0x2800
#define VMCS_GUEST_DEBUGCTL          0x2802
#define VMCS_GUEST_PAT               0x2804
#define VMCS_GUEST_EFER              0x2806
#define VMCS_HOST_PAT                0x2C00
#define VMCS_HOST_EFER               0x2C02

/* 32-bit fields (B.3) */
#define VMCS_PIN_CONTROLS            0x4000
#define VMCS_PROC_CONTROLS           0x4002
#define VMCS_EXCEPTION_BITMAP        0x4004
#define VMCS_PF_ERROR_MASK           0x4006
#define VMCS_PF_ERROR_MATCH          0x4008
#define VMCS_CR3_TARGET_COUNT        0x400A
#define VMCS_EXIT_CONTROLS           0x400C
#define VMCS_EXIT_MSR_STORE_COUNT    0x400E
#define VMCS_EXIT_MSR_LOAD_COUNT     0x4010
#define VMCS_ENTRY_CONTROLS          0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT    0x4014
#define VMCS_ENTRY_INTR_INFO         0x4016
#define VMCS_ENTRY_EXCEPTION_ERROR   0x4018
#define VMCS_ENTRY_INSTR_LEN         0x401A
#define VMCS_PROC_CONTROLS2          0x401E
#define VMCS_INSTR_ERROR             0x4400
#define VMCS_EXIT_REASON             0x4402
#define VMCS_EXIT_INTR_INFO          0x4404
#define VMCS_EXIT_INTR_ERROR         0x4406
#define VMCS_IDT_VECTORING_INFO      0x4408
#define VMCS_IDT_VECTORING_ERROR     0x440A
#define VMCS_EXIT_INSTR_LEN          0x440C
#define VMCS_EXIT_INSTR_INFO         0x440E
#define VMCS_GUEST_ES_LIMIT          0x4800
#define VMCS_GUEST_CS_LIMIT          0x4802
#define VMCS_GUEST_SS_LIMIT          0x4804
#define VMCS_GUEST_DS_LIMIT          0x4806
#define VMCS_GUEST_FS_LIMIT          0x4808
#define VMCS_GUEST_GS_LIMIT          0x480A
#define VMCS_GUEST_LDTR_LIMIT        0x480C
#define VMCS_GUEST_TR_LIMIT          0x480E
#define VMCS_GUEST_GDTR_LIMIT        0x4810
#define VMCS_GUEST_IDTR_LIMIT        0x4812
#define VMCS_GUEST_ES_AR             0x4814
#define VMCS_GUEST_CS_AR             0x4816
#define VMCS_GUEST_SS_AR             0x4818
#define VMCS_GUEST_DS_AR             0x481A
#define VMCS_GUEST_FS_AR             0x481C
#define VMCS_GUEST_GS_AR             0x481E
#define VMCS_GUEST_LDTR_AR           0x4820
#define VMCS_GUEST_TR_AR             0x4822
#define VMCS_GUEST_INTERRUPTIBILITY  0x4824
#define VMCS_GUEST_ACTIVITY          0x4826
#define VMCS_GUEST_SYSENTER_CS       0x482A
#define VMCS_PREEMPT_TIMER_VALUE     0x482E
#define VMCS_HOST_SYSENTER_CS        0x4C00

/* Natural-width fields (B.4) */
#define VMCS_CR0_MASK                0x6000
#define VMCS_CR4_MASK                0x6002
#define VMCS_CR0_SHADOW              0x6004
#define VMCS_CR4_SHADOW              0x6006
#define VMCS_EXIT_QUALIFICATION      0x6400
#define VMCS_GUEST_LINEAR_ADDR       0x640A
#define VMCS_GUEST_CR0               0x6800
#define VMCS_GUEST_CR3               0x6802
#define VMCS_GUEST_CR4               0x6804
#define VMCS_GUEST_ES_BASE           0x6806
#define VMCS_GUEST_CS_BASE           0x6808
#define VMCS_GUEST_SS_BASE           0x680A
#define VMCS_GUEST_DS_BASE           0x680C
#define VMCS_GUEST_FS_BASE           0x680E
#define VMCS_GUEST_GS_BASE           0x6810
#define VMCS_GUEST_LDTR_BASE         0x6812
#define VMCS_GUEST_TR_BASE           0x6814
#define VMCS_GUEST_GDTR_BASE         0x6816
#define VMCS_GUEST_IDTR_BASE         0x6818
#define VMCS_GUEST_DR7               0x681A
#define VMCS_GUEST_RSP               0x681C
#define VMCS_GUEST_RIP               0x681E
#define VMCS_GUEST_RFLAGS            0x6820
#define VMCS_GUEST_PENDING_DBG       0x6822
#define VMCS_GUEST_SYSENTER_ESP      0x6824
#define VMCS_GUEST_SYSENTER_EIP      0x6826
#define VMCS_HOST_CR0                0x6C00
#define VMCS_HOST_CR3                0x6C02
#define VMCS_HOST_CR4                0x6C04
#define VMCS_HOST_FS_BASE            0x6C06
#define VMCS_HOST_GS_BASE            0x6C08
#define VMCS_HOST_TR_BASE            0x6C0A
#define VMCS_HOST_GDTR_BASE          0x6C0C
#define VMCS_HOST_IDTR_BASE          0x6C0E
#define VMCS_HOST_SYSENTER_ESP       0x6C10
#define VMCS_HOST_SYSENTER_EIP       0x6C12
#define VMCS_HOST_RSP                0x6C14
#define VMCS_HOST_RIP                0x6C16

/* Field encoding (SDM 24.11.2): bits 14:13 width, bits 11:10 type. */
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

/* More controls (SDM 24.6.2, 24.7.1, 24.8.1) */
#define PROC_UNCOND_IO_EXITING       BIT(24)
#define PROC_INVLPG_EXITING          BIT(9)
#define PROC_MWAIT_EXITING           BIT(10)
#define PROC_RDPMC_EXITING           BIT(11)
#define PROC_CR8_LOAD_EXITING        BIT(19)
#define PROC_CR8_STORE_EXITING       BIT(20)
#define PROC_MOV_DR_EXITING          BIT(23)
#define PROC_MONITOR_EXITING         BIT(29)
#define EXIT_HOST_ADDR_SPACE_SIZE    BIT(9)
#define EXIT_SAVE_EFER               BIT(20)
#define EXIT_LOAD_EFER               BIT(21)
#define ENTRY_IA32E_MODE_GUEST       BIT(9)
#define ENTRY_LOAD_EFER              BIT(15)

/* EPT pointer (SDM 24.6.11): memory type WB, 4-level walk (length - 1 = 3). */
#define EPTP_MEMTYPE_WB              6
#define EPTP_WALK_LENGTH_4           (3 << 3)

/* Exit reason field (SDM 24.9.1): basic reason in bits 15:0, bit 31 = entry failure. */
#define EXIT_REASON_BASIC_MASK       0xFFFF
#define EXIT_REASON_ENTRY_FAILURE    BIT(31)

/* Segment access rights (SDM 24.4.1, Table 24-2) */
#define AR_UNUSABLE                  BIT(16)
#define AR_CODE32_FLAT               0xC09B   /* G, D, P, S, execute/read, accessed */
#define AR_DATA32_FLAT               0xC093   /* G, B, P, S, read/write, accessed */
#define AR_CODE16                    0x009B
#define AR_DATA16                    0x0093
#define AR_TSS32_BUSY                0x008B
#define AR_LDT                       0x0082

#define VMCS_LINK_POINTER_NONE       0xFFFFFFFFFFFFFFFFULL
#define DR7_INIT                     0x400
#define RFLAGS_GUEST_INIT            0x2

#endif
