/*
 * device-servers/net/main.c - the network server ("nestor,net"): one
 * virtio-net device (Virtio 1.2 5.1, vnet.h) for each VM whose 'virtio'
 * names it, and a learning switch between them (switch.h): each VM is a
 * port. Init starts it with "net.portP=VM" for each port P
 * (net_proto.h) and gives the VMM of each VM the server's endpoint badged
 * NET_BADGE_PORT(P): the badge, not anything a VMM says, names the port a
 * message is for, and a VMM holds only its own VMs' badges.
 *
 * Per port the protocol of devsrv.h: the setup call (label 0, one CNode of
 * the VM's RAM frames and the VMM's signal capability) once, then the
 * forwarded accesses (DS_REQ_READ/WRITE). A transmitq1 kick is served
 * before its reply: each frame goes through the switch into the receive
 * queues of the ports it is for. The sender's own line comes back in the
 * reply; another port whose line goes up gets a signal to its VMM (one
 * per rise: when the last reply to that port, or the last signal, said
 * low), which raises the VM's interrupt between its accesses.
 *
 * Hostile VMMs and drivers: a message whose badge is no port of ours, a
 * second setup, an access before the setup, labels the protocol does not
 * have: refused (DS_REFUSED) and logged (NET_LOG_MAX times), capabilities
 * sent where none belong deleted. A guest's broken descriptors are
 * vnet.c's and virtio/'s to refuse: they break only that VM's queue.
 */
#include "switch.h"
#include "vnet.h"
#include <devsrv.h>
#include <ds_setup.h>
#include <fmt.h>
#include <net_proto.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>
#include <virtio_abi.h>
#include <vm_layout.h>

/* Port P's VM's RAM is mapped at NET_RAM_VA + P * NET_RAM_STRIDE
 * (guest-physical 0 there); a VM has at most DS_MAX_RAM_BYTES. */
#define NET_RAM_VA       0x0000300000000000ULL
#define NET_RAM_STRIDE   (4ULL << 30)
#define NET_LOG_MAX      16

_Static_assert(NET_RAM_STRIDE >= DS_MAX_RAM_BYTES, "a VM's RAM fits its port's stride");
_Static_assert(NET_MAX_PORTS <= SW_MAX_PORTS, "a switch port for every server port");

typedef struct {
    vnet_t dev;
    bool live;                      /* set up: its RAM mapped, vnet_init done */
    bool told;                      /* the level its VMM knows (last reply or signal) */
    nestor_cptr_t signal;           /* "my line went up" to its VMM (DS_GRANT_IRQ) */
    uint64_t signals;
} port_t;

static char name[VNET_NAME_MAX] = "net";
static port_t ports[NET_MAX_PORTS];
static unsigned n_ports;
static sw_t sw;
static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];
static nu_alloc_t alloc;
static unsigned logged;

static void emit(const char *text)
{
    printf("%s\n", text);
}

/* A message the protocol refuses (not a guest's doing: its VMM's). */
static void refuse(const char *fmt_text, nestor_word_t a, nestor_word_t b)
{
    if (logged > NET_LOG_MAX)
        return;
    char text[160];
    if (logged++ == NET_LOG_MAX)
        fmt_snprintf(text, sizeof text, "no longer logged");
    else
        fmt_snprintf(text, sizeof text, fmt_text, a, b);
    printf("virtio-net %s: message refused: %s\n", name, text);
}

/* The switch delivers a frame to port @p: into its VM's receive queue. */
static void deliver(void *ctx, unsigned p, const uint8_t *frame, uint32_t len)
{
    (void)ctx;
    if (p < n_ports && ports[p].live)
        vnet_receive(&ports[p].dev, frame, len);
}

/* A frame port @from's guest sent: to the switch. */
static void transmit(void *ctx, vnet_t *from, const uint8_t *frame, uint32_t len)
{
    (void)ctx;
    sw_input(&sw, from->port, frame, len);
}

/* Raise the line of every port but @except that went up since its VMM last
 * heard: a signal each (devsrv.h DS_GRANT_IRQ). */
static void signal_others(unsigned except)
{
    for (unsigned q = 0; q < n_ports; q++) {
        port_t *o = &ports[q];
        if (q == except || !o->live || o->told || !vnet_irq(&o->dev))
            continue;
        o->told = true;
        if (o->signal) {
            nu_signal(o->signal);
            o->signals++;
        }
    }
}

/* The setup call for port @p (its CNode at @node). */
static bool setup(port_t *pt, unsigned p, nestor_cptr_t node, const nu_msg_t *m)
{
    pt->dev.ram_bytes = ds_map_ram(&alloc, node, m, NET_RAM_VA + p * NET_RAM_STRIDE);
    if (!pt->dev.ram_bytes || !vnet_init(&pt->dev, (uint8_t *)(uintptr_t)(NET_RAM_VA +
                                                                            p * NET_RAM_STRIDE))) {
        printf("virtio-net %s: vm %s: the VM handed over is not usable (caps %u, %lu bytes of "
               "RAM, frames of 2^%lu)\n", name, pt->dev.vm, nestor_msginfo_extra_caps(m->info),
               m->mr[DS_SETUP_MR_RAM_BYTES], m->mr[DS_SETUP_MR_FRAME_BITS]);
        return false;
    }
    pt->signal = ds_signal_cap(&alloc, node, m);
    pt->live = true;
    const uint8_t *mac = pt->dev.mac;
    unsigned n = (unsigned)m->mr[DS_SETUP_MR_DEVICE];
    printf("virtio-net %s: port %u: serving vm %s's virtio device %u (MMIO 0x%lx, IRQ %u, %lu MiB "
           "of RAM mapped), MAC %02x:%02x:%02x:%02x:%02x:%02x\n", name, p, pt->dev.vm, n,
           vm_virtio_base(n), vm_virtio_irq(n), pt->dev.ram_bytes >> 20, mac[0], mac[1], mac[2],
           mac[3], mac[4], mac[5]);
    return true;
}

/* Port @pt's driver reset its device: what it did until then. */
static void report(const port_t *pt, unsigned p)
{
    const vnet_t *d = &pt->dev;
    printf("virtio-net %s: port %u (vm %s) reset: sent %lu frames (%lu bytes), received %lu "
           "(%lu bytes), %lu refused, %lu dropped, %lu kicks, %lu accesses, %lu signals\n", name,
           p, d->vm, d->tx_frames, d->tx_bytes, d->rx_frames, d->rx_bytes, d->tx_refused,
           d->rx_dropped, d->kicks, d->accesses, pt->signals);
    printf("virtio-net %s: switch: %lu forwarded, %lu flooded, %lu filtered, %lu learnt, %lu "
           "moved\n", name, sw.forwarded, sw.flooded, sw.filtered, sw.learnt, sw.moved);
}

/* One forwarded access of port @p; the reply's label. */
static nestor_word_t net_access(port_t *pt, unsigned p, nu_msg_t *m, uint32_t *value)
{
    nestor_word_t label = nestor_msginfo_label(m->info);
    bool was_live = pt->dev.dev.status & VIRTIO_STATUS_DRIVER_OK;
    bool ok = vnet_access(&pt->dev, label == DS_REQ_WRITE, m->mr[0], m->mr[1], value,
                          (uint32_t)m->mr[2]);
    if (was_live && pt->dev.dev.status == 0)
        report(pt, p);
    signal_others(p);
    return ok ? DS_OK : DS_REFUSED;
}

static void serve(nestor_cptr_t ep)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nestor_cptr_t node = alloc.next_slot++;     /* where a setup's CNode lands */
    unsigned waiting = n_ports;                 /* ports not set up yet */
    nu_receive_cap_into(node);
    nu_msg_t m = { 0 };
    nestor_word_t st = nu_recv(ep, &m);
    for (;;) {
        nestor_word_t label = nestor_msginfo_label(m.info), reply = DS_REFUSED;
        unsigned caps = nestor_msginfo_extra_caps(m.info);
        bool node_taken = false;
        uint32_t value = 0;
        unsigned p = (unsigned)(m.badge - NET_BADGE_PORT_BASE);
        port_t *pt = st == NESTOR_OK && m.badge >= NET_BADGE_PORT_BASE && p < n_ports
                         ? &ports[p] : NULL;
        if (!pt) {
            refuse("badge 0x%lx names no port (status %lu)", m.badge, st);
        } else if (label == 0 && caps == 1 && !pt->live) {
            /* devsrv.h DS_BADGE_SETUP: the VMM's mint kept init's badge. */
            node_taken = true;
            reply = setup(pt, p, node, &m) ? DS_OK : DS_REFUSED;
            waiting -= pt->live;
        } else if ((label == DS_REQ_READ || label == DS_REQ_WRITE) && caps == 0 && pt->live) {
            reply = net_access(pt, p, &m, &value);
        } else {
            refuse(pt->live ? "label 0x%lx with %lu capabilities: not an access"
                            : "label 0x%lx with %lu capabilities before the setup", label, caps);
        }
        if (caps && !node_taken)
            nu_cnode_delete(NESTOR_CAP_INIT_CNODE, node, 64);   /* a capability for nothing */
        else if (node_taken)
            node = alloc.next_slot++;
        if (waiting)
            nu_receive_cap_into(node);
        else
            b->receive_cnode = 0;                  /* every port set up: no more capabilities */
        bool level = pt && pt->live && vnet_irq(&pt->dev);
        if (pt)
            pt->told = level;
        m = (nu_msg_t){ .info = nestor_msginfo(reply, 0, 0, DS_REPLY_MRS),
                        .mr = { value, level ? DS_REPLY_IRQ_LEVEL : 0 } };
        st = nu_reply_recv(ep, &m);
    }
}

int main(const nestor_bootinfo_t *bi)
{
    nu_option_copy(bi->cmdline, "monitor=", name, sizeof name);
    /* The ports init gave us, in order: net.port0=VM, net.port1=VM, ... */
    for (n_ports = 0; n_ports < NET_MAX_PORTS; n_ports++) {
        char key[16];
        fmt_snprintf(key, sizeof key, NET_PORT_OPT "%u=", n_ports);
        vnet_t *d = &ports[n_ports].dev;
        if (!nu_option_copy(bi->cmdline, key, d->vm, sizeof d->vm))
            break;
        strncpy(d->name, name, sizeof d->name - 1);
        /* A locally administered unicast address (IEEE 802 48-bit MAC:
         * first octet bit 1 set, bit 0 clear): "NST", the port's number. */
        const uint8_t mac[VNET_MAC_LEN] = { 0x02, 'N', 'S', 'T', 0, (uint8_t)(n_ports + 1) };
        memcpy(d->mac, mac, sizeof mac);
        d->port = n_ports;
        d->emit = emit;
        d->tx = transmit;
    }
    const nestor_grant_desc_t *service = nu_grant(bi, NESTOR_GRANT_SERVICE, NULL);
    unsigned n_untyped = nu_ram_untypeds(bi, untypeds, NULL);
    if (!service || n_untyped == 0 || n_ports == 0) {
        printf("virtio-net %s: no endpoint, memory or port granted: nothing to serve\n", name);
        return 0;
    }
    alloc = (nu_alloc_t){ untypeds[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                          untypeds + 1, n_untyped - 1 };
    sw_init(&sw, n_ports, deliver, NULL);
    printf("virtio-net %s: %u ports, a learning switch between them\n", name, n_ports);
    serve(service->cptr);
    return 1;
}
