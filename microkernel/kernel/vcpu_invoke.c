/*
 * kernel/vcpu_invoke.c - invocations on VCPU objects (labels in
 * nestor/invocations.h, model in nestor/vcpu.h).
 */
#include "arch/x86_64/cr.h"
#include "arch/x86_64/vmx.h"
#include "kernel/cnode_ops.h"
#include "kernel/invoke.h"
#include "kernel/ipc.h"
#include "kernel/shadow.h"
#include "kernel/vcpu.h"
#include "kernel/vspace.h"
#include <nestor/limits.h>
#include <nestor/vmcs.h>

/*
 * The field table of nestor/vmcs.h, indexed by the encoding's width (bits
 * 14:13), type (11:10) and index (9:1) (SDM 24.11.2). 0: not in the table;
 * otherwise the access class + 1. Bit 0 (the HIGH half of a 64-bit field)
 * and bit 12 (reserved) set are never in it.
 */
#define FIELD_INDEX_BITS 5
#define FIELD_SLOT(enc) [((enc) >> 13) & 3][((enc) >> 10) & 3][((enc) >> 1) & 0x1F]
static const uint8_t field_access_table[4][4][1u << FIELD_INDEX_BITS] = {
#define FIELD_ACCESS_(name, enc, access) FIELD_SLOT(enc) = NESTOR_VMCS_##access + 1,
    NESTOR_VMCS_FIELDS(FIELD_ACCESS_)
#undef FIELD_ACCESS_
};
#define NOT_IN_TABLE VMCS_FIELD_NOT_IN_TABLE

int vmcs_field_access(uint64_t f)
{
    if (f > 0xFFFF || (f & (BIT(0) | BIT(12) | BIT(15))) || ((f >> 1) & 0x1FF) >= (1u << FIELD_INDEX_BITS))
        return NOT_IN_TABLE;
    return (int)field_access_table[(f >> 13) & 3][(f >> 10) & 3][(f >> 1) & 0x1F] - 1;
}

/* Floor and ceiling of a CONTROL field, with the CPU's capability MSR. */
typedef struct {
    uint64_t field, floor, ceiling, caps;
} control_rule_t;

static bool control_rule(uint64_t f, control_rule_t *r)
{
    const vmx_caps_raw_t *c = vmx_raw_caps();
    switch (f) {
    case VMCS_PIN_CONTROLS:
        *r = (control_rule_t){ f, NESTOR_PIN_FLOOR, NESTOR_PIN_CEILING, c->pinbased };
        return true;
    case VMCS_PROC_CONTROLS:
        *r = (control_rule_t){ f, NESTOR_PROC_FLOOR, NESTOR_PROC_CEILING, c->procbased };
        return true;
    case VMCS_PROC_CONTROLS2:
        *r = (control_rule_t){ f, NESTOR_PROC2_FLOOR, NESTOR_PROC2_CEILING, c->procbased2 };
        return true;
    default:
        return false;
    }
}

/*
 * Decode one write: false if the field or value is refused. @value becomes
 * what will be written. SDM Appendix A.3: a control bit may be 1 only where
 * the capability MSR's allowed-1 half has it, and is forced to 1 where the
 * allowed-0 half has it.
 */
static bool decode_write(const vcpu_t *v, uint64_t f, uint64_t *value)
{
    control_rule_t r;
    switch (vmcs_field_access(f)) {
    case NESTOR_VMCS_RW:
        /* SDM 24.4.2: only the activity states that give the CPU back. */
        if (f == VMCS_GUEST_CR4 && (*value & CR4_UNSWITCHED))
            return false;               /* state the kernel does not switch */
        if (f == VMCS_GUEST_ACTIVITY)
            return *value == NESTOR_ACTIVITY_ACTIVE ||
                   (*value == NESTOR_ACTIVITY_HLT &&
                    (vmx_raw_caps()->misc & VMX_MISC_ACTIVITY_HLT));
        return true;
    case NESTOR_VMCS_CONTROL: {
        if (!control_rule(f, &r))
            return false;
        uint64_t allowed0 = (uint32_t)r.caps, allowed1 = r.caps >> VMX_CTLS_ALLOWED1_SHIFT;
        /* Page-modification logging and VMCS shadowing are the kernel's
         * (NESTOR_VCPU_SET_PML, NESTOR_VCPU_SET_SHADOW: they come with
         * addresses the kernel checks): a monitor's value keeps them as they
         * are. */
        uint64_t kernel_bits =
            f == VMCS_PROC_CONTROLS2 ? PROC2_ENABLE_PML | PROC2_VMCS_SHADOWING : 0;
        uint64_t kept = kernel_bits & ((v->pml_pa ? PROC2_ENABLE_PML : 0) |
                                       (v->shadow ? PROC2_VMCS_SHADOWING : 0));
        *value &= ~kernel_bits;
        if (*value & ~((r.ceiling | allowed0) & allowed1))
            return false;
        *value = ((*value | r.floor | allowed0) & allowed1) | kept;
        return true;
    }
    case NESTOR_VMCS_CRMASK:
        /* SDM 23.8: the bits VMX fixes in CR0/CR4 stay the host's. */
        *value |= vcpu_cr_mask_floor(f);
        return true;
    default:
        return false;
    }
}
static nestor_error_t set_cap(inv_t *iv, const cte_t *self, vcpu_t *v, int which, uint8_t type,
                              unsigned radix)
{
    cte_t *c = inv_cap(iv, 0);
    if (!c)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (c->cap.type != type || (radix && c->cap.size_bits != radix))
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, c->cap.type);
    if (cap_is_alias(&c->cap))          /* EPT use only (kernel/paging.c) */
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 1);
    /* A VCPU runs in a whole guest-physical space, never a pager's part
     * of one (NESTOR_EPT_RESTRICT, kernel/vspace.h). */
    if (vspace_ept_restricted(&c->cap))
        return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 1, c->cap.type);
    /* The rights the kernel and the CPU use the frame with: the state page
     * is written at exits and read at LOAD_STATE and replies (into guest
     * state READ_VMCS returns); the CPU writes the PML page. */
    uint8_t need = which == VCPU_CTE_STATE_PAGE ? NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE
                   : which == VCPU_CTE_PML      ? NESTOR_RIGHT_WRITE : 0;
    if ((c->cap.rights & need) != need)
        return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 1, c->cap.rights);
    if (!cap_install_copy(&v->ctes[which], c, self))
        return inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
    return NESTOR_OK;
}

static nestor_error_t set_tcb(inv_t *iv, cte_t *self, vcpu_t *v)
{
    cte_t *c = inv_cap(iv, 0);
    if (!c)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (c->cap.type != NESTOR_OBJ_TCB)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, c->cap.type);
    tcb_t *t = cap_tcb(&c->cap);
    if (v->tcb || t->vcpu || t->state != TS_INACTIVE)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    /* The thread keeps the VCPU alive while bound (its slot is empty: no deletion). */
    cnode_derive_into(self, &t->ctes[TCB_CTE_VCPU], NESTOR_RIGHTS_ALL);
    v->tcb = t;
    t->vcpu = v;
    return NESTOR_OK;
}

/* The EPT pointer itself is written before every entry, from this slot. */
static nestor_error_t set_ept(inv_t *iv, const cte_t *self, vcpu_t *v)
{
    return set_cap(iv, self, v, VCPU_CTE_EPT, NESTOR_OBJ_EPT_PML4, 0);
}

nestor_error_t vmcs_bulk_decode(inv_t *iv, uint64_t *f, uint64_t *val, unsigned *n)
{
    unsigned per = val ? 2 : 1;
    *n = iv->len / per;
    if (*n == 0 || iv->len % per)
        return inv_error(iv, NESTOR_ERR_TRUNCATED_MESSAGE, per, 0);
    if (*n > NESTOR_VMCS_BULK_MAX)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_VMCS_BULK_MAX);
    for (unsigned i = 0; i < *n; i++)
        if (!inv_arg(iv, per * i, &f[i]) || (val && !inv_arg(iv, per * i + 1, &val[i])))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
    return NESTOR_OK;
}

/* Bulk reads: MR0..MRn-1 fields -> MR0..MRn-1 values. Every field is checked
 * (in the table, readable, and present on this CPU: a VMREAD that fails is
 * an error, never a stale value) before any result is written. */
static nestor_error_t read_vmcs(inv_t *iv, vcpu_t *v)
{
    uint64_t f[NESTOR_VMCS_BULK_MAX], values[NESTOR_VMCS_BULK_MAX];
    unsigned n;
    nestor_error_t e = vmcs_bulk_decode(iv, f, 0, &n);
    if (e != NESTOR_OK)
        return e;
    for (unsigned i = 0; i < n; i++) {
        int a = vmcs_field_access(f[i]);
        if (a == NOT_IN_TABLE || a == NESTOR_VMCS_HIDDEN || !vcpu_vmcs_read(v, f[i], &values[i]))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, i, f[i]);
    }
    for (unsigned i = 0; i < n; i++)
        inv_result(iv, i, values[i]);
    return NESTOR_OK;
}

/* Bulk writes: pairs (field, value) in MR0..; all decoded, then all written.
 * A field the CPU lacks is found by reading it first (SDM 30.3 VMREAD fails
 * for an unsupported component), so the writes themselves cannot fail. */
static nestor_error_t write_vmcs(inv_t *iv, vcpu_t *v)
{
    uint64_t f[NESTOR_VMCS_BULK_MAX], val[NESTOR_VMCS_BULK_MAX], probe;
    unsigned n;
    nestor_error_t e = vmcs_bulk_decode(iv, f, val, &n);
    if (e != NESTOR_OK)
        return e;
    for (unsigned i = 0; i < n; i++)
        if (!decode_write(v, f[i], &val[i]) || !vcpu_vmcs_read(v, f[i], &probe))
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 2 * i, f[i]);
    for (unsigned i = 0; i < n; i++)
        vcpu_vmcs_write_guest(v, f[i], val[i]);
    return NESTOR_OK;
}

/* An optional level argument: absent means level 0. */
static bool optional_level(inv_t *iv, unsigned i, uint64_t *level)
{
    *level = 0;
    if (iv->len > i)
        inv_arg(iv, i, level);
    return *level < NESTOR_EXIT_LEVELS;
}

/* Install (CAP0) or remove (no CAP0) the exit table of a level; the
 * exception bitmap follows the tables (nestor/vcpu.h). */
static nestor_error_t set_exit_table(inv_t *iv, const cte_t *self, vcpu_t *v)
{
    uint64_t level;
    if (!optional_level(iv, 0, &level))
        return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_EXIT_LEVELS - 1);
    if (iv->nextra == 0) {
        if (iv->len == 0)
            return inv_cap(iv, 0) ? NESTOR_OK : NESTOR_ERR_INVALID_CAPABILITY;
        /* Deleting can destroy anything, this VCPU too: then stop here. */
        if (!cap_install_copy(&v->ctes[VCPU_CTE_EXIT_TABLE + level], 0, self))
            return inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
    } else {
        nestor_error_t e = set_cap(iv, self, v, VCPU_CTE_EXIT_TABLE + (int)level,
                                   NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
        if (e != NESTOR_OK)
            return e;
    }
    vcpu_derive_routing(v);
    return NESTOR_OK;
}

/* A doorbell's range [base, base + bytes): inside one 4 KiB page below the
 * EPT's 48 bits (so it neither wraps nor needs more than one EPT lookup). */
static bool doorbell_range_ok(uint64_t base, uint64_t bytes)
{
    return bytes <= NESTOR_DOORBELL_MAX_BYTES && base < EPT_GPA_LIMIT &&
           (base >> NESTOR_FRAME_4K_BITS) == ((base + bytes - 1) >> NESTOR_FRAME_4K_BITS);
}

/* Remove doorbell @i: its exits go to the exit tables from now on. */
static nestor_error_t clear_doorbell(inv_t *iv, const cte_t *self, vcpu_t *v, unsigned i)
{
    v->doorbells &= (uint8_t)~BIT(i);
    v->doorbell_range[i].bytes = 0;
    vcpu_doorbell_bounds(v);
    if (!cap_install_copy(&v->ctes[VCPU_CTE_DOORBELL_EP + i], 0, self) ||
        !cap_install_copy(&v->ctes[VCPU_CTE_DOORBELL_PAGE + i], 0, self))
        return inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
    return NESTOR_OK;
}

/*
 * NESTOR_VCPU_SET_DOORBELL (nestor/vcpu.h "Doorbells"): every argument
 * checked before anything changes. The endpoint is any the caller may send
 * to (as an exit table's); the page is the caller's own frame. Neither
 * reaches beyond this VCPU: the exit carries this VCPU's state only, into
 * that page, and the server's reply loads registers and RIP only.
 */
static nestor_error_t set_doorbell(inv_t *iv, cte_t *self, vcpu_t *v)
{
    uint64_t i, base, bytes, ms;
    if (!inv_arg(iv, 0, &i) || !inv_arg(iv, 1, &base) || !inv_arg(iv, 2, &bytes))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (i >= NESTOR_DOORBELL_MAX)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_DOORBELL_MAX - 1);
    if (bytes == 0)
        return iv->nextra ? inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 2, 0)
                          : clear_doorbell(iv, self, v, (unsigned)i);
    if (!inv_arg(iv, 3, &ms))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (!doorbell_range_ok(base, bytes))
        return inv_error(iv, NESTOR_ERR_RANGE, base, bytes);
    if (ms == 0 || ms > NESTOR_CALL_TIMEOUT_MAX_MS)
        return inv_error(iv, NESTOR_ERR_RANGE, 3, NESTOR_CALL_TIMEOUT_MAX_MS);
    cte_t *ep = inv_cap(iv, 0), *page = inv_cap(iv, 1);
    if (!ep || !page)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (ep->cap.type != NESTOR_OBJ_ENDPOINT)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, ep->cap.type);
    if (!(ep->cap.rights & NESTOR_RIGHT_WRITE))
        return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 1, ep->cap.rights);
    if (page->cap.type != NESTOR_OBJ_FRAME_4K)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 2, page->cap.type);
    if (cap_is_alias(&page->cap))       /* EPT use only (kernel/paging.c) */
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 2);
    /* Written at the exit, read at the reply (as the state page). */
    if ((page->cap.rights & (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)) !=
        (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE))
        return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 2, page->cap.rights);
    for (unsigned j = 0; j < NESTOR_DOORBELL_MAX; j++) {
        const vcpu_doorbell_t *d = &v->doorbell_range[j];
        if (j != i && d->bytes && base < d->base + d->bytes && d->base < base + bytes)
            return inv_error(iv, NESTOR_ERR_DELETE_FIRST, j, d->base);
    }
    /* RAM (any leaf of the VCPU's EPT) is the guest's, never a server's. */
    const cap_t *ept = &v->ctes[VCPU_CTE_EPT].cap;
    uint64_t *leaf;
    unsigned shift;
    if (ept->type == NESTOR_OBJ_EPT_PML4 && vspace_ept_ad_lookup(ept, base, &leaf, &shift) ==
                                                NESTOR_OK)
        return inv_error(iv, NESTOR_ERR_DELETE_FIRST, ~0ULL,
                         base & ~((1ULL << NESTOR_FRAME_4K_BITS) - 1));
    /* Invoke: off while the capabilities change (a deletion runs code). */
    v->doorbells &= (uint8_t)~BIT(i);
    vcpu_doorbell_bounds(v);
    if (!cap_install_copy(&v->ctes[VCPU_CTE_DOORBELL_EP + i], ep, self) ||
        !cap_install_copy(&v->ctes[VCPU_CTE_DOORBELL_PAGE + i], page, self))
        return inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
    v->doorbell_range[i] = (vcpu_doorbell_t){ .base = base, .bytes = (uint32_t)bytes,
                                              .timeout_ticks = ipc_timeout_ticks(ms) };
    v->doorbells |= (uint8_t)BIT(i);
    vcpu_doorbell_bounds(v);
    return NESTOR_OK;
}

nestor_error_t invoke_vcpu(inv_t *iv, cte_t *slot)
{
    vcpu_t *v = cap_vcpu(&slot->cap);
    uint64_t a, b, level;
    switch (iv->label) {
    case NESTOR_VCPU_SET_TCB:
        return set_tcb(iv, slot, v);
    case NESTOR_VCPU_SET_EPT:
        return set_ept(iv, slot, v);
    case NESTOR_VCPU_SET_PML: {
        if (!vcpu_pml_supported())
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        nestor_error_t e = iv->nextra ? set_cap(iv, slot, v, VCPU_CTE_PML, NESTOR_OBJ_FRAME_4K, 0)
                           : cap_install_copy(&v->ctes[VCPU_CTE_PML], 0, slot)
                               ? NESTOR_OK : inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
        if (e == NESTOR_OK)
            vcpu_pml_changed(v);
        return e;
    }
    case NESTOR_VCPU_SET_SHADOW:
        return shadow_bind_invocation(iv, slot, v);
    case NESTOR_VCPU_SET_STATE_PAGE:
        return set_cap(iv, slot, v, VCPU_CTE_STATE_PAGE, NESTOR_OBJ_FRAME_4K, 0);
    case NESTOR_VCPU_SET_EXIT_TABLE:
        return set_exit_table(iv, slot, v);
    case NESTOR_VCPU_SET_DOORBELL:
        return set_doorbell(iv, slot, v);
    case NESTOR_VCPU_SET_EXIT_MASK:
        if (!inv_arg(iv, 0, &a) || !inv_arg(iv, 1, &b))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (a >= EXIT_TABLE_SLOTS)
            return inv_error(iv, NESTOR_ERR_RANGE, 0, EXIT_TABLE_SLOTS - 1);
        if (!optional_level(iv, 2, &level))
            return inv_error(iv, NESTOR_ERR_RANGE, 2, NESTOR_EXIT_LEVELS - 1);
        v->exit_mask[level][a] = (uint16_t)(b & NESTOR_MTD_VALID);
        return NESTOR_OK;
    case NESTOR_VCPU_REPLY:
        if (!inv_arg(iv, 0, &a))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (iv->len < 2 || !inv_arg(iv, 1, &b))
            b = 0;
        if (!vcpu_waits_for_exit_reply(v))
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        vcpu_deferred_reply(v->tcb, a, b);
        return NESTOR_OK;
    case NESTOR_VCPU_READ_VMCS:
        return read_vmcs(iv, v);
    case NESTOR_VCPU_WRITE_VMCS:
        return write_vmcs(iv, v);
    case NESTOR_VCPU_PAUSE:
        if (!(vmx_raw_caps()->pinbased >> VMX_CTLS_ALLOWED1_SHIFT & PIN_PREEMPTION_TIMER))
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        if (!optional_level(iv, 0, &level))
            return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_EXIT_LEVELS - 1);
        v->pause_pending = 1;
        v->pause_level = (uint8_t)level;
        return NESTOR_OK;
    case NESTOR_VCPU_SET_TIMER:
        if (!(vmx_raw_caps()->pinbased >> VMX_CTLS_ALLOWED1_SHIFT & PIN_PREEMPTION_TIMER))
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        if (!inv_arg(iv, 0, &a))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (!optional_level(iv, 1, &level))
            return inv_error(iv, NESTOR_ERR_RANGE, 1, NESTOR_EXIT_LEVELS - 1);
        /* What was left of the timer this one replaces (kept up to date at
         * every exit from the value the CPU saved, SDM 27.3.4); an exit
         * owed for it (it ran out at an exit of another kind) goes with it. */
        inv_result(iv, 0, v->monitor_timer);
        v->monitor_timer = a;
        v->timer_level = (uint8_t)level;
        v->timer_due = 0;
        return NESTOR_OK;
    case NESTOR_VCPU_LOAD_STATE:
    case NESTOR_VCPU_STORE_STATE: {
        if (!inv_arg(iv, 0, &a))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (!vcpu_has_state_page(v))
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        a &= NESTOR_MTD_VALID;
        if (iv->label == NESTOR_VCPU_STORE_STATE) {
            vcpu_store_to_state_page(v, a);
            return NESTOR_OK;
        }
        uint64_t why = vcpu_check_state(vcpu_state_page(v), a);
        if (why)
            return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 0, why);
        vcpu_load_from_state_page(v, a);
        return NESTOR_OK;
    }
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, slot->cap.type);
    }
}
