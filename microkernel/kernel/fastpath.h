/*
 * kernel/fastpath.h - the IPC fast path for CALL and REPLY_RECV.
 *
 * Taken when the common case holds: a message of at most
 * NESTOR_MSG_REGISTERS_IN_CPU words and no capabilities, a CSpace that is a
 * single CNode, a partner already waiting, and a partner priority that makes
 * it the next thread to run anyway. It then moves the registers, links the
 * reply and switches directly. Anything else returns false and the general
 * path (ipc.c) handles the call with the same result.
 */
#ifndef KERNEL_FASTPATH_H
#define KERNEL_FASTPATH_H
#include "arch/x86_64/trap.h"
#include "kernel/objects.h"
#include "kernel/sched.h"
#include "kernel/tcb_queue.h"

/* Hot paths: no frame pointer (the kernel's own dumps never walk frames). */
#define FASTPATH_HOT __attribute__((optimize("omit-frame-pointer")))

/* The receiver waiting on @ep if a sender of @sender_prio may hand it a
 * message directly: it runs at least as high, owes no reply (unless
 * @may_owe: the caller then handles the reply right it loses), and its
 * VSpace slot still holds a PML4 (it can have been emptied by a revoke while
 * it waited). Otherwise 0: the general path handles it. */
static inline tcb_t *fastpath_receiver(endpoint_t *ep, unsigned sender_prio, bool may_owe)
{
    tcb_t *recv = ep->queue.head;
    if (ep->state != EP_RECEIVING || recv->priority < sender_prio ||
        (!may_owe && recv->caller) || recv->ctes[TCB_CTE_VSPACE].cap.type != NESTOR_OBJ_PML4)
        return 0;
    return recv;
}

static inline tcb_t *fastpath_waiting_receiver(endpoint_t *ep, unsigned sender_prio)
{
    return fastpath_receiver(ep, sender_prio, false);
}

/* @caller now waits for @recv's reply: link the two and run @recv, which
 * already holds the message. Does not return. (Inline: both fast paths end
 * here, and a call costs instructions on each.) @from_vcpu: @caller is a
 * vCPU thread whose exit @recv handles (sched.h). */
__attribute__((noreturn)) static inline void fastpath_call_switch(tcb_t *caller, tcb_t *recv,
                                                                  bool from_vcpu)
{
    caller->state = TS_BLOCKED_REPLY;   /* (blocked_on is 0: it was running) */
    caller->callee = recv;
    recv->caller = caller;
    recv->reply_can_grant = recv->blocked_can_grant;
    if (from_vcpu)
        sched_handoff_from_vcpu(caller, recv);
    else
        sched_handoff(caller, recv);
    arch_return_to_user(&recv->frame);
}

/* Called from the SYSCALL entry stub with the current thread's saved frame;
 * each returns only if the fast path does not apply. */
FASTPATH_HOT void fastpath_call(trap_frame_t *f);
FASTPATH_HOT void fastpath_reply_recv(trap_frame_t *f);
/* NESTOR_SYS_VCPU_REPLY_RECV: the VCPU's exit answered with RESUME, the
 * handler blocked receiving and the guest entered directly. */
FASTPATH_HOT void fastpath_vcpu_reply_recv(trap_frame_t *f);

#endif
