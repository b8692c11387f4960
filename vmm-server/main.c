/*
 * vmm-server/main.c - the VMM: builds its VMs, then serves their exits.
 *
 * Two ways to start:
 *   - as a monitor init started from a stack config ("monitor=NAME" on its
 *     command line, the config among its modules): it runs the VMs whose
 *     stack ends with NAME, with the memory, devices and command line their
 *     nodes give, each image from an "image FILE" module, and wires the
 *     monitors stacked on each VM into its exit table;
 *   - as the root task (tests, benchmarks): one VM per "guest NAME" module.
 */
#include "../checkpoint/ckpt_proto.h"
#include "nvmx_state.h"
#include "../pager/pager_proto.h"
#include "nvmx_setup.h"
#include "stacking.h"
#include "vmm.h"
#include <fmt.h>
#include <stdlib.h>
#include <string.h>
#include <topo_facts.h>
#include <user/hostuart.h>
#include <user/print.h>
#include <user/runtime.h>

#define GUEST_TAG      "guest "           /* root task: one VM per module */
#define GUEST_OPTS_TAG "guest-opts "      /* root task: a VM's options (text, below) */
#define GUEST_MOD_TAG  "guest-mod "       /* root task: a VM's Multiboot modules, in order */
#define MONITOR_OPT    "monitor="
#define GUEST_LOAD_GPA 0x100000           /* images run where Multiboot would put them */

static vm_t vms[VMM_MAX_VMS];
static unsigned n_vms;

/* Monitors stacked on a VM, for their counts at the end: those init
 * started (config mode) and the count monitor vmm.count= starts (root task). */
typedef struct {
    unsigned vm;
    const char *name;               /* "" for the vmm.count= one */
    nestor_cptr_t query;
    const char *kind;               /* its program's name: "count-monitor", "nested-vmx", ... */
    bool count;                     /* a count monitor */
    bool first;                     /* nearest the VM: sees only its own exits */
    bool cpuid_only;                /* takes CPUID exits alone: comparable with the guest */
} stacked_t;
static stacked_t stacked[VMM_MAX_VMS * SC_MAX_STACK];
static unsigned n_stacked;
static sc_stack_t config;
static sc_report_t config_report;
static char my_name[SC_NAME_MAX];

/* Options on the kernel command line:
 *   vmm.sequential        run the VMs one after another (benchmarks)
 *   vmm.count=NAME        stack a count monitor on VM NAME's CPUID exits
 *   vmm.limit_ms=N        stop a VM still running N ms after it started (a
 *                         guest spinning with interrupts off exits only then) */
static bool opt_sequential;
static char opt_count[VMM_NAME_MAX];
static uint64_t opt_limit_ms;

static void parse_options(const char *cmdline)
{
    opt_sequential = nu_option(cmdline, "vmm.sequential") != NULL;
    nu_option_copy(cmdline, "vmm.count=", opt_count, sizeof opt_count);
    const char *wait = nu_option(cmdline, "vmm.devsrv_timeout_ms=");
    if (wait)
        vfwd_timeout_ms = strtoul(wait, NULL, 10);
    const char *limit = nu_option(cmdline, "vmm.limit_ms=");
    if (limit) {
        unsigned long ms = strtoul(limit, NULL, 10);
        opt_limit_ms = ms < UINT32_MAX ? ms : UINT32_MAX;
    }
}

/* RAM untypeds, largest first: VMs take them one after another. */
static nestor_cptr_t ram_untyped[NESTOR_BOOTINFO_MAX_UNTYPED];

/* Whether any VM still runs: the exit loop asks at every exit, so it stops
 * at the first (most often the VM whose exit it serves). */
static bool running(void)
{
    for (unsigned i = 0; i < n_vms; i++)
        if (vms[i].status == VM_RUNNING)
            return true;
    return false;
}

/* ---- the host tick: when a VM has a timer armed (or a time limit), the
 * host PIT counts down to the earliest such deadline of all VMs, one shot,
 * and the VMM then pauses the VMs with an interrupt due. Not a periodic
 * tick: a guest whose timer fires every 10 ms costs one host interrupt per
 * 10 ms, not ten (each a mask, EOI and unmask of the 8259, and a thread
 * switch: exits of their own where this VMM is itself a guest). ---- */

#define HOST_PIT_FIRST  0x40
#define HOST_PIT_LAST   0x43
#define HOST_PIT_CH0    0x40
#define HOST_PIT_CMD    0x43
/* Channel 0, lobyte/hibyte, mode 0 "interrupt on terminal count" (8254
 * data sheet, Mode 0): OUT goes low at the control word and rises once,
 * when the count written runs out: one IRQ 0 edge per count written. */
#define HOST_PIT_ONE_SHOT 0x30
#define HOST_PIT_HZ     1193182
#define HOST_PIT_MAX_COUNT 0xFFFFu
#define HOST_TICK_HZ    1000                 /* at most this many host ticks a second */
#define HOST_TICK_MIN_NS (NS_PER_S / HOST_TICK_HZ)
#define HOST_TICK_MAX_NS ((uint64_t)HOST_PIT_MAX_COUNT * NS_PER_S / HOST_PIT_HZ)
#define HOST_PIT_IRQ    0
#define TICK_BADGE      (1ULL << 40)         /* no VM badge is this large */

static nestor_cptr_t tick_irq, tick_ports;
static bool tick_available;
static uint64_t tick_armed_ns = UINT64_MAX; /* when the count written runs out; MAX: none */
nestor_cptr_t vmm_notification;              /* bound to our thread (vmm.h) */

/* The host PIT: issued from the control capabilities (root task), or the
 * port range and IRQ line init granted (a monitor); without them VMs run
 * on, but busy guests only get their timer interrupts at their own exits. */

static bool tick_setup(nu_alloc_t *a, const nestor_bootinfo_t *bi)
{
    nestor_cptr_t n = nu_alloc_obj(a, NESTOR_OBJ_NOTIFICATION, 0), nb = a->next_slot++;
    if (!n || nu_cnode_mint(a->cnode, nb, 64, a->cnode, n, 64, NESTOR_RIGHTS_ALL, TICK_BADGE) !=
                  NESTOR_OK || nu_tcb_bind_notification(NESTOR_CAP_INIT_TCB, n) != NESTOR_OK)
        return false;
    vmm_notification = n;       /* device servers signal it too (virtio_fwd.c) */
    if (bi->parent_ep) {
        tick_ports = tick_irq = 0;
        for (nestor_word_t i = 0; i < bi->grant_count && i < NESTOR_BOOTINFO_MAX_GRANTS; i++) {
            const nestor_grant_desc_t *g = &bi->grants[i];
            if (g->kind == NESTOR_GRANT_IOPORT && g->arg0 <= HOST_PIT_FIRST &&
                g->arg1 >= HOST_PIT_LAST)
                tick_ports = g->cptr;
            if (g->kind == NESTOR_GRANT_IRQ && g->arg0 == HOST_PIT_IRQ)
                tick_irq = g->cptr;
        }
        if (!tick_ports || !tick_irq) {
            printf("vmm: no host timer granted (ioports = <0x%x 0x%x> and irqs = <%d> in its "
                   "node): guest timers and vmm.limit_ms act only at exits\n", HOST_PIT_FIRST,
                   HOST_PIT_LAST, HOST_PIT_IRQ);
            return true;
        }
    } else {
        tick_ports = a->next_slot++;
        tick_irq = a->next_slot++;
        if (nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, HOST_PIT_FIRST, HOST_PIT_LAST, a->cnode,
                            tick_ports, 64) != NESTOR_OK ||
            nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, HOST_PIT_IRQ, a->cnode, tick_irq, 64) !=
                NESTOR_OK)
            return false;
    }
    tick_available = nu_irq_handler_set_notification(tick_irq, nb) == NESTOR_OK;
    return tick_available;
}

/* When the tick must look at @vm: its timers' next interrupt (irq.c, after
 * they were brought to now), or the end of its vmm.limit_ms. */
static uint64_t vm_tick_deadline(vm_t *vm)
{
    if (vm->status != VM_RUNNING)
        return UINT64_MAX;
    uint64_t d = irq_next_deadline(vm);
    if (opt_limit_ms && !vm->over_limit) {
        const uint64_t end = vm->started_ns + opt_limit_ms * NS_PER_MS;
        d = end < d ? end : d;
    }
    return d;
}

/* The host PIT's count to run out at @deadline, no sooner than
 * HOST_TICK_MIN_NS from @now (never more ticks than HOST_TICK_HZ) and no
 * later than the longest count; unless a count already runs out sooner.
 * Rounded up: the tick comes at the deadline or just after it. */
static void tick_arm(uint64_t deadline, uint64_t now)
{
    if (!tick_available || deadline == UINT64_MAX)
        return;
    uint64_t delay = deadline > now ? deadline - now : 0;
    delay = delay < HOST_TICK_MIN_NS ? HOST_TICK_MIN_NS
                                     : delay > HOST_TICK_MAX_NS ? HOST_TICK_MAX_NS : delay;
    if (now + delay >= tick_armed_ns)
        return;
    const unsigned count = (unsigned)((delay * HOST_PIT_HZ + NS_PER_S - 1) / NS_PER_S);
    nu_ioport_out(tick_ports, HOST_PIT_CMD, 1, HOST_PIT_ONE_SHOT);
    nu_ioport_out(tick_ports, HOST_PIT_CH0, 1, count & 0xFF);
    nu_ioport_out(tick_ports, HOST_PIT_CH0, 1, count >> 8);
    tick_armed_ns = now + delay;
}

/* After an exit of @vm that left it with a timer: a count for its next
 * deadline if none runs out before it. */
static void tick_arm_for(vm_t *vm)
{
    const uint64_t d = vm_tick_deadline(vm);
    if (d < tick_armed_ns)                  /* (else tick_arm would keep the count) */
        tick_arm(d, vm_now_ns());
}

/* Pause @vm's vCPU when that is the way its due interrupt gets in: not
 * when an interrupt-window exit is armed (the CPU exits by itself once the
 * guest can take it) and not twice before it exits; otherwise a guest
 * whose exits take longer than a tick would never run again. */
static void pause_if_due(vm_t *vm)
{
    if (vm->status != VM_RUNNING || vm->pause_requested)
        return;
    if ((vm->over_limit || irq_due(vm)) &&
        nu_invoke(vm->vcpu, NESTOR_VCPU_PAUSE, 0, 0, 0, 0, 0, 0) == NESTOR_OK) {
        vm->pause_requested = true;
        /* Its vCPU may be waiting for an L2 to exit (nested-vmx): say so,
         * and what for (an NMI or an interrupt). */
        if (vm->nvmx_kick) {
            irq_publish(vm);
            nu_signal(vm->nvmx_kick);
        }
    } else if (vm->nvmx_kick && vm->window_exiting && irq_pending(vm) >= 0) {
        /* Held for the guest's interrupt window, which cannot open while
         * its vCPU waits for an L2 (nested-vmx): L2 exits to it if its
         * controls ask (SDM 25.2); its vCPU needs no pause (the window
         * exit brings the interrupt in). */
        irq_publish(vm);
        nu_signal(vm->nvmx_kick);
    }
}

static void on_tick(void)
{
    nu_irq_handler_ack(tick_irq);
    uint64_t now = vm_now_ns(), next = UINT64_MAX;
    tick_armed_ns = UINT64_MAX;             /* that count has run out */
    for (unsigned i = 0; i < n_vms; i++) {
        vm_t *vm = &vms[i];
        if (opt_limit_ms && vm->status == VM_RUNNING && !vm->over_limit &&
            now - vm->started_ns >= opt_limit_ms * NS_PER_MS) {
            vm->over_limit = true;          /* stopped at the exit the pause forces */
        }
        pause_if_due(vm);                   /* brings its timers to now */
        const uint64_t d = vm_tick_deadline(vm);
        next = d < next ? d : next;
    }
    tick_arm(next, now);
}

/* Device servers signalled (VMM_BADGE_DEVICES bits of @badge): their lines
 * go up, and a VM that can take the interrupt now is paused for it (an
 * ordinary pause exit injects it, irq_before_resume). */
static void devices_signalled(nestor_word_t badge)
{
    for (unsigned i = 0; i < n_vms; i++)
        if (vfwd_signalled(&vms[i], badge))
            pause_if_due(&vms[i]);
}

/* ---- Host console input: the host's COM2 (granted: ioports 0x2F8-0x2FF
 * and IRQ 3 in the VMM's node; `./nestor run --interactive` wires the
 * emulator's COM2 to the terminal), its bytes into the first VM's COM1 ---- */

#define CONSOLE_BADGE   (1ULL << 42)         /* above VM badges, TICK_BADGE, VMM_BADGE_MONITOR */
#define CONSOLE_CHUNK   16u                  /* the 16550's receive FIFO */

static nu_hostuart_t console;
static bool console_open;
static uint64_t console_dropped;

static void console_setup(nu_alloc_t *a, const nestor_bootinfo_t *bi, nestor_cptr_t notification)
{
    if (!bi->parent_ep || !nu_hostuart_find_com2(&console, bi))
        return;
    nestor_cptr_t nb = a->next_slot++;
    if (nu_cnode_mint(a->cnode, nb, 64, a->cnode, notification, 64, NESTOR_RIGHTS_ALL,
                      CONSOLE_BADGE) != NESTOR_OK || !nu_hostuart_open(&console, nb)) {
        printf("vmm: no serial port answers at 0x%x: no host console input\n", console.base);
        return;
    }
    console_open = true;
}

static void on_console(void)
{
    uint8_t buf[CONSOLE_CHUNK];
    size_t n;
    vm_t *vm = n_vms && vms[0].status == VM_RUNNING ? &vms[0] : NULL;
    while ((n = nu_hostuart_drain(&console, buf, sizeof buf)) > 0) {
        size_t taken = vm ? uart_receive(vm, buf, n) : 0;
        console_dropped += n - taken;
    }
    if (vm)
        pause_if_due(vm);
}

/* Its I/O exits by port, the busiest VMM_IO_PORTS_PRINTED first, one line
 * ("other" sums the ports from VMM_IO_PORTS_COUNTED up). */
static void report_io_ports(const vm_t *vm)
{
    if (!vm->exits_by_reason[NESTOR_EXIT_IO])
        return;
    char line[VMM_LINE_MAX * 2];
    size_t n = (size_t)fmt_snprintf(line, sizeof line, "vmm: vm %s io exits by port:", vm->name);
    uint32_t below = UINT32_MAX;        /* the count printed last: the next is under it */
    unsigned printed = 0;
    while (printed < VMM_IO_PORTS_PRINTED && n < sizeof line) {
        uint32_t best = 0;
        unsigned best_port = 0;
        for (unsigned p = 0; p <= VMM_IO_PORTS_COUNTED; p++) {
            uint32_t c = vm->io_exits_by_port[p];
            if (c > best && c < below)
                best = c, best_port = p;
        }
        if (!best)
            break;
        /* Every port with that count, in port order. */
        for (unsigned p = best_port; p <= VMM_IO_PORTS_COUNTED && printed < VMM_IO_PORTS_PRINTED &&
                                     n < sizeof line; p++) {
            if (vm->io_exits_by_port[p] != best)
                continue;
            n += p == VMM_IO_PORTS_COUNTED
                     ? (size_t)fmt_snprintf(line + n, sizeof line - n, " other %u", best)
                     : (size_t)fmt_snprintf(line + n, sizeof line - n, " 0x%x %u", p, best);
            printed++;
        }
        below = best;
    }
    printf("%s\n", line);
}

/* Said when it happens, so a log shows the other VMs running on after it.
 * nested-vmx, stacked on it, is told too: L2 stops, EPT02 goes. */
static void report_end(const vm_t *vm)
{
    if (vm->nvmx_end)
        nu_signal(vm->nvmx_end);
    if (my_name[0])
        printf(TOPO_PREFIX "exits %s total=%lu\n", vm->name, vm->exits);
    /* Its exits by basic reason (SDM Vol. 3D Appendix C), one line. */
    char line[VMM_LINE_MAX * 2];
    size_t n = (size_t)fmt_snprintf(line, sizeof line, "vmm: vm %s exits by reason:", vm->name);
    for (unsigned r = 0; r < NESTOR_EXIT_REASONS && n < sizeof line; r++) {
        if (!vm->exits_by_reason[r])
            continue;
        const char *name = sc_exit_name(r);
        n += name ? (size_t)fmt_snprintf(line + n, sizeof line - n, " %s %u", name,
                                         vm->exits_by_reason[r])
                  : (size_t)fmt_snprintf(line + n, sizeof line - n, " reason-%u %u", r,
                                         vm->exits_by_reason[r]);
    }
    printf("%s\n", line);
    report_io_ports(vm);
    vfwd_report(vm);
    if (vm->status == VM_EXITED)
        printf("vmm: vm %s exited with status %u after %lu exits\n", vm->name, vm->exit_code,
               vm->exits);
    else
        printf("vmm: vm %s stopped: %s\n", vm->name, vm->reason);
}

/* A stacked monitor said VM @badge (index + 1) cannot go on (it said why):
 * its vCPU thread waits in an exit nobody will answer. Stop it. */
static void monitor_stop(nestor_word_t badge)
{
    if (badge == 0 || badge > n_vms || vms[badge - 1].status != VM_RUNNING)
        return;
    vm_t *vm = &vms[badge - 1];
    nu_tcb_suspend(vm->tcb);
    vm_stop(vm, "a monitor stacked on it stopped it");
    uart_flush(vm);
    report_end(vm);
}

/* A message that is no exit: the host tick, device servers' signals, or a request of a monitor
 * stacked on a VM (nested-vmx/nvmx_setup.h). Out of line, so the exit path
 * in serve() stays as short as it was. Returns the next receive's status;
 * *@done when no VM runs any more. */
static __attribute__((noinline)) nestor_word_t not_an_exit(nestor_cptr_t exit_ep, nu_msg_t *m,
                                                          bool *done)
{
    if (m->badge & (TICK_BADGE | VMM_BADGE_DEVICES | CONSOLE_BADGE | VMM_BADGE_RESTART)) {
        /* the bound notification */
        if (m->badge & VMM_BADGE_RESTART)
            for (unsigned i = 0; i < n_vms; i++)
                if (vfwd_restarted(&vms[i]))
                    pause_if_due(&vms[i]);
        if (m->badge & VMM_BADGE_DEVICES)
            devices_signalled(m->badge);
        if (m->badge & TICK_BADGE)
            on_tick();
        if ((m->badge & CONSOLE_BADGE) && console_open)
            on_console();
        return nu_recv(exit_ep, m);
    }
    nestor_word_t i = (m->badge & VMM_BADGE_VM_MASK) - 1;
    if (nestor_msginfo_label(m->info) == NVMX_REQ_STOP) {
        monitor_stop(i + 1);
    } else {
        /* A call: always answered (a VM that has ended answers ENDED). */
        if (i < n_vms && vms[i].status == VM_RUNNING) {
            vm_t *vm = &vms[i];
            vm_monitor_request(vm, m);
            if (vm->status != VM_RUNNING) {
                nu_tcb_suspend(vm->tcb);    /* its vCPU waits in nested-vmx */
                uart_flush(vm);
                report_end(vm);
            }
        } else {
            *m = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_ENDED, 0, 0, 0) };
        }
        if (running())
            return nu_reply_recv(exit_ep, m);
        nu_reply(m);
    }
    *done = !running();
    return *done ? NESTOR_OK : nu_recv(exit_ep, m);
}

/*
 * Serve exits until no VM runs. Each exit: read it from the message and the
 * state page, handle it, then reply and wait for the next one in a single
 * system call (REPLY_RECV).
 */
static void serve(nestor_cptr_t exit_ep)
{
    nestor_ipc_buffer_t *buf = nu_ipc_buffer();
    nu_msg_t m = { 0 };
    nestor_word_t st = nu_recv(exit_ep, &m);
    while (running()) {
        if (st == NESTOR_OK && nestor_msginfo_label(m.info) != NESTOR_FAULT_VM_EXIT &&
            (m.badge & (TICK_BADGE | CONSOLE_BADGE | VMM_BADGE_MONITOR | VMM_BADGE_DEVICES |
                        VMM_BADGE_RESTART))) {
            /* A copy: taking m's address would keep it out of registers on
             * the exit path (BENCHMARKS.md, +27 instructions per exit). */
            bool done = false;
            nu_msg_t other = m;
            st = not_an_exit(exit_ep, &other, &done);
            m = other;
            if (done)
                return;
            continue;
        }
        if (st != NESTOR_OK || m.badge == 0 || m.badge > n_vms) {
            st = nu_recv(exit_ep, &m);
            continue;
        }
        vm_t *vm = &vms[m.badge - 1];
    vmexit_t e = {
        .vm = vm, .reason = m.mr[NESTOR_EXIT_MR_REASON],
        .qualification = m.mr[NESTOR_EXIT_MR_QUALIFICATION],
        .guest_phys = m.mr[NESTOR_EXIT_MR_GUEST_PHYS],
        .instr_len = buf->msg[NESTOR_EXIT_MR_INSTR_LEN],
        .instr_info = buf->msg[NESTOR_EXIT_MR_INSTR_INFO], .rip = buf->msg[NESTOR_EXIT_MR_RIP],
        .idt_vectoring = buf->msg[NESTOR_EXIT_MR_IDT_VECTORING],
        .idt_error = buf->msg[NESTOR_EXIT_MR_IDT_ERROR],
        .s = vm->state,
    };
        exit_action_t act = vm_handle_exit(&e);
        if (act == EXIT_RESUME) {
            irq_before_resume(vm, &e);
            if (!vm->irq_quiet)
                tick_arm_for(vm);
        }
        m = (nu_msg_t){ .info = nestor_msginfo(act == EXIT_RESUME ? NESTOR_EXIT_REPLY_RESUME
                                                                  : NESTOR_EXIT_REPLY_STOP,
                                               0, 0, 1),
                        .mr = { e.changed } };
        if (act == EXIT_STOP) {
            uart_flush(vm);
            report_end(vm);
            nu_reply(&m);
            if (!running())
                return;
            st = nu_recv(exit_ep, &m);
        } else {
            st = nu_reply_recv(exit_ep, &m);
        }
    }
}


/* What one VM is made of, from the config or the root task's modules. */
typedef struct {
    const char *name;
    const nestor_module_desc_t *image;
    uint32_t ram_mib, devices;
    const char *cmdline;
    const nestor_module_desc_t *mods[MB_MAX_MODULES];
    const char *mod_strings[MB_MAX_MODULES];
    unsigned n_mods;
    bool nestor_verdict;            /* a whole Nestor: its exit port says PASS/FAIL as
                                       nestor/verdict.h has it */
    bool linux_kernel;              /* the config said 'kernel': a Linux bzImage or nothing */
    uint32_t paged_mib;             /* of ram_mib, what a pager stacked on it owns */
} vm_spec_t;

/* Create the VM @sp describes; NULL (said) if it cannot be built. */
static vm_t *add_vm(nu_alloc_t *a, nestor_cptr_t exit_ep, const vm_spec_t *sp)
{
    if (n_vms == VMM_MAX_VMS) {
        printf("vmm: vm %s: more than %d VMs\n", sp->name, VMM_MAX_VMS);
        return NULL;
    }
    vm_t *vm = &vms[n_vms];
    vm->index = n_vms;
    vm->nestor_verdict = sp->nestor_verdict;
    vm->linux_kernel = sp->linux_kernel;
    strncpy(vm->name, sp->name, VMM_NAME_MAX - 1);
    if (strlen(sp->cmdline) >= VMM_CMDLINE_MAX) {
        printf("vmm: vm %s: command line of %lu characters: at most %d\n", vm->name,
               strlen(sp->cmdline), VMM_CMDLINE_MAX - 1);
        return NULL;
    }
    strncpy(vm->cmdline, sp->cmdline, VMM_CMDLINE_MAX - 1);
    vm->ram_bytes = (uint64_t)(sp->ram_mib - sp->paged_mib) << 20;
    vm->paged_bytes = (uint64_t)sp->paged_mib << 20;
    vm->devices = sp->devices;
    vm->n_mods = sp->n_mods;
    for (unsigned i = 0; i < sp->n_mods; i++) {
        strncpy(vm->mod_strings[i], sp->mod_strings[i], VMM_CMDLINE_MAX - 1);
        vm->mods[i] = (mb_module_t){ .data = (const uint8_t *)(uintptr_t)sp->mods[i]->vaddr,
                                     .size = sp->mods[i]->size, .string = vm->mod_strings[i] };
    }
    if (!vm_create(vm, a, exit_ep, (const void *)(uintptr_t)sp->image->vaddr, sp->image->size,
                   GUEST_LOAD_GPA))
        return NULL;
    printf("vmm: vm %s: %lu MiB RAM", vm->name, (vm->ram_bytes + vm->paged_bytes) >> 20);
    if (vm->paged_bytes)
        printf(" (%lu MiB from 0x%lx paged)", vm->paged_bytes >> 20, vm->ram_bytes);
    printf(", image %lu bytes at 0x%lx%s%s", sp->image->size, vm->load_gpa,
           vm->real_mode ? " (boot sector: real mode)" :
           vm->long_mode ? " (ELF64: 64-bit mode)" : "",
           vm->multiboot ? " (" : "");
    if (vm->multiboot)
        printf("%s)", mb_format_str(vm->mb_format));
    if (vm->n_mods)
        printf(", %u module%s", vm->n_mods, vm->n_mods == 1 ? "" : "s");
    printf("\n");
    n_vms++;
    return vm;
}

/* ---- config mode: the VMs and stacked monitors of our node ---- */

static nestor_cptr_t mint(nu_alloc_t *a, nestor_cptr_t src, nestor_word_t rights,
                          nestor_word_t badge)
{
    nestor_cptr_t slot = a->next_slot++;
    return nu_cnode_mint(a->cnode, slot, 64, a->cnode, src, 64, rights, badge) == NESTOR_OK ? slot
                                                                                           : 0;
}

#define MONITOR_RIGHTS (NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT | NESTOR_RIGHT_GRANT_REPLY)

/* The checkpoint monitor's setup carries the VM's identity after the
 * hand-over's MRs (checkpoint/ckpt_proto.h): the stack identity its images
 * must have (ckpt_stack_id: name, all its RAM, guest image, devices) and
 * its name. */
static void checkpoint_identity(const vm_t *vm, const sc_vm_t *c, nu_msg_t *msg);

/* The VM's EPT restricted to its RAM [0, ram_bytes) (NESTOR_EPT_RESTRICT),
 * in the hand-over's CNode (@msg's) right after the frames
 * (nested-vmx/nvmx_setup.h NVMX_GRANT_RAM_EPT): a checkpoint monitor reads
 * and clears its leaves' dirty flags there, an inspector withholds their
 * rights for its watchpoints (NESTOR_EPT_PROTECT, never more than ours);
 * neither can map a page or touch anything outside the RAM (MMIO entries,
 * the paged range, another VM). The invocations pass their CNode in the IPC
 * buffer's capability slot and their arguments in its message words, where
 * the hand-over's CNode and the setup's flags wait: both kept. */
static bool ram_ept_grant(nu_alloc_t *a, const vm_t *vm, const nu_msg_t *msg)
{
    const nestor_cptr_t node = nu_ipc_buffer()->caps_or_badges[0], ranged = a->next_slot++;
    const nestor_word_t flags = nu_ipc_buffer()->msg[NVMX_SETUP_MR_FLAGS];
    const nestor_word_t radix = msg->mr[NVMX_SETUP_MR_RADIX];
    const nestor_word_t args[] = { 0, vm->ram_bytes, ranged, 64 };
    const bool ok =
        nu_invoke(vm->ept, NESTOR_EPT_RESTRICT, args, 4, &a->cnode, 1, 0, 0) == NESTOR_OK &&
        nu_cnode_copy(node, NVMX_GRANT_RAM_EPT(vm->ram_bytes >> VMM_RAM_FRAME_BITS), radix,
                      a->cnode, ranged, 64, NESTOR_RIGHTS_ALL) == NESTOR_OK;
    nu_ipc_buffer()->caps_or_badges[0] = node;
    nu_ipc_buffer()->msg[NVMX_SETUP_MR_FLAGS] = flags;
    return ok;
}

/* A capability to monitor @m's endpoint badged @badge, into the hand-over
 * CNode @node (radix @radix) at @slot. */
static bool monitor_cap(nu_alloc_t *a, const nestor_bootinfo_t *bi, const sc_monitor_t *m,
                        nestor_word_t badge, nestor_cptr_t node, nestor_word_t radix,
                        nestor_word_t slot)
{
    const nestor_grant_desc_t *g = nu_grant(bi, NESTOR_GRANT_ENDPOINT, m->name);
    const nestor_cptr_t cap = g ? mint(a, g->cptr, MONITOR_RIGHTS, badge) : 0;
    return cap && nu_cnode_copy(node, slot, radix, a->cnode, cap, 64, NESTOR_RIGHTS_ALL) ==
                      NESTOR_OK;
}

static bool checkpoint_grant(nu_alloc_t *a, const nestor_bootinfo_t *bi, const vm_t *vm,
                             const sc_vm_t *c, nu_msg_t *msg)
{
    /* The VM's EPT restricted to its RAM, for incremental images. */
    const nestor_cptr_t node = nu_ipc_buffer()->caps_or_badges[0];
    const nestor_word_t radix = msg->mr[NVMX_SETUP_MR_RADIX];
    const nestor_word_t frames = vm->ram_bytes >> VMM_RAM_FRAME_BITS;
    if (!ram_ept_grant(a, vm, msg))
        return false;
    /* Under a pager (pager/pager_proto.h PAGER_BADGE_PAGES): a capability
     * to ask it for the pages it owns, the paged RAM is in the images too. */
    const sc_monitor_t *pager = sc_vm_pager(&config, c);
    if (vm->paged_bytes && pager &&
        !monitor_cap(a, bi, pager, PAGER_BADGE_PAGES, node, radix, CKPT_GRANT_PAGER(frames)))
        return false;
    /* With nested-vmx (its guest a hypervisor): a capability to ask it for
     * its state (nested-vmx/nvmx_state.h NVMX_BADGE_STATE), which the
     * images hold beside L1's (checkpoint/README.md "A guest hypervisor"). */
    const sc_monitor_t *nvmx = NULL;
    for (unsigned k = 0; k + 1 < c->n_stack; k++)
        if (config.mon[c->stack[k]].kind == SC_NESTED_VMX)
            nvmx = &config.mon[c->stack[k]];
    if (nvmx &&
        !monitor_cap(a, bi, nvmx, NVMX_BADGE_STATE, node, radix, CKPT_GRANT_NVMX(frames)))
        return false;
    nu_ipc_buffer()->caps_or_badges[0] = node;
    checkpoint_identity(vm, c, msg);
    nu_ipc_buffer()->msg[CKPT_SETUP_MR_PAGED] = pager ? vm->paged_bytes : 0;
    nu_ipc_buffer()->msg[CKPT_SETUP_MR_NVMX] = nvmx != NULL;
    return true;
}

static void checkpoint_identity(const vm_t *vm, const sc_vm_t *c, nu_msg_t *msg)
{
    char devices[16];
    fmt_snprintf(devices, sizeof devices, "0x%x", c->devices);
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    b->msg[NVMX_SETUP_MR_FLAGS] = 0;
    b->msg[CKPT_SETUP_MR_STACK_ID] =
        ckpt_stack_id(c->name, vm->ram_bytes + vm->paged_bytes, c->guest[0] ? c->guest : c->nested,
                      devices);
    char name[CKPT_NAME_BYTES] = { 0 };
    strncpy(name, c->name, sizeof name - 1);
    for (unsigned i = 0; i < CKPT_SETUP_NAME_MRS; i++) {
        nestor_word_t w = 0;
        for (unsigned k = 0; k < 8; k++)
            w |= (nestor_word_t)(uint8_t)name[i * 8 + k] << (8 * k);
        b->msg[CKPT_SETUP_MR_NAME + i] = w;
    }
    msg->info = nestor_msginfo(0, 0, 1, CKPT_SETUP_MRS);
}

/* An inspector on a VM that also has a checkpoint monitor: a capability to
 * ask that monitor for a checkpoint (checkpoint/ckpt_proto.h
 * CKPT_BADGE_COMMAND, gdb's "monitor checkpoint"), in the inspector's
 * hand-over CNode (@msg's) at CKPT_GRANT_COMMAND. */
static bool command_grant(nu_alloc_t *a, const nestor_bootinfo_t *bi, const vm_t *vm,
                          const sc_vm_t *c, const nu_msg_t *msg)
{
    /* The CNode invocations pass their source CNode in the IPC buffer's
     * capability slots, where the hand-over's CNode waits, and their
     * arguments in its message words, where the setup's flags wait
     * (NVMX_SETUP_MR_FLAGS is past the MRs in registers): both kept aside. */
    const nestor_cptr_t node = nu_ipc_buffer()->caps_or_badges[0];
    const nestor_word_t flags = nu_ipc_buffer()->msg[NVMX_SETUP_MR_FLAGS];
    for (unsigned k = 0; k + 1 < c->n_stack; k++) {
        const sc_monitor_t *m = &config.mon[c->stack[k]];
        if (m->kind != SC_CHECKPOINT)
            continue;
        const bool ok = monitor_cap(a, bi, m, CKPT_BADGE_COMMAND, node,
                                    msg->mr[NVMX_SETUP_MR_RADIX],
                                    CKPT_GRANT_COMMAND(vm->ram_bytes >> VMM_RAM_FRAME_BITS));
        nu_ipc_buffer()->caps_or_badges[0] = node;
        nu_ipc_buffer()->msg[NVMX_SETUP_MR_FLAGS] = flags;
        return ok;
    }
    return true;
}

/*
 * Stack the monitors of @c's stack on @vm. The stack lists them from the VM
 * outward, the VMM last: the first gets the highest level of the VCPU's
 * exit tables, the VMM keeps level 0 (nestor/vcpu.h). Each gets a table of
 * its own holding its endpoint in the slots of the reasons it takes and
 * nothing else; it sees those exits first and passes them on by reply (SDM
 * 24.9.1: the basic exit reason indexes the table). No monitor gets a
 * capability to another's endpoint or to ours, but for a checkpoint monitor
 * on a VM with a pager (a badged one to ask the pager for its pages) or with
 * nested-vmx (one to ask it for its state), and an inspector on a VM with a
 * checkpoint monitor (one to ask for a checkpoint).
 */
static bool stack_monitors(nu_alloc_t *a, const nestor_bootinfo_t *bi, vm_t *vm,
                           const sc_vm_t *c, nestor_cptr_t exit_ep)
{
    nestor_cptr_t l2_inspector = 0;     /* an inspector of L2's endpoint, for nested-vmx */
    for (unsigned k = 0; k + 1 < c->n_stack; k++) {
        const sc_monitor_t *m = &config.mon[c->stack[k]];
        const sc_monitor_t *next = &config.mon[c->stack[k + 1]];
        const nestor_grant_desc_t *g = nu_grant(bi, NESTOR_GRANT_ENDPOINT, m->name);
        unsigned level = c->n_stack - 1 - k;
        if (!g) {
            printf("vmm: vm %s: no endpoint to monitor %s granted\n", vm->name, m->name);
            return false;
        }
        nestor_cptr_t setup = mint(a, g->cptr, MONITOR_RIGHTS, CM_BADGE_SETUP);
        nestor_cptr_t query = mint(a, g->cptr, MONITOR_RIGHTS, CM_BADGE_QUERY);
        char line[TOPO_LINE_MAX];
        topo_fmt_stacked(line, sizeof line, vm->name, m->name, m->exits, m->n_exits, next->name);
        if (m->kind == SC_INSPECTOR && m->guest_level == SC_INSPECTOR_LEVEL_L2) {
            /* Not on this VM's vCPU: nested-vmx, right after it (the
             * config's checks), stacks it on L2's and gives it its setup. */
            l2_inspector = g->cptr;
            if (!query)
                return false;
            stacked[n_stacked++] = (stacked_t){ .vm = vm->index, .name = m->name, .query = query,
                                                .kind = sc_kind_program(m->kind) };
            printf("%s\n", line);
            continue;
        }
        nestor_word_t reasons[SC_MAX_EXITS];
        for (unsigned x = 0; x < m->n_exits; x++)
            reasons[x] = m->exits[x];
        if (!setup || !query || level >= NESTOR_EXIT_LEVELS ||
            !stack_exit_table(a, vm->vcpu, level, g->cptr, CM_BADGE_EXIT, reasons,
                                 m->n_exits))
            return false;
        nu_msg_t msg = { .info = nestor_msginfo(0, 0, 0, 0) };
        if ((m->kind == SC_NESTED_VMX || m->kind == SC_INSPECTOR || m->kind == SC_CHECKPOINT) &&
            !monitor_grant(a, vm, level, exit_ep, m->kind == SC_NESTED_VMX,
                           c->vmcs_shadowing ? 0 : NVMX_SETUP_NO_SHADOWING,
                           m->kind == SC_NESTED_VMX ? l2_inspector : 0, &msg)) {
            printf("vmm: vm %s: cannot hand monitor %s its VM\n", vm->name, m->name);
            return false;
        }
        if (m->kind == SC_INSPECTOR && !ram_ept_grant(a, vm, &msg)) {
            printf("vmm: vm %s: cannot hand monitor %s its VM's EPT\n", vm->name, m->name);
            return false;
        }
        if (m->kind == SC_INSPECTOR && !command_grant(a, bi, vm, c, &msg)) {
            printf("vmm: vm %s: cannot hand monitor %s its checkpoint command\n", vm->name,
                   m->name);
            return false;
        }
        if (m->kind == SC_CHECKPOINT)
            vm->wake_timer_off = true;      /* its checkpoints come by the monitor timer */
        if (m->kind == SC_CHECKPOINT && !checkpoint_grant(a, bi, vm, c, &msg)) {
            printf("vmm: vm %s: cannot hand monitor %s its VM's EPT\n", vm->name, m->name);
            return false;
        }
        if (m->kind == SC_PAGER)
            vm->pager_ep = g->cptr;
        if (m->kind == SC_PAGER && !pager_grant(a, vm, level, &msg)) {
            printf("vmm: vm %s: cannot hand pager %s its RAM\n", vm->name, m->name);
            return false;
        }
        if (nu_call(setup, &msg) != NESTOR_OK || nestor_msginfo_label(msg.info) != 0) {
            printf("vmm: vm %s: monitor %s refused its setup\n", vm->name, m->name);
            return false;
        }
        if (m->kind == SC_NESTED_VMX)
            vm->vmx_shown = msg.mr[0] & NVMX_SHOWS_VMX;
        stacked[n_stacked++] = (stacked_t){
            .vm = vm->index, .name = m->name, .query = query, .first = k == 0,
            .kind = sc_kind_program(m->kind), .count = m->kind == SC_COUNT_MONITOR,
            .cpuid_only = m->n_exits == 1 && m->exits[0] == NESTOR_EXIT_CPUID };
        printf("%s\n", line);
    }
    return true;
}

/* The device servers of @c's virtio devices, each given the VM's RAM and
 * device N's window (virtio_fwd.c); the endpoints are init's grants. */
static bool attach_virtio(nu_alloc_t *a, const nestor_bootinfo_t *bi, vm_t *vm, const sc_vm_t *c)
{
    for (unsigned k = 0; k < c->n_virtio; k++) {
        const sc_monitor_t *m = &config.mon[c->virtio[k]];
        const nestor_grant_desc_t *g = nu_grant(bi, NESTOR_GRANT_ENDPOINT, m->name);
        /* A network server serves several VMs, one port each: init badged
         * each VM's capability with its port and says whose it is in arg0
         * (device-servers/include/net_proto.h). */
        for (nestor_word_t i = 0; m->kind == SC_NET && i < bi->grant_count &&
                                  i < NESTOR_BOOTINFO_MAX_GRANTS; i++) {
            g = &bi->grants[i];
            if (g->kind == NESTOR_GRANT_ENDPOINT && strcmp(g->name, m->name) == 0 &&
                g->arg0 == (nestor_word_t)(c - config.vm))
                break;
            g = NULL;
        }
        if (!g) {
            printf("vmm: vm %s: no endpoint to device server %s granted\n", vm->name, m->name);
            return false;
        }
        if (!vfwd_attach(a, vm, k, m->name, g->cptr))
            return false;
        vm->virtio[k].cfg_vm = (unsigned)(c - config.vm);    /* for a reconnection */
        char line[TOPO_LINE_MAX];
        topo_fmt_virtio(line, sizeof line, vm->name, k, m->name);
        printf("%s\n", line);
    }
    return true;
}

_Static_assert(MB_MAX_MODULES >= SC_MAX_NESTED_BOOT_MODULES, "a nested stack's boot modules fit");

/*
 * A VM running nested stack @c->nested boots a whole Nestor (stackcfg.h,
 * SC_NESTED_*): its image is the kernel ("image NAME/kernel"); every other
 * "image NAME/STRING" module, in boot order, is one of the kernel's boot
 * modules, with STRING as its string ("roottask init", "program vmm", ...,
 * "stack-config NAME": what GRUB gives it when the stack boots alone); the
 * VM's command line is the kernel's.
 */
static bool nested_spec(const nestor_bootinfo_t *bi, const sc_vm_t *c, vm_spec_t *sp)
{
    char kernel[SC_MODULE_NAME_MAX + 1], prefix[SC_MODULE_NAME_MAX + 1];
    if (sc_nested_file(kernel, sizeof kernel, c->nested, SC_NESTED_KERNEL))
        sp->image = nu_module(bi, SC_MODULE_IMAGE, kernel);
    if (!sp->image) {
        printf("vmm: vm %s: no kernel \"%s\" among its modules for nested stack %s\n", c->name,
               kernel, c->nested);
        return false;
    }
    size_t n = (size_t)fmt_snprintf(prefix, sizeof prefix, SC_MODULE_IMAGE "%s" SC_NESTED_SEP,
                                    c->nested);
    for (nestor_word_t i = 0; i < bi->module_count && i < NESTOR_BOOTINFO_MAX_MODULES; i++) {
        const nestor_module_desc_t *m = &bi->modules[i];
        if (m == sp->image || strncmp(m->name, prefix, n) != 0)
            continue;
        if (sp->n_mods == MB_MAX_MODULES) {
            printf("vmm: vm %s: nested stack %s: more than %d modules\n", c->name, c->nested,
                   MB_MAX_MODULES);
            return false;
        }
        sp->mods[sp->n_mods] = m;
        sp->mod_strings[sp->n_mods++] = m->name + n;
    }
    printf("vmm: vm %s: nested stack %s: %u boot modules, command line \"%s\", kernel %lu "
           "bytes\n", c->name, c->nested, sp->n_mods, c->cmdline, sp->image->size);
    sp->nestor_verdict = true;
    return true;
}

static bool build_from_config(nu_alloc_t *a, const nestor_bootinfo_t *bi, nestor_cptr_t exit_ep)
{
    const nestor_module_desc_t *cfg = nu_module(bi, SC_MODULE_CONFIG, NULL);
    if (!cfg) {
        printf("vmm %s: no stack config among its modules\n", my_name);
        return false;
    }
    /* init checked it; reading it again costs little and keeps us honest. */
    if (!sc_load((const void *)(uintptr_t)cfg->vaddr, cfg->size, cfg->name, NULL, &config,
                 &config_report)) {
        printf("vmm %s: its stack config does not check: %s\n", my_name,
               config_report.msg[0]);
        return false;
    }
    for (unsigned v = 0; v < config.n_vm; v++) {
        const sc_vm_t *c = &config.vm[v];
        const sc_monitor_t *vmm = sc_vm_vmm(&config, c);
        if (strcmp(vmm->name, my_name) != 0)
            continue;
        vm_spec_t sp = { .name = c->name, .ram_mib = c->memory_mib, .devices = c->devices,
                         .cmdline = c->cmdline, .linux_kernel = c->linux_kernel,
                         .paged_mib = c->memory_mib - sc_vm_vmm_ram_mib(&config, c) };
        if (c->nested[0] && !nested_spec(bi, c, &sp))
            return false;
        if (!c->nested[0] && !(sp.image = nu_module(bi, SC_MODULE_IMAGE, c->guest))) {
            printf("vmm: vm %s: no image \"%s\" among its modules\n", c->name, c->guest);
            return false;
        }
        for (unsigned k = 0; k < c->n_modules; k++) {
            sp.mods[k] = nu_module(bi, SC_MODULE_IMAGE, c->modules[k].file);
            sp.mod_strings[k] = c->modules[k].string;
            if (!sp.mods[k]) {
                printf("vmm: vm %s: no module file \"%s\" among its modules\n", c->name,
                       c->modules[k].file);
                return false;
            }
        }
        if (!c->nested[0])
            sp.n_mods = c->n_modules;
        vm_t *vm = add_vm(a, exit_ep, &sp);
        if (!vm)
            return false;
        char line[TOPO_LINE_MAX];
        topo_fmt_vm(line, sizeof line, vm->name, my_name, c->guest, c->nested,
                    (uint32_t)((vm->ram_bytes + vm->paged_bytes) >> 20), 1, vm->devices);
        printf("%s\n", line);
        if (!stack_monitors(a, bi, vm, c, exit_ep) || !attach_virtio(a, bi, vm, c))
            return false;
    }
    return true;
}

/* Module @tag NAME's text, into @buf (NUL-terminated); "" if there is none. */
static bool module_text(const nestor_module_desc_t *m, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!m)
        return true;
    if (m->size >= size)
        return false;
    memcpy(buf, (const void *)(uintptr_t)m->vaddr, m->size);
    buf[m->size] = '\0';
    return strlen(buf) == m->size;
}

/*
 * Root task: the options of VM @name from its "guest-opts NAME" module, one
 * per line (the harness writes them from --guest-mem, --guest-cmdline and
 * --guest-module):
 *   mem=MIB          its RAM (default VMM_DEFAULT_RAM_MB)
 *   cmdline=TEXT     its Multiboot command line
 *   module=TEXT      the string of its next "guest-mod NAME" module, in order
 */
static char opts_text[VMM_MAX_VMS][VMM_OPTS_MAX];

static bool guest_options(const nestor_bootinfo_t *bi, const char *name, char *text,
                          vm_spec_t *sp)
{
    if (!module_text(nu_module(bi, GUEST_OPTS_TAG, name), text, VMM_OPTS_MAX)) {
        printf("vmm: vm %s: its options are not text of at most %d bytes\n", name,
               VMM_OPTS_MAX - 1);
        return false;
    }
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = '\0';
        if (strncmp(line, "mem=", 4) == 0) {
            char *end;
            unsigned long mib = strtoul(line + 4, &end, 10);
            if (*end || mib < SC_VM_MIN_MIB || mib > SC_VM_MAX_MIB || mib % SC_VM_RAM_GRANULE_MIB) {
                printf("vmm: vm %s: option \"%s\": expected mem=MIB, a multiple of %d from %d "
                       "to %d\n", name, line, SC_VM_RAM_GRANULE_MIB, SC_VM_MIN_MIB, SC_VM_MAX_MIB);
                return false;
            }
            sp->ram_mib = (uint32_t)mib;
        } else if (strncmp(line, "cmdline=", 8) == 0) {
            sp->cmdline = line + 8;
        } else if (strncmp(line, "module=", 7) == 0) {
            if (sp->n_mods == MB_MAX_MODULES) {
                printf("vmm: vm %s: more than %d modules\n", name, MB_MAX_MODULES);
                return false;
            }
            sp->mod_strings[sp->n_mods++] = line + 7;
        } else if (*line) {
            printf("vmm: vm %s: option \"%s\": expected mem=, cmdline= or module=\n", name, line);
            return false;
        }
        line = next;
    }
    /* The module files, in boot-module order: one per module= line. */
    unsigned files = 0;
    size_t tag = strlen(GUEST_MOD_TAG);
    for (nestor_word_t i = 0; i < bi->module_count && i < NESTOR_BOOTINFO_MAX_MODULES; i++)
        if (strncmp(bi->modules[i].name, GUEST_MOD_TAG, tag) == 0 &&
            strcmp(bi->modules[i].name + tag, name) == 0) {
            if (files == sp->n_mods) {
                files++;
                break;
            }
            sp->mods[files++] = &bi->modules[i];
        }
    if (files != sp->n_mods) {
        printf("vmm: vm %s: %u module string%s in its options but %s \"%s%s\" modules\n", name,
               sp->n_mods, sp->n_mods == 1 ? "" : "s", files > sp->n_mods ? "more" : "fewer",
               GUEST_MOD_TAG, name);
        return false;
    }
    return true;
}

static bool build_from_modules(nu_alloc_t *a, const nestor_bootinfo_t *bi, nestor_cptr_t exit_ep)
{
    for (nestor_word_t i = 0; i < bi->module_count; i++) {
        const nestor_module_desc_t *mod = &bi->modules[i];
        if (strncmp(mod->name, GUEST_TAG, strlen(GUEST_TAG)) != 0)
            continue;
        const char *name = mod->name + strlen(GUEST_TAG);
        vm_spec_t sp = { .name = name, .image = mod, .ram_mib = VMM_DEFAULT_RAM_MB,
                         .devices = SC_DEV_ALL, .cmdline = "" };
        vm_t *vm = n_vms < VMM_MAX_VMS && guest_options(bi, name, opts_text[n_vms], &sp) ?
                       add_vm(a, exit_ep, &sp) : NULL;
        if (n_vms == VMM_MAX_VMS && !vm)
            printf("vmm: vm %s: more than %d VMs\n", name, VMM_MAX_VMS);
        if (!vm)
            return false;
        if (opt_count[0] && strcmp(opt_count, vm->name) == 0) {
            nestor_cptr_t query = count_monitor_stack(a, vm->vcpu, NESTOR_EXIT_CPUID);
            if (!query) {
                printf("vmm: cannot stack the count monitor on %s\n", vm->name);
                return false;
            }
            stacked[n_stacked++] = (stacked_t){ .vm = vm->index, .name = "", .query = query,
                                                .kind = sc_kind_program(SC_COUNT_MONITOR),
                                                .count = true,
                                                .first = true, .cpuid_only = true };
            printf("vmm: vm %s: count monitor stacked on its CPUID exits\n", vm->name);
        }
    }
    return true;
}

/* A count monitor's figures against what the guest says it executed. */
static bool report_count(const vm_t *vm, nestor_word_t counted, nestor_word_t others,
                         const char *who, bool first)
{
    bool match = counted == vm->guest_cpuid_reported && (!first || others == 0);
    printf("count-monitor%s%s: vm %s: %lu cpuid exits, %lu other exits; the guest executed "
           "%lu cpuids: %s\n", who[0] ? " " : "", who, vm->name, counted, others,
           vm->guest_cpuid_reported, match ? "match" : "MISMATCH");
    return match;
}

static bool check_counts(void)
{
    bool ok = true;
    for (unsigned i = 0; i < n_stacked; i++) {
        const stacked_t *st = &stacked[i];
        nestor_word_t counted, others;
        const char *kind = st->kind;
        const vm_t *vm = &vms[st->vm];
        const bool exited = vm->status == VM_EXITED;
        if (!count_monitor_query(st->query, exited ? CM_QUERY_EXITED : CM_QUERY_STOPPED,
                                 exited ? vm->exit_code : 0, &counted, &others)) {
            printf("%s %s: does not answer\n", kind, st->name);
            ok = false;
        } else if (st->count && st->cpuid_only) {
            ok &= report_count(&vms[st->vm], counted, others, st->name, st->first);
        } else {
            printf("%s %s: vm %s: %lu exits taken, %lu passed through\n", kind, st->name,
                   vms[st->vm].name, counted, others);
        }
    }
    return ok;
}

int main(const nestor_bootinfo_t *bi)
{
    parse_options(bi->cmdline);
    nu_option_copy(bi->cmdline, MONITOR_OPT, my_name, sizeof my_name);
    if (!bi->vmx_present) {
        printf("vmm: no VMX on this machine: no VM can run\n");
        return 0;
    }
    unsigned n_untyped = nu_ram_untypeds(bi, ram_untyped, NULL);
    if (n_untyped == 0) {
        printf("vmm: no RAM untyped capability: nothing to build VMs from\n");
        return 0;
    }
    nu_alloc_t a = { ram_untyped[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                     ram_untyped + 1, n_untyped - 1 };
    nestor_cptr_t exit_ep = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    irq_set_clock(bi->tsc_per_tick, bi->timer_hz, (unsigned)bi->vmx_timer_rate);
    if (!exit_ep || !tick_setup(&a, bi)) {
        printf("vmm: cannot set up the host timer interrupt\n");
        return 0;
    }
    if (!vfwd_set_timeout())
        return 0;
    vfwd_set_reconnect(&a, bi->parent_ep);
    if (!(my_name[0] ? build_from_config(&a, bi, exit_ep) : build_from_modules(&a, bi, exit_ep)))
        return 0;
    vfwd_watch_restarts(vms, n_vms);
    console_setup(&a, bi, vmm_notification);
    if (console_open && n_vms) {
        vms[0].console_input = true;
        printf("vmm: host console input: the serial port at 0x%x (IRQ %u) into vm %s's COM1\n",
               console.base, console.line, vms[0].name);
    }
    if (n_vms == 0) {
        printf(my_name[0] ? "vmm: the config gives this VMM no VM: nothing to run\n"
                          : "vmm: no \"guest NAME\" module: nothing to run\n");
        return 0;
    }
    for (unsigned i = 0; i < n_vms; i++) {
        vm_start(&vms[i]);
        if (opt_limit_ms)
            tick_arm_for(&vms[i]);
        if (opt_sequential || i == n_vms - 1)
            serve(exit_ep);
    }
    int ok = 1;
    for (unsigned i = 0; i < n_vms; i++)
        ok &= vms[i].status == VM_EXITED && vms[i].exit_code == 0;
    return ok & check_counts();
}
