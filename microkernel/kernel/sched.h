/*
 * kernel/sched.h - priority scheduling: NESTOR_PRIORITIES ready queues,
 * round robin within a priority, time slices counted in timer ticks.
 */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H
#include "kernel/objects.h"

extern tcb_t *sched_current;

/* A thread's I/O port grant was set, removed or revoked: re-check the
 * running thread's access (later switches follow on their own). */
void sched_io_grants_changed(void);
/* If the running @t blocked now, would a thread of priority @prio be among
 * the highest ready? (For IPC hand-offs to a lower-priority partner.) */
bool sched_only_ready_above(const tcb_t *t, unsigned prio);
/* Set up the scheduler (before the first thread runs). */
void sched_init(void);
/* Make @t ready (TS_READY) and queue it at the tail of its priority. */
void sched_make_ready(tcb_t *t);
/* Make @t ready at the head of its queue: the partner that the current
 * thread's blocking IPC just woke runs next. */
void sched_make_ready_next(tcb_t *t);
/* Make @t the running thread: address space, FPU, TLS bases, entry frame. */
void sched_switch(tcb_t *t);
/* IPC hand-off: the running @from has just blocked and @to, woken by it and
 * of at least its priority, runs next: @to takes @from's place. */
__attribute__((optimize("omit-frame-pointer"))) void sched_handoff(tcb_t *from, tcb_t *to);
/* The same from a vCPU thread to the handler of its exit (the exit fast
 * path), and from the handler to the vCPU thread (which runs a guest, not
 * user code): the two are often each alone at its priority. */
__attribute__((optimize("omit-frame-pointer"))) void sched_handoff_from_vcpu(tcb_t *from,
                                                                              tcb_t *to);
void sched_handoff_to_vcpu(tcb_t *from, tcb_t *to);
/* Check the ready queues and bitmap; adds the errors found to *@errors. */
void sched_check_queues(uint64_t *errors);
/* Forget @t entirely (it is being destroyed). */
void sched_forget(tcb_t *t);
/* Take @t out of the ready queues (it blocks or stops). */
void sched_remove(tcb_t *t);
/* The LAPIC timer's tick (the timer runs only while needed, sched.c "the
 * tick"): charge the current thread, rotate at slice end, end the bounded
 * calls whose time is up; stop the timer if no tick has work left. */
void sched_timer_interrupt(void);
/* Something counts in ticks from now on (an armed bounded call): start the
 * tick if it is stopped. */
void sched_tick_needed(void);
/* At boot, after lapic_init: @on, the tick runs only while needed
 * ("tick=demand"); otherwise it starts now and never stops. */
void sched_tick_on_demand(bool on);

/* FS/GS bases (sched.c load_tls_bases): while @known, what the MSRs hold;
 * otherwise those of the ring-3 thread the running vCPU thread was
 * switched to from (the likely handler of its next VM exit: vcpu_run makes
 * them the VMCS host state's). */
typedef struct {
    bool known;
    uint64_t fs, gs;
} sched_tls_t;
extern sched_tls_t sched_tls;

/* A VM exit happened (vmx_exit_handler): FS/GS bases are now @fs and @gs,
 * the VMCS host state's (SDM 27.5.2). */
static inline void sched_vm_exited(uint64_t fs, uint64_t gs)
{
    sched_tls.known = true;
    sched_tls.fs = fs;
    sched_tls.gs = gs;
}
/* Current thread gives up the rest of its slice. */
void sched_yield(void);
/* Pick the thread to run and return to it (idles with interrupts on if none). */
__attribute__((noreturn)) void sched_run(void);
/* Change @t's priority, requeueing it if ready. */
void sched_set_priority(tcb_t *t, uint8_t prio);

#endif
