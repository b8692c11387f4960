/*
 * nested-vmx/nvmx_prof.h - where one reflected L2 exit's instructions go,
 * measured with RDTSC, which counts emulated instructions on Bochs (its
 * clock: sync=none; SDM Vol. 3B 17.17 time-stamp counter). Off unless
 * NVMX_PROFILE is 1 (set it below, then `./nestor run
 * tests/configs/nestbench.dts`): the markers cost instructions of their own
 * (~300 per cycle), so the figures of `./nestor bench nested` are taken
 * without them.
 *
 * One cycle: L2's exit message arrives (A), nested-vmx has reflected it and
 * answered L1 (B), L1's VMLAUNCH/VMRESUME exit arrives (C), nested-vmx has
 * answered vcpu02 (D), L2's next exit arrives (A). The spans between the
 * marks, and the kernel invocations inside them (PROF_SPAN), are summed over
 * the cycles that went A-B-C-D-A in that order and logged per cycle at the
 * VMM's count query (`nested-vmx NAME: profile ...`, nested-vmx/README.md
 * has the breakdown).
 */
#ifndef NVMX_PROF_H
#define NVMX_PROF_H
#include <stdbool.h>
#include <stdint.h>

#ifndef NVMX_PROFILE
#define NVMX_PROFILE 0
#endif

enum nvmx_prof_span {
    /* the four spans of a cycle, each ending at its mark */
    PROF_L2_EXIT,       /* D -> A: vcpu02 entered, L2 to its next exit, the kernel's exit IPC */
    PROF_REFLECT,       /* A -> B: nested-vmx reflects, L1's VCPU answered */
    PROF_L1,            /* B -> C: L1 entered, L1 handles, its VMRESUME exit IPC */
    PROF_ENTER,         /* C -> D: nested-vmx's VMRESUME, vcpu02 answered */
    /* inside them */
    PROF_SAVE_CR,       /* reflect: READ_VMCS of L2's CR0/CR4 */
    PROF_PUSH,          /* reflect: the shadow push (SHADOW_WRITE) */
    PROF_HOST_STATE,    /* reflect: MSR lists, host state, groups compared */
    PROF_REPLY_L1,      /* reflect: VCPU_REPLY to L1 (0 since the reply is the next
                           receive's, NESTOR_SYS_VCPU_REPLY_RECV: in the span B -> C) */
    PROF_PULL,          /* enter: the shadow pull (SHADOW_READ) */
    PROF_INSN,          /* enter: VMRESUME's instruction checks (nvmx_instruction) */
    PROF_CHECKS,        /* enter: the entry checks of 26.2, 26.3 */
    PROF_SNAPSHOT,      /* enter: L1's state kept (s_entered) */
    PROF_REPLY_L2,      /* enter: VCPU_REPLY to vcpu02 (0 likewise: in D -> A) */
    PROF_FOLLOW,        /* enter: the shadow follow and push after the instruction */
    PROF_TIMER_SAVE,    /* reflect: vcpu02's preemption timer read back (save_timer) */
    PROF_TIMER_SET,     /* enter: vcpu02's preemption timer set (set_timer) */
    PROF_SPANS
};

static inline uint64_t nvmx_prof_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

#if NVMX_PROFILE
typedef struct {
    uint64_t sum[PROF_SPANS];
    uint64_t cycles, last;
    int mark;                   /* the last mark seen (0-3: A-D), -1: none */
    bool last_a;                /* a cycle began at the last A */
    uint64_t part[PROF_SPANS];  /* this cycle's, added to sum when it completes */
} nvmx_prof_t;
extern nvmx_prof_t nvmx_prof;

/* Mark @mark (0 A, 1 B, 2 C, 3 D) reached: the span that ends here. */
void nvmx_prof_mark(int mark);
void nvmx_prof_report(const char *name);
#define PROF_MARK(k) nvmx_prof_mark(k)
#define PROF_SPAN(span, stmt)                                           \
    do {                                                                \
        const uint64_t prof_t0_ = nvmx_prof_tsc();                      \
        stmt;                                                           \
        nvmx_prof.part[span] += nvmx_prof_tsc() - prof_t0_;             \
    } while (0)
#else
#define PROF_MARK(k) ((void)0)
#define PROF_SPAN(span, stmt) do { stmt; } while (0)
static inline void nvmx_prof_report(const char *name) { (void)name; }
#endif

#endif
