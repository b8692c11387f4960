/*
 * kernel/cap.c - capability relations and the derivation list.
 */
#include "kernel/cap.h"

int obj_type_fixed_bits(nestor_obj_type_t t)
{
    switch (t) {
    case NESTOR_OBJ_TCB: return NESTOR_TCB_BITS;
    case NESTOR_OBJ_ENDPOINT: return NESTOR_ENDPOINT_BITS;
    case NESTOR_OBJ_NOTIFICATION: return NESTOR_NOTIFICATION_BITS;
    case NESTOR_OBJ_FRAME_4K: return NESTOR_FRAME_4K_BITS;
    case NESTOR_OBJ_FRAME_2M: return NESTOR_FRAME_2M_BITS;
    case NESTOR_OBJ_PML4:
    case NESTOR_OBJ_PDPT:
    case NESTOR_OBJ_PD:
    case NESTOR_OBJ_PT:
    case NESTOR_OBJ_EPT_PML4:
    case NESTOR_OBJ_EPT_PDPT:
    case NESTOR_OBJ_EPT_PD:
    case NESTOR_OBJ_EPT_PT: return NESTOR_PAGE_TABLE_BITS;
    case NESTOR_OBJ_VCPU: return NESTOR_VCPU_BITS;
    case NESTOR_OBJ_SHADOW_VMCS: return NESTOR_SHADOW_VMCS_BITS;
    default: return -1;
    }
}

int obj_type_bits(nestor_obj_type_t t, unsigned size_bits)
{
    if (t == NESTOR_OBJ_UNTYPED)
        return (size_bits >= NESTOR_UNTYPED_MIN_BITS && size_bits <= NESTOR_UNTYPED_MAX_BITS)
                   ? (int)size_bits : -1;
    if (t == NESTOR_OBJ_CNODE)
        return (size_bits >= NESTOR_CNODE_MIN_RADIX && size_bits <= NESTOR_CNODE_MAX_RADIX)
                   ? (int)(size_bits + NESTOR_CNODE_SLOT_BITS) : -1;
    return obj_type_fixed_bits(t);
}

uint64_t cap_object_size(const cap_t *c)
{
    int bits;
    switch (c->type) {
    case NESTOR_OBJ_UNTYPED:
    case NESTOR_OBJ_FRAME_4K:
    case NESTOR_OBJ_FRAME_2M:
        return 1ULL << c->size_bits;
    case NESTOR_OBJ_CNODE:
        return 1ULL << (c->size_bits + NESTOR_CNODE_SLOT_BITS);
    default:
        bits = obj_type_fixed_bits((nestor_obj_type_t)c->type);
        return bits < 0 ? 0 : 1ULL << bits;
    }
}

uint64_t cap_badge(const cap_t *c)
{
    return (c->type == NESTOR_OBJ_ENDPOINT || c->type == NESTOR_OBJ_NOTIFICATION) ? c->word1 : 0;
}

bool cap_is_slice_of(const cap_t *s, const cap_t *frame)
{
    return frame->type == NESTOR_OBJ_FRAME_2M && s->type == NESTOR_OBJ_FRAME_4K &&
           s->obj >= frame->obj && s->obj - frame->obj < (1ULL << NESTOR_FRAME_2M_BITS);
}

static bool in_frame_run(const cte_t *s, const cap_t *frame)
{
    return s && (cap_same_object(&s->cap, frame) || cap_is_slice_of(&s->cap, frame));
}

cte_t *cdt_frame_run_first(cte_t *slot)
{
    const cap_t frame = slot->cap;
    while (in_frame_run(slot->prev, &frame))
        slot = slot->prev;
    return slot;
}

cte_t *cdt_frame_run_next(const cte_t *run, const cap_t *frame)
{
    return in_frame_run(run->next, frame) ? run->next : 0;
}

static bool is_memory_object(const cap_t *c)
{
    return cap_object_size(c) != 0;
}

bool cap_same_region(const cap_t *a, const cap_t *b)
{
    switch (a->type) {
    case NESTOR_OBJ_NULL:
        return false;
    case NESTOR_OBJ_UNTYPED: {
        if (!is_memory_object(b))
            return false;
        uint64_t a_end = a->obj + (1ULL << a->size_bits);
        uint64_t b_end = b->obj + cap_object_size(b);
        return b->obj >= a->obj && b_end <= a_end && b_end > b->obj;
    }
    case NESTOR_OBJ_IRQ_CONTROL:
        return b->type == NESTOR_OBJ_IRQ_CONTROL || b->type == NESTOR_OBJ_IRQ_HANDLER;
    case NESTOR_OBJ_DEBUG_CONTROL:
        return b->type == NESTOR_OBJ_DEBUG_CONTROL;
    case NESTOR_OBJ_FRAME_2M:
        /* Its 4 KiB slices (NESTOR_FRAME_SLICE) are its children. */
        return cap_same_object(a, b) || cap_is_slice_of(b, a);
    case NESTOR_OBJ_IOPORT_CONTROL:
        return b->type == NESTOR_OBJ_IOPORT_CONTROL || b->type == NESTOR_OBJ_IOPORT;
    case NESTOR_OBJ_IOPORT:
        return b->type == NESTOR_OBJ_IOPORT && IOPORT_FIRST(b->obj) >= IOPORT_FIRST(a->obj) &&
               IOPORT_LAST(b->obj) <= IOPORT_LAST(a->obj);
    default:
        return cap_same_object(a, b);
    }
}

bool cap_same_object(const cap_t *a, const cap_t *b)
{
    if (a->type != b->type || a->type == NESTOR_OBJ_NULL)
        return false;
    switch (a->type) {
    case NESTOR_OBJ_UNTYPED:
    case NESTOR_OBJ_CNODE:
    case NESTOR_OBJ_FRAME_4K:
    case NESTOR_OBJ_FRAME_2M:
        return a->obj == b->obj && a->size_bits == b->size_bits;
    case NESTOR_OBJ_IRQ_CONTROL:
    case NESTOR_OBJ_IOPORT_CONTROL:
    case NESTOR_OBJ_DEBUG_CONTROL:
        return true;
    default:
        return a->obj == b->obj;
    }
}

bool cdt_is_parent(const cte_t *a, const cte_t *b)
{
    if (!a->revocable || !cap_same_region(&a->cap, &b->cap))
        return false;
    if (a->cap.type == NESTOR_OBJ_ENDPOINT || a->cap.type == NESTOR_OBJ_NOTIFICATION) {
        uint64_t badge = cap_badge(&a->cap);
        /* An unbadged original is parent of every capability to the object;
         * a badged one only of the copies of its badge minted from it. */
        return badge == 0 || (badge == cap_badge(&b->cap) && !b->first_badged);
    }
    return true;
}

void cdt_insert(cte_t *parent, cte_t *slot, cap_t cap, bool revocable, bool first_badged)
{
    slot->cap = cap;
    slot->revocable = revocable;
    slot->first_badged = first_badged;
    slot->prev = parent;
    slot->next = parent->next;
    if (parent->next)
        parent->next->prev = slot;
    parent->next = slot;
}

void cdt_insert_root(cte_t *slot, cap_t cap)
{
    slot->cap = cap;
    slot->revocable = true;
    slot->first_badged = false;
    slot->prev = slot->next = 0;
}

void cdt_remove(cte_t *slot)
{
    if (slot->prev)
        slot->prev->next = slot->next;
    if (slot->next)
        slot->next->prev = slot->prev;
    /* A child directly after us now follows our predecessor; if that is not
     * its ancestor it becomes a root of its own, which is what deleting an
     * intermediate capability means. Keep it revocable only if it was. */
    *slot = (cte_t){ 0 };
}

void cdt_move(cte_t *src, cte_t *dst, cap_t cap)
{
    *dst = *src;
    dst->cap = cap;
    if (dst->prev)
        dst->prev->next = dst;
    if (dst->next)
        dst->next->prev = dst;
    *src = (cte_t){ 0 };
}

bool cdt_is_final(const cte_t *slot)
{
    if (slot->cap.type == NESTOR_OBJ_FRAME_2M) {
        /* Slices may sit between the capabilities to one 2 MiB frame:
         * look through the frame's whole run, not just the neighbours. */
        for (const cte_t *s = slot->prev; in_frame_run(s, &slot->cap); s = s->prev)
            if (cap_same_object(&s->cap, &slot->cap))
                return false;
        for (const cte_t *s = slot->next; in_frame_run(s, &slot->cap); s = s->next)
            if (cap_same_object(&s->cap, &slot->cap))
                return false;
        return true;
    }
    return !(slot->prev && cap_same_object(&slot->prev->cap, &slot->cap)) &&
           !(slot->next && cap_same_object(&slot->next->cap, &slot->cap));
}

cte_t *cdt_first_child(const cte_t *slot)
{
    return (slot->next && cdt_is_parent(slot, slot->next)) ? slot->next : 0;
}
