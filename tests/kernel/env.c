/*
 * tests/kernel/env.c - per-test kernel objects, pages and threads.
 *
 * Long-lived set-up (done once): page tables for a test region of the root
 * address space, from a persistent untyped. Per test: objects from a
 * separate untyped that is revoked afterwards; slots from the empty range,
 * each cleared after the test.
 */
#include "ktest.h"
#include <string.h>

#define TEST_REGION      0x0000100000000000ULL   /* 2 MiB of 4 KiB slots */
#define TEST_REGION_PAGES 512
#define THREAD_STACK_PAGES 2

const nestor_bootinfo_t *env_bi;
volatile nestor_word_t env_shared[16];

static nestor_cptr_t ut_persistent, ut_test;
static nestor_cptr_t slot_first, slot_next, slot_fixed_end;
static unsigned page_next;

nestor_cptr_t env_slot(void) { return slot_next++; }
nestor_cptr_t env_untyped(void) { return ut_test; }

nu_alloc_t env_alloc(unsigned slots)
{
    nu_alloc_t a = { .untyped = ut_test, .cnode = ROOT_CNODE, .next_slot = slot_next,
                     .end_slot = slot_next + slots };
    slot_next += slots;
    return a;
}

nestor_cptr_t env_obj(nestor_word_t type, nestor_word_t size_bits)
{
    nestor_cptr_t s = env_slot();
    nestor_error_t e = nu_untyped_retype(ut_test, type, size_bits, ROOT_CNODE, 0, 0, s, 1);
    if (e != NESTOR_OK)
        printf("    env: retype of type %lu failed: error %d\n", type, e);
    return s;
}

void *env_page(nestor_cptr_t *frame_out)
{
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    uint64_t va = TEST_REGION + (uint64_t)(page_next++ % TEST_REGION_PAGES) * 4096;
    nestor_error_t e = nu_frame_map(f, ROOT_VSPACE, va, NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE, 0);
    if (e != NESTOR_OK)
        printf("    env: frame map at 0x%lx failed: error %d\n", va, e);
    if (frame_out)
        *frame_out = f;
    return (void *)(uintptr_t)va;
}

static void thread_entry(thread_fn fn, nestor_word_t arg)
{
    fn(arg);
    env_thread_exit();
}

static nestor_cptr_t park_ep;

void env_thread_exit(void)
{
    /* Receive on an endpoint nobody sends to: parked until the test's revoke. */
    nu_msg_t m = { 0 };
    for (;;)
        nu_recv(park_ep, &m);
}

env_thread_t env_thread(thread_fn fn, nestor_word_t arg, nestor_word_t prio,
                        nestor_cptr_t fault_ep)
{
    env_thread_t t = { .tcb = env_obj(NESTOR_OBJ_TCB, 0), .fault_ep = fault_ep };
    uint8_t *stack = 0;
    for (int i = 0; i < THREAD_STACK_PAGES; i++)
        stack = env_page(0);           /* consecutive pages: the last is the top */
    nestor_cptr_t buf_frame;
    uint8_t *buf = env_page(&buf_frame);
    nu_tls_t *tls = (nu_tls_t *)(buf + 2048);
    tls->self = tls;
    tls->ipc_buffer = (nestor_ipc_buffer_t *)buf;
    nu_tcb_configure(t.tcb, fault_ep, ROOT_CNODE, ROOT_VSPACE, buf_frame, (uintptr_t)buf);
    nu_tcb_set_priority(t.tcb, prio);
    nestor_user_context_t ctx = { 0 };
    ctx.fs_base = (uintptr_t)tls;           /* the context carries the TLS base */
    ctx.rip = (uintptr_t)thread_entry;
    ctx.rsp = (uintptr_t)(stack + 4096 - 8);   /* as if called: rsp+8 16-aligned */
    ctx.rdi = (uintptr_t)fn;
    ctx.rsi = arg;
    nu_tcb_write_registers(t.tcb, 1, &ctx);
    return t;
}

#define IDLE_BARRIER_PRIO 1
static nestor_cptr_t barrier_ep;

static void barrier_thread(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    for (;;)
        nu_send(ep, &m);
}

void env_wait_idle(void)
{
    if (!barrier_ep) {
        barrier_ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
        env_thread(barrier_thread, barrier_ep, IDLE_BARRIER_PRIO, 0);
    }
    nu_msg_t m = { 0 };
    nu_recv(barrier_ep, &m);
}

/* Pick the largest untyped for tests, the next for long-lived tables. */
static int pick_untyped(void)
{
    nestor_word_t n = env_bi->untyped.end - env_bi->untyped.start;
    int best = -1, second = -1;
    for (nestor_word_t i = 0; i < n; i++) {
        unsigned b = env_bi->untyped_list[i].size_bits;
        if (best < 0 || b > env_bi->untyped_list[best].size_bits) {
            second = best;
            best = (int)i;
        } else if (second < 0 || b > env_bi->untyped_list[second].size_bits) {
            second = (int)i;
        }
    }
    if (best < 0 || second < 0 || env_bi->untyped_list[second].size_bits < 16)
        return 0;
    ut_test = env_bi->untyped.start + (nestor_word_t)best;
    ut_persistent = env_bi->untyped.start + (nestor_word_t)second;
    return 1;
}

/* ---- timer: PIT channel 0 on IRQ 0, delivered as a notification ---- */

#define PIT_PORT_FIRST 0x40
#define PIT_PORT_LAST  0x43
#define PIT_CH0        0x40
#define PIT_CMD        0x43
#define PIT_CMD_CH0_RATE 0x34       /* channel 0, lobyte/hibyte, mode 2 */
#define PIT_HZ         1193182
#define TICK_HZ        1000
#define PIT_IRQ        0

static nestor_cptr_t pit_ports, pit_irq, tick_ntfn, tick_badged;
static volatile nestor_word_t ticks_seen;

static int timer_init(void)
{
    pit_ports = slot_next++;
    pit_irq = slot_next++;
    tick_ntfn = slot_next++;
    tick_badged = slot_next++;
    if (nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, PIT_PORT_FIRST, PIT_PORT_LAST, ROOT_CNODE,
                        pit_ports, ROOT_DEPTH) != NESTOR_OK ||
        nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, PIT_IRQ, ROOT_CNODE, pit_irq, ROOT_DEPTH) !=
            NESTOR_OK ||
        nu_untyped_retype(ut_persistent, NESTOR_OBJ_NOTIFICATION, 0, ROOT_CNODE, 0, 0, tick_ntfn,
                          1) != NESTOR_OK ||
        nu_cnode_mint(ROOT_CNODE, tick_badged, ROOT_DEPTH, ROOT_CNODE, tick_ntfn, ROOT_DEPTH,
                      NESTOR_RIGHTS_ALL, ENV_TICK_BADGE) != NESTOR_OK ||
        nu_irq_handler_set_notification(pit_irq, tick_badged) != NESTOR_OK)
        return 0;
    unsigned divisor = PIT_HZ / TICK_HZ;
    nu_ioport_out(pit_ports, PIT_CMD, 1, PIT_CMD_CH0_RATE);
    nu_ioport_out(pit_ports, PIT_CH0, 1, divisor & 0xFF);
    nu_ioport_out(pit_ports, PIT_CH0, 1, divisor >> 8);
    return 1;
}

nestor_word_t env_sleep_ticks(unsigned n)
{
    nestor_word_t badges = 0;
    for (unsigned i = 0; i < n; i++) {
        badges |= nu_wait(tick_ntfn);
        nu_irq_handler_ack(pit_irq);
        ticks_seen++;
    }
    return badges;
}

nestor_cptr_t env_pit_ports(void) { return pit_ports; }
nestor_cptr_t env_pit_irq(void) { return pit_irq; }

int env_init(const nestor_bootinfo_t *bi)
{
    env_bi = bi;
    if (!pick_untyped())
        return 0;
    slot_first = slot_next = bi->empty.start;
    /* Tables for the test region: PDPT, PD, PT from the persistent untyped. */
    static const nestor_word_t types[] = { NESTOR_OBJ_PDPT, NESTOR_OBJ_PD, NESTOR_OBJ_PT };
    for (int i = 0; i < 3; i++) {
        nestor_cptr_t s = slot_next++;
        if (nu_untyped_retype(ut_persistent, types[i], 0, ROOT_CNODE, 0, 0, s, 1) != NESTOR_OK ||
            nu_page_table_map(s, ROOT_VSPACE, TEST_REGION) != NESTOR_OK) {
            printf("env: cannot map test region tables (step %d)\n", i);
            return 0;
        }
    }
    if (!timer_init()) {
        printf("env: cannot set up the PIT timer interrupt\n");
        return 0;
    }
    park_ep = slot_next++;
    if (nu_untyped_retype(ut_persistent, NESTOR_OBJ_ENDPOINT, 0, ROOT_CNODE, 0, 0, park_ep, 1))
        return 0;
    slot_fixed_end = slot_first = slot_next;
    return 1;
}

void env_reset(void)
{
    nu_cnode_revoke(ROOT_CNODE, ut_test, ROOT_DEPTH);
    for (nestor_cptr_t s = slot_fixed_end; s < slot_next; s++)
        nu_cnode_delete(ROOT_CNODE, s, ROOT_DEPTH);
    slot_next = slot_first;
    page_next = 0;
    barrier_ep = 0;
    memset((void *)env_shared, 0, sizeof(env_shared));
}
