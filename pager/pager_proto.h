/*
 * pager/pager_proto.h - how a VMM hands a VM's RAM to the pager stacked
 * right above it (pager/README.md), and what the pager answers.
 *
 * Setup (badge CM_BADGE_SETUP on the pager's endpoint, after the VMM has
 * put the pager's endpoint into an exit table of its own at its level, slot
 * NESTOR_EXIT_EPT_VIOLATION only):
 *   CAP0  the VM's EPT, restricted (NESTOR_EPT_RESTRICT) to the pager's range
 *   MR0   PAGER_SETUP_MR_BASE   first guest-physical byte it owns
 *   MR1   PAGER_SETUP_MR_END    the byte after its last (the end of the VM's RAM)
 *   MR2   PAGER_SETUP_MR_LEVEL  its level of the VCPU's exit tables
 * The VMM has built the EPT tables over the range and mapped nothing in it.
 * Reply label 0: ready; anything else: refused (the VMM stops).
 *
 * Exits: badge CM_BADGE_EXIT, an EPT violation (nestor/vcpu.h exit MRs).
 * Query: badge CM_BADGE_QUERY, at the VM's end: the pager prints its
 * statistics and replies MR0 = faults it served, MR1 = exits passed on,
 * MR2 swap-outs, MR3 swap-ins (PAGER_QUERY_MR_*); the rest is in its line.
 */
#ifndef PAGER_PROTO_H
#define PAGER_PROTO_H

/*
 * The paged range's pages for a checkpoint monitor stacked on the same VM
 * (checkpoint/README.md "Under the pager"): calls badged PAGER_BADGE_PAGES,
 * a capability the VMM mints on the pager's endpoint for that monitor
 * alone, made while the vCPU waits on that monitor's exit. Pages are named
 * by their index in the range (guest-physical base + index * 4 KiB) and go
 * in PAGER_CHUNKS chunks of PAGER_CHUNK_WORDS words from MR
 * PAGER_PAGE_MR_DATA on. Replies: label PAGER_REPLY_OK, or
 * PAGER_REPLY_FAULT (an index past the range, a chunk out of order, a
 * swap I/O error: said in the pager's log).
 *   PAGER_REQ_DIRTY   MR0 first index: from 0, first read and clear the EPT
 *                     accessed/dirty flags of every resident page (SDM Vol.
 *                     3C 28.3.5; a dirty one keeps its frame's "written"
 *                     record for the clock). Reply MR0 n (at most
 *                     PAGER_DIRTY_MAX), MR1 the index to ask from next (the
 *                     range's size when done), MRs 2.. the n pages written
 *                     since the sweep before, from the first index on,
 *                     each forgotten as it is listed.
 *   PAGER_REQ_READ    MR0 index, MR1 chunk: reply MR0 PAGER_PAGE_ZERO (never
 *                     written: no data) or PAGER_PAGE_DATA with the chunk
 *                     (chunk 0 fetches the page: from its frame, or from
 *                     swap without mapping it; later chunks of that page
 *                     come from the copy).
 *   PAGER_REQ_WRITE   MR0 index, MR1 chunk, the chunk's words: staged; the
 *                     last chunk makes the page hold them (its frame if
 *                     resident, else its swap slot, else a frame).
 */
#define PAGER_BADGE_PAGES    0xC3      /* after count_monitor.h's CM_BADGE_* */
#define PAGER_REQ_DIRTY      0x5044    /* "PD" */
#define PAGER_REQ_READ       0x5052    /* "PR" */
#define PAGER_REQ_WRITE      0x5057    /* "PW" */
#define PAGER_REPLY_OK       0
#define PAGER_REPLY_FAULT    1
#define PAGER_PAGE_ZERO      0
#define PAGER_PAGE_DATA      1
#define PAGER_PAGE_MR_INDEX  0
#define PAGER_PAGE_MR_CHUNK  1
#define PAGER_PAGE_MR_DATA   2
#define PAGER_CHUNK_WORDS    64
#define PAGER_CHUNKS         (4096 / (PAGER_CHUNK_WORDS * 8))
#define PAGER_DIRTY_MR_LIST  2
#define PAGER_DIRTY_MAX      100

/*
 * Device DMA into the paged range (pager/README.md "Device DMA"): calls
 * badged PAGER_BADGE_DMA(n), a capability the VMM mints for the device
 * server of the VM's virtio device n alone (in its setup CNode, devsrv.h
 * DS_GRANT_PAGER), with the grant-reply right, so a pin's reply carries a
 * frame capability. MR0 is a guest-physical page address in the range.
 *   PAGER_REQ_PIN     MR1 PAGER_PIN_* flags. The page is made resident
 *                     (zero-filled or read back from swap, mapped in the
 *                     VM's EPT as at a guest fault) and pinned: the clock
 *                     passes over it until it is unpinned. Reply
 *                     PAGER_REPLY_OK with one capability: a copy of its
 *                     frame, read-only unless PAGER_PIN_WRITE (then the
 *                     page counts as written: for swap and for
 *                     PAGER_REQ_DIRTY, as the EPT's dirty flag never sees
 *                     a device's writes), MR0 PAGER_PIN_FROM_* (where its
 *                     contents came from). PAGER_REPLY_FAULT: not a page
 *                     of the range, already pinned by this server, this
 *                     server's pins (PAGER_DMA_PINS_MAX, fewer with few
 *                     frames) all in use, or no frame for it.
 *   PAGER_REQ_UNPIN   the pin goes (a writable one marks the page written
 *                     again); at the page's last unpin every copy of its
 *                     frame but the pager's goes (what the server kept or
 *                     copied on, unmapped with it; the VM's EPT mapping is
 *                     made again). PAGER_REPLY_FAULT if not pinned.
 *   PAGER_REQ_UNPIN_ALL  every pin of this server (a server's first call:
 *                     a restarted one's old pins go). Reply MR0: the pins
 *                     this server may hold at once (PAGER_DMA_PINS_MAX, or
 *                     fewer: all servers together pin at most half the
 *                     pager's frames).
 */
#define PAGER_BADGE_DMA(n)   (0xC4 + (n))   /* n < PAGER_DMA_SERVERS: device n of the VM */
#define PAGER_DMA_SERVERS    4               /* VM_VIRTIO_MAX */
#define PAGER_DMA_PINS_MAX   32              /* per server: virtio_ram.h VIRTIO_RAM_PINS_MAX */
#define PAGER_REQ_PIN        0x5050    /* "PP" */
#define PAGER_REQ_UNPIN      0x5055    /* "PU" */
#define PAGER_REQ_UNPIN_ALL  0x5041    /* "PA" */
#define PAGER_PIN_MR_GPA     0
#define PAGER_PIN_MR_FLAGS   1
#define PAGER_PIN_MRS        2
#define PAGER_PIN_WRITE      0x1u
#define PAGER_PIN_FROM_FRAME 0         /* it was resident */
#define PAGER_PIN_FROM_ZERO  1         /* never written: a zeroed frame */
#define PAGER_PIN_FROM_SWAP  2         /* read back from swap */


#define PAGER_SETUP_MR_BASE  0
#define PAGER_SETUP_MR_END   1
#define PAGER_SETUP_MR_LEVEL 2
#define PAGER_SETUP_MRS      3

#define PAGER_QUERY_MR_FAULTS     0
#define PAGER_QUERY_MR_PASSED     1
#define PAGER_QUERY_MR_SWAP_OUTS  2
#define PAGER_QUERY_MR_SWAP_INS   3
#define PAGER_QUERY_MRS           4

#endif
