/* arch/x86_64/syscall_msr.h - SYSCALL/SYSRET set-up. */
#ifndef ARCH_X86_64_SYSCALL_MSR_H
#define ARCH_X86_64_SYSCALL_MSR_H

void syscall_msr_init(void);

#endif
