/*
 * kernel/shadow.c - shadow-VMCS objects and VMCS shadowing for VCPUs
 * (kernel/shadow.h; SDM Vol. 3C 24.6.15, 24.10, 25.3, 26.3.1.5, 30.3).
 *
 * Binding: a VCPU holds copies of the two bitmap frames' capabilities and
 * a pointer to the shadow, which points back; VCPUs with a shadow are on a
 * list. Either copy deleted (the frame revoked) or the shadow's last
 * capability deleted turns that VCPU's shadowing off at once, so no VMCS
 * keeps the address of memory its monitor no longer holds. Entry checks on the link pointer (SDM 26.3.1.5) hold by
 * construction: the kernel alone writes the shadow's header (revision
 * identifier with the shadow-VMCS indicator, SDM 24.2) and the link
 * pointer, and a bound shadow is never the current VMCS at entry.
 */
#include "kernel/shadow.h"
#include "arch/x86_64/vmx.h"
#include "arch/x86_64/vmx_caps.h"
#include "kernel/cnode_ops.h"
#include "kernel/console.h"
#include <nestor/vmcs.h>
#include <string.h>

enum { SHADOW_CAP, VMREAD_BITMAP_CAP, VMWRITE_BITMAP_CAP };

static vcpu_t *shadowed;        /* VCPUs with a shadow bound, through shadow_next */

static void list_remove(vcpu_t *v)
{
    for (vcpu_t **p = &shadowed; *p; p = &(*p)->shadow_next)
        if (*p == v) {
            *p = v->shadow_next;
            break;
        }
    v->shadow_next = 0;
}

bool shadow_supported(void)
{
    return vmx_enabled() && vmx_raw_caps()->procbased2_valid &&
           vmx_ctl_allowed1(vmx_raw_caps()->procbased2, PROC2_VMCS_SHADOWING);
}

/* SDM 24.2: bits 30:0 the VMCS revision identifier, bit 31 the shadow-VMCS
 * indicator; SDM 26.3.1.5 checks both at every entry with shadowing on. */
static uint32_t shadow_header(void)
{
    return (uint32_t)vmx_revision() | (uint32_t)VMCS_REVISION_SHADOW;
}

void shadow_init_object(kaddr_t obj)
{
    shadow_vmcs_t *s = kobj_ptr(obj + SHADOW_KERNEL_OFFSET);
    uint32_t header = shadow_header();
    s->vmcs_pa = kobj_paddr(obj);
    s->sync_n = 0;
    memcpy(kobj_ptr(obj), &header, sizeof(header));
    /* SDM 24.11.3: VMCLEAR initialises a new VMCS region (launch state clear). */
    vmx_vmclear(s->vmcs_pa);
}

/* Shadowing off for @v: control clear, link pointer "none" (SDM 26.3.1.5:
 * any other value is checked at entry), no bitmap addresses left behind.
 * VMCLEAR writes back whatever of the shadow the CPU may hold (SDM 24.11.1). */
static void shadowing_off(vcpu_t *v)
{
    shadow_vmcs_t *s = v->shadow;
    if (!s)
        return;
    vcpu_set_shadowing(v, VMCS_LINK_POINTER_NONE, 0, 0);
    vmx_vmclear(s->vmcs_pa);
    s->vcpu = 0;
    v->shadow = 0;
    list_remove(v);
    vcpu_follow_update(v);
}

vcpu_t *shadow_finalise(shadow_vmcs_t *s)
{
    vcpu_t *v = s->vcpu;
    if (v)
        shadowing_off(v);
    vmx_vmclear(s->vmcs_pa);
    return v;
}

void shadow_vcpu_gone(vcpu_t *v)
{
    if (v->shadow) {
        vmx_vmclear(v->shadow->vmcs_pa);
        v->shadow->vcpu = 0;
        v->shadow = 0;
        list_remove(v);
    }
}

void shadow_slot_deleted(const cte_t *slot)
{
    for (vcpu_t *v = shadowed; v; v = v->shadow_next)
        if (slot == &v->ctes[VCPU_CTE_VMREAD_BITMAP] || slot == &v->ctes[VCPU_CTE_VMWRITE_BITMAP]) {
            shadowing_off(v);
            return;
        }
}

void shadow_check_before_entry(vcpu_t *v)
{
    uint32_t header;
    memcpy(&header, kobj_ptr(kobj_from_paddr(v->shadow->vmcs_pa)), sizeof(header));
    if (v->ctes[VCPU_CTE_VMREAD_BITMAP].cap.type != NESTOR_OBJ_FRAME_4K ||
        v->ctes[VCPU_CTE_VMWRITE_BITMAP].cap.type != NESTOR_OBJ_FRAME_4K ||
        header != shadow_header())
        shadowing_off(v);
}

static uint64_t frame_paddr(const cte_t *c)
{
    return kobj_paddr(c->cap.obj);
}

static bool shadow_field_writable(uint64_t f);

/* The fields NESTOR_MTD_SHADOW is to move (MR0..): each in the table,
 * writable on a shadow (SDM A.6 for the read-only ones) and present on
 * this CPU (VMREAD of it on @s succeeds, SDM 30.3), so the exit path and
 * the reply read and write them without checks. Changes nothing. */
static nestor_error_t sync_decode(inv_t *iv, shadow_vmcs_t *s, uint32_t *sync, unsigned *n)
{
    uint64_t f, probe, prev;
    *n = iv->len;
    if (*n > NESTOR_SHADOW_SYNC_MAX)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_SHADOW_SYNC_MAX);
    for (unsigned i = 0; i < *n; i++) {
        if (!inv_arg(iv, i, &f))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (vmcs_field_access(f) == VMCS_FIELD_NOT_IN_TABLE || !shadow_field_writable(f))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, i, f);
        sync[i] = (uint32_t)f;
    }
    if (!*n)
        return NESTOR_OK;
    if (!vcpu_vmcs_borrow(s->vmcs_pa, &prev))
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    unsigned bad = *n;
    for (unsigned i = 0; i < *n && bad == *n; i++)
        if (!vmread_checked(sync[i], &probe))
            bad = i;
    vcpu_vmcs_return(s->vmcs_pa, prev);
    return bad < *n ? inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, bad, sync[bad]) : NESTOR_OK;
}

/* The bits of @which that name fields of @s (the mask comes from the
 * monitor's page: anything past sync_n is ignored). */
static uint64_t sync_bits(const shadow_vmcs_t *s, uint64_t which)
{
    return which & ((1ULL << s->sync_n) - 1);
}

bool shadow_sync_store(vcpu_t *v, uint64_t *val, uint64_t which)
{
    shadow_vmcs_t *s = v->shadow;
    uint64_t prev;
    if (!s || !s->sync_n)
        return false;
    if (!(which = sync_bits(s, which)))
        return true;
    if (!vcpu_vmcs_borrow(s->vmcs_pa, &prev))
        return false;
    for (; which; which &= which - 1) {
        const unsigned i = (unsigned)__builtin_ctzll(which);
        val[i] = vmread(s->sync[i]);
    }
    vcpu_vmcs_return(s->vmcs_pa, prev);
    return true;
}

void shadow_sync_load(vcpu_t *v, const uint64_t *val, uint64_t which)
{
    shadow_vmcs_t *s = v->shadow;
    uint64_t prev;
    if (!s || !(which = sync_bits(s, which)) || !vcpu_vmcs_borrow(s->vmcs_pa, &prev))
        return;
    for (; which; which &= which - 1) {
        const unsigned i = (unsigned)__builtin_ctzll(which);
        vmwrite(s->sync[i], val[i]);
    }
    vcpu_vmcs_return(s->vmcs_pa, prev);
}

nestor_error_t shadow_bind_invocation(inv_t *iv, cte_t *self, vcpu_t *v)
{
    if (!shadow_supported())
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    cte_t *c[3] = { 0 };
    uint32_t sync[NESTOR_SHADOW_SYNC_MAX];
    unsigned sync_n = 0;
    if (!iv->nextra && iv->len)         /* fields without a shadow to move them */
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 0, 0);
    if (iv->nextra) {
        for (unsigned i = SHADOW_CAP; i <= VMWRITE_BITMAP_CAP; i++) {
            if (!(c[i] = inv_cap(iv, i)))
                return NESTOR_ERR_INVALID_CAPABILITY;
            uint8_t want = i == SHADOW_CAP ? NESTOR_OBJ_SHADOW_VMCS : NESTOR_OBJ_FRAME_4K;
            if (c[i]->cap.type != want)
                return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1 + i, c[i]->cap.type);
            if (i == SHADOW_CAP)
                continue;
            /* Every refusal before anything changes (the binding in place
             * stays): an alias slice is for EPT use only (kernel/paging.c),
             * and the CPU reads the bitmaps (SDM 24.6.15, 30.3), whose bits
             * the guest's exits then tell: only a readable frame. */
            if (cap_is_alias(&c[i]->cap))
                return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 1 + i);
            if (!(c[i]->cap.rights & NESTOR_RIGHT_READ))
                return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 1 + i, c[i]->cap.rights);
        }
        shadow_vmcs_t *s = cap_shadow(&c[SHADOW_CAP]->cap);
        if (s->vcpu && s->vcpu != v)        /* one VCPU at a time */
            return inv_error(iv, NESTOR_ERR_DELETE_FIRST, 0, 0);
        nestor_error_t e = sync_decode(iv, s, sync, &sync_n);
        if (e != NESTOR_OK)
            return e;
    }
    /* Invoke. The old binding goes first; the frame copies are replaced
     * (deleting a 4 KiB frame capability destroys nothing but the frame, so
     * @v and the new capabilities stay). */
    shadowing_off(v);
    if (!cap_install_copy(&v->ctes[VCPU_CTE_VMREAD_BITMAP], c[VMREAD_BITMAP_CAP], self) ||
        !cap_install_copy(&v->ctes[VCPU_CTE_VMWRITE_BITMAP], c[VMWRITE_BITMAP_CAP], self))
        return inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
    if (!iv->nextra)
        return NESTOR_OK;
    shadow_vmcs_t *s = cap_shadow(&c[SHADOW_CAP]->cap);
    s->sync_n = sync_n;
    memcpy(s->sync, sync, sync_n * sizeof(sync[0]));
    s->vcpu = v;
    v->shadow = s;
    v->shadow_next = shadowed;
    shadowed = v;
    vcpu_follow_update(v);
    vcpu_set_shadowing(v, s->vmcs_pa, frame_paddr(&v->ctes[VCPU_CTE_VMREAD_BITMAP]),
                       frame_paddr(&v->ctes[VCPU_CTE_VMWRITE_BITMAP]));
    return NESTOR_OK;
}

#define SHADOW_LIST_CHECK_MAX (1u << 16)   /* more than VPIDs: a longer list is a cycle */

void shadow_check_list(uint64_t *errors)
{
    unsigned n = 0;
    for (const vcpu_t *v = shadowed; v; v = v->shadow_next) {
        if (!v->shadow || v->shadow->vcpu != v) {
            kprintf("consistency: VCPU %p on the shadow list without its shadow\n", (void *)v);
            (*errors)++;
        }
        if (++n > SHADOW_LIST_CHECK_MAX) {
            kprintf("consistency: the shadow list does not end\n");
            (*errors)++;
            return;
        }
    }
}

/* ---- bulk access to a shadow's fields ---- */

/*
 * A shadow's fields are a guest hypervisor's virtual VMCS: the CPU never
 * uses them for an entry (SDM 24.10: a shadow VMCS cannot be current at
 * VM entry), so every field of the table may be read and written, host
 * state and addresses included. What the CPU lacks is found by VMREAD
 * (VMfail for an unsupported component, SDM 30.3); read-only fields take
 * VMWRITE only where IA32_VMX_MISC bit 29 says so (SDM A.6).
 */
static bool shadow_field_writable(uint64_t f)
{
    return VMCS_FIELD_TYPE(f) != VMCS_TYPE_READ_ONLY ||
           (vmx_raw_caps()->misc & VMX_MISC_VMWRITE_ANY_FIELD);
}

static nestor_error_t shadow_read(inv_t *iv, shadow_vmcs_t *s)
{
    uint64_t f[NESTOR_VMCS_BULK_MAX], val[NESTOR_VMCS_BULK_MAX], prev;
    unsigned n, bad;
    nestor_error_t e = vmcs_bulk_decode(iv, f, 0, &n);
    if (e != NESTOR_OK)
        return e;
    for (unsigned i = 0; i < n; i++)
        if (vmcs_field_access(f[i]) == VMCS_FIELD_NOT_IN_TABLE)
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, i, f[i]);
    bad = n;
    if (!vcpu_vmcs_borrow(s->vmcs_pa, &prev))
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    for (unsigned i = 0; i < n && bad == n; i++)
        if (!vmread_checked(f[i], &val[i]))
            bad = i;
    vcpu_vmcs_return(s->vmcs_pa, prev);
    if (bad < n)
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, bad, f[bad]);
    for (unsigned i = 0; i < n; i++)
        inv_result(iv, i, val[i]);
    return NESTOR_OK;
}

static nestor_error_t shadow_write(inv_t *iv, shadow_vmcs_t *s)
{
    uint64_t f[NESTOR_VMCS_BULK_MAX], val[NESTOR_VMCS_BULK_MAX], prev, probe;
    unsigned n, bad;
    nestor_error_t e = vmcs_bulk_decode(iv, f, val, &n);
    if (e != NESTOR_OK)
        return e;
    for (unsigned i = 0; i < n; i++)
        if (vmcs_field_access(f[i]) == VMCS_FIELD_NOT_IN_TABLE || !shadow_field_writable(f[i]))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 2 * i, f[i]);
    bad = n;
    if (!vcpu_vmcs_borrow(s->vmcs_pa, &prev))
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    for (unsigned i = 0; i < n && bad == n; i++)
        if (!vmread_checked(f[i], &probe))
            bad = i;
    for (unsigned i = 0; i < n && bad == n; i++)
        vmwrite(f[i], val[i]);
    vcpu_vmcs_return(s->vmcs_pa, prev);
    return bad < n ? inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 2 * bad, f[bad]) : NESTOR_OK;
}

nestor_error_t invoke_shadow(inv_t *iv, cte_t *slot)
{
    shadow_vmcs_t *s = cap_shadow(&slot->cap);
    switch (iv->label) {
    case NESTOR_SHADOW_READ:
        return shadow_read(iv, s);
    case NESTOR_SHADOW_WRITE:
        return shadow_write(iv, s);
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, slot->cap.type);
    }
}
