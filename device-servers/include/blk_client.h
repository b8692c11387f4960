/*
 * device-servers/include/blk_client.h - the client side of blk_proto.h, for
 * monitors that keep data on a block server's partition (the pager's swap,
 * the checkpoint monitor's images). Link nestor.devsrv_blk_client
 * (device-servers/common/blk_client.c and blk_client_nu.c).
 *
 * Use: find the grant BLK_GRANT_NAME in the boot info (nu_grant), call
 * blk_connect with its capability, map a frame of your own and hand it over
 * with blk_attach, then move sectors between the partition and that frame
 * with blk_read/blk_write (sector numbers are the partition's, offsets
 * the frame's) and make them durable with blk_flush. Each call returns
 * BLK_OK or a BLK_E_* code; BLK_E_NO_SERVER when the call itself failed.
 * One thread per connection: the calls use the caller's IPC buffer.
 *
 * A restarted server (blk_proto.h BLK_INIT_RECONNECT): when a call fails,
 * the library asks init (nu_parent_ep) for the server's new instance, its
 * badged capability landing in the old one's slot, attaches the buffer
 * again and sends the request once more (each is idempotent); the caller
 * sees only a slower call, counted in @reconnects and @replays. Only if
 * init has no new instance for it does a call return BLK_E_NO_SERVER.
 * A READ or WRITE whose reply says other than the sectors asked for
 * returns BLK_E_BAD_REQUEST (a server outside the protocol).
 */
#ifndef BLK_CLIENT_H
#define BLK_CLIENT_H
#include <blk_proto.h>
#include <stdbool.h>
#include <stdint.h>
#include <nestor/types.h>

typedef struct {
    nestor_cptr_t ep;               /* the badged send capability */
    uint64_t sectors;               /* the partition's size */
    uint64_t max_sectors;           /* sectors one request may move (the buffer's) */
    uint64_t buf_bytes;             /* the attached buffer's size (0: none) */
    uint64_t last_error;            /* BLK_E_IO: the disk's error (MR0 of the reply) */
    nestor_cptr_t frame;            /* the attached buffer's capability (0: none) */
    uint64_t instance;              /* the server's restarts we know of (0: its first) */
    uint64_t reconnects, replays;   /* new instances taken; requests sent again */
} blk_conn_t;

/* Ask the server for the partition's size (BLK_REQ_INFO). */
int blk_connect(blk_conn_t *c, nestor_cptr_t ep);
/* Hand the server @frame (4 KiB or 2 MiB, mapped read/write by the caller
 * too) as the buffer; any earlier one is dropped. */
int blk_attach(blk_conn_t *c, nestor_cptr_t frame);
/* @count sectors at partition sector @sector from/to the buffer at byte
 * @offset (a multiple of BLK_SECTOR_SIZE). */
int blk_read(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset);
int blk_write(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset);
int blk_flush(blk_conn_t *c);

/*
 * The kernel's part (common/blk_client_nu.c; the unit tests link a fake
 * of their own, tests/unit/test_blk_client.c), so that the logic above,
 * the reconnection and replay among it, runs on the host too.
 */
typedef struct {
    /* One call on @ep: *@label and @mr[0..*@n_mrs) out (with capability
     * @cap if not 0), the reply's label, MRs and MR count back in them
     * (at most BLK_CLIENT_MRS). False if the call failed: no server. */
    bool (*call)(nestor_cptr_t ep, uint64_t *label, uint64_t *mr, unsigned *n_mrs,
                 nestor_cptr_t cap);
    /* blk_proto.h BLK_INIT_RECONNECT to init, MR0 @known; its capability
     * into slot @slot (whatever was left there deleted first). True, with
     * *@restarts init's MR0, if init gave one. */
    bool (*reconnect)(nestor_cptr_t slot, uint64_t known, uint64_t *restarts);
} blk_kernel_t;
#define BLK_CLIENT_MRS       BLK_INFO_MRS
extern const blk_kernel_t blk_kernel;

/* The VM's disk (blk_proto.h BLK_REQ_VM_*), for the checkpoint monitor of
 * the server's VM only (BLK_E_NOT_VM for anyone else): its size, chunk
 * size (sectors a written-flag covers) and chunk count; sectors moved as
 * blk_read/blk_write; the next chunk written from @from on (its flag
 * cleared; the chunk count if none) or, with BLK_VM_DIRTY_CLEAR, every
 * flag cleared. */
int blk_vm_info(blk_conn_t *c, uint64_t *sectors, uint64_t *chunk_sectors, uint64_t *chunks);
int blk_vm_read(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset);
int blk_vm_write(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset);
int blk_vm_dirty(blk_conn_t *c, uint64_t from, uint64_t how, uint64_t *next);

#endif
