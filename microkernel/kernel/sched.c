/*
 * kernel/sched.c - the scheduler.
 *
 * The running thread stays at the head of its ready queue; a thread whose
 * slice ends moves to the tail. The highest non-empty priority is found
 * through a two-level bitmap. Switching threads switches the address space,
 * the FPU/SSE state (eagerly, only when the thread changes), FS/GS bases, and
 * where the next kernel entry saves registers (TSS.RSP0).
 */
#include "kernel/sched.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "kernel/console.h"
#include "kernel/ipc.h"
#include "kernel/vcpu.h"
#include "kernel/vspace.h"
#include <nestor/limits.h>

#define PRIO_WORDS (NESTOR_PRIORITIES / 64)

tcb_t *sched_current;
static tcb_queue_t ready[NESTOR_PRIORITIES];
static uint64_t ready_bitmap[PRIO_WORDS];
/* Whose FPU state the CPU holds, and where it goes when saved. When no
 * thread owns it (at boot, or after its owner was destroyed) the state is
 * saved to a scratch area, so the switch needs no NULL test. */
static tcb_t *fpu_owner;
static void *fpu_owner_area;
static uint8_t fpu_nobody_area[FPU_AREA_MAX] __attribute__((aligned(FPU_AREA_ALIGN)));

static void bitmap_set(unsigned p) { ready_bitmap[p / 64] |= 1ULL << (p % 64); }
static void bitmap_clear(unsigned p) { ready_bitmap[p / 64] &= ~(1ULL << (p % 64)); }

static int highest_ready(void)
{
    for (int w = PRIO_WORDS - 1; w >= 0; w--)
        if (ready_bitmap[w])
            return w * 64 + 63 - __builtin_clzll(ready_bitmap[w]);
    return -1;
}

bool sched_only_ready_above(const tcb_t *t, unsigned prio)
{
    /* @t runs at the head of its queue and is about to block: whatever
     * else is ready must not outrank @prio. The bitmap's words above
     * @prio's, then @prio's own above its bit, with @t's bit left out
     * where @t is alone in its queue (on the reply of every exit: a scan
     * for the highest priority and another below it cost ~30 more). */
    unsigned pw = prio / 64, tw = t->priority / 64;
    uint64_t own = ready[t->priority].head == t && !t->sched_next ? 1ULL << (t->priority % 64) : 0;
    for (unsigned w = PRIO_WORDS - 1; w > pw; w--)
        if (ready_bitmap[w] & ~(w == tw ? own : 0))
            return false;
    /* Bits above @prio % 64 (none when it is 63: the shift wraps to 0). */
    uint64_t above = ~((2ULL << (prio % 64)) - 1);
    return !(ready_bitmap[pw] & above & ~(pw == tw ? own : 0));
}

static bool in_ready_queue(const tcb_t *t)
{
    tcb_queue_t *q = &ready[t->priority];
    return t->sched_prev || q->head == t;
}

/*
 * The tick. With "tick=demand" on the command line (main.c; else it ticks
 * at timer_hz from boot on and never stops) the LAPIC timer ticks
 * (periodic, at timer_hz) only while a tick has work: two or more threads ready at one priority (round robin: the
 * slices of the running one are counted), or a bounded call armed (its
 * deadline is counted in ticks, ipc.c). Otherwise it is stopped: a thread
 * alone at the highest ready priority runs until it blocks or an interrupt
 * makes another ready, with no tick to take. Under a VMM each tick is an
 * injected interrupt and an EOI exit, and one level deeper a chain of
 * reflected exits: a Nestor nested four deep spent its time on its levels'
 * idle ticks (nested-vmx/README.md, "Depth four").
 *
 * Started as soon as a queue holds a second thread (enqueue) or a call is
 * armed (ipc_timeout_arm), or when the thread chosen to run has company in
 * its queue (sched_run: a higher thread blocked, uncovering the queue);
 * stopped at a tick that finds neither (sched_timer_interrupt). Started
 * on the grid it keeps when it never stops (lapic_timer_start: the next
 * TSC multiple of a period), not a period after whatever started it: a
 * thread that keeps calling a higher server stopped the tick in the
 * server's work and started it at the reply, and each restarted tick fell
 * in the server's work again, so that thread was never charged and its
 * partner at its priority never ran (linux@bochs: pong's vCPU, in an HLT
 * exit after another, beside Linux's; ktest
 * round_robin_with_partner_in_calls). Charging
 * stays by sampling: a slice is counted in ticks that find the thread
 * running, so a thread that always blocks just before a tick is never
 * charged -- as with the periodic tick; while it is alone at its priority
 * it has no one to yield to anyway.
 */
static bool tick_running;
static bool tick_demand;        /* "tick=demand" (main.c); else it never stops */

/* Out of line: the IPC and exit paths pay one test of tick_running. */
static __attribute__((noinline, cold)) void tick_start_now(void)
{
    tick_running = true;
    lapic_timer_start();
}

static inline void tick_start(void)
{
    if (__builtin_expect(!tick_running, 0))
        tick_start_now();
}

void sched_tick_needed(void)
{
    tick_start();
}

void sched_tick_on_demand(bool on)
{
    tick_demand = on;
    if (!on)
        tick_start();
}

static void enqueue(tcb_t *t, bool front)
{
    tcb_queue_t *q = &ready[t->priority];
    if (front) {
        t->sched_prev = 0;
        t->sched_next = q->head;
        if (q->head)
            q->head->sched_prev = t;
        else
            q->tail = t;
        q->head = t;
    } else {
        t->sched_next = 0;
        t->sched_prev = q->tail;
        if (q->tail)
            q->tail->sched_next = t;
        else
            q->head = t;
        q->tail = t;
    }
    bitmap_set(t->priority);
    if (__builtin_expect(!tick_running, 0) && q->head != q->tail)
        tick_start_now();               /* round robin: slices to count */
}

void sched_remove(tcb_t *t)
{
    if (!in_ready_queue(t))
        return;
    tcb_queue_t *q = &ready[t->priority];
    if (t->sched_prev)
        t->sched_prev->sched_next = t->sched_next;
    else
        q->head = t->sched_next;
    if (t->sched_next)
        t->sched_next->sched_prev = t->sched_prev;
    else
        q->tail = t->sched_prev;
    t->sched_next = t->sched_prev = 0;
    if (!q->head)
        bitmap_clear(t->priority);
}

static void make_ready(tcb_t *t, bool front)
{
    t->state = TS_READY;
    if (in_ready_queue(t))
        return;
    if (t->time_left == 0)
        t->time_left = NESTOR_TIMESLICE_TICKS;
    enqueue(t, front);
}

void sched_make_ready(tcb_t *t) { make_ready(t, false); }

/* A partner woken by the current thread's blocking IPC runs next. */
void sched_make_ready_next(tcb_t *t) { make_ready(t, true); }

static void rotate(tcb_t *t)
{
    sched_remove(t);
    t->time_left = NESTOR_TIMESLICE_TICKS;
    enqueue(t, false);
}

void sched_init(void)
{
    fpu_owner_area = fpu_nobody_area;
}

static void sched_tick(void)
{
    tcb_t *t = sched_current;
    if (!t || t->state != TS_READY)
        return;
    if (t->time_left > 1) {
        t->time_left--;
        return;
    }
    rotate(t);
}

void sched_timer_interrupt(void)
{
    sched_tick();
    ipc_timeout_tick();
    int p = highest_ready();
    if (tick_demand && (p < 0 || ready[p].head == ready[p].tail) && !ipc_timeouts_armed()) {
        tick_running = false;
        lapic_timer_stop();
    } else {
        lapic_timer_ticked();           /* whole periods after a partial first */
    }
}

void sched_yield(void)
{
    if (sched_current && sched_current->state == TS_READY)
        rotate(sched_current);
}

void sched_set_priority(tcb_t *t, uint8_t prio)
{
    bool queued = in_ready_queue(t);
    if (queued)
        sched_remove(t);
    t->priority = prio;
    if (queued)
        enqueue(t, false);
}

/*
 * FS/GS bases at a switch. A thread that runs in ring 3 can reload FS or GS
 * with a selector (base 0), so after ring-3 code ran the MSRs cannot be
 * assumed to hold any earlier value: they are written. Two cases need no
 * WRMSR (under a VMM each is an exit: a Nestor as L1 paid four per exit of
 * its guest, BENCHMARKS.md):
 *   - a thread with a vCPU never runs ring-3 code, and VM entry loads the
 *     guest's FS/GS bases from the VMCS (SDM 26.3.2.2), not the MSRs';
 *   - a VM exit loads the bases of the VMCS host state (SDM 27.5.2), which
 *     vcpu_run sets to those of the ring-3 thread the vCPU thread was
 *     switched to from (its monitor, replying: most often the handler of
 *     the next exit too). From the exit until a ring-3 thread is entered
 *     they are known (sched_tls.known), and a thread whose bases they are
 *     needs no write.
 * (A VMfail of VMLAUNCH/VMRESUME loads no host state, SDM 30.2, and leaves
 * sched_tls as it was: no ring-3 code ran since it was last set.) Between
 * ring-3 threads (IPC) this costs one test of sched_tls.known.
 */
sched_tls_t sched_tls;

/* For @t, which runs in ring 3. */
static inline void load_tls_ring3(const tcb_t *t)
{
    if (__builtin_expect(sched_tls.known, 0)) {
        sched_tls.known = false;
        if (sched_tls.fs == t->fs_base && sched_tls.gs == t->gs_base)
            return;
    }
    wrmsr(MSR_IA32_FS_BASE, t->fs_base);
    wrmsr(MSR_IA32_GS_BASE, t->gs_base);
}

/* For a vCPU thread, switched to from @prev (or from none). */
static inline void load_tls_vcpu(const tcb_t *prev)
{
    if (prev && !prev->vcpu) {          /* (then sched_tls.known is false) */
        sched_tls.fs = prev->fs_base;
        sched_tls.gs = prev->gs_base;
    }
}

static inline void switch_fpu(tcb_t *t)
{
    if (fpu_owner != t) {
        void *area = tcb_fpu_area(t);
        fpu_switch_areas(fpu_owner_area, area);
        fpu_owner_area = area;
        fpu_owner = t;
    }
}

/* Direct port access (TCB_CTE_IOPORTS): the TSS bitmap grants the ports of
 * one thread at a time, io_owner. Until the first grant is ever made, the
 * check below is all a switch pays. */
static bool io_grants_made;
static tcb_t *io_owner;
static uint64_t io_owner_range;

static void io_switch(tcb_t *t)
{
    const cap_t *c = &t->ctes[TCB_CTE_IOPORTS].cap;
    uint64_t range = c->type == NESTOR_OBJ_IOPORT ? c->obj : 0;
    if (io_owner == t && io_owner_range == range)
        return;
    if (io_owner_range)
        iopb_set(IOPORT_FIRST(io_owner_range), IOPORT_LAST(io_owner_range), 0);
    if (range)
        iopb_set(IOPORT_FIRST(range), IOPORT_LAST(range), 1);
    io_owner = t;
    io_owner_range = range;
}

void sched_io_grants_changed(void)
{
    io_grants_made = true;
    if (sched_current)
        io_switch(sched_current);
    else if (io_owner_range) {
        iopb_set(IOPORT_FIRST(io_owner_range), IOPORT_LAST(io_owner_range), 0);
        io_owner = 0;
        io_owner_range = 0;
    }
}

static inline void switch_io(tcb_t *t)
{
    if (__builtin_expect(io_grants_made, 0))
        io_switch(t);
}

static inline void enter(tcb_t *t)
{
    switch_io(t);
    switch_fpu(t);
    /* A vCPU thread has no address space of its own: the kernel's PML4.
     * (Leaving the handler's in CR3 instead saved a CR3 write per entry
     * here, but a Nestor in a VM then enters its guests with a CR3 other
     * than its VMCS's host CR3, and nested-vmx below it loads L1's CR group
     * at every reflected exit instead of finding it unchanged: Nestor as
     * L1 7,390 -> 7,561, BENCHMARKS.md.) */
    if (t->vcpu) {
        vspace_load_cr3(vspace_kernel_pml4_paddr());
        load_tls_vcpu(sched_current);
    } else {
        vspace_activate(&t->ctes[TCB_CTE_VSPACE].cap);
        load_tls_ring3(t);
    }
    tss_set_rsp0((uint64_t)(uintptr_t)(&t->frame + 1));
    sched_current = t;
}

/* As enter(), for a thread known to have a PML4 (one that has run before)
 * and to run in ring 3 (an IPC partner: never a vCPU thread). */
static inline void enter_known_space(tcb_t *t)
{
    switch_io(t);
    switch_fpu(t);
    vspace_load_cr3(kobj_paddr(t->ctes[TCB_CTE_VSPACE].cap.obj));
    load_tls_ring3(t);
    tss_set_rsp0((uint64_t)(uintptr_t)(&t->frame + 1));
    sched_current = t;
}

void sched_switch(tcb_t *t)
{
    enter(t);
}

/* @to takes @from's place as the running thread. @pair: the hand-off of
 * a VM exit or of its reply, between a vCPU thread and its handler. */
static inline void handoff_queue(tcb_t *from, tcb_t *to, bool pair)
{
    to->state = TS_READY;       /* (time_left is never 0 after tcb_init_object) */
    tcb_queue_t *q = &ready[from->priority];
    if (pair && q->head == from && !from->sched_next && !ready[to->priority].head) {
        /* The vCPU thread and its handler at two priorities, each alone
         * at its own: @from's queue empties, @to's holds @to alone.
         * Neither has a second thread, so the tick has no slices to count
         * for them (the test in enqueue). (sched_remove and enqueue cost a
         * plain exit's round trip ~45 more; the same test for IPC cost its
         * fast path +10, BENCHMARKS.md.) */
        q->head = q->tail = 0;
        bitmap_clear(from->priority);
        to->sched_prev = to->sched_next = 0;
        ready[to->priority].head = ready[to->priority].tail = to;
        bitmap_set(to->priority);
        return;
    }
    if (to->priority == from->priority && q->head == from) {
        /* @to takes @from's place at the head of the queue. */
        to->sched_prev = 0;
        to->sched_next = from->sched_next;
        if (from->sched_next)
            from->sched_next->sched_prev = to;
        else
            q->tail = to;
        q->head = to;
        from->sched_next = 0;
    } else {
        sched_remove(from);
        enqueue(to, true);
    }
}

void sched_handoff(tcb_t *from, tcb_t *to)
{
    handoff_queue(from, to, false);
    enter_known_space(to);
}

void sched_handoff_from_vcpu(tcb_t *from, tcb_t *to)
{
    handoff_queue(from, to, true);
    enter_known_space(to);
}

void sched_handoff_to_vcpu(tcb_t *from, tcb_t *to)
{
    handoff_queue(from, to, true);
    enter(to);                  /* a vCPU thread has no address space of its own */
}

/* Forget @t everywhere the scheduler remembers it (it is being destroyed). */
void sched_forget(tcb_t *t)
{
    sched_remove(t);
    if (fpu_owner == t) {
        fpu_owner = 0;
        fpu_owner_area = fpu_nobody_area;
    }
    if (io_owner == t) {
        if (io_owner_range)
            iopb_set(IOPORT_FIRST(io_owner_range), IOPORT_LAST(io_owner_range), 0);
        io_owner = 0;
        io_owner_range = 0;
    }
    if (sched_current == t)
        sched_current = 0;
}

void sched_run(void)
{
    int p;
    while ((p = highest_ready()) < 0) {
        sched_current = 0;
        /* Idle: STI takes effect after HLT begins, so no wake-up is lost. */
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    tcb_t *t = ready[p].head;
    if (__builtin_expect(!tick_running, 0) && t != ready[p].tail)
        tick_start_now();
    if (t != sched_current)
        sched_switch(t);
    if (t->vcpu)
        vcpu_run(t);
    arch_return_to_user(&t->frame);
}

void sched_check_queues(uint64_t *errors)
{
    for (unsigned p = 0; p < NESTOR_PRIORITIES; p++) {
        const tcb_t *prev = 0;
        unsigned n = 0;
        for (const tcb_t *t = ready[p].head; t && n < (1u << 20); t = t->sched_next, n++) {
            if (t->priority != p || t->state != TS_READY || t->sched_prev != prev) {
                kprintf("consistency: ready queue %u: thread %u has prio %u state %u\n", p,
                        t->id, t->priority, t->state);
                (*errors)++;
            }
            prev = t;
        }
        if (ready[p].tail != prev) {
            kprintf("consistency: ready queue %u: tail is not the last thread\n", p);
            (*errors)++;
        }
        if (!ready[p].head != !(ready_bitmap[p / 64] & (1ULL << (p % 64)))) {
            kprintf("consistency: ready bitmap disagrees with queue %u\n", p);
            (*errors)++;
        }
    }
}
