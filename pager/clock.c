/* pager/clock.c - the clock algorithm (clock.h). */
#include "clock.h"

uint32_t pg_clock_pick(pg_clock_t *c, pg_frame_t *frames, pg_ad_fn ad, void *ctx,
                       bool can_write_dirty)
{
    if (c->n == 0)
        return PG_NONE;
    for (uint64_t step = 0; step < 2ULL * c->n; step++) {
        uint32_t f = c->hand;
        c->hand = (c->hand + 1) % c->n;
        if (frames[f].page == PG_NONE)
            return f;                       /* a free frame needs no eviction */
        if (frames[f].pinned)
            continue;                       /* a device server's: not while pinned */
        unsigned flags = ad(ctx, f);
        if (flags & PG_AD_DIRTY)
            frames[f].dirty = true;
        if (flags & PG_AD_ACCESSED)
            continue;                       /* used since the last turn: a second chance */
        if (frames[f].dirty && !can_write_dirty)
            continue;
        return f;
    }
    return PG_NONE;
}
