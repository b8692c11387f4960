/*
 * device-servers/common/blk_client.c - blk_proto.h for clients
 * (blk_client.h): the requests, and a restarted server's reconnection and
 * replay. The kernel's part is blk_kernel (blk_client_nu.c), so the host
 * unit tests run this file as it is (tests/unit/test_blk_client.c).
 */
#include <blk_client.h>
#include <stddef.h>

/* One call: @label with @n_mrs MRs (and @cap if not 0); the reply's label,
 * its MRs in @r; BLK_E_NO_SERVER when the call itself failed. */
static int call_once(blk_conn_t *c, uint64_t label, const uint64_t *mr, unsigned n_mrs,
                     nestor_cptr_t cap, uint64_t r[BLK_CLIENT_MRS])
{
    uint64_t m[BLK_CLIENT_MRS] = { 0 };
    for (unsigned i = 0; i < n_mrs && i < BLK_CLIENT_MRS; i++)
        m[i] = mr[i];
    if (!blk_kernel.call(c->ep, &label, m, &n_mrs, cap))
        return BLK_E_NO_SERVER;
    for (unsigned i = 0; i < BLK_CLIENT_MRS; i++)
        r[i] = i < n_mrs ? m[i] : 0;                /* MRs the reply has not: 0 */
    if (label == BLK_E_IO)
        c->last_error = r[0];
    return label < BLK_E_COUNT ? (int)label : BLK_E_BAD_REQUEST;
}

/* The server behind c->ep is gone: its new instance from init (its
 * capability in the old one's slot), with our buffer attached again (a
 * new instance knows none). Bounded: each round needs an instance newer
 * than the last, and init restarts a server a few times only. */
static bool reconnect(blk_conn_t *c)
{
    uint64_t restarts;
    while (blk_kernel.reconnect(c->ep, c->instance, &restarts) && restarts > c->instance) {
        c->instance = restarts;
        c->reconnects++;
        if (!c->frame)
            return true;
        uint64_t r[BLK_CLIENT_MRS];
        int e = call_once(c, BLK_REQ_ATTACH, NULL, 0, c->frame, r);
        if (e == BLK_OK)
            return r[0] == c->buf_bytes;
        if (e != BLK_E_NO_SERVER)
            return false;
        /* ... the new instance is gone too: ask for the next one. */
    }
    return false;
}

/* A request, sent again at the server's new instance if the call failed
 * because it was restarted (every request is idempotent: blk_proto.h). */
static int call(blk_conn_t *c, uint64_t label, const uint64_t *mr, unsigned n_mrs,
                nestor_cptr_t cap, uint64_t r[BLK_CLIENT_MRS])
{
    int e;
    while ((e = call_once(c, label, mr, n_mrs, cap, r)) == BLK_E_NO_SERVER && reconnect(c))
        c->replays++;
    return e;
}

static int info(blk_conn_t *c)
{
    uint64_t r[BLK_CLIENT_MRS];
    int e = call(c, BLK_REQ_INFO, NULL, 0, 0, r);
    if (e == BLK_OK) {
        c->sectors = r[BLK_INFO_MR_SECTORS];
        c->max_sectors = r[BLK_INFO_MR_MAX_SECTORS];
    }
    return e;
}

int blk_connect(blk_conn_t *c, nestor_cptr_t ep)
{
    *c = (blk_conn_t){ .ep = ep };
    return info(c);
}

int blk_attach(blk_conn_t *c, nestor_cptr_t frame)
{
    uint64_t r[BLK_CLIENT_MRS];
    int e = call(c, BLK_REQ_ATTACH, NULL, 0, frame, r);
    c->buf_bytes = e == BLK_OK ? r[0] : 0;
    c->frame = e == BLK_OK ? frame : 0;
    return e == BLK_OK ? info(c) : e;
}

/* A READ or WRITE; a reply moving other than @count sectors is no success. */
static int rw(blk_conn_t *c, uint64_t label, uint64_t sector, uint64_t count, uint64_t offset)
{
    const uint64_t mr[BLK_RW_MRS] = { [BLK_RW_MR_SECTOR] = sector, [BLK_RW_MR_COUNT] = count,
                                      [BLK_RW_MR_OFFSET] = offset };
    uint64_t r[BLK_CLIENT_MRS];
    int e = call(c, label, mr, BLK_RW_MRS, 0, r);
    return e == BLK_OK && r[0] != count ? BLK_E_BAD_REQUEST : e;
}

int blk_read(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset)
{
    return rw(c, BLK_REQ_READ, sector, count, offset);
}

int blk_write(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset)
{
    return rw(c, BLK_REQ_WRITE, sector, count, offset);
}

int blk_flush(blk_conn_t *c)
{
    uint64_t r[BLK_CLIENT_MRS];
    return call(c, BLK_REQ_FLUSH, NULL, 0, 0, r);
}

int blk_vm_info(blk_conn_t *c, uint64_t *sectors, uint64_t *chunk_sectors, uint64_t *chunks)
{
    uint64_t r[BLK_CLIENT_MRS];
    int e = call(c, BLK_REQ_VM_INFO, NULL, 0, 0, r);
    if (e == BLK_OK) {
        *sectors = r[BLK_VM_INFO_MR_SECTORS];
        *chunk_sectors = r[BLK_VM_INFO_MR_CHUNK];
        *chunks = r[BLK_VM_INFO_MR_CHUNKS];
    }
    return e;
}

int blk_vm_read(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset)
{
    return rw(c, BLK_REQ_VM_READ, sector, count, offset);
}

int blk_vm_write(blk_conn_t *c, uint64_t sector, uint64_t count, uint64_t offset)
{
    return rw(c, BLK_REQ_VM_WRITE, sector, count, offset);
}

int blk_vm_dirty(blk_conn_t *c, uint64_t from, uint64_t how, uint64_t *next)
{
    const uint64_t mr[BLK_VM_DIRTY_MRS] = { [BLK_VM_DIRTY_MR_FROM] = from,
                                            [BLK_VM_DIRTY_MR_HOW] = how };
    uint64_t r[BLK_CLIENT_MRS];
    int e = call(c, BLK_REQ_VM_DIRTY, mr, BLK_VM_DIRTY_MRS, 0, r);
    if (e == BLK_OK)
        *next = r[0];
    return e;
}
