/*
 * tests/unit/test_rsp.c - the GDB remote protocol engine (inspector/rsp.c)
 * against the model backend (rsp_model.c): framing, acks and no-ack mode,
 * queries, the target description, registers, memory, run control,
 * breakpoints, monitor commands, threads, and refusals of bad packets.
 */
#include "unit.h"
#include "rsp_model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static model_t *m;

static void fresh(void)
{
    if (!m)
        m = malloc(sizeof *m);
    model_init(m);
}

/* The next packet the engine sent, from *@pos on ("<none>" if none). */
static const char *next_reply(size_t *pos)
{
    static char p[RSP_PKT_MAX + 1];
    unsigned acks = 0, naks = 0;
    long n = model_next_packet(m, pos, p, sizeof p, &acks, &naks);
    return n >= 0 ? p : n == -1 ? "<none>" : "<malformed>";
}

#define ASK_EQ(pkt, want) CU_ASSERT_STRING_EQUAL(model_ask(m, pkt), want)

static void test_framing_acks(void)
{
    fresh();
    model_send(m, "?", 1, false);
    CU_ASSERT_EQUAL(m->out[0], '+');
    size_t pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "T05thread:1;");
    /* A bad checksum: '-' and nothing done. */
    m->out_len = 0;
    model_send(m, "g", 1, true);
    CU_ASSERT_EQUAL(m->out_len, 1);
    CU_ASSERT_EQUAL(m->out[0], '-');
    CU_ASSERT_EQUAL(m->rsp.stats.bad_checksum, 1);
    /* '-' from gdb: the last packet again. */
    ASK_EQ("qC", "QC1");
    m->out_len = 0;
    rsp_input(&m->rsp, (const uint8_t *)"-", 1);
    CU_ASSERT_STRING_EQUAL(model_ask(m, "qC"), "QC1");
    /* A non-hex checksum is a bad packet; the next one is fine. */
    m->out_len = 0;
    rsp_input(&m->rsp, (const uint8_t *)"$qC#zz$qC#b4", 12);
    CU_ASSERT_EQUAL(m->out[0], '-');
    /* Noise between packets is ignored; a '$' inside restarts. */
    rsp_input(&m->rsp, (const uint8_t *)"junk+", 5);
    ASK_EQ("qC", "QC1");
    m->out_len = 0;
    rsp_input(&m->rsp, (const uint8_t *)"$qXfer$qC#b4", 12);
    pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "QC1");
    /* Byte by byte is the same. */
    m->out_len = 0;
    const char *s = "$qC#b4";
    for (size_t i = 0; i < strlen(s); i++)
        rsp_input(&m->rsp, (const uint8_t *)s + i, 1);
    pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "QC1");
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_no_ack(void)
{
    fresh();
    ASK_EQ("QStartNoAckMode", "OK");
    CU_ASSERT_EQUAL(m->out[0], '+');       /* that packet itself is acked */
    m->out_len = 0;
    model_send(m, "qC", 2, false);
    CU_ASSERT_EQUAL(m->out[0], '$');
    m->out_len = 0;
    model_send(m, "qC", 2, true);          /* dropped, no '-' */
    CU_ASSERT_EQUAL(m->out_len, 0);
    rsp_input(&m->rsp, (const uint8_t *)"-", 1);   /* no resend either */
    CU_ASSERT_EQUAL(m->out_len, 0);
}

static void test_supported(void)
{
    fresh();
    const char *r = model_ask(m, "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;"
                                 "fork-events+;vfork-events+;exec-events+;vContSupported+");
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "PacketSize=1000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "qXfer:features:read+"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "QStartNoAckMode+"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "swbreak+"));
    CU_ASSERT_PTR_NULL(strstr(r, "multiprocess"));
    r = model_ask(m, "qSupported");
    CU_ASSERT_PTR_NULL(strstr(r, "swbreak"));
    ASK_EQ("vMustReplyEmpty", "");
    ASK_EQ("qAttached", "1");
    ASK_EQ("qSymbol::", "OK");
    ASK_EQ("vCont?", "vCont;c;C;s;S;t");
}

static void test_target_xml(void)
{
    fresh();
    size_t total;
    const char *xml = rsp_arch_xml(&rsp_x86_64, &total);
    CU_ASSERT_EQUAL(strlen(xml), total);
    /* Read it as gdb does, in pieces, and compare. */
    char *got = calloc(1, total + 1), q[64];
    size_t off = 0;
    for (;;) {
        snprintf(q, sizeof q, "qXfer:features:read:target.xml:%zx,%x", off, 0x3e0);
        const char *r = model_ask(m, q);
        CU_ASSERT(r[0] == 'm' || r[0] == 'l');
        size_t n = strlen(r + 1);
        CU_ASSERT_FATAL(off + n <= total);
        memcpy(got + off, r + 1, n);
        off += n;
        if (r[0] == 'l')
            break;
    }
    CU_ASSERT_EQUAL(off, total);
    CU_ASSERT_STRING_EQUAL(got, xml);
    free(got);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<architecture>i386:x86-64</architecture>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<feature name=\"org.gnu.gdb.i386.core\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<feature name=\"org.gnu.gdb.i386.sse\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"rax\" bitsize=\"64\" regnum=\"0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"rip\" bitsize=\"64\" regnum=\"16\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"eflags\" bitsize=\"32\" regnum=\"17\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"st0\" bitsize=\"80\" regnum=\"24\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"xmm0\" bitsize=\"128\" regnum=\"40\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"fs_base\" bitsize=\"64\" regnum=\"57\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"cr3\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"efer\""));
    CU_ASSERT_PTR_NULL(strchr(xml, '$'));
    /* Past the end, another annex, malformed. */
    snprintf(q, sizeof q, "qXfer:features:read:target.xml:%zx,10", total);
    ASK_EQ(q, "l");
    snprintf(q, sizeof q, "qXfer:features:read:target.xml:%zx,10", total + 1);
    ASK_EQ(q, "E16");
    ASK_EQ("qXfer:features:read:other.xml:0,10", "E02");
    ASK_EQ("qXfer:features:read:target.xml:0", "E16");
    /* A huge length is cut to what one packet carries (escapes counted). */
    const char *r = model_ask(m, "qXfer:features:read:target.xml:0,ffffffffffffffff");
    CU_ASSERT_EQUAL(r[0], 'm');
    CU_ASSERT_EQUAL(strlen(r), 1 + (RSP_PKT_MAX - 1) / 2);
    CU_ASSERT_NSTRING_EQUAL(r + 1, xml, (RSP_PKT_MAX - 1) / 2);
}

static void hex64(char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        sprintf(out + 2 * i, "%02x", (unsigned)(v >> (8 * i)) & 0xFF);
}

static void test_registers(void)
{
    fresh();
    const char *r = model_ask(m, "g");
    CU_ASSERT_EQUAL(strlen(r), 2 * rsp_arch_bytes(&rsp_x86_64));
    char want[17];
    hex64(want, model_reg(m, 1, RSP_X86_RAX));
    CU_ASSERT_NSTRING_EQUAL(r, want, 16);
    /* x87 registers are not available: 'x' for each digit. */
    size_t st0 = 0;
    for (unsigned i = 0; i < RSP_X86_ST0; i++)
        st0 += 2 * rsp_x86_regs[i].bytes;
    CU_ASSERT_NSTRING_EQUAL(r + st0, "xxxxxxxxxxxxxxxxxxxx", 20);
    /* G: every register back, changed RBX; 'x' ones skipped. */
    char *g = strdup(r);
    memcpy(g + 16, "efbeadde00000000", 16);
    char *pk = malloc(strlen(g) + 2);
    sprintf(pk, "G%s", g);
    ASK_EQ(pk, "OK");
    CU_ASSERT_EQUAL(model_reg(m, 1, RSP_X86_RBX), 0xdeadbeef);
    /* A short or non-hex G changes nothing. */
    pk[strlen(pk) - 2] = 0;
    memcpy(pk + 1 + 16, "0100000000000000", 16);
    ASK_EQ(pk, "E16");
    CU_ASSERT_EQUAL(model_reg(m, 1, RSP_X86_RBX), 0xdeadbeef);
    free(g);
    free(pk);
    /* p/P */
    hex64(want, model_reg(m, 1, RSP_X86_RIP));
    ASK_EQ("p10", want);
    ASK_EQ("P10=0010100000000000", "OK");
    CU_ASSERT_EQUAL(model_reg(m, 1, RSP_X86_RIP), 0x101000);
    ASK_EQ("p11", "11100000");                     /* eflags: 4 bytes */
    ASK_EQ("p18", "xxxxxxxxxxxxxxxxxxxx");         /* st0 */
    char q[16];
    snprintf(q, sizeof q, "p%x", RSP_X86_NREGS);
    ASK_EQ(q, "E16");
    ASK_EQ("p", "E16");
    ASK_EQ("pffffffffffffffffff", "E16");
    ASK_EQ("P10=0010", "E16");
    ASK_EQ("P10=001010000000000000", "E16");
    ASK_EQ("P10=zz10100000000000", "E16");
    ASK_EQ("P18=00000000000000000000", "E01");    /* the backend refuses st0 */
    ASK_EQ("g1", "");                              /* unknown form */
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_memory(void)
{
    fresh();
    char q[128];
    snprintf(q, sizeof q, "m%llx,4", MODEL_BASE + 1);
    ASK_EQ(q, "0a11181f");
    snprintf(q, sizeof q, "M%llx,3:aabbcc", MODEL_BASE + 1);
    ASK_EQ(q, "OK");
    snprintf(q, sizeof q, "m%llx,4", MODEL_BASE);
    ASK_EQ(q, "03aabbcc");
    /* X: binary, escaped on the wire (} then byte ^ 0x20). */
    snprintf(q, sizeof q, "X%llx,3:a}\x03}\x04", MODEL_BASE);
    ASK_EQ(q, "OK");
    CU_ASSERT_EQUAL(m->mem[0], 'a');
    CU_ASSERT_EQUAL(m->mem[1], '#');
    CU_ASSERT_EQUAL(m->mem[2], '$');
    snprintf(q, sizeof q, "X%llx,0:", MODEL_BASE);
    ASK_EQ(q, "OK");
    /* Outside memory, partly outside, huge lengths, wrapping. */
    ASK_EQ("m0,4", "E0e");
    snprintf(q, sizeof q, "m%llx,8", MODEL_BASE + MODEL_MEM - 2);
    CU_ASSERT_EQUAL(strlen(model_ask(m, q)), 4);
    snprintf(q, sizeof q, "m%llx,ffffffffffffffff", MODEL_BASE);
    CU_ASSERT_EQUAL(strlen(model_ask(m, q)), 2 * RSP_MEM_MAX);
    ASK_EQ("mffffffffffffffff,10", "E0e");
    ASK_EQ("m10000000000000000,1", "E16");
    ASK_EQ("m100000", "E16");
    ASK_EQ("m100000,", "E16");
    ASK_EQ("m100000,1,", "E16");
    snprintf(q, sizeof q, "M%llx,3:aabb", MODEL_BASE);
    ASK_EQ(q, "E16");
    snprintf(q, sizeof q, "M%llx,2:aaqq", MODEL_BASE);
    ASK_EQ(q, "E16");
    snprintf(q, sizeof q, "M%llx,2:aabb", MODEL_BASE + MODEL_MEM - 1);
    ASK_EQ(q, "E0e");
    snprintf(q, sizeof q, "Mfffffffffffffff0,ffffffff:00");
    ASK_EQ(q, "E16");
    snprintf(q, sizeof q, "X%llx,5:ab", MODEL_BASE);
    ASK_EQ(q, "E16");
    ASK_EQ("m0,0", "");
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_run_control(void)
{
    fresh();
    /* c: no reply until the stop. */
    m->out_len = 0;
    model_send(m, "c", 1, false);
    CU_ASSERT_EQUAL(m->out_len, 1);                /* just the ack */
    CU_ASSERT(rsp_running(&m->rsp));
    CU_ASSERT_EQUAL(m->last_acts[0], RSP_ACT_CONTINUE);
    CU_ASSERT_EQUAL(m->last_acts[1], RSP_ACT_CONTINUE);
    /* Anything but Ctrl-C while running is refused. */
    ASK_EQ("g", "E10");
    /* Ctrl-C: the backend stops, the stop reply is SIGINT. */
    m->out_len = 0;
    rsp_input(&m->rsp, (const uint8_t *)"\x03", 1);
    CU_ASSERT_EQUAL(m->interrupts, 1);
    CU_ASSERT_FALSE(rsp_running(&m->rsp));
    size_t pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "T02thread:1;");
    /* Ctrl-C while stopped does nothing. */
    m->out_len = 0;
    rsp_input(&m->rsp, (const uint8_t *)"\x03", 1);
    CU_ASSERT_EQUAL(m->out_len, 0);
    CU_ASSERT_EQUAL(m->interrupts, 1);
    /* A breakpoint stop with swbreak negotiated. */
    model_ask(m, "qSupported:swbreak+;hwbreak+");
    model_ask(m, "c");
    m->out_len = 0;
    rsp_stopped(&m->rsp, 2, RSP_SIGTRAP, RSP_STOP_SWBREAK, 0);
    pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "T05thread:2;swbreak:;");
    ASK_EQ("?", "T05thread:2;swbreak:;");
    ASK_EQ("qC", "QC2");                           /* the stopped thread is current */
    /* A stop report nobody waits for is only recorded. */
    m->out_len = 0;
    rsp_stopped(&m->rsp, 1, RSP_SIGTRAP, RSP_STOP_WATCH, 0x1234);
    CU_ASSERT_EQUAL(m->out_len, 0);
    ASK_EQ("?", "T05thread:1;watch:1234;");
    /* s steps the current thread only; the model stops at once. */
    uint64_t rip = model_reg(m, 1, RSP_X86_RIP);
    ASK_EQ("s", "T05thread:1;hwbreak:;");
    CU_ASSERT_EQUAL(model_reg(m, 1, RSP_X86_RIP), rip + 1);
    CU_ASSERT_EQUAL(m->last_acts[1], RSP_ACT_STOP);
    /* s ADDR and c ADDR set RIP first. */
    ASK_EQ("s101000", "T05thread:1;hwbreak:;");
    CU_ASSERT_EQUAL(model_reg(m, 1, RSP_X86_RIP), 0x101001);
    ASK_EQ("sxyz", "E16");
    /* Hc 2 then s: thread 2 steps. */
    ASK_EQ("Hc2", "OK");
    ASK_EQ("s", "T05thread:2;hwbreak:;");
    CU_ASSERT_EQUAL(m->last_acts[0], RSP_ACT_STOP);
    CU_ASSERT_EQUAL(m->last_acts[1], RSP_ACT_STEP);
    /* vCont: leftmost action wins per thread. */
    ASK_EQ("vCont;s:1;c", "T05thread:1;hwbreak:;");
    CU_ASSERT_EQUAL(m->last_acts[0], RSP_ACT_STEP);
    CU_ASSERT_EQUAL(m->last_acts[1], RSP_ACT_CONTINUE);
    ASK_EQ("vCont;C05:2;t", "<none>");             /* running, waits */
    CU_ASSERT_EQUAL(m->last_acts[0], RSP_ACT_STOP);
    CU_ASSERT_EQUAL(m->last_acts[1], RSP_ACT_CONTINUE);
    rsp_stopped(&m->rsp, 2, RSP_SIGTRAP, RSP_STOP_SIGNAL, 0);
    ASK_EQ("vCont;s:3", "E02");
    ASK_EQ("vCont;s:0", "E16");
    ASK_EQ("vCont;q", "E16");
    ASK_EQ("vCont;C:1", "E16");
    ASK_EQ("vCont;t", "E16");                      /* nothing would run */
    ASK_EQ("vCont", "E16");
    ASK_EQ("vCont;c:1x", "E16");
    /* The VM ended: W. */
    model_ask(m, "vCont;c");
    m->out_len = 0;
    rsp_stopped(&m->rsp, 1, 0, RSP_STOP_EXITED, 0);
    pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "W00");
    /* ... with a status, and stopped by its VMM: X with the signal. */
    model_ask(m, "vCont;c");
    m->out_len = 0;
    rsp_stopped(&m->rsp, 1, 0x101, RSP_STOP_EXITED, 0);     /* the low byte, as gdb takes it */
    pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "W01");
    model_ask(m, "vCont;c");
    m->out_len = 0;
    rsp_stopped(&m->rsp, 1, RSP_SIGKILL, RSP_STOP_KILLED, 0);
    pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "X09");
    /* Not running (gdb holds a stop): no reply goes out. */
    m->out_len = 0;
    rsp_stopped(&m->rsp, 1, 0, RSP_STOP_EXITED, 0);
    CU_ASSERT_EQUAL(m->out_len, 0);
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_breakpoints(void)
{
    fresh();
    char q[64];
    snprintf(q, sizeof q, "Z0,%llx,1", MODEL_BASE + 0x10);
    ASK_EQ(q, "OK");
    CU_ASSERT_EQUAL(m->mem[0x10], 0xCC);
    snprintf(q, sizeof q, "m%llx,1", MODEL_BASE + 0x10);
    ASK_EQ(q, "73");                               /* hidden: 0x10 * 7 + 3 */
    snprintf(q, sizeof q, "z0,%llx,1", MODEL_BASE + 0x10);
    ASK_EQ(q, "OK");
    CU_ASSERT_EQUAL(m->mem[0x10], 0x73);
    ASK_EQ(q, "E02");                              /* not there */
    ASK_EQ("Z0,0,1", "E0e");                       /* not memory */
    ASK_EQ("Z2,100000,4", "OK");
    ASK_EQ("Z3,100000,4", "OK");
    ASK_EQ("Z4,100000,8", "OK");
    ASK_EQ("Z1,100000,1", "OK");
    ASK_EQ("Z2,100008,4", "E1c");                  /* four slots */
    ASK_EQ("Z2,100000,3", "E16");
    ASK_EQ("z2,100000,4", "OK");
    ASK_EQ("Z5,100000,1", "");                     /* unknown type */
    ASK_EQ("Z0,100000,0", "E16");
    ASK_EQ("Z0,100000,9", "E16");
    ASK_EQ("Z1,100000,9", "E16");
    /* A watchpoint may be longer (the backend decides: the model's debug
     * registers take 1, 2, 4 or 8 bytes), up to RSP_WATCH_LEN_MAX. */
    unsigned calls = m->breakpoints;
    ASK_EQ("Z3,100000,10", "E16");
    ASK_EQ("Z4,100000,1000", "E16");
    CU_ASSERT_EQUAL(m->breakpoints, calls + 2);    /* the backend's refusals */
    ASK_EQ("Z2,100000,1001", "E16");
    ASK_EQ("Z3,100000,ffffffffffffffff", "E16");
    ASK_EQ("Z1,100000,10", "E16");
    CU_ASSERT_EQUAL(m->breakpoints, calls + 2);    /* the engine's */
    ASK_EQ("Z0,100000", "E16");
    ASK_EQ("Z0,100000,1;X2,0a", "E16");            /* no conditions offered */
    ASK_EQ("Z", "E16");
    snprintf(q, sizeof q, "Z0,%llx,1", MODEL_BASE + 0x20);
    ASK_EQ(q, "OK");
    ASK_EQ("D", "OK");
    CU_ASSERT_EQUAL(m->detaches, 1);
    CU_ASSERT_EQUAL(m->mem[0x20], (uint8_t)(0x20 * 7 + 3));
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_monitor(void)
{
    fresh();
    m->out_len = 0;
    const char *cmd = "qRcmd,6563686f206869";  /* "echo hi" */
    model_send(m, cmd, strlen(cmd), false);
    size_t pos = 0;
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "O6869");
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "O0a");
    CU_ASSERT_STRING_EQUAL(next_reply(&pos), "OK");
    ASK_EQ("qRcmd,6e6f7065", "E02");               /* "nope" */
    ASK_EQ("qRcmd,6", "E16");
    ASK_EQ("qRcmd,zz", "E16");
    ASK_EQ("qRcmd,6500", "E16");                   /* a NUL inside */
    /* Longer than a command may be. */
    char big[2 * RSP_CMD_MAX + 16] = "qRcmd,";
    for (unsigned i = 0; i <= RSP_CMD_MAX; i++)
        strcat(big, "61");
    ASK_EQ(big, "E16");
    /* Console output longer than a packet is split. */
    ASK_EQ("qRcmd,626967", "OK");                  /* "big" */
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_threads(void)
{
    fresh();
    ASK_EQ("qfThreadInfo", "m1,2");
    ASK_EQ("qsThreadInfo", "l");
    ASK_EQ("qThreadExtraInfo,2", "764350552031");  /* "vCPU 1" */
    ASK_EQ("qThreadExtraInfo,3", "E02");
    ASK_EQ("T1", "OK");
    ASK_EQ("T2", "OK");
    ASK_EQ("T3", "E02");
    ASK_EQ("T0", "E02");
    ASK_EQ("Hg2", "OK");
    char want[17];
    hex64(want, model_reg(m, 2, RSP_X86_RIP));
    ASK_EQ("p10", want);
    ASK_EQ("Hg0", "OK");
    ASK_EQ("Hg-1", "OK");
    ASK_EQ("Hg3", "E02");
    ASK_EQ("Hg41", "E16");
    ASK_EQ("Hx1", "E16");
    ASK_EQ("H", "E16");
    CU_ASSERT_EQUAL(m->violations, 0);
}

static void test_bad_packets(void)
{
    fresh();
    ASK_EQ("", "");
    ASK_EQ("!", "");
    ASK_EQ("qFoo", "");
    ASK_EQ("vFile:open:6a", "");
    /* Too long: an error, and the next packet is fine. */
    char *big = malloc(RSP_PKT_MAX + 100);
    memset(big, 'm', RSP_PKT_MAX + 99);
    big[RSP_PKT_MAX + 99] = 0;
    ASK_EQ(big, "E1c");
    free(big);
    CU_ASSERT_EQUAL(m->rsp.stats.too_long, 1);
    ASK_EQ("qC", "QC1");
    /* A packet ending in a lone escape. */
    ASK_EQ("X100000,1:}", "E16");
    ASK_EQ("k", "<none>");
    CU_ASSERT_EQUAL(m->detaches, 1);
    ASK_EQ("vKill;1", "OK");
    CU_ASSERT_EQUAL(m->violations, 0);
}

/* A session whose backend chooses the i386 set at attach (a guest outside
 * IA-32e mode): gdb's 32-bit order, 4-byte general registers that show
 * and change the low half, a 32-bit resume address. */
static void test_i386(void)
{
    fresh();
    m->arch = &rsp_i386;
    ASK_EQ("qC", "QC1");
    CU_ASSERT_EQUAL(m->attaches, 1);
    CU_ASSERT_PTR_EQUAL(m->rsp.arch, &rsp_i386);
    size_t total;
    const char *xml = rsp_arch_xml(&rsp_i386, &total);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<architecture>i386</architecture>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"eax\" bitsize=\"32\" regnum=\"0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"ecx\" bitsize=\"32\" regnum=\"1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"esp\" bitsize=\"32\" regnum=\"4\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"eip\" bitsize=\"32\" regnum=\"8\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"st0\" bitsize=\"80\" regnum=\"16\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<reg name=\"xmm7\" bitsize=\"128\" regnum=\"39\""));
    CU_ASSERT_PTR_NULL(strstr(xml, "xmm8"));
    CU_ASSERT_PTR_NULL(strstr(xml, "rax"));
    CU_ASSERT_EQUAL(strlen(model_ask(m, "g")), 2 * rsp_arch_bytes(&rsp_i386));
    model_set_reg(m, 1, RSP_X86_RCX, 0x1122334455667788ull);
    ASK_EQ("p1", "88776655");                      /* ecx: the low half */
    ASK_EQ("P1=01000000", "OK");
    CU_ASSERT_EQUAL(model_reg(m, 1, RSP_X86_RCX), 0x1122334400000001ull);
    ASK_EQ("p8", "00011000");                      /* eip */
    ASK_EQ("c100000000", "E16");                   /* beyond 32 bits */
    ASK_EQ("p34", "E16");                          /* 52 registers */
    ASK_EQ("D", "OK");
    m->arch = NULL;
    ASK_EQ("qC", "QC1");
    CU_ASSERT_EQUAL(m->attaches, 2);               /* a new session chooses again */
    CU_ASSERT_EQUAL(m->violations, 0);
}

UNIT_SUITE(rsp_suite)
{
    CU_pSuite s = CU_add_suite("inspector: GDB remote protocol", NULL, NULL);
    CU_add_test(s, "framing, acks, resends, checksums", test_framing_acks);
    CU_add_test(s, "no-ack mode", test_no_ack);
    CU_add_test(s, "qSupported and small queries", test_supported);
    CU_add_test(s, "target description (qXfer:features:read)", test_target_xml);
    CU_add_test(s, "registers: g G p P", test_registers);
    CU_add_test(s, "memory: m M X", test_memory);
    CU_add_test(s, "run control: c s vCont Ctrl-C stop replies", test_run_control);
    CU_add_test(s, "breakpoints and watchpoints: Z z D", test_breakpoints);
    CU_add_test(s, "monitor commands (qRcmd)", test_monitor);
    CU_add_test(s, "threads: qfThreadInfo H T qThreadExtraInfo", test_threads);
    CU_add_test(s, "bad and unknown packets", test_bad_packets);
    CU_add_test(s, "the i386 register set for a guest outside IA-32e mode", test_i386);
}
