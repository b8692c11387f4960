/* arch/x86_64/rflags.h - RFLAGS bits (SDM Vol. 1 3.4.3, Figure 3-8). */
#ifndef ARCH_X86_64_RFLAGS_H
#define ARCH_X86_64_RFLAGS_H
#include <nestor/bits.h>

#define RFLAGS_CF    BIT(0)
#define RFLAGS_FIXED BIT(1)     /* reserved, always 1 */
#define RFLAGS_PF    BIT(2)
#define RFLAGS_AF    BIT(4)
#define RFLAGS_ZF    BIT(6)
#define RFLAGS_SF    BIT(7)
#define RFLAGS_TF    BIT(8)
#define RFLAGS_IF    BIT(9)
#define RFLAGS_DF    BIT(10)
#define RFLAGS_OF    BIT(11)
#define RFLAGS_IOPL  (BIT(12) | BIT(13))
#define RFLAGS_NT    BIT(14)
#define RFLAGS_RF    BIT(16)
#define RFLAGS_VM    BIT(17)
#define RFLAGS_AC    BIT(18)
#define RFLAGS_ID    BIT(21)

/* What user code may set: arithmetic flags, TF, DF, AC, ID. IF is forced on
 * and IOPL forced to 0 so a thread can neither mask interrupts nor use ports. */
#define RFLAGS_USER_WRITABLE (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | \
                              RFLAGS_TF | RFLAGS_DF | RFLAGS_OF | RFLAGS_AC | RFLAGS_ID)
#define RFLAGS_USER_FORCED   (RFLAGS_FIXED | RFLAGS_IF)
/* Cleared by SYSCALL on entry (IA32_FMASK). */
#define RFLAGS_SYSCALL_MASK  (RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC | RFLAGS_NT)
/* The flags the kernel runs with after an entry from user mode: only the
 * fixed bit (a literal: also used in assembly). */
#define RFLAGS_KERNEL_ENTRY  0x2

#endif
