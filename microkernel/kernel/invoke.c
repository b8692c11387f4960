/* kernel/invoke.c - argument access and dispatch of kernel object invocations. */
#include "kernel/invoke.h"
#include "kernel/cspace.h"
#include "kernel/ipc.h"
#include "kernel/shadow.h"

bool inv_arg(inv_t *iv, unsigned i, uint64_t *out)
{
    if (i >= iv->len) {
        inv_error(iv, NESTOR_ERR_TRUNCATED_MESSAGE, i + 1, 0);
        return false;
    }
    *out = mr_get(iv->t, iv->buf, i);
    return true;
}

cte_t *inv_cap(inv_t *iv, unsigned i)
{
    if (i >= iv->nextra || !iv->extra[i]) {
        inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1 + i, 0);
        return 0;
    }
    return iv->extra[i];
}

nestor_error_t inv_error(inv_t *iv, nestor_error_t err, uint64_t d0, uint64_t d1)
{
    mr_set(iv->t, iv->buf, 0, d0);
    mr_set(iv->t, iv->buf, 1, d1);
    iv->reply_len = 2;
    return err;
}

void inv_result(inv_t *iv, unsigned i, uint64_t v)
{
    mr_set(iv->t, iv->buf, i, v);
    if (i + 1 > iv->reply_len)
        iv->reply_len = i + 1;
}

nestor_error_t inv_slot(inv_t *iv, const cap_t *root, uint64_t index, uint64_t depth,
                        cte_t **out)
{
    lookup_t lu;
    if (depth < 1 || depth > NESTOR_WORD_BITS)
        return inv_error(iv, NESTOR_ERR_RANGE, 1, NESTOR_WORD_BITS);
    nestor_error_t err = cspace_lookup(root, index, (unsigned)depth, &lu);
    if (err == NESTOR_OK && lu.bits_left)
        err = NESTOR_ERR_FAILED_LOOKUP;
    if (err != NESTOR_OK)
        return inv_error(iv, err, err == NESTOR_ERR_FAILED_LOOKUP ? lu.bits_left : 0, 0);
    *out = lu.slot;
    return NESTOR_OK;
}

nestor_error_t invoke(inv_t *iv, cte_t *slot)
{
    const cap_t *c = &slot->cap;
    switch (c->type) {
    case NESTOR_OBJ_UNTYPED:
        return invoke_untyped(iv, slot);
    case NESTOR_OBJ_CNODE:
        return invoke_cnode(iv, slot);
    case NESTOR_OBJ_TCB:
        return invoke_tcb(iv, slot);
    case NESTOR_OBJ_FRAME_4K:
    case NESTOR_OBJ_FRAME_2M:
    case NESTOR_OBJ_PDPT:
    case NESTOR_OBJ_PD:
    case NESTOR_OBJ_PT:
        return invoke_paging(iv, slot);
    case NESTOR_OBJ_IRQ_CONTROL:
    case NESTOR_OBJ_IRQ_HANDLER:
        return invoke_irq(iv, slot);
    case NESTOR_OBJ_IOPORT_CONTROL:
    case NESTOR_OBJ_IOPORT:
        return invoke_ioport(iv, slot);
    case NESTOR_OBJ_VCPU:
        return invoke_vcpu(iv, slot);
    case NESTOR_OBJ_EPT_PML4:
        return invoke_ept(iv, slot);
    case NESTOR_OBJ_SHADOW_VMCS:
        return invoke_shadow(iv, slot);
    case NESTOR_OBJ_EPT_PDPT:
    case NESTOR_OBJ_EPT_PD:
    case NESTOR_OBJ_EPT_PT:
        return invoke_paging(iv, slot);
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    }
}
