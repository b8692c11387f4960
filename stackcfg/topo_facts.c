/* stackcfg/topo_facts.c - the "topo: ..." lines (see topo_facts.h). */
#include "topo_facts.h"
#include <fmt.h>
#include <string.h>

#define COMPAT_VENDOR "nestor,"

const char *topo_kind(sc_kind_t k)
{
    const char *c = sc_kind_compatible(k);
    return strncmp(c, COMPAT_VENDOR, strlen(COMPAT_VENDOR)) == 0 ? c + strlen(COMPAT_VENDOR) : c;
}

int topo_fmt_monitor(char *buf, size_t size, const char *name, const char *kind,
                     uint32_t memory_mib, uint32_t priority)
{
    return fmt_snprintf(buf, size, TOPO_PREFIX "monitor %s kind=%s memory-mib=%u priority=%u",
                        name, kind, memory_mib, priority);
}

int topo_fmt_vm(char *buf, size_t size, const char *name, const char *vmm, const char *guest,
                const char *nested, uint32_t memory_mib, uint32_t vcpus, uint32_t devices)
{
    char devs[64];
    sc_devices_str(devices, devs, sizeof devs);
    return fmt_snprintf(buf, size, TOPO_PREFIX "vm %s vmm=%s %s=%s memory-mib=%u vcpus=%u "
                        "devices=%s", name, vmm, nested && nested[0] ? "nested" : "guest",
                        nested && nested[0] ? nested : guest, memory_mib, vcpus, devs);
}

int topo_fmt_grant_ports(char *buf, size_t size, const char *monitor, uint32_t first,
                         uint32_t last)
{
    return fmt_snprintf(buf, size, TOPO_PREFIX "grant %s ioports 0x%x-0x%x", monitor, first, last);
}

int topo_fmt_grant_irq(char *buf, size_t size, const char *monitor, uint32_t irq)
{
    return fmt_snprintf(buf, size, TOPO_PREFIX "grant %s irq %u", monitor, irq);
}

int topo_fmt_stacked(char *buf, size_t size, const char *vm, const char *monitor,
                     const uint32_t *exits, unsigned n_exits, const char *next)
{
    char list[160] = "";
    size_t used = 0;
    for (unsigned i = 0; i < n_exits; i++) {
        const char *n = sc_exit_name(exits[i]);
        used += (size_t)fmt_snprintf(list + used, used < sizeof list ? sizeof list - used : 0,
                                     "%s%s", i ? "," : "", n ? n : "?");
    }
    return fmt_snprintf(buf, size, TOPO_PREFIX "stacked %s %s exits=%s next=%s", vm, monitor,
                        list, next);
}

int topo_fmt_virtio(char *buf, size_t size, const char *vm, unsigned n, const char *server)
{
    return fmt_snprintf(buf, size, TOPO_PREFIX "virtio %s %u server=%s mmio=0x%lx irq=%u", vm, n,
                        server, vm_virtio_base(n), vm_virtio_irq(n));
}

void topo_config_facts(const sc_stack_t *s, void (*emit)(void *ctx, const char *line), void *ctx)
{
    char line[TOPO_LINE_MAX];
    for (unsigned i = 0; i < s->n_mon; i++) {
        const sc_monitor_t *m = &s->mon[s->start_order[i]];
        topo_fmt_monitor(line, sizeof line, m->name, topo_kind(m->kind), m->memory_mib,
                         m->priority);
        emit(ctx, line);
        for (unsigned p = 0; p < m->n_ports; p++) {
            topo_fmt_grant_ports(line, sizeof line, m->name, m->ports[p].first, m->ports[p].last);
            emit(ctx, line);
        }
        for (unsigned q = 0; q < m->n_irqs; q++) {
            topo_fmt_grant_irq(line, sizeof line, m->name, m->irqs[q]);
            emit(ctx, line);
        }
    }
    for (unsigned v = 0; v < s->n_vm; v++) {
        const sc_vm_t *vm = &s->vm[v];
        topo_fmt_vm(line, sizeof line, vm->name, sc_vm_vmm(s, vm)->name, vm->guest, vm->nested,
                    vm->memory_mib, vm->vcpus, vm->devices);
        emit(ctx, line);
        for (unsigned k = 0; k + 1 < vm->n_stack; k++) {
            const sc_monitor_t *m = &s->mon[vm->stack[k]];
            topo_fmt_stacked(line, sizeof line, vm->name, m->name, m->exits, m->n_exits,
                             s->mon[vm->stack[k + 1]].name);
            emit(ctx, line);
        }
        for (unsigned k = 0; k < vm->n_virtio; k++) {
            topo_fmt_virtio(line, sizeof line, vm->name, k, s->mon[vm->virtio[k]].name);
            emit(ctx, line);
        }
    }
}
