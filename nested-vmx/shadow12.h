/*
 * nested-vmx/shadow12.h - the fields L1 reads and writes most, in a shadow
 * VMCS (kernel object NESTOR_OBJ_SHADOW_VMCS; SDM Vol. 3C 24.10, 25.3):
 * L1's VMREAD/VMWRITE of them run on the shadow with no exit to L0.
 *
 * Which fields: measured (l1_fields.c, `./nestor bench nested`): per L2
 * exit Nestor as L1 reads the guest RIP (twice), RSP, RFLAGS, CR4, the
 * guest-physical and guest-linear addresses, the exit qualification and
 * the seven 32-bit exit-information fields, and writes RIP and the
 * preemption timer value; the test hypervisor reads RIP, the exit reason
 * and the instruction length and writes RIP. Those fields and no others
 * (BENCHMARKS.md has the figures before and after).
 *
 * Protocol. vmcs12 (L1's memory) stays what nested-vmx works on; the
 * shadow mirrors the current vmcs12's shadowed fields while L1 is in VMX
 * operation with a current VMCS (otherwise L1's VMREAD/VMWRITE must fail
 * or fault as nested-vmx decides, so the shadow is unbound). They are
 * brought together only where vmcs12 is read or changed:
 *   - shadow12_pull before VMLAUNCH/VMRESUME, VMPTRLD, VMCLEAR and VMXOFF:
 *     the shadowed fields L1 changed go into vmcs12 (and count as VMWRITEs
 *     for the next VMRESUME, nvmx_vcpu_t.dirty): the writable ones, and
 *     the exit information too, which nested-vmx lets L1 write
 *     (IA32_VMX_MISC bit 29, SDM A.6) and so lets it write in the shadow;
 *   - shadow12_push after each VMX instruction nested-vmx carried out and
 *     before L1 resumes from a reflected L2 exit: the shadowed fields whose
 *     vmcs12 value changed go into the shadow;
 *   - shadow12_follow after each VMX instruction: bind, unbind or reload
 *     the shadow when the current VMCS changed.
 * Each is one bulk invocation at most, none when nothing changed; on the
 * cycle of a reflected exit none at all: L1's VMLAUNCH/VMRESUME exits bring
 * the shadow's fields in L1's state page (NESTOR_MTD_SHADOW, the fields
 * named at binding), which the pull takes, and the reply that resumes L1
 * after a reflected exit writes them (shadow12_push_reply).
 */
#ifndef NVMX_SHADOW12_H
#define NVMX_SHADOW12_H

#include <nestor/types.h>
#include <stdbool.h>

struct nvmx_monitor;

/* Make the shadow and its bitmaps (false: the CPU has no VMCS shadowing,
 * or no memory: every VMREAD/VMWRITE then exits, as before). */
bool shadow12_setup(struct nvmx_monitor *m);
void shadow12_pull(struct nvmx_monitor *m);
void shadow12_push(struct nvmx_monitor *m);
/* The push as part of the reply that resumes L1: the shadowed fields into
 * L1's state page; the group to name in the reply (NESTOR_MTD_SHADOW, the
 * kernel writes them into the shadow) or 0 when none changed. */
nestor_word_t shadow12_push_reply(struct nvmx_monitor *m);
void shadow12_follow(struct nvmx_monitor *m);
/* The VM was reset (out of VMX operation): unbind, forget. */
void shadow12_reset(struct nvmx_monitor *m);

#endif
