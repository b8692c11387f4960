/*
 * kernel/syscall.c - system call dispatch (ABI: nestor/syscalls.h).
 *
 * Every path ends in sched_run(), which returns to whichever thread should
 * run now: the caller, a partner it woke, or someone else.
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/platform.h"
#include "kernel/console.h"
#include "arch/x86_64/trap.h"
#include "kernel/cspace.h"
#include "kernel/cnode_ops.h"
#include "kernel/consistency.h"
#include "kernel/invoke.h"
#include "kernel/ipc.h"
#include "kernel/sched.h"
#include "kernel/vcpu.h"
#include <nestor/syscalls.h>

static nestor_error_t lookup_cap(tcb_t *t, nestor_cptr_t cptr, cte_t **out)
{
    lookup_t lu;
    nestor_error_t err = cspace_lookup(&t->ctes[TCB_CTE_CSPACE].cap, cptr, NESTOR_WORD_BITS, &lu);
    if (err != NESTOR_OK)
        return err;
    if (cap_is_null(&lu.slot->cap))
        return NESTOR_ERR_INVALID_CAPABILITY;
    *out = lu.slot;
    return NESTOR_OK;
}

/* A CALL or SEND on a kernel object: decode, invoke, reply at once. */
static void invoke_object(tcb_t *t, cte_t *slot)
{
    nestor_msginfo_t info = t->frame.rsi;
    inv_t iv = { .t = t, .buf = tcb_ipc_buffer(t), .label = nestor_msginfo_label(info),
                 .len = nestor_msginfo_length(info) };
    if (iv.len > (iv.buf ? NESTOR_MSG_MAX_LENGTH : NESTOR_MSG_REGISTERS_IN_CPU))
        iv.len = iv.buf ? NESTOR_MSG_MAX_LENGTH : NESTOR_MSG_REGISTERS_IN_CPU;
    unsigned extra = nestor_msginfo_extra_caps(info);
    nestor_error_t err = NESTOR_OK;
    for (unsigned i = 0; i < extra; i++) {
        if (!iv.buf || lookup_cap(t, iv.buf->caps_or_badges[i], &iv.extra[i]) != NESTOR_OK) {
            err = inv_error(&iv, NESTOR_ERR_INVALID_CAPABILITY, 1 + i, 0);
            break;
        }
        iv.nextra = i + 1;
    }
    if (err == NESTOR_OK)
        err = invoke(&iv, slot);
    set_syscall_result(t, err, nestor_msginfo(err, 0, 0, iv.reply_len), 0);
}

static bool is_ipc_object(const cap_t *c)
{
    return c->type == NESTOR_OBJ_ENDPOINT || c->type == NESTOR_OBJ_NOTIFICATION;
}

static void do_send(tcb_t *t, bool blocking, bool call)
{
    cte_t *slot;
    nestor_error_t err = lookup_cap(t, t->frame.rdi, &slot);
    if (err != NESTOR_OK) {
        set_syscall_result(t, err, 0, 0);
        return;
    }
    const cap_t *c = &slot->cap;
    if (!is_ipc_object(c)) {
        invoke_object(t, slot);
        return;
    }
    if (!(c->rights & NESTOR_RIGHT_WRITE)) {
        set_syscall_result(t, NESTOR_ERR_INSUFFICIENT_RIGHTS, 0, 0);
        return;
    }
    /* Only the status: rsi/rdi still hold the message being sent. */
    t->frame.rax = NESTOR_OK;
    if (c->type == NESTOR_OBJ_NOTIFICATION)
        ntfn_signal(cap_ntfn(c), cap_badge(c));
    else
        ipc_send(t, c, blocking, call);
}

/* A CALL that gives up after the thread's call timeout: armed only when it
 * blocked on an endpoint (a kernel object or a notification answers at
 * once). */
static void call_bounded(tcb_t *t)
{
    do_send(t, true, true);
    if (t->call_timeout_ticks && (t->state == TS_BLOCKED_SEND || t->state == TS_BLOCKED_REPLY))
        ipc_timeout_arm(t, t->call_timeout_ticks);
}

/* The capability a receive at rdi goes through; 0 after an error set. */
static inline __attribute__((always_inline)) cte_t *recv_slot(tcb_t *t)
{
    cte_t *slot;
    nestor_error_t err = lookup_cap(t, t->frame.rdi, &slot);
    if (err == NESTOR_OK && !is_ipc_object(&slot->cap))
        err = NESTOR_ERR_INVALID_CAPABILITY;
    if (err == NESTOR_OK && !(slot->cap.rights & NESTOR_RIGHT_READ))
        err = NESTOR_ERR_INSUFFICIENT_RIGHTS;
    if (err != NESTOR_OK) {
        set_syscall_result(t, err, 0, 0);
        return 0;
    }
    return slot;
}

static void do_recv(tcb_t *t, bool blocking)
{
    cte_t *slot = recv_slot(t);
    if (slot)
        ipc_recv(t, &slot->cap, blocking);
}

/*
 * NESTOR_SYS_VCPU_REPLY_RECV (the fast path, fastpath_vcpu_reply_recv,
 * takes the common case): NESTOR_VCPU_REPLY on the VCPU at MR1 with the
 * label and MR0, then a blocking receive on rdi. Everything is checked
 * before anything is done: a short message, a capability at MR1 that is no
 * VCPU, a VCPU whose thread waits in no exit, or no endpoint or
 * notification to receive from at rdi, is an error with nothing answered.
 */
static void vcpu_reply_recv(tcb_t *t)
{
    nestor_msginfo_t info = t->frame.rsi;
    cte_t *vslot;
    nestor_error_t err = NESTOR_OK;
    if (nestor_msginfo_length(info) < 2)
        err = NESTOR_ERR_TRUNCATED_MESSAGE;
    else if (lookup_cap(t, t->frame.r8, &vslot) != NESTOR_OK ||
             vslot->cap.type != NESTOR_OBJ_VCPU)
        err = NESTOR_ERR_INVALID_CAPABILITY;
    else if (!vcpu_waits_for_exit_reply(cap_vcpu(&vslot->cap)))
        err = NESTOR_ERR_ILLEGAL_OPERATION;
    if (err != NESTOR_OK) {
        set_syscall_result(t, err, 0, 0);
        return;
    }
    cte_t *slot = recv_slot(t);
    if (!slot)
        return;
    vcpu_deferred_reply(cap_vcpu(&vslot->cap)->tcb, nestor_msginfo_label(info), t->frame.rdx);
    ipc_recv(t, &slot->cap, true);
}

/* Which object a capability names (works on every type, endpoints too). */
static void cap_identify(tcb_t *t)
{
    cte_t *slot;
    nestor_error_t err = lookup_cap(t, t->frame.rdi, &slot);
    if (err != NESTOR_OK) {
        set_syscall_result(t, err, 0, 0);
        return;
    }
    const cap_t *c = &slot->cap;
    uint64_t extra = cap_badge(c);
    if (c->type == NESTOR_OBJ_UNTYPED || c->type == NESTOR_OBJ_CNODE ||
        c->type == NESTOR_OBJ_FRAME_4K || c->type == NESTOR_OBJ_FRAME_2M)
        extra = c->size_bits;
    mr_set(t, 0, 0, c->type);
    mr_set(t, 0, 1, c->rights);
    mr_set(t, 0, 2, extra);
    set_syscall_result(t, NESTOR_OK, nestor_msginfo(0, 0, 0, 3), 0);
}

/* The debug calls need the debug capability in rdi. */
static bool has_debug_cap(tcb_t *t)
{
    cte_t *slot;
    if (lookup_cap(t, t->frame.rdi, &slot) == NESTOR_OK &&
        slot->cap.type == NESTOR_OBJ_DEBUG_CONTROL)
        return true;
    set_syscall_result(t, NESTOR_ERR_INVALID_CAPABILITY, 0, 0);
    return false;
}

static void debug_check(tcb_t *t)
{
    consistency_t c;
    if (!has_debug_cap(t))
        return;
    consistency_check(&t->ctes[TCB_CTE_CSPACE].cap, &c);
    mr_set(t, 0, 0, c.errors);
    mr_set(t, 0, 1, c.slots);
    mr_set(t, 0, 2, c.threads);
    set_syscall_result(t, NESTOR_OK, nestor_msginfo(0, 0, 0, 3), 0);
}

static void unknown_syscall(tcb_t *t)
{
    nestor_user_context_t ctx;
    tcb_get_context(t, &ctx);
    fault_deliver(t, NESTOR_FAULT_UNKNOWN_SYSCALL, (const uint64_t *)&ctx, NESTOR_CONTEXT_WORDS);
}

void syscall_from_user(trap_frame_t *f)
{
    tcb_t *t = sched_current;
    (void)f;
    /* A partial line is written before any other system call (one that may
     * block, for a prompt); the IPC fast path leaves it for the next. */
    if (t->line_len && t->frame.rax != NESTOR_SYS_DEBUG_PUTCHAR)
        console_thread_flush(t);
    switch (t->frame.rax) {
    case NESTOR_SYS_CALL: do_send(t, true, true); break;
    case NESTOR_SYS_SEND: do_send(t, true, false); break;
    case NESTOR_SYS_CALL_BOUNDED: call_bounded(t); break;
    case NESTOR_SYS_NB_SEND: do_send(t, false, false); break;
    case NESTOR_SYS_RECV: do_recv(t, true); break;
    case NESTOR_SYS_NB_RECV: do_recv(t, false); break;
    case NESTOR_SYS_REPLY:
        set_syscall_result(t, ipc_reply(t) ? NESTOR_OK : NESTOR_ERR_NO_REPLY, 0, 0);
        break;
    case NESTOR_SYS_REPLY_RECV:
        ipc_reply(t);
        do_recv(t, true);
        break;
    case NESTOR_SYS_VCPU_REPLY_RECV:
        vcpu_reply_recv(t);
        break;
    case NESTOR_SYS_YIELD:
        set_syscall_result(t, NESTOR_OK, 0, 0);
        sched_yield();
        break;
    case NESTOR_SYS_DEBUG_PUTCHAR:
        console_thread_putc(t, (char)t->frame.rdi);
        set_syscall_result(t, NESTOR_OK, 0, 0);
        break;
    case NESTOR_SYS_CAP_IDENTIFY:
        cap_identify(t);
        break;
    case NESTOR_SYS_DEBUG_CHECK:
        debug_check(t);
        break;
    case NESTOR_SYS_DEBUG_NMI:
        if (has_debug_cap(t)) {
            lapic_self_nmi();           /* handled before the next instruction */
            mr_set(t, 0, 0, trap_host_nmis());
            set_syscall_result(t, NESTOR_OK, nestor_msginfo(0, 0, 0, 1), 0);
        }
        break;
    case NESTOR_SYS_DEBUG_HALT:
        if (has_debug_cap(t))
            platform_shutdown(t->frame.rsi == 1, t->frame.rsi == 1 ? 0 : "the root task failed");
        break;
    default:
        unknown_syscall(t);
        break;
    }
    sched_run();
}
