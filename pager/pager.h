/*
 * pager/pager.h - the pager's state: the VM's paged range, its frames, the
 * page table of the range (which frame or swap slot holds each page) and
 * its statistics (pager/README.md).
 */
#ifndef PAGER_H
#define PAGER_H
#include "clock.h"
#include "slots.h"
#include "swap.h"

#define PG_MAX_PAGES  (1u << 20)    /* 4 GiB of paged RAM at most */

typedef struct {
    uint32_t frame;         /* the frame holding it, PG_NONE when not resident */
    uint32_t slot;          /* its copy in swap, PG_SLOT_NONE if none (zero or never out) */
    bool written;           /* written since the checkpoint monitor's last PAGER_REQ_DIRTY */
} pg_page_t;

typedef struct {
    uint64_t faults;        /* EPT violations of our range served */
    uint64_t passed;        /* exits passed on (not ours: MMIO) */
    uint64_t zero_fills;    /* first touches: a zeroed frame mapped */
    uint64_t evictions;     /* frames taken back */
    uint64_t clean_drops;   /* ... that needed no write (zero, or swap copy current) */
    uint64_t swap_outs;     /* pages written to swap */
    uint64_t swap_ins;      /* pages read back from swap */
    uint64_t raced;         /* faults on a page a device server's pin mapped meanwhile */
} pg_stats_t;

#endif
