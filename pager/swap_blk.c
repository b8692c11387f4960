/*
 * pager/swap_blk.c - the swap area as this pager's partition of the block
 * server's disk (device-servers/include/blk_proto.h, through blk_client.h):
 * one buffer page attached once, then a READ or WRITE of 8 sectors per
 * page. A block server init restarted is reconnected by blk_client.c and
 * the request that failed sent again (a write from the page still in the
 * buffer, a read into it once more); only a request that succeeded is
 * taken: a page is handed on only once its read came back.
 */
#include "swap.h"
#include <fmt.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define SECTORS_PER_PAGE (PG_PAGE_SIZE / BLK_SECTOR_SIZE)
#define MAX_SLOTS        (1u << 16)        /* 256 MiB of swap: the bitmap's size (main.c) */

void pg_swap_open(pg_swap_t *s, const nestor_bootinfo_t *bi, nu_alloc_t *a, uint64_t buf_va,
                  const char *who)
{
    *s = (pg_swap_t){ .who = who };
    const nestor_grant_desc_t *g = nu_grant(bi, NESTOR_GRANT_ENDPOINT, BLK_GRANT_NAME);
    if (!g) {
        fmt_snprintf(s->why, sizeof s->why, "no block server granted ('blk' in the pager's node)");
        return;
    }
    nestor_cptr_t frame, copy = a->next_slot++;
    if (nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, buf_va, &frame) != NESTOR_OK ||
        nu_cnode_copy(a->cnode, copy, 64, a->cnode, frame, 64, NESTOR_RIGHTS_ALL) != NESTOR_OK) {
        fmt_snprintf(s->why, sizeof s->why, "no memory for the swap buffer");
        return;
    }
    s->buf = (uint8_t *)(uintptr_t)buf_va;
    int e = blk_connect(&s->conn, g->cptr);
    if (e == BLK_OK)
        e = blk_attach(&s->conn, copy);
    if (e != BLK_OK || s->conn.buf_bytes < PG_PAGE_SIZE) {
        fmt_snprintf(s->why, sizeof s->why, "the block server refused the buffer (%d)", e);
        return;
    }
    uint64_t slots = s->conn.sectors / SECTORS_PER_PAGE;
    s->slots = (uint32_t)(slots > MAX_SLOTS ? MAX_SLOTS : slots);
    if (!s->slots)
        fmt_snprintf(s->why, sizeof s->why, "the partition holds no whole page");
}

static bool rw(pg_swap_t *s, bool write, uint32_t slot, unsigned *err)
{
    if (slot >= s->slots) {
        *err = BLK_E_RANGE;
        return false;
    }
    const uint64_t reconnects = s->conn.reconnects;
    const uint64_t sector = (uint64_t)slot * SECTORS_PER_PAGE;
    int e = write ? blk_write(&s->conn, sector, SECTORS_PER_PAGE, 0)
                  : blk_read(&s->conn, sector, SECTORS_PER_PAGE, 0);
    if (s->conn.reconnects != reconnects)
        printf("pager %s: swap: the block server was restarted (its restart %lu): reconnected, "
               "the buffer attached again, the %s of slot %u sent again: %s\n", s->who,
               (unsigned long)s->conn.instance, write ? "write" : "read", slot,
               e == BLK_OK ? "done" : "failed");
    *err = (unsigned)e;
    return e == BLK_OK;
}

bool pg_swap_write(pg_swap_t *s, uint32_t slot, const void *page, unsigned *err)
{
    memcpy(s->buf, page, PG_PAGE_SIZE);
    bool ok = rw(s, true, slot, err);
    s->writes += ok;
    return ok;
}

bool pg_swap_read(pg_swap_t *s, uint32_t slot, void *page, unsigned *err)
{
    if (!rw(s, false, slot, err))
        return false;
    memcpy(page, s->buf, PG_PAGE_SIZE);
    s->reads++;
    return true;
}
