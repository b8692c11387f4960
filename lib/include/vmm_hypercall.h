/*
 * lib/include/vmm_hypercall.h - the VMM's hypercalls (VMCALL, SDM Vol. 3C
 * 25.1.3: it exits unconditionally in VMX non-root operation), shared by
 * the VMM (vmm-server/exits.c) and the test guests. RAX selects; RAX holds
 * the result; an unknown number returns VMM_HC_ERROR.
 */
#ifndef VMM_HYPERCALL_H
#define VMM_HYPERCALL_H

#define VMM_HC_PING          0      /* returns 0 */
#define VMM_HC_REPORT_CPUID  1      /* RBX: how many CPUIDs the guest executed (exitbench) */
#define VMM_HC_EXITS         2      /* returns the VM's exits so far, this VMCALL's included
                                       (bench virtio: exits per request, measured) */
#define VMM_HC_ERROR         (~0UL)

#endif
