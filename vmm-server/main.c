/*
 * vmm-server/main.c - the VMM as a root task: one VM per "guest NAME" boot
 * module, then the exit loop. (init will start it as one monitor among
 * others once stacks are built from configs.)
 */
#include "count_monitor.h"
#include "vmm.h"
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define GUEST_TAG      "guest "
#define GUEST_LOAD_GPA 0x100000           /* images run where Multiboot would put them */

static vm_t vms[VMM_MAX_VMS];
static count_monitor_t monitors[VMM_MAX_VMS];
static unsigned n_vms;

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
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, "vmm.sequential", 14) == 0)
            opt_sequential = true;
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, "vmm.count=", 10) == 0) {
            unsigned n = 0;
            for (p += 10; *p && *p != ' ' && n < VMM_NAME_MAX - 1; p++)
                opt_count[n++] = *p;
            opt_count[n] = '\0';
            if (!*p)
                break;
        }
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, "vmm.limit_ms=", 13) == 0)
            for (p += 13; *p >= '0' && *p <= '9' && opt_limit_ms < UINT32_MAX; p++)
                opt_limit_ms = opt_limit_ms * 10 + (uint64_t)(*p - '0');
        if (!*p)
            break;
    }
}

/* RAM untypeds, largest first: VMs take them one after another. */
static nestor_cptr_t ram_untyped[NESTOR_BOOTINFO_MAX_UNTYPED];

static unsigned list_ram_untyped(const nestor_bootinfo_t *bi)
{
    unsigned n = 0;
    for (nestor_word_t i = 0; i < bi->untyped.end - bi->untyped.start; i++) {
        if (bi->untyped_list[i].is_device)
            continue;
        unsigned j = n++;
        for (; j > 0 && bi->untyped_list[ram_untyped[j - 1] - bi->untyped.start].size_bits <
                            bi->untyped_list[i].size_bits; j--)
            ram_untyped[j] = ram_untyped[j - 1];
        ram_untyped[j] = bi->untyped.start + i;
    }
    return n;
}

static unsigned running(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < n_vms; i++)
        n += vms[i].status == VM_RUNNING;
    return n;
}

/* ---- the host tick: when any VM has a timer armed, the VMM looks at its
 * VMs every millisecond and pauses those with an interrupt due ---- */

#define HOST_PIT_FIRST  0x40
#define HOST_PIT_LAST   0x43
#define HOST_PIT_CH0    0x40
#define HOST_PIT_CMD    0x43
#define HOST_PIT_RATE   0x34                 /* channel 0, lobyte/hibyte, mode 2 */
#define HOST_PIT_HZ     1193182
#define HOST_TICK_HZ    1000
#define HOST_PIT_IRQ    0
#define TICK_BADGE      (1ULL << 40)         /* no VM badge is this large */

static nestor_cptr_t tick_irq, tick_ports;
static bool tick_running;

static bool tick_setup(nu_alloc_t *a)
{
    nestor_cptr_t n = nu_alloc_obj(a, NESTOR_OBJ_NOTIFICATION, 0), nb = a->next_slot++;
    tick_ports = a->next_slot++;
    tick_irq = a->next_slot++;
    return n &&
           nu_cnode_mint(a->cnode, nb, 64, a->cnode, n, 64, NESTOR_RIGHTS_ALL, TICK_BADGE) ==
               NESTOR_OK &&
           nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, HOST_PIT_FIRST, HOST_PIT_LAST, a->cnode,
                           tick_ports, 64) == NESTOR_OK &&
           nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, HOST_PIT_IRQ, a->cnode, tick_irq, 64) ==
               NESTOR_OK &&
           nu_irq_handler_set_notification(tick_irq, nb) == NESTOR_OK &&
           nu_tcb_bind_notification(NESTOR_CAP_INIT_TCB, n) == NESTOR_OK;
}

static void tick_start_if_needed(void)
{
    if (tick_running)
        return;
    for (unsigned i = 0; i < n_vms; i++) {
        if (vms[i].status == VM_RUNNING &&
            (opt_limit_ms || irq_next_deadline(&vms[i]) != UINT64_MAX)) {
            unsigned divisor = HOST_PIT_HZ / HOST_TICK_HZ;
            nu_ioport_out(tick_ports, HOST_PIT_CMD, 1, HOST_PIT_RATE);
            nu_ioport_out(tick_ports, HOST_PIT_CH0, 1, divisor & 0xFF);
            nu_ioport_out(tick_ports, HOST_PIT_CH0, 1, divisor >> 8);
            tick_running = true;
            return;
        }
    }
}

static void on_tick(void)
{
    nu_irq_handler_ack(tick_irq);
    /* Pause a guest only when that is the way its interrupt gets in: not
     * when an interrupt-window exit is armed (the CPU exits by itself once
     * the guest can take it) and not twice before it exits; otherwise a
     * guest whose exits take longer than a tick would never run again. */
    uint64_t now = opt_limit_ms ? vm_now_ns() : 0;
    for (unsigned i = 0; i < n_vms; i++) {
        vm_t *vm = &vms[i];
        if (opt_limit_ms && vm->status == VM_RUNNING && !vm->over_limit &&
            now - vm->started_ns > opt_limit_ms * NS_PER_MS) {
            vm->over_limit = true;          /* stopped at the exit the pause forces */
        }
        if (vm->status == VM_RUNNING && !vm->pause_requested &&
            (vm->over_limit || (!vm->window_exiting && irq_pending(vm) >= 0)) &&
            nu_invoke(vm->vcpu, NESTOR_VCPU_PAUSE, 0, 0, 0, 0, 0, 0) == NESTOR_OK)
            vm->pause_requested = true;
    }
}

/* Said when it happens, so a log shows the other VMs running on after it. */
static void report_end(const vm_t *vm)
{
    if (vm->status == VM_EXITED)
        printf("vmm: vm %s exited with status %u after %lu exits\n", vm->name, vm->exit_code,
               vm->exits);
    else
        printf("vmm: vm %s stopped: %s\n", vm->name, vm->reason);
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
            (m.badge & TICK_BADGE)) {
            on_tick();
            st = nu_recv(exit_ep, &m);
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
        .instr_len = buf->msg[NESTOR_EXIT_MR_INSTR_LEN], .rip = buf->msg[NESTOR_EXIT_MR_RIP],
        .s = vm->state,
    };
        exit_action_t act = vm_handle_exit(&e);
        if (act == EXIT_RESUME) {
            irq_before_resume(vm, &e);
            if (!vm->irq_quiet)
                tick_start_if_needed();
        }
        m = (nu_msg_t){ .info = nestor_msginfo(act == EXIT_RESUME ? 0 : 1, 0, 0, 1),
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


int main(const nestor_bootinfo_t *bi)
{
    parse_options(bi->cmdline);
    if (!bi->vmx_present) {
        printf("vmm: no VMX on this machine: no VM can run\n");
        return 0;
    }
    unsigned n_untyped = list_ram_untyped(bi);
    if (n_untyped == 0) {
        printf("vmm: no RAM untyped capability: nothing to build VMs from\n");
        return 0;
    }
    nu_alloc_t a = { ram_untyped[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                     ram_untyped + 1, n_untyped - 1 };
    nestor_cptr_t exit_ep = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    irq_set_clock(bi->tsc_per_tick);
    if (!tick_setup(&a)) {
        printf("vmm: cannot set up the host timer interrupt\n");
        return 0;
    }
    for (nestor_word_t i = 0; i < bi->module_count && n_vms < VMM_MAX_VMS; i++) {
        const nestor_module_desc_t *mod = &bi->modules[i];
        if (strncmp(mod->name, GUEST_TAG, strlen(GUEST_TAG)) != 0)
            continue;
        vm_t *vm = &vms[n_vms];
        vm->index = n_vms;
        strncpy(vm->name, mod->name + strlen(GUEST_TAG), VMM_NAME_MAX - 1);
        vm->ram_bytes = (uint64_t)VMM_DEFAULT_RAM_MB << 20;
        if (!vm_create(vm, &a, exit_ep, (const void *)(uintptr_t)mod->vaddr, mod->size,
                       GUEST_LOAD_GPA))
            return 0;
        printf("vmm: vm %s: %lu MiB RAM, image %lu bytes at 0x%lx%s\n", vm->name,
               vm->ram_bytes >> 20, mod->size, vm->load_gpa,
               vm->real_mode ? " (boot sector: real mode)" :
               vm->long_mode ? " (ELF64: 64-bit mode)" :
               vm->multiboot ? " (Multiboot)" : "");
        if (opt_count[0] && strcmp(opt_count, vm->name) == 0) {
            if (!count_monitor_stack(&monitors[n_vms], &a, vm->exit_table, NESTOR_EXIT_CPUID)) {
                printf("vmm: cannot stack the count monitor on %s\n", vm->name);
                return 0;
            }
            vm->counted = true;
            printf("vmm: vm %s: count monitor stacked on its CPUID exits\n", vm->name);
        }
        n_vms++;
    }
    if (n_vms == 0) {
        printf("vmm: no \"guest NAME\" module: nothing to run\n");
        return 0;
    }
    for (unsigned i = 0; i < n_vms; i++) {
        vm_start(&vms[i]);
        if (opt_limit_ms)
            tick_start_if_needed();
        if (opt_sequential || i == n_vms - 1)
            serve(exit_ep);
    }
    int ok = 1;
    for (unsigned i = 0; i < n_vms; i++) {
        vm_t *vm = &vms[i];
        ok &= vm->status == VM_EXITED && vm->exit_code == 0;
        nestor_word_t counted, others;
        if (vm->counted && count_monitor_query(&monitors[i], &counted, &others)) {
            bool match = counted == vm->guest_cpuid_reported && others == 0;
            printf("count-monitor: vm %s: %lu cpuid exits, %lu other exits; the guest executed "
                   "%lu cpuids: %s\n", vm->name, counted, others, vm->guest_cpuid_reported,
                   match ? "match" : "MISMATCH");
            ok &= match;
        }
    }
    return ok;
}
