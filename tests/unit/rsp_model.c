/*
 * tests/unit/rsp_model.c - the model backend (rsp_model.h).
 */
#include "rsp_model.h"
#include <stdio.h>
#include <string.h>

static model_t *M(void *ctx) { return ctx; }

static void m_put(void *ctx, const uint8_t *buf, size_t n)
{
    model_t *m = M(ctx);
    if (m->out_len + n > MODEL_OUT_MAX)
        m->out_len = 0;             /* the tests read replies soon after they come */
    memcpy(m->out + m->out_len, buf, n);
    m->out_len += n;
}

static unsigned m_threads(void *ctx)
{
    (void)ctx;
    return MODEL_THREADS;
}

static bool unavailable(unsigned regno)
{
    return regno >= RSP_X86_ST0 && regno <= RSP_X86_MXCSR;
}

static bool good_tid(model_t *m, unsigned tid)
{
    if (tid >= 1 && tid <= MODEL_THREADS)
        return true;
    m->violations++;
    return false;
}

static int m_read_reg(void *ctx, unsigned tid, unsigned regno, uint8_t *buf, unsigned bytes)
{
    model_t *m = M(ctx);
    if (!good_tid(m, tid) || regno >= RSP_X86_NREGS || bytes == 0 || bytes > RSP_REG_BYTES_MAX) {
        m->violations += regno >= RSP_X86_NREGS || bytes == 0 || bytes > RSP_REG_BYTES_MAX;
        return -RSP_EINVAL;
    }
    if (unavailable(regno))
        return RSP_UNAVAILABLE;
    memcpy(buf, m->regs[tid - 1][regno], bytes);
    return 0;
}

static int m_write_reg(void *ctx, unsigned tid, unsigned regno, const uint8_t *buf,
                       unsigned bytes)
{
    model_t *m = M(ctx);
    if (!good_tid(m, tid) || regno >= RSP_X86_NREGS || bytes == 0 || bytes > RSP_REG_BYTES_MAX) {
        m->violations += regno >= RSP_X86_NREGS || bytes == 0 || bytes > RSP_REG_BYTES_MAX;
        return -RSP_EINVAL;
    }
    if (unavailable(regno))
        return -RSP_EPERM;
    memcpy(m->regs[tid - 1][regno], buf, bytes);
    return 0;
}

/* Bytes of [addr, addr+len) inside the model's memory, from the start. */
static size_t span(uint64_t addr, size_t len)
{
    if (addr < MODEL_BASE || addr >= MODEL_BASE + MODEL_MEM)
        return 0;
    uint64_t room = MODEL_BASE + MODEL_MEM - addr;
    return len < room ? len : (size_t)room;
}

static long m_read_mem(void *ctx, unsigned tid, uint64_t addr, uint8_t *buf, size_t len)
{
    model_t *m = M(ctx);
    if (!good_tid(m, tid) || len == 0 || len > RSP_MEM_MAX || addr + (len - 1) < addr) {
        m->violations++;
        return -RSP_EINVAL;
    }
    size_t n = span(addr, len);
    if (!n)
        return -RSP_EFAULT;
    memcpy(buf, m->mem + (addr - MODEL_BASE), n);
    /* Breakpoints are hidden from reads: the saved bytes show. */
    for (unsigned i = 0; i < MODEL_SW_BPS; i++)
        if (m->sw[i].used && m->sw[i].addr >= addr && m->sw[i].addr < addr + n)
            buf[m->sw[i].addr - addr] = m->sw[i].saved;
    return (long)n;
}

static long m_write_mem(void *ctx, unsigned tid, uint64_t addr, const uint8_t *buf, size_t len)
{
    model_t *m = M(ctx);
    if (!good_tid(m, tid) || len == 0 || len > RSP_PKT_MAX || addr + (len - 1) < addr) {
        m->violations++;
        return -RSP_EINVAL;
    }
    size_t n = span(addr, len);
    if (n != len)
        return -RSP_EFAULT;
    memcpy(m->mem + (addr - MODEL_BASE), buf, n);
    return (long)n;
}

static int m_resume(void *ctx, const uint8_t *acts, unsigned n)
{
    model_t *m = M(ctx);
    if (n != MODEL_THREADS || !rsp_running(&m->rsp)) {
        m->violations++;
        return -RSP_EINVAL;
    }
    memcpy(m->last_acts, acts, n);
    m->resumes++;
    for (unsigned i = 0; i < n; i++) {
        if (acts[i] > RSP_ACT_STEP)
            m->violations++;
        if (acts[i] == RSP_ACT_STEP) {
            m->steps++;
            model_set_reg(m, i + 1, RSP_X86_RIP, model_reg(m, i + 1, RSP_X86_RIP) + 1);
            if (m->step_stops_at_once)
                rsp_stopped(&m->rsp, i + 1, RSP_SIGTRAP, RSP_STOP_HWBREAK, 0);
            return 0;
        }
    }
    return 0;
}

static void m_interrupt(void *ctx)
{
    model_t *m = M(ctx);
    if (!rsp_running(&m->rsp))
        m->violations++;
    m->interrupts++;
    rsp_stopped(&m->rsp, 1, RSP_SIGINT, RSP_STOP_SIGNAL, 0);
}

static int m_breakpoint(void *ctx, bool insert, enum rsp_bp_type type, uint64_t addr,
                        unsigned kind)
{
    model_t *m = M(ctx);
    m->breakpoints++;
    if (type >= RSP_BP_TYPES || kind == 0 ||
        kind > (RSP_BP_IS_WATCH(type) ? RSP_WATCH_LEN_MAX : RSP_BP_KIND_MAX)) {
        m->violations++;
        return -RSP_EINVAL;
    }
    if (type == RSP_BP_SOFTWARE) {
        if (kind != 1)
            return -RSP_EINVAL;
        for (unsigned i = 0; i < MODEL_SW_BPS; i++)
            if (m->sw[i].used && m->sw[i].addr == addr) {
                if (insert)
                    return 0;       /* already there: inserting twice is allowed */
                m->mem[addr - MODEL_BASE] = m->sw[i].saved;
                m->sw[i].used = false;
                return 0;
            }
        if (!insert)
            return -RSP_ENOENT;
        if (!span(addr, 1))
            return -RSP_EFAULT;
        for (unsigned i = 0; i < MODEL_SW_BPS; i++)
            if (!m->sw[i].used) {
                m->sw[i].used = true;
                m->sw[i].addr = addr;
                m->sw[i].saved = m->mem[addr - MODEL_BASE];
                m->mem[addr - MODEL_BASE] = 0xCC;
                return 0;
            }
        return -RSP_ENOSPC;
    }
    if (kind != 1 && kind != 2 && kind != 4 && kind != 8)
        return -RSP_EINVAL;
    for (unsigned i = 0; i < MODEL_HW_SLOTS; i++)
        if (m->hw[i].used && m->hw[i].addr == addr && m->hw[i].type == type &&
            m->hw[i].kind == kind) {
            if (!insert)
                m->hw[i].used = false;
            return 0;
        }
    if (!insert)
        return -RSP_ENOENT;
    for (unsigned i = 0; i < MODEL_HW_SLOTS; i++)
        if (!m->hw[i].used) {
            m->hw[i].used = true;
            m->hw[i].addr = addr;
            m->hw[i].type = type;
            m->hw[i].kind = kind;
            return 0;
        }
    return -RSP_ENOSPC;
}

static int m_monitor(void *ctx, struct rsp *r, const char *cmd)
{
    model_t *m = M(ctx);
    if (strlen(cmd) > RSP_CMD_MAX)
        m->violations++;
    if (strncmp(cmd, "echo ", 5) == 0) {
        rsp_console(r, cmd + 5);
        rsp_console(r, "\n");
        return 0;
    }
    if (strcmp(cmd, "big") == 0) {
        static char big[3 * RSP_PKT_MAX];
        memset(big, 'b', sizeof big - 1);
        rsp_console(r, big);
        return 0;
    }
    return -RSP_ENOENT;
}

static void m_attach(void *ctx, struct rsp *r)
{
    model_t *m = M(ctx);
    m->attaches++;
    if (m->arch)
        rsp_set_arch(r, m->arch);
}

static void m_detach(void *ctx)
{
    model_t *m = M(ctx);
    m->detaches++;
    for (unsigned i = 0; i < MODEL_SW_BPS; i++)
        if (m->sw[i].used) {
            m->mem[m->sw[i].addr - MODEL_BASE] = m->sw[i].saved;
            m->sw[i].used = false;
        }
    memset(m->hw, 0, sizeof m->hw);
}

static const struct rsp_ops model_ops = {
    .put = m_put,
    .threads = m_threads,
    .read_reg = m_read_reg,
    .write_reg = m_write_reg,
    .read_mem = m_read_mem,
    .write_mem = m_write_mem,
    .resume = m_resume,
    .interrupt = m_interrupt,
    .breakpoint = m_breakpoint,
    .monitor = m_monitor,
    .detach = m_detach,
    .attach = m_attach,
};

void model_init(model_t *m)
{
    memset(m, 0, sizeof *m);
    for (unsigned i = 0; i < MODEL_MEM; i++)
        m->mem[i] = (uint8_t)(i * 7 + 3);
    for (unsigned t = 1; t <= MODEL_THREADS; t++)
        for (unsigned r = 0; r < RSP_X86_NREGS; r++)
            if (!unavailable(r))
                model_set_reg(m, t, r, 0x1000u * t + r);
    model_set_reg(m, 1, RSP_X86_RIP, MODEL_BASE + 0x100);
    model_set_reg(m, 2, RSP_X86_RIP, MODEL_BASE + 0x200);
    m->step_stops_at_once = true;
    rsp_init(&m->rsp, &model_ops, m);
}

void model_set_reg(model_t *m, unsigned tid, unsigned regno, uint64_t v)
{
    for (unsigned i = 0; i < rsp_x86_regs[regno].bytes && i < 8; i++)
        m->regs[tid - 1][regno][i] = (uint8_t)(v >> (8 * i));
}

uint64_t model_reg(const model_t *m, unsigned tid, unsigned regno)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < rsp_x86_regs[regno].bytes && i < 8; i++)
        v |= (uint64_t)m->regs[tid - 1][regno][i] << (8 * i);
    return v;
}

void model_send(model_t *m, const char *payload, size_t len, bool bad_sum)
{
    static uint8_t buf[3 * RSP_PKT_MAX + 16];
    uint8_t sum = 0;
    size_t o = 0;
    buf[o++] = '$';
    for (size_t i = 0; i < len && o < sizeof buf - 4; i++) {
        buf[o++] = (uint8_t)payload[i];
        sum += (uint8_t)payload[i];
    }
    if (bad_sum)
        sum ^= 0x5A;
    o += (size_t)snprintf((char *)buf + o, 4, "#%02x", sum);
    rsp_input(&m->rsp, buf, o);
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;   /* the engine writes lower case only */
}

long model_next_packet(const model_t *m, size_t *pos, char *payload, size_t cap,
                       unsigned *acks, unsigned *naks)
{
    size_t p = *pos;
    while (p < m->out_len && m->out[p] != '$') {
        if (m->out[p] == '+')
            (*acks)++;
        else if (m->out[p] == '-')
            (*naks)++;
        else
            return -2;              /* nothing else may appear between packets */
        p++;
    }
    if (p == m->out_len) {
        *pos = p;
        return -1;
    }
    p++;
    uint8_t sum = 0;
    size_t n = 0;
    while (p < m->out_len && m->out[p] != '#') {
        uint8_t b = m->out[p++];
        sum += b;
        if (b == '$' || b == '*')
            return -2;              /* unescaped framing byte */
        if (b == '}') {
            if (p == m->out_len)
                return -2;
            sum += m->out[p];
            b = m->out[p++] ^ 0x20;
        }
        if (n + 1 >= cap || n >= RSP_PKT_MAX)
            return -2;
        payload[n++] = (char)b;
    }
    if (p + 3 > m->out_len)
        return -2;
    int hi = hexv(m->out[p + 1]), lo = hexv(m->out[p + 2]);
    if (hi < 0 || lo < 0 || (uint8_t)(hi << 4 | lo) != sum)
        return -2;
    payload[n] = 0;
    *pos = p + 3;
    return (long)n;
}

const char *model_ask(model_t *m, const char *payload)
{
    static char reply[RSP_PKT_MAX + 1];
    m->out_len = 0;
    model_send(m, payload, strlen(payload), false);
    size_t pos = 0;
    unsigned acks = 0, naks = 0;
    long n;
    reply[0] = 0;
    bool any = false;
    while ((n = model_next_packet(m, &pos, reply, sizeof reply, &acks, &naks)) >= 0)
        any = true;
    if (n == -2)
        return "<malformed>";
    return any ? reply : "<none>";
}
