/*
 * pager/swap.h - where evicted pages go: a swap area of page slots on a
 * block device (swap_blk.c: the block server's partition for this pager,
 * device-servers/include/blk_proto.h). Slot i is the 4 KiB at byte
 * i * 4 KiB of the partition. With no device granted there are no slots:
 * the pager then evicts only pages it can rebuild (never written: zero).
 */
#ifndef PAGER_SWAP_H
#define PAGER_SWAP_H
#include <blk_client.h>
#include <nestor/bootinfo.h>
#include <stdbool.h>
#include <stdint.h>
#include <user/space.h>

#define PG_PAGE_SIZE 4096u

typedef struct {
    uint32_t slots;         /* page slots of the area (0: no swap) */
    char why[80];           /* when 0: why */
    blk_conn_t conn;        /* the block server, badged with our partition */
    uint8_t *buf;           /* the buffer shared with the server (one page) */
    const char *who;        /* the pager's name, for its lines */
    uint64_t reads, writes; /* requests that succeeded */
} pg_swap_t;

/* Find the block server among @bi's grants and attach a buffer page
 * (mapped at @buf_va, its frame from @a); @who names the pager in its
 * lines. Sets s->slots (0 and s->why when there is no usable device). */
void pg_swap_open(pg_swap_t *s, const nestor_bootinfo_t *bi, nu_alloc_t *a, uint64_t buf_va,
                  const char *who);
/* Write the page at @page to slot @slot / read slot @slot into @page;
 * false on an I/O error (the block server's reply label in *@err). A
 * server restarted meanwhile is reconnected and the request sent again
 * (said); false if that fails too: nothing is read into @page then. */
bool pg_swap_write(pg_swap_t *s, uint32_t slot, const void *page, unsigned *err);
bool pg_swap_read(pg_swap_t *s, uint32_t slot, void *page, unsigned *err);

#endif
