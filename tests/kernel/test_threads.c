/* tests/kernel/test_threads.c - TCBs, registers, scheduling, FPU state. */
#include "ktest.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/rflags.h"

/* Ticks to let lower threads run. The first tick of a sleep may end at once
 * (an edge latched while the line was masked), and a tick is only 50k
 * instructions on Bochs, so be generous. */
#define SETTLE 10

static void store_arg(nestor_word_t v)
{
    env_shared[0] = v;
}

KTEST(thread_runs)
{
    env_thread(store_arg, 1234, 50, 0);
    KT_EQ(env_shared[0], 0);       /* lower priority: not yet */
    env_wait_idle();
    KT_EQ(env_shared[0], 1234);
    return KT_PASS;
}

static void spin(nestor_word_t idx)
{
    for (;;)
        env_shared[idx]++;
}

KTEST(timer_irq_delivered_as_notification)
{
    KT_EQ(env_sleep_ticks(SETTLE), ENV_TICK_BADGE);
    /* While we sleep, a spinner runs; the IRQ still wakes us (we preempt it). */
    env_thread(spin, 1, 50, 0);
    env_sleep_ticks(SETTLE);
    nestor_word_t c = env_shared[1];
    KT_ASSERT(c > 0);
    env_sleep_ticks(SETTLE);
    KT_ASSERT(env_shared[1] > c);
    return KT_PASS;
}

KTEST(irq_handler_not_issued_twice)
{
    nestor_cptr_t s = env_slot();
    KT_EQ(nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, 0, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, 2, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_INVALID_ARGUMENT);      /* the PIC cascade line */
    KT_EQ(nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, 16, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_OK(nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, 5, ROOT_CNODE, s, ROOT_DEPTH));
    KT_EQ(nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, 5, ROOT_CNODE, env_slot(), ROOT_DEPTH),
          NESTOR_ERR_INVALID_ARGUMENT);
    /* Deleting the handler makes the line available again. */
    KT_OK(nu_cnode_delete(ROOT_CNODE, s, ROOT_DEPTH));
    KT_OK(nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, 5, ROOT_CNODE, s, ROOT_DEPTH));
    return KT_PASS;
}

KTEST(ioport_rules)
{
    nestor_cptr_t s = env_slot();
    KT_EQ(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, 0x3F8, 0x3FF, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_INVALID_ARGUMENT);     /* COM1 belongs to the kernel */
    KT_EQ(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, 0x20, 0x21, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_INVALID_ARGUMENT);     /* so do the PICs */
    KT_EQ(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, 0x80, 0x70, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_RANGE);
    KT_EQ(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, 0x80, 0x10000, ROOT_CNODE, s, ROOT_DEPTH),
          NESTOR_ERR_RANGE);
    KT_OK(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, 0x70, 0x71, ROOT_CNODE, s, ROOT_DEPTH));
    nestor_word_t v;
    KT_EQ(nu_ioport_in(s, 0x72, 1, &v), NESTOR_ERR_RANGE);
    KT_EQ(nu_ioport_in(s, 0x71, 2, &v), NESTOR_ERR_RANGE);   /* 0x71..0x72 */
    KT_EQ(nu_ioport_in(s, 0x70, 3, &v), NESTOR_ERR_INVALID_ARGUMENT);
    /* CMOS register 0x0A (status A) through the granted ports. */
    KT_OK(nu_ioport_out(s, 0x70, 1, 0x0A));
    KT_OK(nu_ioport_in(s, 0x71, 1, &v));
    KT_ASSERT(v <= 0xFF);
    return KT_PASS;
}

KTEST(preemption_low_cannot_starve_high)
{
    /* A spinner at 40 and a higher spinner at 60: strict priority means the
     * low one gets no time at all while the high one is runnable. */
    env_thread(spin, 1, 40, 0);
    env_thread(spin, 2, 60, 0);
    env_sleep_ticks(2 * SETTLE);
    KT_ASSERT(env_shared[2] > 0);
    KT_EQ(env_shared[1], 0);
    return KT_PASS;
}

/*
 * Sleep @ms of the kernel's own ticks (NESTOR_TIMER_HZ: 1 ms each) in a
 * bounded call nobody takes. Woken by the kernel's tick itself, after that
 * tick was charged to the thread that was running (sched.c
 * sched_timer_interrupt: the charge before ipc_timeout_tick). Sleeping on the PIT's IRQ at the same 1 kHz
 * instead can lock in phase with the kernel's tick: every tick then finds
 * this thread running, handling the IRQ, and the spinner it preempted is
 * never charged, never rotated (seen after an unrelated change moved the
 * timing: the other spinners got no time at all).
 */
static void sleep_kernel_ms(nestor_word_t ms)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nu_invoke(NESTOR_CAP_INIT_TCB, NESTOR_TCB_SET_CALL_TIMEOUT, &ms, 1, 0, 0, 0, 0);
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 0) };
    nu_call_bounded(ep, &m);
    ms = 0;
    nu_invoke(NESTOR_CAP_INIT_TCB, NESTOR_TCB_SET_CALL_TIMEOUT, &ms, 1, 0, 0, 0, 0);
}

KTEST(round_robin_within_priority)
{
    env_thread(spin, 1, 50, 0);
    env_thread(spin, 2, 50, 0);
    env_thread(spin, 3, 50, 0);
    sleep_kernel_ms(8 * SETTLE);     /* 16 time slices of 5 ticks */
    KT_ASSERT(env_shared[1] > 0);
    KT_ASSERT(env_shared[2] > 0);
    KT_ASSERT(env_shared[3] > 0);
    return KT_PASS;
}

/*
 * Round robin with a partner that keeps blocking in calls to a higher
 * server, as a vCPU thread does at each exit its VMM serves: B at 50 runs
 * half a tick, calls H at 60, which works 1.2 ticks before it replies; A at
 * 50 only spins. Each tick finds B (charged) or H running; A runs once B's
 * slice is used up. With tick=demand (sched.c, "the tick") a tick finding H
 * running and A alone at 50 (B in its call) stops the timer, and H's reply
 * starts it again: restarted from that moment, its next tick fell in H's
 * work every round, B was never charged and A never ran (the stall of
 * linux@bochs beside the pong VM). Started on the periodic tick's grid
 * instead, ticks land in B's half tick as often as when it never stops.
 * Runs under both ticks: system/kernel and system/kernel-demand.
 */
#define RR_PARTNER_ROUNDS 60
static nestor_cptr_t rr_ep, rr_done;

static inline uint64_t rr_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static void rr_spin_tsc(uint64_t n)
{
    uint64_t t0 = rr_tsc();
    while (rr_tsc() - t0 < n)
        ;
}

static void rr_server(nestor_word_t unused)
{
    (void)unused;
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 0) };
    nu_recv(rr_ep, &m);
    for (;;) {
        rr_spin_tsc(env_bi->tsc_per_tick * 6 / 5);
        m.info = nestor_msginfo(0, 0, 0, 0);
        nu_reply_recv(rr_ep, &m);
    }
}

static void rr_caller(nestor_word_t rounds)
{
    for (nestor_word_t i = 0; i < rounds; i++) {
        rr_spin_tsc(env_bi->tsc_per_tick / 2);
        nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 0) };
        nu_call(rr_ep, &m);
        env_shared[3]++;
    }
    env_shared[2] = env_shared[1];      /* what the spinner did meanwhile */
    nu_signal(rr_done);
    env_thread_exit();
}

KTEST(round_robin_with_partner_in_calls)
{
    KT_ASSERT(env_bi->tsc_per_tick > 0);
    rr_ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    rr_done = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    env_thread(rr_server, 0, 60, 0);
    env_thread(rr_caller, RR_PARTNER_ROUNDS, 50, 0);    /* first in the queue */
    env_thread(spin, 1, 50, 0);
    nu_wait(rr_done);
    KT_EQ(env_shared[3], RR_PARTNER_ROUNDS);
    KT_ASSERT(env_shared[2] > 0);
    return KT_PASS;
}

KTEST(suspend_and_resume)
{
    env_thread_t t = env_thread(spin, 3, 50, 0);
    env_sleep_ticks(SETTLE);
    KT_ASSERT(env_shared[3] > 0);
    KT_OK(nu_tcb_suspend(t.tcb));
    nestor_word_t c = env_shared[3];
    env_sleep_ticks(SETTLE);
    KT_EQ(env_shared[3], c);
    KT_OK(nu_tcb_resume(t.tcb));
    env_sleep_ticks(SETTLE);
    KT_ASSERT(env_shared[3] > c);
    return KT_PASS;
}

static void yielder(nestor_word_t idx)
{
    for (;;) {
        env_shared[idx]++;
        nu_yield();
    }
}

KTEST(yield_passes_to_equal_priority)
{
    env_thread(yielder, 1, 50, 0);
    env_thread(yielder, 2, 50, 0);
    env_sleep_ticks(SETTLE);
    /* Each yields after one step, so neither gets ahead by more than one. */
    nestor_word_t a = env_shared[1], b = env_shared[2];
    KT_ASSERT(a > 10 && b > 10);
    KT_ASSERT(a - b + 1 <= 2);
    return KT_PASS;
}

static void escalate(nestor_word_t self)
{
    env_shared[0] = 1 + nu_tcb_set_priority(self, 200);
}

KTEST(priority_escalation_refused)
{
    env_thread_t t = env_thread(escalate, 0, 10, 0);
    /* The thread gets its own TCB capability as argument: rewrite rdi. */
    KT_OK(nu_tcb_suspend(t.tcb));
    nestor_user_context_t ctx;
    KT_OK(nu_tcb_read_registers(t.tcb, &ctx));
    ctx.rsi = t.tcb;
    KT_OK(nu_tcb_write_registers(t.tcb, 1, &ctx));
    env_wait_idle();
    KT_EQ(env_shared[0], 1 + NESTOR_ERR_RANGE);
    return KT_PASS;
}

KTEST(registers_read_write)
{
    env_thread_t t = env_thread(spin, 2, 50, 0);
    KT_OK(nu_tcb_suspend(t.tcb));
    nestor_user_context_t ctx;
    KT_OK(nu_tcb_read_registers(t.tcb, &ctx));
    ctx.rbx = 0x1111;
    ctx.r15 = 0x2222;
    ctx.rflags |= RFLAGS_IOPL | RFLAGS_CF;      /* IOPL must not stick... */
    ctx.rflags &= ~(nestor_word_t)RFLAGS_IF;    /* ...nor IF = 0 */
    KT_OK(nu_tcb_write_registers(t.tcb, 0, &ctx));
    nestor_user_context_t back;
    KT_OK(nu_tcb_read_registers(t.tcb, &back));
    KT_EQ(back.rbx, 0x1111);
    KT_EQ(back.r15, 0x2222);
    KT_EQ(back.rflags & RFLAGS_IOPL, 0);
    KT_EQ(back.rflags & RFLAGS_IF, RFLAGS_IF);
    KT_EQ(back.rflags & RFLAGS_CF, RFLAGS_CF);
    return KT_PASS;
}

KTEST(registers_kernel_addresses_refused)
{
    env_thread_t t = env_thread(spin, 2, 50, 0);
    KT_OK(nu_tcb_suspend(t.tcb));
    nestor_user_context_t ctx;
    KT_OK(nu_tcb_read_registers(t.tcb, &ctx));
    nestor_word_t rip = ctx.rip;
    ctx.rip = 0xFFFFFFFF80100000ULL;
    ctx.rsp = 0x8000000000000000ULL;
    ctx.fs_base = 0xFFFF800000000000ULL;
    KT_OK(nu_tcb_write_registers(t.tcb, 1, &ctx));
    nestor_user_context_t back;
    KT_OK(nu_tcb_read_registers(t.tcb, &back));
    KT_EQ(back.rip, rip);
    KT_ASSERT(back.rsp < 0x0000800000000000ULL);
    KT_ASSERT(back.fs_base < 0x0000800000000000ULL);
    env_sleep_ticks(SETTLE);             /* and it still runs normally */
    return KT_PASS;
}

KTEST(registers_of_self_refused)
{
    nestor_user_context_t ctx;
    KT_EQ(nu_tcb_read_registers(NESTOR_CAP_INIT_TCB, &ctx), NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(nu_tcb_write_registers(NESTOR_CAP_INIT_TCB, 0, &ctx), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

KTEST(tls_base_invalid_refused)
{
    env_thread_t t = env_thread(spin, 2, 50, 0);
    KT_EQ(nu_tcb_set_tls_base(t.tcb, 0xFFFF800000000000ULL, 0), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_tcb_set_tls_base(t.tcb, 0, 0x8000000000000000ULL), NESTOR_ERR_INVALID_ARGUMENT);
    return KT_PASS;
}

KTEST(configure_checks_types)
{
    nestor_cptr_t tcb = env_obj(NESTOR_OBJ_TCB, 0), frame;
    nestor_word_t va = (nestor_word_t)(uintptr_t)env_page(&frame);
    KT_EQ(nu_tcb_configure(tcb, 0, ROOT_VSPACE, ROOT_VSPACE, frame, va),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_CNODE, frame, va),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_VSPACE, ROOT_CNODE, va),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_VSPACE, frame, va + 8),
          NESTOR_ERR_ALIGNMENT);
    KT_EQ(nu_tcb_resume(tcb), NESTOR_ERR_ILLEGAL_OPERATION);   /* no address space yet */
    KT_OK(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_VSPACE, frame, va));
    return KT_PASS;
}

/* Each thread keeps its own pattern in xmm0 across yields and preemption. */
static void fpu_user(nestor_word_t pattern)
{
    __asm__ volatile("movq %0, %%xmm0" : : "r"(pattern) : "xmm0");
    for (;;) {
        nestor_word_t v;
        __asm__ volatile("movq %%xmm0, %0" : "=r"(v));
        if (v == pattern)
            env_shared[pattern & 3]++;
        else
            env_shared[4]++;
        nu_yield();
    }
}

KTEST(fpu_state_is_per_thread)
{
    env_thread(fpu_user, 0xAAAA000000000001ULL, 50, 0);
    env_thread(fpu_user, 0x5555000000000002ULL, 50, 0);
    env_sleep_ticks(SETTLE);
    KT_ASSERT(env_shared[1] > 0);
    KT_ASSERT(env_shared[2] > 0);
    KT_EQ(env_shared[4], 0);
    return KT_PASS;
}

static void mxcsr_reader(nestor_word_t unused)
{
    (void)unused;
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    env_shared[0] = m;
    env_shared[1] = 1;
}

KTEST(fpu_state_read_and_write)
{
    env_thread_t t = env_thread(mxcsr_reader, 0, 50, 0);
    KT_OK(nu_tcb_suspend(t.tcb));
    nestor_word_t fpu[FPU_AREA_MAX / 8];
    KT_OK(nu_invoke(t.tcb, NESTOR_TCB_READ_FPU, 0, 0, 0, 0, fpu, FXSAVE_AREA_SIZE / 8));
    /* Fewer words than the legacy region are refused. */
    KT_EQ(nu_invoke(t.tcb, NESTOR_TCB_WRITE_FPU, fpu, 10, 0, 0, 0, 0),
          NESTOR_ERR_TRUNCATED_MESSAGE);
    /* MXCSR is the low half of the word at byte 24 (MXCSR_MASK the high half). */
    KT_EQ(fpu[FXSAVE_MXCSR_OFFSET / 8] & 0xFFFFFFFFULL, MXCSR_DEFAULT);
    /* Round toward zero, plus reserved bits a hostile caller sets: those
     * would make FXRSTOR fault in the kernel, so they must be dropped. */
    fpu[FXSAVE_MXCSR_OFFSET / 8] = (fpu[FXSAVE_MXCSR_OFFSET / 8] & ~0xFFFFFFFFULL) |
                                   (MXCSR_DEFAULT | 0x6000 | 0xFFFF0000ULL);
    KT_OK(nu_invoke(t.tcb, NESTOR_TCB_WRITE_FPU, fpu, FXSAVE_AREA_SIZE / 8, 0, 0, 0, 0));
    KT_OK(nu_tcb_resume(t.tcb));
    env_wait_idle();
    KT_EQ(env_shared[1], 1);
    KT_EQ(env_shared[0], MXCSR_DEFAULT | 0x6000);
    return KT_PASS;
}

static int cpu_has_avx(void)
{
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    /* AVX (bit 28) and OSXSAVE (bit 27): the kernel enabled XSAVE. */
    return (c & (1u << 28)) && (c & (1u << 27));
}

/* Each thread keeps its own 256-bit pattern in ymm0 (its upper half is AVX
 * state, saved only by XSAVE). */
static void avx_user(nestor_word_t seed)
{
    uint64_t in[4] = { seed, seed + 1, seed + 2, seed + 3 }, out[4];
    __asm__ volatile("vmovdqu %0, %%ymm0" : : "m"(in) : "xmm0");
    for (;;) {
        __asm__ volatile("vmovdqu %%ymm0, %0" : "=m"(out));
        if (out[2] == seed + 2 && out[3] == seed + 3)
            env_shared[seed & 3]++;
        else
            env_shared[4]++;
        nu_yield();
    }
}

KTEST(avx_state_is_per_thread)
{
    if (!cpu_has_avx()) {
        printf("    (no AVX on this CPU: the test checks nothing more)\n");
        return KT_PASS;
    }
    env_thread(avx_user, 0x1000000000000001ULL, 50, 0);
    env_thread(avx_user, 0x2000000000000002ULL, 50, 0);
    env_sleep_ticks(SETTLE);
    KT_ASSERT(env_shared[1] > 0);
    KT_ASSERT(env_shared[2] > 0);
    KT_EQ(env_shared[4], 0);
    return KT_PASS;
}
