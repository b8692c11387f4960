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
#include "kernel/objects.h"

/* Hot paths: no frame pointer (the kernel's own dumps never walk frames). */
#define FASTPATH_HOT __attribute__((optimize("omit-frame-pointer")))

/* The receiver waiting on @ep if a sender of @sender_prio may hand it a
 * message directly: it runs at least as high, owes no reply, and its VSpace
 * slot still holds a PML4 (it can have been emptied by a revoke while it
 * waited). Otherwise 0: the general path handles it. */
static inline tcb_t *fastpath_waiting_receiver(endpoint_t *ep, unsigned sender_prio)
{
    tcb_t *recv = ep->queue.head;
    if (ep->state != EP_RECEIVING || recv->priority < sender_prio || recv->caller ||
        recv->ctes[TCB_CTE_VSPACE].cap.type != NESTOR_OBJ_PML4)
        return 0;
    return recv;
}

/* Take @recv, the head of @ep's queue, out of it. */
static inline void fastpath_dequeue_head(endpoint_t *ep, tcb_t *recv)
{
    ep->queue.head = recv->q_next;
    if (recv->q_next)
        recv->q_next->q_prev = 0;
    else {
        ep->queue.tail = 0;
        ep->state = EP_IDLE;
    }
    recv->q_next = 0;
    recv->blocked_on = 0;   /* (q_prev is already 0: it was the head) */
}

/* Called from the SYSCALL entry stub with the current thread's saved frame;
 * each returns only if the fast path does not apply. */
FASTPATH_HOT void fastpath_call(trap_frame_t *f);
FASTPATH_HOT void fastpath_reply_recv(trap_frame_t *f);

#endif
