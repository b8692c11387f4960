/*
 * device-servers/include/blk_proto.h - the block server's protocol for
 * monitors (the pager's swap, the checkpoint monitor's images): how a
 * client reads and writes sectors of its own partition of the disk the
 * block server ("nestor,blk", device-servers/blk/) drives.
 *
 * STABLE: other monitors build on this header. Add labels or error codes
 * at the end; never renumber.
 *
 * Who may call. Init gives each client monitor named by the server's config
 * (a monitor node's 'blk = <&SERVER FIRST COUNT>', stack-configs/BINDINGS.md)
 * a send capability to the server's endpoint, badged BLK_BADGE_CLIENT(i),
 * as the grant named BLK_GRANT_NAME ("blk"); the server learns client i's
 * partition (its first sector and sector count) from its own command line,
 * never from the client. A client therefore sees only its partition:
 * sector 0 of a request is the partition's first sector, and every request
 * is checked against the partition's size before the disk is touched.
 *
 * Data travels through one buffer frame per client, shared with the
 * server: BLK_REQ_ATTACH hands the server a capability to a frame of the
 * client's (4 KiB or 2 MiB; the server asks the kernel which), which the
 * server maps read/write and keeps until the client attaches another. Then
 * READ copies sectors from the disk into the buffer, WRITE from the buffer
 * to the disk. Each request is synchronous: the reply comes when the data
 * is in the buffer (READ) or was handed to the disk (WRITE; FLUSH makes it
 * durable).
 *
 * Messages (label, MRs -> reply label, MRs). The reply label is BLK_OK or
 * one of the BLK_E_* codes; on an error nothing was read or written.
 *
 *   BLK_REQ_INFO    -                         -> MR0 partition size in sectors,
 *                                                MR1 sector size (BLK_SECTOR_SIZE),
 *                                                MR2 sectors one request may move
 *                                                    (the attached buffer's; 0 if none)
 *   BLK_REQ_ATTACH  cap 0: a frame            -> MR0 buffer size in bytes
 *   BLK_REQ_READ    MR0 first sector (in the partition), MR1 sector count (>= 1),
 *                   MR2 byte offset in the buffer (a multiple of BLK_SECTOR_SIZE)
 *                                             -> MR0 sectors read
 *   BLK_REQ_WRITE   as READ                   -> MR0 sectors written
 *   BLK_REQ_FLUSH   -                         -> - (the disk's write cache is flushed)
 *
 * The VM's disk, for the checkpoint monitor of the VM this server serves
 * (init names that client on the server's command line, blk.ckpt=N; any
 * other client is refused with BLK_E_NOT_VM; to BLK_REQ_VM_INFO that is
 * an answer, neither logged nor counted as a refusal: how a checkpoint
 * monitor learns whether its VM's disk is served to it). Its disk goes
 * into the images, and a restore writes it back (checkpoint/README.md
 * "The disk"):
 *
 *   BLK_REQ_VM_INFO  -                        -> MR0 the VM disk's size in sectors,
 *                                                MR1 sectors a written-flag covers (a chunk:
 *                                                    the least power of two >= BLK_VM_CHUNK_MIN
 *                                                    giving at most BLK_VM_MAX_CHUNKS),
 *                                                MR2 chunks (the last one may be cut short)
 *   BLK_REQ_VM_READ  as READ, on the VM's disk -> MR0 sectors read
 *   BLK_REQ_VM_WRITE as WRITE, on the VM's disk (sets no written-flag) -> MR0 sectors written
 *   BLK_REQ_VM_DIRTY MR0 first chunk, MR1 BLK_VM_DIRTY_TAKE or BLK_VM_DIRTY_CLEAR
 *                                             -> MR0 (TAKE) the first chunk from MR0 on the VM
 *                                                wrote since its flag was last cleared, its flag
 *                                                now clear; the chunk count if none. (CLEAR)
 *                                                every flag cleared, MR0 0.
 *
 * Errors (said in the server's log, the first 16 per client, then only
 * counted):
 *   BLK_E_BAD_REQUEST  unknown label, wrong number of MRs or capabilities
 *   BLK_E_NO_BUFFER    READ/WRITE before a buffer was attached
 *   BLK_E_BAD_BUFFER   ATTACH with a capability that is no frame the server can map
 *   BLK_E_RANGE        sectors beyond the partition's end
 *   BLK_E_OVERFLOW     first + count wraps 64 bits
 *   BLK_E_ALIGN        buffer offset not a multiple of the sector size
 *   BLK_E_TOO_BIG      count 0, or the sectors do not fit the buffer from its offset
 *   BLK_E_IO           the disk reported an error (its ATA error register in MR0)
 *   BLK_E_NO_DISK      the server has no usable disk (or the partition is not on it)
 *   BLK_E_NOT_VM       a BLK_REQ_VM_* from a client that is not the checkpoint monitor of
 *                      the server's VM, or the server serves no VM disk
 *
 * A restarted server (device-servers/README.md "Restart"): when the block
 * server dies, init starts a fresh instance on a fresh endpoint; every
 * capability to the old one is gone, so a client's call fails (the
 * kernel's NESTOR_ERR_DELETED, or an invalid capability). The client then
 * asks init, on its parent endpoint (nestor_bootinfo_t parent_ep):
 *
 *   BLK_INIT_RECONNECT  MR0 the server's restarts the client knows of
 *                       (0: the first instance)
 *                       -> BLK_OK, cap 0: a send capability to the new
 *                          instance badged as before (BLK_BADGE_CLIENT(i)),
 *                          MR0 the server's restarts; or BLK_E_NO_SERVER:
 *                          the caller is no client the config names, or
 *                          its server was not restarted since MR0.
 *
 * The new instance knows no buffer: the client attaches its frame again,
 * then sends the request that failed once more. Every request is
 * idempotent (a READ reads the same sectors into the same place, a WRITE
 * writes the same bytes, which stay in the client's buffer until the
 * reply), so one cut short by the crash is simply replayed; a reply
 * already received was for data read, or handed to the disk, by the old
 * instance: the process died, not the disk.
 * BLK_REQ_VM_DIRTY takes flags, but a replay loses none: a restarted
 * instance starts with every chunk's flag set (a full disk part next).
 *
 * device-servers/include/blk_client.h wraps these messages for a client,
 * the reconnection included.
 */
#ifndef BLK_PROTO_H
#define BLK_PROTO_H

#define BLK_SECTOR_SIZE      512u
#define BLK_SECTOR_BITS      9

/* Client badges: client i of the server's config (0..BLK_MAX_CLIENTS-1).
 * Distinct from devsrv.h's DS_BADGE_SETUP/DS_BADGE_MMIO (the VMM's). */
#define BLK_BADGE_CLIENT_BASE 0xB100u
#define BLK_BADGE_CLIENT(i)   (BLK_BADGE_CLIENT_BASE + (i))
#define BLK_MAX_CLIENTS       4

/* The grant name a client finds its send capability under (nu_grant). */
#define BLK_GRANT_NAME       "blk"

/* Request labels. */
#define BLK_REQ_INFO         0x4249     /* "BI" */
#define BLK_REQ_ATTACH       0x4241     /* "BA" */
#define BLK_REQ_READ         0x4252     /* "BR" */
#define BLK_REQ_WRITE        0x4257     /* "BW" */
#define BLK_REQ_FLUSH        0x4246     /* "BF" */
/* To init (above), not to the server: a restarted server's new endpoint. */
#define BLK_INIT_RECONNECT   0x4243     /* "BC" */
#define BLK_RECONNECT_MRS    1
#define BLK_REQ_VM_INFO      0x4269     /* "Bi" */
#define BLK_REQ_VM_READ      0x4272     /* "Br" */
#define BLK_REQ_VM_WRITE     0x4277     /* "Bw" */
#define BLK_REQ_VM_DIRTY     0x4264     /* "Bd" */

#define BLK_VM_INFO_MR_SECTORS 0
#define BLK_VM_INFO_MR_CHUNK 1
#define BLK_VM_INFO_MR_CHUNKS 2
#define BLK_VM_DIRTY_MR_FROM 0
#define BLK_VM_DIRTY_MR_HOW  1
#define BLK_VM_DIRTY_MRS     2
#define BLK_VM_DIRTY_TAKE    1
#define BLK_VM_DIRTY_CLEAR   2
#define BLK_VM_CHUNK_MIN     8          /* sectors: a chunk is at least 4 KiB */
#define BLK_VM_MAX_CHUNKS    32768u     /* a VM disk's chunks at most (larger chunks beyond) */

#define BLK_RW_MR_SECTOR     0
#define BLK_RW_MR_COUNT      1
#define BLK_RW_MR_OFFSET     2
#define BLK_RW_MRS           3

#define BLK_INFO_MR_SECTORS  0
#define BLK_INFO_MR_SECTOR_SIZE 1
#define BLK_INFO_MR_MAX_SECTORS 2
#define BLK_INFO_MRS         3

/* Reply labels. */
#define BLK_OK               0
#define BLK_E_BAD_REQUEST    1
#define BLK_E_NO_BUFFER      2
#define BLK_E_BAD_BUFFER     3
#define BLK_E_RANGE          4
#define BLK_E_OVERFLOW       5
#define BLK_E_ALIGN          6
#define BLK_E_TOO_BIG        7
#define BLK_E_IO             8
#define BLK_E_NO_DISK        9
#define BLK_E_NO_SERVER      10     /* never a reply: blk_client.h's code for a call
                                       that failed (no server behind the capability) */
#define BLK_E_NOT_VM         11
#define BLK_E_COUNT          12

#endif
