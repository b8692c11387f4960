/*
 * arch/x86_64/syscall_msr.c - enable SYSCALL/SYSRET (SDM Vol. 2B SYSCALL;
 * Vol. 3A 5.8.8 "Fast System Calls in 64-Bit Mode").
 */
#include "arch/x86_64/syscall_msr.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/rflags.h"
#include "arch/x86_64/seg.h"

extern char syscall_entry[];

void syscall_msr_init(void)
{
    /* SYSRET loads CS = base + 16, SS = base + 8 (with RPL 3): base is the
     * 32-bit user code selector, so user data then 64-bit user code follow. */
    wrmsr(MSR_IA32_STAR, (uint64_t)SEL_KCODE << STAR_KERNEL_CS_SHIFT |
                         (uint64_t)(GDT_UCODE32 * 8 | 3) << STAR_USER_BASE_SHIFT);
    wrmsr(MSR_IA32_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_IA32_FMASK, RFLAGS_SYSCALL_MASK);
    wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_SCE);
}
