/*
 * kernel/shadow.h - shadow-VMCS objects (SDM Vol. 3C 24.10): the VMCS a
 * VCPU's guest hypervisor reads and writes with VMREAD/VMWRITE without a VM
 * exit (SDM 25.3, 30.3), once bound to the VCPU (NESTOR_VCPU_SET_SHADOW).
 *
 * The object is 8 KiB: the first page is the VMCS region itself, the CPU's
 * memory (SDM 24.11.1: software touches only the revision identifier there),
 * so the kernel's own word, which VCPU the shadow is bound to, lives in the
 * second page. User code never maps either; monitors reach the fields only
 * through NESTOR_SHADOW_READ/WRITE.
 */
#ifndef KERNEL_SHADOW_H
#define KERNEL_SHADOW_H
#include "kernel/invoke.h"
#include "kernel/vcpu.h"

#define SHADOW_KERNEL_OFFSET 4096

typedef struct shadow_vmcs {
    vcpu_t *vcpu;               /* the VCPU whose link pointer names this shadow, or NULL */
    uint64_t vmcs_pa;           /* physical address of the VMCS region (the link pointer) */
    uint32_t sync_n;            /* the fields NESTOR_MTD_SHADOW moves (set at binding): */
    uint32_t sync[NESTOR_SHADOW_SYNC_MAX];   /*   each checked present and writable */
} shadow_vmcs_t;
_Static_assert(sizeof(shadow_vmcs_t) <= (1u << NESTOR_SHADOW_VMCS_BITS) - SHADOW_KERNEL_OFFSET,
               "shadow_vmcs_t size");

static inline shadow_vmcs_t *cap_shadow(const cap_t *c)
{
    return (shadow_vmcs_t *)kobj_ptr(c->obj + SHADOW_KERNEL_OFFSET);
}

/* Whether shadow VMCSs can be made: VMX on and the "VMCS shadowing"
 * secondary control allowed (SDM A.3.3); VMPTRLD of a shadow VMCS needs it
 * too (SDM 30.3 VMPTRLD). */
bool shadow_supported(void);
/* Retype: revision identifier with the shadow-VMCS indicator, then VMCLEAR. */
void shadow_init_object(kaddr_t obj);
/* The last capability to the shadow is going: the VCPU it is bound to
 * stops shadowing first (no link pointer to freed memory). Returns that
 * VCPU (its bitmap frame slots are the caller's to delete) or NULL. */
vcpu_t *shadow_finalise(shadow_vmcs_t *s);
/* The VCPU is going: forget the binding. */
void shadow_vcpu_gone(vcpu_t *v);
/* NESTOR_VCPU_SET_SHADOW on @self (a VCPU capability). */
nestor_error_t shadow_bind_invocation(inv_t *iv, cte_t *self, vcpu_t *v);
/* A 4 KiB frame capability was deleted from @slot: if that was a VCPU's
 * VMREAD or VMWRITE bitmap, the VCPU stops shadowing now (its VMCS must
 * not keep the frame's address). */
void shadow_slot_deleted(const cte_t *slot);
/* Before each entry of a VCPU with a shadow, in depth: shadowing goes off
 * if a bitmap slot is empty or the shadow's header is not what SDM
 * 26.3.1.5 requires (neither can happen: the entry would otherwise fail in
 * a way no monitor asked for, or the CPU read memory no longer the
 * monitor's). */
void shadow_check_before_entry(vcpu_t *v);
/* Consistency check: every VCPU on the list has a shadow naming it back
 * (errors counted into *@errors; the walk is bounded). */
void shadow_check_list(uint64_t *errors);
/* NESTOR_MTD_SHADOW (nestor/vcpu.h) with @v's VMCS current: the bound
 * shadow's sync fields whose bit is set in @which read into @val (false,
 * nothing read: no shadow bound or no fields named), or written from @val
 * (nothing without). @v's VMCS is current again after either. */
bool shadow_sync_store(vcpu_t *v, uint64_t *val, uint64_t which);
void shadow_sync_load(vcpu_t *v, const uint64_t *val, uint64_t which);
/* NESTOR_SHADOW_READ / NESTOR_SHADOW_WRITE. */
nestor_error_t invoke_shadow(inv_t *iv, cte_t *slot);

#endif
