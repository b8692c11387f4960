/*
 * arch/x86_64/vmcs_fields.h - the kernel's VMCS vocabulary: field encodings
 * and execution-control bits come from the public table in nestor/vmcs.h;
 * here are the entry/exit control bits and field layouts only the kernel
 * uses (SDM Vol. 3C 24.7-24.9).
 */
#ifndef ARCH_X86_64_VMCS_FIELDS_H
#define ARCH_X86_64_VMCS_FIELDS_H
#include "arch/x86_64/vmx_caps.h"
#include <nestor/vmcs.h>

/* Field-encoding layout and entry/exit control bits: lib/include/x86_vmx.h. */

/* VM-exit / IDT-vectoring / VM-entry interruption information (SDM 24.9.2,
 * 24.9.3, 24.8.3): vector 7:0, type 10:8, error code valid 11, valid 31. */
#define INTR_INFO_VECTOR_MASK        0xFF
#define INTR_INFO_TYPE_SHIFT         8
#define INTR_INFO_TYPE_MASK          7
#define INTR_TYPE_NMI                2
#define INTR_TYPE_HW_EXCEPTION       3
#define INTR_INFO_ERROR_VALID        BIT(11)
#define INTR_INFO_VALID              BIT(31)
/* Bits an IDT-vectoring information field may carry into the VM-entry
 * interruption information field (bit 12 is undefined there; SDM 24.8.3
 * reserves bits 30:12 for entry). */
#define INTR_INFO_REINJECT_MASK      (INTR_INFO_VALID | 0xFFF)

/* EPT pointer (SDM 24.6.11): memory type WB, 4-level walk (length - 1 = 3). */
#define EPTP_MEMTYPE_WB              6
#define EPTP_WALK_LENGTH_4           (3 << 3)
#define EPTP_AD_ENABLE               BIT(6)   /* SDM 28.3.5: EPT accessed and dirty flags */

/* Segment access rights (SDM 24.4.1, Table 24-2) */
#define AR_UNUSABLE                  BIT(16)
#define AR_CODE32_FLAT               0xC09B   /* G, D, P, S, execute/read, accessed */
#define AR_DATA32_FLAT               0xC093   /* G, B, P, S, read/write, accessed */
#define AR_CODE16                    0x009B
#define AR_DATA16                    0x0093
#define AR_TSS32_BUSY                0x008B
#define AR_LDT                       0x0082

#define VMCS_LINK_POINTER_NONE       0xFFFFFFFFFFFFFFFFULL
#define DR7_INIT                     0x400        /* SDM 17.2.4: reset value */
#define DR6_INIT                     0xFFFF0FF0   /* SDM 17.2.3: reset value */
/* DR6 bits a #DB exit's qualification reports (SDM Table 27-1): B0-B3, BD, BS */
#define DR6_EXIT_QUAL_BITS           0x600F
#define DR7_GD                       BIT(13)  /* SDM 17.2.4: general detect */
#define RFLAGS_GUEST_INIT            0x2

#endif
