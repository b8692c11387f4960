/*
 * kernel/vcpu_invoke.c - invocations on VCPU objects (labels in
 * nestor/invocations.h, model in nestor/vcpu.h).
 */
#include "arch/x86_64/vmx.h"
#include "kernel/cnode_ops.h"
#include "kernel/invoke.h"
#include "kernel/vcpu.h"

/* Exit controls a monitor may toggle in the primary processor-based
 * controls: interrupt-window and NMI-window exiting, monitor trap flag. */
#define PROC_INTR_WINDOW_EXITING BIT(2)
#define PROC_NMI_WINDOW_EXITING  BIT(22)
#define PROC_USER_TOGGLES (PROC_INTR_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING | \
                           PROC_MONITOR_TRAP_FLAG)

static bool user_writable_control(uint64_t field)
{
    switch (field) {
    case VMCS_EXCEPTION_BITMAP:
    case VMCS_PF_ERROR_MASK:
    case VMCS_PF_ERROR_MATCH:
    case VMCS_ENTRY_INTR_INFO:
    case VMCS_ENTRY_EXCEPTION_ERROR:
    case VMCS_ENTRY_INSTR_LEN:
    case VMCS_TSC_OFFSET:
    case VMCS_CR0_SHADOW:
    case VMCS_CR4_SHADOW:
    case VMCS_PROC_CONTROLS:
        return true;
    default:
        return false;
    }
}

/* Host state and pointers to kernel memory are never readable or writable. */
static bool field_readable(uint64_t f)
{
    unsigned type = VMCS_FIELD_TYPE(f);
    return type == VMCS_TYPE_GUEST || type == VMCS_TYPE_READ_ONLY ||
           (type == VMCS_TYPE_CONTROL && f != VMCS_EPT_POINTER && f != VMCS_IO_BITMAP_A &&
            f != VMCS_IO_BITMAP_B && f != VMCS_MSR_BITMAP);
}

/* The VMX-preemption timer value is the kernel's (the guest's time bound and
 * PAUSE, reloaded at every entry): a guest-state field, but not the monitor's. */
static bool field_writable(uint64_t f)
{
    return (VMCS_FIELD_TYPE(f) == VMCS_TYPE_GUEST && f != VMCS_LINK_POINTER &&
            f != VMCS_PREEMPT_TIMER_VALUE) ||
           user_writable_control(f);
}

static nestor_error_t set_cap(inv_t *iv, const cte_t *self, vcpu_t *v, int which, uint8_t type,
                              unsigned radix)
{
    cte_t *c = inv_cap(iv, 0);
    if (!c)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (c->cap.type != type || (radix && c->cap.size_bits != radix))
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, c->cap.type);
    /* The kernel writes the state page: only through a writable capability. */
    if (which == VCPU_CTE_STATE_PAGE && !(c->cap.rights & NESTOR_RIGHT_WRITE))
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

static nestor_error_t rw_vmcs(inv_t *iv, vcpu_t *v, bool write)
{
    uint64_t field, value = 0;
    if (!inv_arg(iv, 0, &field) || (write && !inv_arg(iv, 1, &value)))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (field > 0xFFFF || !(write ? field_writable(field) : field_readable(field)))
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 0, field);
    if (!write) {
        inv_result(iv, 0, vcpu_vmcs_read(v, field));
        return NESTOR_OK;
    }
    if (field == VMCS_PROC_CONTROLS) {
        uint64_t cur = vcpu_vmcs_read(v, field);
        value = vmx_controls(vmx_raw_caps()->procbased,
                             (uint32_t)((cur & ~PROC_USER_TOGGLES) | (value & PROC_USER_TOGGLES)));
    }
    vcpu_vmcs_write(v, field, value);
    return NESTOR_OK;
}

nestor_error_t invoke_vcpu(inv_t *iv, cte_t *slot)
{
    vcpu_t *v = cap_vcpu(&slot->cap);
    uint64_t a, b;
    switch (iv->label) {
    case NESTOR_VCPU_SET_TCB:
        return set_tcb(iv, slot, v);
    case NESTOR_VCPU_SET_EPT:
        return set_ept(iv, slot, v);
    case NESTOR_VCPU_SET_STATE_PAGE:
        return set_cap(iv, slot, v, VCPU_CTE_STATE_PAGE, NESTOR_OBJ_FRAME_4K, 0);
    case NESTOR_VCPU_SET_EXIT_TABLE:
        return set_cap(iv, slot, v, VCPU_CTE_EXIT_TABLE, NESTOR_OBJ_CNODE,
                       NESTOR_EXIT_TABLE_RADIX);
    case NESTOR_VCPU_SET_EXIT_MASK:
        if (!inv_arg(iv, 0, &a) || !inv_arg(iv, 1, &b))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (a >= EXIT_TABLE_SLOTS)
            return inv_error(iv, NESTOR_ERR_RANGE, 0, EXIT_TABLE_SLOTS - 1);
        v->exit_mask[a] = (uint16_t)(b & NESTOR_MTD_ALL);
        return NESTOR_OK;
    case NESTOR_VCPU_READ_VMCS:
        return rw_vmcs(iv, v, false);
    case NESTOR_VCPU_WRITE_VMCS:
        return rw_vmcs(iv, v, true);
    case NESTOR_VCPU_PAUSE:
        if (!(vmx_raw_caps()->pinbased >> VMX_CTLS_ALLOWED1_SHIFT & PIN_PREEMPTION_TIMER))
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        v->pause_pending = 1;
        return NESTOR_OK;
    case NESTOR_VCPU_LOAD_STATE:
        if (!inv_arg(iv, 0, &a))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (v->ctes[VCPU_CTE_STATE_PAGE].cap.type != NESTOR_OBJ_FRAME_4K)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
        vcpu_load_from_state_page(v, a & NESTOR_MTD_ALL);
        return NESTOR_OK;
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, slot->cap.type);
    }
}
