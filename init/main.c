/*
 * init/main.c - the root task: builds the stack its config describes.
 *
 * 1. Find the stack config among the boot modules and check it against the
 *    bindings (the same checks as the host tool: defence in depth). A bad
 *    config is refused whole: every error is printed, nothing starts.
 * 2. Start each monitor as a process of its own (spawn.c) in dependency
 *    order, granting only what its node names: its memory budget as
 *    untyped capabilities, its host I/O ports and IRQ lines, endpoints to
 *    the monitors stacked under it, its program's modules.
 * 3. Wait for the VMMs to end (or any monitor to fault) and give the
 *    verdict: PASS when every VMM ended with PASS and nothing faulted.
 * Every start, grant and failure is said on the console; the "topo:" lines
 * are the live topology (stackcfg/topo_facts.h).
 */
#include "spawn.h"
#include <devsrv.h>
#include <fmt.h>
#include <nestor/faults.h>
#include <stackcfg.h>
#include <string.h>
#include <topo_facts.h>
#include <user/print.h>
#include <user/runtime.h>

_Static_assert(SPAWN_MAX_MODULES >= SC_VMM_MAX_FILES + 1, "a VMM's files and its config fit");

#define INIT_KEEP_MIB 8               /* init's own objects: processes, page tables */
/* Restarts of one device server after its faults; the next fault ends the
 * stack as any monitor's does (a server that crashes at each start). Each
 * restart costs init the new process's image pages and tables (spawn_destroy). */
#define INIT_RESTARTS_MAX 3
#define INIT_BLK_REFUSALS_SAID 4      /* refused reconnections said (blk_reconnect) */
#define MIB          (1UL << 20)

/* The boot module holding file @name of @kind: "program NAME", "image
 * NAME", or for a nested stack's config "image NAME/stack-config NAME" (the
 * harness boots a nested stack's files as images: stackcfg.h). */
static const nestor_module_desc_t *module_of(const nestor_bootinfo_t *bi, sc_file_kind_t kind,
                                             const char *name)
{
    if (kind == SC_FILE_CONFIG) {
        char file[SC_MODULE_NAME_MAX + 1], inner[SC_MODULE_NAME_MAX + 1];
        fmt_snprintf(inner, sizeof inner, SC_MODULE_CONFIG "%s", name);
        return sc_nested_file(file, sizeof file, name, inner) ?
               nu_module(bi, SC_MODULE_IMAGE, file) : NULL;
    }
    return nu_module(bi, kind == SC_FILE_PROGRAM ? SC_MODULE_PROGRAM : SC_MODULE_IMAGE, name);
}

/* What the config names must be among the boot modules. */
static bool module_exists(void *ctx, sc_file_kind_t kind, const char *name)
{
    return module_of(ctx, kind, name) != NULL;
}

/* Nested stacks' configs are read from the boot modules and checked too. */
static const void *module_read(void *ctx, sc_file_kind_t kind, const char *name, size_t *size)
{
    const nestor_module_desc_t *m = module_of(ctx, kind, name);
    if (!m)
        return NULL;
    *size = m->size;
    return (const void *)(uintptr_t)m->vaddr;
}

/* RAM untypeds, largest first: init's own objects come from them. */
static nestor_cptr_t ram_untyped[NESTOR_BOOTINFO_MAX_UNTYPED];

static const nestor_module_desc_t *find_config(const nestor_bootinfo_t *bi)
{
    const nestor_module_desc_t *cfg = NULL;
    for (nestor_word_t i = 0; i < bi->module_count; i++) {
        const nestor_module_desc_t *m = &bi->modules[i];
        printf("init: module %lu \"%s\", %lu bytes\n", i, m->name, m->size);
        if (strncmp(m->name, SC_MODULE_CONFIG, strlen(SC_MODULE_CONFIG)) == 0) {
            if (cfg)
                printf("init: more than one stack config; using \"%s\"\n", cfg->name);
            else
                cfg = m;
        }
    }
    return cfg;
}

/* ---- the running stack ---- */

typedef struct {
    const sc_monitor_t *m;
    nestor_cptr_t service_ep;       /* stacked monitors: the endpoint they serve on */
    nestor_cptr_t parent, blk_ep;   /* its badged endpoint to init; to its block server */
    spawn_result_t proc;
    unsigned restarts;              /* device servers: its instance is restarts + 1 */
    nestor_cptr_t watch;            /* VMMs: signalled at its servers' restarts (DS_INIT_WATCH) */
    bool started, ended, passed;
} running_t;

static sc_stack_t stack;
static sc_report_t report;
static running_t run[SC_MAX_MONITORS];
static spawn_budget_t budget[SC_MAX_MONITORS];
static spawn_req_t req;
static char cmdline[NESTOR_BOOTINFO_CMDLINE_MAX];

static void topo_line(const char *fmt_line)
{
    printf("%s\n", fmt_line);
}

/* A send right to monitor @to's endpoint among the grants of VMM @m. */
static bool grant_endpoint(const sc_monitor_t *m, int to)
{
    if (req.n_grants == NESTOR_BOOTINFO_MAX_GRANTS) {
        printf("init: %s: more than %d grants\n", m->name, NESTOR_BOOTINFO_MAX_GRANTS);
        return false;
    }
    req.grants[req.n_grants++] = (spawn_grant_t){
        .kind = NESTOR_GRANT_ENDPOINT, .name = stack.mon[to].name, .endpoint = run[to].service_ep,
        .rights = NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT };
    return true;
}

/*
 * Network servers (net_proto.h): VM @v's port on server @srv is its number
 * among the VMs naming that server, in config order; the VMM of VM v gets
 * the server's endpoint badged with that port (port_ep, minted in
 * start_stack), so it can speak for no other VM's port.
 */
static nestor_cptr_t port_ep[SC_MAX_VMS][SC_MAX_VIRTIO];

static bool vm_uses(const sc_vm_t *vm, int srv)
{
    for (unsigned k = 0; k < vm->n_virtio; k++)
        if (vm->virtio[k] == srv)
            return true;
    return false;
}

static unsigned net_port(int srv, unsigned v)
{
    unsigned p = 0;
    for (unsigned u = 0; u < v; u++)
        p += vm_uses(&stack.vm[u], srv);
    return p;
}

static bool mint_net_ports(nu_alloc_t *a)
{
    for (unsigned v = 0; v < stack.n_vm; v++)
        for (unsigned k = 0; k < stack.vm[v].n_virtio; k++) {
            int srv = stack.vm[v].virtio[k];
            if (stack.mon[srv].kind != SC_NET)
                continue;
            port_ep[v][k] = a->next_slot++;
            if (nu_cnode_mint(a->cnode, port_ep[v][k], 64, a->cnode, run[srv].service_ep, 64,
                              NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT,
                              NET_BADGE_PORT(net_port(srv, v))) != NESTOR_OK) {
                printf("init: %s: its port for vm %s could not be made\n", stack.mon[srv].name,
                       stack.vm[v].name);
                return false;
            }
        }
    return true;
}

/* The request for monitor @i: its program, budget, modules and grants. */
static bool build_request(const nestor_bootinfo_t *bi, const nestor_module_desc_t *cfg, int i,
                          nestor_cptr_t parent, nestor_cptr_t blk_ep)
{
    const sc_monitor_t *m = &stack.mon[i];
    const nestor_module_desc_t *prog = nu_module(bi, SC_MODULE_PROGRAM, sc_kind_program(m->kind));
    req = (spawn_req_t){ .name = m->name, .elf = (const void *)(uintptr_t)prog->vaddr,
                         .elf_size = prog->size, .memory_mib = m->memory_mib,
                         .budget = &budget[i],
                         .priority = m->priority, .cmdline = cmdline, .parent_ep = parent,
                         /* a VMM hands init its restart signal (DS_INIT_WATCH) */
                         .parent_grant = m->kind == SC_VMM_SERVER };
    size_t n = (size_t)fmt_snprintf(cmdline, sizeof cmdline, "monitor=%s", m->name);
    if (m->options[0])
        n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " %s", m->options);
    /* Host devices of its node (a VMM's timer, an inspector's serial port). */
    for (unsigned p = 0; p < m->n_ports; p++)
        req.grants[req.n_grants++] = (spawn_grant_t){ .kind = NESTOR_GRANT_IOPORT,
                                                      .arg0 = m->ports[p].first,
                                                      .arg1 = m->ports[p].last, .name = "ioports" };
    for (unsigned q = 0; q < m->n_irqs; q++)
        req.grants[req.n_grants++] = (spawn_grant_t){ .kind = NESTOR_GRANT_IRQ, .arg0 = m->irqs[q],
                                                      .name = "irq" };
    if (m->kind != SC_VMM_SERVER) {
        /* A stacked monitor: the endpoint its VM's exits arrive on (the VMM
         * wires it into the VM's exit table and sets it up there). */
        if (m->kind == SC_COUNT_MONITOR)
            for (unsigned x = 0; x < m->n_exits; x++)
                n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, "%s%u",
                                          x ? "," : " exits=", m->exits[x]);
        /* A device server: the VM whose device it is (the prefix of its
         * console lines); the VMM hands it the VM itself. */
        for (unsigned v = 0; sc_kind_is_device_server(m->kind) && v < stack.n_vm; v++)
            if (vm_uses(&stack.vm[v], i) && m->kind == SC_NET)
                n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " " NET_PORT_OPT
                                          "%u=%s", net_port(i, v), stack.vm[v].name);
            else if (vm_uses(&stack.vm[v], i))
                n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " vm=%s",
                                          stack.vm[v].name);
        /* A block server: the partitions it serves, each client's by its
         * badge (device-servers/include/blk_proto.h); clients never say
         * which sectors are theirs. */
        if (m->kind == SC_BLK && m->vm_sectors.count)
            n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " blk.vm=%lu:%lu",
                                      (unsigned long)m->vm_sectors.first,
                                      (unsigned long)m->vm_sectors.count);
        /* ... or the image backing its VM's disk, as a module of its own. */
        const nestor_module_desc_t *img = m->kind == SC_BLK && m->image[0] ?
                                          nu_module(bi, SC_MODULE_IMAGE, m->image) : NULL;
        if (img) {
            n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " blk.image=%s",
                                      m->image);
            req.modules[req.n_modules++] = (spawn_module_t){
                img->name, (const void *)(uintptr_t)img->vaddr, img->size };
        }
        for (unsigned k = 0; m->kind == SC_BLK && k < stack.n_mon; k++)
            if (stack.mon[k].blk_server == i)
                n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n,
                                          " blk.client%u=%lu:%lu", stack.mon[k].blk_client,
                                          (unsigned long)stack.mon[k].blk_sectors.first,
                                          (unsigned long)stack.mon[k].blk_sectors.count);
        /* ... and which of them is the checkpoint monitor of the VM it
         * serves a disk: that client may read and write the VM's disk
         * (blk_proto.h BLK_REQ_VM_*, checkpoint/README.md "The disk"). */
        for (unsigned v = 0; m->kind == SC_BLK && v < stack.n_vm; v++)
            for (unsigned s = 0; vm_uses(&stack.vm[v], i) && s < stack.vm[v].n_stack; s++) {
                const sc_monitor_t *c = &stack.mon[stack.vm[v].stack[s]];
                if (c->kind == SC_CHECKPOINT && c->blk_server == (int)i)
                    n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " blk.ckpt=%u",
                                              c->blk_client);
            }
        /* A restarted device server knows it is one (and so does not
         * repeat a test's crash; the VMM restores its device's state). */
        if (run[i].restarts)
            n += (size_t)fmt_snprintf(cmdline + n, sizeof cmdline - n, " restart=%u",
                                      run[i].restarts);
        /* (Its 'options' are already at the front, after its name.) */
        /* A block server's client: a send capability badged with its number. */
        if (m->blk_server >= 0) {
            req.grants[req.n_grants++] = (spawn_grant_t){
                .kind = NESTOR_GRANT_ENDPOINT, .name = BLK_GRANT_NAME, .endpoint = blk_ep,
                .rights = NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT };
        }
        req.grants[req.n_grants++] = (spawn_grant_t){
            .kind = NESTOR_GRANT_SERVICE,
            .name = sc_kind_is_device_server(m->kind) ? "requests" : "exits",
            .endpoint = run[i].service_ep, .rights = NESTOR_RIGHTS_ALL };
        return true;
    }
    /* The VMM reads its VMs from the config and needs their images. */
    req.modules[req.n_modules++] = (spawn_module_t){ cfg->name, (const void *)(uintptr_t)cfg->vaddr,
                                                     cfg->size };
    for (unsigned v = 0; v < stack.n_vm; v++) {
        const sc_vm_t *vm = &stack.vm[v];
        if (sc_vm_vmm(&stack, vm) != m)
            continue;
        /* Its image and its Multiboot modules' files ("image FILE"); for a
         * nested stack every "image NAME/..." (the kernel, the stack's own
         * boot modules); each once. */
        const char *files[1 + SC_MAX_GUEST_MODULES];
        unsigned n_files = sc_vm_files(vm, files);
        char prefix[SC_MODULE_NAME_MAX + 1];
        fmt_snprintf(prefix, sizeof prefix, SC_MODULE_IMAGE "%s" SC_NESTED_SEP, vm->nested);
        for (nestor_word_t b = 0; b < bi->module_count && b < NESTOR_BOOTINFO_MAX_MODULES; b++) {
            const nestor_module_desc_t *img = &bi->modules[b];
            bool mine = vm->nested[0] && strncmp(img->name, prefix, strlen(prefix)) == 0;
            for (unsigned f = 0; !mine && f < n_files; f++)
                mine = img == nu_module(bi, SC_MODULE_IMAGE, files[f]);
            bool have = false;
            for (unsigned k = 0; mine && k < req.n_modules; k++)
                have |= strcmp(req.modules[k].name, img->name) == 0;
            if (!mine || have)
                continue;
            if (req.n_modules == SPAWN_MAX_MODULES) {
                printf("init: %s: more than %d modules\n", m->name, SPAWN_MAX_MODULES);
                return false;
            }
            req.modules[req.n_modules++] = (spawn_module_t){
                img->name, (const void *)(uintptr_t)img->vaddr, img->size };
        }
        /* Send rights to each monitor stacked on this VM: the VMM wires
         * them into the VM's exit table and tells each where to pass on. */
        for (unsigned k = 0; k + 1 < vm->n_stack; k++)
            if (!grant_endpoint(m, vm->stack[k]))
                return false;
        /* ... and to the server of each of its virtio devices: the VMM
         * hands it the VM's RAM and forwards the device's window to it
         * (device-servers/include/devsrv.h). */
        for (unsigned k = 0; k < vm->n_virtio; k++) {
            if (stack.mon[vm->virtio[k]].kind != SC_NET) {
                if (!grant_endpoint(m, vm->virtio[k]))
                    return false;
                continue;
            }
            /* A network server: the capability badged with this VM's
             * port, arg0 the VM's index (its VMM may run others on it). */
            if (req.n_grants == NESTOR_BOOTINFO_MAX_GRANTS) {
                printf("init: %s: more than %d grants\n", m->name, NESTOR_BOOTINFO_MAX_GRANTS);
                return false;
            }
            req.grants[req.n_grants++] = (spawn_grant_t){
                .kind = NESTOR_GRANT_ENDPOINT, .name = stack.mon[vm->virtio[k]].name,
                .endpoint = port_ep[v][k], .arg0 = v,
                .rights = NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT };
        }
    }
    return true;
}

static void say_grants(const sc_monitor_t *m, const spawn_result_t *p)
{
    char line[TOPO_LINE_MAX];
    fmt_snprintf(line, sizeof line, TOPO_PREFIX "grant %s untyped %uMiB", m->name, m->memory_mib);
    topo_line(line);
    for (unsigned g = 0; g < req.n_grants; g++) {
        const spawn_grant_t *gr = &req.grants[g];
        if (gr->kind == NESTOR_GRANT_IOPORT)
            topo_fmt_grant_ports(line, sizeof line, m->name, (uint32_t)gr->arg0,
                                 (uint32_t)gr->arg1);
        else if (gr->kind == NESTOR_GRANT_IRQ)
            topo_fmt_grant_irq(line, sizeof line, m->name, (uint32_t)gr->arg0);
        else if (gr->kind == NESTOR_GRANT_ENDPOINT)
            fmt_snprintf(line, sizeof line, TOPO_PREFIX "grant %s endpoint %s", m->name, gr->name);
        else
            fmt_snprintf(line, sizeof line, TOPO_PREFIX "grant %s service %s", m->name, gr->name);
        topo_line(line);
    }
    printf("init: started %s (%s): %u MiB in %u untyped caps, %u caps in all, priority %u\n",
           m->name, sc_kind_compatible(m->kind), m->memory_mib, p->untypeds, p->caps, m->priority);
}

static void stop_all(void)
{
    for (unsigned i = 0; i < stack.n_mon; i++)
        if (run[i].started && !run[i].ended)
            nu_tcb_suspend(run[i].proc.tcb);
}

/* Into run[@k].blk_ep: a send capability to the endpoint of client @k's
 * block server, badged with its number among the server's clients
 * (blk_proto.h); at its start and again at each restart of the server. */
static bool mint_blk_ep(nu_alloc_t *a, int k)
{
    nu_cnode_delete(a->cnode, run[k].blk_ep, 64);   /* revoked with the old endpoint */
    return nu_cnode_mint(a->cnode, run[k].blk_ep, 64, a->cnode,
                         run[stack.mon[k].blk_server].service_ep, 64,
                         NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT,
                         BLK_BADGE_CLIENT(stack.mon[k].blk_client)) == NESTOR_OK;
}

static bool start_stack(const nestor_bootinfo_t *bi, const nestor_module_desc_t *cfg,
                        nu_alloc_t *a, nestor_cptr_t ep)
{
    for (unsigned i = 0; i < stack.n_mon; i++) {
        run[i].m = &stack.mon[i];
        if (stack.mon[i].kind != SC_VMM_SERVER &&
            !(run[i].service_ep = nu_alloc_obj(a, NESTOR_OBJ_ENDPOINT, 0)))
            return false;
    }
    if (!mint_net_ports(a))
        return false;
    for (unsigned k = 0; k < stack.n_mon; k++) {
        int i = stack.start_order[k];
        const sc_monitor_t *m = &stack.mon[i];
        nestor_cptr_t parent = a->next_slot++;
        /* A block server's client: a send capability badged with its
         * number among the server's clients (blk_proto.h). */
        nestor_cptr_t blk_ep = run[i].blk_ep = m->blk_server >= 0 ? a->next_slot++ : 0;
        if (nu_cnode_mint(a->cnode, parent, 64, a->cnode, ep, 64, NESTOR_RIGHTS_ALL,
                          (nestor_word_t)i + 1) != NESTOR_OK ||
            (blk_ep && !mint_blk_ep(a, i)) ||
            !build_request(bi, cfg, i, parent, blk_ep) || !spawn(a, bi, &req, &run[i].proc)) {
            printf("init: monitor %s did not start: stopping the stack\n", m->name);
            stop_all();
            return false;
        }
        run[i].started = true;
        run[i].parent = parent;
        char line[TOPO_LINE_MAX];
        topo_fmt_monitor(line, sizeof line, m->name, topo_kind(m->kind), m->memory_mib,
                         m->priority);
        topo_line(line);
        say_grants(m, &run[i].proc);
    }
    return true;
}

/*
 * Every monitor's budget, carved before anything starts (largest first, so
 * large budgets find whole untypeds): a budget init cannot give refuses
 * the stack here, not halfway through starting it.
 */
static bool carve_budgets(const nestor_bootinfo_t *bi, nu_alloc_t *a, const char *file)
{
    bool done[SC_MAX_MONITORS] = { false };
    for (unsigned k = 0; k < stack.n_mon; k++) {
        int big = -1;
        for (unsigned i = 0; i < stack.n_mon; i++)
            if (!done[i] && (big < 0 || stack.mon[i].memory_mib > stack.mon[big].memory_mib))
                big = (int)i;
        done[big] = true;
        const sc_monitor_t *m = &stack.mon[big];
        if (!spawn_carve_budget(a, bi, m->memory_mib, &budget[big])) {
            printf("init: %s: /monitors/%s: property 'memory-mib': expected a budget init can "
                   "give from its free memory (in at most %d pieces of at least 1 MiB), got %u "
                   "MiB\n", file, m->name, SPAWN_MAX_UNTYPEDS, m->memory_mib);
            printf("init: stack %s refused: its budgets do not fit this machine's free memory; "
                   "nothing started\n", file);
            return false;
        }
    }
    return true;
}

static void describe_fault(const running_t *r, const nu_msg_t *m)
{
    nestor_word_t label = nestor_msginfo_label(m->info);
    if (label == NESTOR_FAULT_VM)
        printf("init: monitor %s faulted: page fault at 0x%lx, rip 0x%lx (error 0x%lx)\n",
               r->m->name, m->mr[1], m->mr[0], m->mr[2]);
    else if (label == NESTOR_FAULT_USER_EXCEPTION)
        printf("init: monitor %s faulted: exception %lu at rip 0x%lx\n", r->m->name, m->mr[3],
               m->mr[0]);
    else
        printf("init: monitor %s faulted (fault type %lu)\n", r->m->name, label);
}

/*
 * Device server @i faulted: a fresh process in its place (issue 13, item
 * 6; device-servers/README.md "Restart"). The old one is destroyed whole
 * (spawn_destroy: a VMM waiting for its reply wakes with an error), its
 * endpoint revoked (every capability to it, the VMM's among them, goes),
 * and the server starts again from its program with the same budget and
 * grants on a fresh endpoint, "restart=K" on its command line. The VMM
 * gets a capability to the new endpoint only by asking (reconnect below).
 */
static bool restart(const nestor_bootinfo_t *bi, const nestor_module_desc_t *cfg, nu_alloc_t *a,
                    int i)
{
    running_t *r = &run[i];
    if (!spawn_destroy(a, &r->proc, &budget[i]) ||
        nu_cnode_revoke(a->cnode, r->service_ep, 64) != NESTOR_OK ||
        nu_cnode_delete(a->cnode, r->service_ep, 64) != NESTOR_OK ||
        !(r->service_ep = nu_alloc_obj(a, NESTOR_OBJ_ENDPOINT, 0)))
        return false;
    r->restarts++;
    if (!build_request(bi, cfg, i, r->parent, r->blk_ep) || !spawn(a, bi, &req, &r->proc))
        return false;
    /* Its client monitors' badged capabilities went with the old endpoint
     * (init's own, which theirs were copied from, among them): init mints
     * each again on the new one, for the client to ask for (blk_reconnect). */
    for (unsigned k = 0; k < stack.n_mon; k++)
        if (stack.mon[k].blk_server == i && run[k].blk_ep && !mint_blk_ep(a, (int)k))
            return false;
    printf("init: restarted %s (instance %u; restart %u of at most %u): a fresh process with "
           "its budget and grants, on a fresh endpoint\n", r->m->name, r->restarts + 1,
           r->restarts, INIT_RESTARTS_MAX);
    /* Every VMM of a VM it serves is told (DS_INIT_WATCH): one idle at a
     * halted VM reconnects now, not at its VM's next access. */
    for (unsigned v = 0; v < stack.n_vm; v++) {
        const sc_monitor_t *vmm = sc_vm_vmm(&stack, &stack.vm[v]);
        if (vm_uses(&stack.vm[v], i) && vmm && run[vmm - stack.mon].watch)
            nu_signal(run[vmm - stack.mon].watch);
    }
    return true;
}

/* MR @i of the message @m just received (the first in registers, the
 * rest in the IPC buffer). */
static nestor_word_t request_mr(const nu_msg_t *m, unsigned i)
{
    return i < NESTOR_MSG_REGISTERS_IN_CPU ? m->mr[i] : nu_ipc_buffer()->msg[i];
}

/* The server's name in MRs 1..DS_NAME_MRS (devsrv.h), into @name (one
 * byte longer, zeroed). */
static void request_name(const nu_msg_t *m, char *name)
{
    for (unsigned i = 0; i < DS_NAME_MRS; i++) {
        nestor_word_t w = request_mr(m, 1 + i);
        memcpy(name + i * sizeof w, &w, sizeof w);
    }
}

/* VMM @vmm asks for device server NAME's instance after @known for the
 * device of the VM it names (devsrv.h DS_INIT_RECONNECT): a send
 * capability to its endpoint (a network server's badged with that VM's
 * port, as at the start) if that VM is the VMM's and names the server,
 * and the server was restarted since; else refused. */
static void reconnect(nu_alloc_t *a, int vmm, const nu_msg_t *m)
{
    char name[DS_NAME_MRS * sizeof(nestor_word_t) + 1] = { 0 };
    request_name(m, name);
    nu_msg_t r = { .info = nestor_msginfo(DS_REFUSED, 0, 0, 0) };
    int srv = -1;
    const nestor_word_t v = nestor_msginfo_length(m->info) == DS_RECONNECT_VM_MRS
                                ? request_mr(m, DS_RECONNECT_MR_VM) : stack.n_vm;
    for (unsigned k = 0; v < stack.n_vm && sc_vm_vmm(&stack, &stack.vm[v]) == &stack.mon[vmm] &&
                         k < stack.vm[v].n_virtio; k++)
        if (strcmp(stack.mon[stack.vm[v].virtio[k]].name, name) == 0)
            srv = stack.vm[v].virtio[k];
    nestor_cptr_t copy = a->next_slot++;
    const nestor_word_t badge = srv >= 0 && stack.mon[srv].kind == SC_NET
                                    ? NET_BADGE_PORT(net_port(srv, (unsigned)v)) : 0;
    if (srv >= 0 && run[srv].restarts && !run[srv].ended && m->mr[0] < run[srv].restarts &&
        nu_cnode_mint(a->cnode, copy, 64, a->cnode, run[srv].service_ep, 64,
                      NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT, badge) == NESTOR_OK) {
        r = (nu_msg_t){ .info = nestor_msginfo(DS_OK, 0, 1, 1), .mr = { run[srv].restarts } };
        nu_ipc_buffer()->caps_or_badges[0] = copy;
        printf("init: %s reconnects to %s's instance %u\n", stack.mon[vmm].name, name,
               run[srv].restarts + 1);
    }
    nu_reply(&r);
    nu_cnode_delete(a->cnode, copy, 64);        /* the VMM has its own now */
}

/* Client monitor @client of a block server asks for the server's instance
 * after @known (blk_proto.h BLK_INIT_RECONNECT): a copy of its badged
 * capability, minted on the new endpoint at the restart, if the config
 * names it a client of that server and the server was restarted since;
 * else refused (BLK_E_NO_SERVER). One slot of init's serves every copy
 * (emptied after the reply) and refusals are said a few times only, so a
 * client asking again and again costs init nothing but the calls. */
static void blk_reconnect(nu_alloc_t *a, int client, const nu_msg_t *m)
{
    static nestor_cptr_t copy;
    static unsigned refusals;
    const int srv = stack.mon[client].blk_server;
    nu_msg_t r = { .info = nestor_msginfo(BLK_E_NO_SERVER, 0, 0, 0) };
    if (!copy)
        copy = a->next_slot++;
    if (nestor_msginfo_length(m->info) == BLK_RECONNECT_MRS && srv >= 0 && run[client].blk_ep &&
        run[srv].restarts && !run[srv].ended && m->mr[0] < run[srv].restarts &&
        nu_cnode_copy(a->cnode, copy, 64, a->cnode, run[client].blk_ep, 64,
                      NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT) == NESTOR_OK) {
        r = (nu_msg_t){ .info = nestor_msginfo(BLK_OK, 0, 1, 1), .mr = { run[srv].restarts } };
        nu_ipc_buffer()->caps_or_badges[0] = copy;
        printf("init: %s reconnects to %s's instance %u (client %u: its badged capability "
               "again)\n", stack.mon[client].name, stack.mon[srv].name, run[srv].restarts + 1,
               stack.mon[client].blk_client);
    } else if (refusals++ < INIT_BLK_REFUSALS_SAID) {
        printf("init: %s asks for a block server's new instance: refused (no client of a "
               "server restarted since)%s\n", stack.mon[client].name,
               refusals == INIT_BLK_REFUSALS_SAID ? "; further refusals not said" : "");
    }
    nu_reply(&r);
    nu_cnode_delete(a->cnode, copy, 64);        /* the client has its own now */
}

/* Monitor @asker asks for device server NAME's restart (devsrv.h
 * DS_INIT_RESTART): done if NAME serves a VM in whose stack @asker is and
 * its restarts are not spent. A block server's client monitors reconnect
 * (blk_reconnect), as its VMM does. */
static void restart_request(const nestor_bootinfo_t *bi, const nestor_module_desc_t *cfg,
                            nu_alloc_t *a, int asker, const nu_msg_t *m)
{
    char name[DS_NAME_MRS * sizeof(nestor_word_t) + 1] = { 0 };
    request_name(m, name);
    int srv = -1;
    for (unsigned v = 0; v < stack.n_vm; v++) {
        const sc_vm_t *vm = &stack.vm[v];
        bool mine = false;
        for (unsigned k = 0; k < vm->n_stack; k++)
            mine |= vm->stack[k] == asker;
        for (unsigned k = 0; mine && k < vm->n_virtio; k++)
            if (strcmp(stack.mon[vm->virtio[k]].name, name) == 0)
                srv = vm->virtio[k];
    }
    bool ok = nestor_msginfo_length(m->info) == DS_RECONNECT_MRS && srv >= 0 &&
              !run[srv].ended && run[srv].restarts < INIT_RESTARTS_MAX;
    printf("init: %s asks for %s's restart: %s\n", stack.mon[asker].name, name,
           ok ? "killing it" : "refused (not a server of its VM's, or its restarts spent)");
    ok = ok && restart(bi, cfg, a, srv);
    nu_msg_t r = { .info = nestor_msginfo(ok ? DS_OK : DS_REFUSED, 0, 0, ok ? 1 : 0),
                   .mr = { ok ? run[srv].restarts : 0 } };
    nu_reply(&r);
}

/* Until every VMM has ended: their ends and any monitor's faults. */
static bool wait_for_stack(const nestor_bootinfo_t *bi, const nestor_module_desc_t *cfg,
                           nu_alloc_t *a, nestor_cptr_t ep)
{
    unsigned vmms = 0;
    bool ok = true;
    for (unsigned i = 0; i < stack.n_mon; i++)
        vmms += stack.mon[i].kind == SC_VMM_SERVER;
    nestor_cptr_t slot = a->next_slot++;   /* a VMM's DS_INIT_WATCH capability lands here */
    while (vmms) {
        nu_msg_t m = { 0 };
        nu_receive_cap_into(slot);
        nestor_word_t st = nu_recv(ep, &m);
        nestor_word_t label = nestor_msginfo_label(m.info);
        running_t *r = st == NESTOR_OK && m.badge && m.badge <= stack.n_mon ? &run[m.badge - 1]
                                                                             : NULL;
        if (st == NESTOR_OK && label == DS_INIT_WATCH && r && !r->ended) {
            /* A VMM's, once, and a notification only: signalling one
             * never blocks init (a send to an endpoint would, until
             * someone received). Anyone else's is answered, refused. */
            nestor_word_t type = NESTOR_OBJ_NULL, rights = 0;
            bool take = r->m->kind == SC_VMM_SERVER && !r->watch &&
                        nestor_msginfo_extra_caps(m.info) == 1 &&
                        nu_cap_identify(slot, &type, &rights, NULL) == NESTOR_OK &&
                        type == NESTOR_OBJ_NOTIFICATION && (rights & NESTOR_RIGHT_WRITE);
            if (take) {
                r->watch = slot;
                slot = a->next_slot++;
            }
            nu_msg_t reply = { .info = nestor_msginfo(take ? DS_OK : DS_REFUSED, 0, 0, 0) };
            nu_reply(&reply);
            if (take)
                continue;
        }
        if (st == NESTOR_OK && nestor_msginfo_extra_caps(m.info))
            nu_cnode_delete(a->cnode, slot, 64);  /* a capability for nothing */
        if (!r || label == DS_INIT_WATCH)
            continue;
        if (r->ended)
            continue;
        if (label == DS_INIT_RECONNECT && r->m->kind == SC_VMM_SERVER) {
            reconnect(a, (int)(m.badge - 1), &m);
            continue;
        }
        if (label == BLK_INIT_RECONNECT && !sc_kind_is_device_server(r->m->kind)) {
            blk_reconnect(a, (int)(m.badge - 1), &m);
            continue;
        }
        if (label == DS_INIT_RESTART && !sc_kind_is_device_server(r->m->kind)) {
            restart_request(bi, cfg, a, (int)(m.badge - 1), &m);
            continue;
        }
        if (label != NESTOR_EXIT_LABEL && sc_kind_is_device_server(r->m->kind) &&
            r->restarts < INIT_RESTARTS_MAX) {
            describe_fault(r, &m);
            if (restart(bi, cfg, a, (int)(m.badge - 1)))
                continue;
            printf("init: %s could not be restarted\n", r->m->name);
        }
        r->ended = true;
        if (nestor_msginfo_label(m.info) == NESTOR_EXIT_LABEL) {
            r->passed = m.mr[0] == 1;
            printf("init: monitor %s ended: %s\n", r->m->name, r->passed ? "PASS" : "FAIL");
        } else {
            describe_fault(r, &m);
            nu_tcb_suspend(r->proc.tcb);
        }
        ok &= r->passed;
        if (r->m->kind == SC_VMM_SERVER)
            vmms--;
        else if (!r->passed)
            break;                  /* a stacked monitor failed: its VMs cannot go on */
    }
    return ok;
}

int main(const nestor_bootinfo_t *bi)
{
    printf("init: Nestor root task started (command line \"%s\")\n", bi->cmdline);
    uint64_t ram = 0;
    unsigned n_ram = nu_ram_untypeds(bi, ram_untyped, &ram);
    printf("init: %u RAM untyped capabilities, %lu MiB in all\n", n_ram, ram / MIB);
    const nestor_module_desc_t *cfg = find_config(bi);
    if (!cfg) {
        printf("init: no stack config module: nothing to build\n");
        return 1;
    }
    char file[NESTOR_GRANT_NAME_MAX * 2];
    fmt_snprintf(file, sizeof file, "%s.dtb", cfg->name + strlen(SC_MODULE_CONFIG));
    /* What init keeps: its own objects and the copies of the modules it hands on. */
    uint64_t module_bytes = 0;
    for (nestor_word_t i = 0; i < bi->module_count && i < NESTOR_BOOTINFO_MAX_MODULES; i++)
        module_bytes += bi->modules[i].size;
    uint32_t free_mib = (uint32_t)(ram / MIB), keep = INIT_KEEP_MIB +
                                                      (uint32_t)((module_bytes + MIB - 1) / MIB);
    sc_env_t env = { .exists = module_exists, .read = module_read, .ctx = (void *)(uintptr_t)bi,
                     .memory_limit_mib = free_mib > keep ? free_mib - keep : 1 };
    if (!sc_load((const void *)(uintptr_t)cfg->vaddr, cfg->size, file, &env, &stack, &report)) {
        for (unsigned i = 0; i < report.n; i++)
            printf("init: %s\n", report.msg[i]);
        printf("init: stack %s refused: %u error%s; nothing started\n", file, report.total,
               report.total == 1 ? "" : "s");
        return 0;
    }
    printf("init: stack %s: \"%s\": %u monitor%s, %u VM%s\n", file, stack.model, stack.n_mon,
           stack.n_mon == 1 ? "" : "s", stack.n_vm, stack.n_vm == 1 ? "" : "s");
    for (unsigned v = 0; v < stack.n_vm; v++)
        if (stack.vm[v].nested[0])
            printf("init: /vms/%s: a nested stack (%s): %u files, under %s\n", stack.vm[v].name,
                   stack.vm[v].nested, stack.vm[v].nested_files,
                   stack.mon[stack.vm[v].stack[0]].name);
    if (!bi->vmx_present) {
        printf("init: no VMX on this machine: the stack's VMs cannot run; nothing started\n");
        return 0;
    }
    nu_alloc_t a = { ram_untyped[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                     ram_untyped + 1, n_ram - 1 };
    if (!carve_budgets(bi, &a, file))
        return 0;
    nestor_cptr_t ep = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    if (!ep || !start_stack(bi, cfg, &a, ep))
        return 0;
    bool ok = wait_for_stack(bi, cfg, &a, ep);
    stop_all();
    printf("init: stack %s done: %s\n", file, ok ? "every VMM ended with PASS" : "FAILED");
    return ok;
}
