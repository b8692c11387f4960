/*
 * tests/unit/test_stackcfg_fuzz.c - a bounded, seeded fuzzer of sc_load
 * (stackcfg/), run with the unit tests under ASan and UBSan.
 *
 * Two kinds of input, FUZZ_ITERS each by default:
 *  - mutated blobs: a generated config, written with libfdt's
 *    sequential-write API, then bytes flipped, header fields nudged, chunks
 *    copied, the blob truncated or extended;
 *  - generated trees: configs built from the bindings' own node and
 *    property names, coherent at first and then, at a per-input rate,
 *    with values of the wrong type, length or range, dropped or renamed
 *    properties, stray nodes and properties, odd phandles; some trees are
 *    wholly random over the same vocabulary.
 * Every input goes to sc_load in a heap copy of exactly its size. A refused
 * input must have at least one error, each message "fuzz.dtb: /...". An
 * accepted one must be a stack the bindings allow (check_accepted).
 *
 * NESTOR_FUZZ_SEED (a number, 0x... allowed) replaces the fixed seed and
 * NESTOR_FUZZ_ITERS the number of inputs of each kind; a failure names the
 * seed and the input, and input I of seed S is the same on every run.
 */
#include "unit.h"
#include "fuzz_rng.h"
#include "stackcfg.h"
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUZZ_FILE        "fuzz.dtb"
#define FUZZ_SEED        0x4e6573746f72ull      /* "Nestor" */
#define FUZZ_ITERS       10000u                 /* of each kind */
#define GEN_BUF          (16 * 1024)
#define MUT_SLACK        64

/* ---- deterministic randomness (fuzz_rng.h), seeded per input ---- */

static bool permille(unsigned p) { return below(1000) < p; }

#define PICK(a) ((a)[below(sizeof(a) / sizeof((a)[0]))])

static const char *const node_vocab[] = {
    "machine", "monitors", "vms", "vmm", "vmm2", "count", "count-a", "hello", "second", "demo",
    "boot", "__symbols__", "m@1", "Bad", "a-name-of-thirty-two-characters1", "x-y_z", "vm\x01",
};
static const char *const prop_vocab[] = {
    "compatible", "model", "memory-mib", "cpus", "priority", "ioports", "irqs", "options",
    "exits", "guest", "nested-config", "vcpus", "cmdline", "devices", "monitors", "phandle",
    "linux,phandle", "memory-mb", "name", "#address-cells",
};
static const char *const str_vocab[] = {
    "nestor,stack", "nestor,vmm-server", "nestor,count-monitor", "nestor,vmm", "hello", "demo",
    "nope", "", "cpuid", "hlt", "rdtsc", "io", "ept-violation", "pic", "uart", "lapic", "Hello",
    "demo.dts", "x=1 quiet", "tab\tin it",
};
static const uint32_t u32_vocab[] = {
    0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 17, 64, 65, 100, 101, 200, 254, 255, 256, 0x3f8, 0x3ff,
    0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
};
static const char *const exit_vocab[] = {
    "cpuid", "hlt", "rdtsc", "vmcall", "cr-access", "io", "rdmsr", "wrmsr", "ept-violation",
};
static const char *const device_vocab[] = { "pic", "pit", "rtc", "lapic", "uart" };

static void put_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24), p[1] = (uint8_t)(x >> 16), p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

static uint32_t rnd_u32(void)
{
    return below(4) ? PICK(u32_vocab) : (uint32_t)rnd();
}

/* A random value of a random shape into @buf (at least 64 bytes); its length. */
static int rnd_value(uint8_t *buf)
{
    switch (below(6)) {
    case 0: {                                   /* one string */
        const char *s = PICK(str_vocab);
        memcpy(buf, s, strlen(s) + 1);
        return (int)strlen(s) + 1;
    }
    case 1: {                                   /* a string list */
        int len = 0;
        for (uint32_t n = 1 + below(4); n--;) {
            const char *s = below(2) ? PICK(exit_vocab) : PICK(str_vocab);
            memcpy(buf + len, s, strlen(s) + 1);
            len += (int)strlen(s) + 1;
        }
        return len;
    }
    case 2: case 3: {                           /* cells */
        uint32_t n = below(6);
        for (uint32_t i = 0; i < n; i++)
            put_be32(buf + 4 * i, rnd_u32());
        return (int)(4 * n);
    }
    case 4:                                     /* empty */
        return 0;
    default: {                                  /* bytes */
        uint32_t n = below(24);
        for (uint32_t i = 0; i < n; i++)
            buf[i] = below(3) ? (uint8_t)rnd() : 0;
        return (int)n;
    }
    }
}

/* ---- generated trees (the sequential-write API) ---- */

typedef struct {
    void *fdt;
    unsigned p;         /* per-mille chance of each corruption */
    int err;
} gen_t;

static void g_raw(gen_t *g, const char *name, const void *val, int len)
{
    if (!g->err)
        g->err = fdt_property(g->fdt, name, val, len);
}

static void g_stray_prop(gen_t *g)
{
    uint8_t v[128];
    int len = rnd_value(v);
    g_raw(g, PICK(prop_vocab), v, len);
}

/* Property @name = @val, or, at rate g->p, something near it. */
static void g_prop(gen_t *g, const char *name, const void *val, int len)
{
    uint8_t tmp[128];
    if (permille(g->p)) {
        switch (below(6)) {
        case 0:
            return;                                         /* dropped */
        case 1:
            name = PICK(prop_vocab);                        /* renamed */
            break;
        case 2:
            len = (int)below((uint32_t)len + 1);            /* cut short */
            break;
        case 3:
            len = rnd_value(tmp);                           /* another shape */
            val = tmp;
            break;
        case 4:
            put_be32(tmp, rnd_u32());                       /* another number */
            val = tmp, len = 4;
            break;
        default:
            if (len > 0) {                                  /* a byte changed */
                memcpy(tmp, val, (size_t)len);
                tmp[below((uint32_t)len)] = (uint8_t)rnd();
                val = tmp;
            }
            break;
        }
    }
    g_raw(g, name, val, len);
    if (permille(g->p / 2))
        g_stray_prop(g);
}

static void g_str(gen_t *g, const char *name, const char *s)
{
    g_prop(g, name, s, (int)strlen(s) + 1);
}

static void g_cells(gen_t *g, const char *name, const uint32_t *v, int n)
{
    uint8_t buf[64];
    for (int i = 0; i < n; i++)
        put_be32(buf + 4 * i, v[i]);
    g_prop(g, name, buf, 4 * n);
}

static void g_u32(gen_t *g, const char *name, uint32_t x) { g_cells(g, name, &x, 1); }

static void g_random_node(gen_t *g, const char *name, int depth);

static void g_begin(gen_t *g, const char *name)
{
    if (permille(g->p / 2))
        name = PICK(node_vocab);
    if (!g->err)
        g->err = fdt_begin_node(g->fdt, name);
}

static void g_end(gen_t *g)
{
    if (permille(g->p / 3))
        g_random_node(g, PICK(node_vocab), 2);              /* a stray subnode */
    if (!g->err)
        g->err = fdt_end_node(g->fdt);
}

static void g_random_node(gen_t *g, const char *name, int depth)
{
    if (!g->err)
        g->err = fdt_begin_node(g->fdt, name);
    for (uint32_t n = below(6); n--;)
        g_stray_prop(g);
    if (depth < 3)
        for (uint32_t n = below(4); n--;)
            g_random_node(g, PICK(node_vocab), depth + 1);
    if (!g->err)
        g->err = fdt_end_node(g->fdt);
}

typedef struct {
    bool vmm;
    char name[16];
    uint32_t mib, phandle, exits[2];
    unsigned n_exits;
} gmon_t;

typedef struct {
    int stack[SC_MAX_STACK];
    unsigned n_stack;
    uint32_t mib;
} gvm_t;

/* A stack after the bindings, corrupted at rate @p (0: a good one). */
static void g_stack(gen_t *g)
{
    gmon_t mon[SC_MAX_MONITORS];
    gvm_t vm[SC_MAX_VMS + 1];
    unsigned n_vmm = 1 + below(2), n_vm = 1 + below(g->p ? 4 : 3), n_mon = n_vmm;
    if (permille(g->p))
        n_vm = 1 + below(SC_MAX_VMS + 1);
    if (n_vmm > n_vm)
        n_vmm = n_mon = n_vm;
    static const uint32_t vm_mibs[] = { 2, 4, 4, 6, 8, 8, 8, 16, 32, 64 };
    for (unsigned i = 0; i < n_vmm; i++) {
        mon[i] = (gmon_t){ .vmm = true, .mib = 2 };
        snprintf(mon[i].name, sizeof mon[i].name, "vmm%u", i);
    }
    for (unsigned v = 0; v < n_vm; v++) {
        unsigned vmm = v < n_vmm ? v : below(n_vmm);
        vm[v] = (gvm_t){ .mib = PICK(vm_mibs) };
        mon[vmm].mib += vm[v].mib + 1;
        /* Count-monitors under the VMM, each with exits of its own. */
        bool taken[9] = { false };
        for (unsigned k = below(3); k-- && n_mon < SC_MAX_MONITORS;) {
            gmon_t *m = &mon[n_mon];
            *m = (gmon_t){ .vmm = false, .mib = 1 + below(2) };
            snprintf(m->name, sizeof m->name, "count%u", n_mon);
            for (unsigned e = 1 + below(2); e--;) {
                uint32_t x = below(9);
                while (taken[x])
                    x = (x + 1) % 9;
                taken[x] = true;
                m->exits[m->n_exits++] = x;
            }
            vm[v].stack[vm[v].n_stack++] = (int)n_mon++;
        }
        vm[v].stack[vm[v].n_stack++] = (int)vmm;
    }
    uint32_t total = 0;
    for (unsigned i = 0; i < n_mon; i++) {
        mon[i].mib += mon[i].vmm ? below(4) : 0;
        total += mon[i].mib;
        mon[i].phandle = below(4) ? i + 1 : 0x100 + 7 * i;
    }
    uint32_t machine = total + 16 > 256 ? total + 16 + below(64) : 256;
    if (n_mon > 1 && permille(g->p))                       /* two monitors of one name */
        memcpy(mon[1 + below(n_mon - 1)].name, mon[0].name, sizeof mon[0].name);

    g->err = fdt_finish_reservemap(g->fdt);
    g_begin(g, "");
    g_str(g, "compatible", "nestor,stack");
    if (below(2))
        g_str(g, "model", "a generated stack");
    if (machine != 256 || below(5)) {
        g_begin(g, "machine");
        g_u32(g, "memory-mib", machine);
        if (below(2))
            g_u32(g, "cpus", 1 + below(4));
        g_end(g);
    }
    g_begin(g, "monitors");
    unsigned order[SC_MAX_MONITORS];
    for (unsigned i = 0; i < n_mon; i++)
        order[i] = i;
    for (unsigned i = n_mon; i > 1; i--) {                 /* any order */
        unsigned j = below(i), t = order[i - 1];
        order[i - 1] = order[j], order[j] = t;
    }
    for (unsigned o = 0; o < n_mon; o++) {
        const gmon_t *m = &mon[order[o]];
        g_begin(g, m->name);
        g_str(g, "compatible", m->vmm ? "nestor,vmm-server" : "nestor,count-monitor");
        g_u32(g, "memory-mib", m->mib);
        if (below(3) == 0)
            g_u32(g, "priority", SC_PRIO_MIN + below(SC_PRIO_MAX - SC_PRIO_MIN + 1));
        if (m->vmm && order[o] < 2) {
            static const uint32_t ports[2][4] = { { 0x40, 0x43, 0x61, 0x61 },
                                                  { 0x60, 0x60, 0x64, 0x64 } };
            static const uint32_t irqs[2][2] = { { 0, 8 }, { 1, 12 } };
            if (below(4))
                g_cells(g, "ioports", ports[order[o]], 2 + 2 * (int)below(2));
            if (below(4))
                g_cells(g, "irqs", irqs[order[o]], 1 + (int)below(2));
            if (below(4) == 0)
                g_str(g, "options", "verbose");
        }
        if (!m->vmm && (m->n_exits != 1 || m->exits[0] != 0 || below(2))) {
            char buf[64];
            int len = 0;
            for (unsigned e = 0; e < m->n_exits; e++) {
                const char *s = exit_vocab[m->exits[e]];
                memcpy(buf + len, s, strlen(s) + 1);
                len += (int)strlen(s) + 1;
            }
            g_prop(g, "exits", buf, len);
        }
        g_u32(g, permille(g->p / 4) ? "linux,phandle" : "phandle",
              permille(g->p) ? rnd_u32() : m->phandle);
        g_end(g);
    }
    g_end(g);
    if (permille(g->p / 2))
        g_random_node(g, PICK(node_vocab), 1);              /* a stray root node */
    g_begin(g, "vms");
    for (unsigned v = 0; v < n_vm; v++) {
        char name[16];
        snprintf(name, sizeof name, "vm%u", v && permille(g->p) ? v - 1 : v);   /* or twins */
        g_begin(g, name);
        if (below(5))
            g_str(g, "guest", "hello");
        else
            g_str(g, "nested-config", "demo");
        g_u32(g, "memory-mib", vm[v].mib);
        if (below(4) == 0)
            g_u32(g, "vcpus", 1);
        if (below(3) == 0)
            g_str(g, "cmdline", "console=ttyS0 quiet");
        if (below(3) == 0) {
            char buf[64];
            int len = 0;
            for (unsigned d = 0; d < 5; d++)
                if (below(2)) {
                    memcpy(buf + len, device_vocab[d], strlen(device_vocab[d]) + 1);
                    len += (int)strlen(device_vocab[d]) + 1;
                }
            if (len)
                g_prop(g, "devices", buf, len);
        }
        uint32_t phs[SC_MAX_STACK];
        for (unsigned k = 0; k < vm[v].n_stack; k++)
            phs[k] = mon[vm[v].stack[k]].phandle;
        g_cells(g, "monitors", phs, (int)vm[v].n_stack);
        g_end(g);
    }
    g_end(g);
    g_end(g);
}

/* A tree over the vocabulary, shaped like a stack config at most roughly. */
static void g_random_tree(gen_t *g)
{
    g->err = fdt_finish_reservemap(g->fdt);
    if (!g->err)
        g->err = fdt_begin_node(g->fdt, "");
    if (below(2))
        g_raw(g, "compatible", "nestor,stack", sizeof "nestor,stack");
    for (uint32_t n = below(3); n--;)
        g_stray_prop(g);
    static const char *const top[] = { "machine", "monitors", "vms" };
    for (unsigned i = 0; i < 3; i++)
        if (below(4))
            g_random_node(g, top[i], 1);
    for (uint32_t n = below(2); n--;)
        g_random_node(g, PICK(node_vocab), 1);
    if (!g->err)
        g->err = fdt_end_node(g->fdt);
}

static uint8_t gen_buf[GEN_BUF];

/* A generated blob in gen_buf: its size, or 0 when it did not fit. */
static size_t generate(unsigned p, bool random_tree)
{
    gen_t g = { .fdt = gen_buf, .p = p };
    if (fdt_create(gen_buf, sizeof gen_buf) != 0)
        return 0;
    if (random_tree)
        g_random_tree(&g);
    else
        g_stack(&g);
    if (g.err || fdt_finish(gen_buf) != 0)
        return 0;
    return fdt_totalsize(gen_buf);
}

/* ---- mutations ---- */

static size_t mutate(uint8_t *b, size_t size, size_t cap)
{
    static const uint8_t bytes[] = { 0, 1, 0x7f, 0x80, 0xff, '@', '/', ',', 'a', ' ' };
    for (uint32_t n = 1 + below(6); n-- && size;) {
        switch (below(9)) {
        case 0:
            b[below((uint32_t)size)] ^= (uint8_t)(1u << below(8));
            break;
        case 1:
            b[below((uint32_t)size)] = PICK(bytes);
            break;
        case 2: {                                           /* an aligned cell */
            uint32_t at = below((uint32_t)size) & ~3u;
            if (at + 4 <= size)
                put_be32(b + at, rnd_u32());
            break;
        }
        case 3: {                                           /* a header field nudged */
            uint32_t at = 4 * (1 + below(9));
            if (at + 4 <= size) {
                uint32_t x = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 |
                             (uint32_t)b[at + 2] << 8 | b[at + 3];
                put_be32(b + at, below(3) ? x + below(17) - 8 : rnd_u32());
            }
            break;
        }
        case 4: {                                           /* in the structure block */
            if (size < sizeof(struct fdt_header))
                break;
            uint32_t off = fdt_off_dt_struct(b), len = fdt_size_dt_struct(b);
            if (off < size && len) {
                uint32_t at = off + below(len);
                if (at < size)
                    b[at] = below(2) ? PICK(bytes) : (uint8_t)rnd();
            }
            break;
        }
        case 5:
            if (below(4) == 0)
                size = below((uint32_t)size);               /* truncated */
            break;
        case 6: {                                           /* extended */
            uint32_t add = below((uint32_t)(cap - size) + 1);
            for (uint32_t i = 0; i < add; i++)
                b[size + i] = (uint8_t)rnd();
            size += add;
            break;
        }
        default: {                                          /* a chunk copied */
            uint32_t len = 1 + below(16), from = below((uint32_t)size), to = below((uint32_t)size);
            if (from + len <= size && to + len <= size)
                memmove(b + to, b + from, len);
            break;
        }
        }
    }
    return size;
}

/* ---- the oracle ---- */

static bool exists(void *ctx, sc_file_kind_t kind, const char *name)
{
    (void)ctx;
    switch (kind) {
    case SC_FILE_PROGRAM:
        return !strcmp(name, "vmm") || !strcmp(name, "count-monitor");
    case SC_FILE_IMAGE:
        return !strcmp(name, "hello");
    case SC_FILE_CONFIG:
        return !strcmp(name, "demo");
    }
    return false;
}

static bool name_ok(const char *s)
{
    size_t n = strnlen(s, SC_NAME_MAX);
    if (n == 0 || n >= SC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

/* What an accepted stack must be; NULL if it is, else what is wrong. */
static const char *check_accepted(const sc_stack_t *s, const sc_report_t *rep,
                                  const sc_env_t *env)
{
    if (rep->total || rep->n)
        return "accepted with errors";
    if (s->n_mon < 1 || s->n_mon > SC_MAX_MONITORS || s->n_vm < 1 || s->n_vm > SC_MAX_VMS)
        return "n_mon or n_vm out of range";
    unsigned users[SC_MAX_MONITORS] = { 0 };
    uint64_t total = 0;
    for (unsigned i = 0; i < s->n_mon; i++) {
        const sc_monitor_t *m = &s->mon[i];
        total += m->memory_mib;
        if (!name_ok(m->name) || m->kind >= SC_N_KINDS || m->memory_mib < SC_MONITOR_MIN_MIB ||
            m->priority < SC_PRIO_MIN || m->priority > SC_PRIO_MAX)
            return "a monitor's name, kind, memory or priority";
        if (m->n_ports > SC_MAX_PORT_RANGES || m->n_irqs > SC_MAX_IRQS ||
            m->n_exits > SC_MAX_EXITS || (m->kind == SC_COUNT_MONITOR && !m->n_exits) ||
            (m->kind == SC_VMM_SERVER && m->n_exits))
            return "a monitor's port, IRQ or exit count";
        for (unsigned p = 0; p < m->n_ports; p++)
            if (m->ports[p].first > m->ports[p].last || m->ports[p].last > SC_MAX_PORT ||
                (m->ports[p].first <= SC_CONSOLE_PORT_LAST &&
                 m->ports[p].last >= SC_CONSOLE_PORT_FIRST))
                return "a bad port range";
        for (unsigned q = 0; q < m->n_irqs; q++)
            if (m->irqs[q] > SC_MAX_IRQ_LINE)
                return "a bad IRQ line";
        for (unsigned x = 0; x < m->n_exits; x++)
            if (!sc_exit_name(m->exits[x]))
                return "an unknown exit reason";
        for (unsigned j = 0; j < i; j++) {
            const sc_monitor_t *o = &s->mon[j];
            if (!strcmp(m->name, o->name) || (m->phandle && m->phandle == o->phandle))
                return "two monitors of one name or phandle";
            for (unsigned p = 0; p < m->n_ports; p++)
                for (unsigned q = 0; q < o->n_ports; q++)
                    if (m->ports[p].first <= o->ports[q].last &&
                        o->ports[q].first <= m->ports[p].last)
                        return "a port held by two monitors";
            for (unsigned p = 0; p < m->n_irqs; p++)
                for (unsigned q = 0; q < o->n_irqs; q++)
                    if (m->irqs[p] == o->irqs[q])
                        return "an IRQ held by two monitors";
        }
    }
    uint32_t limit = env && env->memory_limit_mib ? env->memory_limit_mib :
                     s->machine_mib - SC_MACHINE_RESERVED_MIB;
    if (total > limit)
        return "monitor budgets above the machine's";
    int pos[SC_MAX_MONITORS];
    for (unsigned i = 0; i < s->n_mon; i++)
        pos[i] = -1;
    for (unsigned i = 0; i < s->n_mon; i++) {
        int m = s->start_order[i];
        if (m < 0 || m >= (int)s->n_mon || pos[m] >= 0)
            return "start_order is not a permutation";
        pos[m] = (int)i;
    }
    uint64_t need[SC_MAX_MONITORS] = { 0 };
    for (unsigned v = 0; v < s->n_vm; v++) {
        const sc_vm_t *vm = &s->vm[v];
        if (!name_ok(vm->name) || vm->memory_mib < SC_VM_MIN_MIB ||
            vm->memory_mib > SC_VM_MAX_MIB || vm->memory_mib % SC_VM_RAM_GRANULE_MIB ||
            vm->vcpus < 1 || vm->vcpus > SC_VM_MAX_VCPUS || vm->devices & ~(uint32_t)SC_DEV_ALL)
            return "a VM's name, memory, vCPUs or devices";
        for (unsigned j = 0; j < v; j++)
            if (!strcmp(vm->name, s->vm[j].name))
                return "two VMs of one name";
        if (!vm->guest[0] == !vm->nested[0])
            return "a VM with both or neither of guest and nested-config";
        if (vm->n_stack < 1 || vm->n_stack > SC_MAX_STACK)
            return "a VM's stack length";
        for (unsigned k = 0; k < vm->n_stack; k++) {
            int m = vm->stack[k];
            if (m < 0 || m >= (int)s->n_mon)
                return "a stack entry out of range";
            if (s->mon[m].kind != (k == vm->n_stack - 1 ? SC_VMM_SERVER : SC_COUNT_MONITOR))
                return "a stack not of count-monitors ending with a VMM";
            for (unsigned j = 0; j < k; j++)
                if (vm->stack[j] == m)
                    return "a monitor twice in one stack";
            if (k + 1 < vm->n_stack && pos[vm->stack[k + 1]] > pos[m])
                return "a monitor starting before the one it passes exits to";
            users[m]++;
        }
        need[vm->stack[vm->n_stack - 1]] += vm->memory_mib + SC_VMM_PER_VM_MIB;
    }
    for (unsigned i = 0; i < s->n_mon; i++) {
        if (!users[i] || (s->mon[i].kind == SC_COUNT_MONITOR && users[i] > 1))
            return "a monitor unused, or a count-monitor serving two VMs";
        if (s->mon[i].kind == SC_VMM_SERVER && s->mon[i].memory_mib < need[i] + SC_VMM_BASE_MIB)
            return "a VMM's budget below its VMs' needs";
    }
    return NULL;
}

/* What a refused input's report must be; NULL if it is. */
static const char *check_refused(const sc_report_t *rep)
{
    if (rep->total < 1)
        return "refused without an error";
    if (rep->n != (rep->total < SC_MAX_ERRORS ? rep->total : SC_MAX_ERRORS))
        return "stored errors do not match the count";
    for (unsigned i = 0; i < rep->n; i++) {
        if (strnlen(rep->msg[i], SC_MSG_MAX) == SC_MSG_MAX)
            return "a message without its NUL";
        if (strncmp(rep->msg[i], FUZZ_FILE ": /", strlen(FUZZ_FILE ": /")) != 0)
            return "a message not starting with the file and a path";
    }
    return NULL;
}

/* ---- the run ---- */

typedef struct {
    unsigned accepted, refused, skipped;
} tally_t;

static struct {
    unsigned failures;
    char first[512];
} fz;

static sc_stack_t stack;
static sc_report_t rep;

static void fuzz_one(const uint8_t *blob, size_t size, const char *kind, uint64_t seed,
                     uint64_t i, tally_t *t)
{
    static const sc_env_t with_files = { .exists = exists };
    sc_env_t tight = { .exists = exists, .memory_limit_mib = 1 + below(300) };
    uint32_t e = below(8);
    const sc_env_t *env = e == 0 ? NULL : e == 1 ? &tight : &with_files;
    void *copy = malloc(size ? size : 1);                  /* exactly the input: ASan sees past it */
    if (!copy) {
        t->skipped++;
        return;
    }
    memcpy(copy, blob, size);
    bool ok = sc_load(copy, size, FUZZ_FILE, env, &stack, &rep);
    free(copy);
    const char *bad = ok ? check_accepted(&stack, &rep, env) : check_refused(&rep);
    if (ok)
        t->accepted++;
    else
        t->refused++;
    if (bad && fz.failures++ == 0)
        snprintf(fz.first, sizeof fz.first, "%s input %llu of seed 0x%llx (%zu bytes, %s): %s%s%s",
                 kind, (unsigned long long)i, (unsigned long long)seed, size,
                 ok ? "accepted" : "refused", bad, rep.n ? "; first error: " : "",
                 rep.n ? rep.msg[0] : "");
}

static uint64_t env_number(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    unsigned long long x = strtoull(v, &end, 0);
    return *end ? def : (uint64_t)x;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_fuzz(void)
{
    uint64_t seed = env_number("NESTOR_FUZZ_SEED", FUZZ_SEED);
    uint64_t iters = env_number("NESTOR_FUZZ_ITERS", FUZZ_ITERS);
    static uint8_t mut[GEN_BUF + MUT_SLACK];
    tally_t mt = { 0 }, gt = { 0 };
    fz.failures = 0;
    double t0 = now();
    /* (a) valid (or nearly valid) blobs, mutated */
    for (uint64_t i = 0; i < iters; i++) {
        seed_input(seed, i);
        size_t size = generate(below(3) ? 0 : 20, false);
        if (!size) {
            mt.skipped++;
            continue;
        }
        memcpy(mut, gen_buf, size);
        size = mutate(mut, size, size + MUT_SLACK);
        fuzz_one(mut, size, "mutated", seed, i, &mt);
    }
    /* (b) generated trees: good, corrupted at some rate, or random */
    static const unsigned rates[] = { 0, 0, 5, 20, 50, 150, 400 };
    for (uint64_t i = 0; i < iters; i++) {
        seed_input(seed, iters + i);
        bool random_tree = below(5) == 0;
        size_t size = generate(PICK(rates), random_tree);
        if (!size) {
            gt.skipped++;
            continue;
        }
        fuzz_one(gen_buf, size, "generated", seed, iters + i, &gt);
    }
    printf("\n    stackcfg fuzz, seed 0x%llx: mutated blobs %u accepted, %u refused; generated "
           "trees %u accepted, %u refused; %u not built; %.2f s\n    ",
           (unsigned long long)seed, mt.accepted, mt.refused, gt.accepted, gt.refused,
           mt.skipped + gt.skipped, now() - t0);
    if (fz.failures)
        printf("\n    %u bad result(s); the first: %s\n    ", fz.failures, fz.first);
    CU_ASSERT_EQUAL(fz.failures, 0);
    /* The generators must reach both sides, or the oracle checks little. */
    CU_ASSERT(gt.accepted >= iters / 10);
    CU_ASSERT(mt.accepted >= 1 || iters < 1000);
    CU_ASSERT(gt.refused >= iters / 10);
}

UNIT_SUITE(stackcfg_fuzz_suite)
{
    CU_pSuite s = CU_add_suite("stackcfg: fuzzing the validator (seeded)", NULL, NULL);
    CU_add_test(s, "mutated blobs and generated trees: sc_load returns, reports hold",
                test_fuzz);
}
