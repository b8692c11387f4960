/*
 * kernel/ipc.c - endpoints, replies, notifications and fault messages.
 *
 * Message registers 0-3 travel in CPU registers (rdx r8 r9 r10 in the saved
 * frame), the rest in the IPC buffers; the length is cut to what both sides
 * can hold. A CALL leaves the receiver with a reply right to the caller
 * (receiver->caller); REPLY uses it once.
 */
#include "kernel/ipc.h"
#include "arch/x86_64/apic.h"
#include "kernel/cnode_ops.h"
#include "kernel/console.h"
#include "kernel/cspace.h"
#include "kernel/sched.h"
#include "kernel/tcb_queue.h"
#include "kernel/vcpu.h"
#include <nestor/errors.h>
#include <nestor/syscalls.h>

/* ---- message registers ---- */

static uint64_t *frame_mr(tcb_t *t, unsigned i)
{
    switch (i) {
    case 0: return &t->frame.rdx;
    case 1: return &t->frame.r8;
    case 2: return &t->frame.r9;
    default: return &t->frame.r10;
    }
}

uint64_t mr_get(tcb_t *t, nestor_ipc_buffer_t *buf, unsigned i)
{
    if (i < NESTOR_MSG_REGISTERS_IN_CPU)
        return *frame_mr(t, i);
    return buf && i < NESTOR_MSG_MAX_LENGTH ? buf->msg[i] : 0;
}

void mr_set(tcb_t *t, nestor_ipc_buffer_t *buf, unsigned i, uint64_t v)
{
    if (i < NESTOR_MSG_REGISTERS_IN_CPU)
        *frame_mr(t, i) = v;
    else if (buf && i < NESTOR_MSG_MAX_LENGTH)
        buf->msg[i] = v;
}

void set_syscall_result(tcb_t *t, uint64_t status, nestor_msginfo_t info, uint64_t badge)
{
    t->frame.rax = status;
    t->frame.rsi = info;
    t->frame.rdi = badge;
}

static unsigned capacity(nestor_ipc_buffer_t *buf)
{
    return buf ? NESTOR_MSG_MAX_LENGTH : NESTOR_MSG_REGISTERS_IN_CPU;
}

/* ---- blocking (the queues themselves: kernel/tcb_queue.h) ---- */

static void block(tcb_t *t, thread_state_t state, void *on)
{
    t->state = state;
    t->blocked_on = on;
    sched_remove(t);
}

/* ---- capability transfer ---- */

/*
 * Send the extra capabilities named in @from's IPC buffer. A capability to
 * the endpoint being used is "unwrapped": its badge is delivered instead.
 * Others are copied into the receiver's single receive slot (the first one
 * only). Returns the message info bits for caps and unwrapped mask.
 */
static void transfer_caps(tcb_t *from, nestor_ipc_buffer_t *fb, unsigned extra,
                          const cap_t *ep_cap, tcb_t *to, nestor_ipc_buffer_t *tb,
                          unsigned *n_out, unsigned *unwrapped_out)
{
    unsigned n = 0, unwrapped = 0;
    bool slot_used = false;
    for (unsigned i = 0; i < extra && i < NESTOR_MSG_MAX_EXTRA_CAPS; i++) {
        lookup_t src;
        if (cspace_lookup(&from->ctes[TCB_CTE_CSPACE].cap, fb->caps_or_badges[i],
                          NESTOR_WORD_BITS, &src) != NESTOR_OK || cap_is_null(&src.slot->cap))
            break;
        const cap_t *c = &src.slot->cap;
        if (c->type == NESTOR_OBJ_ENDPOINT && c->obj == ep_cap->obj && cap_badge(c)) {
            tb->caps_or_badges[i] = cap_badge(c);
            unwrapped |= 1u << i;
            n++;
            continue;
        }
        cte_t *dest;
        if (slot_used || !cnode_receive_slot(to, tb, &dest) ||
            !cnode_derive_into(src.slot, dest, NESTOR_RIGHTS_ALL))
            break;
        slot_used = true;
        n++;
    }
    *n_out = n;
    *unwrapped_out = unwrapped;
}

/* Copy a message (or a pending fault) from @from to the receiver @to. */
static void transfer(tcb_t *from, tcb_t *to, uint64_t badge, bool can_grant, const cap_t *ep_cap)
{
    nestor_ipc_buffer_t *fb = tcb_ipc_buffer(from), *tb = tcb_ipc_buffer(to);
    if (from->fault_type != NESTOR_FAULT_NONE) {
        unsigned len = from->fault_len;
        for (unsigned i = 0; i < len; i++)
            mr_set(to, tb, i, from->fault_mrs[i]);
        set_syscall_result(to, NESTOR_OK, nestor_msginfo(from->fault_type, 0, 0, len), badge);
        return;
    }
    nestor_msginfo_t info = from->frame.rsi;
    unsigned len = nestor_msginfo_length(info);
    if (len > capacity(fb))
        len = capacity(fb);
    if (len > capacity(tb))
        len = capacity(tb);
    for (unsigned i = 0; i < len; i++)
        mr_set(to, tb, i, mr_get(from, fb, i));
    unsigned ncaps = 0, unwrapped = 0;
    if (can_grant && fb && tb && nestor_msginfo_extra_caps(info))
        transfer_caps(from, fb, nestor_msginfo_extra_caps(info), ep_cap, to, tb, &ncaps,
                      &unwrapped);
    set_syscall_result(to, NESTOR_OK,
                       nestor_msginfo(nestor_msginfo_label(info), unwrapped, ncaps, len), badge);
}

/*
 * @caller did CALL (or faulted) and @receiver got the message through an
 * endpoint capability whose GRANT_REPLY right says whether its reply may
 * carry capabilities. A receiver that never replied to an earlier caller
 * loses that reply right: the earlier caller stays blocked, unlinked (it
 * wakes when deleted or suspended).
 */
static void link_reply(tcb_t *caller, tcb_t *receiver, bool can_grant_reply)
{
    if (receiver->caller && receiver->caller != caller)
        receiver->caller->callee = 0;
    caller->state = TS_BLOCKED_REPLY;
    caller->blocked_on = 0;
    caller->callee = receiver;
    receiver->caller = caller;
    receiver->reply_can_grant = can_grant_reply;
    sched_remove(caller);
}

/* ---- endpoints ---- */

void ipc_send(tcb_t *sender, const cap_t *cap, bool blocking, bool is_call)
{
    endpoint_t *ep = cap_ep(cap);
    bool can_grant = cap->rights & NESTOR_RIGHT_GRANT;
    if (ep->state == EP_RECEIVING) {
        tcb_t *recv = ep_dequeue_head(ep);
        transfer(sender, recv, cap_badge(cap), can_grant, cap);
        if (is_call) {
            link_reply(sender, recv, recv->blocked_can_grant);
            sched_make_ready_next(recv);
        } else {
            sched_make_ready(recv);
        }
        return;
    }
    if (!blocking)
        return;             /* non-blocking send with nobody waiting: dropped */
    sender->blocked_badge = cap_badge(cap);
    sender->blocked_is_call = is_call;
    sender->blocked_can_grant = can_grant;
    block(sender, TS_BLOCKED_SEND, ep);
    tcb_queue_append(&ep->queue, sender);
    ep->state = EP_SENDING;
}

/* Hand @n's pending signal to @t as its receive result; false if none. */
static bool take_signal(notification_t *n, tcb_t *t)
{
    if (!n || !n->active)
        return false;
    set_syscall_result(t, NESTOR_OK, nestor_msginfo(0, 0, 0, 0), n->word);
    n->word = 0;
    n->active = 0;
    return true;
}

static bool take_bound_signal(tcb_t *t)
{
    return take_signal(t->bound_ntfn, t);
}

static void ep_recv(tcb_t *receiver, const cap_t *cap, bool blocking)
{
    endpoint_t *ep = cap_ep(cap);
    if (ep->state == EP_SENDING) {
        tcb_t *s = ep_dequeue_head(ep);
        transfer(s, receiver, s->blocked_badge, s->blocked_can_grant, cap);
        if (s->blocked_is_call || s->fault_type != NESTOR_FAULT_NONE)
            link_reply(s, receiver, cap->rights & NESTOR_RIGHT_GRANT_REPLY);
        else
            sched_make_ready(s);
        return;
    }
    if (take_bound_signal(receiver))
        return;
    if (!blocking) {
        set_syscall_result(receiver, NESTOR_ERR_WOULD_BLOCK, 0, 0);
        return;
    }
    /* For a receiver, blocked_can_grant records GRANT_REPLY on its capability. */
    receiver->blocked_can_grant = (cap->rights & NESTOR_RIGHT_GRANT_REPLY) != 0;
    block(receiver, TS_BLOCKED_RECV, ep);
    tcb_queue_append(&ep->queue, receiver);
    ep->state = EP_RECEIVING;
}

/* ---- notifications ---- */

void ntfn_signal(notification_t *n, uint64_t badge)
{
    tcb_t *w = tcb_queue_pop(&n->waiters);
    if (w) {
        w->blocked_on = 0;
        set_syscall_result(w, NESTOR_OK, nestor_msginfo(0, 0, 0, 0), badge | n->word);
        n->word = 0;
        n->active = 0;
        sched_make_ready(w);
        return;
    }
    n->word |= badge;
    n->active = 1;
    tcb_t *b = n->bound;
    /* A bound thread waiting on an endpoint takes the signal instead. */
    if (b && b->state == TS_BLOCKED_RECV) {
        ipc_cancel(b);
        take_bound_signal(b);
        sched_make_ready(b);
    }
}

static void ntfn_wait(tcb_t *t, const cap_t *cap, bool blocking)
{
    notification_t *n = cap_ntfn(cap);
    if (take_signal(n, t))
        return;
    if (!blocking) {
        set_syscall_result(t, NESTOR_ERR_WOULD_BLOCK, 0, 0);
        return;
    }
    block(t, TS_BLOCKED_NTFN, n);
    tcb_queue_append(&n->waiters, t);
}

void ipc_recv(tcb_t *t, const cap_t *cap, bool blocking)
{
    if (cap->type == NESTOR_OBJ_NOTIFICATION)
        ntfn_wait(t, cap, blocking);
    else
        ep_recv(t, cap, blocking);
}

/* ---- replies and faults ---- */

static void resume_after_fault(tcb_t *client, tcb_t *server, nestor_ipc_buffer_t *sb)
{
    nestor_msginfo_t info = server->frame.rsi;
    unsigned len = nestor_msginfo_length(info);
    nestor_fault_t type = (nestor_fault_t)client->fault_type;
    client->fault_type = NESTOR_FAULT_NONE;
    if (type == NESTOR_FAULT_VM_EXIT) {
        /* Resume, pass on to the next monitor, or stop (nestor/vcpu.h). */
        if (vcpu_exit_reply(client, nestor_msginfo_label(info), len ? mr_get(server, sb, 0) : 0,
                            true))
            sched_make_ready(client);
        return;
    }
    if (nestor_msginfo_label(info) != 0) {
        client->state = TS_INACTIVE;      /* the handler chose to leave it stopped */
        return;
    }
    if (type != NESTOR_FAULT_VM && len >= NESTOR_CONTEXT_WORDS) {
        nestor_user_context_t ctx;
        uint64_t *w = (uint64_t *)&ctx;
        for (unsigned i = 0; i < NESTOR_CONTEXT_WORDS; i++)
            w[i] = mr_get(server, sb, i);
        tcb_set_context(client, &ctx);
    }
    sched_make_ready(client);
}

bool ipc_reply(tcb_t *t)
{
    tcb_t *client = t->caller;
    if (!client)
        return false;
    t->caller = 0;
    client->callee = 0;
    if (client->call_deadline)
        ipc_timeout_disarm(client);
    if (client->fault_type != NESTOR_FAULT_NONE) {
        resume_after_fault(client, t, tcb_ipc_buffer(t));
        return true;
    }
    transfer(t, client, 0, t->reply_can_grant, &(cap_t){ 0 });
    sched_make_ready_next(client);
    return true;
}

void fault_deliver(tcb_t *t, nestor_fault_t type, const uint64_t *mrs, unsigned n)
{
    lookup_t lu;
    const cap_t *cs = &t->ctes[TCB_CTE_CSPACE].cap;
    nestor_error_t err = t->fault_ep ? cspace_lookup(cs, t->fault_ep, NESTOR_WORD_BITS, &lu)
                                     : NESTOR_ERR_INVALID_CAPABILITY;
    const cap_t *ep = err == NESTOR_OK ? &lu.slot->cap : 0;
    console_thread_flush(t);            /* its last words come before the fault's */
    if (!ep || ep->type != NESTOR_OBJ_ENDPOINT || !(ep->rights & NESTOR_RIGHT_WRITE)) {
        kprintf("fault: thread %u: fault type %u at rip 0x%lx (addr/vector 0x%lx), "
                "no usable fault endpoint: thread stopped\n", t->id, type, mrs[0], n > 1 ? mrs[1] : 0);
        t->state = TS_INACTIVE;
        sched_remove(t);
        return;
    }
    t->fault_type = type;
    t->fault_len = n < TCB_FAULT_MRS ? n : TCB_FAULT_MRS;
    for (unsigned i = 0; i < t->fault_len; i++)
        t->fault_mrs[i] = mrs[i];
    ipc_send(t, ep, true, true);
}

/* ---- cancellation ---- */

void ipc_cancel(tcb_t *t)
{
    ipc_timeout_disarm(t);
    switch (t->state) {
    case TS_BLOCKED_SEND:
    case TS_BLOCKED_RECV: {
        endpoint_t *ep = t->blocked_on;
        tcb_queue_remove(&ep->queue, t);
        if (!ep->queue.head)
            ep->state = EP_IDLE;
        break;
    }
    case TS_BLOCKED_NTFN:
        tcb_queue_remove(&((notification_t *)t->blocked_on)->waiters, t);
        break;
    case TS_BLOCKED_REPLY:
        if (t->callee && t->callee->caller == t)
            t->callee->caller = 0;
        t->callee = 0;
        break;
    default:
        break;
    }
    t->blocked_on = 0;
    t->state = TS_INACTIVE;
    t->fault_type = NESTOR_FAULT_NONE;
}

/* A thread whose partner or endpoint went away wakes with an error; a vCPU
 * thread whose exit can no longer be answered stops instead (resuming it
 * would enter the guest as if the exit had been handled; NESTOR_TCB_RESUME
 * runs the exiting instruction again). */
void ipc_wake_deleted(tcb_t *t)
{
    bool exit_lost = t->fault_type == NESTOR_FAULT_VM_EXIT;
    ipc_timeout_disarm(t);
    t->blocked_on = 0;
    t->callee = 0;
    t->fault_type = NESTOR_FAULT_NONE;
    if (exit_lost) {
        t->state = TS_INACTIVE;
        vcpu_doorbell_lost(t, "is gone");      /* a doorbell's exit goes on */
        return;
    }
    set_syscall_result(t, NESTOR_ERR_DELETED, 0, 0);
    sched_make_ready(t);
}

void ep_cancel_all(endpoint_t *ep)
{
    tcb_t *t;
    while ((t = tcb_queue_pop(&ep->queue)))
        ipc_wake_deleted(t);
    ep->state = EP_IDLE;
}

void ntfn_cancel_all(notification_t *n)
{
    tcb_t *t;
    while ((t = tcb_queue_pop(&n->waiters)))
        ipc_wake_deleted(t);
    if (n->bound) {
        n->bound->bound_ntfn = 0;
        n->bound = 0;
    }
}

/* ---- bounded calls ----
 *
 * A doubly linked list of the threads blocked in a bounded call, each with
 * the tick its call ends at; the timer's tick walks it (it holds at most
 * one entry per thread, and only threads that chose bounded calls). A
 * call ends early at its reply (ipc_reply, or fastpath_reply_recv), at a cancel (suspend, deletion) or when its endpoint or
 * partner is deleted; those disarm it. */

static tcb_t *armed;
static uint64_t ticks;

uint32_t ipc_timeout_ticks(uint64_t ms)
{
    const uint64_t hz = lapic_timer_hz();
    return ms ? (uint32_t)((ms * hz + 999) / 1000 + 1) : 0;
}

void ipc_timeout_arm(tcb_t *t, uint32_t n)
{
    t->call_deadline = ticks + n;
    t->timeout_prev = 0;
    t->timeout_next = armed;
    if (armed)
        armed->timeout_prev = t;
    armed = t;
    sched_tick_needed();        /* the tick runs only while needed (sched.c) */
}

bool ipc_timeouts_armed(void)
{
    return armed != 0;
}

void ipc_timeout_disarm(tcb_t *t)
{
    if (!t->call_deadline)
        return;
    if (t->timeout_prev)
        t->timeout_prev->timeout_next = t->timeout_next;
    else
        armed = t->timeout_next;
    if (t->timeout_next)
        t->timeout_next->timeout_prev = t->timeout_prev;
    t->timeout_next = t->timeout_prev = 0;
    t->call_deadline = 0;
}

void ipc_timeout_tick(void)
{
    ticks++;
    tcb_t *next;
    for (tcb_t *t = armed; t; t = next) {
        next = t->timeout_next;
        if (t->call_deadline > ticks)
            continue;
        /* Still in the send queue, or the receiver holds the reply right:
         * either way the call ends here; a later reply finds no caller
         * (NESTOR_ERR_NO_REPLY). A vCPU thread's doorbell exit goes on to
         * the exit tables instead (nestor/vcpu.h). */
        if (t->vcpu) {
            /* Only a doorbell's exit arms a vCPU thread; one answered
             * since is disarmed at its reply, but whatever else it waits
             * on is never cancelled here. */
            if (vcpu_doorbell_waits(t)) {
                ipc_cancel(t);                  /* out of the queue, or no reply right */
                vcpu_doorbell_lost(t, "did not answer in time");
            } else
                ipc_timeout_disarm(t);
            continue;
        }
        ipc_cancel(t);                          /* disarms */
        set_syscall_result(t, NESTOR_ERR_TIMED_OUT, 0, 0);
        sched_make_ready(t);
    }
}
