/* arch/x86_64/cpu.h - CPU identification and feature detection. */
#ifndef ARCH_X86_64_CPU_H
#define ARCH_X86_64_CPU_H
#include "arch/x86_64/vmx_caps.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    char vendor[13];
    char brand[49];
    unsigned family, model, stepping;
    bool pae, nx, lm, apic, x2apic, xsave, avx, page1gb, svm, hypervisor, smep, smap;
    vmx_caps_raw_t vmx_raw;
    vmx_caps_t vmx;
} cpu_info_t;

/* Identify the boot CPU; reads VMX capability MSRs only where they exist. */
void cpu_detect(cpu_info_t *info);
/* Turn on SMEP and SMAP where the CPU has them: the kernel never runs user
 * code nor touches user pages through user addresses (it reaches user
 * memory only through its own mapping of the frames). */
void cpu_protect_kernel(const cpu_info_t *info);
/* Print the identification and decoded VMX capabilities on the console. */
void cpu_print(const cpu_info_t *info);

#endif
