/* device-servers/common/blk_client.c - blk_proto.h for clients (blk_client.h). */
#include <blk_client.h>
#include <stddef.h>
#include <user/invoke.h>
#include <user/runtime.h>
#include <user/sys.h>

/* One call: @label with @n_mrs MRs (and @cap if not 0); the reply's label,
 * its MRs in *@r; BLK_E_NO_SERVER when the call itself failed. */
static int call_once(blk_conn_t *c, uint64_t label, const uint64_t *mr, unsigned n_mrs,
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

/* Init's capability to the server's instance after c->instance, into the
 * slot of the old one (revoked with its endpoint: blk_proto.h
 * BLK_INIT_RECONNECT). False if init has none for us. */
static bool ask_init(blk_conn_t *c)
{
    const nestor_cptr_t parent = nu_parent_ep();
    if (!parent)
        return false;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    const nestor_cptr_t cnode = b->receive_cnode, index = b->receive_index;
    const nestor_word_t depth = b->receive_depth;
    nu_cnode_delete(NESTOR_CAP_INIT_CNODE, c->ep, 64);     /* what is left of it, if anything */
    nu_receive_cap_into(c->ep);
    nu_msg_t m = { .info = nestor_msginfo(BLK_INIT_RECONNECT, 0, 0, BLK_RECONNECT_MRS),
                   .mr = { c->instance } };
    const bool ok = nu_call(parent, &m) == NESTOR_OK && nestor_msginfo_label(m.info) == BLK_OK &&
                    nestor_msginfo_extra_caps(m.info) == 1 && m.mr[0] > c->instance;
    b->receive_cnode = cnode;                           /* as the caller had it */
    b->receive_index = index;
    b->receive_depth = depth;
    if (ok)
        c->instance = m.mr[0];
    return ok;
}

/* The server behind c->ep is gone: its new instance, with our buffer
 * attached again (a new instance knows none). Bounded: each round needs
 * a newer instance from init, which restarts a server a few times only. */
static bool reconnect(blk_conn_t *c)
{
    while (ask_init(c)) {
        c->reconnects++;
        if (!c->frame)
            return true;
        nu_msg_t r;
        int e = call_once(c, BLK_REQ_ATTACH, NULL, 0, c->frame, &r);
        if (e == BLK_OK)
            return r.mr[0] == c->buf_bytes;
        if (e != BLK_E_NO_SERVER)
            return false;
        /* ... the new instance is gone too: ask for the next one. */
    }
    return false;
}

/* A request, sent again at the server's new instance if the call failed
 * because it was restarted (every request is idempotent: blk_proto.h). */
static int call(blk_conn_t *c, uint64_t label, const uint64_t *mr, unsigned n_mrs,
                nestor_cptr_t cap, nu_msg_t *r)
{
    int e;
    while ((e = call_once(c, label, mr, n_mrs, cap, r)) == BLK_E_NO_SERVER && reconnect(c))
        c->replays++;
    return e;
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
    c->frame = e == BLK_OK ? frame : 0;
    return e == BLK_OK ? info(c) : e;
}

/* A READ or WRITE; a reply moving other than @count sectors is no success. */
static int rw(blk_conn_t *c, uint64_t label, uint64_t sector, uint64_t count, uint64_t offset)
{
    const uint64_t mr[BLK_RW_MRS] = { [BLK_RW_MR_SECTOR] = sector, [BLK_RW_MR_COUNT] = count,
                                      [BLK_RW_MR_OFFSET] = offset };
    nu_msg_t r;
    int e = call(c, label, mr, BLK_RW_MRS, 0, &r);
    return e == BLK_OK && r.mr[0] != count ? BLK_E_BAD_REQUEST : e;
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
