/* pager/slots.c - the swap slot bitmap (slots.h). */
#include "slots.h"
#include <string.h>

void pg_slots_init(pg_slots_t *s, uint64_t *words, uint32_t n)
{
    memset(words, 0, PG_SLOT_WORDS(n) * sizeof(uint64_t));
    *s = (pg_slots_t){ .used = words, .n = n, .free = n, .next = 0 };
}

uint32_t pg_slot_alloc(pg_slots_t *s)
{
    const uint32_t words = PG_SLOT_WORDS(s->n);
    if (s->free == 0)
        return PG_SLOT_NONE;
    for (uint32_t k = 0; k < words; k++) {
        uint32_t w = (s->next + k) % words;
        uint64_t avail = ~s->used[w];
        if (w == words - 1 && s->n % PG_SLOT_WORD_BITS)
            avail &= (1ULL << (s->n % PG_SLOT_WORD_BITS)) - 1;     /* past the last slot */
        if (!avail)
            continue;
        unsigned bit = (unsigned)__builtin_ctzll(avail);
        s->used[w] |= 1ULL << bit;
        s->free--;
        s->next = w;
        return w * PG_SLOT_WORD_BITS + bit;
    }
    return PG_SLOT_NONE;     /* not reached while free counts right */
}

bool pg_slot_free(pg_slots_t *s, uint32_t slot)
{
    if (slot >= s->n)
        return false;
    uint64_t bit = 1ULL << (slot % PG_SLOT_WORD_BITS);
    uint64_t *w = &s->used[slot / PG_SLOT_WORD_BITS];
    if (!(*w & bit))
        return false;
    *w &= ~bit;
    s->free++;
    return true;
}
