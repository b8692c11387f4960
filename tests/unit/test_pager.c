/*
 * tests/unit/test_pager.c - the pager's clock (pager/clock.c) against a
 * model of EPT accessed/dirty flags, and its swap slot allocator
 * (pager/slots.c).
 */
#include "unit.h"
#include "../../pager/clock.h"
#include "../../pager/slots.h"
#include <string.h>

#define NF 8

/* The model: each frame's EPT flags; reading clears them (as
 * NESTOR_EPT_READ_AD with NESTOR_EPT_AD_CLEAR does), and counts reads. */
typedef struct {
    unsigned flags[NF];
    unsigned reads;
} model_t;

static unsigned model_ad(void *ctx, uint32_t f)
{
    model_t *m = ctx;
    unsigned v = m->flags[f];
    m->flags[f] = 0;
    m->reads++;
    return v;
}

static void fill(pg_frame_t *fr, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        fr[i] = (pg_frame_t){ .page = 100 + i, .dirty = false };
}

/* Not accessed since the last turn: the frame under the hand goes. */
static void test_clock_unaccessed(void)
{
    pg_frame_t fr[NF];
    model_t m = { 0 };
    pg_clock_t c = { .hand = 0, .n = NF };
    fill(fr, NF);
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 0);
    CU_ASSERT_EQUAL(c.hand, 1);
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 1);
}

/* Accessed frames get a second chance: their flag is cleared, the hand
 * moves on; a full turn of accessed frames comes back to the first. */
static void test_clock_second_chance(void)
{
    pg_frame_t fr[NF];
    model_t m = { 0 };
    pg_clock_t c = { .hand = 0, .n = NF };
    fill(fr, NF);
    m.flags[0] = m.flags[1] = PG_AD_ACCESSED;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 2);
    CU_ASSERT_EQUAL(m.flags[0], 0);
    CU_ASSERT_EQUAL(m.flags[1], 0);
    for (unsigned i = 0; i < NF; i++)
        m.flags[i] = PG_AD_ACCESSED;
    c.hand = 5;
    m.reads = 0;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 5);
    CU_ASSERT_EQUAL(m.reads, NF + 1);           /* one turn, then the first again */
}

/* The dirty flag is kept in the frame's record (the read clears the EPT's);
 * with no way to write, dirty frames are passed over, and with none clean
 * nothing is chosen. */
static void test_clock_dirty(void)
{
    pg_frame_t fr[NF];
    model_t m = { 0 };
    pg_clock_t c = { .hand = 0, .n = NF };
    fill(fr, NF);
    m.flags[0] = PG_AD_ACCESSED | PG_AD_DIRTY;
    m.flags[1] = PG_AD_DIRTY;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, false), 2);
    CU_ASSERT_TRUE(fr[0].dirty);
    CU_ASSERT_TRUE(fr[1].dirty);
    CU_ASSERT_FALSE(fr[2].dirty);
    c.hand = 0;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 0);   /* dirty, may be written */
    for (unsigned i = 0; i < NF; i++)
        fr[i].dirty = true;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, false), PG_NONE);
    pg_clock_t empty = { 0 };
    CU_ASSERT_EQUAL(pg_clock_pick(&empty, fr, model_ad, &m, true), PG_NONE);
}

/* A free frame is taken without reading any flags. */
static void test_clock_free(void)
{
    pg_frame_t fr[NF];
    model_t m = { 0 };
    pg_clock_t c = { .hand = 3, .n = NF };
    fill(fr, NF);
    fr[3].page = PG_NONE;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 3);
    CU_ASSERT_EQUAL(m.reads, 0);
}

static void test_slots(void)
{
    uint64_t words[PG_SLOT_WORDS(130)];
    pg_slots_t s;
    pg_slots_init(&s, words, 130);
    CU_ASSERT_EQUAL(s.free, 130);
    bool seen[130] = { false };
    for (unsigned i = 0; i < 130; i++) {
        uint32_t k = pg_slot_alloc(&s);
        CU_ASSERT_TRUE_FATAL(k < 130);
        CU_ASSERT_FALSE(seen[k]);
        seen[k] = true;
    }
    CU_ASSERT_EQUAL(pg_slot_alloc(&s), PG_SLOT_NONE);     /* never past the last slot */
    CU_ASSERT_EQUAL(s.free, 0);
    CU_ASSERT_TRUE(pg_slot_free(&s, 129));
    CU_ASSERT_FALSE(pg_slot_free(&s, 129));               /* already free */
    CU_ASSERT_FALSE(pg_slot_free(&s, 130));               /* out of range */
    CU_ASSERT_TRUE(pg_slot_free(&s, 5));
    CU_ASSERT_EQUAL(s.free, 2);
    uint32_t a = pg_slot_alloc(&s), b = pg_slot_alloc(&s);
    CU_ASSERT_TRUE((a == 5 && b == 129) || (a == 129 && b == 5));
    CU_ASSERT_EQUAL(pg_slot_alloc(&s), PG_SLOT_NONE);
    pg_slots_t none;
    pg_slots_init(&none, words, 0);                       /* no swap device */
    CU_ASSERT_EQUAL(pg_slot_alloc(&none), PG_SLOT_NONE);
}

/* Pinned frames (a device server's DMA, pager_proto.h PAGER_REQ_PIN) are
 * passed over without reading their flags, clean and unaccessed as they
 * may look; all pinned: nothing is chosen. */
static void test_clock_pinned(void)
{
    pg_frame_t fr[NF];
    model_t m = { 0 };
    pg_clock_t c = { .hand = 0, .n = NF };
    fill(fr, NF);
    fr[0].pinned = fr[1].pinned = true;
    m.flags[0] = m.flags[1] = PG_AD_DIRTY;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 2);
    CU_ASSERT_EQUAL(m.reads, 1);                /* only frame 2's flags */
    CU_ASSERT_EQUAL(m.flags[0], PG_AD_DIRTY);   /* left for after the pin */
    for (unsigned i = 0; i < NF; i++)
        fr[i].pinned = true;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), PG_NONE);
    fr[5].pinned = false;
    CU_ASSERT_EQUAL(pg_clock_pick(&c, fr, model_ad, &m, true), 5);
}

UNIT_SUITE(pager_suite)
{
    CU_pSuite s = CU_add_suite("pager: clock and swap slots", NULL, NULL);
    CU_add_test(s, "a frame not accessed since the last turn goes", test_clock_unaccessed);
    CU_add_test(s, "accessed frames get a second chance", test_clock_second_chance);
    CU_add_test(s, "dirty flags kept; dirty frames stay without swap", test_clock_dirty);
    CU_add_test(s, "a free frame is taken first", test_clock_free);
    CU_add_test(s, "pinned frames are never chosen", test_clock_pinned);
    CU_add_test(s, "swap slots: each once, none past the end, freed ones again", test_slots);
}
