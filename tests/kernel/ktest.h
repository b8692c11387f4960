/*
 * tests/kernel/ktest.h - the in-system kernel test suite (a root task).
 *
 * A test is a function registered with KTEST(name); it returns KT_PASS or
 * fails through an assertion macro, which prints where. Each test gets a
 * fresh supply of kernel objects from a dedicated untyped capability that
 * is revoked after the test, so every object a test creates is destroyed
 * and the next test starts clean.
 */
#ifndef TESTS_KERNEL_KTEST_H
#define TESTS_KERNEL_KTEST_H
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <user/invoke.h>
#include <user/print.h>
#include <user/space.h>

typedef int (*ktest_fn)(void);
typedef struct {
    const char *name;
    ktest_fn fn;
} ktest_t;

#define KT_PASS 1
#define KT_FAIL 0

#define KTEST(name)                                                                \
    static int name(void);                                                         \
    static const ktest_t ktest_##name __attribute__((used, section("ktests"),      \
                                                    aligned(8))) = { #name, name }; \
    static int name(void)

#define KT_ASSERT(cond)                                                            \
    do {                                                                           \
        if (!(cond)) {                                                             \
            printf("    assertion failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            return KT_FAIL;                                                        \
        }                                                                          \
    } while (0)

#define KT_EQ(a, b)                                                                \
    do {                                                                           \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
        if (_a != _b) {                                                            \
            printf("    %s == %s failed: 0x%llx != 0x%llx (%s:%d)\n", #a, #b, _a, _b, \
                   __FILE__, __LINE__);                                            \
            return KT_FAIL;                                                        \
        }                                                                          \
    } while (0)

#define KT_OK(expr) KT_EQ((expr), NESTOR_OK)

/* ---- the test environment (env.c) ---- */

#define ROOT_CNODE NESTOR_CAP_INIT_CNODE
#define ROOT_DEPTH 64
#define ROOT_VSPACE NESTOR_CAP_INIT_VSPACE

extern const nestor_bootinfo_t *env_bi;

/* A free slot of the root CNode (freed by the post-test revoke/cleanup). */
nestor_cptr_t env_slot(void);
/* Retype one object from this test's untyped into a fresh slot. */
nestor_cptr_t env_obj(nestor_word_t type, nestor_word_t size_bits);
/* This test's untyped (revoked after the test). */
nestor_cptr_t env_untyped(void);
/* Map a fresh frame in the test region; returns its address. */
void *env_page(nestor_cptr_t *frame_out);

/* An allocator over this test's untyped and @slots fresh slots, for the
 * lib/user space helpers (new address spaces, threads in them). */
nu_alloc_t env_alloc(unsigned slots);

/* Threads in the root task's address space. */
typedef void (*thread_fn)(nestor_word_t arg);
typedef struct {
    nestor_cptr_t tcb;
    nestor_cptr_t fault_ep;     /* 0 if none */
} env_thread_t;
/* Create and start a thread running fn(arg) at @prio with fault endpoint
 * @fault_ep (a cptr in the root CSpace, or 0). */
env_thread_t env_thread(thread_fn fn, nestor_word_t arg, nestor_word_t prio,
                        nestor_cptr_t fault_ep);
/* Let every thread above priority 1 run until it blocks: the root task
 * waits on an endpoint that only a priority-1 thread sends to. */
void env_wait_idle(void);
/* Wait for @n ticks of the PIT (1 kHz) through IRQ 0 as a notification;
 * returns the OR of the badges seen. Lets every lower thread run meanwhile. */
nestor_word_t env_sleep_ticks(unsigned n);
#define ENV_TICK_BADGE 0x100    /* the badge the timer IRQ signals with */
/* The PIT port and IRQ capabilities the timer uses. */
nestor_cptr_t env_pit_ports(void);
nestor_cptr_t env_pit_irq(void);
/* Block the calling thread forever (end of a thread function). */
__attribute__((noreturn)) void env_thread_exit(void);

/* Shared words tests use to talk to their threads. */
extern volatile nestor_word_t env_shared[16];

#endif
