/*
 * nested-vmx/nvmx_state.h - nested-vmx's own state of its VM, out and back
 * in: what a checkpoint of a VM whose guest is a hypervisor (L1) needs
 * beyond L1's registers and RAM so that, restored, L1 goes on with its L2
 * exactly (checkpoint/README.md "A guest hypervisor and its L2").
 *
 * What is where at a checkpoint. A checkpoint is taken at an exit of L1's
 * vCPU: L1 runs, so L2 does not (l2.h: L1 and L2 are one virtual CPU), and
 * everything L2 is waits in these places:
 *   - every vmcs12, with its launch state and L2's guest state as the last
 *     reflected exit wrote it (SDM 27.3), is in L1's RAM (vmcs12.h: the
 *     VMCS data is memory, as after a VMCLEAR, SDM 24.11.1), and so are
 *     EPT12, the bitmaps and L2's memory: the image's RAM;
 *   - L2's general registers, CR2, DR0-3/6, XCR0 and the MSRs VMX does not
 *     switch went to L1 with the exit (l2.c carry_unswitched; SDM 27.3,
 *     27.5): the image's vCPU section;
 *   - except for the fields L1 wrote into the shadow VMCS since its last
 *     VMX instruction (shadow12.h): a save pulls them into vmcs12 first;
 *   - nested-vmx's own: whether L1 is in VMX operation, its VMXON pointer,
 *     its current-VMCS pointer (SDM 23.3, 24.1), and the x87/SSE state of
 *     L2's thread (vcpu02 is a thread of its own: its FPU is not L1's);
 *     this record.
 * vcpu02 itself (the kernel's VMCS02, EPT02) is a cache of vmcs12 and
 * EPT12: a restored nested-vmx has none, and L1's next VMRESUME builds it
 * whole from vmcs12 (l2.c: a full entry when L2 has not started).
 *
 * The protocol: calls on nested-vmx's endpoint badged NVMX_BADGE_STATE (the
 * VMM gives a checkpoint monitor stacked on the same VM such a capability,
 * checkpoint/ckpt_proto.h CKPT_GRANT_NVMX; nobody else holds one).
 *   NVMX_REQ_STATE_SAVE (call) -: reply NVMX_REQ_OK with the record
 *       (nvmx_state_t, NVMX_STATE_WORDS words, MRs 0 on), or NVMX_REQ_FAULT
 *       with MR0 NVMX_STATE_E_* (L2 runs: no checkpoint boundary of L1).
 *   NVMX_REQ_STATE_LOAD (call) NVMX_STATE_WORDS words: nested-vmx takes the
 *       record, before L1's first instruction after a restore (the RAM
 *       already holds the image's vmcs12s). Reply NVMX_REQ_OK, or
 *       NVMX_REQ_FAULT with MR0 NVMX_STATE_E_* and nothing changed.
 * Every field of a record to load is checked as the instruction that would
 * have set it checks it (SDM 30.3 VMXON, VMPTRLD).
 */
#ifndef NVMX_STATE_H
#define NVMX_STATE_H
#include <stdint.h>

#define NVMX_BADGE_STATE        0xD3      /* after l2.h's NVMX_BADGE_L2 */
#define NVMX_REQ_STATE_SAVE     0x5653    /* "VS" */
#define NVMX_REQ_STATE_LOAD     0x564C    /* "VL" */

#define NVMX_STATE_VERSION      1
#define NVMX_STATE_FPU_WORDS    104       /* NESTOR_TCB_READ_FPU's image (832 bytes) */
#define NVMX_STATE_VMXON        (1u << 0) /* in VMX operation (SDM 23.3) */
#define NVMX_STATE_L2_FPU       (1u << 1) /* l2_fpu holds L2's thread's FPU state */
#define NVMX_STATE_FLAGS        (NVMX_STATE_VMXON | NVMX_STATE_L2_FPU)

typedef struct {
    uint64_t flags;                       /* NVMX_STATE_* */
    uint64_t vmxon_ptr;                   /* the VMXON region (~0 outside VMX operation) */
    uint64_t current;                     /* current-VMCS pointer, ~0 if none (SDM 24.1) */
    uint64_t l2_fpu[NVMX_STATE_FPU_WORDS];
} nvmx_state_t;

#define NVMX_STATE_WORDS        (sizeof(nvmx_state_t) / 8)
_Static_assert(sizeof(nvmx_state_t) % 8 == 0, "a record of words");

#define NVMX_STATE_E_L2_RUNS    1         /* save: L2 runs, L1 is not at a boundary */
#define NVMX_STATE_E_BUSY       2         /* load: L1 used VMX since this boot began */
#define NVMX_STATE_E_SIZE       3         /* load: not NVMX_STATE_WORDS words */
#define NVMX_STATE_E_INVALID    4         /* load: a value VMXON/VMPTRLD would refuse */
#define NVMX_STATE_E_KERNEL     5         /* the kernel refused L2's FPU state */

#endif
