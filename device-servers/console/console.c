/*
 * device-servers/console/console.c - the virtio console device (Virtio 1.2
 * 5.3) over virtio/'s register file and split queues: what a guest
 * transmits becomes host console lines "[VM] text".
 */
#include "console.h"
#include <devsrv.h>
#include <ds_access.h>
#include <fmt.h>
#include <guest_line.h>
#include <string.h>
#include <virtq.h>

/* Transport features offered besides VERSION_1 (6): indirect descriptors
 * and event indexes (virtio/ implements both). No device-type feature:
 * F_SIZE, F_MULTIPORT and F_EMERG_WRITE (5.3.3) are not offered. */
#define CON_FEATURES (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | \
                      VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX))

static void say(con_t *c, const char *what, const char *why)
{
    c->refusals++;
    if (c->logged > CON_LOG_MAX)
        return;
    char text[CON_LINE_MAX + 64];
    if (c->logged++ == CON_LOG_MAX)
        fmt_snprintf(text, sizeof text, "virtio-console %s: vm %s: more refusals: no longer "
                     "logged", c->name, c->vm);
    else
        fmt_snprintf(text, sizeof text, "virtio-console %s: vm %s: %s refused: %s", c->name, c->vm,
                     what, why);
    c->emit(text);
}

static void flush(con_t *c)
{
    if (!c->line_len)
        return;
    char text[CON_LINE_MAX + CON_NAME_MAX + 4];
    c->line[c->line_len] = '\0';
    fmt_snprintf(text, sizeof text, "[%s] %s", c->vm, c->line);
    c->line_len = 0;
    c->emit(text);
}

/* One byte of output, as the VMM's UART takes it (guest_line.h). */
static void put(con_t *c, uint8_t ch)
{
    if (guest_line_put(c->line, &c->line_len, CON_LINE_MAX, ch))
        flush(c);
}

static bool config_read(void *ctx, uint32_t offset, unsigned size, uint32_t *value)
{
    (void)ctx, (void)offset, (void)size;
    *value = 0;         /* cols, rows, max_nr_ports, emerg_wr: not valid without features */
    return true;
}

static const virtio_mmio_ops_t con_ops = { .config_read = config_read };

bool con_init(con_t *c, uint8_t *ram)
{
    c->window[0] = (virtio_ram_window_t){ .gpa = 0, .size = c->ram_bytes, .host = ram };
    c->ram = (virtio_ram_t){ .windows = c->window, .count = c->window[1].paged ? 2 : 1 };
    for (unsigned q = 0; q < CON_QUEUES; q++)
        c->queues[q].num_max = CON_QUEUE_SIZE;
    virtio_mmio_init_err_t e = virtio_mmio_init(&c->dev, VIRTIO_ID_CONSOLE, DS_VIRTIO_VENDOR,
                                                CON_FEATURES, c->queues, CON_QUEUES,
                                                CON_CONFIG_SIZE, &con_ops, c, &c->ram);
    if (e != VIRTIO_MMIO_INIT_OK) {
        char text[CON_LINE_MAX];
        fmt_snprintf(text, sizeof text, "virtio-console %s: device refused: %s", c->name,
                     virtio_mmio_init_strerror(e));
        c->emit(text);
        return false;
    }
    c->queues[CON_TRANSMITQ].vq.max_chain_bytes = CON_MAX_CHAIN_BYTES;   /* kept by resets */
    return true;
}

/* virtio_mmio_pop refused a chain of queue @q with @e: logged; a fatal
 * refusal (the queue broke: DEVICE_NEEDS_RESET) returns true, any other
 * hands the chain back with length 0. */
static bool chain_refused(con_t *c, unsigned q, virtq_err_t e, const virtq_chain_t *ch,
                          virtio_mmio_effect_t *eff)
{
    char why[CON_LINE_MAX];
    bool fatal = ds_chain_refused(&c->dev, q, e, ch->head, eff, why, sizeof why);
    say(c, q == CON_TRANSMITQ ? "transmitq0 chain" : "receiveq0 chain", why);
    c->resets_needed += fatal;
    return fatal;
}

/* The driver notified the transmit queue: print every chain's readable
 * bytes and hand it back (the device writes nothing: used length 0). */
static void transmit(con_t *c)
{
    virtq_seg_t segs[CON_MAX_SEGS];
    for (;;) {
        virtq_chain_t ch;
        virtio_mmio_effect_t eff;
        virtq_err_t e = virtio_mmio_pop(&c->dev, CON_TRANSMITQ, segs, CON_MAX_SEGS, &ch, &eff);
        if (e == VIRTQ_EMPTY)
            return;
        if (e != VIRTQ_OK) {
            if (chain_refused(c, CON_TRANSMITQ, e, &ch, &eff))
                return;
            continue;
        }
        /* Readable segments first (virtq.h); each byte read once. */
        for (unsigned s = 0; s < ch.nsegs && !segs[s].writable; s++)
            for (uint32_t i = 0; i < segs[s].len; i++)
                put(c, ((volatile uint8_t *)segs[s].host)[i]);
        c->chains++;
        c->bytes += ch.readable;
        virtio_mmio_push(&c->dev, CON_TRANSMITQ, ch.head, 0, &eff);
    }
}

/* A refused access, said as "read of 4 bytes at 0x50" (formatted only
 * when it is logged: accesses are the fast path). */
bool con_access(con_t *c, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                uint32_t wvalue)
{
    c->accesses++;
    virtio_mmio_effect_t eff;
    const char *why = ds_mmio_access(&c->dev, CON_WINDOW_SIZE, write, offset, size, value,
                                     wvalue, &eff);
    if (why) {
        char what[64] = "";
        if (c->logged <= CON_LOG_MAX)       /* formatted only when it is logged */
            ds_access_str(what, sizeof what, write, offset, size);
        say(c, what, why);
    }
    if (eff.flags & VIRTIO_MMIO_EFF_NEEDS_RESET) {
        say(c, "queue setup", virtq_strerror(eff.queue_err));
        c->resets_needed++;
    }
    if (eff.flags & VIRTIO_MMIO_EFF_RESET) {
        flush(c);                   /* a reset ends the line in progress */
        c->rx_live = false;
    }
    if ((eff.flags & VIRTIO_MMIO_EFF_NOTIFY) && eff.queue == CON_TRANSMITQ) {
        c->kicks++;
        transmit(c);
    }
    /* A receiveq0 notification: new buffers for input, filled after the
     * reply (con_input), the interrupt then raised by a signal. */
    if ((eff.flags & VIRTIO_MMIO_EFF_NOTIFY) && eff.queue == CON_RECEIVEQ) {
        c->rx_kicks++;
        c->rx_live = true;
    }
    return !why;
}

bool con_input_pending(const con_t *c)
{
    return c->input_off < c->input_len && c->rx_live &&
           virtio_mmio_queue((virtio_mmio_dev_t *)&c->dev, CON_RECEIVEQ);
}

unsigned con_input(con_t *c)
{
    virtq_seg_t segs[CON_MAX_SEGS];
    unsigned given = 0;
    while (c->input_off < c->input_len) {
        virtq_chain_t ch;
        virtio_mmio_effect_t eff;
        virtq_err_t e = virtio_mmio_pop(&c->dev, CON_RECEIVEQ, segs, CON_MAX_SEGS, &ch, &eff);
        if (e == VIRTQ_EMPTY)
            break;
        if (e != VIRTQ_OK) {
            if (chain_refused(c, CON_RECEIVEQ, e, &ch, &eff))
                break;
            continue;
        }
        if (!ch.writable)
            say(c, "receiveq0 chain", "no device-writable buffer");
        /* Writable segments come after the readable ones (virtq.h). */
        uint32_t len = 0;
        for (unsigned s = 0; s < ch.nsegs && c->input_off < c->input_len; s++) {
            if (!segs[s].writable)
                continue;
            uint32_t n = c->input_len - c->input_off;
            if (n > segs[s].len)
                n = segs[s].len;
            for (uint32_t i = 0; i < n; i++)
                ((volatile uint8_t *)segs[s].host)[i] = (uint8_t)c->input[c->input_off + i];
            c->input_off += n;
            len += n;
        }
        c->rx_chains++;
        c->rx_bytes += len;
        given += len;
        virtio_mmio_push(&c->dev, CON_RECEIVEQ, ch.head, len, &eff);
    }
    return given;
}

bool con_irq(const con_t *c)
{
    return virtio_mmio_irq(&c->dev);
}

_Static_assert(sizeof(con_state_t) <= DS_STATE_DEV_BYTES, "the console's state fits its part");

/* The console's part of a state, said in a line: "a partial line of N
 * bytes, M bytes of input pending". */
static void state_line(const con_t *c, const char *what, const ds_state_t *st,
                        const con_state_t *cs)
{
    char text[CON_LINE_MAX + 96];
    fmt_snprintf(text, sizeof text, "virtio-console %s: vm %s: device state %s (status 0x%x, "
                 "receiveq0 at used index %u, transmitq0 at used index %u%s; a partial line of "
                 "%u bytes, %u bytes of input pending)", c->name, c->vm, what, st->status,
                 st->q[CON_RECEIVEQ].used_idx, st->q[CON_TRANSMITQ].used_idx,
                 st->interrupt_status ? ", interrupt pending" : "", cs->line_len, cs->input_len);
    c->emit(text);
}

bool con_save(con_t *c, ds_state_t *st)
{
    con_state_t cs = { .line_len = c->line_len, .input_len = c->input_len - c->input_off,
                       .rx_live = c->rx_live };
    if (!ds_state_export(&c->dev, st)) {
        char text[CON_LINE_MAX];
        fmt_snprintf(text, sizeof text, "virtio-console %s: vm %s: device state not saved: a "
                     "chain is in flight", c->name, c->vm);
        c->emit(text);
        return false;
    }
    memcpy(cs.line, c->line, c->line_len);
    memcpy(cs.input, c->input + c->input_off, cs.input_len);
    st->dev_version = CON_STATE_VERSION;
    st->dev_bytes = sizeof cs;
    memcpy(st->dev, &cs, sizeof cs);
    state_line(c, "saved", st, &cs);
    return true;
}

/* The console's part of @st, checked: NULL or why it is refused. */
static const char *con_state_check(const con_state_t *cs)
{
    /* guest_line.h: a line reaching CON_LINE_MAX - 1 bytes is printed, so
     * one held is shorter; it holds only what guest_line_put stores. */
    if (cs->line_len >= CON_LINE_MAX - 1)
        return "a partial line longer than a line";
    for (unsigned i = 0; i < CON_LINE_MAX; i++)
        if (i < cs->line_len ? cs->line[i] < 0x20 || cs->line[i] >= 0x7F : cs->line[i] != 0)
            return "a partial line with a byte a line does not hold, or bytes after it";
    if (cs->rx_live > 1 || cs->reserved)
        return "a receiveq0 flag that is neither 0 nor 1, or reserved bits";
    if (cs->input_len > CON_INPUT_MAX)
        return "more pending input than the console holds";
    for (unsigned i = cs->input_len; i < CON_INPUT_MAX; i++)
        if (cs->input[i])
            return "bytes after the pending input";
    return NULL;
}

unsigned con_load(con_t *c, const ds_state_t *st)
{
    const char *why;
    con_state_t cs;
    memcpy(&cs, st->dev, sizeof cs);
    unsigned e = ds_state_check(&c->dev, st, CON_STATE_VERSION, sizeof cs, &why);
    if (!e && (why = con_state_check(&cs)) != NULL)
        e = DS_STATE_E_DEVICE;
    if (e) {
        char text[CON_LINE_MAX + 64];
        fmt_snprintf(text, sizeof text, "virtio-console %s: vm %s: device state refused: %s",
                     c->name, c->vm, why);
        c->emit(text);
        return e;
    }
    ds_state_apply(&c->dev, st);
    memcpy(c->line, cs.line, sizeof c->line);
    c->line_len = cs.line_len;
    memcpy(c->input_restored, cs.input, sizeof c->input_restored);
    c->input = c->input_restored;
    c->input_len = cs.input_len;
    c->input_off = 0;
    c->rx_live = cs.rx_live;
    state_line(c, "restored from the image", st, &cs);
    return 0;
}
