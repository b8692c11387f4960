/* arch/x86_64/cr.h - control register bits (SDM Vol. 3A 2.5, Figure 2-7). */
#ifndef ARCH_X86_64_CR_H
#define ARCH_X86_64_CR_H
#include <nestor/bits.h>

#define CR0_PE          BIT(0)
#define CR0_MP          BIT(1)
#define CR0_EM          BIT(2)
#define CR0_TS          BIT(3)
#define CR0_NE          BIT(5)
#define CR0_WP          BIT(16)
#define CR0_PG          BIT(31)

#define CR4_PAE         BIT(5)
#define CR4_PGE         BIT(7)
#define CR4_OSFXSR      BIT(9)
#define CR4_OSXMMEXCPT  BIT(10)
#define CR4_VMXE        BIT(13)
#define CR4_OSXSAVE     BIT(18)
#define CR4_SMEP        BIT(20)   /* SDM 4.6: no kernel instruction fetch from user pages */
#define CR4_SMAP        BIT(21)   /* SDM 4.6: no kernel data access to user pages */
#define CR4_PKE         BIT(22)   /* SDM 4.6.2: protection keys (PKRU) */
#define CR4_CET         BIT(23)   /* SDM 18: control-flow enforcement (its MSRs) */
#define CR4_PKS         BIT(24)   /* SDM 4.6.2: supervisor protection keys (IA32_PKRS) */
/* CR4 bits that enable guest state the kernel does not switch per vCPU
 * (PKRU, the CET and PKRS MSRs): a guest may not set them. */
#define CR4_UNSWITCHED  (CR4_PKE | CR4_CET | CR4_PKS)

#endif
