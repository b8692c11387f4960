/*
 * pager/clock.h - choosing the frame to take back: the clock algorithm over
 * the EPT accessed and dirty flags (SDM Vol. 3C 28.3.5). Pure: the flags
 * come through a callback, so the host unit tests drive it
 * (tests/unit/test_pager.c).
 *
 * The frames in use form a circle with a hand. At each step the hand's
 * frame's flags are read and cleared: accessed since the last pass means
 * the guest still uses it, so it gets a second chance and the hand moves
 * on; not accessed means it is the victim. The dirty flag is kept in the
 * frame's record (clearing the EPT's flags clears both), so a page written
 * long ago and not since is still known to need writing out. When the
 * pager cannot write a dirty page (no swap device, or no free slot), dirty
 * frames are passed over and only clean ones are taken.
 */
#ifndef PAGER_CLOCK_H
#define PAGER_CLOCK_H
#include <stdbool.h>
#include <stdint.h>

#define PG_NONE UINT32_MAX

/* The pager's frames (from its budget) and what each holds. */
typedef struct {
    uint32_t page;          /* page of the managed range it holds, PG_NONE when free */
    bool dirty;             /* written since it was zeroed or read back from swap */
    uint8_t pinned;         /* device servers holding it (pager_proto.h PAGER_REQ_PIN): never a victim */
} pg_frame_t;

/* The flags of the EPT entry mapping frame @f, as NESTOR_EPT_ACCESSED |
 * NESTOR_EPT_DIRTY, cleared by the reading. */
typedef unsigned (*pg_ad_fn)(void *ctx, uint32_t f);

/* Bits of what pg_ad_fn returns (nestor/invocations.h NESTOR_EPT_*). */
#define PG_AD_ACCESSED 1u
#define PG_AD_DIRTY    2u

typedef struct {
    uint32_t hand;          /* the next frame it looks at */
    uint32_t n;             /* frames in the circle */
} pg_clock_t;

/* The frame to evict among @frames[0, c->n) (all in use), or PG_NONE when
 * none can go (every frame pinned, or dirty and @can_write_dirty false).
 * Pinned frames are passed over without reading their flags. Looks at each
 * frame at most twice: after one turn every accessed flag is clear. */
uint32_t pg_clock_pick(pg_clock_t *c, pg_frame_t *frames, pg_ad_fn ad, void *ctx,
                       bool can_write_dirty);

#endif
