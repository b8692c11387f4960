/*
 * tests/unit/test_stackcfg.c - the stack-config validator (stackcfg/).
 *
 * Each case starts from a good stack (the demo: one VMM, one VM 'hello'),
 * held as a small tree of nodes and properties, applies one defect, writes
 * the tree as a blob with libfdt's sequential-write API and checks that
 * sc_load refuses it with the expected message (and no other, unless the
 * case says how many follow from the defect).
 */
#include "unit.h"
#include "stackcfg.h"
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME "t.dtb"
#define P FILE_NAME ": "

/* ---- a tree to edit, then write with fdt_create() ... fdt_finish() ---- */

#define T_MAX_NODES 48
#define T_MAX_PROPS 48
#define T_VAL_MAX   160
#define T_NAME_MAX  48

typedef struct {
    char name[T_NAME_MAX];
    int len;
    uint8_t val[T_VAL_MAX];
} tprop_t;

typedef struct {
    char name[T_NAME_MAX];
    int parent;                     /* -1 for the root */
    bool live;
    tprop_t p[T_MAX_PROPS];
    int np;
} tnode_t;

static struct {
    tnode_t n[T_MAX_NODES];
    int nn;
} T;

static void t_reset(void)
{
    memset(&T, 0, sizeof T);
    T.nn = 1;
    T.n[0].parent = -1;
    T.n[0].live = true;
}

static int t_child(int parent, const char *name, size_t len, bool create)
{
    for (int i = 1; i < T.nn; i++)
        if (T.n[i].live && T.n[i].parent == parent && strlen(T.n[i].name) == len &&
            memcmp(T.n[i].name, name, len) == 0)
            return i;
    if (!create)
        return -1;
    CU_ASSERT_FATAL(T.nn < T_MAX_NODES && len < T_NAME_MAX);
    tnode_t *n = &T.n[T.nn];
    memcpy(n->name, name, len);
    n->parent = parent;
    n->live = true;
    return T.nn++;
}

/* The node at @path ("/vms/hello"); @create makes it and its parents. */
static int t_lookup(const char *path, bool create)
{
    int node = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        node = t_child(node, p, len, create);
        if (node < 0)
            return -1;
        p += len;
    }
    return node;
}

static void t_node(const char *path) { t_lookup(path, true); }

static void t_del_node(const char *path)
{
    int node = t_lookup(path, false);
    CU_ASSERT_FATAL(node > 0);
    T.n[node].live = false;         /* its subnodes go with it: they are never reached */
}

/* Set @prop of node @node; @again adds it even if it is there (a blob dtc
 * would never write). */
static void t_set(int node, const char *prop, const void *val, int len, bool again)
{
    tnode_t *n = &T.n[node];
    CU_ASSERT_FATAL(len >= 0 && len <= T_VAL_MAX && strlen(prop) < T_NAME_MAX);
    int i = 0;
    while (!again && i < n->np && strcmp(n->p[i].name, prop) != 0)
        i++;
    if (again)
        i = n->np;
    if (i == n->np) {
        CU_ASSERT_FATAL(n->np < T_MAX_PROPS);
        n->np++;
        strcpy(n->p[i].name, prop);
    }
    n->p[i].len = len;
    if (len)
        memcpy(n->p[i].val, val, (size_t)len);
}

static void t_raw(const char *path, const char *prop, const void *val, int len)
{
    t_set(t_lookup(path, true), prop, val, len, false);
}

/* Another node called @name under @parent, beside the one there (which
 * dtc would never write); its index. */
static int t_twin(const char *parent, const char *name)
{
    int p = t_lookup(parent, true), twin = t_child(p, name, strlen(name), false);
    CU_ASSERT_FATAL(twin > 0 && T.nn < T_MAX_NODES);
    T.n[T.nn] = T.n[twin];
    T.n[T.nn].np = 0;
    return T.nn++;
}

static void t_set_u32(int node, const char *prop, uint32_t x, bool again)
{
    uint8_t b[4] = { (uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };
    t_set(node, prop, b, 4, again);
}

static void t_str(const char *path, const char *prop, const char *s)
{
    t_raw(path, prop, s, (int)strlen(s) + 1);
}

/* A string list: @n strings. */
static void t_strs(const char *path, const char *prop, int n, ...)
{
    char buf[T_VAL_MAX];
    int len = 0;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *s = va_arg(ap, const char *);
        size_t l = strlen(s) + 1;
        CU_ASSERT_FATAL(len + l <= sizeof buf);
        memcpy(buf + len, s, l);
        len += (int)l;
    }
    va_end(ap);
    t_raw(path, prop, buf, len);
}

/* @n big-endian cells. */
static void t_cells(const char *path, const char *prop, int n, ...)
{
    uint8_t buf[T_VAL_MAX];
    CU_ASSERT_FATAL(n >= 0 && 4 * n <= T_VAL_MAX);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        uint32_t x = va_arg(ap, uint32_t);
        buf[4 * i] = (uint8_t)(x >> 24);
        buf[4 * i + 1] = (uint8_t)(x >> 16);
        buf[4 * i + 2] = (uint8_t)(x >> 8);
        buf[4 * i + 3] = (uint8_t)x;
    }
    va_end(ap);
    t_raw(path, prop, buf, 4 * n);
}

static void t_u32(const char *path, const char *prop, uint32_t x) { t_cells(path, prop, 1, x); }

static void t_del(const char *path, const char *prop)
{
    tnode_t *n = &T.n[t_lookup(path, false)];
    for (int i = 0; i < n->np; i++)
        if (strcmp(n->p[i].name, prop) == 0) {
            memmove(&n->p[i], &n->p[i + 1], (size_t)(n->np - i - 1) * sizeof n->p[0]);
            n->np--;
            return;
        }
    CU_FAIL_FATAL("t_del: no such property");
}

static int t_write(void *fdt, int node)
{
    const tnode_t *n = &T.n[node];
    int err = fdt_begin_node(fdt, node ? n->name : "");
    for (int i = 0; !err && i < n->np; i++)
        err = fdt_property(fdt, n->p[i].name, n->p[i].val, n->p[i].len);
    for (int i = 1; !err && i < T.nn; i++)
        if (T.n[i].live && T.n[i].parent == node)
            err = t_write(fdt, i);
    return err ? err : fdt_end_node(fdt);
}

static uint8_t blob_buf[64 * 1024];

/* The tree as a blob in blob_buf; returns its size. */
static size_t t_build(void)
{
    void *fdt = blob_buf;
    int err = fdt_create(fdt, sizeof blob_buf);
    err = err ? err : fdt_finish_reservemap(fdt);
    err = err ? err : t_write(fdt, 0);
    err = err ? err : fdt_finish(fdt);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    return fdt_totalsize(fdt);
}

/* ---- the environment: what exists ---- */

#define W_MAX_CONFIGS 8

typedef struct {
    bool no_programs;               /* no monitor program is built */
    bool no_nested_files;           /* no kernel or init for nested stacks */
    bool no_blobs;                  /* configs exist but none can be read */
    struct {                        /* compiled configs read() gives, by name */
        char name[SC_NAME_MAX];
        void *blob;
        size_t size;
    } cfg[W_MAX_CONFIGS];
    unsigned n_cfg;
    char asked[8][64];              /* the last names read() was asked for */
    unsigned n_asked;
} world_t;

static world_t world;

static int world_config(const world_t *w, const char *name)
{
    for (unsigned i = 0; i < w->n_cfg; i++)
        if (!strcmp(w->cfg[i].name, name))
            return (int)i;
    return -1;
}

/* A nested stack's file as the outermost stack names it ("demo/kernel",
 * "demo/image n2/program vmm"): what it is in the end. */
static bool nested_exists(const world_t *w, const char *name)
{
    const char *inner = sc_nested_inner(name);
    if (!strcmp(inner, SC_NESTED_KERNEL) || !strcmp(inner, SC_MODULE_ROOTTASK SC_ROOT_TASK))
        return !w->no_nested_files;
    if (!strncmp(inner, SC_MODULE_PROGRAM, strlen(SC_MODULE_PROGRAM)) ||
        !strncmp(inner, SC_MODULE_IMAGE, strlen(SC_MODULE_IMAGE)))
        return true;
    return !strncmp(inner, SC_MODULE_CONFIG, strlen(SC_MODULE_CONFIG)) &&
           world_config(w, inner + strlen(SC_MODULE_CONFIG)) >= 0;
}

static bool exists(void *ctx, sc_file_kind_t kind, const char *name)
{
    const world_t *w = ctx;
    switch (kind) {
    case SC_FILE_PROGRAM:
        return !w->no_programs && (!strcmp(name, "vmm") || !strcmp(name, "count-monitor") ||
                                   !strcmp(name, "nested-vmx") || !strcmp(name, "inspector") ||
                                   !strcmp(name, "virtio-console") || !strcmp(name, "blk") ||
                                   !strcmp(name, "net") || !strcmp(name, "pager"));
    case SC_FILE_IMAGE:
        return !strcmp(name, "hello") || !strcmp(name, "ro-disk") ||
               (sc_nested_inner(name) && nested_exists(w, name));
    case SC_FILE_CONFIG:
        return !strcmp(name, "demo") || world_config(w, name) >= 0;
    }
    return false;
}

static const void *read_file(void *ctx, sc_file_kind_t kind, const char *name, size_t *size)
{
    world_t *w = ctx;
    if (w->n_asked < 8)
        snprintf(w->asked[w->n_asked++], sizeof w->asked[0], "%d %s", (int)kind, name);
    const char *inner = kind == SC_FILE_CONFIG ? name : sc_nested_inner(name);
    if (w->no_blobs || !inner)
        return NULL;
    if (kind != SC_FILE_CONFIG) {
        if (strncmp(inner, SC_MODULE_CONFIG, strlen(SC_MODULE_CONFIG)))
            return NULL;
        inner += strlen(SC_MODULE_CONFIG);
    }
    int i = world_config(w, inner);
    if (i < 0)
        return NULL;
    *size = w->cfg[i].size;
    return w->cfg[i].blob;
}

static sc_env_t env = { .exists = exists, .ctx = &world };
static sc_env_t env_read = { .exists = exists, .read = read_file, .ctx = &world };
static sc_stack_t S;
static sc_report_t R;

/* Load the tree (the blob in an exact-size heap copy, so ASan sees any overread). */
static bool load_with(const sc_env_t *e)
{
    size_t size = t_build();
    void *copy = malloc(size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, blob_buf, size);
    bool ok = sc_load(copy, size, FILE_NAME, e, &S, &R);
    free(copy);
    return ok;
}

static bool load(void) { return load_with(&env); }

static void dump_report(int line)
{
    fprintf(stderr, "\n  line %d: %u error(s):\n", line, R.total);
    for (unsigned i = 0; i < R.n; i++)
        fprintf(stderr, "    %s\n", R.msg[i]);
}

static bool has_msg(const char *msg, bool exact)
{
    for (unsigned i = 0; i < R.n; i++)
        if (exact ? strcmp(R.msg[i], msg) == 0 : strstr(R.msg[i], msg) != NULL)
            return true;
    return false;
}

/*
 * The tree must be refused with @total errors (0: any number, at least one),
 * one of them exactly @msg (or, with @exact false, containing it).
 */
static void expect_at(int line, unsigned total, const char *msg, bool exact)
{
    bool ok = load();
    bool found = has_msg(msg, exact);
    bool count = total ? R.total == total : R.total >= 1;
    CU_assertImplementation(!ok, (unsigned)line, "sc_load refuses the config", __FILE__, "",
                            CU_FALSE);
    CU_assertImplementation(found, (unsigned)line, msg, __FILE__, "", CU_FALSE);
    CU_assertImplementation(count, (unsigned)line, "the expected number of errors", __FILE__, "",
                            CU_FALSE);
    if (ok || !found || !count) {
        fprintf(stderr, "\n  expected %u error(s), %s: %s", total, exact ? "exactly" : "containing",
                msg);
        dump_report(line);
    }
}

#define EXPECT(total, msg)      expect_at(__LINE__, (total), (msg), true)
#define EXPECT_FRAG(total, msg) expect_at(__LINE__, (total), (msg), false)
#define EXPECT_OK()                                                            \
    do {                                                                       \
        bool ok_ = load();                                                     \
        CU_ASSERT_TRUE(ok_);                                                   \
        CU_ASSERT_EQUAL(R.total, 0);                                           \
        if (!ok_)                                                              \
            dump_report(__LINE__);                                             \
    } while (0)

/* The common message heads. */
#define STACK_EXP "expected 1 to 4 phandles of /monitors nodes, from the VM outward, ending with " \
                  "a nestor,vmm-server, got "
#define PORTS_EXP "expected 1 to 4 pairs <FIRST LAST> with FIRST <= LAST <= 0xffff, got "
#define IRQS_EXP  "expected 1 to 4 cells, IRQ lines 0..15, got "
#define EXITS_EXP "expected a list of exit reasons from \"cpuid\" \"hlt\" \"rdtsc\" \"vmcall\" " \
                  "\"cr-access\" \"io\" \"rdmsr\" \"wrmsr\" \"ept-violation\", got "
#define VM_PROPS  "one of guest nested-config kernel initrd memory-mib vcpus cmdline devices modules " \
                  "monitors virtio vmcs-shadowing"

/* ---- the good base and additions ---- */

static void world_clear(void)
{
    for (unsigned i = 0; i < world.n_cfg; i++)
        free(world.cfg[i].blob);
    world = (world_t){ 0 };
}

/* The demo stack; the world's flags cleared (its configs are kept: the
 * nested tests build them first and clear them with world_clear()). */
static void base(void)
{
    t_reset();
    world.no_programs = world.no_nested_files = world.no_blobs = false;
    world.n_asked = 0;
    t_str("/", "compatible", "nestor,stack");
    t_u32("/machine", "memory-mib", 256);
    t_u32("/machine", "cpus", 1);
    t_str("/monitors/vmm", "compatible", "nestor,vmm-server");
    t_u32("/monitors/vmm", "memory-mib", 16);
    t_cells("/monitors/vmm", "ioports", 2, 0x40, 0x43);
    t_cells("/monitors/vmm", "irqs", 1, 0);
    t_u32("/monitors/vmm", "phandle", 1);
    t_str("/vms/hello", "guest", "hello");
    t_u32("/vms/hello", "memory-mib", 8);
    t_cells("/vms/hello", "monitors", 1, 1);
}

static void add_count(const char *name, uint32_t phandle)
{
    char path[64];
    snprintf(path, sizeof path, "/monitors/%s", name);
    t_str(path, "compatible", "nestor,count-monitor");
    t_u32(path, "memory-mib", 1);
    t_u32(path, "phandle", phandle);
}

static void add_vmm(const char *name, uint32_t phandle, uint32_t mib)
{
    char path[64];
    snprintf(path, sizeof path, "/monitors/%s", name);
    t_str(path, "compatible", "nestor,vmm-server");
    t_u32(path, "memory-mib", mib);
    t_u32(path, "phandle", phandle);
}

static void add_vm(const char *name, uint32_t mib)
{
    char path[64];
    snprintf(path, sizeof path, "/vms/%s", name);
    t_str(path, "guest", "hello");
    t_u32(path, "memory-mib", mib);
    t_cells(path, "monitors", 1, 1);
}

/* A VM running nested stack @config in @mib MiB, under nested-vmx: the VMM
 * and the machine sized to fit it. */
static void nested_base(const char *config, uint32_t mib)
{
    base();
    t_u32("/machine", "memory-mib", mib + 24);
    t_u32("/monitors/vmm", "memory-mib", mib + 3);
    t_str("/monitors/nvmx", "compatible", "nestor,nested-vmx");
    t_u32("/monitors/nvmx", "memory-mib", 2);
    t_u32("/monitors/nvmx", "phandle", 2);
    t_del("/vms/hello", "guest");
    t_str("/vms/hello", "nested-config", config);
    t_u32("/vms/hello", "memory-mib", mib);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
}

/* The tree as config @name that read() gives (built now: the tree is then free). */
static void world_add_config(const char *name)
{
    CU_ASSERT_FATAL(world.n_cfg < W_MAX_CONFIGS);
    size_t size = t_build();
    void *copy = malloc(size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, blob_buf, size);
    snprintf(world.cfg[world.n_cfg].name, SC_NAME_MAX, "%s", name);
    world.cfg[world.n_cfg].blob = copy;
    world.cfg[world.n_cfg++].size = size;
}

/* ---- good configs ---- */

static void test_good_base(void)
{
    base();
    t_str("/", "model", "the demo");
    EXPECT_OK();
    CU_ASSERT_STRING_EQUAL(S.model, "the demo");
    CU_ASSERT_EQUAL(S.machine_mib, 256);
    CU_ASSERT_EQUAL(S.machine_cpus, 1);
    CU_ASSERT_EQUAL_FATAL(S.n_mon, 1);
    const sc_monitor_t *m = &S.mon[0];
    CU_ASSERT_STRING_EQUAL(m->name, "vmm");
    CU_ASSERT_EQUAL(m->kind, SC_VMM_SERVER);
    CU_ASSERT_EQUAL(m->memory_mib, 16);
    CU_ASSERT_EQUAL(m->priority, SC_PRIO_VMM_DEFAULT);
    CU_ASSERT_EQUAL(m->n_ports, 1);
    CU_ASSERT_EQUAL(m->ports[0].first, 0x40);
    CU_ASSERT_EQUAL(m->ports[0].last, 0x43);
    CU_ASSERT_EQUAL(m->n_irqs, 1);
    CU_ASSERT_EQUAL(m->irqs[0], 0);
    CU_ASSERT_EQUAL(m->n_exits, 0);
    CU_ASSERT_EQUAL(m->phandle, 1);
    CU_ASSERT_EQUAL_FATAL(S.n_vm, 1);
    const sc_vm_t *vm = &S.vm[0];
    CU_ASSERT_STRING_EQUAL(vm->name, "hello");
    CU_ASSERT_STRING_EQUAL(vm->guest, "hello");
    CU_ASSERT_STRING_EQUAL(vm->nested, "");
    CU_ASSERT_STRING_EQUAL(vm->cmdline, "");
    CU_ASSERT_EQUAL(vm->memory_mib, 8);
    CU_ASSERT_EQUAL(vm->vcpus, 1);
    CU_ASSERT_EQUAL(vm->devices, SC_DEV_ALL);
    CU_ASSERT_EQUAL(vm->n_stack, 1);
    CU_ASSERT_EQUAL(vm->stack[0], 0);
    CU_ASSERT_PTR_EQUAL(sc_vm_vmm(&S, vm), m);
    CU_ASSERT_EQUAL(S.start_order[0], 0);
}

/* Defaults: no /machine, no memory-mib on the VM, no priority. */
static void test_good_defaults(void)
{
    base();
    t_del_node("/machine");
    t_del("/vms/hello", "memory-mib");
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.machine_mib, SC_MACHINE_DEFAULT_MIB);
    CU_ASSERT_EQUAL(S.machine_cpus, SC_MACHINE_DEFAULT_CPUS);
    CU_ASSERT_EQUAL(S.vm[0].memory_mib, SC_VM_DEFAULT_MIB);
    CU_ASSERT_STRING_EQUAL(S.model, "");
    /* Without an environment nothing is looked up: any image name passes. */
    t_str("/vms/hello", "guest", "elsewhere");
    CU_ASSERT_TRUE(load_with(NULL));
    CU_ASSERT_STRING_EQUAL(S.vm[0].guest, "elsewhere");
}

/* A count-monitor under the VMM: <&count &vmm>. It passes exits to the VMM,
 * so the VMM starts first even though 'count' comes first in /monitors. */
static void test_good_stacked(void)
{
    base();
    t_del_node("/monitors/vmm");
    add_count("count", 2);
    t_strs("/monitors/count", "exits", 2, "rdtsc", "hlt");
    t_u32("/monitors/count", "priority", 150);
    t_str("/monitors/vmm", "compatible", "nestor,vmm-server");
    t_u32("/monitors/vmm", "memory-mib", 16);
    t_u32("/monitors/vmm", "phandle", 1);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    EXPECT_OK();
    CU_ASSERT_EQUAL_FATAL(S.n_mon, 2);
    CU_ASSERT_STRING_EQUAL(S.mon[0].name, "count");
    CU_ASSERT_EQUAL(S.mon[0].kind, SC_COUNT_MONITOR);
    CU_ASSERT_EQUAL(S.mon[0].priority, 150);
    CU_ASSERT_EQUAL_FATAL(S.mon[0].n_exits, 2);
    CU_ASSERT_EQUAL(S.mon[0].exits[0], 12);     /* table order: hlt, rdtsc */
    CU_ASSERT_EQUAL(S.mon[0].exits[1], 16);
    CU_ASSERT_EQUAL(S.mon[1].kind, SC_VMM_SERVER);
    CU_ASSERT_EQUAL_FATAL(S.vm[0].n_stack, 2);
    CU_ASSERT_EQUAL(S.vm[0].stack[0], 0);
    CU_ASSERT_EQUAL(S.vm[0].stack[1], 1);
    CU_ASSERT_PTR_EQUAL(sc_vm_vmm(&S, &S.vm[0]), &S.mon[1]);
    CU_ASSERT_EQUAL(S.start_order[0], 1);       /* vmm */
    CU_ASSERT_EQUAL(S.start_order[1], 0);       /* then count */

    /* Declared the other way round: the same order. */
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.mon[1].n_exits, 1);
    CU_ASSERT_EQUAL(S.mon[1].exits[0], 10);     /* the default: cpuid */
    CU_ASSERT_EQUAL(S.mon[1].priority, SC_PRIO_MONITOR_DEFAULT);
    CU_ASSERT_EQUAL(S.start_order[0], 0);
    CU_ASSERT_EQUAL(S.start_order[1], 1);
}

/* Two VMs on one VMM; a nested-config VM; two VMMs with a stack each. */
static void test_good_many(void)
{
    base();
    add_vm("second", 4);
    t_str("/vms/second", "cmdline", "quiet x=1");
    t_strs("/vms/second", "devices", 2, "uart", "pic");
    EXPECT_OK();                                /* 2 + (8 + 1) + (4 + 1) = 16 MiB */
    CU_ASSERT_EQUAL_FATAL(S.n_vm, 2);
    CU_ASSERT_STRING_EQUAL(S.vm[1].name, "second");
    CU_ASSERT_STRING_EQUAL(S.vm[1].cmdline, "quiet x=1");
    CU_ASSERT_EQUAL(S.vm[1].devices, SC_DEV_PIC | SC_DEV_UART);
    CU_ASSERT_EQUAL(S.vm[1].memory_mib, 4);
    CU_ASSERT_PTR_EQUAL(sc_vm_vmm(&S, &S.vm[1]), &S.mon[0]);

    nested_base("demo", 256);
    EXPECT_OK();
    CU_ASSERT_STRING_EQUAL(S.vm[0].guest, "");
    CU_ASSERT_STRING_EQUAL(S.vm[0].nested, "demo");
    CU_ASSERT_EQUAL(S.vm[0].nested_files, 0);   /* not read: no read() */

    base();
    add_vmm("vmm2", 2, 11);
    t_cells("/monitors/vmm2", "ioports", 4, 0x60, 0x60, 0x64, 0x64);
    t_cells("/monitors/vmm2", "irqs", 2, 1, 12);
    add_count("count", 3);
    add_vm("other", 8);
    t_cells("/vms/other", "monitors", 2, 3, 2);
    EXPECT_OK();
    CU_ASSERT_EQUAL_FATAL(S.n_mon, 3);
    CU_ASSERT_EQUAL(S.mon[1].n_ports, 2);
    CU_ASSERT_EQUAL(S.mon[1].n_irqs, 2);
    CU_ASSERT_PTR_EQUAL(sc_vm_vmm(&S, &S.vm[1]), &S.mon[1]);
    CU_ASSERT_EQUAL(S.start_order[0], 0);
    CU_ASSERT_EQUAL(S.start_order[1], 1);
    CU_ASSERT_EQUAL(S.start_order[2], 2);       /* count after vmm2 */
}

/* The limits themselves are allowed. */
static void test_good_limits(void)
{
    base();
    t_u32("/monitors/vmm", "priority", SC_PRIO_MIN);
    t_cells("/monitors/vmm", "ioports", 8, 0x40, 0x43, 0x3f0, 0x3f7, 0x400, 0xffff, 0, 0);
    t_cells("/monitors/vmm", "irqs", 4, 0, 3, 4, 15);
    t_u32("/machine", "memory-mib", 4096);
    t_u32("/monitors/vmm", "memory-mib", SC_VM_MAX_MIB + 3);
    t_u32("/vms/hello", "memory-mib", SC_VM_MAX_MIB);
    char longest[SC_OPTIONS_MAX];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    t_str("/vms/hello", "cmdline", longest);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.mon[0].n_ports, 4);
    CU_ASSERT_EQUAL(S.mon[0].n_irqs, 4);
    CU_ASSERT_EQUAL(strlen(S.vm[0].cmdline), SC_OPTIONS_MAX - 1);
    base();
    t_u32("/monitors/vmm", "priority", SC_PRIO_MAX);
    t_u32("/vms/hello", "memory-mib", SC_VM_MIN_MIB);
    t_u32("/monitors/vmm", "memory-mib", 224);  /* 256 - 16 for kernel and init */
    t_strs("/vms/hello", "devices", 5, "pic", "pit", "rtc", "lapic", "uart");
    EXPECT_OK();
    /* Exactly 8 VMs. */
    base();
    t_u32("/monitors/vmm", "memory-mib", 2 + 8 * 3);
    t_u32("/vms/hello", "memory-mib", 2);
    const char *names[] = { "v1", "v2", "v3", "v4", "v5", "v6", "v7" };
    for (int i = 0; i < 7; i++)
        add_vm(names[i], 2);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.n_vm, SC_MAX_VMS);
}

/* ---- refused: structure ---- */

static void test_bad_blob(void)
{
    base();
    size_t size = t_build();
    void *half = malloc(size / 2);
    memcpy(half, blob_buf, size / 2);
    CU_ASSERT_FALSE(sc_load(half, size / 2, FILE_NAME, &env, &S, &R));
    free(half);
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_EQUAL(R.n, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], P "/: property '(blob)': expected a device tree blob, got "
                           "FDT_ERR_TRUNCATED");
    static const char garbage[] = "this is not a device tree blob at all, just some text";
    CU_ASSERT_FALSE(sc_load(garbage, sizeof garbage, FILE_NAME, &env, &S, &R));
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], P "/: property '(blob)': expected a device tree blob, got "
                           "FDT_ERR_BADMAGIC");
    CU_ASSERT_FALSE(sc_load(NULL, 0, NULL, &env, &S, &R));
    CU_ASSERT_STRING_EQUAL(R.msg[0], "(config): /: property '(blob)': expected a device tree "
                           "blob, got FDT_ERR_BADMAGIC");
    /* Version 11 (names as paths): refused before fdt_check_full(), which in
     * libfdt 1.6.1 dereferences NULL on such a blob whose root name has no '/'. */
    size = t_build();
    fdt_set_version(blob_buf, 11);
    fdt_set_last_comp_version(blob_buf, 11);
    void *old = malloc(size);
    memcpy(old, blob_buf, size);
    CU_ASSERT_FALSE(sc_load(old, size, FILE_NAME, &env, &S, &R));
    free(old);
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], P "/: property '(blob)': expected a device tree blob, got "
                           "FDT_ERR_BADVERSION");
    /* A good header over a bad structure block. */
    size = t_build();
    uint32_t off = fdt_off_dt_struct(blob_buf);
    memset(blob_buf + off, 0xEE, 8);
    void *copy = malloc(size);
    memcpy(copy, blob_buf, size);
    CU_ASSERT_FALSE(sc_load(copy, size, FILE_NAME, &env, &S, &R));
    free(copy);
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(R.msg[0], "expected a device tree blob, got FDT_ERR_"));
}

static void test_bad_root(void)
{
    base();
    t_str("/", "compatible", "nestor,stak");
    EXPECT(1, P "/: property 'compatible': expected \"nestor,stack\", got \"nestor,stak\"");
    base();
    t_del("/", "compatible");
    EXPECT(1, P "/: property 'compatible': expected a string (required), got nothing");
    base();
    t_node("/extra");
    EXPECT(1, P "/: property '(subnodes)': expected only /machine, /monitors and /vms, "
           "got node 'extra'");
    base();
    t_str("/", "modle", "typo");
    EXPECT(1, P "/: property 'modle': expected one of compatible model, got an unknown property");
}

static void test_missing_sections(void)
{
    base();
    t_del_node("/monitors");
    EXPECT(2, P "/: property 'monitors': expected a /monitors node with at least one monitor, "
           "got no such node");
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP
           "phandle 1, which names no node (dangling)");
    base();
    t_del_node("/monitors/vmm");
    EXPECT(2, P "/monitors: property '(subnodes)': expected at least one monitor, got none");
    base();
    t_del_node("/vms");
    EXPECT(2, P "/: property 'vms': expected a /vms node with at least one VM, got no such node");
    EXPECT(2, P "/monitors/vmm: property 'compatible': expected a monitor some VM's 'monitors' "
           "names, got one no VM uses");
    base();
    t_del_node("/vms/hello");
    EXPECT(2, P "/vms: property '(subnodes)': expected at least one VM, got none");
    base();
    t_u32("/vms", "memory-mib", 8);
    EXPECT(1, P "/vms: property 'memory-mib': expected no properties, got an unknown property");
}

static void test_bad_names(void)
{
    base();
    t_node("/vms/hello/disk");
    EXPECT(1, P "/vms/hello: property '(subnodes)': expected no subnodes, got subnode 'disk'");
    base();
    t_node("/monitors/vmm/sub");
    EXPECT(1, P "/monitors/vmm: property '(subnodes)': expected no subnodes, got subnode 'sub'");
    base();
    t_del_node("/monitors/vmm");
    add_vmm("vmm@0", 1, 16);
    EXPECT(1, P "/monitors/vmm@0: property 'name': expected a node name of 1-31 characters from "
           "a-z 0-9 - _ (no unit address), got \"vmm@0\"");
    /* A badly named VM still counts: /vms is not empty, its VMM is used. */
    base();
    t_del_node("/vms/hello");
    add_vm("Hello", 8);
    EXPECT(1, P "/vms/Hello: property 'name': expected a node name of 1-31 characters from "
                "a-z 0-9 - _ (no unit address), got \"Hello\"");
    base();
    t_del_node("/vms/hello");
    add_vm("a-name-of-thirty-two-characters1", 8);
    EXPECT(1, P "/vms/a-name-of-thirty-two-characters1: property 'name': expected a node name of "
           "1-31 characters from a-z 0-9 - _ (no unit address), got "
           "\"a-name-of-thirty-two-characters1\"");
    base();
    t_str("/vms/hello", "guest", "Hello");
    EXPECT(1, P "/vms/hello: property 'guest': expected an image name from a-z 0-9 - _, "
           "got \"Hello\"");
}

/* Blobs dtc would never write: two nodes of one name, a property twice,
 * two monitors with one phandle. Lookups by name would find the first. */
static void test_twins(void)
{
    base();
    int twin = t_twin("/vms", "hello");
    t_set(twin, "guest", "hello", sizeof "hello", false);
    t_set_u32(twin, "monitors", 1, false);
    t_u32("/monitors/vmm", "memory-mib", 20);
    EXPECT(1, P "/vms/hello: property 'name': expected a name no other node beside it has, got "
           "\"hello\" again");
    base();
    twin = t_twin("/monitors", "vmm");
    t_set(twin, "compatible", "nestor,vmm-server", sizeof "nestor,vmm-server", false);
    t_set_u32(twin, "memory-mib", 16, false);
    t_set_u32(twin, "phandle", 2, false);
    add_vm("other", 8);
    t_cells("/vms/other", "monitors", 1, 2);
    EXPECT(1, P "/monitors/vmm: property 'name': expected a name no other node beside it has, got "
           "\"vmm\" again");
    base();
    t_twin("/", "vms");
    EXPECT(1, P "/: property '(subnodes)': expected each of /machine, /monitors and /vms at most "
           "once, got node 'vms' again");
    base();
    t_set_u32(t_lookup("/monitors/vmm", false), "memory-mib", 4, true);
    EXPECT(1, P "/monitors/vmm: property 'memory-mib': expected the property once, got it again");
    base();
    add_vmm("vmm2", 1, 16);
    EXPECT_FRAG(0, P "/monitors/vmm2: property 'phandle': expected a phandle no other monitor "
                "has, got 1, which 'vmm' has too");
}

static void test_unknown_props(void)
{
    base();
    t_str("/vms/hello", "cmdlin", "quiet");
    EXPECT(1, P "/vms/hello: property 'cmdlin': expected " VM_PROPS ", got an unknown property");
    base();
    t_u32("/monitors/vmm", "memory-mb", 16);
    EXPECT(1, P "/monitors/vmm: property 'memory-mb': expected one of compatible memory-mib "
           "priority ioports irqs options, got an unknown property");
    /* A count-monitor holds no devices. */
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    t_cells("/monitors/count", "ioports", 2, 0x60, 0x64);
    EXPECT(1, P "/monitors/count: property 'ioports': expected one of compatible memory-mib "
           "priority exits blk, got an unknown property");
    base();
    t_u32("/machine", "disks", 1);
    EXPECT(1, P "/machine: property 'disks': expected one of memory-mib cpus, got an unknown "
           "property");
}

/* ---- refused: property types and ranges ---- */

static void test_memory(void)
{
    base();
    t_del("/monitors/vmm", "memory-mib");
    EXPECT(2, P "/monitors/vmm: property 'memory-mib': expected one cell <N> with 1 <= N <= "
           "1048576 (required), got nothing");
    base();
    t_str("/vms/hello", "memory-mib", "8");     /* a string, not a cell */
    EXPECT(1, P "/vms/hello: property 'memory-mib': expected one cell <N> with 2 <= N <= 3072, "
           "got 2 bytes");
    base();
    t_str("/monitors/vmm", "memory-mib", "16");
    EXPECT_FRAG(2, P "/monitors/vmm: property 'memory-mib': expected one cell <N> with 1 <= N "
                "<= 1048576 (required), got 3 bytes");
    base();
    t_cells("/machine", "memory-mib", 2, 0, 256);
    EXPECT(1, P "/machine: property 'memory-mib': expected one cell <N> with 16 <= N <= 1048576, "
           "got 8 bytes");
    base();
    t_u32("/vms/hello", "memory-mib", 7);
    EXPECT(1, P "/vms/hello: property 'memory-mib': expected a multiple of 2 (guest RAM is built "
           "of 2 MiB pages), got 7");
    base();
    t_u32("/vms/hello", "memory-mib", SC_VM_MAX_MIB + 2);
    EXPECT(1, P "/vms/hello: property 'memory-mib': expected one cell <N> with 2 <= N <= 3072, "
           "got 3074");
    base();
    t_u32("/vms/hello", "memory-mib", 0);
    EXPECT(1, P "/vms/hello: property 'memory-mib': expected one cell <N> with 2 <= N <= 3072, "
           "got 0");
    base();
    t_u32("/machine", "cpus", 0);
    EXPECT(1, P "/machine: property 'cpus': expected one cell <N> with 1 <= N <= 64, got 0");
}

static void test_priority_vcpus(void)
{
    base();
    t_u32("/monitors/vmm", "priority", 255);
    EXPECT(1, P "/monitors/vmm: property 'priority': expected one cell <N> with 101 <= N <= 254, "
           "got 255");
    base();
    t_u32("/monitors/vmm", "priority", 100);
    EXPECT(1, P "/monitors/vmm: property 'priority': expected one cell <N> with 101 <= N <= 254, "
           "got 100");
    base();
    t_u32("/vms/hello", "vcpus", 2);
    EXPECT(1, P "/vms/hello: property 'vcpus': expected one cell <N> with 1 <= N <= 1, got 2");
}

static void test_budgets(void)
{
    base();
    t_u32("/monitors/vmm", "memory-mib", 10);   /* 2 + 8 + 1 = 11 needed */
    EXPECT(1, P "/monitors/vmm: property 'memory-mib': expected at least 11 MiB for its 1 VM "
           "(RAM + 1 MiB each, + 2), got 10");
    base();
    add_vm("second", 8);
    EXPECT(1, P "/monitors/vmm: property 'memory-mib': expected at least 20 MiB for its 2 VMs "
           "(RAM + 1 MiB each, + 2), got 16");
    base();
    t_u32("/monitors/vmm", "memory-mib", 300);
    EXPECT(1, P "/monitors: property 'memory-mib': expected monitor budgets of at most 240 MiB in "
           "all (machine memory-mib less 16 for kernel and init), got 300 MiB");
    base();
    t_u32("/monitors/vmm", "memory-mib", 200);
    add_count("count", 2);
    t_u32("/monitors/count", "memory-mib", 41);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    EXPECT(1, P "/monitors: property 'memory-mib': expected monitor budgets of at most 240 MiB in "
           "all (machine memory-mib less 16 for kernel and init), got 241 MiB");
    base();
    sc_env_t small = env;
    small.memory_limit_mib = 12;
    CU_ASSERT_FALSE(load_with(&small));
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], P "/monitors: property 'memory-mib': expected monitor "
                           "budgets of at most 12 MiB in all (the memory this machine has free), "
                           "got 16 MiB");
}

#define GUEST_ONE_OF "expected one of 'guest' (an image), 'nested-config' (a stack config) or " \
                     "'kernel' (a Linux bzImage)"

/* 'kernel' and 'initrd': a Linux VM (the VMM then boots nothing but a bzImage). */
static void test_kernel_initrd(void)
{
    base();
    t_del("/vms/hello", "guest");
    t_str("/vms/hello", "kernel", "hello");
    t_str("/vms/hello", "initrd", "hello");
    CU_ASSERT_TRUE_FATAL(load());
    CU_ASSERT_TRUE(S.vm[0].linux_kernel);
    CU_ASSERT_STRING_EQUAL(S.vm[0].guest, "hello");
    CU_ASSERT_EQUAL_FATAL(S.vm[0].n_modules, 1);
    CU_ASSERT_STRING_EQUAL(S.vm[0].modules[0].file, "hello");
    CU_ASSERT_STRING_EQUAL(S.vm[0].modules[0].string, "");
    /* Without an initrd: no modules. */
    t_del("/vms/hello", "initrd");
    CU_ASSERT_TRUE_FATAL(load());
    CU_ASSERT_EQUAL(S.vm[0].n_modules, 0);
    /* A plain guest is no Linux kernel. */
    base();
    CU_ASSERT_TRUE_FATAL(load());
    CU_ASSERT_FALSE(S.vm[0].linux_kernel);
    /* Refusals. */
    base();
    t_str("/vms/hello", "kernel", "hello");
    EXPECT(1, P "/vms/hello: property 'guest': " GUEST_ONE_OF ", got more");
    base();
    t_str("/vms/hello", "initrd", "hello");
    EXPECT(1, P "/vms/hello: property 'initrd': expected an initrd only with 'kernel' (a Linux "
           "bzImage), got one");
    base();
    t_del("/vms/hello", "guest");
    t_str("/vms/hello", "kernel", "hello");
    t_strs("/vms/hello", "modules", 1, "hello");
    EXPECT(1, P "/vms/hello: property 'modules': expected no modules with 'kernel' (its one "
           "module is 'initrd'), got some");
    base();
    t_del("/vms/hello", "guest");
    t_str("/vms/hello", "kernel", "vmlinuz");
    t_str("/vms/hello", "initrd", "initrd");
    EXPECT(2, P "/vms/hello: property 'kernel': expected a kernel image that exists, got "
           "\"vmlinuz\", which does not exist");
    EXPECT(2, P "/vms/hello: property 'initrd': expected an initrd image that exists, got "
           "\"initrd\", which does not exist");
}

static void test_guest_nested(void)
{
    base();
    t_str("/vms/hello", "nested-config", "demo");
    EXPECT(1, P "/vms/hello: property 'guest': " GUEST_ONE_OF ", got more");
    base();
    t_del("/vms/hello", "guest");
    EXPECT(1, P "/vms/hello: property 'guest': " GUEST_ONE_OF ", got none");
    base();
    t_str("/vms/hello", "guest", "nope");
    EXPECT(1, P "/vms/hello: property 'guest': expected a guest image that exists, got \"nope\", "
           "which does not exist");
    nested_base("nested", 256);
    EXPECT(1, P "/vms/hello: property 'nested-config': expected a stack config in stack-configs/, "
           "got \"nested\", which does not exist");
    base();
    t_del("/vms/hello", "guest");
    t_str("/vms/hello", "nested-config", "demo.dts");
    EXPECT(1, P "/vms/hello: property 'nested-config': expected a config name from a-z 0-9 - _ "
           "(no .dts), got \"demo.dts\"");
    base();
    world.no_programs = true;
    EXPECT(1, P "/monitors/vmm: property 'compatible': expected a monitor whose program is built, "
           "got no program 'vmm' to run it");
}


/* ---- nested stacks: a VM running a Nestor of its own ---- */

#define NESTED_EXP P "/vms/hello: property 'nested-config': expected "

/* The demo stack as config "demo" (a 256 MiB machine), for read(). */
static void world_demo(void)
{
    world_clear();
    base();
    world_add_config("demo");
}

static void test_nested_good(void)
{
    world_demo();
    nested_base("demo", 256);
    CU_ASSERT_TRUE(load_with(&env_read));
    CU_ASSERT_EQUAL(R.total, 0);
    if (R.total)
        dump_report(__LINE__);
    /* demo boots init, vmm, hello and its config; the VM the kernel too. */
    CU_ASSERT_EQUAL(S.vm[0].nested_files, 5);
    CU_ASSERT_EQUAL(S.boot_files, 2 + 2 + 5);       /* init, config; vmm, nested-vmx */
    CU_ASSERT_STRING_EQUAL(world.asked[0], "2 demo");   /* SC_FILE_CONFIG */
    /* The names a nested stack's files have in the stack around it. */
    char buf[SC_MODULE_NAME_MAX + 1];
    CU_ASSERT_TRUE(sc_nested_file(buf, sizeof buf, "demo", "program vmm"));
    CU_ASSERT_STRING_EQUAL(buf, "demo/program vmm");
    CU_ASSERT_FALSE(sc_nested_file(buf, sizeof buf, "a-config-name-of-thirty-chars-", "program vmm"));
    CU_ASSERT_STRING_EQUAL(sc_nested_inner("a/image b/kernel"), "kernel");
    CU_ASSERT_PTR_NULL(sc_nested_inner("hello"));
    world_clear();
}

static void test_nested_needs_vmx(void)
{
    nested_base("demo", 256);
    t_cells("/vms/hello", "monitors", 1, 1);
    t_del_node("/monitors/nvmx");
    t_u32("/monitors/vmm", "memory-mib", 259);
    EXPECT(1, NESTED_EXP "a VM whose 'monitors' include a nestor,nested-vmx (the Nestor it runs "
           "needs VMX), got a stack of 'vmm' only");
    /* A count monitor does not show VMX either. */
    nested_base("demo", 256);
    add_count("count", 3);
    t_cells("/vms/hello", "monitors", 3, 3, 2, 1);
    t_u32("/monitors/vmm", "memory-mib", 260);
    t_u32("/machine", "memory-mib", 290);
    EXPECT_OK();
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    t_del_node("/monitors/nvmx");
    EXPECT(1, NESTED_EXP "a VM whose 'monitors' include a nestor,nested-vmx (the Nestor it runs "
           "needs VMX), got a stack of 'count', 'vmm' only");
}

#define SHADOWING_EXP P "/vms/hello: property 'vmcs-shadowing': expected \"on\" or \"off\" (a VM " \
                      "whose 'monitors' include a nestor,nested-vmx), got "

/* 'vmcs-shadowing': on by default, "on" or "off" on a VM nested-vmx serves. */
static void test_vmcs_shadowing(void)
{
    base();
    t_str("/monitors/nvmx", "compatible", "nestor,nested-vmx");
    t_u32("/monitors/nvmx", "memory-mib", 2);
    t_u32("/monitors/nvmx", "phandle", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    EXPECT_OK();
    CU_ASSERT_TRUE(S.vm[0].vmcs_shadowing);
    t_str("/vms/hello", "vmcs-shadowing", "off");
    EXPECT_OK();
    CU_ASSERT_FALSE(S.vm[0].vmcs_shadowing);
    t_str("/vms/hello", "vmcs-shadowing", "on");
    EXPECT_OK();
    CU_ASSERT_TRUE(S.vm[0].vmcs_shadowing);
    t_str("/vms/hello", "vmcs-shadowing", "yes");
    EXPECT(1, SHADOWING_EXP "\"yes\"");
    t_str("/vms/hello", "vmcs-shadowing", "");
    EXPECT(1, SHADOWING_EXP "\"\"");
    t_str("/vms/hello", "vmcs-shadowing", "Off");
    EXPECT(1, SHADOWING_EXP "\"Off\"");
    t_strs("/vms/hello", "vmcs-shadowing", 2, "on", "off");
    EXPECT_FRAG(1, P "/vms/hello: property 'vmcs-shadowing': expected one printable string");
    t_u32("/vms/hello", "vmcs-shadowing", 1);
    EXPECT_FRAG(1, P "/vms/hello: property 'vmcs-shadowing': expected one printable string");
    /* A VM nested-vmx does not serve has no VMX to shadow: refused, either way. */
    t_str("/vms/hello", "vmcs-shadowing", "on");
    t_cells("/vms/hello", "monitors", 1, 1);
    t_del_node("/monitors/nvmx");
    EXPECT(1, SHADOWING_EXP "a VM without nested-vmx (it sees no VMX)");
    t_str("/vms/hello", "vmcs-shadowing", "off");
    EXPECT(1, SHADOWING_EXP "a VM without nested-vmx (it sees no VMX)");
}

/* An inspector's 'level': 1 (its VM's guest) by default; 2 (the L2
 * guest, through nested-vmx) only right before nested-vmx, without MOV DR
 * among its exits; nothing else. */
static const sc_monitor_t *mon_named(const char *name)
{
    for (unsigned i = 0; i < S.n_mon; i++)
        if (strcmp(S.mon[i].name, name) == 0)
            return &S.mon[i];
    return NULL;
}

#define LEVEL_EXP P "/vms/hello: property 'monitors': expected an inspector of L2 right before " \
                  "nested-vmx (<&insp &nvmx ... &vmm>), got inspector 'insp' with level <2> not " \
                  "right before nested-vmx"

static void test_inspector_level(void)
{
    base();
    t_str("/monitors/nvmx", "compatible", "nestor,nested-vmx");
    t_u32("/monitors/nvmx", "memory-mib", 2);
    t_u32("/monitors/nvmx", "phandle", 2);
    t_str("/monitors/insp", "compatible", "nestor,inspector");
    t_u32("/monitors/insp", "memory-mib", 2);
    t_u32("/monitors/insp", "phandle", 3);
    t_cells("/vms/hello", "monitors", 3, 3, 2, 1);
    EXPECT_OK();
    const sc_monitor_t *m = mon_named("insp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->guest_level, SC_INSPECTOR_LEVEL_VM);
    CU_ASSERT_EQUAL(m->n_exits, 4);             /* #DB, #BP, pauses, MOV DR */
    t_u32("/monitors/insp", "level", 2);
    EXPECT_OK();
    m = mon_named("insp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->guest_level, SC_INSPECTOR_LEVEL_L2);
    CU_ASSERT_EQUAL_FATAL(m->n_exits, 3);       /* no MOV DR at L2 */
    for (unsigned i = 0; i < m->n_exits; i++)
        CU_ASSERT_NOT_EQUAL(m->exits[i], NESTOR_EXIT_DR_ACCESS);
    t_u32("/monitors/insp", "level", 3);
    EXPECT(1, P "/monitors/insp: property 'level': expected one cell <N> with 1 <= N <= 2, got 3");
    t_u32("/monitors/insp", "level", 0);
    EXPECT(1, P "/monitors/insp: property 'level': expected one cell <N> with 1 <= N <= 2, got 0");
    /* Level 2 after nested-vmx, or without it: refused. */
    t_u32("/monitors/insp", "level", 2);
    t_cells("/vms/hello", "monitors", 3, 2, 3, 1);
    EXPECT(1, LEVEL_EXP);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    t_del_node("/monitors/nvmx");
    EXPECT(1, LEVEL_EXP);
    /* ... a level 1 inspector may sit anywhere above the VMM. */
    t_u32("/monitors/insp", "level", 1);
    EXPECT_OK();
}

static void test_nested_missing(void)
{
    /* No kernel or init to boot it from. */
    nested_base("demo", 256);
    world.no_nested_files = true;
    EXPECT(2, NESTED_EXP "the files a nested stack boots from (the Nestor kernel and init), "
           "got no \"demo/kernel\"");
    CU_ASSERT_TRUE(has_msg(NESTED_EXP "the files a nested stack boots from (the Nestor kernel "
                           "and init), got no \"demo/roottask init\"", true));
    /* Its config there, but nothing to read. */
    world_demo();
    nested_base("demo", 256);
    world.no_blobs = true;
    CU_ASSERT_FALSE(load_with(&env_read));
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], NESTED_EXP "a compiled stack config to read, got none for "
                           "\"demo\"");
    world_clear();
}

static void test_nested_memory(void)
{
    world_demo();
    nested_base("demo", 128);
    CU_ASSERT_FALSE(load_with(&env_read));
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], P "/vms/hello: property 'memory-mib': expected at least "
                           "the 256 MiB of the machine its nested stack \"demo\" is written for "
                           "(its /machine memory-mib), got 128");
    world_clear();
}

static void test_nested_inner_errors(void)
{
    world_clear();
    base();
    t_u32("/monitors/vmm", "memory-mib", 4);
    world_add_config("inner");
    nested_base("inner", 256);
    CU_ASSERT_FALSE(load_with(&env_read));
    CU_ASSERT_EQUAL(R.total, 2);
    CU_ASSERT_TRUE(has_msg(NESTED_EXP "a nested stack config that checks (its errors follow), "
                           "got \"inner\" with 1 error", true));
    CU_ASSERT_TRUE(has_msg("inner.dtb: /monitors/vmm: property 'memory-mib': expected at least "
                           "11 MiB", false));
    if (R.total != 2)
        dump_report(__LINE__);
    /* Messages name nested configs where the host keeps them. */
    sc_env_t e = env_read;
    e.configs_dir = "stack-configs";
    CU_ASSERT_FALSE(load_with(&e));
    CU_ASSERT_TRUE(has_msg("stack-configs/inner.dts: /monitors/vmm: property 'memory-mib'",
                           false));
    world_clear();
}

/* A config nesting itself, directly or through another: no end to it. */
static void test_nested_cycle(void)
{
    world_clear();
    nested_base("t", 256);                          /* this file is t.dtb */
    world_add_config("t");
    CU_ASSERT_FALSE(load_with(&env_read));
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], NESTED_EXP "a config that does not nest itself (no cycle "
                           "of nested stacks), got t -> t");
    /* t -> other -> t: said in other's file, and at the VM here. */
    world_clear();
    nested_base("t", 200);
    world_add_config("other");
    nested_base("other", 230);
    world_add_config("t");
    CU_ASSERT_FALSE(load_with(&env_read));
    CU_ASSERT_TRUE(has_msg("other.dtb: /vms/hello: property 'nested-config': expected a config "
                           "that does not nest itself (no cycle of nested stacks), got t -> "
                           "other -> t", true));
    CU_ASSERT_TRUE(has_msg(NESTED_EXP "a nested stack config that checks", false));
    world_clear();
}

/* Stacks nested deeper than SC_MAX_NESTING: t -> n1 -> ... -> n4. (Deeper
 * ones would not fit boot module names anyway.) */
static void test_nested_depth(void)
{
    world_clear();
    base();
    t_u32("/machine", "memory-mib", 32);            /* n4: the demo in 32 MiB */
    world_add_config("n4");
    uint32_t mib = 32;
    for (int i = 3; i >= 1; i--) {
        char name[16], next[16];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(next, sizeof next, "n%d", i + 1);
        nested_base(next, mib);
        mib += 24;
        world_add_config(name);
    }
    nested_base("n1", mib);
    CU_ASSERT_FALSE(load_with(&env_read));
    /* t, n1 and n2 say n1, n2 and n3 fail; n4's config would not fit a boot
     * module name there either (said at n3's VM, by n2). */
    CU_ASSERT_EQUAL(R.total, 5);
    CU_ASSERT_TRUE(has_msg("n3.dtb: /vms/hello: property 'nested-config': expected stacks "
                           "nested at most 3 deep, got t -> n1 -> n2 -> n3 -> n4", true));
    if (R.total != 5)
        dump_report(__LINE__);
    world_clear();
}

/* Names of a nested stack's files must fit a boot module's name. */
static void test_nested_names(void)
{
    nested_base("a-long-config-name", 256);
    EXPECT(1, NESTED_EXP "a config name short enough for its files' boot module names (at most "
           "47 characters), got \"image a-long-config-name/stack-config a-long-config-name\", "
           "of 56");
}

static void test_strings(void)
{
    static const uint8_t binary[] = { 0x01, 0x02, 0xfe, 0xff };
    base();
    t_raw("/vms/hello", "cmdline", binary, sizeof binary);
    EXPECT(1, P "/vms/hello: property 'cmdline': expected one printable string of at most 127 "
           "characters, got 4 bytes with no NUL at the end");
    base();
    t_strs("/vms/hello", "cmdline", 2, "quiet", "x=1");
    EXPECT(1, P "/vms/hello: property 'cmdline': expected one printable string of at most 127 "
           "characters, got several strings or bytes after a NUL");
    base();
    t_str("/vms/hello", "cmdline", "tab\there");
    EXPECT(1, P "/vms/hello: property 'cmdline': expected one printable string of at most 127 "
           "characters, got 9 bytes");
    base();
    t_raw("/vms/hello", "cmdline", "", 0);
    EXPECT(1, P "/vms/hello: property 'cmdline': expected one printable string of at most 127 "
           "characters, got 0 bytes");
    base();
    char longer[130];
    memset(longer, 'x', 128);
    longer[128] = '\0';
    t_str("/vms/hello", "cmdline", longer);
    EXPECT(1, P "/vms/hello: property 'cmdline': expected one printable string of at most 127 "
           "characters, got 129 bytes");
    base();
    t_cells("/monitors/vmm", "compatible", 1, 7);
    EXPECT_FRAG(0, P "/monitors/vmm: property 'compatible': expected one printable string of at "
                "most 63 characters, got ");
    base();
    t_strs("/vms/hello", "devices", 2, "pic", "floppy");
    EXPECT(1, P "/vms/hello: property 'devices': expected a list of devices from \"pic\" \"pit\" "
           "\"rtc\" \"lapic\" \"uart\", got \"floppy\"");
    base();
    t_cells("/vms/hello", "devices", 1, 1);
    EXPECT(1, P "/vms/hello: property 'devices': expected a list of devices from \"pic\" \"pit\" "
           "\"rtc\" \"lapic\" \"uart\", got bytes that are not strings");
}

/* ---- refused: the stack ---- */

static void test_phandles(void)
{
    base();
    t_cells("/vms/hello", "monitors", 1, 7);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP
           "phandle 7, which names no node (dangling)");
    base();
    t_u32("/machine", "phandle", 5);
    t_cells("/vms/hello", "monitors", 2, 5, 1);
    EXPECT(1, P "/vms/hello: property 'monitors': " STACK_EXP "phandle 5, which is /machine");
    base();
    t_del("/vms/hello", "monitors");
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP "nothing (required)");
    base();
    t_raw("/vms/hello", "monitors", "", 0);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP "0 bytes");
    base();
    t_cells("/vms/hello", "monitors", 5, 1, 1, 1, 1, 1);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP "20 bytes");
    base();
    t_cells("/vms/hello", "monitors", 1, 0);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP
           "phandle 0, which names no node (dangling)");
}

static void test_stack_order(void)
{
    /* Not ending with a VMM. */
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 1, 2);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP
           "'count' (nestor,count-monitor) last");
    /* The VMM before the end (and a count-monitor last). */
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 1, 2);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP "'vmm' (a VMM) before the end");
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP
           "'count' (nestor,count-monitor) last");
    /* Two VMMs stacked. */
    base();
    add_vmm("vmm2", 2, 16);
    t_cells("/vms/hello", "monitors", 2, 1, 2);
    EXPECT(1, P "/vms/hello: property 'monitors': " STACK_EXP "'vmm' (a VMM) before the end");
    /* One monitor twice in one stack. */
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 3, 2, 2, 1);
    EXPECT(1, P "/vms/hello: property 'monitors': " STACK_EXP "'count' twice: a stacking cycle "
           "(its exits would come back to it)");
}

/* vm1 <A B vmm>, vm2 <B A vmm>: A passes exits to B for one VM, B to A for
 * the other; no start order exists. (Each count-monitor then serves two
 * VMs, which is reported as well.) */
static void test_cross_vm_cycle(void)
{
    base();
    t_u32("/monitors/vmm", "memory-mib", 32);
    add_count("count-a", 2);
    t_str("/monitors/count-a", "exits", "hlt");
    add_count("count-b", 3);
    t_str("/monitors/count-b", "exits", "rdtsc");
    t_cells("/vms/hello", "monitors", 3, 2, 3, 1);
    add_vm("other", 8);
    t_cells("/vms/other", "monitors", 3, 3, 2, 1);
    EXPECT(3, P "/vms: property 'monitors': expected one stacking order for all VMs (no monitor "
           "both under and over another), got a stacking cycle among count-a <-> count-b");
    EXPECT(3, P "/monitors/count-a: property 'compatible': expected a stacked monitor serving one "
           "VM (give each VM its own), got 2 VMs stacking it");
    EXPECT(3, P "/monitors/count-b: property 'compatible': expected a stacked monitor serving one "
           "VM (give each VM its own), got 2 VMs stacking it");
}

#define KPORTS_EXP "expected ports the kernel issues (not 0x20-0x21, 0xa0-0xa1, 0x3f8-0x3ff: " \
                   "the PICs and the console are the kernel's), got "

/* Multiboot modules of a VM; a machine larger than the one it boots on. */
static void test_modules_machine(void)
{
    base();
    t_strs("/vms/hello", "modules", 2, "hello first module", "hello");
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.vm[0].n_modules, 2);
    CU_ASSERT_STRING_EQUAL(S.vm[0].modules[0].file, "hello");
    CU_ASSERT_STRING_EQUAL(S.vm[0].modules[0].string, "first module");
    CU_ASSERT_STRING_EQUAL(S.vm[0].modules[1].string, "");
    base();
    t_strs("/vms/hello", "modules", 1, "Bad!name x");
    EXPECT_FRAG(1, P "/vms/hello: property 'modules': expected 1 to 4 strings");
    base();
    t_strs("/vms/hello", "modules", 1, "nope x");
    EXPECT(1, P "/vms/hello: property 'modules': expected module files that exist "
           "(build/guests/FILE.bin or .elf), got \"nope\", which does not exist");
    base();
    t_strs("/vms/hello", "modules", 5, "hello", "hello", "hello", "hello", "hello");
    EXPECT_FRAG(1, P "/vms/hello: property 'modules': expected 1 to 4 strings");
    /* The budget the machine cannot give: refused by the host check. */
    base();
    t_u32("/machine", "memory-mib", 8192);
    sc_env_t small = env;
    small.machine_mib = 2048;
    CU_ASSERT_FALSE(load_with(&small));
    CU_ASSERT_EQUAL(R.total, 1);
    CU_ASSERT_STRING_EQUAL(R.msg[0], P "/machine: property 'memory-mib': expected at most the "
                           "2048 MiB of the machine it boots on, got 8192");
}

static void test_ports_irqs(void)
{
    base();
    t_cells("/monitors/vmm", "ioports", 2, 0x3f0, 0x3f8);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " KPORTS_EXP "<0x3f0 0x3f8>, which "
           "includes the kernel's console (COM1)");
    base();
    t_cells("/monitors/vmm", "ioports", 4, 0x40, 0x43, 0x3fc, 0x400);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " KPORTS_EXP "<0x3fc 0x400>, which "
           "includes the kernel's console (COM1)");
    /* The PICs: the kernel routes IRQs through them and never issues their ports. */
    base();
    t_cells("/monitors/vmm", "ioports", 4, 0x40, 0x43, 0x20, 0x21);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " KPORTS_EXP "<0x20 0x21>, which includes "
           "the kernel's master PIC");
    base();
    t_cells("/monitors/vmm", "ioports", 2, 0x90, 0xa0);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " KPORTS_EXP "<0x90 0xa0>, which includes "
           "the kernel's slave PIC");
    base();
    t_cells("/monitors/vmm", "ioports", 2, 0x21, 0x21);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " KPORTS_EXP "<0x21 0x21>, which includes "
           "the kernel's master PIC");
    base();
    t_cells("/monitors/vmm", "ioports", 2, 0x43, 0x40);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " PORTS_EXP "<0x43 0x40>");
    base();
    t_cells("/monitors/vmm", "ioports", 2, 0x40, 0x10000);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " PORTS_EXP "<0x40 0x10000>");
    base();
    t_cells("/monitors/vmm", "ioports", 1, 0x40);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " PORTS_EXP "4 bytes");
    base();
    t_cells("/monitors/vmm", "ioports", 10, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5);
    EXPECT(1, P "/monitors/vmm: property 'ioports': " PORTS_EXP "40 bytes");
    base();
    t_cells("/monitors/vmm", "irqs", 1, 16);
    EXPECT(1, P "/monitors/vmm: property 'irqs': " IRQS_EXP "16");
    base();
    t_cells("/monitors/vmm", "irqs", 5, 0, 1, 2, 3, 4);
    EXPECT(1, P "/monitors/vmm: property 'irqs': " IRQS_EXP "20 bytes");
    base();
    t_raw("/monitors/vmm", "irqs", "\0\0", 2);
    EXPECT(1, P "/monitors/vmm: property 'irqs': " IRQS_EXP "2 bytes");
}

/* Two VMMs (one VM each) holding the same device. */
static void two_vmms(void)
{
    base();
    add_vmm("vmm2", 2, 16);
    add_vm("other", 8);
    t_cells("/vms/other", "monitors", 1, 2);
}

static void test_shared_devices(void)
{
    two_vmms();
    EXPECT_OK();
    two_vmms();
    t_cells("/monitors/vmm2", "ioports", 2, 0x42, 0x50);
    EXPECT(1, P "/monitors/vmm2: property 'ioports': expected ports no other monitor holds, got "
           "<0x42 0x50>, which 'vmm' holds too");
    two_vmms();
    t_cells("/monitors/vmm2", "irqs", 2, 8, 0);
    EXPECT(1, P "/monitors/vmm2: property 'irqs': expected IRQ lines no other monitor holds, got "
           "0, which 'vmm' holds too");
}

static void test_exits(void)
{
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    t_strs("/monitors/count", "exits", 2, "cpuid", "halt");
    EXPECT(1, P "/monitors/count: property 'exits': " EXITS_EXP "\"halt\"");
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    t_strs("/monitors/count", "exits", 2, "cpuid", "cpuid");
    EXPECT(1, P "/monitors/count: property 'exits': " EXITS_EXP "\"cpuid\" twice");
    base();
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    t_strs("/monitors/count", "exits", 5, "cpuid", "hlt", "rdtsc", "io", "rdmsr");
    EXPECT(1, P "/monitors/count: property 'exits': expected at most 4 exit reasons, got more");
    /* Two stacked monitors taking the same exit reason. */
    base();
    add_count("count1", 2);
    add_count("count2", 3);
    t_strs("/monitors/count2", "exits", 2, "hlt", "cpuid");
    t_cells("/vms/hello", "monitors", 3, 2, 3, 1);
    EXPECT(1, P "/vms/hello: property 'monitors': expected each exit reason taken by one stacked "
           "monitor, got 'count1' and 'count2' both taking cpuid exits");
}

static void test_service(void)
{
    base();
    add_count("count", 2);
    EXPECT(1, P "/monitors/count: property 'compatible': expected a monitor some VM's 'monitors' "
           "names, got one no VM uses");
    base();
    t_u32("/monitors/vmm", "memory-mib", 32);
    add_count("count", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    add_vm("other", 8);
    t_cells("/vms/other", "monitors", 2, 2, 1);
    EXPECT(1, P "/monitors/count: property 'compatible': expected a stacked monitor serving one VM "
           "(give each VM its own), got 2 VMs stacking it");
    base();
    t_str("/monitors/vmm", "compatible", "nestor,vmm");
    EXPECT(1, P "/monitors/vmm: property 'compatible': expected \"nestor,vmm-server\", "
           "\"nestor,count-monitor\", \"nestor,nested-vmx\", \"nestor,virtio-console\", "
           "\"nestor,inspector\", \"nestor,blk\", \"nestor,pager\", \"nestor,checkpoint\" or "
           "\"nestor,net\", got \"nestor,vmm\"");
}

/* A virtio-console device server named in a VM's 'virtio'. */
static void add_console(const char *name, uint32_t phandle)
{
    char path[64];
    snprintf(path, sizeof path, "/monitors/%s", name);
    t_str(path, "compatible", "nestor,virtio-console");
    t_u32(path, "memory-mib", 1);
    t_u32(path, "phandle", phandle);
}

#define VIRTIO_EXP "expected 1 to 4 phandles of device-server /monitors nodes " \
                   "(nestor,virtio-console, nestor,blk or nestor,net), each once, got "

/* A network server: one virtio-net device of each of several VMs (the
 * one exception to "one device of one VM", net_proto.h), under one VMM
 * or two; a second device of one VM on it, or one in 'monitors', refused. */
static void test_net_server(void)
{
    base();
    t_u32("/monitors/vmm", "memory-mib", 32);
    t_str("/monitors/net", "compatible", "nestor,net");
    t_u32("/monitors/net", "memory-mib", 1);
    t_u32("/monitors/net", "phandle", 2);
    t_cells("/vms/hello", "virtio", 1, 2);
    add_vm("other", 8);
    t_cells("/vms/other", "virtio", 1, 2);
    EXPECT_OK();
    CU_ASSERT_EQUAL_FATAL(S.n_mon, 2);
    CU_ASSERT_EQUAL(S.mon[1].kind, SC_NET);
    CU_ASSERT_TRUE(sc_kind_is_device_server(SC_NET));
    CU_ASSERT_FALSE(sc_kind_blk_client(SC_NET));
    CU_ASSERT_STRING_EQUAL(sc_kind_compatible(SC_NET), "nestor,net");
    CU_ASSERT_STRING_EQUAL(sc_kind_program(SC_NET), "net");
    CU_ASSERT_EQUAL(S.vm[0].virtio[0], 1);
    CU_ASSERT_EQUAL(S.vm[1].virtio[0], 1);
    CU_ASSERT_EQUAL(S.start_order[1], 0);       /* the VMM after the server */
    /* Each VM under a VMM of its own. */
    add_vmm("vmm2", 3, 16);
    t_cells("/monitors/vmm2", "ioports", 2, 0x48, 0x4b);
    t_cells("/vms/other", "monitors", 1, 3);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.n_vm, 2);
    /* A console still serves one device of one VM. */
    add_console("con", 4);
    t_cells("/vms/hello", "virtio", 2, 2, 4);
    t_cells("/vms/other", "virtio", 2, 2, 4);
    EXPECT(1, P "/monitors/con: property 'compatible': expected a device server serving one "
           "virtio device of one VM (give each device its own), got 2 virtio devices");
    t_cells("/vms/other", "virtio", 1, 2);
    EXPECT_OK();
    t_del_node("/monitors/con");
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_OK();
    /* Two devices of one VM on it: one VM is one port. */
    t_cells("/vms/hello", "virtio", 2, 2, 2);
    EXPECT(1, P "/vms/hello: property 'virtio': " VIRTIO_EXP "'net' twice");
    /* In a VM's 'monitors': it takes no exits (and would stack one VMM
     * over the other: a cycle too). */
    t_cells("/vms/hello", "virtio", 1, 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    EXPECT(2, P "/vms/hello: property 'monitors': " STACK_EXP "'net', a device server (it goes in "
           "'virtio')");
    /* No host devices of its own. */
    t_cells("/vms/hello", "monitors", 1, 1);
    t_cells("/monitors/net", "ioports", 2, 0x1f0, 0x1f7);
    EXPECT(1, P "/monitors/net: property 'ioports': expected one of compatible memory-mib "
           "priority options, got an unknown property");
    t_del("/monitors/net", "ioports");
    /* Its ports' names must fit the command line init gives it. */
    char opt[121];                      /* "net.x=xxx...": 120 characters, written twice */
    memset(opt, 'x', sizeof opt - 1);
    memcpy(opt, "net.x=", 6);
    opt[sizeof opt - 1] = '\0';
    t_str("/monitors/net", "options", opt);
    EXPECT(1, P "/monitors/net: property 'compatible': expected a network server whose name, "
           "options and VMs' names fit its command line (255 characters), got 285 characters");
    t_del("/monitors/net", "options");
    EXPECT_OK();
    /* Named by no VM. */
    t_del("/vms/hello", "virtio");
    t_del("/vms/other", "virtio");
    EXPECT(1, P "/monitors/net: property 'compatible': expected a device server some VM's "
           "'virtio' names, got one no VM uses");
}

/* Device servers: read, ordered before their VMM, and every misuse refused. */
static void test_virtio(void)
{
    /* Good: two consoles on one VM, declared after the VMM: they start first. */
    base();
    add_console("con", 2);
    add_console("con2", 3);
    t_u32("/monitors/con2", "priority", 180);
    t_cells("/vms/hello", "virtio", 2, 2, 3);
    EXPECT_OK();
    CU_ASSERT_EQUAL_FATAL(S.n_mon, 3);
    CU_ASSERT_EQUAL(S.mon[1].kind, SC_VIRTIO_CONSOLE);
    CU_ASSERT_TRUE(sc_kind_is_device_server(S.mon[1].kind));
    CU_ASSERT_FALSE(sc_kind_is_device_server(SC_VMM_SERVER));
    CU_ASSERT_EQUAL(S.mon[1].priority, SC_PRIO_MONITOR_DEFAULT);
    CU_ASSERT_EQUAL(S.mon[2].priority, 180);
    CU_ASSERT_EQUAL(S.mon[1].n_exits, 0);
    CU_ASSERT_STRING_EQUAL(sc_kind_program(SC_VIRTIO_CONSOLE), "virtio-console");
    CU_ASSERT_EQUAL_FATAL(S.vm[0].n_virtio, 2);
    CU_ASSERT_EQUAL(S.vm[0].virtio[0], 1);
    CU_ASSERT_EQUAL(S.vm[0].virtio[1], 2);
    CU_ASSERT_EQUAL(S.vm[0].n_stack, 1);
    CU_ASSERT_EQUAL(S.start_order[2], 0);       /* the VMM after both servers */
    /* The windows and lines the VMM gives them (vm_layout.h). */
    CU_ASSERT_EQUAL(vm_virtio_base(0), 0xFEB00000ul);
    CU_ASSERT_EQUAL(vm_virtio_base(3), 0xFEB03000ul);
    CU_ASSERT_EQUAL(vm_virtio_irq(0), 5);
    CU_ASSERT_EQUAL(vm_virtio_irq(1), 6);
    CU_ASSERT_EQUAL(vm_virtio_irq(2), 10);
    CU_ASSERT_EQUAL(vm_virtio_irq(3), 11);

    /* Not named by any VM. */
    base();
    add_console("con", 2);
    EXPECT(1, P "/monitors/con: property 'compatible': expected a device server some VM's "
           "'virtio' names, got one no VM uses");
    /* Serving two VMs. */
    base();
    t_u32("/monitors/vmm", "memory-mib", 32);
    add_console("con", 2);
    t_cells("/vms/hello", "virtio", 1, 2);
    add_vm("other", 8);
    t_cells("/vms/other", "virtio", 1, 2);
    EXPECT(1, P "/monitors/con: property 'compatible': expected a device server serving one "
           "virtio device of one VM (give each device its own), got 2 virtio devices");
    /* Twice in one VM's list. */
    base();
    add_console("con", 2);
    t_cells("/vms/hello", "virtio", 2, 2, 2);
    EXPECT(1, P "/vms/hello: property 'virtio': " VIRTIO_EXP "'con' twice");
    /* A VMM and a dangling phandle in 'virtio'. */
    base();
    add_console("con", 2);
    t_cells("/vms/hello", "virtio", 2, 2, 1);
    EXPECT(1, P "/vms/hello: property 'virtio': " VIRTIO_EXP "'vmm' (nestor,vmm-server), which "
           "is no device server");
    base();
    add_console("con", 2);
    t_cells("/vms/hello", "virtio", 2, 2, 9);
    EXPECT(1, P "/vms/hello: property 'virtio': " VIRTIO_EXP "phandle 9, which names no monitor");
    /* Too many, empty, not cells. */
    base();
    const char *names[] = { "c1", "c2", "c3", "c4", "c5" };
    for (unsigned i = 0; i < 5; i++)
        add_console(names[i], 2 + i);
    t_cells("/vms/hello", "virtio", 5, 2, 3, 4, 5, 6);
    EXPECT_FRAG(0, P "/vms/hello: property 'virtio': " VIRTIO_EXP "20 bytes");
    base();
    add_console("con", 2);
    t_raw("/vms/hello", "virtio", "", 0);
    EXPECT_FRAG(0, P "/vms/hello: property 'virtio': " VIRTIO_EXP "0 bytes");
    /* Four are allowed. */
    base();
    for (unsigned i = 0; i < 4; i++)
        add_console(names[i], 2 + i);
    t_cells("/vms/hello", "virtio", 4, 2, 3, 4, 5);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.vm[0].n_virtio, 4);
    /* What init grants the VMM must fit its boot info: 2 for the PIT, 4
     * device servers, 3 count monitors on a second VM: 9 > 8. */
    t_u32("/monitors/vmm", "memory-mib", 32);
    add_vm("other", 8);
    add_count("k1", 10);
    add_count("k2", 11);
    add_count("k3", 12);
    t_strs("/monitors/k2", "exits", 1, "hlt");
    t_strs("/monitors/k3", "exits", 1, "rdtsc");
    t_cells("/vms/other", "monitors", 4, 10, 11, 12, 1);
    EXPECT(1, P "/monitors/vmm: property 'compatible': expected a VMM granted at most 8 "
           "capabilities (port ranges, IRQ lines, stacked monitors and device servers of its "
           "VMs), got 9");
    t_cells("/vms/other", "monitors", 3, 10, 11, 1);
    t_del_node("/monitors/k3");
    EXPECT_OK();
    /* A device server in 'monitors': it takes no exits. */
    base();
    add_console("con", 2);
    t_cells("/vms/hello", "monitors", 2, 2, 1);
    EXPECT(1, P "/vms/hello: property 'monitors': " STACK_EXP "'con', a device server (it goes in "
           "'virtio')");
    /* A device server has no ports, IRQs or exits of its own. */
    base();
    add_console("con", 2);
    t_cells("/vms/hello", "virtio", 1, 2);
    t_cells("/monitors/con", "irqs", 1, 5);
    EXPECT(1, P "/monitors/con: property 'irqs': expected one of compatible memory-mib priority "
           "options, got an unknown property");
    t_del("/monitors/con", "irqs");
    t_str("/monitors/con", "options", "console.fault=garbage:3");
    EXPECT_OK();
    CU_ASSERT_STRING_EQUAL(S.mon[1].options, "console.fault=garbage:3");
    /* Its program must be built. */
    base();
    add_console("con", 2);
    t_cells("/vms/hello", "virtio", 1, 2);
    world.no_programs = true;
    EXPECT_FRAG(0, P "/monitors/con: property 'compatible': expected a monitor whose program is "
                "built, got no program 'virtio-console' to run it");
}

static void test_too_many(void)
{
    base();
    t_u32("/monitors/vmm", "memory-mib", 64);
    t_u32("/vms/hello", "memory-mib", 2);
    const char *names[] = { "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8" };
    for (int i = 0; i < 8; i++)
        add_vm(names[i], 2);
    EXPECT(1, P "/vms: property '(subnodes)': expected at most 8 VMs, got more");
    /* Nine monitors: eight VMMs with a VM each, and one more. */
    base();
    t_del_node("/vms/hello");
    t_del_node("/monitors/vmm");
    const char *mons[] = { "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9" };
    for (uint32_t i = 0; i < 9; i++) {
        add_vmm(mons[i], i + 1, 11);
        if (i < 8) {
            add_vm(names[i], 8);
            char path[32];
            snprintf(path, sizeof path, "/vms/%s", names[i]);
            t_cells(path, "monitors", 1, i + 1);
        }
    }
    EXPECT(1, P "/monitors: property '(subnodes)': expected at most 8 monitors, got more");
}

/* Several defects at once: every one is named. */
static void test_all_reported(void)
{
    base();
    t_str("/", "compatible", "nestor,stak");                 /* 1 */
    t_node("/extra");                                        /* 2 */
    t_u32("/monitors/vmm", "priority", 300);                 /* 3 */
    t_cells("/monitors/vmm", "irqs", 1, 16);                 /* 4 */
    t_u32("/vms/hello", "vcpus", 2);                         /* 5 */
    t_u32("/vms/hello", "memory-mib", 7);                    /* 6 */
    t_str("/vms/hello", "guest", "nope");                    /* 7 */
    bool ok = load();
    CU_ASSERT_FALSE(ok);
    CU_ASSERT(R.total >= 7);
    CU_ASSERT_EQUAL(R.n, R.total);
    const char *frags[] = { "/: property 'compatible'", "got node 'extra'",
                            "/monitors/vmm: property 'priority'", "/monitors/vmm: property 'irqs'",
                            "/vms/hello: property 'vcpus'", "/vms/hello: property 'memory-mib'",
                            "/vms/hello: property 'guest'" };
    for (size_t i = 0; i < sizeof frags / sizeof frags[0]; i++)
        CU_ASSERT(has_msg(frags[i], false));
    for (unsigned i = 0; i < R.n; i++)
        CU_ASSERT_NSTRING_EQUAL(R.msg[i], P, strlen(P));

    /* More errors than are stored: all counted, the first SC_MAX_ERRORS kept. */
    base();
    for (int i = 0; i < 40; i++) {
        char prop[16];
        snprintf(prop, sizeof prop, "typo%d", i);
        t_u32("/vms/hello", prop, (uint32_t)i);
    }
    CU_ASSERT_FALSE(load());
    CU_ASSERT_EQUAL(R.total, 40);
    CU_ASSERT_EQUAL(R.n, SC_MAX_ERRORS);
    CU_ASSERT_STRING_EQUAL(R.msg[SC_MAX_ERRORS - 1], P "/vms/hello: property 'typo31': expected "
                           VM_PROPS ", got an unknown property");
}

static void test_names_helpers(void)
{
    char buf[64];
    sc_devices_str(0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "none");
    sc_devices_str(SC_DEV_PIC | SC_DEV_UART, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "pic,uart");
    sc_devices_str(SC_DEV_ALL, buf, 8);
    CU_ASSERT_STRING_EQUAL(buf, "pic,pit");
    CU_ASSERT_STRING_EQUAL(sc_exit_name(10), "cpuid");
    CU_ASSERT_PTR_NULL(sc_exit_name(11));
    CU_ASSERT_STRING_EQUAL(sc_kind_compatible(SC_COUNT_MONITOR), "nestor,count-monitor");
    CU_ASSERT_STRING_EQUAL(sc_kind_program(SC_VMM_SERVER), "vmm");
    CU_ASSERT_STRING_EQUAL(sc_kind_program(SC_N_KINDS), "?");
}

/* A block server (device-servers/blk) on the ATA ports, the VM's disk on
 * sectors @first..+@count. */
static void add_blk(const char *name, uint32_t phandle, uint32_t first, uint32_t count)
{
    char path[64];
    snprintf(path, sizeof path, "/monitors/%s", name);
    t_str(path, "compatible", "nestor,blk");
    t_u32(path, "memory-mib", 1);
    t_u32(path, "phandle", phandle);
    t_cells(path, "ioports", 4, 0x1f0, 0x1f7, 0x3f6, 0x3f6);
    if (count)
        t_cells(path, "vm-sectors", 2, first, count);
}

#define BLK_CLIENT_EXP "expected <&SERVER FIRST COUNT>: a nestor,blk monitor and the sectors " \
                       "FIRST to FIRST+COUNT-1 of its disk (COUNT >= 1, below 2^32), got "

/* Block servers: the VM's partition, client monitors' partitions and
 * badges, start order, and every misuse refused. */
static void test_blk(void)
{
    /* Good: the VM's disk and a client (a count monitor on the VM) on
     * sectors of their own; the server starts before both. */
    base();
    add_blk("disk", 2, 2048, 4096);
    t_cells("/vms/hello", "virtio", 1, 2);
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 0, 2048);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT_OK();
    CU_ASSERT_EQUAL_FATAL(S.n_mon, 3);
    CU_ASSERT_EQUAL(S.mon[1].kind, SC_BLK);
    CU_ASSERT_TRUE(sc_kind_is_device_server(SC_BLK));
    CU_ASSERT_FALSE(sc_kind_blk_client(SC_BLK));
    CU_ASSERT_FALSE(sc_kind_blk_client(SC_VMM_SERVER));
    CU_ASSERT_TRUE(sc_kind_blk_client(SC_COUNT_MONITOR));
    CU_ASSERT_STRING_EQUAL(sc_kind_program(SC_BLK), "blk");
    CU_ASSERT_EQUAL(S.mon[1].vm_sectors.first, 2048);
    CU_ASSERT_EQUAL(S.mon[1].vm_sectors.count, 4096);
    CU_ASSERT_EQUAL(S.mon[1].n_ports, 2);
    CU_ASSERT_EQUAL(S.mon[1].blk_server, -1);
    CU_ASSERT_EQUAL(S.mon[2].blk_server, 1);
    CU_ASSERT_EQUAL(S.mon[2].blk_client, 0);
    CU_ASSERT_EQUAL(S.mon[2].blk_sectors.first, 0);
    CU_ASSERT_EQUAL(S.mon[2].blk_sectors.count, 2048);
    CU_ASSERT_EQUAL(S.mon[0].blk_server, -1);
    CU_ASSERT_EQUAL(S.start_order[0], 1);       /* the server first */
    /* A server for monitors only: no VM names it, no vm-sectors. */
    base();
    add_blk("disk", 2, 0, 0);
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 100, 50);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT_OK();
    /* Named by nobody at all. */
    base();
    add_blk("disk", 2, 0, 0);
    EXPECT(1, P "/monitors/disk: property 'compatible': expected a block server some VM's "
           "'virtio' or some monitor's 'blk' names, got one no VM uses");
    /* Without the ATA ports. */
    base();
    add_blk("disk", 2, 0, 16);
    t_cells("/monitors/disk", "ioports", 2, 0x1f0, 0x1f7);
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT(1, P "/monitors/disk: property 'ioports': expected the primary ATA channel's ports, "
           "<0x1f0 0x1f7 0x3f6 0x3f6> (the disk it drives), got ranges without them");
    /* A VM's disk without sectors; sectors without a VM. */
    base();
    add_blk("disk", 2, 0, 0);
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT(1, P "/monitors/disk: property 'vm-sectors': expected <FIRST COUNT>: the sectors of "
           "the virtio disk of the VM whose 'virtio' names it, got none");
    base();
    add_blk("disk", 2, 0, 16);
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 100, 50);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT(1, P "/monitors/disk: property 'vm-sectors': expected none: no VM's 'virtio' names "
           "this server, got a partition");
    /* Malformed ranges: COUNT 0, past 2^32 sectors, wrong length. */
    base();
    add_blk("disk", 2, 0, 16);
    t_cells("/monitors/disk", "vm-sectors", 2, 5, 0);
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_FRAG(0, P "/monitors/disk: property 'vm-sectors': expected <FIRST COUNT>: the "
                "sectors FIRST to FIRST+COUNT-1 of the disk (COUNT >= 1, below 2^32), got <5 0>");
    base();
    add_blk("disk", 2, 0xFFFFFFF0u, 0x20);
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_FRAG(0, "got <4294967280 32>");
    base();
    add_blk("disk", 2, 0, 16);
    t_cells("/vms/hello", "virtio", 1, 2);
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 2, 2, 100);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT(1, P "/monitors/count: property 'blk': " BLK_CLIENT_EXP "8 bytes");
    /* A client overlapping the VM's disk, and another client. */
    base();
    add_blk("disk", 2, 2048, 4096);
    t_cells("/vms/hello", "virtio", 1, 2);
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 6143, 10);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT(1, P "/monitors/count: property 'blk': expected sectors no other partition of 'disk' "
           "has, got <6143 10>, which overlap its VM's 'vm-sectors'");
    base();
    t_u32("/monitors/vmm", "memory-mib", 32);
    add_blk("disk", 2, 0, 0);
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 0, 100);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    add_vm("other", 8);
    add_count("count2", 4);
    t_cells("/monitors/count2", "blk", 3, 2, 99, 1);
    t_cells("/vms/other", "monitors", 2, 4, 1);
    EXPECT(1, P "/monitors/count2: property 'blk': expected sectors no other partition of "
           "'disk' has, got <99 1>, which overlap count");
    /* 'blk' naming no block server; on a VMM (not a client). */
    base();
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 1, 0, 100);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT(1, P "/monitors/count: property 'blk': expected <&SERVER FIRST COUNT> naming a "
           "nestor,blk monitor, got 'vmm' (nestor,vmm-server)");
    base();
    add_blk("disk", 2, 0, 16);
    t_cells("/vms/hello", "virtio", 1, 2);
    t_cells("/monitors/vmm", "blk", 3, 2, 100, 1);
    EXPECT_FRAG(1, P "/monitors/vmm: property 'blk': expected one of ");
}

/* A block server's VM disk backed by an image (copy-on-write in its RAM). */
static void test_blk_image(void)
{
    base();
    add_blk("disk", 2, 0, 0);
    t_str("/monitors/disk", "image", "ro-disk");
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_OK();
    CU_ASSERT_STRING_EQUAL(S.mon[1].image, "ro-disk");
    CU_ASSERT_EQUAL(S.mon[1].vm_sectors.count, 0);
    CU_ASSERT_EQUAL(S.boot_files, 2 + 2 + 2);   /* init, config; vmm, blk; hello, ro-disk */
    /* The VM's own image as the disk too: one boot module. */
    base();
    add_blk("disk", 2, 0, 0);
    t_str("/monitors/disk", "image", "hello");
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.boot_files, 2 + 2 + 1);
    /* Both backings; an image nobody's VM uses; one that does not exist. */
    base();
    add_blk("disk", 2, 2048, 16);
    t_str("/monitors/disk", "image", "ro-disk");
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT(1, P "/monitors/disk: property 'image': expected either 'image' or 'vm-sectors' as "
           "its VM's disk, got both");
    base();
    add_blk("disk", 2, 0, 0);
    t_str("/monitors/disk", "image", "ro-disk");
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 100, 50);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT(1, P "/monitors/disk: property 'image': expected none: no VM's 'virtio' names this "
           "server, got an image");
    base();
    add_blk("disk", 2, 0, 0);
    t_str("/monitors/disk", "image", "nope");
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_FRAG(0, P "/monitors/disk: property 'image': expected a disk image that exists, got "
                "\"nope\", which does not exist");
}

/* A block server of an image only: no ATA ports needed, but then no
 * client either; and a pager's swap must not be on a server of its own
 * VM's devices (a device's pin would wait for the pager's swap I/O:
 * pager/README.md "Device DMA"). */
static void add_diskless(const char *name, uint32_t phandle, const char *image)
{
    char path[64];
    snprintf(path, sizeof path, "/monitors/%s", name);
    t_str(path, "compatible", "nestor,blk");
    t_u32(path, "memory-mib", 1);
    t_u32(path, "phandle", phandle);
    t_str(path, "image", image);
}

static void add_pager(uint32_t phandle, uint32_t blk)
{
    t_str("/monitors/pager", "compatible", "nestor,pager");
    t_u32("/monitors/pager", "memory-mib", 2);
    t_u32("/monitors/pager", "phandle", phandle);
    t_cells("/monitors/pager", "blk", 3, blk, 0, 4096);
    t_u32("/vms/hello", "memory-mib", 16);
    t_cells("/vms/hello", "monitors", 2, phandle, 1);
}

static void test_blk_diskless_and_paged(void)
{
    base();
    add_diskless("vdisk", 2, "ro-disk");
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT_OK();
    CU_ASSERT_EQUAL(S.mon[1].n_ports, 0);
    /* A client of it: refused, it has no disk. */
    add_count("count", 3);
    t_cells("/monitors/count", "blk", 3, 2, 0, 16);
    t_cells("/vms/hello", "monitors", 2, 3, 1);
    EXPECT(1, P "/monitors/count: property 'blk': expected <&SERVER FIRST COUNT> naming a "
           "block server with a disk, got 'vdisk', which drives no disk (no 'ioports': an "
           "image only)");
    /* Ports, but not the ATA channel's: still refused. */
    base();
    add_diskless("vdisk", 2, "ro-disk");
    t_cells("/monitors/vdisk", "ioports", 2, 0x1f0, 0x1f7);
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT(1, P "/monitors/vdisk: property 'ioports': expected the primary ATA channel's ports, "
           "<0x1f0 0x1f7 0x3f6 0x3f6> (the disk it drives), got ranges without them");
    /* A paged VM: its disk on one server, the pager's swap on another. */
    base();
    add_blk("swap", 2, 0, 0);
    add_diskless("vdisk", 3, "ro-disk");
    add_pager(4, 2);
    t_cells("/vms/hello", "virtio", 1, 3);
    EXPECT_OK();
    /* Both on one server: refused. */
    base();
    add_blk("disk", 2, 8192, 4096);
    add_pager(4, 2);
    t_cells("/vms/hello", "virtio", 1, 2);
    EXPECT(1, P "/monitors/pager: property 'blk': expected a swap server that serves none of "
           "its VM's devices (a device's pin would wait for the pager's swap I/O), got 'disk', "
           "which serves VM 'hello''s virtio device 0");
}

UNIT_SUITE(stackcfg_suite)
{
    CU_pSuite s = CU_add_suite("stackcfg: the stack-config validator", NULL, NULL);
    CU_add_test(s, "good: the demo stack, every field read", test_good_base);
    CU_add_test(s, "good: defaults; no environment, no look-ups", test_good_defaults);
    CU_add_test(s, "block servers without a disk; a pager's swap apart from its VM's devices",
                test_blk_diskless_and_paged);
    CU_add_test(s, "good: a count-monitor stacked on the VMM starts after it", test_good_stacked);
    CU_add_test(s, "good: two VMs, a nested config, two VMMs", test_good_many);
    CU_add_test(s, "good: every limit itself is allowed", test_good_limits);
    CU_add_test(s, "refused: truncated, garbage, corrupt blobs", test_bad_blob);
    CU_add_test(s, "refused: root compatible, unknown root node and property", test_bad_root);
    CU_add_test(s, "refused: no /monitors, no /vms, empty ones", test_missing_sections);
    CU_add_test(s, "refused: subnodes, bad node and image names", test_bad_names);
    CU_add_test(s, "refused: unknown properties (typos)", test_unknown_props);
    CU_add_test(s, "refused: two nodes of one name, a property twice, a phandle twice",
                test_twins);
    CU_add_test(s, "refused: memory-mib missing, a string, wrong length, odd, too big",
                test_memory);
    CU_add_test(s, "refused: priority out of range, vcpus > 1", test_priority_vcpus);
    CU_add_test(s, "refused: budgets too small for the VMs, larger than the machine",
                test_budgets);
    CU_add_test(s, "refused: guest and nested-config both, neither, missing; no program",
                test_guest_nested);
    CU_add_test(s, "kernel and initrd: a Linux VM; with guest, modules, alone: refused",
                test_kernel_initrd);
    CU_add_test(s, "nested: read and checked, its files counted", test_nested_good);
    CU_add_test(s, "nested refused: no nested-vmx in the VM's stack", test_nested_needs_vmx);
    CU_add_test(s, "inspector level: 1 by default, 2 right before nested-vmx, else refused",
                test_inspector_level);
    CU_add_test(s, "vmcs-shadowing: on, off, default; bad values and VMs without VMX refused",
                test_vmcs_shadowing);
    CU_add_test(s, "nested refused: no kernel or init, a config not to be read",
                test_nested_missing);
    CU_add_test(s, "nested refused: a VM smaller than the nested stack's machine",
                test_nested_memory);
    CU_add_test(s, "nested refused: the nested config's own errors", test_nested_inner_errors);
    CU_add_test(s, "nested refused: a config nesting itself (directly, through another)",
                test_nested_cycle);
    CU_add_test(s, "nested refused: deeper than SC_MAX_NESTING", test_nested_depth);
    CU_add_test(s, "nested refused: names too long for boot modules", test_nested_names);
    CU_add_test(s, "refused: strings that are bytes, lists, too long; bad name lists",
                test_strings);
    CU_add_test(s, "refused: dangling phandles, non-monitors, bad monitors lists",
                test_phandles);
    CU_add_test(s, "refused: stacks not ending with one VMM; a monitor twice", test_stack_order);
    CU_add_test(s, "refused: a stacking cycle across VMs", test_cross_vm_cycle);
    CU_add_test(s, "refused: ioports and irqs malformed, the console or the PICs",
                test_ports_irqs);
    CU_add_test(s, "modules: files with strings; refused: bad or missing files, too many; a "
                "machine larger than the one it boots on", test_modules_machine);
    CU_add_test(s, "refused: a port or IRQ held by two monitors", test_shared_devices);
    CU_add_test(s, "block servers: the VM's disk, client partitions; misuses refused", test_blk);
    CU_add_test(s, "block server: a VM disk backed by an image", test_blk_image);
    CU_add_test(s, "refused: unknown, duplicated, too many, shared exits", test_exits);
    CU_add_test(s, "refused: unused monitors, one serving two VMs, unknown kind", test_service);
    CU_add_test(s, "virtio: device servers read and ordered; unused, shared, misplaced, too "
                "many refused", test_virtio);
    CU_add_test(s, "virtio: a network server on several VMs' devices; misuses refused",
                test_net_server);
    CU_add_test(s, "refused: nine VMs, nine monitors", test_too_many);
    CU_add_test(s, "refused: several defects, all reported; more than are stored",
                test_all_reported);
    CU_add_test(s, "names: devices, exits, kinds", test_names_helpers);
}
