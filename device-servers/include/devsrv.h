/*
 * device-servers/include/devsrv.h - how a VMM and a device server talk
 * (device-servers/README.md has the whole protocol and its costs).
 *
 * A device server is a process init starts from the config ("nestor,
 * virtio-console", stack-configs/BINDINGS.md) with its memory budget and
 * one endpoint it serves on; the VMM running the VM that names it in
 * 'virtio' holds a send capability to that endpoint (and nothing else of
 * the server's), and the server holds no capability of the VMM's: it only
 * ever answers calls. The badge of the VMM's capability says what a call
 * is:
 *
 *   DS_BADGE_SETUP   once, before the VM starts. One capability: a CNode of
 *                    radix MR[DS_SETUP_MR_RADIX] the VMM fills with
 *                      DS_GRANT_IRQ       a notification (signal right
 *                                         only): the server signals it when
 *                                         its line goes up between accesses
 *                                         (a completion after the reply,
 *                                         input); the VMM raises the line
 *                                         and injects as its PIC/I/O APIC
 *                                         model says
 *                      DS_GRANT_RAM + i   RAM frame i of the VM, guest-
 *                                         physical i << MR[FRAME_BITS]
 *                      DS_GRANT_PAGER(frames)  with MR[DS_SETUP_MR_PAGED_BYTES]
 *                                         not 0 (a pager owns the VM's RAM
 *                                         from the end of those frames on):
 *                                         a capability to the pager, badged
 *                                         for this device (pager/pager_proto.h
 *                                         PAGER_BADGE_DMA), to pin its pages
 *                                         before touching them
 *                    and nothing else. MRs: the VM's RAM size (the frames'), the frame
 *                    size, the device's number in the VM's 'virtio' (its
 *                    window and IRQ line are the number's, vm_layout.h:
 *                    for the server's log; the VMM routes both). Reply label DS_OK when the server
 *                    mapped the RAM and is ready, anything else refuses.
 *   DS_BADGE_MMIO    a guest access to the device's window (the VMM took
 *                    the EPT violation and decoded the instruction):
 *                    label DS_REQ_READ or DS_REQ_WRITE, MR0 the offset in
 *                    the window, MR1 the size in bytes, MR2 the value
 *                    written. Reply label DS_OK (done) or DS_REFUSED (the
 *                    access broke a rule of the device: it had no effect,
 *                    a read gives 0), MR0 the value read, MR1 DS_REPLY_*
 *                    flags: the level of the device's interrupt line now.
 *                    A kick (a QueueNotify write) is served before the
 *                    reply: the completions and the interrupt they raise
 *                    come back in this one reply.
 *
 * The VMM trusts nothing in a reply: a label it does not know is a broken
 * server (the access reads all ones and the VMM says so once), the value is
 * cut to the access's size, only the defined flag bits count.
 *
 * A restarted server (device-servers/README.md "Restart"): when a call
 * fails because the server is gone (its process deleted by init after a
 * fault, or no answer within the timeout), the VMM asks init for the
 * server's new instance (DS_INIT_RECONNECT below, a call on its parent
 * endpoint). Init answers with a fresh send capability to the new
 * instance's endpoint, or refuses (the server was not restarted). The VMM
 * then makes the setup call again, replays the register writes the old
 * instance accepted (virtio_shadow.h) as DS_REQ_WRITEs, and sends
 *   DS_REQ_RESUME    (badge DS_BADGE_MMIO) MR0 DS_RESUME_* flags: take up
 *                    each ready queue from the used idx in guest memory
 *                    (virtq_resume: chains the old instance took and never
 *                    used are served again) and serve what is available;
 *                    DS_RESUME_IRQ: the line was up, set InterruptStatus's
 *                    used-buffer bit. Reply as to an access, MR0 the chains
 *                    found available.
 * then re-sends the access that failed.
 *
 * A checkpoint (device-servers/README.md "Checkpoints"; the VMM asks at
 * the checkpoint monitor's CKPT_REQ_DEV_SAVE/LOAD, checkpoint/include/
 * ckpt_dev.h), both with badge DS_BADGE_MMIO:
 *   DS_REQ_SAVE      quiesce and export: the server finishes any request
 *                    it holds (none may be in flight: each queue's chains
 *                    taken were all used), flushes what it wrote for the
 *                    VM to its medium (a block server: FLUSH CACHE, so
 *                    every block the guest wrote before the checkpoint is
 *                    on the disk before the image is), and holds (takes
 *                    no chain and signals nothing) until the VMM's next
 *                    call, which comes only once the VM runs again. Reply
 *                    DS_OK with DS_STATE_WORDS words of ds_state_t from
 *                    MR0 on, or DS_REFUSED (a server that cannot: the
 *                    image is not written).
 *   DS_REQ_LOAD      on a fresh device the VMM brought to the image's
 *                    negotiated state by replaying the shadow's writes
 *                    (as for a restart): DS_STATE_WORDS words of a
 *                    ds_state_t from MR0 on, taken after every check
 *                    (ds_state_import). Reply DS_OK as to an access (MR1
 *                    the line's level), or DS_REFUSED with MR0 a
 *                    DS_STATE_E_* (the device is then as the replay left
 *                    it; the VMM stops the VM).
 *
 * The doorbell (device-servers/README.md "Doorbell"; the kernel's side:
 * nestor/vcpu.h "Doorbells"). After the setup the VMM offers it:
 *   DS_REQ_DOORBELL  (badge DS_BADGE_MMIO) one capability, a 4 KiB frame
 *                    the kernel writes the vCPU's state into at the
 *                    doorbell's exits (nestor_vcpu_state_t at its start)
 *                    and whose ds_doorbell_note_t (at DS_DOORBELL_NOTE) the
 *                    server writes for the VMM. Reply DS_OK: the server
 *                    takes the exits; anything else: it does not, and every
 *                    access goes through the VMM as above.
 * On DS_OK the VMM has the kernel send the guest's accesses to
 * [DS_DOORBELL_FIRST, DS_DOORBELL_END) of the window straight to the
 * server as exit messages (badge DS_BADGE_DOORBELL): the kick and the
 * interrupt status and acknowledgement, which hold no state a restart
 * replays. The server decodes the instruction and serves it (a plain MOV
 * of 1, 2 or 4 bytes) and replies RESUME with the registers and RIP
 * written; anything else (another instruction, a fault the guest must get)
 * it passes on to the VMM untouched. An access that moves the device's
 * interrupt line is served and passed on with the note's 'served' set
 * and the line's level in it: the VMM then only sets the line (and
 * injects), without decoding or calling the server again.
 */
#ifndef DEVSRV_H
#define DEVSRV_H
#include <stddef.h>
#include <stdint.h>
#include <virtq.h>
#include <virtio_abi.h>

#define DS_BADGE_SETUP       0xD5
#define DS_BADGE_MMIO        0xD6
#define DS_BADGE_DOORBELL    0xD7     /* the kernel's doorbell exits (above) */

#define DS_GRANT_IRQ         0       /* signal: "my interrupt line is asserted" */
#define DS_GRANT_RAM         1
#define DS_GRANT_PAGER(frames) (DS_GRANT_RAM + (frames))

#define DS_SETUP_MR_RADIX     0
#define DS_SETUP_MR_RAM_BYTES 1
#define DS_SETUP_MR_FRAME_BITS 2
#define DS_SETUP_MR_DEVICE    3       /* its window and IRQ line follow (vm_layout.h) */
#define DS_SETUP_MR_PAGED_BYTES 4     /* RAM a pager owns after the frames' (0: none) */
#define DS_SETUP_MRS          5

#define DS_REQ_READ          0x5244     /* "RD" */
#define DS_REQ_WRITE         0x5752     /* "WR" */
#define DS_REQ_MRS           3

#define DS_REQ_RESUME        0x5253     /* "RS": a restarted server takes up its rings */
#define DS_REQ_DOORBELL      0x4442     /* "DB": the doorbell's page (above) */

/* The registers of the window the doorbell takes (virtio_abi.h; Virtio 1.2
 * 4.2.2: QueueNotify, InterruptStatus, InterruptACK, and the reserved
 * words between them, which read 0 and drop writes either way). */
#define DS_DOORBELL_FIRST    VIRTIO_MMIO_QUEUE_NOTIFY
#define DS_DOORBELL_END      (VIRTIO_MMIO_INTERRUPT_ACK + VIRTIO_MMIO_REG_SIZE)

/* What the server tells the VMM in the doorbell's page, past the state. */
#define DS_DOORBELL_NOTE     2048u
typedef struct ds_doorbell_note {
    uint32_t served;                 /* 1: the access passed on was served: set the line */
    uint32_t level;                  /* the device's line (DS_REPLY_IRQ_LEVEL) after it */
    uint64_t resumed;                /* doorbell exits the server answered itself (the
                                        VMM adds them to its counts) */
    uint64_t kicks;                  /* QueueNotify writes it served at the doorbell */
} ds_doorbell_note_t;
#define DS_RESUME_IRQ        0x1u       /* MR0: the device's line was up */
#define DS_RESUME_MRS        1

/* The VMM's call to init (its parent endpoint) for a device server's new
 * instance: MR0 the server's restarts it knows of (0: none, the first
 * instance), MR1..DS_NAME_MRS the server's monitor name (NUL-padded, 8
 * bytes a word). Reply DS_OK with one capability (a send right to the new
 * instance's endpoint) and MR0 the server's restarts, or DS_REFUSED (no
 * such server of this VMM's VMs, or not restarted since). */
#define DS_INIT_RECONNECT    0x5243     /* "RC" */
/* A monitor stacked on a device server's VM (its inspector, for gdb's
 * "monitor restart NAME", or its VMM) asks init to kill and restart the
 * server: MR1..DS_NAME_MRS its name as above (MR0 unused). Reply DS_OK,
 * MR0 the server's restarts, or DS_REFUSED (not a server of a VM this
 * monitor is stacked on, or its restarts spent). The VMM finds out at its
 * next call to it (a reconnect), a block server's client monitors at
 * theirs (blk_proto.h BLK_INIT_RECONNECT). */
#define DS_INIT_RESTART      0x5252     /* "RR" */
#define DS_NAME_MRS          4
#define DS_RECONNECT_MRS     (1 + DS_NAME_MRS)

#define DS_REQ_SAVE          0x5356     /* "SV": quiesce and export (a checkpoint) */
#define DS_REQ_LOAD          0x4C44     /* "LD": import (a restore) */

/* DS_INIT_RECONNECT's MR after the name: the config index of the VM whose
 * device it is (a network server serves a port per VM: init badges the new
 * capability with that VM's port, net_proto.h). The VMM sends
 * DS_RECONNECT_VM_MRS words; init checks the VM is that VMM's and names
 * the server. */
#define DS_RECONNECT_MR_VM   (1 + DS_NAME_MRS)
#define DS_RECONNECT_VM_MRS  (DS_RECONNECT_MR_VM + 1)
/* A VMM asks init to be told of its devices' servers' restarts: one
 * capability, a notification (signal right) init signals whenever it
 * restarted a server of one of that VMM's VMs. A VMM whose VM sits idle
 * (halted, waiting for a frame) would otherwise learn of the restart only
 * at its next access, and a network server's other ports would stay
 * unconnected meanwhile. On the signal the VMM asks DS_INIT_RECONNECT for
 * each of its devices (refused for the servers not restarted). Reply DS_OK,
 * or DS_REFUSED (not a VMM, no capability, a second one). */
#define DS_INIT_WATCH        0x5257     /* "RW" */

/* What a server exports (virtio transport state the driver's register
 * writes do not give back): layout version DS_STATE_VERSION. The device's
 * Status (its DEVICE_NEEDS_RESET bit is the device's own, 2.1.2), its
 * InterruptStatus and ConfigGeneration (4.2.2), and each queue's progress
 * through its rings (virtq.h virtq_progress_t). Version 2 adds the device
 * type's own state between requests (dev_version, dev_bytes, dev[]: its
 * layout the device type's, e.g. the console's partial line and pending
 * input, console/console.h con_state_t; none for the block device, which
 * serves each request whole within the kick: 0, 0 and zeros). A version 1
 * state (DS_STATE_V1_BYTES long, from an image written before version 2:
 * the VMM hands it on zero-extended) is taken only by a device type
 * without state of its own. */
#define DS_STATE_VERSION     2
#define DS_STATE_VERSION_1   1
#define DS_STATE_QUEUES      8
#define DS_STATE_DEV_BYTES   384
typedef struct {
    uint32_t version, device_id;    /* DS_STATE_VERSION; the device type (5) */
    uint32_t status, interrupt_status, config_generation;
    uint32_t nqueues;
    virtq_progress_t q[DS_STATE_QUEUES];
    uint32_t dev_version, dev_bytes;            /* version 2: the device type's part */
    uint8_t dev[DS_STATE_DEV_BYTES];            /* dev_bytes of it, zeros after */
} ds_state_t;
#define DS_STATE_V1_BYTES    offsetof(ds_state_t, dev_version)
#define DS_STATE_WORDS       ((sizeof(ds_state_t) + 7) / 8)
/* DS_REQ_LOAD refusals (MR0). */
#define DS_STATE_E_VERSION   1          /* another layout, another device type or queue count */
#define DS_STATE_E_STATUS    2          /* a Status or InterruptStatus the device cannot hold */
#define DS_STATE_E_QUEUE     3          /* a queue's progress refused (virtq_import) */
#define DS_STATE_E_NO_DEVICE 4          /* the server serves no VM yet */
#define DS_STATE_E_DEVICE    5          /* the device type's own part refused */

#define DS_OK                0
#define DS_REFUSED           1
#define DS_REPLY_MRS         2

#define DS_REPLY_IRQ_LEVEL   0x1u       /* MR1: the device's interrupt line is asserted */
#define DS_REPLY_FLAGS       DS_REPLY_IRQ_LEVEL

/* The vendor id our virtio devices show (Virtio 1.2 4.2.2 VendorID: any
 * value; this one reads "NEST" in memory). */
#define DS_VIRTIO_VENDOR     0x5453454Eu

#endif
