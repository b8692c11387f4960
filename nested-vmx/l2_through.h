/*
 * nested-vmx/l2_through.h - carrying out for L1 the exits of L2 that L1's
 * controls let through (l2_through.c).
 */
#ifndef NVMX_L2_THROUGH_H
#define NVMX_L2_THROUGH_H
#include "l2.h"
#include "vmcs12.h"

/* L2's exit @reason (qualification @q, message registers @mr: the
 * instruction length and information) that L1 did not ask for: the reply
 * label for L2's exit, *@changed its groups. */
nestor_word_t l2_through(struct nvmx_monitor *m, vmcs12_t *v, unsigned reason, uint64_t q,
                         const nestor_word_t *mr, nestor_word_t *changed);

/* L2's VMREAD/VMWRITE (exit message @mr) that L1's "VMCS shadowing" lets
 * through (nvmx_l2_shadow_exits false): carried out on L1's shadow VMCS,
 * the reply label for L2's exit, *@changed its groups. */
nestor_word_t l2_shadow_access(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                               nestor_word_t *changed);

/* L2's access (its EPT-violation exit @mr) to L1-physical @gpa1 outside
 * L1's RAM, which EPT12 (or L2-physical itself) takes it to: carried out
 * on L1's device, as the CPU would in L2 (l2_through.c). The reply label,
 * *@changed its groups. */
nestor_word_t l2_device_access(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                               uint64_t gpa1, nestor_word_t *changed);

/* The instruction of L2's VMX-instruction exit @mr (SDM 27.2.1, 27.2.5). */
nvmx_insn_t l2_insn(const nestor_word_t *mr);

/* A request to the VMM (nvmx_setup.h NVMX_REQ_*, MRs @a0-@a3): the reply
 * label (NVMX_REQ_ENDED if the call failed), *@value its MR0. */
nestor_word_t l2_ask_vmm(struct nvmx_monitor *m, nestor_word_t label, nestor_word_t a0,
                         nestor_word_t a1, nestor_word_t a2, nestor_word_t a3,
                         nestor_word_t *value);

#endif
