/*
 * device-servers/net/server.c - the network server's dispatch (server.h):
 * each message's port by its badge, the setup call once per port, the
 * forwarded accesses through the port's device, frames through the
 * switch, other ports' lines raised by signals.
 */
#include "server.h"
#include <devsrv.h>
#include <fmt.h>
#include <string.h>
#include <virtio_abi.h>
#include <vm_layout.h>

_Static_assert(NET_MAX_PORTS <= SW_MAX_PORTS, "a switch port for every server port");

static void say(net_server_t *s, const char *text)
{
    char line[224];
    fmt_snprintf(line, sizeof line, "virtio-net %s: %s", s->name, text);
    s->emit(line);
}

/* A message the protocol refuses (its VMM's doing, not a guest's). */
static net_reply_t refuse(net_server_t *s, const char *why)
{
    s->refused++;
    if (s->logged <= NET_LOG_MAX) {
        char text[192];
        fmt_snprintf(text, sizeof text, "message refused: %s",
                     s->logged++ == NET_LOG_MAX ? "no longer logged" : why);
        say(s, text);
    }
    return (net_reply_t){ .label = DS_REFUSED };
}

/* The switch delivers a frame to port @p: into its VM's receive queue. */
static void deliver(void *ctx, unsigned p, const uint8_t *frame, uint32_t len)
{
    net_server_t *s = ctx;
    if (p < s->n_ports && s->ports[p].live && (s->ports[p].held || s->ports[p].resuming))
        s->ports[p].dev.rx_dropped++;       /* saved, or its rings not taken up yet */
    else if (p < s->n_ports && s->ports[p].live)
        vnet_receive(&s->ports[p].dev, frame, len);
}

/* A frame port @from's guest sent: to the switch. */
static void transmit(void *ctx, vnet_t *from, const uint8_t *frame, uint32_t len)
{
    net_server_t *s = ctx;
    sw_input(&s->sw, from->port, frame, len);
}

void net_server_init(net_server_t *s, const char *name, unsigned n_ports,
                     const char *const *vms)
{
    memset(s, 0, sizeof *s);
    strncpy(s->name, name, sizeof s->name - 1);
    s->n_ports = s->waiting = n_ports <= NET_MAX_PORTS ? n_ports : NET_MAX_PORTS;
    for (unsigned p = 0; p < s->n_ports; p++) {
        vnet_t *d = &s->ports[p].dev;
        strncpy(d->name, name, sizeof d->name - 1);
        strncpy(d->vm, vms[p], sizeof d->vm - 1);
        /* A locally administered unicast address (IEEE 802 48-bit MAC:
         * first octet bit 1 set, bit 0 clear): "NST", the port's number. */
        const uint8_t mac[VNET_MAC_LEN] = { 0x02, 'N', 'S', 'T', 0, (uint8_t)(p + 1) };
        memcpy(d->mac, mac, sizeof mac);
        d->port = p;
        d->tx = transmit;
        d->tx_ctx = s;
    }
    sw_init(&s->sw, s->n_ports, deliver, s);
}

static net_reply_t setup(net_server_t *s, unsigned p, const net_msg_t *m)
{
    net_port_t *pt = &s->ports[p];
    uint8_t *ram = NULL;
    pt->dev.emit = s->emit;
    if (!s->setup(s->ctx, p, m, &ram, &pt->dev.ram_bytes) || !vnet_init(&pt->dev, ram)) {
        char text[160];
        fmt_snprintf(text, sizeof text, "vm %s: the VM handed over is not usable (%lu bytes of "
                     "RAM, frames of 2^%lu)", pt->dev.vm, (unsigned long)m->mr[DS_SETUP_MR_RAM_BYTES],
                     (unsigned long)m->mr[DS_SETUP_MR_FRAME_BITS]);
        say(s, text);
        return (net_reply_t){ .label = DS_REFUSED };   /* its CNode deleted: the slot serves again */
    }
    pt->live = true;
    pt->resuming = s->restarted;
    s->waiting--;
    const uint8_t *mac = pt->dev.mac;
    unsigned n = (unsigned)m->mr[DS_SETUP_MR_DEVICE];
    char text[192];
    fmt_snprintf(text, sizeof text, "port %u: serving vm %s's virtio device %u (MMIO 0x%lx, IRQ %u, "
                 "%lu MiB of RAM mapped), MAC %02x:%02x:%02x:%02x:%02x:%02x", p, pt->dev.vm, n,
                 (unsigned long)vm_virtio_base(n), vm_virtio_irq(n),
                 (unsigned long)(pt->dev.ram_bytes >> 20), mac[0], mac[1], mac[2], mac[3], mac[4],
                 mac[5]);
    say(s, text);
    return (net_reply_t){ .label = DS_OK, .cap_taken = true };
}

/* Port @p's driver reset its device after using it: what it did. */
static void report(net_server_t *s, unsigned p)
{
    const net_port_t *pt = &s->ports[p];
    const vnet_t *d = &pt->dev;
    char text[224];
    fmt_snprintf(text, sizeof text, "port %u (vm %s) reset: sent %lu frames (%lu bytes), "
                 "received %lu (%lu bytes), %lu refused, %lu dropped, %lu kicks, %lu accesses, "
                 "%lu signals", p, d->vm, d->tx_frames, d->tx_bytes, d->rx_frames, d->rx_bytes,
                 d->tx_refused, d->rx_dropped, d->kicks, d->accesses, pt->signals);
    say(s, text);
    fmt_snprintf(text, sizeof text, "switch: %lu forwarded, %lu flooded, %lu filtered, %lu learnt, "
                 "%lu moved", s->sw.forwarded, s->sw.flooded, s->sw.filtered, s->sw.learnt,
                 s->sw.moved);
    say(s, text);
}

/* Raise the line of every port but @except that went up since its VMM
 * last heard (devsrv.h DS_GRANT_IRQ: one signal per rise). */
static void signal_others(net_server_t *s, unsigned except)
{
    for (unsigned q = 0; q < s->n_ports; q++) {
        net_port_t *o = &s->ports[q];
        if (q == except || !o->live || o->held || o->resuming || o->told || !vnet_irq(&o->dev))
            continue;
        o->told = true;
        o->signals++;
        s->signal(s->ctx, q);
    }
}

bool net_port_access(net_server_t *s, unsigned p, bool write, uint64_t offset, uint64_t size,
                     uint32_t *value, uint32_t wvalue)
{
    net_port_t *pt = &s->ports[p];
    pt->held = false;                   /* its VM runs again (a doorbell exit comes only so) */
    bool was_live = pt->dev.dev.status & VIRTIO_STATUS_DRIVER_OK;
    bool ok = vnet_access(&pt->dev, write, offset, size, value, wvalue);
    if (was_live && pt->dev.dev.status == 0)
        report(s, p);
    signal_others(s, p);
    return ok;
}

net_reply_t net_serve(net_server_t *s, const net_msg_t *m)
{
    char why[96];
    unsigned p = (unsigned)(m->badge - NET_BADGE_PORT_BASE);
    if (m->badge < NET_BADGE_PORT_BASE || p >= s->n_ports) {
        fmt_snprintf(why, sizeof why, "badge 0x%lx names no port", (unsigned long)m->badge);
        return refuse(s, why);
    }
    net_port_t *pt = &s->ports[p];
    net_reply_t r = { 0 };
    pt->held = false;                   /* its VMM calls again: the image is written */
    if (m->label == 0 && m->caps == 1 && !pt->live) {
        /* devsrv.h DS_BADGE_SETUP: the VMM's mint kept init's badge. */
        r = setup(s, p, m);
    } else if ((m->label == DS_REQ_READ || m->label == DS_REQ_WRITE) && m->caps == 0 &&
               pt->live) {
        bool ok = net_port_access(s, p, m->label == DS_REQ_WRITE, m->mr[0], m->mr[1],
                                  &r.value, (uint32_t)m->mr[2]);
        r.label = ok ? DS_OK : DS_REFUSED;
        r.cap_taken = false;
    } else if (m->label == DS_REQ_RESUME && m->caps == 0 && pt->live) {
        /* A restarted instance (devsrv.h): the port's VMM replayed its
         * driver's writes; the rings are taken up from guest memory. */
        pt->resuming = false;
        const uint64_t sent = pt->dev.tx_frames;
        r = (net_reply_t){ .label = DS_OK, .value = vnet_resume(&pt->dev, (uint32_t)m->mr[0]) };
        char text[128];
        fmt_snprintf(text, sizeof text, "port %u (vm %s): resumed, %u chains available, %lu "
                     "frames sent", p, pt->dev.vm, r.value,
                     (unsigned long)(pt->dev.tx_frames - sent));
        say(s, text);
        signal_others(s, p);
    } else if (m->label == DS_REQ_SAVE && m->caps == 0 && pt->live) {
        /* A checkpoint (devsrv.h): exported, then held until the VMM's
         * next call (frames for the port dropped meanwhile, as on a wire). */
        bool ok = vnet_save(&pt->dev, &s->saved);
        r = (net_reply_t){ .label = ok ? DS_OK : DS_REFUSED, .state = ok };
        pt->held = ok;
    } else if (m->label == DS_REQ_LOAD && m->caps == 0 && pt->live) {
        unsigned e = m->state ? vnet_load(&pt->dev, m->state) : DS_STATE_E_VERSION;
        r = (net_reply_t){ .label = e ? DS_REFUSED : DS_OK, .value = e };
    } else if (m->label == DS_REQ_DOORBELL && pt->live) {
        /* The doorbell (devsrv.h): main.c takes its page before this; one
         * it could not take (no page, a second offer) is refused here, not
         * logged, and the accesses keep coming through the VMM. */
        return (net_reply_t){ .label = DS_REFUSED };
    } else {
        fmt_snprintf(why, sizeof why, "port %u: label 0x%x with %u capabilities %s", p, m->label,
                     m->caps, pt->live ? "(not an access)" : "before its setup");
        return refuse(s, why);
    }
    r.level = pt->live && vnet_irq(&pt->dev);
    pt->told = r.level;
    return r;
}
