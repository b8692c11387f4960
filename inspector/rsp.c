/*
 * inspector/rsp.c - the GDB remote serial protocol engine (rsp.h).
 * Section numbers are the GDB manual's appendix E ("Remote Serial
 * Protocol") and G ("Target Descriptions").
 */
#include "rsp.h"
#include "rsp_x86.h"
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- a cursor over a received packet ---- */

typedef struct {
    const uint8_t *p, *end;
} cur_t;

static bool cur_eat(cur_t *c, char ch)
{
    if (c->p < c->end && *c->p == (uint8_t)ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool cur_prefix(cur_t *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, s, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

static bool cur_done(const cur_t *c) { return c->p == c->end; }

/* A hex number of 1..16 digits (no more: a longer one cannot be an
 * address of ours, and must not wrap). */
static bool cur_hex(cur_t *c, uint64_t *v)
{
    uint64_t x = 0;
    unsigned n = 0;
    int d;
    while (c->p < c->end && (d = hexval(*c->p)) >= 0) {
        if (++n > 16)
            return false;
        x = x << 4 | (uint64_t)d;
        c->p++;
    }
    *v = x;
    return n > 0;
}

/* A thread id as in Hg/T/vCont (E.2 "thread-id"): hex, or -1 for all.
 * Multiprocess "pP.T" forms are not offered (we do not say multiprocess+). */
static bool cur_tid(cur_t *c, unsigned *tid)
{
    uint64_t v;
    if (cur_prefix(c, "-1")) {
        *tid = RSP_ALL_THREADS;
        return true;
    }
    if (!cur_hex(c, &v) || v > RSP_MAX_THREADS)
        return false;
    *tid = (unsigned)v;
    return true;
}

/* ---- building replies ---- */

static void reply_reset(struct rsp *r)
{
    r->reply_len = 0;
    r->reply_overflow = false;
}

static void reply_byte(struct rsp *r, char c)
{
    if (r->reply_len < RSP_PKT_MAX)
        r->reply[r->reply_len++] = c;
    else
        r->reply_overflow = true;
}

static void reply_str(struct rsp *r, const char *s)
{
    while (*s)
        reply_byte(r, *s++);
}

static void reply_hex8(struct rsp *r, uint8_t b)
{
    reply_byte(r, hexdigits[b >> 4]);
    reply_byte(r, hexdigits[b & 15]);
}

static void reply_hexnum(struct rsp *r, uint64_t v)
{
    char buf[17];
    int n = 0;
    do {
        buf[n++] = hexdigits[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        reply_byte(r, buf[--n]);
}

static void reply_hexbytes(struct rsp *r, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        reply_hex8(r, b[i]);
}

/* Frame @payload into $...#cs (escaping the bytes E.1 reserves) and send
 * it; kept for a resend on '-'. A payload that would not fit is cut: the
 * engine never builds one (replies are bounded by RSP_PKT_MAX). */
static void send_packet(struct rsp *r, const char *payload, size_t n)
{
    uint8_t sum = 0;
    size_t o = 0;
    r->out[o++] = RSP_START;
    for (size_t i = 0; i < n && o + 5 <= sizeof r->out; i++) {
        uint8_t b = (uint8_t)payload[i];
        if (b == RSP_START || b == RSP_END || b == RSP_ESCAPE || b == RSP_RLE) {
            r->out[o++] = RSP_ESCAPE;
            sum += RSP_ESCAPE;
            b ^= RSP_ESCAPE_XOR;
        }
        r->out[o++] = b;
        sum += b;
    }
    r->out[o++] = RSP_END;
    r->out[o++] = (uint8_t)hexdigits[sum >> 4];
    r->out[o++] = (uint8_t)hexdigits[sum & 15];
    r->out_len = o;
    r->ops->put(r->ctx, r->out, o);
}

static void send_reply(struct rsp *r)
{
    send_packet(r, r->reply, r->reply_len);
}

static void send_str(struct rsp *r, const char *s)
{
    send_packet(r, s, strlen(s));
}

static void send_error(struct rsp *r, unsigned e)
{
    char b[4] = { 'E', hexdigits[(e >> 4) & 15], hexdigits[e & 15], 0 };
    r->stats.errors++;
    send_str(r, b);
}

/* A backend result: 0 -> OK, -e -> E e. */
static void send_result(struct rsp *r, int rc)
{
    if (rc == 0)
        send_str(r, "OK");
    else
        send_error(r, rc < 0 && -rc < 256 ? (unsigned)-rc : RSP_EIO);
}

/* ---- threads ---- */

static unsigned n_threads(struct rsp *r)
{
    unsigned n = r->ops->threads(r->ctx);
    return n > RSP_MAX_THREADS ? RSP_MAX_THREADS : n;
}

static bool tid_alive(struct rsp *r, unsigned tid)
{
    return tid >= 1 && tid <= n_threads(r);
}

/* The thread a g/m/... packet means: Hg's, the stopped one for "any"/"all". */
static unsigned g_thread(struct rsp *r)
{
    return tid_alive(r, r->g_tid) ? r->g_tid : r->stop_tid;
}

/* ---- stop replies (E.3) ---- */

static void build_stop(struct rsp *r)
{
    reply_reset(r);
    /* E.3: "W AA" the process exited with status AA, "X AA" it was
     * terminated by signal AA. */
    if (r->stop_why == RSP_STOP_EXITED || r->stop_why == RSP_STOP_KILLED) {
        reply_byte(r, r->stop_why == RSP_STOP_EXITED ? 'W' : 'X');
        reply_hex8(r, (uint8_t)r->stop_sig);
        return;
    }
    reply_byte(r, 'T');
    reply_hex8(r, (uint8_t)r->stop_sig);
    reply_str(r, "thread:");
    reply_hexnum(r, r->stop_tid);
    reply_byte(r, ';');
    switch (r->stop_why) {
    case RSP_STOP_SWBREAK:
        if (r->swbreak_ok)
            reply_str(r, "swbreak:;");
        break;
    case RSP_STOP_HWBREAK:
        if (r->hwbreak_ok)
            reply_str(r, "hwbreak:;");
        break;
    case RSP_STOP_WATCH:
    case RSP_STOP_RWATCH:
    case RSP_STOP_AWATCH:
        reply_str(r, r->stop_why == RSP_STOP_WATCH    ? "watch:"
                     : r->stop_why == RSP_STOP_RWATCH ? "rwatch:"
                                                      : "awatch:");
        reply_hexnum(r, r->stop_addr);
        reply_byte(r, ';');
        break;
    default:
        break;
    }
}

void rsp_stopped(struct rsp *r, unsigned tid, unsigned sig, enum rsp_stop_why why,
                 uint64_t addr)
{
    r->stop_tid = tid_alive(r, tid) ? tid : 1;
    r->stop_sig = sig & 0xFF;
    r->stop_why = why;
    r->stop_addr = addr;
    /* gdb's "current thread" follows the stop (E.3: the T reply's thread). */
    r->g_tid = r->stop_tid;
    if (r->running) {
        r->running = false;
        build_stop(r);
        send_reply(r);
    }
}

void rsp_console(struct rsp *r, const char *text)
{
    /* E.3 "O XX...": console output; split to fit a packet. */
    size_t n = strlen(text), chunk = (RSP_PKT_MAX - 1) / 2;
    while (n) {
        size_t k = n < chunk ? n : chunk;
        reply_reset(r);
        reply_byte(r, 'O');
        reply_hexbytes(r, (const uint8_t *)text, k);
        send_reply(r);
        text += k;
        n -= k;
    }
}

/* ---- registers ---- */

static void put_reg_value(struct rsp *r, unsigned tid, unsigned regno)
{
    uint8_t buf[RSP_REG_BYTES_MAX];
    const rsp_x86_reg_t *reg = &r->arch->regs[regno];
    unsigned bytes = reg->bytes;
    memset(buf, 0, sizeof buf);
    int rc = r->ops->read_reg(r->ctx, tid, reg->id, buf, bytes);
    if (rc == 0) {
        reply_hexbytes(r, buf, bytes);
    } else {
        /* E.2 "g": 'xx' for each byte of a register not available. */
        for (unsigned i = 0; i < 2 * bytes; i++)
            reply_byte(r, 'x');
    }
}

static void cmd_read_regs(struct rsp *r)
{
    unsigned tid = g_thread(r);
    reply_reset(r);
    for (unsigned i = 0; i < r->arch->n; i++)
        put_reg_value(r, tid, i);
    send_reply(r);
}

/* @n hex digits of the register at @c into @buf; false if malformed. An
 * all-'x' value (unavailable) sets *skip. */
static bool parse_reg_value(cur_t *c, uint8_t *buf, unsigned bytes, bool *skip)
{
    *skip = false;
    if ((size_t)(c->end - c->p) < 2u * bytes)
        return false;
    if (c->p[0] == 'x') {
        for (unsigned i = 0; i < 2 * bytes; i++)
            if (c->p[i] != 'x')
                return false;
        c->p += 2 * bytes;
        *skip = true;
        return true;
    }
    for (unsigned i = 0; i < bytes; i++) {
        int hi = hexval(c->p[2 * i]), lo = hexval(c->p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    c->p += 2 * bytes;
    return true;
}

static void cmd_write_regs(struct rsp *r, cur_t *c)
{
    unsigned tid = g_thread(r);
    uint8_t buf[RSP_REG_BYTES_MAX];
    bool skip;
    /* Check the whole packet before writing anything. */
    cur_t check = *c;
    const rsp_x86_reg_t *regs = r->arch->regs;
    for (unsigned i = 0; i < r->arch->n; i++)
        if (!parse_reg_value(&check, buf, regs[i].bytes, &skip)) {
            send_error(r, RSP_EINVAL);
            return;
        }
    if (!cur_done(&check)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    int rc = 0;
    for (unsigned i = 0; i < r->arch->n; i++) {
        parse_reg_value(c, buf, regs[i].bytes, &skip);
        if (!skip) {
            int e = r->ops->write_reg(r->ctx, tid, regs[i].id, buf, regs[i].bytes);
            /* Registers the backend cannot write (x87, SSE) are skipped as
             * gdb itself sends them back unchanged; other errors count. */
            if (e < 0 && !rc)
                rc = e;
        }
    }
    send_result(r, rc);
}

static void cmd_read_reg(struct rsp *r, cur_t *c)
{
    uint64_t n;
    if (!cur_hex(c, &n) || !cur_done(c) || n >= r->arch->n) {
        send_error(r, RSP_EINVAL);
        return;
    }
    reply_reset(r);
    put_reg_value(r, g_thread(r), (unsigned)n);
    send_reply(r);
}

static void cmd_write_reg(struct rsp *r, cur_t *c)
{
    uint64_t n;
    uint8_t buf[RSP_REG_BYTES_MAX];
    bool skip;
    if (!cur_hex(c, &n) || n >= r->arch->n || !cur_eat(c, '=') ||
        !parse_reg_value(c, buf, r->arch->regs[n].bytes, &skip) || !cur_done(c)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    const rsp_x86_reg_t *reg = &r->arch->regs[n];
    send_result(r, skip ? 0 : r->ops->write_reg(r->ctx, g_thread(r), reg->id, buf, reg->bytes));
}

/* ---- memory ---- */

/* "addr,length" with the length bounded by what one reply carries. */
static bool parse_addr_len(cur_t *c, uint64_t *addr, uint64_t *len)
{
    return cur_hex(c, addr) && cur_eat(c, ',') && cur_hex(c, len);
}

static void cmd_read_mem(struct rsp *r, cur_t *c)
{
    uint64_t addr, len;
    uint8_t buf[RSP_MEM_MAX];
    if (!parse_addr_len(c, &addr, &len) || !cur_done(c)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    if (len == 0) {
        send_str(r, "");
        return;
    }
    /* E.2 "m": the reply may hold fewer bytes than asked for. */
    if (len > RSP_MEM_MAX)
        len = RSP_MEM_MAX;
    /* An access wrapping past the top of the address space ends there. */
    if (addr + (len - 1) < addr)
        len = 0 - addr;
    long got = r->ops->read_mem(r->ctx, g_thread(r), addr, buf, (size_t)len);
    if (got <= 0) {
        send_error(r, got < 0 && -got < 256 ? (unsigned)-got : RSP_EFAULT);
        return;
    }
    if ((uint64_t)got > len)
        got = (long)len;
    reply_reset(r);
    reply_hexbytes(r, buf, (size_t)got);
    send_reply(r);
}

static void write_mem(struct rsp *r, uint64_t addr, const uint8_t *buf, uint64_t len)
{
    if (len == 0) {
        send_str(r, "OK");        /* E.2 "X": a zero-length write probes support */
        return;
    }
    if (addr + (len - 1) < addr) {
        send_error(r, RSP_EFAULT);
        return;
    }
    long done = r->ops->write_mem(r->ctx, g_thread(r), addr, buf, (size_t)len);
    if (done < 0)
        send_error(r, -done < 256 ? (unsigned)-done : RSP_EFAULT);
    else if ((uint64_t)done != len)
        send_error(r, RSP_EFAULT);
    else
        send_str(r, "OK");
}

static void cmd_write_mem_hex(struct rsp *r, cur_t *c)
{
    uint64_t addr, len;
    uint8_t buf[RSP_MEM_MAX];
    if (!parse_addr_len(c, &addr, &len) || !cur_eat(c, ':') || len > RSP_MEM_MAX ||
        (uint64_t)(c->end - c->p) != 2 * len) {
        send_error(r, RSP_EINVAL);
        return;
    }
    for (uint64_t i = 0; i < len; i++) {
        int hi = hexval(c->p[2 * i]), lo = hexval(c->p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            send_error(r, RSP_EINVAL);
            return;
        }
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    write_mem(r, addr, buf, len);
}

static void cmd_write_mem_bin(struct rsp *r, cur_t *c)
{
    uint64_t addr, len;
    /* The packet was unescaped on receipt: what is left is the data. */
    if (!parse_addr_len(c, &addr, &len) || !cur_eat(c, ':') || len > RSP_PKT_MAX ||
        (uint64_t)(c->end - c->p) != len) {
        send_error(r, RSP_EINVAL);
        return;
    }
    write_mem(r, addr, c->p, len);
}

/* ---- run control ---- */

static void start(struct rsp *r, uint8_t *acts, unsigned n)
{
    bool any = false;
    for (unsigned i = 0; i < n; i++)
        any |= acts[i] != RSP_ACT_STOP;
    if (!any) {
        send_error(r, RSP_EINVAL);
        return;
    }
    /* The reply is the stop reply, sent when the backend reports the stop,
     * which it may do from inside resume(). */
    r->running = true;
    int rc = r->ops->resume(r->ctx, acts, n);
    if (rc < 0 && r->running) {
        r->running = false;
        send_result(r, rc);
    }
}

/* c [addr] / s [addr]: continue all (or step the Hc thread, the others
 * staying stopped). A resume address sets the thread's RIP first. */
static void cmd_resume(struct rsp *r, cur_t *c, bool step)
{
    uint8_t acts[RSP_MAX_THREADS];
    unsigned n = n_threads(r);
    unsigned tid = tid_alive(r, r->c_tid) ? r->c_tid : r->stop_tid;
    if (!cur_done(c)) {
        uint64_t addr;
        uint8_t buf[8];
        if (!cur_hex(c, &addr) || !cur_done(c)) {
            send_error(r, RSP_EINVAL);
            return;
        }
        /* The program counter at its size in this register set. */
        unsigned bytes = rsp_arch_reg(r->arch, RSP_X86_RIP)->bytes;
        if (bytes < 8 && addr >> (8 * bytes)) {
            send_error(r, RSP_EINVAL);
            return;
        }
        for (unsigned i = 0; i < 8; i++)
            buf[i] = (uint8_t)(addr >> (8 * i));
        int rc = r->ops->write_reg(r->ctx, tid, RSP_X86_RIP, buf, bytes);
        if (rc < 0) {
            send_result(r, rc);
            return;
        }
    }
    for (unsigned i = 0; i < n; i++)
        acts[i] = step ? (i + 1 == tid ? RSP_ACT_STEP : RSP_ACT_STOP) : RSP_ACT_CONTINUE;
    start(r, acts, n);
}

/* vCont;action[:thread-id]... (E.2 "vCont"): the leftmost action that
 * names a thread applies to it; one without a thread applies to the rest. */
#define SIGNALLED 0x80

static void cmd_vcont(struct rsp *r, cur_t *c)
{
    uint8_t acts[RSP_MAX_THREADS];
    bool set[RSP_MAX_THREADS] = { false };
    unsigned n = n_threads(r);
    for (unsigned i = 0; i < n; i++)
        acts[i] = RSP_ACT_STOP;
    while (cur_eat(c, ';')) {
        uint8_t act;
        uint64_t sig;
        if (cur_eat(c, 'c'))
            act = RSP_ACT_CONTINUE;
        else if (cur_eat(c, 's'))
            act = RSP_ACT_STEP;
        else if (cur_eat(c, 't'))
            act = RSP_ACT_STOP;
        else if (cur_eat(c, 'C'))
            act = RSP_ACT_CONTINUE | SIGNALLED;
        else if (cur_eat(c, 'S'))
            act = RSP_ACT_STEP | SIGNALLED;
        else {
            send_error(r, RSP_EINVAL);
            return;
        }
        /* A signal cannot be delivered to a VM: resumed without one. */
        if (act & SIGNALLED) {
            act &= (uint8_t)~SIGNALLED;
            if (!cur_hex(c, &sig) || sig > 0xFF) {
                send_error(r, RSP_EINVAL);
                return;
            }
        }
        unsigned tid = RSP_ALL_THREADS;
        if (cur_eat(c, ':') && (!cur_tid(c, &tid) || tid == 0)) {
            send_error(r, RSP_EINVAL);
            return;
        }
        if (tid != RSP_ALL_THREADS && !tid_alive(r, tid)) {
            send_error(r, RSP_ENOENT);
            return;
        }
        for (unsigned i = 0; i < n; i++)
            if (!set[i] && (tid == RSP_ALL_THREADS || tid == i + 1)) {
                acts[i] = act;
                set[i] = true;
            }
    }
    if (!cur_done(c)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    start(r, acts, n);
}

/* ---- breakpoints ---- */

static void cmd_breakpoint(struct rsp *r, cur_t *c, bool insert)
{
    uint64_t type, addr, kind;
    if (!cur_hex(c, &type) || !cur_eat(c, ',') || !cur_hex(c, &addr) || !cur_eat(c, ',') ||
        !cur_hex(c, &kind)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    /* Conditions and commands (";X...", "cond_list") are not offered: we
     * never say ConditionalBreakpoints+ / BreakpointCommands+. */
    if (!cur_done(c) || kind == 0 ||
        kind > (RSP_BP_IS_WATCH(type) ? RSP_WATCH_LEN_MAX : RSP_BP_KIND_MAX)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    if (type >= RSP_BP_TYPES) {
        r->stats.unknown++;
        send_str(r, "");          /* E.2 "Z": an unsupported type: empty reply */
        return;
    }
    int rc = r->ops->breakpoint(r->ctx, insert, (enum rsp_bp_type)type, addr, (unsigned)kind);
    if (rc == RSP_UNSUPPORTED) {
        r->stats.unknown++;
        send_str(r, "");
    } else {
        send_result(r, rc);
    }
}

/* ---- queries ---- */

static void cmd_supported(struct rsp *r, cur_t *c)
{
    /* E.4 "qSupported:feature;...": the features gdb offers us. */
    r->swbreak_ok = r->hwbreak_ok = false;
    if (cur_eat(c, ':'))
        while (!cur_done(c)) {
            if (cur_prefix(c, "swbreak+"))
                r->swbreak_ok = true;
            else if (cur_prefix(c, "hwbreak+"))
                r->hwbreak_ok = true;
            else
                while (!cur_done(c) && *c->p != ';')
                    c->p++;
            cur_eat(c, ';');
        }
    reply_reset(r);
    reply_str(r, "PacketSize=");
    reply_hexnum(r, RSP_PKT_MAX);
    reply_str(r, ";qXfer:features:read+;QStartNoAckMode+;vContSupported+");
    if (r->swbreak_ok)
        reply_str(r, ";swbreak+");
    if (r->hwbreak_ok)
        reply_str(r, ";hwbreak+");
    send_reply(r);
}

/* qXfer:features:read:annex:offset,length (E.4, G.1): the target
 * description, one document. */
static void cmd_xfer_features(struct rsp *r, cur_t *c)
{
    uint64_t off, len;
    size_t total;
    const char *xml = rsp_arch_xml(r->arch, &total);
    if (!cur_prefix(c, "target.xml:")) {
        send_error(r, RSP_ENOENT);
        return;
    }
    if (!parse_addr_len(c, &off, &len) || !cur_done(c)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    if (off > total) {
        send_error(r, RSP_EINVAL);
        return;
    }
    /* Escaping may double a byte: keep the payload within the packet. */
    uint64_t room = (RSP_PKT_MAX - 1) / 2;
    if (len > room)
        len = room;
    if (len > total - off)
        len = total - off;
    reply_reset(r);
    reply_byte(r, off + len < total ? 'm' : 'l');
    for (uint64_t i = 0; i < len; i++)
        reply_byte(r, xml[off + i]);
    send_reply(r);
}

static void cmd_monitor(struct rsp *r, cur_t *c)
{
    char cmd[RSP_CMD_MAX + 1];
    size_t n = 0;
    while (!cur_done(c)) {
        if (c->end - c->p < 2 || n == RSP_CMD_MAX) {
            send_error(r, RSP_EINVAL);
            return;
        }
        int hi = hexval(c->p[0]), lo = hexval(c->p[1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            send_error(r, RSP_EINVAL);
            return;
        }
        cmd[n++] = (char)(hi << 4 | lo);
        c->p += 2;
    }
    cmd[n] = 0;
    if (!r->ops->monitor) {
        r->stats.unknown++;
        send_str(r, "");
        return;
    }
    send_result(r, r->ops->monitor(r->ctx, r, cmd));
}

static void cmd_thread_info(struct rsp *r)
{
    reply_reset(r);
    reply_byte(r, 'm');
    for (unsigned t = 1; t <= n_threads(r); t++) {
        if (t > 1)
            reply_byte(r, ',');
        reply_hexnum(r, t);
    }
    send_reply(r);
}

static void cmd_extra_info(struct rsp *r, cur_t *c)
{
    unsigned tid;
    if (!cur_tid(c, &tid) || !cur_done(c) || !tid_alive(r, tid)) {
        send_error(r, RSP_ENOENT);
        return;
    }
    char text[16] = "vCPU ";
    unsigned v = tid - 1, k = 5;
    char digits[4];
    unsigned nd = 0;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (nd)
        text[k++] = digits[--nd];
    reply_reset(r);
    reply_hexbytes(r, (const uint8_t *)text, k);
    send_reply(r);
}

static void cmd_set_thread(struct rsp *r, cur_t *c)
{
    char which = cur_done(c) ? 0 : (char)*c->p++;
    unsigned tid;
    if ((which != 'g' && which != 'c') || !cur_tid(c, &tid) || !cur_done(c)) {
        send_error(r, RSP_EINVAL);
        return;
    }
    if (tid != 0 && tid != RSP_ALL_THREADS && !tid_alive(r, tid)) {
        send_error(r, RSP_ENOENT);
        return;
    }
    if (which == 'g')
        r->g_tid = tid;
    else
        r->c_tid = tid;
    send_str(r, "OK");
}

static void cmd_detach(struct rsp *r)
{
    r->ops->detach(r->ctx);
    r->attached = false;
    r->g_tid = r->c_tid = 0;
}

/* ---- dispatch ---- */

static void dispatch(struct rsp *r)
{
    cur_t c = { r->in, r->in + r->in_len };
    r->stats.packets++;
    if (!r->attached && r->ops->attach)
        r->ops->attach(r->ctx, r);
    r->attached = true;
    if (r->running) {
        /* All-stop: while the target runs gdb sends only Ctrl-C. */
        send_error(r, RSP_EBUSY);
        return;
    }
    char op = cur_done(&c) ? 0 : (char)*c.p++;
    switch (op) {
    case '?':
        build_stop(r);
        send_reply(r);
        return;
    case 'g':
        if (cur_done(&c)) {
            cmd_read_regs(r);
            return;
        }
        break;
    case 'G':
        cmd_write_regs(r, &c);
        return;
    case 'p':
        cmd_read_reg(r, &c);
        return;
    case 'P':
        cmd_write_reg(r, &c);
        return;
    case 'm':
        cmd_read_mem(r, &c);
        return;
    case 'M':
        cmd_write_mem_hex(r, &c);
        return;
    case 'X':
        cmd_write_mem_bin(r, &c);
        return;
    case 'c':
        cmd_resume(r, &c, false);
        return;
    case 's':
        cmd_resume(r, &c, true);
        return;
    case 'Z':
    case 'z':
        cmd_breakpoint(r, &c, op == 'Z');
        return;
    case 'H':
        cmd_set_thread(r, &c);
        return;
    case 'T': {
        unsigned tid;
        if (cur_tid(&c, &tid) && cur_done(&c) && tid_alive(r, tid))
            send_str(r, "OK");
        else
            send_error(r, RSP_ENOENT);
        return;
    }
    case 'D':
        cmd_detach(r);
        send_str(r, "OK");
        return;
    case 'k':
        /* E.2 "k": no reply. The VM is not killed: gdb lets go of it. */
        cmd_detach(r);
        return;
    case 'q':
        if (cur_prefix(&c, "Supported")) {
            cmd_supported(r, &c);
            return;
        }
        if (cur_prefix(&c, "Xfer:features:read:")) {
            cmd_xfer_features(r, &c);
            return;
        }
        if (cur_prefix(&c, "Rcmd,")) {
            cmd_monitor(r, &c);
            return;
        }
        if (cur_prefix(&c, "fThreadInfo") && cur_done(&c)) {
            cmd_thread_info(r);
            return;
        }
        if (cur_prefix(&c, "sThreadInfo") && cur_done(&c)) {
            send_str(r, "l");
            return;
        }
        if (cur_prefix(&c, "ThreadExtraInfo,")) {
            cmd_extra_info(r, &c);
            return;
        }
        if (cur_eat(&c, 'C') && cur_done(&c)) {
            reply_reset(r);
            reply_str(r, "QC");
            reply_hexnum(r, g_thread(r));
            send_reply(r);
            return;
        }
        if (cur_prefix(&c, "Attached") && (cur_done(&c) || *c.p == ':')) {
            send_str(r, "1");     /* attached to a running VM: detach, not kill */
            return;
        }
        if (cur_prefix(&c, "Symbol::") && cur_done(&c)) {
            send_str(r, "OK");
            return;
        }
        break;
    case 'Q':
        if (cur_prefix(&c, "StartNoAckMode") && cur_done(&c)) {
            send_str(r, "OK");    /* acked as usual; no acks from the next packet on */
            r->no_ack = true;
            return;
        }
        break;
    case 'v':
        if (cur_prefix(&c, "Cont?") && cur_done(&c)) {
            send_str(r, "vCont;c;C;s;S;t");
            return;
        }
        if (cur_prefix(&c, "Cont") && (cur_done(&c) || *c.p == ';')) {
            cmd_vcont(r, &c);
            return;
        }
        if (cur_prefix(&c, "Kill")) {
            cmd_detach(r);
            send_str(r, "OK");
            return;
        }
        break;
    default:
        break;
    }
    /* E.1: "for any command not supported by the stub, an empty response". */
    r->stats.unknown++;
    send_str(r, "");
}

void rsp_set_arch(struct rsp *r, struct rsp_arch *arch)
{
    r->arch = arch;
}

/* ---- receiving (E.1) ---- */

void rsp_init(struct rsp *r, const struct rsp_ops *ops, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->ops = ops;
    r->ctx = ctx;
    r->arch = &rsp_x86_64;
    r->stop_tid = 1;
    r->stop_sig = RSP_SIGTRAP;
}

static void packet_end(struct rsp *r)
{
    r->rx = RSP_RX_IDLE;
    if (r->in_sum != r->in_csum) {
        r->stats.bad_checksum++;
        if (!r->no_ack)
            r->ops->put(r->ctx, (const uint8_t *)"-", 1);
        return;
    }
    if (!r->no_ack)
        r->ops->put(r->ctx, (const uint8_t *)"+", 1);
    if (r->in_overflow || r->in_escape) {
        if (r->in_overflow)
            r->stats.too_long++;
        r->stats.packets++;
        send_error(r, r->in_overflow ? RSP_ENOSPC : RSP_EINVAL);
        return;
    }
    dispatch(r);
}

static void rx_start(struct rsp *r)
{
    r->rx = RSP_RX_DATA;
    r->in_len = 0;
    r->in_sum = 0;
    r->in_escape = r->in_overflow = false;
}

void rsp_input(struct rsp *r, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        int d;
        switch (r->rx) {
        case RSP_RX_IDLE:
            if (b == RSP_START) {
                rx_start(r);
            } else if (b == RSP_INTERRUPT) {
                r->stats.interrupts++;
                if (r->running)
                    r->ops->interrupt(r->ctx);
            } else if (b == RSP_NAK && !r->no_ack && r->out_len) {
                r->ops->put(r->ctx, r->out, r->out_len);
            }
            /* '+' and noise between packets are ignored. */
            break;
        case RSP_RX_DATA:
            if (b == RSP_END) {
                r->rx = RSP_RX_CSUM1;
                break;
            }
            if (b == RSP_START) {
                /* A new start inside a packet: the old one was cut off. */
                rx_start(r);
                break;
            }
            r->in_sum += b;
            if (r->in_escape) {
                b ^= RSP_ESCAPE_XOR;
                r->in_escape = false;
            } else if (b == RSP_ESCAPE) {
                r->in_escape = true;
                break;
            }
            if (r->in_len < RSP_PKT_MAX)
                r->in[r->in_len++] = b;
            else
                r->in_overflow = true;
            break;
        case RSP_RX_CSUM1:
        case RSP_RX_CSUM2:
            d = hexval(b);
            if (d < 0) {
                /* Not a checksum: the packet is refused as a bad one; a
                 * '$' there starts the next one. */
                r->in_csum = (uint8_t)~r->in_sum;
                packet_end(r);
                if (b == RSP_START)
                    rx_start(r);
                break;
            }
            if (r->rx == RSP_RX_CSUM1) {
                r->in_csum = (uint8_t)(d << 4);
                r->rx = RSP_RX_CSUM2;
            } else {
                r->in_csum |= (uint8_t)d;
                packet_end(r);
            }
            break;
        }
    }
}
