/*
 * stackcfg/stackcfg.c - read a stack config blob and check it against the
 * bindings (stack-configs/BINDINGS.md). Reading never trusts the blob:
 * fdt_check_full() first, then every property's length is checked before
 * its bytes are used. Errors are collected, never fatal, so one run names
 * them all.
 */
#include "stackcfg.h"
#include <fmt.h>
#include <libfdt.h>
#include <nestor/bootinfo.h>
#include <nestor/vcpu.h>
#include <string.h>

#define MONITORS_PATH "/monitors"
#define VMS_PATH      "/vms"
#define MACHINE_PATH  "/machine"
#define STACK_COMPATIBLE "nestor,stack"
#define PATH_MAX_LEN  128
#define DESC_MAX      96

/* Where the stack being read sits: the outermost one, or a nested one read
 * for a VM of the stack around it (and so on out). */
typedef struct {
    unsigned depth;                             /* 0: the outermost stack */
    const char *chain[SC_MAX_NESTING + 1];      /* config names, outermost first */
    char prefix[SC_MODULE_NAME_MAX + 1];        /* its files' names in the outermost stack
                                                   begin so ("demo/", "demo/image inner/") */
    char too_long[SC_MODULE_NAME_MAX + 16];     /* a file whose boot module name does not fit */
} nest_t;

typedef struct {
    const void *fdt;
    const char *file;
    const sc_env_t *env;
    sc_stack_t *s;
    sc_report_t *rep;
    nest_t *nest;
} ctx_t;

static const char *const kind_compat[SC_N_KINDS] = {
    [SC_VMM_SERVER] = "nestor,vmm-server", [SC_COUNT_MONITOR] = "nestor,count-monitor",
    [SC_NESTED_VMX] = "nestor,nested-vmx", [SC_VIRTIO_CONSOLE] = "nestor,virtio-console",
    [SC_INSPECTOR] = "nestor,inspector", [SC_BLK] = "nestor,blk", [SC_PAGER] = "nestor,pager",
    [SC_CHECKPOINT] = "nestor,checkpoint", [SC_NET] = "nestor,net",
};
#define KINDS_EXPECTED "\"nestor,vmm-server\", \"nestor,count-monitor\", \"nestor,nested-vmx\", " \
                       "\"nestor,virtio-console\", \"nestor,inspector\", \"nestor,blk\", \"nestor,pager\", " \
                       "\"nestor,checkpoint\" or \"nestor,net\""

static const char *const kind_prog[SC_N_KINDS] = {
    [SC_VMM_SERVER] = "vmm", [SC_COUNT_MONITOR] = "count-monitor",
    [SC_NESTED_VMX] = "nested-vmx", [SC_VIRTIO_CONSOLE] = "virtio-console",
    [SC_INSPECTOR] = "inspector", [SC_BLK] = "blk", [SC_PAGER] = "pager",
    [SC_CHECKPOINT] = "checkpoint", [SC_NET] = "net",
};

/* What nested-vmx takes of its VM's exits (nested-vmx/README.md): the VMX
 * instructions (SDM Vol. 3C 25.1.3: they exit unconditionally), RDMSR and
 * WRMSR (IA32_FEATURE_CONTROL and the VMX capability MSRs are its), and
 * control-register accesses (CR4.VMXE may not be cleared in VMX operation,
 * SDM 23.8). Everything else goes on to the monitor below it. */
static const uint32_t nvmx_exits[] = {
    NESTOR_EXIT_VMCLEAR, NESTOR_EXIT_VMLAUNCH, NESTOR_EXIT_VMPTRLD, NESTOR_EXIT_VMPTRST,
    NESTOR_EXIT_VMREAD, NESTOR_EXIT_VMRESUME, NESTOR_EXIT_VMWRITE, NESTOR_EXIT_VMXOFF,
    NESTOR_EXIT_VMXON, NESTOR_EXIT_INVEPT, NESTOR_EXIT_INVVPID, NESTOR_EXIT_RDMSR,
    NESTOR_EXIT_WRMSR, NESTOR_EXIT_CR_ACCESS,
};
_Static_assert(sizeof nvmx_exits / sizeof nvmx_exits[0] <= SC_MAX_EXITS, "nested-vmx exits fit");
static const uint32_t inspector_exits[] = {
    SC_EXIT_DEBUG_EXCEPTION, SC_EXIT_BREAKPOINT, NESTOR_EXIT_PREEMPT_TIMER,
    NESTOR_EXIT_DR_ACCESS,
};


const char *sc_kind_compatible(sc_kind_t k) { return k < SC_N_KINDS ? kind_compat[k] : "?"; }
const char *sc_kind_program(sc_kind_t k) { return k < SC_N_KINDS ? kind_prog[k] : "?"; }

/* Exit reasons a stacked monitor may take, by name (SDM Vol. 3D Appendix C,
 * basic exit reasons). */
static const struct { const char *name; uint32_t reason; } exit_names[] = {
    { "cpuid", NESTOR_EXIT_CPUID }, { "hlt", NESTOR_EXIT_HLT }, { "rdtsc", NESTOR_EXIT_RDTSC },
    { "vmcall", NESTOR_EXIT_VMCALL }, { "cr-access", NESTOR_EXIT_CR_ACCESS },
    { "io", NESTOR_EXIT_IO }, { "rdmsr", NESTOR_EXIT_RDMSR }, { "wrmsr", NESTOR_EXIT_WRMSR },
    { "ept-violation", NESTOR_EXIT_EPT_VIOLATION },
    /* Named for topology lines (nested-vmx's) only: not for 'exits'. */
    { "vmclear", NESTOR_EXIT_VMCLEAR }, { "vmlaunch", NESTOR_EXIT_VMLAUNCH },
    { "vmptrld", NESTOR_EXIT_VMPTRLD }, { "vmptrst", NESTOR_EXIT_VMPTRST },
    { "vmread", NESTOR_EXIT_VMREAD }, { "vmresume", NESTOR_EXIT_VMRESUME },
    { "vmwrite", NESTOR_EXIT_VMWRITE }, { "vmxoff", NESTOR_EXIT_VMXOFF },
    { "vmxon", NESTOR_EXIT_VMXON }, { "invept", NESTOR_EXIT_INVEPT },
    { "invvpid", NESTOR_EXIT_INVVPID },
    /* ... and for the VMM's exits by reason. */
    { "exception", NESTOR_EXIT_EXCEPTION }, { "external-interrupt", NESTOR_EXIT_EXTERNAL_INT },
    { "triple-fault", NESTOR_EXIT_TRIPLE_FAULT }, { "interrupt-window", NESTOR_EXIT_INTR_WINDOW },
    { "nmi-window", NESTOR_EXIT_NMI_WINDOW }, { "task-switch", NESTOR_EXIT_TASK_SWITCH },
    { "invd", NESTOR_EXIT_INVD }, { "invlpg", NESTOR_EXIT_INVLPG },
    { "rdpmc", NESTOR_EXIT_RDPMC }, { "dr-access", NESTOR_EXIT_DR_ACCESS },
    { "invalid-state", NESTOR_EXIT_INVALID_STATE }, { "mwait", NESTOR_EXIT_MWAIT },
    { "monitor", NESTOR_EXIT_MONITOR }, { "pause", NESTOR_EXIT_PAUSE },
    { "ept-misconfig", NESTOR_EXIT_EPT_MISCONFIG }, { "rdtscp", NESTOR_EXIT_RDTSCP },
    { "preemption-timer", NESTOR_EXIT_PREEMPT_TIMER }, { "wbinvd", NESTOR_EXIT_WBINVD },
    { "xsetbv", NESTOR_EXIT_XSETBV },
    /* ... and the inspector's exception exits (their table slots). */
    { "debug-exception", SC_EXIT_DEBUG_EXCEPTION }, { "breakpoint", SC_EXIT_BREAKPOINT },
};
#define N_EXIT_NAMES (sizeof exit_names / sizeof exit_names[0])
#define N_COUNT_EXIT_NAMES 9    /* the first ones: what a count monitor's 'exits' may name */

const char *sc_exit_name(uint32_t reason)
{
    for (size_t i = 0; i < N_EXIT_NAMES; i++)
        if (exit_names[i].reason == reason)
            return exit_names[i].name;
    return NULL;
}

static const char *const device_names[] = { "pic", "pit", "rtc", "lapic", "uart" };
#define N_DEVICES (sizeof device_names / sizeof device_names[0])

void sc_devices_str(uint32_t devices, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_DEVICES; i++)
        if (devices & (1u << i))
            used += (size_t)fmt_snprintf(buf + used, used < size ? size - used : 0, "%s%s",
                                         used ? "," : "", device_names[i]);
    if (!used && size)
        fmt_snprintf(buf, size, "none");
}

/* ---- errors ---- */

static void node_path(const ctx_t *c, int node, char *buf, int size)
{
    if (node < 0 || fdt_get_path(c->fdt, node, buf, size) != 0)
        fmt_snprintf(buf, (size_t)size, "/");
}

static void error(ctx_t *c, int node, const char *prop, const char *expected, const char *got)
{
    c->rep->total++;
    if (c->rep->n >= SC_MAX_ERRORS)
        return;
    char path[PATH_MAX_LEN];
    node_path(c, node, path, sizeof path);
    char *msg = c->rep->msg[c->rep->n++];
    fmt_snprintf(msg, SC_MSG_MAX, "%s: %s: property '%s': expected %s, got %s", c->file, path,
                 prop, expected, got);
    /* Names and values come from the blob: no control bytes reach a console. */
    for (char *p = msg; *p; p++)
        if (*p < 0x20 || *p > 0x7E)
            *p = '?';
}

/* ---- typed property readers: each says what is wrong and returns false ---- */

static const void *get(ctx_t *c, int node, const char *prop, int *len)
{
    const void *v = fdt_getprop(c->fdt, node, prop, len);
    return v;
}

/* A NUL-terminated printable string, at most @max bytes with the NUL. */
static bool is_string(const char *v, int len, size_t max)
{
    if (len < 1 || (size_t)len > max || v[len - 1] != '\0' || strlen(v) != (size_t)len - 1)
        return false;
    for (int i = 0; i < len - 1; i++)
        if (v[i] < 0x20 || v[i] > 0x7E)
            return false;
    return true;
}

static void got_len(char *buf, int len)
{
    fmt_snprintf(buf, DESC_MAX, "%d byte%s", len, len == 1 ? "" : "s");
}

/* Read string @prop into @out (size @max). Absent: @required says whether
 * that is an error; returns false when absent or bad. */
static bool read_string(ctx_t *c, int node, const char *prop, char *out, size_t max,
                        bool required)
{
    int len;
    const char *v = get(c, node, prop, &len);
    if (!v) {
        if (required)
            error(c, node, prop, "a string (required)", "nothing");
        return false;
    }
    if (!is_string(v, len, max)) {
        char got[DESC_MAX], exp[DESC_MAX];
        got_len(got, len);
        fmt_snprintf(exp, sizeof exp, "one printable string of at most %u characters",
                     (unsigned)max - 1);
        const char *nul = len > 0 ? memchr(v, '\0', (size_t)len) : NULL;
        if (len > 0 && !nul)
            fmt_snprintf(got, sizeof got, "%d byte%s with no NUL at the end", len,
                         len == 1 ? "" : "s");
        error(c, node, prop, exp, nul && nul != v + len - 1 ?
                                      "several strings or bytes after a NUL" : got);
        return false;
    }
    memcpy(out, v, (size_t)len);
    return true;
}

static uint32_t be32_at(const void *v, int i)
{
    const uint8_t *p = (const uint8_t *)v + 4 * i;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One u32 cell in [lo, hi]; absent -> @def (or an error if @required). */
static bool read_u32(ctx_t *c, int node, const char *prop, uint32_t lo, uint32_t hi,
                     bool required, uint32_t def, uint32_t *out)
{
    int len;
    const void *v = get(c, node, prop, &len);
    *out = def;
    char exp[DESC_MAX], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "one cell <N> with %u <= N <= %u%s", lo, hi,
                 required ? " (required)" : "");
    if (!v) {
        if (required)
            error(c, node, prop, exp, "nothing");
        return !required;
    }
    if (len != 4) {
        got_len(got, len);
        error(c, node, prop, exp, got);
        return false;
    }
    uint32_t x = be32_at(v, 0);
    if (x < lo || x > hi) {
        fmt_snprintf(got, sizeof got, "%u", x);
        error(c, node, prop, exp, got);
        return false;
    }
    *out = x;
    return true;
}

/* A string list; each entry must be one of @names[0..n). Returns the bit
 * set of the entries (bit i for names[i]), @def when absent. */
static uint32_t read_name_set(ctx_t *c, int node, const char *prop, const char *const *names,
                              size_t n, uint32_t def, const char *what)
{
    int len;
    const char *v = get(c, node, prop, &len);
    if (!v)
        return def;
    uint32_t set = 0;
    char exp[DESC_MAX * 2];
    size_t used = (size_t)fmt_snprintf(exp, sizeof exp, "a list of %s from", what);
    for (size_t i = 0; i < n; i++)
        used += (size_t)fmt_snprintf(exp + used, used < sizeof exp ? sizeof exp - used : 0,
                                     " \"%s\"", names[i]);
    if (len < 2 || v[len - 1] != '\0') {
        error(c, node, prop, exp, len == 0 ? "an empty property" : "bytes that are not strings");
        return def;
    }
    for (int off = 0; off < len;) {
        const char *s = v + off;
        size_t l = strlen(s);
        size_t i = 0;
        while (i < n && strcmp(s, names[i]) != 0)
            i++;
        if (i == n) {
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "\"%.40s\"", s);
            error(c, node, prop, exp, got);
        } else if (set & (1u << i)) {
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "\"%s\" twice", s);
            error(c, node, prop, exp, got);
        }
        set |= i < n ? 1u << i : 0;
        off += (int)l + 1;
    }
    return set;
}

/* ---- names ---- */

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

/* Whether a sibling before @node has its name: dtc never writes that, but a
 * blob made otherwise may, and every lookup by name would find the first. */
static bool name_twice(ctx_t *c, int node)
{
    int len, sib, parent = fdt_parent_offset(c->fdt, node);
    const char *n = fdt_get_name(c->fdt, node, &len);
    if (!n || parent < 0)
        return false;
    fdt_for_each_subnode(sib, c->fdt, parent) {
        int l;
        const char *o = fdt_get_name(c->fdt, sib, &l);
        if (sib == node)
            return false;
        if (o && l == len && memcmp(o, n, (size_t)len) == 0)
            return true;
    }
    return false;
}

static bool node_name(ctx_t *c, int node, char *out)
{
    const char *n = fdt_get_name(c->fdt, node, NULL);
    /* Kept even when bad, so later checks still find the node by its name. */
    strncpy(out, n ? n : "", SC_NAME_MAX - 1);
    out[SC_NAME_MAX - 1] = '\0';
    if (!n || !name_ok(n)) {
        char got[DESC_MAX];
        fmt_snprintf(got, sizeof got, "\"%.40s\"", n ? n : "?");
        error(c, node, "name", "a node name of 1-31 characters from a-z 0-9 - _ (no unit address)",
              got);
        return false;
    }
    if (name_twice(c, node)) {
        char got[DESC_MAX];
        fmt_snprintf(got, sizeof got, "\"%s\" again", n);
        error(c, node, "name", "a name no other node beside it has", got);
        return false;
    }
    return true;
}

/* Every property of @node must be in @allowed (NULL-terminated); dtc's
 * automatic 'phandle' and 'linux,phandle' are always allowed. */
static void unknown_props(ctx_t *c, int node, const char *const *allowed)
{
    int p;
    fdt_for_each_property_offset(p, c->fdt, node) {
        const char *name;
        if (!fdt_getprop_by_offset(c->fdt, p, &name, NULL) || !name)
            continue;
        bool ok = strcmp(name, "phandle") == 0 || strcmp(name, "linux,phandle") == 0;
        char exp[DESC_MAX * 2] = "no properties";
        if (allowed[0])
            fmt_snprintf(exp, sizeof exp, "one of");
        size_t used = strlen(exp);
        for (size_t i = 0; allowed[i]; i++) {
            ok |= strcmp(name, allowed[i]) == 0;
            used += (size_t)fmt_snprintf(exp + used, used < sizeof exp ? sizeof exp - used : 0,
                                         " %s", allowed[i]);
        }
        if (!ok)
            error(c, node, name, exp, "an unknown property");
        int q;
        fdt_for_each_property_offset(q, c->fdt, node) {
            const char *other;
            if (q == p)
                break;
            if (fdt_getprop_by_offset(c->fdt, q, &other, NULL) && other && !strcmp(other, name)) {
                error(c, node, name, "the property once", "it again");
                break;
            }
        }
    }
}

static void no_subnodes(ctx_t *c, int node)
{
    int sub = fdt_first_subnode(c->fdt, node);
    if (sub >= 0) {
        char got[DESC_MAX];
        fmt_snprintf(got, sizeof got, "subnode '%.40s'", fdt_get_name(c->fdt, sub, NULL));
        error(c, node, "(subnodes)", "no subnodes", got);
    }
}

static void no_props(ctx_t *c, int node)
{
    static const char *const none[] = { NULL };
    unknown_props(c, node, none);
}

/* ---- files, and where a nested stack's files are ---- */

/* The boot module string file @name of @kind has on the stack's own machine. */
static size_t own_module(char *out, size_t size, sc_file_kind_t kind, const char *name)
{
    if (kind == SC_FILE_CONFIG)     /* a nested stack's config, among the images */
        return (size_t)fmt_snprintf(out, size, SC_MODULE_IMAGE "%s" SC_NESTED_SEP
                                    SC_MODULE_CONFIG "%s", name, name);
    return (size_t)fmt_snprintf(out, size, "%s%s",
                                kind == SC_FILE_PROGRAM ? SC_MODULE_PROGRAM : SC_MODULE_IMAGE,
                                name);
}

/*
 * The boot module that carries file @name of @kind on the outermost machine,
 * into @out: its own ("program vmm", "image hello", "image demo/stack-config
 * demo"), or, inside a nested stack, an image named by the stack's prefix and
 * that ("image demo/program vmm"). Returns its length (more than
 * SC_MODULE_NAME_MAX: no such module can be booted).
 */
static size_t outer_module(const ctx_t *c, sc_file_kind_t kind, const char *name, char *out,
                           size_t size)
{
    if (!c->nest->depth)
        return own_module(out, size, kind, name);
    size_t n = (size_t)fmt_snprintf(out, size, SC_MODULE_IMAGE "%s", c->nest->prefix);
    return n + own_module(n < size ? out + n : NULL, n < size ? size - n : 0, kind, name);
}

/* Ask the place we run in about file @name of @kind: the outermost stack's
 * own names as they are; a nested stack's as images of the outermost stack.
 * False (and @too_long noted) when the file could not be booted by name. */
static bool placed(ctx_t *c, sc_file_kind_t *kind, const char *name, char *out, size_t size)
{
    char mod[SC_MODULE_NAME_MAX + 64];
    size_t n = outer_module(c, *kind, name, mod, sizeof mod);
    if (n > SC_MODULE_NAME_MAX) {
        if (!c->nest->too_long[0])
            fmt_snprintf(c->nest->too_long, sizeof c->nest->too_long, "%.*s...",
                         SC_MODULE_NAME_MAX, mod);
        return false;
    }
    if (!c->nest->depth)
        fmt_snprintf(out, size, "%s", name);
    else
        fmt_snprintf(out, size, "%s", mod + strlen(SC_MODULE_IMAGE)), *kind = SC_FILE_IMAGE;
    return true;
}

/* Whether the place we run in has file @name of @kind (true if it cannot
 * tell, or if the name cannot be booted: that is said on its own). */
static bool file_exists(ctx_t *c, sc_file_kind_t kind, const char *name)
{
    char where[SC_MODULE_NAME_MAX + 1];
    if (!c->env || !c->env->exists || !placed(c, &kind, name, where, sizeof where))
        return true;
    return c->env->exists(c->env->ctx, kind, where);
}

bool sc_nested_file(char *buf, size_t size, const char *config, const char *inner)
{
    size_t n = (size_t)fmt_snprintf(buf, size, "%s" SC_NESTED_SEP "%s", config, inner);
    return n < size && strlen(SC_MODULE_IMAGE) + n <= SC_MODULE_NAME_MAX;
}

const char *sc_nested_inner(const char *file)
{
    const char *sep = strrchr(file, SC_NESTED_SEP[0]);
    return sep ? sep + 1 : NULL;
}

bool sc_vm_has_vmx(const sc_stack_t *s, const sc_vm_t *vm)
{
    for (unsigned k = 0; k < vm->n_stack; k++)
        if (s->mon[vm->stack[k]].kind == SC_NESTED_VMX)
            return true;
    return false;
}

/* Required string @prop naming a file of @kind: a well-formed name
 * (@exp_name otherwise) of a file that exists (@exp_exists otherwise).
 * True if it is both. */
static bool read_file_name(ctx_t *c, int node, const char *prop, char *out, sc_file_kind_t kind,
                           const char *exp_name, const char *exp_exists)
{
    if (!read_string(c, node, prop, out, SC_NAME_MAX, true))
        return false;
    char got[DESC_MAX];
    if (!name_ok(out)) {
        fmt_snprintf(got, sizeof got, "\"%s\"", out);
        error(c, node, prop, exp_name, got);
        return false;
    }
    if (!file_exists(c, kind, out)) {
        fmt_snprintf(got, sizeof got, "\"%s\", which does not exist", out);
        error(c, node, prop, exp_exists, got);
        return false;
    }
    return true;
}

/* ---- /machine ---- */

static const struct { uint32_t first, last; const char *what; } kernel_ports[] = {
    { SC_CONSOLE_PORT_FIRST, SC_CONSOLE_PORT_LAST, "the kernel's console (COM1)" },
    { SC_PIC1_PORT_FIRST, SC_PIC1_PORT_LAST, "the kernel's master PIC" },
    { SC_PIC2_PORT_FIRST, SC_PIC2_PORT_LAST, "the kernel's slave PIC" },
};
#define N_KERNEL_PORTS (sizeof kernel_ports / sizeof kernel_ports[0])

static void read_machine(ctx_t *c)
{
    sc_stack_t *s = c->s;
    s->machine_mib = SC_MACHINE_DEFAULT_MIB;
    s->machine_cpus = SC_MACHINE_DEFAULT_CPUS;
    int node = fdt_path_offset(c->fdt, MACHINE_PATH);
    if (node < 0)
        return;
    static const char *const props[] = { "memory-mib", "cpus", NULL };
    unknown_props(c, node, props);
    no_subnodes(c, node);
    if (read_u32(c, node, "memory-mib", SC_MACHINE_RESERVED_MIB, 1u << 20, false,
                 SC_MACHINE_DEFAULT_MIB, &s->machine_mib) &&
        c->env && c->env->machine_mib && s->machine_mib > c->env->machine_mib) {
        char exp[DESC_MAX], got[DESC_MAX];
        fmt_snprintf(exp, sizeof exp, "at most the %u MiB of the machine it boots on",
                     c->env->machine_mib);
        fmt_snprintf(got, sizeof got, "%u", s->machine_mib);
        error(c, node, "memory-mib", exp, got);
    }
    read_u32(c, node, "cpus", 1, 64, false, SC_MACHINE_DEFAULT_CPUS, &s->machine_cpus);
}

/* ---- /monitors ---- */

static void read_ports(ctx_t *c, int node, sc_monitor_t *m)
{
    int len;
    const void *v = get(c, node, "ioports", &len);
    if (!v)
        return;
    char exp[DESC_MAX], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "1 to %d pairs <FIRST LAST> with FIRST <= LAST <= 0x%x",
                 SC_MAX_PORT_RANGES, SC_MAX_PORT);
    if (len == 0 || len % 8 || len / 8 > SC_MAX_PORT_RANGES) {
        got_len(got, len);
        error(c, node, "ioports", exp, got);
        return;
    }
    for (int i = 0; i < len / 8; i++) {
        uint32_t a = be32_at(v, 2 * i), b = be32_at(v, 2 * i + 1);
        if (a > b || b > SC_MAX_PORT) {
            fmt_snprintf(got, sizeof got, "<0x%x 0x%x>", a, b);
            error(c, node, "ioports", exp, got);
            continue;
        }
        const char *kernels = NULL;
        for (size_t k = 0; k < N_KERNEL_PORTS; k++)
            if (a <= kernel_ports[k].last && b >= kernel_ports[k].first)
                kernels = kernel_ports[k].what;
        if (kernels) {
            fmt_snprintf(got, sizeof got, "<0x%x 0x%x>, which includes %s", a, b, kernels);
            error(c, node, "ioports", "ports the kernel issues (not 0x20-0x21, 0xa0-0xa1, "
                  "0x3f8-0x3ff: the PICs and the console are the kernel's)", got);
            continue;
        }
        m->ports[m->n_ports++] = (sc_port_range_t){ a, b };
    }
}

static void read_irqs(ctx_t *c, int node, sc_monitor_t *m)
{
    int len;
    const void *v = get(c, node, "irqs", &len);
    if (!v)
        return;
    char exp[DESC_MAX], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "1 to %d cells, IRQ lines 0..%d", SC_MAX_IRQS, SC_MAX_IRQ_LINE);
    if (len == 0 || len % 4 || len / 4 > SC_MAX_IRQS) {
        got_len(got, len);
        error(c, node, "irqs", exp, got);
        return;
    }
    for (int i = 0; i < len / 4; i++) {
        uint32_t irq = be32_at(v, i);
        if (irq > SC_MAX_IRQ_LINE) {
            fmt_snprintf(got, sizeof got, "%u", irq);
            error(c, node, "irqs", exp, got);
            continue;
        }
        m->irqs[m->n_irqs++] = irq;
    }
}

static void read_exits(ctx_t *c, int node, sc_monitor_t *m)
{
    const char *names[N_COUNT_EXIT_NAMES];
    for (size_t i = 0; i < N_COUNT_EXIT_NAMES; i++)
        names[i] = exit_names[i].name;
    uint32_t set = read_name_set(c, node, "exits", names, N_COUNT_EXIT_NAMES, 1u /* cpuid */,
                                 "exit reasons");
    for (size_t i = 0; i < N_COUNT_EXIT_NAMES; i++) {
        if (!(set & (1u << i)))
            continue;
        if (m->n_exits == SC_MAX_COUNT_EXITS) {
            char exp[DESC_MAX];
            fmt_snprintf(exp, sizeof exp, "at most %d exit reasons", SC_MAX_COUNT_EXITS);
            error(c, node, "exits", exp, "more");
            break;
        }
        m->exits[m->n_exits++] = exit_names[i].reason;
    }
}

/* A sector range of two cells <FIRST COUNT>, COUNT >= 1, FIRST + COUNT
 * within 32 bits of sectors (2 TiB): @cells 2; or, with @phandle, three
 * cells <&SERVER FIRST COUNT> ('blk'). */
static bool read_sectors(ctx_t *c, int node, const char *prop, bool phandle, uint32_t *ph,
                         sc_sectors_t *out)
{
    int len;
    const void *v = get(c, node, prop, &len);
    if (!v)
        return false;
    const int cells = phandle ? 3 : 2;
    const char *exp = phandle ? "<&SERVER FIRST COUNT>: a nestor,blk monitor and the sectors "
                                "FIRST to FIRST+COUNT-1 of its disk (COUNT >= 1, below 2^32)"
                              : "<FIRST COUNT>: the sectors FIRST to FIRST+COUNT-1 of the disk "
                                "(COUNT >= 1, below 2^32)";
    char got[DESC_MAX];
    if (len != 4 * cells) {
        got_len(got, len);
        error(c, node, prop, exp, got);
        return false;
    }
    uint64_t first = be32_at(v, cells - 2), count = be32_at(v, cells - 1);
    if (count == 0 || first + count > (1ULL << 32)) {
        fmt_snprintf(got, sizeof got, "<%lu %lu>", (unsigned long)first, (unsigned long)count);
        error(c, node, prop, exp, got);
        return false;
    }
    if (phandle)
        *ph = be32_at(v, 0);
    *out = (sc_sectors_t){ first, count };
    return true;
}

/* Whether @props (a NULL-ended list of property names) has @name. */
static bool props_allow(const char *const *props, const char *name)
{
    for (; *props; props++)
        if (strcmp(*props, name) == 0)
            return true;
    return false;
}

static void read_monitor(ctx_t *c, int node)
{
    sc_stack_t *s = c->s;
    if (s->n_mon == SC_MAX_MONITORS) {
        char exp[DESC_MAX];
        fmt_snprintf(exp, sizeof exp, "at most %d monitors", SC_MAX_MONITORS);
        error(c, fdt_parent_offset(c->fdt, node), "(subnodes)", exp, "more");
        return;
    }
    sc_monitor_t *m = &s->mon[s->n_mon];
    memset(m, 0, sizeof *m);
    m->node = node;
    m->blk_server = -1;
    m->phandle = fdt_get_phandle(c->fdt, node);
    bool ok = node_name(c, node, m->name);
    for (unsigned i = 0; m->phandle && i < s->n_mon; i++)
        if (s->mon[i].phandle == m->phandle) {
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "%u, which '%s' has too", m->phandle, s->mon[i].name);
            error(c, node, "phandle", "a phandle no other monitor has", got);
            m->phandle = 0;             /* VMs naming it find the first */
            break;
        }
    char compat[SC_NAME_MAX * 2] = "";
    m->kind = SC_N_KINDS;
    if (read_string(c, node, "compatible", compat, sizeof compat, true)) {
        for (int k = 0; k < SC_N_KINDS; k++)
            if (strcmp(compat, kind_compat[k]) == 0)
                m->kind = (sc_kind_t)k;
        if (m->kind == SC_N_KINDS) {
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "\"%.60s\"", compat);
            error(c, node, "compatible", KINDS_EXPECTED, got);
        }
    }
    static const char *const vmm_props[] = { "compatible", "memory-mib", "priority", "ioports",
                                             "irqs", "options", NULL };
    static const char *const cm_props[] = { "compatible", "memory-mib", "priority", "exits",
                                            "blk", NULL };
    static const char *const nvmx_props[] = { "compatible", "memory-mib", "priority", "blk",
                                              NULL };
    static const char *const server_props[] = { "compatible", "memory-mib", "priority",
                                                "options", NULL };
    static const char *const blk_props[] = { "compatible", "memory-mib", "priority", "ioports",
                                             "irqs", "options", "vm-sectors", "image", NULL };
    static const char *const insp_props[] = { "compatible", "memory-mib", "priority", "ioports",
                                              "irqs", "options", "blk", "level", NULL };
    static const char *const ckpt_props[] = { "compatible", "memory-mib", "priority", "options",
                                              "blk", "ioports", "irqs", NULL };
    const char *const *props = m->kind == SC_COUNT_MONITOR ? cm_props
                               : m->kind == SC_NESTED_VMX || m->kind == SC_PAGER ? nvmx_props
                               : m->kind == SC_INSPECTOR   ? insp_props
                               : m->kind == SC_CHECKPOINT  ? ckpt_props
                               : m->kind == SC_BLK         ? blk_props
                               : sc_kind_is_device_server(m->kind) ? server_props : vmm_props;
    unknown_props(c, node, props);
    if (sc_kind_blk_client(m->kind) &&
        read_sectors(c, node, "blk", true, &m->blk_phandle, &m->blk_sectors) && !m->blk_phandle)
        error(c, node, "blk", "<&SERVER FIRST COUNT> with a phandle", "phandle 0");
    no_subnodes(c, node);
    read_u32(c, node, "memory-mib", SC_MONITOR_MIN_MIB, 1u << 20, true, 0, &m->memory_mib);
    read_u32(c, node, "priority", SC_PRIO_MIN, SC_PRIO_MAX, false,
             m->kind == SC_VMM_SERVER ? SC_PRIO_VMM_DEFAULT : SC_PRIO_MONITOR_DEFAULT,
             &m->priority);
    if (m->kind == SC_COUNT_MONITOR) {
        read_exits(c, node, m);
    } else if (m->kind == SC_NESTED_VMX) {
        for (size_t i = 0; i < sizeof nvmx_exits / sizeof nvmx_exits[0]; i++)
            m->exits[m->n_exits++] = nvmx_exits[i];
    } else if (m->kind == SC_INSPECTOR) {
        /* Its exits are fixed; its host serial port (the link to gdb) comes
         * by grant (ioports below), like a VMM's devices. At level 2 they
         * are L2's (nested-vmx's vCPU), and MOV DR is not among them: it
         * holds no debug registers there (inspector/README.md). */
        read_u32(c, node, "level", SC_INSPECTOR_LEVEL_VM, SC_INSPECTOR_LEVEL_L2, false,
                 SC_INSPECTOR_LEVEL_VM, &m->guest_level);
        for (size_t i = 0; i < sizeof inspector_exits / sizeof inspector_exits[0]; i++)
            if (m->guest_level == SC_INSPECTOR_LEVEL_VM ||
                inspector_exits[i] != NESTOR_EXIT_DR_ACCESS)
                m->exits[m->n_exits++] = inspector_exits[i];
    } else if (m->kind == SC_CHECKPOINT) {
        /* Only its own pauses and timer (NESTOR_VCPU_PAUSE, NESTOR_VCPU_SET_TIMER
         * at its level exit as NESTOR_EXIT_PREEMPT_TIMER): the exit
         * boundaries it takes checkpoints at (checkpoint/README.md). */
        m->exits[m->n_exits++] = NESTOR_EXIT_PREEMPT_TIMER;
    } else if (m->kind == SC_PAGER) {
        /* EPT violations (SDM Vol. 3C 28.3.3.2, basic reason 48): the
         * faults of the RAM it owns; it passes the others (MMIO) on. */
        m->exits[m->n_exits++] = NESTOR_EXIT_EPT_VIOLATION;
    }
    /* Host devices by grant and options, for the kinds that take them. */
    if (props_allow(props, "ioports")) {
        read_ports(c, node, m);
        read_irqs(c, node, m);
    }
    if (props_allow(props, "options"))
        read_string(c, node, "options", m->options, sizeof m->options, false);
    if (m->kind == SC_BLK) {
        /* The ATA channel's ports come by grant (device-servers/blk/ata.h). */
        read_sectors(c, node, "vm-sectors", false, NULL, &m->vm_sectors);
        if (fdt_getprop(c->fdt, node, "image", NULL))
            read_file_name(c, node, "image", m->image, SC_FILE_IMAGE,
                           "an image name from a-z 0-9 - _", "a disk image that exists");
        bool cmd = false, ctl = false;
        for (unsigned p = 0; p < m->n_ports; p++) {
            cmd |= m->ports[p].first <= SC_BLK_PORT_FIRST && m->ports[p].last >= SC_BLK_PORT_LAST;
            ctl |= m->ports[p].first <= SC_BLK_CTL_PORT && m->ports[p].last >= SC_BLK_CTL_PORT;
        }
        /* A server of an image only drives no disk: it may go without
         * them (then it has no clients: check_blk). */
        if ((!cmd || !ctl) && !(m->n_ports == 0 && m->image[0]))
            error(c, node, "ioports", "the primary ATA channel's ports, <0x1f0 0x1f7 0x3f6 "
                  "0x3f6> (the disk it drives)", m->n_ports ? "ranges without them" : "none");
    }
    if (ok && m->kind != SC_N_KINDS && !file_exists(c, SC_FILE_PROGRAM, sc_kind_program(m->kind))) {
        char got[DESC_MAX];
        fmt_snprintf(got, sizeof got, "no program '%s' to run it", sc_kind_program(m->kind));
        error(c, node, "compatible", "a monitor whose program is built", got);
    }
    s->n_mon++;
}

static void read_monitors(ctx_t *c)
{
    int parent = fdt_path_offset(c->fdt, MONITORS_PATH);
    if (parent < 0) {
        error(c, 0, "monitors", "a /monitors node with at least one monitor", "no such node");
        return;
    }
    no_props(c, parent);
    int node;
    fdt_for_each_subnode(node, c->fdt, parent)
        read_monitor(c, node);
    if (c->s->n_mon == 0)
        error(c, parent, "(subnodes)", "at least one monitor", "none");
}

/* ---- /vms ---- */

static int monitor_by_phandle(const ctx_t *c, uint32_t ph)
{
    for (unsigned i = 0; i < c->s->n_mon; i++)
        if (ph && c->s->mon[i].phandle == ph)
            return (int)i;
    return -1;
}

static void read_stack(ctx_t *c, int node, sc_vm_t *vm)
{
    int len;
    const void *v = get(c, node, "monitors", &len);
    char exp[DESC_MAX * 2], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "1 to %d phandles of /monitors nodes, from the VM outward, "
                 "ending with a nestor,vmm-server", SC_MAX_STACK);
    if (!v) {
        error(c, node, "monitors", exp, "nothing (required)");
        return;
    }
    if (len == 0 || len % 4 || len / 4 > SC_MAX_STACK) {
        got_len(got, len);
        error(c, node, "monitors", exp, got);
        return;
    }
    for (int i = 0; i < len / 4; i++) {
        uint32_t ph = be32_at(v, i);
        int m = monitor_by_phandle(c, ph);
        if (m < 0) {
            int target = fdt_node_offset_by_phandle(c->fdt, ph);
            char path[PATH_MAX_LEN];
            if (target >= 0)
                node_path(c, target, path, sizeof path);
            fmt_snprintf(got, sizeof got, target >= 0 ? "phandle %u, which is %.80s" :
                         "phandle %u, which names no node (dangling)", ph, path);
            error(c, node, "monitors", exp, got);
            continue;
        }
        for (unsigned j = 0; j < vm->n_stack; j++)
            if (vm->stack[j] == m) {
                fmt_snprintf(got, sizeof got, "'%s' twice: a stacking cycle (its exits would "
                             "come back to it)", c->s->mon[m].name);
                error(c, node, "monitors", exp, got);
                m = -1;
                break;
            }
        if (m >= 0)
            vm->stack[vm->n_stack++] = m;
    }
    for (unsigned i = 0; i < vm->n_stack; i++) {
        const sc_monitor_t *m = &c->s->mon[vm->stack[i]];
        bool last = i == vm->n_stack - 1;
        if (m->kind == SC_N_KINDS)
            continue;               /* reported with its node */
        if (sc_kind_is_device_server(m->kind)) {
            fmt_snprintf(got, sizeof got, "'%s', a device server (it goes in 'virtio')",
                         m->name);
            error(c, node, "monitors", exp, got);
            continue;
        }
        if (last != (m->kind == SC_VMM_SERVER)) {
            fmt_snprintf(got, sizeof got, last ? "'%s' (%s) last" : "'%s' (a VMM) before the "
                         "end", m->name, sc_kind_compatible(m->kind));
            error(c, node, "monitors", exp, got);
        }
        /* The VMM hands a pager the VM's RAM: the pager sits right above
         * it, and the VM has RAM beyond what the VMM keeps. */
        if (m->kind == SC_PAGER && i + 2 != vm->n_stack) {
            fmt_snprintf(got, sizeof got, "pager '%s' not right before the VMM", m->name);
            error(c, node, "monitors", "a pager right before the VMM (<... &pager &vmm>)", got);
        }
        /* An inspector of L2 is stacked by nested-vmx on its L2 vCPU: the
         * nested-vmx of this VM comes right after it. */
        if (m->kind == SC_INSPECTOR && m->guest_level == SC_INSPECTOR_LEVEL_L2 &&
            (last || c->s->mon[vm->stack[i + 1]].kind != SC_NESTED_VMX)) {
            fmt_snprintf(got, sizeof got, "inspector '%s' with level <2> not right before "
                         "nested-vmx", m->name);
            error(c, node, "monitors", "an inspector of L2 right before nested-vmx (<&insp "
                  "&nvmx ... &vmm>)", got);
        }
        if (m->kind == SC_PAGER && (vm->memory_mib <= SC_PAGER_VMM_KEEP_MIB || vm->nested[0] ||
                                    vm->linux_kernel)) {
            char want[DESC_MAX];
            fmt_snprintf(want, sizeof want, "a VM under a pager: a 'guest' image and more than "
                         "%d MiB of RAM", SC_PAGER_VMM_KEEP_MIB);
            fmt_snprintf(got, sizeof got, "%u MiB%s", vm->memory_mib,
                         vm->nested[0] ? ", a nested stack" : vm->linux_kernel ? ", a Linux "
                         "kernel" : "");
            error(c, node, "memory-mib", want, got);
        }
    }
}

/* "modules": Multiboot modules, each "FILE" or "FILE STRING": an image
 * name (checked as 'guest' is) and the module's string. */
static void read_modules(ctx_t *c, int node, sc_vm_t *vm)
{
    int len;
    const char *v = get(c, node, "modules", &len);
    if (!v)
        return;
    char exp[DESC_MAX * 2], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "1 to %d strings \"FILE\" or \"FILE STRING\" (FILE an image "
                 "name, the whole at most %d printable characters)", SC_MAX_GUEST_MODULES,
                 SC_OPTIONS_MAX - 1);
    if (len < 2 || v[len - 1] != '\0') {
        error(c, node, "modules", exp, len == 0 ? "an empty property" : "bytes that are not strings");
        return;
    }
    if (!vm->guest[0] && fdt_getprop(c->fdt, node, "nested-config", NULL))
        error(c, node, "modules", "no modules on a VM running a nested stack", "some");
    for (int off = 0; off < len;) {
        const char *e = v + off;
        size_t l = strlen(e);
        off += (int)l + 1;
        if (vm->n_modules == SC_MAX_GUEST_MODULES) {
            fmt_snprintf(got, sizeof got, "more than %d", SC_MAX_GUEST_MODULES);
            error(c, node, "modules", exp, got);
            return;
        }
        if (!is_string(e, (int)l + 1, SC_OPTIONS_MAX)) {
            fmt_snprintf(got, sizeof got, "entry %u: %lu bytes or unprintable ones", vm->n_modules,
                         (unsigned long)l);
            error(c, node, "modules", exp, got);
            continue;
        }
        sc_module_t *m = &vm->modules[vm->n_modules];
        const char *sp = strchr(e, ' ');
        size_t fl = sp ? (size_t)(sp - e) : l;
        memset(m, 0, sizeof *m);
        if (fl >= SC_NAME_MAX)
            fl = SC_NAME_MAX - 1;
        memcpy(m->file, e, fl);
        memcpy(m->string, sp ? sp + 1 : "", sp ? l - (size_t)(sp - e) : 1);
        if (!name_ok(m->file)) {
            fmt_snprintf(got, sizeof got, "\"%.60s\": FILE not a name from a-z 0-9 - _", e);
            error(c, node, "modules", exp, got);
        } else if (!file_exists(c, SC_FILE_IMAGE, m->file)) {
            fmt_snprintf(got, sizeof got, "\"%s\", which does not exist", m->file);
            error(c, node, "modules", "module files that exist (build/guests/FILE.bin or .elf)",
                  got);
        }
        vm->n_modules++;
    }
}

/* "virtio": the device servers of the VM's virtio devices, device N's
 * first (window and IRQ line by N: vm_layout.h). */
static void read_virtio(ctx_t *c, int node, sc_vm_t *vm)
{
    int len;
    const void *v = get(c, node, "virtio", &len);
    if (!v)
        return;
    char exp[DESC_MAX * 2], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "1 to %d phandles of device-server /monitors nodes (%s, "
                 "%s or %s), each once", SC_MAX_VIRTIO, sc_kind_compatible(SC_VIRTIO_CONSOLE),
                 sc_kind_compatible(SC_BLK), sc_kind_compatible(SC_NET));
    if (len == 0 || len % 4 || len / 4 > (int)SC_MAX_VIRTIO) {
        got_len(got, len);
        error(c, node, "virtio", exp, got);
        return;
    }
    for (int i = 0; i < len / 4; i++) {
        uint32_t ph = be32_at(v, i);
        int m = monitor_by_phandle(c, ph);
        if (m < 0) {
            fmt_snprintf(got, sizeof got, "phandle %u, which names no monitor", ph);
            error(c, node, "virtio", exp, got);
            continue;
        }
        const sc_monitor_t *mon = &c->s->mon[m];
        bool twice = false;
        for (unsigned j = 0; j < vm->n_virtio; j++)
            twice |= vm->virtio[j] == m;
        if (twice) {
            fmt_snprintf(got, sizeof got, "'%s' twice", mon->name);
            error(c, node, "virtio", exp, got);
        } else if (mon->kind != SC_N_KINDS && !sc_kind_is_device_server(mon->kind)) {
            fmt_snprintf(got, sizeof got, "'%s' (%s), which is no device server", mon->name,
                         sc_kind_compatible(mon->kind));
            error(c, node, "virtio", exp, got);
        } else {
            vm->virtio[vm->n_virtio++] = m;
        }
    }
}

unsigned sc_vm_files(const sc_vm_t *vm, const char *out[1 + SC_MAX_GUEST_MODULES])
{
    unsigned n = 0;
    if (vm->guest[0])
        out[n++] = vm->guest;
    for (unsigned i = 0; i < vm->n_modules; i++)
        out[n++] = vm->modules[i].file;
    return n;
}

/* 'vmcs-shadowing' = "on" | "off" (default on): whether nested-vmx may keep
 * the VM's hypervisor's most used VMCS fields in a shadow VMCS (SDM Vol. 3C
 * 24.10) where the CPU has VMCS shadowing. Only with a nested-vmx in the
 * VM's stack (read_stack first): without it the guest sees no VMX. */
static void read_shadowing(ctx_t *c, int node, sc_vm_t *vm)
{
    static const char exp[] = "\"on\" or \"off\" (a VM whose 'monitors' include a "
                              "nestor,nested-vmx)";
    char v[SC_NAME_MAX], got[DESC_MAX];
    vm->vmcs_shadowing = true;
    if (!get(c, node, "vmcs-shadowing", NULL))
        return;
    if (!read_string(c, node, "vmcs-shadowing", v, sizeof v, true))
        return;
    if (strcmp(v, "on") && strcmp(v, "off")) {
        fmt_snprintf(got, sizeof got, "\"%.40s\"", v);
        error(c, node, "vmcs-shadowing", exp, got);
        return;
    }
    vm->vmcs_shadowing = strcmp(v, "on") == 0;
    if (vm->n_stack && !sc_vm_has_vmx(c->s, vm))
        error(c, node, "vmcs-shadowing", exp, "a VM without nested-vmx (it sees no VMX)");
}

static void read_vm(ctx_t *c, int node)
{
    sc_stack_t *s = c->s;
    if (s->n_vm == SC_MAX_VMS) {
        char exp[DESC_MAX];
        fmt_snprintf(exp, sizeof exp, "at most %d VMs", SC_MAX_VMS);
        error(c, fdt_parent_offset(c->fdt, node), "(subnodes)", exp, "more");
        return;
    }
    sc_vm_t *vm = &s->vm[s->n_vm];
    memset(vm, 0, sizeof *vm);
    vm->node = node;
    node_name(c, node, vm->name);   /* a bad name is an error; the VM still counts */
    static const char *const props[] = { "guest", "nested-config", "kernel", "initrd",
                                         "memory-mib", "vcpus", "cmdline", "devices", "modules",
                                         "monitors", "virtio", "vmcs-shadowing", NULL };
    unknown_props(c, node, props);
    no_subnodes(c, node);
    bool has_guest = fdt_getprop(c->fdt, node, "guest", NULL) != NULL;
    bool has_nested = fdt_getprop(c->fdt, node, "nested-config", NULL) != NULL;
    bool has_kernel = fdt_getprop(c->fdt, node, "kernel", NULL) != NULL;
    bool has_initrd = fdt_getprop(c->fdt, node, "initrd", NULL) != NULL;
    if (has_guest + has_nested + has_kernel != 1)
        error(c, node, "guest", "one of 'guest' (an image), 'nested-config' (a stack config) or "
              "'kernel' (a Linux bzImage)", has_guest + has_nested + has_kernel ? "more" : "none");
    else if (has_guest)
        read_file_name(c, node, "guest", vm->guest, SC_FILE_IMAGE,
                       "an image name from a-z 0-9 - _", "a guest image that exists");
    else if (has_kernel) {
        vm->linux_kernel = true;
        read_file_name(c, node, "kernel", vm->guest, SC_FILE_IMAGE,
                       "an image name from a-z 0-9 - _", "a kernel image that exists");
    } else
        read_file_name(c, node, "nested-config", vm->nested, SC_FILE_CONFIG,
                       "a config name from a-z 0-9 - _ (no .dts)", "a stack config in stack-configs/");
    if (read_u32(c, node, "memory-mib", SC_VM_MIN_MIB, SC_VM_MAX_MIB, false, SC_VM_DEFAULT_MIB,
                 &vm->memory_mib) && vm->memory_mib % SC_VM_RAM_GRANULE_MIB) {
        char got[DESC_MAX];
        fmt_snprintf(got, sizeof got, "%u", vm->memory_mib);
        error(c, node, "memory-mib", "a multiple of 2 (guest RAM is built of 2 MiB pages)", got);
    }
    read_u32(c, node, "vcpus", 1, SC_VM_MAX_VCPUS, false, 1, &vm->vcpus);
    read_string(c, node, "cmdline", vm->cmdline, sizeof vm->cmdline, false);
    if (has_initrd && !has_kernel)
        error(c, node, "initrd", "an initrd only with 'kernel' (a Linux bzImage)", "one");
    if (has_kernel && fdt_getprop(c->fdt, node, "modules", NULL))
        error(c, node, "modules", "no modules with 'kernel' (its one module is 'initrd')", "some");
    if (has_kernel && has_initrd) {
        sc_module_t *m = &vm->modules[0];
        memset(m, 0, sizeof *m);
        if (read_file_name(c, node, "initrd", m->file, SC_FILE_IMAGE,
                           "an image name from a-z 0-9 - _", "an initrd image that exists"))
            vm->n_modules = 1;
    } else {
        read_modules(c, node, vm);
    }
    vm->devices = read_name_set(c, node, "devices", device_names, N_DEVICES, SC_DEV_ALL,
                                "devices");
    read_stack(c, node, vm);
    read_virtio(c, node, vm);
    read_shadowing(c, node, vm);
    s->n_vm++;
}

static void read_vms(ctx_t *c)
{
    int parent = fdt_path_offset(c->fdt, VMS_PATH);
    if (parent < 0) {
        error(c, 0, "vms", "a /vms node with at least one VM", "no such node");
        return;
    }
    no_props(c, parent);
    int node;
    fdt_for_each_subnode(node, c->fdt, parent)
        read_vm(c, node);
    if (c->s->n_vm == 0)
        error(c, parent, "(subnodes)", "at least one VM", "none");
}

/* ---- checks across nodes ---- */

const sc_monitor_t *sc_vm_pager(const sc_stack_t *s, const sc_vm_t *vm)
{
    if (vm->n_stack < 2 || vm->stack[vm->n_stack - 2] < 0)
        return NULL;
    const sc_monitor_t *m = &s->mon[vm->stack[vm->n_stack - 2]];
    return m->kind == SC_PAGER ? m : NULL;
}

uint32_t sc_vm_vmm_ram_mib(const sc_stack_t *s, const sc_vm_t *vm)
{
    return sc_vm_pager(s, vm) && vm->memory_mib > SC_PAGER_VMM_KEEP_MIB ? SC_PAGER_VMM_KEEP_MIB
                                                                         : vm->memory_mib;
}

static void check_budgets(ctx_t *c)
{
    sc_stack_t *s = c->s;
    uint64_t total = 0;
    char exp[DESC_MAX], got[DESC_MAX];
    for (unsigned i = 0; i < s->n_mon; i++) {
        const sc_monitor_t *m = &s->mon[i];
        total += m->memory_mib;
        if (m->kind != SC_VMM_SERVER)
            continue;
        uint64_t need = SC_VMM_BASE_MIB, ram = 0;
        unsigned vms = 0, n_files = 0, n_nested = 0;
        const char *files[SC_MAX_VMS * (1 + SC_MAX_GUEST_MODULES)];
        for (unsigned v = 0; v < s->n_vm; v++) {
            if (!s->vm[v].n_stack || sc_vm_vmm(s, &s->vm[v]) != m)
                continue;
            need += sc_vm_vmm_ram_mib(s, &s->vm[v]) + SC_VMM_PER_VM_MIB, vms++;
            ram += sc_vm_vmm_ram_mib(s, &s->vm[v]);
            bool nested_seen = false;       /* a nested stack's files: once per config */
            for (unsigned w = 0; s->vm[v].nested[0] && w < v; w++)
                nested_seen |= s->vm[w].n_stack && sc_vm_vmm(s, &s->vm[w]) == m &&
                               strcmp(s->vm[w].nested, s->vm[v].nested) == 0;
            n_nested += nested_seen ? 0 : s->vm[v].nested_files;
            const char *mine[1 + SC_MAX_GUEST_MODULES];
            unsigned n = sc_vm_files(&s->vm[v], mine);
            for (unsigned f = 0; f < n; f++) {
                bool seen = false;
                for (unsigned g = 0; g < n_files; g++)
                    seen |= strcmp(files[g], mine[f]) == 0;
                if (!seen)
                    files[n_files++] = mine[f];
            }
        }
        if (ram > SC_VMM_MAX_RAM_MIB) {
            fmt_snprintf(exp, sizeof exp, "VMs of at most %d MiB of RAM in all on one VMM (two "
                         "capability slots per 2 MiB frame)", SC_VMM_MAX_RAM_MIB);
            fmt_snprintf(got, sizeof got, "%lu MiB", (unsigned long)ram);
            error(c, m->node, "memory-mib", exp, got);
        }
        if (n_files + n_nested > SC_VMM_MAX_FILES) {
            fmt_snprintf(exp, sizeof exp, "VMs booting at most %d distinct files (images, "
                         "modules, nested stacks' files) on one VMM", SC_VMM_MAX_FILES);
            fmt_snprintf(got, sizeof got, "%u", n_files + n_nested);
            error(c, m->node, "compatible", exp, got);
        }
        if (m->memory_mib < need) {
            fmt_snprintf(exp, sizeof exp, "at least %lu MiB for its %u VM%s (RAM + %d MiB each, "
                         "+ %d)", (unsigned long)need, vms, vms == 1 ? "" : "s",
                         SC_VMM_PER_VM_MIB, SC_VMM_BASE_MIB);
            fmt_snprintf(got, sizeof got, "%u", m->memory_mib);
            error(c, m->node, "memory-mib", exp, got);
        }
    }
    uint32_t limit = c->env && c->env->memory_limit_mib ? c->env->memory_limit_mib :
                     s->machine_mib > SC_MACHINE_RESERVED_MIB ?
                     s->machine_mib - SC_MACHINE_RESERVED_MIB : 0;
    if (total > limit) {
        fmt_snprintf(exp, sizeof exp, "monitor budgets of at most %u MiB in all (%s)", limit,
                     c->env && c->env->memory_limit_mib ? "the memory this machine has free" :
                     "machine memory-mib less 16 for kernel and init");
        fmt_snprintf(got, sizeof got, "%lu MiB", (unsigned long)total);
        int node = fdt_path_offset(c->fdt, MONITORS_PATH);
        error(c, node, "memory-mib", exp, got);
    }
    for (unsigned v = 0; v < s->n_vm; v++)
        if (s->vm[v].vcpus > s->machine_cpus) {
            fmt_snprintf(exp, sizeof exp, "at most the machine's %u CPUs", s->machine_cpus);
            fmt_snprintf(got, sizeof got, "%u", s->vm[v].vcpus);
            error(c, s->vm[v].node, "vcpus", exp, got);
        }
}

/* What init grants a VMM must fit its boot info's grant list: its port
 * ranges and IRQ lines, an endpoint per monitor stacked on its VMs and per
 * device server of their 'virtio'. */
static void check_vmm_grants(ctx_t *c, const sc_monitor_t *m)
{
    unsigned grants = m->n_ports + m->n_irqs;
    for (unsigned v = 0; v < c->s->n_vm; v++) {
        const sc_vm_t *vm = &c->s->vm[v];
        if (vm->n_stack && sc_vm_vmm(c->s, vm) == m)
            grants += vm->n_stack - 1 + vm->n_virtio;
    }
    if (grants <= NESTOR_BOOTINFO_MAX_GRANTS)
        return;
    char exp[DESC_MAX * 2], got[DESC_MAX];
    fmt_snprintf(exp, sizeof exp, "a VMM granted at most %d capabilities (port ranges, IRQ "
                 "lines, stacked monitors and device servers of its VMs)",
                 NESTOR_BOOTINFO_MAX_GRANTS);
    fmt_snprintf(got, sizeof got, "%u", grants);
    error(c, m->node, "compatible", exp, got);
}

/* Devices two monitors both hold: no port or IRQ line may be granted twice. */
static void check_devices(ctx_t *c)
{
    sc_stack_t *s = c->s;
    for (unsigned i = 0; i < s->n_mon; i++)
        if (s->mon[i].kind == SC_VMM_SERVER)
            check_vmm_grants(c, &s->mon[i]);
    for (unsigned i = 0; i < s->n_mon; i++)
        for (unsigned j = i + 1; j < s->n_mon; j++) {
            const sc_monitor_t *a = &s->mon[i], *b = &s->mon[j];
            char got[DESC_MAX];
            for (unsigned p = 0; p < a->n_ports; p++)
                for (unsigned q = 0; q < b->n_ports; q++)
                    if (a->ports[p].first <= b->ports[q].last &&
                        b->ports[q].first <= a->ports[p].last) {
                        fmt_snprintf(got, sizeof got, "<0x%x 0x%x>, which '%s' holds too",
                                     b->ports[q].first, b->ports[q].last, a->name);
                        error(c, b->node, "ioports", "ports no other monitor holds", got);
                    }
            for (unsigned p = 0; p < a->n_irqs; p++)
                for (unsigned q = 0; q < b->n_irqs; q++)
                    if (a->irqs[p] == b->irqs[q]) {
                        fmt_snprintf(got, sizeof got, "%u, which '%s' holds too", b->irqs[q],
                                     a->name);
                        error(c, b->node, "irqs", "IRQ lines no other monitor holds", got);
                    }
        }
}

/* Whether @a and @b may both take preemption-timer exits: the inspector
 * (pauses only) and the checkpoint monitor (its timer; a pause only to
 * restore): the kernel sends a pause or timer exit to the handler at the
 * level of the monitor that asked for it first (microkernel/kernel/vcpu.c
 * deliver_exit_at), so neither sees the other's; one pause and one timer
 * per vCPU (nestor/invocations.h NESTOR_VCPU_PAUSE, _SET_TIMER). */
static bool shared_timer_ok(const sc_monitor_t *a, const sc_monitor_t *b)
{
    return (a->kind == SC_INSPECTOR && b->kind == SC_CHECKPOINT) ||
           (a->kind == SC_CHECKPOINT && b->kind == SC_INSPECTOR);
}

/* Two monitors stacked on @vm must not take the same exit reason. */
static void check_shared_exits(ctx_t *c, const sc_vm_t *vm, const sc_monitor_t *ma,
                               const sc_monitor_t *mb)
{
    for (unsigned x = 0; x < ma->n_exits; x++)
        for (unsigned y = 0; y < mb->n_exits; y++) {
            if (ma->exits[x] != mb->exits[y] ||
                (ma->exits[x] == NESTOR_EXIT_PREEMPT_TIMER && shared_timer_ok(ma, mb)))
                continue;
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "'%s' and '%s' both taking %s exits", ma->name,
                         mb->name, sc_exit_name(ma->exits[x]));
            error(c, vm->node, "monitors", "each exit reason taken by one stacked monitor", got);
        }
}

/* Two partitions of one disk share a sector. */
static bool sectors_overlap(const sc_sectors_t *a, const sc_sectors_t *b)
{
    return a->first < b->first + b->count && b->first < a->first + a->count;
}

/*
 * Block servers (device-servers/blk): each client's 'blk' names a
 * nestor,blk monitor, at most SC_BLK_MAX_CLIENTS clients per server (their
 * badges, blk_proto.h); a server some VM's 'virtio' names has the VM's
 * 'vm-sectors' or its 'image' (not both), one no VM names has neither; no
 * two partitions of one server (its VM's and its clients') share a
 * sector: each client gets only its own.
 */
static void check_blk(ctx_t *c)
{
    sc_stack_t *s = c->s;
    char got[DESC_MAX];
    for (unsigned i = 0; i < s->n_mon; i++) {
        sc_monitor_t *m = &s->mon[i];
        if (!m->blk_phandle)
            continue;
        int srv = monitor_by_phandle(c, m->blk_phandle);
        if (srv < 0 || s->mon[srv].kind != SC_BLK) {
            if (srv < 0)
                fmt_snprintf(got, sizeof got, "phandle %u, which names no monitor",
                             m->blk_phandle);
            else
                fmt_snprintf(got, sizeof got, "'%s' (%s)", s->mon[srv].name,
                             sc_kind_compatible(s->mon[srv].kind));
            error(c, m->node, "blk", "<&SERVER FIRST COUNT> naming a nestor,blk monitor", got);
            continue;
        }
        unsigned n = 0;
        for (unsigned k = 0; k < i; k++)
            n += s->mon[k].blk_server == srv;
        if (n == SC_BLK_MAX_CLIENTS) {
            char exp[DESC_MAX];
            fmt_snprintf(exp, sizeof exp, "at most %d clients of one block server",
                         SC_BLK_MAX_CLIENTS);
            fmt_snprintf(got, sizeof got, "'%s' has more", s->mon[srv].name);
            error(c, m->node, "blk", exp, got);
            continue;
        }
        if (s->mon[srv].n_ports == 0) {
            fmt_snprintf(got, sizeof got, "'%s', which drives no disk (no 'ioports': an image "
                         "only)", s->mon[srv].name);
            error(c, m->node, "blk", "<&SERVER FIRST COUNT> naming a block server with a disk",
                  got);
            continue;
        }
        m->blk_server = srv;
        m->blk_client = n;
    }
    /* A paged VM's device server pins pages through the VM's pager, which
     * may be writing to swap right then (pager/README.md "Device DMA"):
     * the pager's swap server must not be one of the VM's virtio servers,
     * or each would wait for the other. */
    for (unsigned v = 0; v < s->n_vm; v++) {
        const sc_monitor_t *pager = sc_vm_pager(s, &s->vm[v]);
        for (unsigned k = 0; pager && pager->blk_server >= 0 && k < s->vm[v].n_virtio; k++)
            if (pager->blk_server == s->vm[v].virtio[k]) {
                fmt_snprintf(got, sizeof got, "'%s', which serves VM '%s''s virtio device %u",
                             s->mon[pager->blk_server].name, s->vm[v].name, k);
                error(c, pager->node, "blk", "a swap server that serves none of its VM's "
                      "devices (a device's pin would wait for the pager's swap I/O)", got);
            }
    }
    for (unsigned j = 0; j < s->n_mon; j++) {
        const sc_monitor_t *b = &s->mon[j];
        if (b->kind != SC_BLK)
            continue;
        bool named = false;
        for (unsigned v = 0; v < s->n_vm; v++)
            for (unsigned k = 0; k < s->vm[v].n_virtio; k++)
                named |= s->vm[v].virtio[k] == (int)j;
        if (named && !b->vm_sectors.count && !b->image[0])
            error(c, b->node, "vm-sectors", "<FIRST COUNT>: the sectors of the virtio disk of "
                  "the VM whose 'virtio' names it", "none");
        if (b->vm_sectors.count && b->image[0])
            error(c, b->node, "image", "either 'image' or 'vm-sectors' as its VM's disk", "both");
        if (!named && b->image[0])
            error(c, b->node, "image", "none: no VM's 'virtio' names this server", "an image");
        if (!named && b->vm_sectors.count)
            error(c, b->node, "vm-sectors", "none: no VM's 'virtio' names this server",
                  "a partition");
        for (unsigned i = 0; i < s->n_mon; i++) {
            const sc_monitor_t *m = &s->mon[i];
            if (m->blk_server != (int)j)
                continue;
            const char *other = NULL;
            if (b->vm_sectors.count && sectors_overlap(&m->blk_sectors, &b->vm_sectors))
                other = "its VM's 'vm-sectors'";
            for (unsigned k = 0; !other && k < i; k++)
                if (s->mon[k].blk_server == (int)j &&
                    sectors_overlap(&m->blk_sectors, &s->mon[k].blk_sectors))
                    other = s->mon[k].name;
            if (other) {
                char exp[DESC_MAX];
                fmt_snprintf(exp, sizeof exp, "sectors no other partition of '%s' has", b->name);
                fmt_snprintf(got, sizeof got, "<%lu %lu>, which overlap %s",
                             (unsigned long)m->blk_sectors.first,
                             (unsigned long)m->blk_sectors.count, other);
                error(c, m->node, "blk", exp, got);
            }
        }
    }
}

_Static_assert(SC_MAX_VMS <= SC_NET_MAX_VMS, "a network server has a port for every VM");

/* Each monitor must serve some VM; a stacked monitor serves one VM (its
 * exit-table slots are that VM's); its exits must not be taken twice. */
static void check_service(ctx_t *c)
{
    sc_stack_t *s = c->s;
    for (unsigned i = 0; i < s->n_mon; i++) {
        const sc_monitor_t *m = &s->mon[i];
        unsigned users = 0;
        for (unsigned v = 0; v < s->n_vm; v++) {
            for (unsigned k = 0; k < s->vm[v].n_stack; k++)
                users += s->vm[v].stack[k] == (int)i;
            for (unsigned k = 0; k < s->vm[v].n_virtio; k++)
                users += s->vm[v].virtio[k] == (int)i;
        }
        char got[DESC_MAX];
        bool server = sc_kind_is_device_server(m->kind);
        unsigned clients = 0;
        for (unsigned k = 0; k < s->n_mon; k++)
            clients += s->mon[k].blk_server == (int)i;
        if (m->kind == SC_BLK && users == 0 && clients)
            continue;               /* a block server for monitors only */
        if (users == 0)
            error(c, m->node, "compatible", m->kind == SC_BLK ? "a block server some VM's "
                  "'virtio' or some monitor's 'blk' names" : server ?
                  "a device server some VM's 'virtio' names" :
                  "a monitor some VM's 'monitors' names", "one no VM uses");
        if (m->kind == SC_NET) {
            /* A network server: one virtio-net device of each VM it
             * serves (read_virtio refuses a second one in one VM), each
             * VM a port of its switch (net_proto.h); a port for every VM
             * a stack may have (the assertion above). Init names the
             * ports on its command line ("net.portP=VM", init/main.c,
             * after "monitor=NAME" and its options, which init writes
             * twice): they must all fit. */
            size_t len = strlen("monitor=") + strlen(m->name) +
                         (m->options[0] ? 2 * (1 + strlen(m->options)) : 0);
            for (unsigned v = 0, p = 0; v < s->n_vm; v++)
                for (unsigned k = 0; k < s->vm[v].n_virtio; k++)
                    if (s->vm[v].virtio[k] == (int)i)
                        len += (size_t)fmt_snprintf(got, sizeof got, " " NET_PORT_OPT "%u=%s",
                                                    p++, s->vm[v].name);
            if (len >= NESTOR_BOOTINFO_CMDLINE_MAX) {
                char exp[DESC_MAX];
                fmt_snprintf(exp, sizeof exp, "a network server whose name, options and VMs' "
                             "names fit its command line (%u characters)",
                             NESTOR_BOOTINFO_CMDLINE_MAX - 1);
                fmt_snprintf(got, sizeof got, "%lu characters", (unsigned long)len);
                error(c, m->node, "compatible", exp, got);
            }
        } else if (server && users > 1) {
            fmt_snprintf(got, sizeof got, "%u virtio devices", users);
            error(c, m->node, "compatible", "a device server serving one virtio device of one "
                  "VM (give each device its own)", got);
        } else if (m->kind != SC_VMM_SERVER && users > 1) {
            fmt_snprintf(got, sizeof got, "%u VMs stacking it", users);
            error(c, m->node, "compatible", "a stacked monitor serving one VM (give each VM its "
                  "own)", got);
        }
    }
    for (unsigned v = 0; v < s->n_vm; v++) {
        const sc_vm_t *vm = &s->vm[v];
        for (unsigned a = 0; a + 1 < vm->n_stack; a++)
            for (unsigned b = a + 1; b + 1 < vm->n_stack; b++)
                check_shared_exits(c, vm, &s->mon[vm->stack[a]], &s->mon[vm->stack[b]]);
    }
}

/*
 * Start order: a monitor passes exits to the next one in a VM's stack, so
 * that one must run first. Across VMs the "passes to" edges must form no
 * cycle (A under B for one VM, B under A for another): such a stack has no
 * start order. Kahn's algorithm; what is left over is the cycle.
 */
static void order_starts(ctx_t *c)
{
    sc_stack_t *s = c->s;
    bool edge[SC_MAX_MONITORS][SC_MAX_MONITORS] = { { false } };
    for (unsigned v = 0; v < s->n_vm; v++) {
        for (unsigned k = 0; k + 1 < s->vm[v].n_stack; k++)
            edge[s->vm[v].stack[k]][s->vm[v].stack[k + 1]] = true;
        /* The VMM hands each device server its VM: the server runs first. */
        for (unsigned k = 0; s->vm[v].n_stack && k < s->vm[v].n_virtio; k++)
            edge[s->vm[v].stack[s->vm[v].n_stack - 1]][s->vm[v].virtio[k]] = true;
    }
    /* A block server runs before its clients. */
    for (unsigned i = 0; i < s->n_mon; i++)
        if (s->mon[i].blk_server >= 0)
            edge[i][s->mon[i].blk_server] = true;
    bool done[SC_MAX_MONITORS] = { false };
    unsigned n = 0;
    for (bool progress = true; progress && n < s->n_mon;) {
        progress = false;
        for (unsigned i = 0; i < s->n_mon; i++) {
            bool ready = !done[i];
            for (unsigned j = 0; ready && j < s->n_mon; j++)
                ready = !(edge[i][j] && !done[j]);
            if (ready) {
                done[i] = true;
                s->start_order[n++] = (int)i;
                progress = true;
            }
        }
    }
    if (n == s->n_mon)
        return;
    char got[SC_MSG_MAX / 2] = "";
    size_t used = 0;
    for (unsigned i = 0; i < s->n_mon; i++)
        if (!done[i])
            used += (size_t)fmt_snprintf(got + used, used < sizeof got ? sizeof got - used : 0,
                                         "%s%s", used ? " <-> " : "a stacking cycle among ",
                                         s->mon[i].name);
    error(c, fdt_path_offset(c->fdt, VMS_PATH), "monitors",
          "one stacking order for all VMs (no monitor both under and over another)", got);
}

static void read_root(ctx_t *c)
{
    static const char *const props[] = { "compatible", "model", NULL };
    unknown_props(c, 0, props);
    char compat[SC_NAME_MAX] = "";
    if (read_string(c, 0, "compatible", compat, sizeof compat, true) &&
        strcmp(compat, STACK_COMPATIBLE) != 0) {
        char got[DESC_MAX];
        fmt_snprintf(got, sizeof got, "\"%s\"", compat);
        error(c, 0, "compatible", "\"" STACK_COMPATIBLE "\"", got);
    }
    read_string(c, 0, "model", c->s->model, sizeof c->s->model, false);
    int node;
    fdt_for_each_subnode(node, c->fdt, 0) {
        const char *n = fdt_get_name(c->fdt, node, NULL);
        if (n && strcmp(n, "machine") && strcmp(n, "monitors") && strcmp(n, "vms") &&
            strcmp(n, "__symbols__")) {
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "node '%.40s'", n);
            error(c, 0, "(subnodes)", "only /machine, /monitors and /vms", got);
        } else if (n && name_twice(c, node)) {
            char got[DESC_MAX];
            fmt_snprintf(got, sizeof got, "node '%.40s' again", n);
            error(c, 0, "(subnodes)", "each of /machine, /monitors and /vms at most once", got);
        }
    }
}

/* ---- nested stacks ---- */

/* Boot modules a stack boots with on a machine of its own: the root task,
 * each program and image once, each nested stack's files once, the config. */
static void count_boot_files(ctx_t *c)
{
    sc_stack_t *s = c->s;
    unsigned n = 2;                                 /* the root task and the config */
    for (unsigned i = 0; i < s->n_mon; i++) {
        bool seen = false;
        for (unsigned j = 0; j < i; j++)
            seen |= s->mon[j].kind == s->mon[i].kind;
        n += !seen;
    }
    const char *files[SC_MAX_VMS * (1 + SC_MAX_GUEST_MODULES) + SC_MAX_MONITORS];
    unsigned n_files = 0;
    for (unsigned v = 0; v < s->n_vm; v++) {
        const sc_vm_t *vm = &s->vm[v];
        bool seen = false;
        for (unsigned w = 0; vm->nested[0] && w < v; w++)
            seen |= strcmp(s->vm[w].nested, vm->nested) == 0;
        n += seen ? 0 : vm->nested_files;
        const char *mine[1 + SC_MAX_GUEST_MODULES];
        unsigned k = sc_vm_files(vm, mine);
        for (unsigned f = 0; f < k; f++) {
            bool have = false;
            for (unsigned g = 0; g < n_files; g++)
                have |= strcmp(files[g], mine[f]) == 0;
            if (!have)
                files[n_files++] = mine[f];
        }
    }
    /* Block servers' images (their VMs' disks), each once among the rest. */
    for (unsigned i = 0; i < s->n_mon; i++) {
        bool have = !s->mon[i].image[0];
        for (unsigned g = 0; !have && g < n_files; g++)
            have |= strcmp(files[g], s->mon[i].image) == 0;
        if (!have)
            files[n_files++] = s->mon[i].image;
    }
    s->boot_files = n + n_files;
    const unsigned max = c->nest->depth ? SC_MAX_NESTED_BOOT_MODULES : SC_MAX_BOOT_MODULES;
    if (s->boot_files > max) {
        char exp[DESC_MAX * 2], got[DESC_MAX];
        fmt_snprintf(exp, sizeof exp, "a stack booting at most %u modules (init, programs, "
                     "images, nested stacks' files and the config: a kernel maps no more%s)",
                     max, c->nest->depth ? ", nested: a VMM hands no more" : "");
        fmt_snprintf(got, sizeof got, "%u", s->boot_files);
        error(c, fdt_path_offset(c->fdt, VMS_PATH), "(boot modules)", exp, got);
    }
}

/* "a -> b -> NEXT": the configs from the outermost in, then @next. */
static void chain_str(const ctx_t *c, const char *next, char *buf, size_t size)
{
    size_t used = 0;
    for (unsigned i = 0; i <= c->nest->depth; i++)
        used += (size_t)fmt_snprintf(buf + used, used < size ? size - used : 0, "%s -> ",
                                     c->nest->chain[i]);
    fmt_snprintf(buf + used, used < size ? size - used : 0, "%s", next);
}

/* An error of a nested stack's, as it was said, into the outer report. */
static void error_raw(ctx_t *c, const char *msg)
{
    c->rep->total++;
    if (c->rep->n < SC_MAX_ERRORS)
        fmt_snprintf(c->rep->msg[c->rep->n++], SC_MSG_MAX, "%s", msg);
}

/* A nested stack read for a VM: one per depth (a VM's nested stack is done
 * with before the next VM's is read). */
static struct {
    sc_stack_t s;
    sc_report_t rep;
    nest_t nest;
} inner[SC_MAX_NESTING];

static bool load(const void *blob, size_t size, const char *file, const sc_env_t *env,
                 sc_stack_t *out, sc_report_t *rep, nest_t *nest);

/* Read and check nested stack @vm->nested by the same rules; what it needs
 * of @vm (its memory, its boot modules) is checked here. */
static void load_nested(ctx_t *c, sc_vm_t *vm)
{
    char exp[DESC_MAX * 2], got[DESC_MAX * 2];
    sc_file_kind_t kind = SC_FILE_CONFIG;
    char where[SC_MODULE_NAME_MAX + 1];
    size_t size = 0;
    if (!placed(c, &kind, vm->nested, where, sizeof where))
        return;                                     /* said by the caller */
    const void *blob = c->env->read(c->env->ctx, kind, where, &size);
    if (!blob) {
        fmt_snprintf(got, sizeof got, "none for \"%s\"", vm->nested);
        error(c, vm->node, "nested-config", "a compiled stack config to read", got);
        return;
    }
    unsigned d = c->nest->depth;
    nest_t *n = &inner[d].nest;
    memset(n, 0, sizeof *n);
    n->depth = d + 1;
    memcpy(n->chain, c->nest->chain, sizeof n->chain);
    n->chain[d + 1] = vm->nested;
    char pre[SC_MODULE_NAME_MAX + 64];
    fmt_snprintf(where, sizeof where, "%s" SC_NESTED_SEP, vm->nested);
    outer_module(c, SC_FILE_IMAGE, where, pre, sizeof pre);
    fmt_snprintf(n->prefix, sizeof n->prefix, "%s", pre + strlen(SC_MODULE_IMAGE));
    sc_env_t env = *c->env;
    env.memory_limit_mib = 0;                       /* its own machine: the VM */
    env.machine_mib = 0;                            /* (checked below, at the VM) */
    char label[PATH_MAX_LEN];
    if (env.configs_dir)
        fmt_snprintf(label, sizeof label, "%s/%s.dts", env.configs_dir, vm->nested);
    else
        fmt_snprintf(label, sizeof label, "%s.dtb", vm->nested);
    bool ok = load(blob, size, label, &env, &inner[d].s, &inner[d].rep, n);
    if (n->too_long[0]) {
        fmt_snprintf(exp, sizeof exp, "a nested stack whose files' boot module names fit %d "
                     "characters (shorter config and image names)", SC_MODULE_NAME_MAX);
        fmt_snprintf(got, sizeof got, "\"%s\"", n->too_long);
        error(c, vm->node, "nested-config", exp, got);
    }
    if (!ok) {
        fmt_snprintf(got, sizeof got, "\"%s\" with %u error%s", vm->nested, inner[d].rep.total,
                     inner[d].rep.total == 1 ? "" : "s");
        error(c, vm->node, "nested-config", "a nested stack config that checks (its errors "
              "follow)", got);
        for (unsigned i = 0; i < inner[d].rep.n; i++)
            error_raw(c, inner[d].rep.msg[i]);
        c->rep->total += inner[d].rep.total - inner[d].rep.n;
        return;
    }
    if (inner[d].s.machine_mib > vm->memory_mib) {
        fmt_snprintf(exp, sizeof exp, "at least the %u MiB of the machine its nested stack "
                     "\"%s\" is written for (its /machine memory-mib)", inner[d].s.machine_mib,
                     vm->nested);
        fmt_snprintf(got, sizeof got, "%u", vm->memory_mib);
        error(c, vm->node, "memory-mib", exp, got);
    }
    vm->nested_files = 1 + inner[d].s.boot_files;  /* and the kernel */
}

/*
 * A VM running a nested stack runs a Nestor: it needs VMX (a nested-vmx in
 * its stack), the kernel and init among the files it is given, names that
 * can be booted, and no cycle or depth beyond SC_MAX_NESTING. Where the
 * place we run in can read configs, the nested stack is checked too.
 */
static void check_nested(ctx_t *c)
{
    sc_stack_t *s = c->s;
    for (unsigned v = 0; v < s->n_vm; v++) {
        sc_vm_t *vm = &s->vm[v];
        if (!vm->nested[0] || !name_ok(vm->nested))
            continue;
        char exp[DESC_MAX * 2], got[DESC_MAX * 2];
        if (vm->n_stack && !sc_vm_has_vmx(s, vm)) {
            size_t used = 0;
            for (unsigned k = 0; k < vm->n_stack; k++)
                used += (size_t)fmt_snprintf(got + used, used < sizeof got ? sizeof got - used : 0,
                                             "%s'%s'", k ? ", " : "a stack of ",
                                             s->mon[vm->stack[k]].name);
            fmt_snprintf(got + used, used < sizeof got ? sizeof got - used : 0, " only");
            error(c, vm->node, "nested-config", "a VM whose 'monitors' include a "
                  "nestor,nested-vmx (the Nestor it runs needs VMX)", got);
        }
        if (!file_exists(c, SC_FILE_CONFIG, vm->nested))
            continue;                               /* said with the property */
        bool cycle = false;
        for (unsigned i = 0; i <= c->nest->depth; i++)
            cycle |= c->nest->chain[i] && strcmp(c->nest->chain[i], vm->nested) == 0;
        if (cycle || c->nest->depth + 1 > SC_MAX_NESTING) {
            chain_str(c, vm->nested, got, sizeof got);
            if (cycle)
                error(c, vm->node, "nested-config", "a config that does not nest itself (no "
                      "cycle of nested stacks)", got);
            else {
                fmt_snprintf(exp, sizeof exp, "stacks nested at most %d deep", SC_MAX_NESTING);
                error(c, vm->node, "nested-config", exp, got);
            }
            continue;
        }
        /* Its own files: the kernel, init and the config, by names that boot. */
        char files[3][SC_MODULE_NAME_MAX + 16], mod[SC_MODULE_NAME_MAX + 64];
        fmt_snprintf(files[0], sizeof files[0], "%s" SC_NESTED_SEP SC_NESTED_KERNEL, vm->nested);
        fmt_snprintf(files[1], sizeof files[1], "%s" SC_NESTED_SEP SC_MODULE_ROOTTASK SC_ROOT_TASK,
                     vm->nested);
        bool fits = true;
        for (unsigned f = 0; f < 3 && fits; f++) {
            size_t n = f < 2 ? outer_module(c, SC_FILE_IMAGE, files[f], mod, sizeof mod)
                             : outer_module(c, SC_FILE_CONFIG, vm->nested, mod, sizeof mod);
            if (n > SC_MODULE_NAME_MAX) {
                fmt_snprintf(exp, sizeof exp, "a config name short enough for its files' boot "
                             "module names (at most %d characters)", SC_MODULE_NAME_MAX);
                fmt_snprintf(got, sizeof got, "\"%s\", of %lu", mod, (unsigned long)n);
                error(c, vm->node, "nested-config", exp, got);
                fits = false;
            }
        }
        if (!fits)
            continue;
        for (unsigned f = 0; f < 2; f++)
            if (!file_exists(c, SC_FILE_IMAGE, files[f])) {
                fmt_snprintf(got, sizeof got, "no \"%s\"", files[f]);
                error(c, vm->node, "nested-config", "the files a nested stack boots from (the "
                      "Nestor kernel and init)", got);
            }
        if (c->env && c->env->read)
            load_nested(c, vm);
    }
}

/* The config's own name, for cycles: @file without folders and extension. */
static void config_name(const char *file, char *out)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    if (n >= SC_NAME_MAX)
        n = SC_NAME_MAX - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

bool sc_load(const void *blob, size_t size, const char *file, const sc_env_t *env,
             sc_stack_t *out, sc_report_t *rep)
{
    static char self[SC_NAME_MAX];
    nest_t top = { 0 };
    config_name(file ? file : "", self);
    top.chain[0] = self;
    return load(blob, size, file, env, out, rep, &top);
}

static bool load(const void *blob, size_t size, const char *file, const sc_env_t *env,
                 sc_stack_t *out, sc_report_t *rep, nest_t *nest)
{
    memset(out, 0, sizeof *out);
    memset(rep, 0, sizeof *rep);
    ctx_t c = { .fdt = blob, .file = file ? file : "(config)", .env = env, .s = out, .rep = rep,
                .nest = nest };
    /* Blobs before version 16 are refused first: libfdt 1.6.1's fdt_check_full()
     * dereferences NULL on one whose root name has no '/' (fdt_get_name() fails). */
    int err = !blob ? -FDT_ERR_BADMAGIC :
              size >= FDT_V1_SIZE && fdt_magic(blob) == FDT_MAGIC && fdt_version(blob) < 0x10 ?
              -FDT_ERR_BADVERSION : fdt_check_full(blob, size);
    if (err != 0) {
        rep->total = rep->n = 1;
        fmt_snprintf(rep->msg[0], SC_MSG_MAX, "%s: /: property '(blob)': expected a device tree "
                     "blob, got %s", c.file, fdt_strerror(err));
        return false;
    }
    read_root(&c);
    read_machine(&c);
    read_monitors(&c);
    read_vms(&c);
    check_nested(&c);
    count_boot_files(&c);
    check_budgets(&c);
    check_devices(&c);
    check_blk(&c);
    check_service(&c);
    order_starts(&c);
    return rep->total == 0;
}
