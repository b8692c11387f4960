/*
 * kernel/objects.h - the kernel objects that live in retyped memory.
 */
#ifndef KERNEL_OBJECTS_H
#define KERNEL_OBJECTS_H
#include "arch/x86_64/trap.h"
#include "kernel/cap.h"
#include <nestor/context.h>
#include <nestor/faults.h>
#include <nestor/ipc_buffer.h>
#include <stdbool.h>
#include <stdint.h>

struct tcb;

typedef struct {
    struct tcb *head, *tail;
} tcb_queue_t;

typedef enum {
    EP_IDLE = 0,
    EP_SENDING,     /* the queue holds senders */
    EP_RECEIVING,   /* the queue holds receivers */
} ep_state_t;

typedef struct endpoint {
    tcb_queue_t queue;
    uint64_t state;
    uint64_t reserved;
} endpoint_t;
_Static_assert(sizeof(endpoint_t) <= (1u << NESTOR_ENDPOINT_BITS), "endpoint size");

typedef struct notification {
    tcb_queue_t waiters;
    uint64_t word;              /* OR of the badges signalled since the last wait */
    uint64_t active;            /* signalled since the last wait (badge 0 counts too) */
    struct tcb *bound;          /* thread that receives signals while waiting on an endpoint */
} notification_t;
_Static_assert(sizeof(notification_t) <= (1u << NESTOR_NOTIFICATION_BITS), "notification size");

typedef enum {
    TS_INACTIVE = 0,        /* created or suspended: never scheduled */
    TS_READY,               /* runnable (in a ready queue, or running) */
    TS_BLOCKED_SEND,        /* in an endpoint queue, waiting for a receiver */
    TS_BLOCKED_RECV,        /* in an endpoint queue, waiting for a sender */
    TS_BLOCKED_REPLY,       /* called, waiting for the reply */
    TS_BLOCKED_NTFN,        /* waiting on a notification */
} thread_state_t;

/* Capability slots inside a TCB object. */
enum { TCB_CTE_CSPACE, TCB_CTE_VSPACE, TCB_CTE_IPC_BUFFER, TCB_CTE_IOPORTS, TCB_CTE_VCPU,
       TCB_CTE_COUNT };

struct vcpu;

#define TCB_FPU_OFFSET 2048      /* 64-byte aligned, FPU_AREA_MAX bytes free after it */
#define TCB_FAULT_MRS  NESTOR_CONTEXT_WORDS  /* the longest fault message */
/* A user thread's debug output is collected into lines of at most this many
 * bytes and written to the console a line at a time (console.c), so that
 * two threads' lines never mix mid-line on the serial port. */
#define TCB_LINE_MAX   160

typedef struct tcb {
    cte_t ctes[TCB_CTE_COUNT];
    trap_frame_t frame;             /* user registers, saved by every kernel entry */
    uint64_t fs_base, gs_base;
    uint32_t state;                 /* thread_state_t */
    uint8_t priority;
    uint8_t time_left;              /* ticks of the current slice */
    uint8_t blocked_is_call;        /* a sender in an endpoint queue did CALL */
    uint8_t blocked_can_grant;      /* sender: its cap has GRANT; receiver: GRANT_REPLY */
    uint64_t blocked_badge;         /* ...with this badge */
    void *blocked_on;               /* endpoint or notification we wait in */
    struct tcb *sched_next, *sched_prev;
    struct tcb *q_next, *q_prev;    /* endpoint / notification queue links */
    struct tcb *caller;             /* whom a REPLY from this thread goes to */
    uint64_t reply_can_grant;       /* that reply may carry capabilities */
    struct tcb *callee;             /* whom we wait for a reply from (TS_BLOCKED_REPLY) */
    notification_t *bound_ntfn;
    struct vcpu *vcpu;              /* set: this thread runs a guest, not user code */
    uint64_t fault_ep;              /* cptr of the fault endpoint in our CSpace */
    uint64_t ipc_buffer_vaddr;
    uint32_t fault_type;            /* nestor_fault_t being delivered/handled, or NONE */
    uint32_t id;                    /* for logs: sequence number */
    uint64_t fault_mrs[TCB_FAULT_MRS];
    uint32_t fault_len;
    uint32_t call_timeout_ticks;    /* NESTOR_SYS_CALL_BOUNDED waits this long (0: no limit) */
    uint64_t call_deadline;         /* armed bounded call: the tick it ends at (0: none) */
    struct tcb *timeout_next, *timeout_prev;   /* the armed calls (ipc.c) */
    uint8_t line_len;               /* bytes in line[], not yet on the console */
    char line[TCB_LINE_MAX];        /* its debug output since its last '\n' */
} tcb_t;
_Static_assert(sizeof(tcb_t) <= TCB_FPU_OFFSET, "tcb fits before its FPU area");

static inline void *tcb_fpu_area(tcb_t *t)
{
    return (uint8_t *)t + TCB_FPU_OFFSET;
}

static inline tcb_t *cap_tcb(const cap_t *c) { return (tcb_t *)kobj_ptr(c->obj); }
static inline endpoint_t *cap_ep(const cap_t *c) { return (endpoint_t *)kobj_ptr(c->obj); }
static inline notification_t *cap_ntfn(const cap_t *c)
{
    return (notification_t *)kobj_ptr(c->obj);
}

/* The IPC buffer of @t as the kernel sees it, or NULL if it has none. */
nestor_ipc_buffer_t *tcb_ipc_buffer(tcb_t *t);

#endif
