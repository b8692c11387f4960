/*
 * kernel/untyped.c - Untyped retype: the only way kernel objects come to be.
 */
#include "kernel/cnode_ops.h"
#include "kernel/cspace.h"
#include "kernel/invoke.h"
#include "kernel/shadow.h"
#include "kernel/untyped_math.h"
#include "kernel/vcpu.h"
#include "kernel/vspace.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/rflags.h"
#include "arch/x86_64/seg.h"
#include <nestor/limits.h>

#define RETYPE_MAX_COUNT 256      /* bounds the work of one invocation */

static uint32_t next_tcb_id = 1;

void tcb_init_object(tcb_t *t, uint32_t id)
{
    t->frame.cs = SEL_UCODE64;
    t->frame.ss = SEL_UDATA;
    t->frame.rflags = RFLAGS_USER_FORCED;
    t->state = TS_INACTIVE;
    t->time_left = NESTOR_TIMESLICE_TICKS;   /* never 0 from here on (see sched.c) */
    t->id = id;
    fpu_init_area(tcb_fpu_area(t));
}

/*
 * Zero a new object's memory: what it held before (a destroyed object's
 * state, another guest's RAM) must not show through. One REP STOSQ (SDM
 * Vol. 2B STOS, REP): objects are at least 16 bytes and aligned to their
 * size. A byte loop cost 4 instructions a byte, 4.3 G for a 1 GiB VM on
 * Bochs (BENCHMARKS.md, "Guest RAM at boot").
 */
static void zero_object(kaddr_t obj, unsigned obj_bits)
{
    void *dst = kobj_ptr(obj);
    uint64_t qwords = (1ULL << obj_bits) / sizeof(uint64_t);
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(qwords) : "a"(0ULL) : "memory");
}

static bool retypable(uint64_t type)
{
    switch (type) {
    case NESTOR_OBJ_UNTYPED: case NESTOR_OBJ_CNODE: case NESTOR_OBJ_TCB:
    case NESTOR_OBJ_ENDPOINT: case NESTOR_OBJ_NOTIFICATION: case NESTOR_OBJ_FRAME_4K:
    case NESTOR_OBJ_FRAME_2M: case NESTOR_OBJ_PML4: case NESTOR_OBJ_PDPT:
    case NESTOR_OBJ_PD: case NESTOR_OBJ_PT: case NESTOR_OBJ_VCPU: case NESTOR_OBJ_EPT_PML4:
    case NESTOR_OBJ_EPT_PDPT: case NESTOR_OBJ_EPT_PD: case NESTOR_OBJ_EPT_PT:
    case NESTOR_OBJ_SHADOW_VMCS:
        return true;
    default:
        return false;
    }
}

static cap_t new_cap(uint64_t type, unsigned size_bits, kaddr_t obj)
{
    cap_t c = { .type = (uint8_t)type, .rights = NESTOR_RIGHTS_ALL, .obj = obj };
    if (type == NESTOR_OBJ_UNTYPED || type == NESTOR_OBJ_CNODE)
        c.size_bits = (uint8_t)size_bits;
    else if (type == NESTOR_OBJ_FRAME_4K || type == NESTOR_OBJ_FRAME_2M)
        c.size_bits = (uint8_t)obj_type_fixed_bits((nestor_obj_type_t)type);
    return c;
}

nestor_error_t invoke_untyped(inv_t *iv, cte_t *slot)
{
    if (iv->label != NESTOR_UNTYPED_RETYPE)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    uint64_t type, size_bits, index, depth, offset, count;
    if (!inv_arg(iv, 0, &type) || !inv_arg(iv, 1, &size_bits) || !inv_arg(iv, 2, &index) ||
        !inv_arg(iv, 3, &depth) || !inv_arg(iv, 4, &offset) || !inv_arg(iv, 5, &count))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *root = inv_cap(iv, 0);
    if (!root)
        return NESTOR_ERR_INVALID_CAPABILITY;

    /* Decode: type and size. */
    if (!retypable(type))
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, 0, type);
    int obj_bits = obj_type_bits((nestor_obj_type_t)type, size_bits > 255 ? 0 : (unsigned)size_bits);
    if (obj_bits < 0)
        return inv_error(iv, NESTOR_ERR_RANGE,
                         type == NESTOR_OBJ_CNODE ? NESTOR_CNODE_MIN_RADIX : NESTOR_UNTYPED_MIN_BITS,
                         type == NESTOR_OBJ_CNODE ? NESTOR_CNODE_MAX_RADIX : NESTOR_UNTYPED_MAX_BITS);
    if (count < 1 || count > RETYPE_MAX_COUNT)
        return inv_error(iv, NESTOR_ERR_RANGE, 1, RETYPE_MAX_COUNT);

    /* Decode: destination CNode and slots. */
    const cap_t *dest_cnode = &root->cap;
    if (depth != 0) {
        cte_t *node;
        nestor_error_t err = inv_slot(iv, &root->cap, index, depth, &node);
        if (err != NESTOR_OK)
            return err;
        dest_cnode = &node->cap;
    }
    if (dest_cnode->type != NESTOR_OBJ_CNODE)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, 0);
    uint64_t slots = 1ULL << dest_cnode->size_bits;
    if (offset >= slots || count > slots - offset)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, slots);
    cte_t *dest = cnode_slots(dest_cnode) + offset;
    for (uint64_t i = 0; i < count; i++)
        if (!cap_is_null(&dest[i].cap))
            return inv_error(iv, NESTOR_ERR_DELETE_FIRST, offset + i, 0);

    /* Decode: room in the untyped. With no children left, all is free again. */
    cap_t *ut = &slot->cap;
    uint64_t used = cdt_first_child(slot) ? ut->word1 : 0;
    uint64_t first, new_used, avail;
    if (!untyped_fit(ut->size_bits, used, (unsigned)obj_bits, count, &first, &new_used, &avail))
        return inv_error(iv, NESTOR_ERR_NOT_ENOUGH_MEMORY, avail, 0);
    if ((type == NESTOR_OBJ_PML4 || type == NESTOR_OBJ_EPT_PML4) && vspace_free_ids() < count)
        return inv_error(iv, NESTOR_ERR_NOT_ENOUGH_MEMORY, 0, 0);
    if (type == NESTOR_OBJ_VCPU && !vcpu_supported())
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, type);
    if (type == NESTOR_OBJ_SHADOW_VMCS && !shadow_supported())
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, type);
    if (type == NESTOR_OBJ_VCPU && !vcpu_can_create(count))
        return inv_error(iv, NESTOR_ERR_NOT_ENOUGH_MEMORY, 0, 0);   /* out of VPIDs */

    /* Invoke: cannot fail from here on. */
    ut->word1 = new_used;
    for (uint64_t i = 0; i < count; i++) {
        kaddr_t obj = ut->obj + first + (i << obj_bits);
        /* As seL4: an untyped is not zeroed when carved, only the objects
         * finally retyped from it are (no one can read an untyped's memory),
         * so memory handed down a chain of monitors is zeroed once. */
        if (type != NESTOR_OBJ_UNTYPED)
            zero_object(obj, (unsigned)obj_bits);
        cap_t c = new_cap(type, (unsigned)size_bits, obj);
        if (type == NESTOR_OBJ_TCB)
            tcb_init_object(kobj_ptr(obj), next_tcb_id++);
        if (type == NESTOR_OBJ_PML4)
            vspace_init_pml4(&c);
        if (type == NESTOR_OBJ_EPT_PML4)
            vspace_init_ept(&c);
        if (type == NESTOR_OBJ_VCPU)
            vcpu_init_object(obj);
        if (type == NESTOR_OBJ_SHADOW_VMCS)
            shadow_init_object(obj);
        cdt_insert(slot, &dest[i], c, true, false);
    }
    return NESTOR_OK;
}
