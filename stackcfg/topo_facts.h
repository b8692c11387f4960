/*
 * stackcfg/topo_facts.h - the stack as "topo: ..." lines: what a config
 * says (nestor-config facts) and what the running system did (init and the
 * monitors print the same lines at the moment they do it). `./nestor topo`
 * draws either; system tests compare the two sets.
 *
 *   topo: monitor NAME kind=KIND memory-mib=N priority=P
 *   topo: vm NAME vmm=MONITOR guest=IMAGE|nested=CONFIG memory-mib=N vcpus=N devices=A,B
 *   topo: stacked VM MONITOR exits=R[,R] next=MONITOR
 *   topo: virtio VM N server=MONITOR mmio=0xADDR irq=L   VM's virtio device N
 *
 *   topo: grant MONITOR ioports FIRST-LAST  host ports its node grants it
 *   topo: grant MONITOR irq N               a host IRQ line its node grants it
 *
 * Lines only the running system prints (not compared, drawn as labels):
 *   topo: grant MONITOR KIND DETAIL        other capabilities init gave it
 *   topo: exits VM total=N                 exits the VM's VMM served
 */
#ifndef TOPO_FACTS_H
#define TOPO_FACTS_H
#include "stackcfg.h"

#define TOPO_LINE_MAX 256
#define TOPO_PREFIX   "topo: "

int topo_fmt_monitor(char *buf, size_t size, const char *name, const char *kind,
                     uint32_t memory_mib, uint32_t priority);
int topo_fmt_vm(char *buf, size_t size, const char *name, const char *vmm, const char *guest,
                const char *nested, uint32_t memory_mib, uint32_t vcpus, uint32_t devices);
int topo_fmt_grant_ports(char *buf, size_t size, const char *monitor, uint32_t first,
                         uint32_t last);
int topo_fmt_grant_irq(char *buf, size_t size, const char *monitor, uint32_t irq);
int topo_fmt_stacked(char *buf, size_t size, const char *vm, const char *monitor,
                     const uint32_t *exits, unsigned n_exits, const char *next);

int topo_fmt_virtio(char *buf, size_t size, const char *vm, unsigned n, const char *server);

/* The kind word of a monitor: its compatible without "nestor,". */
const char *topo_kind(sc_kind_t k);

/* Every fact of a checked config, one line each, to @emit. */
void topo_config_facts(const sc_stack_t *s, void (*emit)(void *ctx, const char *line), void *ctx);

#endif
