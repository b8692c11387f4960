/* device-servers/common/blk_client.c - blk_proto.h for clients (blk_client.h). */
#include <blk_client.h>
#include <stddef.h>
#include <user/sys.h>

/* One call: @label with @n_mrs MRs (and @cap if not 0); the reply's label,
 * its MRs in *@r. */
static int call(blk_conn_t *c, uint64_t label, const uint64_t *mr, unsigned n_mrs,
                nestor_cptr_t cap, nu_msg_t *r)
{
    nu_msg_t m = { .info = nestor_msginfo(label, 0, cap ? 1 : 0, n_mrs) };
    for (unsigned i = 0; i < n_mrs; i++)
        m.mr[i] = mr[i];
    if (cap)
        nu_ipc_buffer()->caps_or_badges[0] = cap;
    if (nu_call(c->ep, &m) != NESTOR_OK)
        return BLK_E_NO_SERVER;
    *r = m;
    uint64_t label_back = nestor_msginfo_label(m.info);
    if (label_back == BLK_E_IO)
        c->last_error = m.mr[0];
    return label_back < BLK_E_COUNT ? (int)label_back : BLK_E_BAD_REQUEST;
}

static int info(blk_conn_t *c)
{
    nu_msg_t r;
    int e = call(c, BLK_REQ_INFO, NULL, 0, 0, &r);
    if (e == BLK_OK) {
        c->sectors = r.mr[BLK_INFO_MR_SECTORS];
        c->max_sectors = r.mr[BLK_INFO_MR_MAX_SECTORS];
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
    nu_msg_t r;
    int e = call(c, BLK_REQ_ATTACH, NULL, 0, frame, &r);
    c->buf_bytes = e == BLK_OK ? r.mr[0] : 0;
    return e == BLK_OK ? info(c) : e;
}

static int rw(blk_conn_t *c, uint64_t label, uint64_t sector, uint64_t count, uint64_t offset)
{
    const uint64_t mr[BLK_RW_MRS] = { [BLK_RW_MR_SECTOR] = sector, [BLK_RW_MR_COUNT] = count,
                                      [BLK_RW_MR_OFFSET] = offset };
    nu_msg_t r;
    return call(c, label, mr, BLK_RW_MRS, 0, &r);
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
    nu_msg_t r;
    return call(c, BLK_REQ_FLUSH, NULL, 0, 0, &r);
}

int blk_vm_info(blk_conn_t *c, uint64_t *sectors, uint64_t *chunk_sectors, uint64_t *chunks)
{
    nu_msg_t r;
    int e = call(c, BLK_REQ_VM_INFO, NULL, 0, 0, &r);
    if (e == BLK_OK) {
        *sectors = r.mr[BLK_VM_INFO_MR_SECTORS];
        *chunk_sectors = r.mr[BLK_VM_INFO_MR_CHUNK];
        *chunks = r.mr[BLK_VM_INFO_MR_CHUNKS];
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
    nu_msg_t r;
    int e = call(c, BLK_REQ_VM_DIRTY, mr, BLK_VM_DIRTY_MRS, 0, &r);
    if (e == BLK_OK)
        *next = r.mr[0];
    return e;
}
