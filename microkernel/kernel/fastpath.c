/* kernel/fastpath.c - direct-switch IPC for the common case (see fastpath.h). */
#include "kernel/fastpath.h"
#include "kernel/cspace.h"
#include "kernel/ipc.h"
#include "kernel/sched.h"
#include "kernel/vcpu.h"
#include <nestor/errors.h>
#include <nestor/syscalls.h>

#define MSGINFO_UNWRAP_MASK \
    (((1ULL << NESTOR_MSGINFO_UNWRAP_BITS) - 1) << NESTOR_MSGINFO_UNWRAP_SHIFT)

/* Length and extra-caps fields together (msginfo.h): below the unwrap bits. */
#define MSGINFO_LENGTH_AND_CAPS_MASK ((1ULL << NESTOR_MSGINFO_UNWRAP_SHIFT) - 1)

/* A message the fast path can carry: registers only, no capabilities. One
 * compare: with no extra caps the masked value is the length itself. */
static bool simple_message(nestor_msginfo_t info)
{
    return (info & MSGINFO_LENGTH_AND_CAPS_MASK) <= NESTOR_MSG_REGISTERS_IN_CPU;
}

/* Resolve @cptr in a CSpace made of one CNode whose guard covers the rest. */
static const cap_t *lookup_flat(const tcb_t *t, nestor_cptr_t cptr)
{
    const cap_t *root = &t->ctes[TCB_CTE_CSPACE].cap;
    if (root->type != NESTOR_OBJ_CNODE ||
        root->guard_bits + root->size_bits != NESTOR_WORD_BITS ||
        (cptr >> root->size_bits) != root->word1)
        return 0;
    return &cnode_slots(root)[cptr & ((1ULL << root->size_bits) - 1)].cap;
}

static void copy_message(const tcb_t *from, tcb_t *to, nestor_msginfo_t info, uint64_t badge)
{
    to->frame.rdx = from->frame.rdx;
    to->frame.r8 = from->frame.r8;
    to->frame.r9 = from->frame.r9;
    to->frame.r10 = from->frame.r10;
    to->frame.rsi = info & ~MSGINFO_UNWRAP_MASK;
    to->frame.rdi = badge;
    to->frame.rax = NESTOR_OK;
}

/* Block @t on @ep, at the tail of its receive queue (as ep_recv does),
 * remembering GRANT_REPLY of the capability it receives through. */
static void block_receiving(tcb_t *t, endpoint_t *ep, uint8_t rights)
{
    t->blocked_can_grant = (rights & NESTOR_RIGHT_GRANT_REPLY) != 0;
    t->state = TS_BLOCKED_RECV;
    t->blocked_on = ep;
    tcb_queue_append(&ep->queue, t);
    ep->state = EP_RECEIVING;
}

__attribute__((noreturn)) static void switch_and_return(tcb_t *from, tcb_t *to)
{
    sched_handoff(from, to);
    arch_return_to_user(&to->frame);
}

void fastpath_call(trap_frame_t *f)
{
    tcb_t *t = sched_current;
    (void)f;
    nestor_msginfo_t info = t->frame.rsi;
    if (!simple_message(info))
        return;
    const cap_t *c = lookup_flat(t, t->frame.rdi);
    if (!c || c->type != NESTOR_OBJ_ENDPOINT || !(c->rights & NESTOR_RIGHT_WRITE))
        return;
    endpoint_t *ep = cap_ep(c);
    /* One that still owes a reply takes the general path, which unlinks the
     * earlier caller. */
    tcb_t *recv = fastpath_waiting_receiver(ep, t->priority);
    if (!recv)
        return;
    ep_dequeue_head(ep);
    copy_message(t, recv, info, c->word1);      /* an endpoint's word1 is its badge */
    fastpath_call_switch(t, recv, false);
}


/*
 * A handler answers a VM exit and waits for the next message: load the state
 * groups it changed into the VMCS and enter the guest directly. The vCPU
 * thread usually runs below its handler, so the test is that nothing else
 * ready outranks it once the handler blocks.
 */
static void reply_recv_to_vcpu(tcb_t *t, tcb_t *caller, const cap_t *c, nestor_msginfo_t info)
{
    if (nestor_msginfo_label(info) != 0 || nestor_msginfo_length(info) < 1 ||
        (t->bound_ntfn && t->bound_ntfn->active) ||
        !sched_only_ready_above(t, caller->priority))
        return;
    vcpu_resume_from_exit(caller, t->frame.rdx);   /* (a doorbell's timeout disarmed) */
    caller->fault_type = NESTOR_FAULT_NONE;
    t->caller = 0;
    caller->callee = 0;
    block_receiving(t, cap_ep(c), c->rights);
    sched_handoff_to_vcpu(t, caller);
    vcpu_run(caller);
}

/*
 * NESTOR_SYS_VCPU_REPLY_RECV in the common case: the exit of another VCPU
 * than the one whose reply right the handler holds (nested-vmx answers L1's
 * exit while L2's waits, and the other way round) answered with RESUME and
 * entered directly, as reply_recv_to_vcpu does for the caller; the
 * handler's reply right stays. The same checks as the general path
 * (syscall.c vcpu_reply_recv), and the same result.
 */
void fastpath_vcpu_reply_recv(trap_frame_t *f)
{
    tcb_t *t = sched_current;
    (void)f;
    nestor_msginfo_t info = t->frame.rsi;
    if (nestor_msginfo_label(info) != NESTOR_EXIT_REPLY_RESUME ||
        nestor_msginfo_length(info) < 2 || (t->bound_ntfn && t->bound_ntfn->active))
        return;
    const cap_t *vc = lookup_flat(t, t->frame.r8);
    if (!vc || vc->type != NESTOR_OBJ_VCPU)
        return;
    vcpu_t *v = cap_vcpu(vc);
    tcb_t *target = v->tcb;
    if (!vcpu_waits_for_exit_reply(v) || !sched_only_ready_above(t, target->priority))
        return;
    const cap_t *c = lookup_flat(t, t->frame.rdi);
    if (!c || c->type != NESTOR_OBJ_ENDPOINT || !(c->rights & NESTOR_RIGHT_READ) ||
        cap_ep(c)->state == EP_SENDING)
        return;
    /* vcpu_deferred_reply's unlinking: the handler's own caller (the newer
     * exit) keeps its reply right. */
    if (target->callee && target->callee->caller == target)
        target->callee->caller = 0;
    target->callee = 0;
    vcpu_resume_from_exit(target, t->frame.rdx);   /* (a doorbell's timeout disarmed) */
    target->fault_type = NESTOR_FAULT_NONE;
    block_receiving(t, cap_ep(c), c->rights);
    sched_handoff_to_vcpu(t, target);
    vcpu_run(target);
}

void fastpath_reply_recv(trap_frame_t *f)
{
    tcb_t *t = sched_current;
    (void)f;
    nestor_msginfo_t info = t->frame.rsi;
    tcb_t *caller = t->caller;
    if (!caller)
        return;
    const cap_t *c = lookup_flat(t, t->frame.rdi);
    if (!c || c->type != NESTOR_OBJ_ENDPOINT || !(c->rights & NESTOR_RIGHT_READ) ||
        cap_ep(c)->state == EP_SENDING)
        return;
    if (caller->fault_type != NESTOR_FAULT_NONE) {
        if (caller->fault_type == NESTOR_FAULT_VM_EXIT && caller->vcpu)
            reply_recv_to_vcpu(t, caller, c, info);
        return;
    }
    if (!simple_message(info) || caller->priority < t->priority ||
        (t->bound_ntfn && t->bound_ntfn->active) ||
        caller->ctes[TCB_CTE_VSPACE].cap.type != NESTOR_OBJ_PML4)
        return;
    endpoint_t *ep = cap_ep(c);
    if (caller->call_deadline)
        ipc_timeout_disarm(caller);     /* a bounded call ends with its reply */
    copy_message(t, caller, info, 0);
    t->caller = 0;
    caller->callee = 0;
    block_receiving(t, ep, c->rights);
    switch_and_return(t, caller);
}
