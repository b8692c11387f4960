/*
 * tests/unit/rsp_model.h - a model backend for the GDB protocol engine
 * (inspector/rsp.h): two threads, 64 KiB of memory at MODEL_BASE, a
 * register file, software breakpoints as int3 bytes, four debug-register
 * slots, a monitor command or two. It checks every call it gets against
 * the engine's promises (lengths, register numbers, threads) and counts
 * violations; tests assert the count stays 0. Used by test_rsp.c and
 * test_rsp_fuzz.c.
 */
#ifndef TESTS_RSP_MODEL_H
#define TESTS_RSP_MODEL_H
#include "../../inspector/rsp.h"
#include "../../inspector/rsp_x86.h"

#define MODEL_THREADS    2u
#define MODEL_BASE       0x100000ull
#define MODEL_MEM        0x10000u
#define MODEL_SW_BPS     8u
#define MODEL_HW_SLOTS   4u
#define MODEL_OUT_MAX    (1u << 20)

typedef struct {
    struct rsp rsp;
    uint8_t regs[MODEL_THREADS][RSP_X86_NREGS][RSP_REG_BYTES_MAX];
    uint8_t mem[MODEL_MEM];
    struct { uint64_t addr; uint8_t saved; bool used; } sw[MODEL_SW_BPS];
    struct { uint64_t addr; unsigned type, kind; bool used; } hw[MODEL_HW_SLOTS];
    uint8_t last_acts[RSP_MAX_THREADS];
    unsigned resumes, interrupts, detaches, steps, attaches, breakpoints;
    rsp_arch_t *arch;          /* the register set attach chooses (NULL: the default) */
    bool step_stops_at_once;   /* a step reports its stop from inside resume() */
    unsigned violations;       /* calls that broke the engine's promises */
    uint8_t out[MODEL_OUT_MAX];
    size_t out_len;
} model_t;

void model_init(model_t *m);
/* Frame @payload as gdb would ($payload#cs) and feed it; if @bad_sum, the
 * checksum is wrong. */
void model_send(model_t *m, const char *payload, size_t len, bool bad_sum);
/* The next reply packet's payload in the output (unescaped, NUL-ended) from
 * *@pos on; acks before it are counted in *@acks and *@naks. -1 if none, -2 if
 * a packet is malformed (bad checksum, bad escape, too long). */
long model_next_packet(const model_t *m, size_t *pos, char *payload, size_t cap,
                       unsigned *acks, unsigned *naks);
/* Send a packet and return its one reply (the last packet sent back). */
const char *model_ask(model_t *m, const char *payload);
/* Registers: set a 64-bit one. */
void model_set_reg(model_t *m, unsigned tid, unsigned regno, uint64_t v);
uint64_t model_reg(const model_t *m, unsigned tid, unsigned regno);

#endif
