/*
 * device-servers/net/main.c - the network server ("nestor,net"): one
 * virtio-net device (Virtio 1.2 5.1, vnet.h) for each VM whose 'virtio'
 * names it, and a learning switch between them (switch.h): each VM is a
 * port. Init starts it with "net.portP=VM" for each port P
 * (net_proto.h) and gives the VMM of each VM the server's endpoint badged
 * NET_BADGE_PORT(P): the badge, not anything a VMM says, names the port a
 * message is for, and a VMM holds only its own VMs' badges.
 *
 * This file is the process: the IPC loop, the setup call's kernel side
 * (the VM's RAM mapped, the signal capability kept) and the signals.
 * What a message does is server.c's (net_serve, host-tested): per port the
 * protocol of devsrv.h, a transmitq1 kick served before its reply, each
 * frame through the switch into the receive queues of the ports it is for;
 * the sender's line comes back in the reply, another port whose line went
 * up gets a signal to its VMM. Messages the protocol refuses (a badge that
 * is no port, a second setup, an access before the setup, unknown labels)
 * are answered DS_REFUSED and logged; a capability sent where none belongs
 * is deleted.
 *
 * The doorbell (devsrv.h DS_REQ_DOORBELL, ds_doorbell.h): each port's VMM
 * offers its page after the setup; the server maps it at its port's place
 * and from then on the kernel sends that VM's accesses to QueueNotify and
 * the interrupt registers here as exit messages. They carry the port's
 * badge (the VMM's capability is badged already and a badge never
 * changes) and the exit label, which no request of devsrv.h has; a
 * transmit kick served so sends its frames to the other ports and raises
 * their lines as a forwarded one does (net_port_access).
 */
#include "server.h"
#include <devsrv.h>
#include <ds_doorbell_ipc.h>
#include <ds_paged.h>
#include <ds_setup.h>
#include <fmt.h>
#include <stdlib.h>
#include <string.h>
#include <virtio_abi.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>
#include <vm_layout.h>

/* Port P's VM's RAM is mapped at NET_RAM_VA + P * NET_RAM_STRIDE
 * (guest-physical 0 there); a VM has at most DS_MAX_RAM_BYTES. */
#define NET_RAM_VA       0x0000300000000000ULL
#define NET_RAM_STRIDE   (4ULL << 30)

_Static_assert(NET_RAM_STRIDE >= DS_MAX_RAM_BYTES, "a VM's RAM fits its port's stride");

static net_server_t srv;
static char vm_names[NET_MAX_PORTS][VNET_NAME_MAX];
static nestor_cptr_t signal_caps[NET_MAX_PORTS];   /* DS_GRANT_IRQ of each port's VMM */
static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];
static nu_alloc_t alloc;
static nestor_cptr_t node;                          /* where a setup's CNode lands */
static const nu_msg_t *current;                     /* the message being served */
static uint64_t current_paged;                      /* its DS_SETUP_MR_PAGED_BYTES */
static ds_paged_t paged[NET_MAX_PORTS];             /* each port's VM's paged RAM (ds_paged.h) */
static char paged_who[NET_MAX_PORTS][2 * VNET_NAME_MAX + 24];

/* Port P's doorbell page at NET_DOORBELL_VA + P pages. */
#define NET_DOORBELL_VA  0x0000200000400000ULL
#define NET_DOORBELL_PAGE_BITS 12
static ds_doorbell_t doorbell[NET_MAX_PORTS];
static uint64_t window[NET_MAX_PORTS];              /* each port's device window */
static bool bell_offered[NET_MAX_PORTS];            /* its VMM's offer came (taken or not) */
static unsigned bell_port[NET_MAX_PORTS];           /* the doorbell callbacks' port numbers */

static void emit(const char *text)
{
    printf("%s\n", text);
}

/* server.h's setup: ds_setup.h checks every number and maps the frames. */
static bool map_vm(void *ctx, unsigned port, const net_msg_t *m, uint8_t **ram, uint64_t *bytes)
{
    (void)ctx;
    (void)m;
    uint64_t va = NET_RAM_VA + port * NET_RAM_STRIDE;
    *bytes = ds_map_ram(&alloc, node, current, va);
    *ram = (uint8_t *)(uintptr_t)va;
    vnet_t *d = &srv.ports[port].dev;
    fmt_snprintf(paged_who[port], sizeof paged_who[port], "virtio-net %s: vm %s", d->name, d->vm);
    if (!*bytes || !ds_paged_setup(&paged[port], &alloc, node, current, current_paged, va,
                                   paged_who[port], &d->window[1]))
        return false;
    signal_caps[port] = ds_signal_cap(&alloc, node, current);
    window[port] = vm_virtio_base((unsigned)current->mr[DS_SETUP_MR_DEVICE]);
    return true;
}

/*
 * Fault injection, for the restart tests: "net.fault=die:N" on the command
 * line (the node's 'options') crashes the server (a page fault init sees)
 * when the Nth transmitq1 kick of any port reaches it, at its doorbell or
 * through a VMM, before serving it: init restarts it, each port's VMM
 * reconnects, and the kicking one sends the kick again.
 * "net.fault=die-taken:N" crashes it when it has taken the Nth transmit
 * chain of any port and not used it yet (a chain in flight): the new
 * instance's DS_REQ_RESUME finds it available again and sends it. A
 * restarted instance ("restart=K" on its command line) does not crash.
 */
#define DIE_OPT          "net.fault=die:"
#define DIE_TAKEN_OPT    "net.fault=die-taken:"
#define RESTART_OPT      "restart="
#define CRASH_ADDR       0x10ULL     /* below every mapping (user.ld links at 4 MiB) */
static unsigned long die_at, tx_kicks_seen, die_taken_at, tx_taken;

static void crash(const char *what, unsigned long n)
{
    printf("virtio-net %s: net.fault: crashing at %s %lu\n", srv.name, what, n);
    volatile uint32_t *volatile where = (volatile uint32_t *)CRASH_ADDR;
    *where = 0;
}

static void die_at_kick(bool write, uint64_t offset, uint64_t value)
{
    if (die_at && write && offset == VIRTIO_MMIO_QUEUE_NOTIFY && value == VNET_TRANSMITQ &&
        ++tx_kicks_seen == die_at)
        crash("transmit kick", tx_kicks_seen);
}

static void die_at_taken(vnet_t *n)
{
    (void)n;
    if (++tx_taken == die_taken_at)
        crash("transmit chain taken", tx_taken);
}

static bool db_access(void *dev, bool write, uint64_t offset, unsigned size, uint32_t *value)
{
    die_at_kick(write, offset, *value);
    return net_port_access(&srv, *(const unsigned *)dev, write, offset, size, value, *value);
}

static bool db_line(void *dev)
{
    return vnet_irq(&srv.ports[*(const unsigned *)dev].dev);
}

/* The port a message's badge names, or NET_MAX_PORTS. */
static unsigned port_of(const nu_msg_t *m)
{
    unsigned p = (unsigned)(m->badge - NET_BADGE_PORT_BASE);
    return m->badge >= NET_BADGE_PORT_BASE && p < srv.n_ports ? p : NET_MAX_PORTS;
}

/* Port @p's VMM offers the doorbell's page (in the receive slot): taken
 * once, after the port's setup. */
static bool take_doorbell(unsigned p, const nu_msg_t *m)
{
    const net_port_t *pt = &srv.ports[p];
    if (!pt->live)
        return false;                   /* refused (and logged) by net_serve */
    bell_offered[p] = true;
    bell_port[p] = p;
    return ds_doorbell_take(&doorbell[p], &alloc, node, m,
                            NET_DOORBELL_VA + ((uint64_t)p << NET_DOORBELL_PAGE_BITS),
                            (const uint8_t *)(uintptr_t)(NET_RAM_VA + p * NET_RAM_STRIDE),
                            pt->dev.ram_bytes, window[p], db_access, db_line, &bell_port[p]);
}

/* Capabilities are still to come: a port's setup or its doorbell's page. */
static bool caps_to_come(void)
{
    for (unsigned p = 0; p < srv.n_ports; p++)
        if (!srv.ports[p].live || !bell_offered[p])
            return true;
    return false;
}

/* The VMMs' view of each line, one record: what a reply, a signal or a
 * doorbell's note told them. */
static void levels_told(unsigned from_bell)
{
    if (from_bell < srv.n_ports && from_bell < NET_MAX_PORTS)
        srv.ports[from_bell].told = doorbell[from_bell].vmm_level;
    for (unsigned q = 0; q < srv.n_ports; q++)
        ds_doorbell_vmm_knows(&doorbell[q], srv.ports[q].told);
}

static void raise_line(void *ctx, unsigned port)
{
    (void)ctx;
    if (signal_caps[port])
        nu_signal(signal_caps[port]);
}

static void serve(nestor_cptr_t ep)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    node = alloc.next_slot++;
    nu_receive_cap_into(node);
    nu_msg_t m = { 0 };
    nestor_word_t st = nu_recv(ep, &m);
    for (;;) {
        net_msg_t in = { .badge = st == NESTOR_OK ? m.badge : 0,
                         .label = (unsigned)nestor_msginfo_label(m.info),
                         .caps = nestor_msginfo_extra_caps(m.info),
                         .mr = { m.mr[0], m.mr[1], m.mr[2], m.mr[3] } };
        current = &m;
        current_paged = st == NESTOR_OK ? ds_setup_paged_bytes(&m) : 0;   /* before any call */
        const unsigned p = st == NESTOR_OK ? port_of(&m) : NET_MAX_PORTS;
        if (p < NET_MAX_PORTS && in.label == NESTOR_FAULT_VM_EXIT && in.caps == 0) {
            /* A doorbell exit of port p's VM (a port without a doorbell
             * page passes it on: the VMM serves it). */
            m = ds_doorbell_answer(&doorbell[p], &m);
            levels_told(p);
            st = nu_reply_recv(ep, &m);
            continue;
        }
        /* A restore's record: DS_STATE_WORDS words from MR0 on (the rest
         * in the IPC buffer). */
        ds_state_t loaded;
        if (in.label == DS_REQ_LOAD && nestor_msginfo_length(m.info) == DS_STATE_WORDS) {
            nestor_word_t w[DS_STATE_WORDS];
            for (unsigned i = 0; i < DS_STATE_WORDS; i++)
                w[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[i] : b->msg[i];
            memcpy(&loaded, w, sizeof loaded);
            in.state = &loaded;
        }
        if (p < NET_MAX_PORTS && in.label == DS_REQ_WRITE)
            die_at_kick(true, in.mr[0], in.mr[2]);
        net_reply_t r;
        if (p < NET_MAX_PORTS && in.label == DS_REQ_DOORBELL && !bell_offered[p] &&
            take_doorbell(p, &m))
            r = (net_reply_t){ .label = DS_OK, .cap_taken = true,
                               .level = vnet_irq(&srv.ports[p].dev) };
        else
            r = net_serve(&srv, &in);
        if (r.cap_taken)
            node = alloc.next_slot++;
        else if (in.caps)
            nu_cnode_delete(NESTOR_CAP_INIT_CNODE, node, 64);   /* a capability for nothing */
        /* Every reply carries the level (refusals too: 0), and the VMM
         * sets its line from it (vmm-server/virtio_fwd.c). */
        if (p < NET_MAX_PORTS && srv.ports[p].live)
            srv.ports[p].told = r.level;
        levels_told(NET_MAX_PORTS);
        if (caps_to_come())
            nu_receive_cap_into(node);
        else
            b->receive_cnode = 0;       /* every port set up, every page offered */
        m = (nu_msg_t){ .info = nestor_msginfo(r.label, 0, 0, DS_REPLY_MRS),
                        .mr = { r.value, r.level ? DS_REPLY_IRQ_LEVEL : 0 } };
        if (r.state) {
            /* A checkpoint's export (devsrv.h DS_REQ_SAVE), as a restore
             * brings it back. */
            nestor_word_t w[DS_STATE_WORDS] = { 0 };
            memcpy(w, &srv.saved, sizeof srv.saved);
            m.info = nestor_msginfo(DS_OK, 0, 0, DS_STATE_WORDS);
            for (unsigned i = 0; i < DS_STATE_WORDS; i++)
                *(i < NESTOR_MSG_REGISTERS_IN_CPU ? &m.mr[i] : &b->msg[i]) = w[i];
        }
        st = nu_reply_recv(ep, &m);
    }
}

int main(const nestor_bootinfo_t *bi)
{
    char name[VNET_NAME_MAX] = "net";
    nu_option_copy(bi->cmdline, "monitor=", name, sizeof name);
    /* The ports init gave us, in order: net.port0=VM, net.port1=VM, ... */
    const char *vms[NET_MAX_PORTS];
    unsigned n = 0;
    for (; n < NET_MAX_PORTS; n++) {
        char key[16];
        fmt_snprintf(key, sizeof key, NET_PORT_OPT "%u=", n);
        if (!nu_option_copy(bi->cmdline, key, vm_names[n], sizeof vm_names[n]))
            break;
        vms[n] = vm_names[n];
    }
    net_server_init(&srv, name, n, vms);
    const char *die = nu_option(bi->cmdline, DIE_OPT);
    if (die && !nu_option(bi->cmdline, RESTART_OPT) && (die_at = strtoul(die, NULL, 10)) != 0)
        printf("virtio-net %s: fault injection: a crash at transmit kick %lu\n", name, die_at);
    const char *taken = nu_option(bi->cmdline, DIE_TAKEN_OPT);
    if (taken && !nu_option(bi->cmdline, RESTART_OPT) &&
        (die_taken_at = strtoul(taken, NULL, 10)) != 0) {
        printf("virtio-net %s: fault injection: a crash at transmit chain %lu taken\n", name,
               die_taken_at);
        for (unsigned p = 0; p < srv.n_ports; p++)
            srv.ports[p].dev.taken = die_at_taken;
    }
    srv.emit = emit;
    srv.setup = map_vm;
    srv.signal = raise_line;
    srv.restarted = nu_option(bi->cmdline, RESTART_OPT) != NULL;
    const nestor_grant_desc_t *service = nu_grant(bi, NESTOR_GRANT_SERVICE, NULL);
    unsigned n_untyped = nu_ram_untypeds(bi, untypeds, NULL);
    if (!service || n_untyped == 0 || n == 0) {
        printf("virtio-net %s: no endpoint, memory or port granted: nothing to serve\n", name);
        return 0;
    }
    alloc = (nu_alloc_t){ untypeds[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                          untypeds + 1, n_untyped - 1 };
    printf("virtio-net %s: %u ports, a learning switch between them\n", name, n);
    serve(service->cptr);
    return 1;
}
