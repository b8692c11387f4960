/*
 * kernel/cnode_ops.c - capability deletion and object destruction.
 *
 * Destroying a CNode must delete every capability in it, which may destroy
 * further CNodes. To keep the kernel stack bounded whatever a user builds,
 * CNodes to be emptied are not recursed into: they are chained through
 * their slot 0 (zombie_next) and emptied one by one by a loop.
 */
#include "kernel/cnode_ops.h"
#include "kernel/console.h"
#include "arch/x86_64/rflags.h"
#include "arch/x86_64/seg.h"
#include "kernel/cspace.h"
#include "kernel/ipc.h"
#include "kernel/irq.h"
#include "kernel/sched.h"
#include "kernel/shadow.h"
#include "kernel/vcpu.h"
#include "kernel/vspace.h"
#include <nestor/limits.h>
#include <string.h>

static cte_t *zombies;      /* CNodes whose slots still need deleting */

nestor_error_t cap_check_derivable(const cte_t *src)
{
    switch (src->cap.type) {
    case NESTOR_OBJ_NULL:
        return NESTOR_ERR_INVALID_CAPABILITY;
    case NESTOR_OBJ_UNTYPED:
        /* Two capabilities retyping one region would hand out memory twice. */
        return NESTOR_ERR_ILLEGAL_OPERATION;
    case NESTOR_OBJ_FRAME_4K:
        /* An alias slice stays where it was made, in its frame's run of the
         * derivation list, with its holder (kernel/paging.c). */
        return cap_is_alias(&src->cap) ? NESTOR_ERR_ILLEGAL_OPERATION : NESTOR_OK;
    case NESTOR_OBJ_PDPT:
    case NESTOR_OBJ_PD:
    case NESTOR_OBJ_PT:
    case NESTOR_OBJ_EPT_PDPT:
    case NESTOR_OBJ_EPT_PD:
    case NESTOR_OBJ_EPT_PT:
        /* A table is mapped at most once, through its one capability (as seL4). */
        return NESTOR_ERR_ILLEGAL_OPERATION;
    default:
        return NESTOR_OK;
    }
}

bool cnode_derive_into(cte_t *src, cte_t *dest, uint8_t mask)
{
    if (cap_check_derivable(src) != NESTOR_OK || !cap_is_null(&dest->cap))
        return false;
    cap_t c = src->cap;
    c.rights &= mask;
    if (vspace_is_mapping_cap(&c))
        c.word1 = c.word2 = 0;      /* a copy of a mapped frame starts unmapped */
    cdt_insert(src, dest, c, false, false);
    return true;
}

bool cnode_receive_slot(tcb_t *t, nestor_ipc_buffer_t *buf, cte_t **out)
{
    lookup_t root, slot;
    if (cspace_lookup(&t->ctes[TCB_CTE_CSPACE].cap, buf->receive_cnode, NESTOR_WORD_BITS,
                      &root) != NESTOR_OK || root.slot->cap.type != NESTOR_OBJ_CNODE)
        return false;
    if (buf->receive_depth == 0 || buf->receive_depth > NESTOR_WORD_BITS ||
        cspace_lookup(&root.slot->cap, buf->receive_index, (unsigned)buf->receive_depth,
                      &slot) != NESTOR_OK || slot.bits_left || !cap_is_null(&slot.slot->cap))
        return false;
    *out = slot.slot;
    return true;
}

/* ---- thread registers ---- */

static bool canonical_user(uint64_t va)
{
    return va < NESTOR_USER_TOP;
}

void tcb_set_context(tcb_t *t, const nestor_user_context_t *c)
{
    trap_frame_t *f = &t->frame;
    /* Non-canonical or kernel RIP/RSP would fault in ring 0 on the way out
     * (SDM Vol. 2B SYSRET/IRET): keep the old value instead. */
    if (canonical_user(c->rip))
        f->rip = c->rip;
    if (canonical_user(c->rsp))
        f->rsp = c->rsp;
    f->rflags = (c->rflags & RFLAGS_USER_WRITABLE) | RFLAGS_USER_FORCED;
    f->rax = c->rax; f->rbx = c->rbx; f->rcx = c->rcx; f->rdx = c->rdx;
    f->rsi = c->rsi; f->rdi = c->rdi; f->rbp = c->rbp;
    f->r8 = c->r8; f->r9 = c->r9; f->r10 = c->r10; f->r11 = c->r11;
    f->r12 = c->r12; f->r13 = c->r13; f->r14 = c->r14; f->r15 = c->r15;
    if (canonical_user(c->fs_base))
        t->fs_base = c->fs_base;
    if (canonical_user(c->gs_base))
        t->gs_base = c->gs_base;
    f->cs = SEL_UCODE64;
    f->ss = SEL_UDATA;
    f->vector = 0;      /* return with IRETQ: every register comes back */
}

void tcb_get_context(const tcb_t *t, nestor_user_context_t *c)
{
    const trap_frame_t *f = &t->frame;
    *c = (nestor_user_context_t){
        .rip = f->rip, .rsp = f->rsp, .rflags = f->rflags,
        .rax = f->rax, .rbx = f->rbx, .rcx = f->rcx, .rdx = f->rdx,
        .rsi = f->rsi, .rdi = f->rdi, .rbp = f->rbp,
        .r8 = f->r8, .r9 = f->r9, .r10 = f->r10, .r11 = f->r11,
        .r12 = f->r12, .r13 = f->r13, .r14 = f->r14, .r15 = f->r15,
        .fs_base = t->fs_base, .gs_base = t->gs_base,
    };
}

/* ---- destruction ---- */

static void delete_one(cte_t *slot);

static void tcb_finalise(tcb_t *t)
{
    console_thread_flush(t);
    ipc_cancel(t);
    if (t->caller) {            /* a client waits for our reply: it never comes */
        tcb_t *c = t->caller;
        c->state = TS_INACTIVE;
        ipc_wake_deleted(c);
        t->caller = 0;
    }
    if (t->bound_ntfn) {
        t->bound_ntfn->bound = 0;
        t->bound_ntfn = 0;
    }
    if (t->vcpu) {              /* the VCPU may outlive its thread */
        t->vcpu->tcb = 0;
        t->vcpu = 0;
    }
    sched_forget(t);
    for (int i = 0; i < TCB_CTE_COUNT; i++)
        delete_one(&t->ctes[i]);
}

static void finalise(cte_t *slot)
{
    cap_t *c = &slot->cap;
    switch (c->type) {
    case NESTOR_OBJ_ENDPOINT:
        ep_cancel_all(cap_ep(c));
        break;
    case NESTOR_OBJ_NOTIFICATION:
        irq_forget_notification(cap_ntfn(c));
        ntfn_cancel_all(cap_ntfn(c));
        break;
    case NESTOR_OBJ_TCB:
        tcb_finalise(cap_tcb(c));
        break;
    case NESTOR_OBJ_CNODE: {
        cte_t *first = cnode_slots(c);
        first->zombie_next = (uint64_t)(uintptr_t)zombies;
        zombies = first;
        /* The zombie keeps its slot count in its own slot 0 word. */
        first->reserved[0] = c->size_bits;
        break;
    }
    case NESTOR_OBJ_PML4:
    case NESTOR_OBJ_EPT_PML4:
        vspace_destroy(c);
        break;
    case NESTOR_OBJ_VCPU: {
        vcpu_t *v = cap_vcpu(c);
        vcpu_finalise(v);
        for (int i = 0; i < VCPU_CTE_COUNT; i++)
            delete_one(&v->ctes[i]);
        break;
    }
    case NESTOR_OBJ_SHADOW_VMCS: {
        /* Its VCPU stops shadowing first and lets go of the bitmaps. */
        vcpu_t *v = shadow_finalise(cap_shadow(c));
        if (v) {
            delete_one(&v->ctes[VCPU_CTE_VMREAD_BITMAP]);
            delete_one(&v->ctes[VCPU_CTE_VMWRITE_BITMAP]);
        }
        break;
    }
    case NESTOR_OBJ_IRQ_HANDLER:
        irq_handler_release((unsigned)c->obj);
        break;
    default:
        break;
    }
}

/* The last capability to a 2 MiB frame takes its 4 KiB slices and alias
 * slices with it (wherever they are mapped, the EPT entries are removed and
 * invalidated: vspace_unmap_cap): no slice outlives its frame. Slices have no
 * children of another kind, so this recurses one level only. */
static void delete_slices(cte_t *slot)
{
    const cap_t frame = slot->cap;
    for (cte_t *s = cdt_frame_run_first(slot), *next; s; s = next) {
        next = cdt_frame_run_next(s, &frame);
        if (s != slot)
            delete_one(s);
    }
}

static void delete_one(cte_t *slot)
{
    if (cap_is_null(&slot->cap))
        return;
    if (vspace_is_mapping_cap(&slot->cap))
        vspace_unmap_cap(&slot->cap);
    bool final = cdt_is_final(slot);
    if (final && slot->cap.type == NESTOR_OBJ_FRAME_2M)
        delete_slices(slot);
    cap_t c = slot->cap;
    cte_t saved = *slot;
    cdt_remove(slot);
    if (c.type == NESTOR_OBJ_IOPORT)
        sched_io_grants_changed();  /* it may have been a thread's direct grant */
    if (c.type == NESTOR_OBJ_FRAME_4K)
        shadow_slot_deleted(slot);  /* it may have been a VCPU's VMREAD/VMWRITE bitmap */
    if (final) {
        saved.cap = c;
        finalise(&saved);
    }
}

static void drain_zombies(void)
{
    while (zombies) {
        cte_t *first = zombies;
        zombies = (cte_t *)(uintptr_t)first->zombie_next;
        unsigned radix = first->reserved[0];
        first->zombie_next = 0;
        first->reserved[0] = 0;
        for (uint64_t i = 0; i < (1ULL << radix); i++)
            delete_one(&first[i]);
    }
}

void cap_delete(cte_t *slot)
{
    delete_one(slot);
    drain_zombies();
}

static bool same_cap(const cap_t *a, const cap_t *b)
{
    return a->type == b->type && a->obj == b->obj && a->word1 == b->word1 &&
           a->rights == b->rights;
}

bool cap_install_copy(cte_t *dst, cte_t *src, const cte_t *owner)
{
    cap_t want = src ? src->cap : (cap_t){ 0 }, owner_cap = owner->cap;
    cap_delete(dst);
    if (!same_cap(&owner->cap, &owner_cap) || (src && !same_cap(&src->cap, &want)))
        return false;
    return !src || cnode_derive_into(src, dst, NESTOR_RIGHTS_ALL);
}

void cap_revoke(cte_t *slot)
{
    cte_t *child;
    while ((child = cdt_first_child(slot)))
        cap_delete(child);
}
