/*
 * kernel/ipc.h - synchronous IPC through endpoints, notifications, replies.
 */
#ifndef KERNEL_IPC_H
#define KERNEL_IPC_H
#include "kernel/objects.h"
#include <nestor/msginfo.h>

/* Send from @sender through endpoint capability @cap (may block). */
void ipc_send(tcb_t *sender, const cap_t *cap, bool blocking, bool is_call);
/* Receive on endpoint or notification capability @cap (may block). */
void ipc_recv(tcb_t *receiver, const cap_t *cap, bool blocking);
/* Reply from @t to its caller; returns false if it has none. */
bool ipc_reply(tcb_t *t);
/* Signal a notification with @badge. */
void ntfn_signal(notification_t *n, uint64_t badge);
/* Remove @t from whatever endpoint/notification queue or reply wait it is in. */
void ipc_cancel(tcb_t *t);

/* Bounded calls (NESTOR_SYS_CALL_BOUNDED): arm @t, blocked in a call, to
 * give up after @ticks (its call_timeout_ticks; a vCPU thread's doorbell
 * exit: the entry's timeout, nestor/vcpu.h); disarm (its call ended); the
 * timer's tick, which ends the calls whose time is up with
 * NESTOR_ERR_TIMED_OUT. */
void ipc_timeout_arm(tcb_t *t, uint32_t ticks);
/* A timeout of @ms milliseconds (<= NESTOR_CALL_TIMEOUT_MAX_MS) in timer
 * ticks: rounded up, plus one for the tick under way; 0 stays 0 (none). */
uint32_t ipc_timeout_ticks(uint64_t ms);
void ipc_timeout_disarm(tcb_t *t);
void ipc_timeout_tick(void);
/* Is any bounded call armed (the tick must run)? */
bool ipc_timeouts_armed(void);
/* @t waited on a partner or endpoint now deleted: wake it with
 * NESTOR_ERR_DELETED (a vCPU thread waiting on an exit stops instead). */
void ipc_wake_deleted(tcb_t *t);
/* Wake every thread waiting on @ep / @n with NESTOR_ERR_DELETED. */
void ep_cancel_all(endpoint_t *ep);
void ntfn_cancel_all(notification_t *n);
/* Send a fault message for @t to its fault endpoint; stops @t if it has none. */
void fault_deliver(tcb_t *t, nestor_fault_t type, const uint64_t *mrs, unsigned n);

/* Message registers: the first NESTOR_MSG_REGISTERS_IN_CPU live in the frame. */
uint64_t mr_get(tcb_t *t, nestor_ipc_buffer_t *buf, unsigned i);
void mr_set(tcb_t *t, nestor_ipc_buffer_t *buf, unsigned i, uint64_t v);
/* Set @t's syscall return registers: status, message info, badge. */
void set_syscall_result(tcb_t *t, uint64_t status, nestor_msginfo_t info, uint64_t badge);

#endif
