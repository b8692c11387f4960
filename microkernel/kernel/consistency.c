/*
 * kernel/consistency.c - walk capabilities and thread state and check the
 * invariants the rest of the kernel relies on:
 *  - derivation list links are symmetric (a->next->prev == a);
 *  - every capability has a known type and rights within NESTOR_RIGHTS_ALL;
 *  - memory objects lie in RAM the kernel can reach; an untyped's
 *    watermark is within its size, and its children lie inside it;
 *  - a CNode's guard fits in 64 bits with its radix;
 *  - only alias slices carry capability flags, and they have no children;
 *  - a VCPU and the shadow VMCS bound to it name each other, and the list
 *    of VCPUs with a shadow holds exactly those;
 *  - thread states agree with the queues they are in.
 * The walk is bounded (CHECK_MAX_SLOTS), so a cycle cannot hang it.
 */
#include "kernel/consistency.h"
#include "kernel/console.h"
#include "kernel/cspace.h"
#include "kernel/sched.h"
#include "kernel/shadow.h"
#include "arch/x86_64/paging.h"
#include <nestor/limits.h>

#define CHECK_MAX_SLOTS   (1u << 20)
#define CHECK_MAX_CNODES  256
#define CHECK_MAX_ERRORS  16        /* printed; all are counted */
#define RAM_LIMIT         (4ULL << 30)

typedef struct {
    consistency_t *out;
    const cap_t *cnodes[CHECK_MAX_CNODES];
    unsigned n_cnodes;
} walk_t;

static void error(walk_t *w, const char *what, const void *where, uint64_t detail)
{
    if (w->out->errors++ < CHECK_MAX_ERRORS)
        kprintf("consistency: %s at %p (0x%lx)\n", what, where, detail);
}

static bool in_ram(uint64_t kaddr, uint64_t size)
{
    uint64_t pa = kobj_paddr(kaddr);
    return kaddr >= KOBJ_PHYS_OFFSET && pa + size <= RAM_LIMIT && pa + size >= pa;
}

static void check_cap(walk_t *w, const cte_t *s)
{
    const cap_t *c = &s->cap;
    if (c->type >= NESTOR_OBJ_TYPE_COUNT)
        error(w, "unknown capability type", s, c->type);
    if (c->rights & ~NESTOR_RIGHTS_ALL)
        error(w, "rights outside the defined set", s, c->rights);
    uint64_t size = cap_object_size(c);
    if (size && !in_ram(c->obj, size))
        error(w, "object outside RAM", s, c->obj);
    if (c->type == NESTOR_OBJ_UNTYPED && c->word1 > (1ULL << c->size_bits))
        error(w, "untyped watermark beyond its size", s, c->word1);
    if (c->type == NESTOR_OBJ_CNODE && c->guard_bits + c->size_bits > NESTOR_WORD_BITS)
        error(w, "CNode guard and radix exceed 64 bits", s, c->guard_bits);
    /* Alias slices (kernel/paging.c): 4 KiB frames only, never revocable. */
    if (c->flags && (c->type != NESTOR_OBJ_FRAME_4K || c->flags != CAP_FRAME_ALIAS))
        error(w, "capability flags on the wrong type", s, c->flags);
    if (cap_is_alias(c) && s->revocable)
        error(w, "alias slice marked revocable", s, 0);
    if (c->type == NESTOR_OBJ_VCPU && cap_vcpu(c)->shadow &&
        cap_vcpu(c)->shadow->vcpu != cap_vcpu(c))
        error(w, "VCPU's shadow VMCS bound elsewhere", s, c->obj);
    if (c->type == NESTOR_OBJ_SHADOW_VMCS && cap_shadow(c)->vcpu &&
        cap_shadow(c)->vcpu->shadow != cap_shadow(c))
        error(w, "shadow VMCS's VCPU does not name it", s, c->obj);
    if (s->next && s->next->prev != s)
        error(w, "derivation list: next->prev is not this slot", s, 0);
    if (s->prev && s->prev->next != s)
        error(w, "derivation list: prev->next is not this slot", s, 0);
    /* Children of an untyped lie inside it. */
    if (c->type == NESTOR_OBJ_UNTYPED && s->next && cdt_is_parent(s, s->next) &&
        !cap_same_region(c, &s->next->cap))
        error(w, "untyped child outside its parent", s->next, s->next->cap.obj);
}

static bool queue_contains(const tcb_queue_t *q, const tcb_t *t, unsigned *len)
{
    bool found = false;
    unsigned n = 0;
    for (const tcb_t *x = q->head; x && n < CHECK_MAX_SLOTS; x = x->q_next, n++)
        found |= x == t;
    *len = n;
    return found;
}

static void check_thread(walk_t *w, const tcb_t *t)
{
    unsigned len;
    w->out->threads++;
    switch (t->state) {
    case TS_INACTIVE:
    case TS_READY:
        break;
    case TS_BLOCKED_SEND:
    case TS_BLOCKED_RECV: {
        const endpoint_t *ep = t->blocked_on;
        if (!ep || !queue_contains(&ep->queue, t, &len))
            error(w, "blocked thread not in its endpoint queue", t, t->state);
        else if (ep->state != (t->state == TS_BLOCKED_SEND ? EP_SENDING : EP_RECEIVING))
            error(w, "endpoint state disagrees with its queue", ep, ep->state);
        break;
    }
    case TS_BLOCKED_NTFN: {
        const notification_t *n = t->blocked_on;
        if (!n || !queue_contains(&n->waiters, t, &len))
            error(w, "waiting thread not in its notification queue", t, 0);
        break;
    }
    case TS_BLOCKED_REPLY:
        if (t->callee && t->callee->caller != t)
            error(w, "reply link not symmetric", t, 0);
        break;
    default:
        error(w, "unknown thread state", t, t->state);
    }
}

static void visit_slot(walk_t *w, const cte_t *s);

static void visit_cnode(walk_t *w, const cap_t *c)
{
    for (unsigned i = 0; i < w->n_cnodes; i++)
        if (w->cnodes[i]->obj == c->obj)
            return;                 /* seen: CNodes may contain each other */
    if (w->n_cnodes == CHECK_MAX_CNODES)
        return;
    w->cnodes[w->n_cnodes++] = c;
}

static void visit_slot(walk_t *w, const cte_t *s)
{
    if (cap_is_null(&s->cap) || w->out->slots >= CHECK_MAX_SLOTS)
        return;
    w->out->slots++;
    check_cap(w, s);
    if (s->cap.type == NESTOR_OBJ_CNODE)
        visit_cnode(w, &s->cap);
    if (s->cap.type == NESTOR_OBJ_TCB) {
        const tcb_t *t = cap_tcb(&s->cap);
        check_thread(w, t);
        for (int i = 0; i < TCB_CTE_COUNT; i++)
            visit_slot(w, &t->ctes[i]);
    }
}

void consistency_check(const cap_t *root, consistency_t *out)
{
    static walk_t w;    /* large: kept off the kernel stack */
    *out = (consistency_t){ 0 };
    w.out = out;
    w.n_cnodes = 0;
    visit_cnode(&w, root);
    /* Breadth-first over every CNode found (the list grows as we go). */
    for (unsigned i = 0; i < w.n_cnodes; i++) {
        const cap_t *cn = w.cnodes[i];
        cte_t *slots = cnode_slots(cn);
        for (uint64_t j = 0; j < (1ULL << cn->size_bits); j++)
            visit_slot(&w, &slots[j]);
    }
    sched_check_queues(&out->errors);
    shadow_check_list(&out->errors);
}
