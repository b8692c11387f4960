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

#endif
