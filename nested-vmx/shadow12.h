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
 * Each is one bulk invocation at most, none when nothing changed.
 */
#ifndef NVMX_SHADOW12_H
#define NVMX_SHADOW12_H

#include <stdbool.h>

struct nvmx_monitor;

/* Make the shadow and its bitmaps (false: the CPU has no VMCS shadowing,
 * or no memory: every VMREAD/VMWRITE then exits, as before). */
bool shadow12_setup(struct nvmx_monitor *m);
void shadow12_pull(struct nvmx_monitor *m);
void shadow12_push(struct nvmx_monitor *m);
void shadow12_follow(struct nvmx_monitor *m);
/* The VM was reset (out of VMX operation): unbind, forget. */
void shadow12_reset(struct nvmx_monitor *m);

#endif
