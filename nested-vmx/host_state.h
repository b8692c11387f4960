/*
 * nested-vmx/host_state.h - what a VM exit from L2 (or a failed VM entry)
 * does to L1: load the host-state area of vmcs12 into L1's CPU (SDM Vol. 3C
 * 27.5.1-27.5.4; 26.8 for entry failures). Pure.
 */
#ifndef NVMX_HOST_STATE_H
#define NVMX_HOST_STATE_H
#include "nvmx.h"

/* Segment access rights a VM exit gives the host's registers (SDM 27.5.2). */
#define HOST_AR_CODE      0x9B      /* execute/read, accessed, S, P */
#define HOST_AR_DATA      0x93      /* read/write, accessed, S, P */
#define HOST_AR_TSS_BUSY  0x8B      /* busy 64-bit TSS (32-bit busy TSS has the same type) */
#define HOST_AR_G         BIT(15)
#define HOST_TR_LIMIT     0x67
#define HOST_FLAT_LIMIT   0xFFFFFFFFu
#define HOST_DT_LIMIT     0xFFFF    /* GDTR and IDTR limits (SDM 27.5.2) */
#define HOST_DR7          0x400     /* SDM 27.5.1: DR7 is loaded with 400H */
#define HOST_RFLAGS       0x2       /* SDM 27.5.3: RFLAGS cleared but bit 1 */

/* Load vmcs12 @v's host state into @s (every group but INJECT changes).
 * PDPTEs for PAE paging are read through @env (27.5.4); false if they
 * cannot be (a VMX abort, SDM 27.7: the caller stops the VM). */
bool nvmx_load_host_state(const vmcs12_t *v, const nvmx_env_t *env, nestor_vcpu_state_t *s);

#endif
