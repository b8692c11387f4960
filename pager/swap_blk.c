/*
 * pager/swap_blk.c - the swap area as this pager's partition of the block
 * server's disk (device-servers/include/blk_proto.h): one buffer page
 * attached once, then a READ or WRITE of 8 sectors per page.
 */
#include "swap.h"
#include <blk_proto.h>
#include <fmt.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define SECTORS_PER_PAGE (PG_PAGE_SIZE / BLK_SECTOR_SIZE)
#define MAX_SLOTS        (1u << 16)        /* 256 MiB of swap: the bitmap's size (main.c) */

static unsigned call(pg_swap_t *s, nestor_word_t label, unsigned n_mr, const nestor_word_t *mr,
                     unsigned caps, nu_msg_t *m)
{
    *m = (nu_msg_t){ .info = nestor_msginfo(label, 0, caps, n_mr) };
    for (unsigned i = 0; i < n_mr; i++)
        m->mr[i] = mr[i];
    if (nu_call(s->server, m) != NESTOR_OK)
        return BLK_E_NO_DISK;
    return (unsigned)nestor_msginfo_label(m->info);
}

void pg_swap_open(pg_swap_t *s, const nestor_bootinfo_t *bi, nu_alloc_t *a, uint64_t buf_va)
{
    *s = (pg_swap_t){ 0 };
    const nestor_grant_desc_t *g = nu_grant(bi, NESTOR_GRANT_ENDPOINT, BLK_GRANT_NAME);
    if (!g) {
        fmt_snprintf(s->why, sizeof s->why, "no block server granted ('blk' in the pager's node)");
        return;
    }
    s->server = g->cptr;
    nestor_cptr_t frame, copy = a->next_slot++;
    nu_msg_t m;
    if (nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, buf_va, &frame) != NESTOR_OK ||
        nu_cnode_copy(a->cnode, copy, 64, a->cnode, frame, 64, NESTOR_RIGHTS_ALL) != NESTOR_OK) {
        fmt_snprintf(s->why, sizeof s->why, "no memory for the swap buffer");
        return;
    }
    s->buf = (uint8_t *)(uintptr_t)buf_va;
    nu_ipc_buffer()->caps_or_badges[0] = copy;
    unsigned e = call(s, BLK_REQ_ATTACH, 0, NULL, 1, &m);
    if (e != BLK_OK || m.mr[0] < PG_PAGE_SIZE) {
        fmt_snprintf(s->why, sizeof s->why, "the block server refused the buffer (%u)", e);
        return;
    }
    if ((e = call(s, BLK_REQ_INFO, 0, NULL, 0, &m)) != BLK_OK ||
        m.mr[BLK_INFO_MR_SECTOR_SIZE] != BLK_SECTOR_SIZE) {
        fmt_snprintf(s->why, sizeof s->why, "the block server has no partition for us (%u)", e);
        return;
    }
    uint64_t slots = m.mr[BLK_INFO_MR_SECTORS] / SECTORS_PER_PAGE;
    s->slots = (uint32_t)(slots > MAX_SLOTS ? MAX_SLOTS : slots);
    if (!s->slots)
        fmt_snprintf(s->why, sizeof s->why, "the partition holds no whole page");
}

static bool rw(pg_swap_t *s, nestor_word_t label, uint32_t slot, unsigned *err)
{
    if (slot >= s->slots) {
        *err = BLK_E_RANGE;
        return false;
    }
    const nestor_word_t mr[BLK_RW_MRS] = {
        [BLK_RW_MR_SECTOR] = (nestor_word_t)slot * SECTORS_PER_PAGE,
        [BLK_RW_MR_COUNT] = SECTORS_PER_PAGE, [BLK_RW_MR_OFFSET] = 0 };
    nu_msg_t m;
    *err = call(s, label, BLK_RW_MRS, mr, 0, &m);
    return *err == BLK_OK && m.mr[0] == SECTORS_PER_PAGE;
}

bool pg_swap_write(pg_swap_t *s, uint32_t slot, const void *page, unsigned *err)
{
    memcpy(s->buf, page, PG_PAGE_SIZE);
    bool ok = rw(s, BLK_REQ_WRITE, slot, err);
    s->writes += ok;
    return ok;
}

bool pg_swap_read(pg_swap_t *s, uint32_t slot, void *page, unsigned *err)
{
    if (!rw(s, BLK_REQ_READ, slot, err))
        return false;
    memcpy(page, s->buf, PG_PAGE_SIZE);
    s->reads++;
    return true;
}
