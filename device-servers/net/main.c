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
 */
#include "server.h"
#include <devsrv.h>
#include <ds_paged.h>
#include <ds_setup.h>
#include <fmt.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>

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
    return true;
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
        net_reply_t r = net_serve(&srv, &in);
        if (r.cap_taken)
            node = alloc.next_slot++;
        else if (in.caps)
            nu_cnode_delete(NESTOR_CAP_INIT_CNODE, node, 64);   /* a capability for nothing */
        if (srv.waiting)
            nu_receive_cap_into(node);
        else
            b->receive_cnode = 0;       /* every port set up: no more capabilities */
        m = (nu_msg_t){ .info = nestor_msginfo(r.label, 0, 0, DS_REPLY_MRS),
                        .mr = { r.value, r.level ? DS_REPLY_IRQ_LEVEL : 0 } };
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
    srv.emit = emit;
    srv.setup = map_vm;
    srv.signal = raise_line;
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
