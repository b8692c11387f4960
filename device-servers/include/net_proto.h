/*
 * device-servers/include/net_proto.h - the network server ("nestor,net",
 * device-servers/net/) as init, the config checker and the VMMs see it.
 *
 * One server serves one virtio-net device of each VM whose 'virtio' names
 * it (at most NET_MAX_PORTS VMs), and switches frames between them. Each
 * VM is a port of the switch, numbered in the config's VM order. Init
 * starts the server with "net.portP=VM" for each port P on its command
 * line and gives the VMM of VM the server's endpoint badged
 * NET_BADGE_PORT(P) (grant named after the server, arg0 the VM's index in
 * the config: a VMM running two VMs on one server tells their grants
 * apart). A badge never changes once set (the kernel's mint keeps it), so
 * the VMM's DS_BADGE_SETUP/DS_BADGE_MMIO mints of that capability keep
 * init's badge: a VMM can only ever speak for its own VM's port, never
 * for another VM's. The server tells the setup call (devsrv.h: label 0,
 * one capability) from forwarded accesses (DS_REQ_READ/WRITE) by label.
 */
#ifndef NET_PROTO_H
#define NET_PROTO_H

#define NET_MAX_PORTS          8
#define NET_BADGE_PORT_BASE    0x4E00u          /* "N" */
#define NET_BADGE_PORT(p)      (NET_BADGE_PORT_BASE + (p))
#define NET_PORT_OPT           "net.port"       /* "net.port0=VM" */

#endif
