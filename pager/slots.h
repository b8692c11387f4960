/*
 * pager/slots.h - the swap area's page slots: which are free. A bitmap the
 * caller provides (pure, unit-tested in tests/unit/test_pager.c).
 */
#ifndef PAGER_SLOTS_H
#define PAGER_SLOTS_H
#include <stdbool.h>
#include <stdint.h>

#define PG_SLOT_NONE UINT32_MAX
#define PG_SLOT_WORD_BITS 64

typedef struct {
    uint64_t *used;         /* bit i set: slot i holds a page */
    uint32_t n;             /* slots */
    uint32_t free;          /* how many are free */
    uint32_t next;          /* where the search starts (the last allocation's word) */
} pg_slots_t;

/* Words of bitmap @n slots need. */
#define PG_SLOT_WORDS(n) (((n) + PG_SLOT_WORD_BITS - 1) / PG_SLOT_WORD_BITS)

/* @n slots, all free, kept in @words (PG_SLOT_WORDS(@n) of them). */
void pg_slots_init(pg_slots_t *s, uint64_t *words, uint32_t n);
/* A free slot, now used; PG_SLOT_NONE when all are used. */
uint32_t pg_slot_alloc(pg_slots_t *s);
/* Give @slot back; false (nothing changed) if it is out of range or free. */
bool pg_slot_free(pg_slots_t *s, uint32_t slot);

#endif
