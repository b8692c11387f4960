/*
 * tests/bench/ipc_bench.c - IPC round-trip cost (a root task).
 *
 * A client (the root thread) calls a server thread that answers with
 * reply-receive, ITERATIONS times, and divides the rdtsc delta by the count.
 * On Bochs (clock sync=none) rdtsc counts instructions, so the figures are
 * instructions per round trip: kernel and both user sides together.
 */
#include <nestor/bootinfo.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>

#define ITERATIONS 10000
#define WARMUP 100
#define PRIO 255                              /* same as the root thread */
#define REGION_SAME  0x0000100000000000ULL
#define REGION_OTHER 0x0000100000010000ULL
#define SCRATCH_VA   0x0000100000100000ULL
#define FAST_WORDS 1                          /* fits in registers: fast path */
#define SLOW_WORDS 5                          /* uses the IPC buffer: slow path */

/* An echo server: each reply is the message it received. */
static void server(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    nu_recv(ep, &m);
    for (;;)
        nu_reply_recv(ep, &m);
}

static inline nestor_word_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (nestor_word_t)hi << 32 | lo;
}

static nestor_word_t measure(nestor_cptr_t ep, unsigned words)
{
    nu_msg_t m;
    for (int i = 0; i < WARMUP; i++) {
        m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, words) };
        nu_call(ep, &m);
    }
    nestor_word_t t0 = rdtsc();
    for (int i = 0; i < ITERATIONS; i++) {
        m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, words) };
        nu_call(ep, &m);
    }
    return (rdtsc() - t0) / ITERATIONS;
}

static nestor_cptr_t largest_untyped(const nestor_bootinfo_t *bi)
{
    nestor_word_t best = 0;
    for (nestor_word_t i = 1; i < bi->untyped.end - bi->untyped.start; i++)
        if (bi->untyped_list[i].size_bits > bi->untyped_list[best].size_bits)
            best = i;
    return bi->untyped.start + best;
}

int main(const nestor_bootinfo_t *bi)
{
    nu_alloc_t a = { .untyped = largest_untyped(bi), .cnode = NESTOR_CAP_INIT_CNODE,
                     .next_slot = bi->empty.start, .end_slot = bi->empty.end };
    nestor_cptr_t ep_same = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t ep_other = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t other = nu_clone_space(&a, SCRATCH_VA);
    if (!ep_same || !ep_other || !other ||
        !nu_thread_new(&a, NESTOR_CAP_INIT_VSPACE, REGION_SAME, server, ep_same, PRIO, 0) ||
        !nu_thread_new(&a, other, REGION_OTHER, server, ep_other, PRIO, 0)) {
        printf("ipcbench: set-up failed\n");
        return 0;
    }
    printf("ipcbench: %d round trips each, rdtsc per round trip (instructions on Bochs)\n",
           ITERATIONS);
    printf("ipc_call_reply_roundtrip_instructions: %lu\n", measure(ep_other, FAST_WORDS));
    printf("ipc_call_reply_roundtrip_same_as_instructions: %lu\n", measure(ep_same, FAST_WORDS));
    printf("ipc_call_reply_roundtrip_slowpath_instructions: %lu\n", measure(ep_other, SLOW_WORDS));
    printf("ipcbench: done\n");
    return 1;
}
