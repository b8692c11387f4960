/*
 * kernel/tcb_queue.h - the doubly linked thread queues of endpoints and
 * notifications (q_next / q_prev in the TCB). One copy, used by the general
 * IPC path (ipc.c) and the fast paths (fastpath.c, the VM-exit hand-off).
 */
#ifndef KERNEL_TCB_QUEUE_H
#define KERNEL_TCB_QUEUE_H
#include "kernel/objects.h"

static inline void tcb_queue_append(tcb_queue_t *q, tcb_t *t)
{
    t->q_next = 0;
    t->q_prev = q->tail;
    if (q->tail)
        q->tail->q_next = t;
    else
        q->head = t;
    q->tail = t;
}

static inline void tcb_queue_remove(tcb_queue_t *q, tcb_t *t)
{
    if (t->q_prev)
        t->q_prev->q_next = t->q_next;
    else
        q->head = t->q_next;
    if (t->q_next)
        t->q_next->q_prev = t->q_prev;
    else
        q->tail = t->q_prev;
    t->q_next = t->q_prev = 0;
}

static inline tcb_t *tcb_queue_pop(tcb_queue_t *q)
{
    tcb_t *t = q->head;
    if (t)
        tcb_queue_remove(q, t);
    return t;
}

/* Take the thread at the head of @ep's queue (there is one) out of it: it
 * is no longer blocked on @ep, which is idle once its queue is empty. */
static inline tcb_t *ep_dequeue_head(endpoint_t *ep)
{
    /* tcb_queue_remove for the head (q_prev is 0): the fast paths take this. */
    tcb_t *t = ep->queue.head;
    ep->queue.head = t->q_next;
    if (t->q_next) {
        t->q_next->q_prev = 0;
    } else {
        ep->queue.tail = 0;
        ep->state = EP_IDLE;
    }
    t->q_next = 0;
    t->blocked_on = 0;
    return t;
}

#endif
