/*
 * device-servers/net/server.h - the network server's dispatch (server.c),
 * apart from its IPC so that the host unit tests drive it as main.c does
 * (tests/unit/test_devsrv_net.c): one virtio-net device (vnet.h) per port,
 * the switch (switch.h) between them, and the protocol of devsrv.h per
 * port, the port named by the message's badge (net_proto.h).
 *
 * What needs the kernel comes through two callbacks: @setup maps a VM's
 * RAM from a setup call (main.c: ds_map_ram, ds_signal_cap) and @signal
 * raises a port's line between its VMM's accesses (DS_GRANT_IRQ).
 */
#ifndef NET_SERVER_H
#define NET_SERVER_H
#include "switch.h"
#include "vnet.h"
#include <net_proto.h>
#include <stdbool.h>
#include <stdint.h>

#define NET_LOG_MAX      16     /* refused messages logged, then only counted */
#define NET_MSG_MRS      4

typedef struct {
    vnet_t dev;
    bool live;                  /* set up: its RAM mapped, vnet_init done */
    bool told;                  /* the level its VMM knows (last reply or signal) */
    bool held;                  /* saved (DS_REQ_SAVE): frames for it dropped until its VMM's
                                   next call, so its rings stay as exported */
    bool resuming;              /* a restarted instance's port set up and not yet resumed: its
                                   queues' indexes are not taken up yet, frames for it dropped */
    uint64_t signals;
} net_port_t;

/* A message as received: its badge, label, capabilities and MRs. */
typedef struct {
    uint64_t badge;
    unsigned label, caps;
    uint64_t mr[NET_MSG_MRS];
    const ds_state_t *state;    /* DS_REQ_LOAD: the record its DS_STATE_WORDS words make, or
                                   NULL (another length) */
} net_msg_t;

/* What to answer: label (DS_OK, DS_REFUSED), MR0 the value read, the
 * port's line; cap_taken: the message's capability was kept (a setup),
 * else any it brought is to be deleted. */
typedef struct {
    unsigned label;
    uint32_t value;
    bool level, cap_taken;
    bool state;                 /* DS_REQ_SAVE's DS_OK: the reply is net_server_t.saved */
} net_reply_t;

typedef struct net_server net_server_t;
struct net_server {
    char name[VNET_NAME_MAX];
    net_port_t ports[NET_MAX_PORTS];
    unsigned n_ports, waiting;  /* ports, those not set up yet */
    bool restarted;             /* an instance init restarted: ports wait for DS_REQ_RESUME */
    sw_t sw;
    unsigned logged;
    uint64_t refused;
    ds_state_t saved;           /* the last DS_REQ_SAVE's export */
    void (*emit)(const char *text);
    void *ctx;
    /* Map port @port's VM from setup message @m: its RAM (guest-physical
     * 0) into *@ram, *@bytes long; false if refused. */
    bool (*setup)(void *ctx, unsigned port, const net_msg_t *m, uint8_t **ram, uint64_t *bytes);
    /* Port @port's line went up between its VMM's accesses. */
    void (*signal)(void *ctx, unsigned port);
};

/* The server @name with ports for the VMs @vms[0..@n_ports-1] (callbacks
 * set after). Port P's MAC: 02:4e:53:54:00:P+1. */
void net_server_init(net_server_t *s, const char *name, unsigned n_ports,
                     const char *const *vms);

/* Serve one message. */
net_reply_t net_serve(net_server_t *s, const net_msg_t *m);

/* Port @p's guest's access to its device (a forwarded one, or one its
 * doorbell brought: main.c), as net_serve serves DS_REQ_READ/WRITE: the
 * device's register file (@wvalue written, *@value read), a reset after
 * use reported, other ports' lines raised. False: refused. */
bool net_port_access(net_server_t *s, unsigned p, bool write, uint64_t offset, uint64_t size,
                     uint32_t *value, uint32_t wvalue);

#endif
