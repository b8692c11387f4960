/*
 * tests/unit/test_rsp_fuzz.c - a seeded fuzzer of the GDB protocol engine
 * (inspector/rsp.c) against the model backend, run with the unit tests
 * under ASan and UBSan.
 *
 * Each input is one of: a packet built from the protocol's vocabulary with
 * random, often hostile arguments (addresses outside memory or wrapping,
 * lengths of 0, huge or one past the limit, bad hex, bad thread ids,
 * breakpoint types and kinds out of range, over-long monitor commands);
 * the same with a wrong checksum; random bytes (framing bytes, escapes and
 * Ctrl-C among them); a packet longer than PacketSize; a lone ack, nak or
 * Ctrl-C. Inputs are fed in random splits. After each, everything the
 * engine sent must parse as acks and well-formed packets (checksums right,
 * framing bytes escaped, no payload over PacketSize), every error reply
 * must be "Enn", a good packet in ack mode must be acked and answered
 * (unless it resumed the target or was 'k'), and the model backend must
 * have seen no call outside the engine's promises. A running target is
 * stopped by Ctrl-C or a stop report, and must then be stopped.
 *
 * NESTOR_FUZZ_SEED and NESTOR_FUZZ_ITERS change the seed and the number of
 * inputs; a failure names the seed and the input.
 */
#include "unit.h"
#include "fuzz_rng.h"
#include "rsp_model.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SEED   0x6764622d727370ull     /* "gdb-rsp" */
#define FUZZ_ITERS  100000u
#define SESSION_LEN 400u                    /* inputs per session (fresh engine) */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

static uint64_t any_addr(void)
{
    switch (below(8)) {
    case 0: return 0;
    case 1: return ~0ull - below(16);
    case 2: return MODEL_BASE + MODEL_MEM - below(16);
    case 3: return rnd();
    case 4: return MODEL_BASE - below(4);
    default: return MODEL_BASE + below(MODEL_MEM);
    }
}

static uint64_t any_len(void)
{
    switch (below(8)) {
    case 0: return 0;
    case 1: return RSP_MEM_MAX + below(3);
    case 2: return ~0ull;
    case 3: return rnd() >> below(64);
    default: return 1 + below(64);
    }
}

static const char *any_tid(char *b)
{
    switch (below(6)) {
    case 0: return "-1";
    case 1: return "0";
    case 2: sprintf(b, "%x", below(RSP_MAX_THREADS + 4)); return b;
    case 3: return "p1.1";
    default: sprintf(b, "%x", 1 + below(MODEL_THREADS)); return b;
    }
}

/* Random hex (sometimes not hex) of @n digits appended to @p. */
static size_t put_hex(char *p, size_t n)
{
    static const char d[] = "0123456789abcdefABCDEFxg-,:";
    for (size_t i = 0; i < n; i++)
        p[i] = below(40) ? d[below(16)] : d[below(sizeof d - 1)];
    return n;
}

/* One packet payload from the vocabulary into @p; its length. */
static size_t gen_packet(char *p, size_t cap)
{
    char t[24], t2[24];
    size_t n = 0;
    unsigned regs = (unsigned)rsp_arch_bytes(&rsp_x86_64);
    switch (below(26)) {
    case 0: return (size_t)sprintf(p, "?");
    case 1: return (size_t)sprintf(p, "g");
    case 2:
        n = (size_t)sprintf(p, "G");
        return n + put_hex(p + n, below(4) ? 2 * regs : below(2 * regs + 8));
    case 3: return (size_t)sprintf(p, "p%x", below(RSP_X86_NREGS + 8));
    case 4:
        n = (size_t)sprintf(p, "P%x=", below(RSP_X86_NREGS + 2));
        return n + put_hex(p + n, below(4) ? 16 : below(40));
    case 5: return (size_t)sprintf(p, "m%" PRIx64 ",%" PRIx64, any_addr(), any_len());
    case 6: {
        uint64_t len = any_len();
        n = (size_t)sprintf(p, "M%" PRIx64 ",%" PRIx64 ":", any_addr(), len);
        size_t digits = below(4) && len < 600 ? 2 * len : below(200);
        return n + put_hex(p + n, digits);
    }
    case 7: {
        uint64_t len = any_len();
        n = (size_t)sprintf(p, "X%" PRIx64 ",%" PRIx64 ":", any_addr(), len);
        size_t k = below(4) && len < 600 ? len : below(200);
        for (size_t i = 0; i < k && n + 2 < cap; i++) {
            uint8_t b = (uint8_t)rnd();
            if (b == '$' || b == '#' || b == '}' || b == '*') {
                p[n++] = '}';
                b ^= 0x20;
            }
            p[n++] = (char)b;
        }
        return n;
    }
    case 8: return (size_t)sprintf(p, below(2) ? "c" : "c%" PRIx64, any_addr());
    case 9: return (size_t)sprintf(p, below(2) ? "s" : "s%" PRIx64, any_addr());
    case 10: {
        n = (size_t)sprintf(p, "vCont");
        unsigned k = below(4);
        for (unsigned i = 0; i < k; i++) {
            static const char *const act[] = { "c", "s", "t", "C05", "S0b", "x", "C", "Cfff" };
            n += (size_t)sprintf(p + n, ";%s", act[below(8)]);
            if (below(2))
                n += (size_t)sprintf(p + n, ":%s", any_tid(t));
        }
        return n;
    }
    case 11: return (size_t)sprintf(p, "vCont?");
    case 12:
    case 13:
        return (size_t)sprintf(p, "%c%x,%" PRIx64 ",%x", below(2) ? 'Z' : 'z', below(7),
                               any_addr(), below(4)   ? 1u << below(4)
                                           : below(2) ? below(20)
                                                      : RSP_WATCH_LEN_MAX - 2 + below(4));
    case 14: return (size_t)sprintf(p, "H%c%s", below(8) ? "gc"[below(2)] : 'q', any_tid(t));
    case 15: return (size_t)sprintf(p, "T%s", any_tid(t));
    case 16:
        return (size_t)sprintf(p, "qSupported:%sswbreak+;hwbreak+;xmlRegisters=i386",
                               below(2) ? "multiprocess+;" : "");
    case 17:
        return (size_t)sprintf(p, "qXfer:features:read:%s:%" PRIx64 ",%" PRIx64,
                               below(6) ? "target.xml" : "x.xml", below(2) ? below(9000) : rnd(),
                               any_len());
    case 18: {
        static const char *const cmds[] = { "echo x", "big", "nope", "", "echo " };
        const char *c = cmds[below(5)];
        n = (size_t)sprintf(p, "qRcmd,");
        if (below(5) == 0)
            return n + put_hex(p + n, below(3) ? below(40) : 2 * RSP_CMD_MAX + below(8));
        for (; *c; c++)
            n += (size_t)sprintf(p + n, "%02x", (unsigned char)*c);
        return n;
    }
    case 19: {
        static const char *const q[] = { "qfThreadInfo", "qsThreadInfo", "qC", "qAttached",
                                         "qSymbol::", "qTStatus", "qOffsets", "vMustReplyEmpty",
                                         "qAttached:1", "QNonStop:1", "vFile:setfs:0" };
        return (size_t)sprintf(p, "%s", q[below(11)]);
    }
    case 20: return (size_t)sprintf(p, "qThreadExtraInfo,%s", any_tid(t2));
    case 21: return (size_t)sprintf(p, below(4) ? "D" : "k");
    case 22: return (size_t)sprintf(p, "QStartNoAckMode");
    default: {
        /* Random printable bytes, or random bytes escaped as gdb would. */
        size_t k = below(64);
        for (size_t i = 0; i < k; i++) {
            uint8_t b = (uint8_t)(below(2) ? 0x20 + below(95) : rnd());
            if (b == '$' || b == '#' || b == '}' || b == '*') {
                p[n++] = '}';
                b ^= 0x20;
            }
            p[n++] = (char)b;
        }
        return n;
    }
    }
}

static void feed(model_t *m, const uint8_t *b, size_t n)
{
    while (n) {
        size_t k = below(3) ? n : 1 + below((uint32_t)n);
        rsp_input(&m->rsp, b, k);
        b += k;
        n -= k;
    }
}

static bool check_output(model_t *m, size_t from, unsigned *acks, unsigned *naks,
                         unsigned *packets, char *last, const char **why)
{
    static char p[RSP_PKT_MAX + 1];
    size_t pos = from;
    long n;
    *acks = *naks = *packets = 0;
    while ((n = model_next_packet(m, &pos, p, sizeof p, acks, naks)) >= 0) {
        (*packets)++;
        if (p[0] == 'E' && (n != 3 || !strchr("0123456789abcdef", p[1]) ||
                            !strchr("0123456789abcdef", p[2]))) {
            *why = "an error reply that is not Enn";
            return false;
        }
        if (p[0] != 'O')
            { memcpy(last, p, 63); last[63] = 0; }
    }
    if (n == -2) {
        *why = "malformed output";
        return false;
    }
    return true;
}

static void test_rsp_fuzz(void)
{
    const uint64_t seed = env_u64("NESTOR_FUZZ_SEED", FUZZ_SEED);
    const uint64_t iters = env_u64("NESTOR_FUZZ_ITERS", FUZZ_ITERS);
    model_t *m = malloc(sizeof *m);
    static char pkt[3 * RSP_PKT_MAX];
    static uint8_t wire[3 * RSP_PKT_MAX + 16];
    unsigned failures = 0, replies = 0, errors = 0, runs = 0;
    for (uint64_t i = 0; i < iters && failures < 5; i++) {
        seed_input(seed, i);
        if (i % SESSION_LEN == 0) {
            model_init(m);
            m->step_stops_at_once = below(2);
            m->arch = below(2) ? &rsp_i386 : NULL;
        }
        m->out_len = 0;
        bool was_running = rsp_running(&m->rsp), no_ack = m->rsp.no_ack;
        bool good = false, quiet = false;
        size_t w = 0;
        unsigned kind = below(100);
        if (kind < 70 || kind >= 95) {
            size_t n = gen_packet(pkt, sizeof pkt - 8);
            bool bad = kind >= 95;
            uint8_t sum = 0;
            wire[w++] = '$';
            for (size_t k = 0; k < n; k++) {
                wire[w++] = (uint8_t)pkt[k];
                sum += (uint8_t)pkt[k];
            }
            w += (size_t)sprintf((char *)wire + w, "#%02x", (uint8_t)(bad ? sum + 1 : sum));
            good = !bad;
            quiet = pkt[0] == 'k' || pkt[0] == 'c' || pkt[0] == 's' ||
                    (n >= 5 && memcmp(pkt, "vCont", 5) == 0 && pkt[5] != '?');
        } else if (kind < 85) {
            size_t n = below(300);
            for (size_t k = 0; k < n; k++)
                wire[w++] = below(4) ? (uint8_t)"$#}*+-\x03xg0"[below(11)] : (uint8_t)rnd();
        } else if (kind < 90) {
            wire[w++] = '$';
            size_t n = RSP_PKT_MAX + below(2 * RSP_PKT_MAX);
            for (size_t k = 0; k < n && w < sizeof wire - 4; k++)
                wire[w++] = (uint8_t)"m0123,"[below(6)];
            w += (size_t)sprintf((char *)wire + w, "#%02x", (unsigned)below(256));
        } else {
            wire[w++] = (uint8_t)"+-\x03"[below(3)];
        }
        feed(m, wire, w);
        unsigned acks, naks, packets;
        char last[64] = "";
        const char *why = NULL;
        bool ok = check_output(m, 0, &acks, &naks, &packets, last, &why);
        if (ok && m->violations) {
            why = "the backend saw a call outside the engine's promises";
            ok = false;
        }
        if (ok && good && !no_ack && acks < 1) {
            why = "a good packet was not acked";
            ok = false;
        }
        if (ok && good && !was_running && !quiet && packets == 0) {
            why = "a good packet got no reply";
            ok = false;
        }
        replies += packets;
        errors += last[0] == 'E';
        runs += rsp_running(&m->rsp);
        /* Stop a running target, one way or the other. */
        if (ok && rsp_running(&m->rsp)) {
            if (below(2)) {
                uint8_t c = RSP_INTERRUPT;
                rsp_input(&m->rsp, &c, 1);
            } else {
                rsp_stopped(&m->rsp, 1 + below(MODEL_THREADS + 2), RSP_SIGTRAP,
                            (enum rsp_stop_why)below(RSP_STOP_KILLED + 1), rnd());
            }
            if (rsp_running(&m->rsp)) {
                why = "still running after a stop";
                ok = false;
            }
        }
        if (!ok) {
            failures++;
            CU_FAIL("rsp fuzz input failed");
            fprintf(stderr, "rsp fuzz: seed 0x%" PRIx64 " input %" PRIu64 ": %s (input %.*s)\n",
                    seed, i, why, (int)(w < 200 ? w : 200), (const char *)wire);
            model_init(m);
        }
    }
    if (getenv("NESTOR_FUZZ_DEBUG"))
        printf("\n    stats: packets %" PRIu64 " bad %" PRIu64 " long %" PRIu64 " err %" PRIu64
               " unknown %" PRIu64 "\n", m->rsp.stats.packets, m->rsp.stats.bad_checksum,
               m->rsp.stats.too_long, m->rsp.stats.errors, m->rsp.stats.unknown);
    printf("\n    rsp fuzz: seed 0x%" PRIx64 ", %" PRIu64 " inputs, %u replies, %u errors last, "
           "%u resumes\n", seed, iters, replies, errors, runs);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT(replies > iters / 2);
    CU_ASSERT(runs > 0);
    free(m);
}

UNIT_SUITE(rsp_fuzz_suite)
{
    CU_pSuite s = CU_add_suite("inspector: GDB protocol fuzzer", NULL, NULL);
    CU_add_test(s, "seeded hostile packets against the model backend", test_rsp_fuzz);
}
