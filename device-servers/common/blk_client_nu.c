/*
 * device-servers/common/blk_client_nu.c - blk_client.h's kernel part: a
 * request is one IPC call on the server's badged capability; a
 * reconnection is a call to init on the program's parent endpoint
 * (blk_proto.h BLK_INIT_RECONNECT), its capability received into the old
 * one's slot.
 */
#include <blk_client.h>
#include <user/invoke.h>
#include <user/runtime.h>
#include <user/sys.h>

static bool nu_blk_call(nestor_cptr_t ep, uint64_t *label, uint64_t *mr, unsigned *n_mrs,
                        nestor_cptr_t cap)
{
    nu_msg_t m = { .info = nestor_msginfo(*label, 0, cap ? 1 : 0, *n_mrs) };
    for (unsigned i = 0; i < *n_mrs && i < BLK_CLIENT_MRS; i++)
        m.mr[i] = mr[i];
    if (cap)
        nu_ipc_buffer()->caps_or_badges[0] = cap;
    if (nu_call(ep, &m) != NESTOR_OK)
        return false;
    *label = nestor_msginfo_label(m.info);
    *n_mrs = (unsigned)nestor_msginfo_length(m.info);
    if (*n_mrs > BLK_CLIENT_MRS)
        *n_mrs = BLK_CLIENT_MRS;
    for (unsigned i = 0; i < *n_mrs; i++)
        mr[i] = m.mr[i];
    return true;
}

static bool nu_blk_reconnect(nestor_cptr_t slot, uint64_t known, uint64_t *restarts)
{
    const nestor_cptr_t parent = nu_parent_ep();
    if (!parent)
        return false;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    const nestor_cptr_t cnode = b->receive_cnode, index = b->receive_index;
    const nestor_word_t depth = b->receive_depth;
    nu_cnode_delete(NESTOR_CAP_INIT_CNODE, slot, 64);   /* what is left of the old one */
    nu_receive_cap_into(slot);
    nu_msg_t m = { .info = nestor_msginfo(BLK_INIT_RECONNECT, 0, 0, BLK_RECONNECT_MRS),
                   .mr = { known } };
    const bool ok = nu_call(parent, &m) == NESTOR_OK && nestor_msginfo_label(m.info) == BLK_OK &&
                    nestor_msginfo_extra_caps(m.info) == 1;
    b->receive_cnode = cnode;                           /* as the caller had it */
    b->receive_index = index;
    b->receive_depth = depth;
    *restarts = ok ? m.mr[0] : 0;
    return ok;
}

const blk_kernel_t blk_kernel = { nu_blk_call, nu_blk_reconnect };
