/*
 * device-servers/blk/image.h - a read-only image as a disk (blk.h's
 * blk_disk_t), copy-on-write: the block server's VM disk when its node
 * names an 'image' (stack-configs/BINDINGS.md) instead of sectors of the
 * ATA disk. The image (a boot module, mapped read-only) is never written:
 * the first write to one of its 4 KiB pages copies the page into a
 * private page of the server's (its memory budget), and every later read
 * or write of that page goes there. The disk is the image's size in
 * 512-byte sectors, rounded up: the tail past the image's end reads as
 * zeros (and is copied as zeros). Pure code: the server maps the pages,
 * the host unit tests give it a fake allocator (tests/unit/test_blk.c).
 */
#ifndef BLK_IMAGE_H
#define BLK_IMAGE_H
#include "blk.h"
#include <stdbool.h>
#include <stdint.h>

#define IMG_PAGE_SIZE     4096u
#define IMG_SECTOR_SIZE   512u
#define IMG_MAX_PAGES     16384u        /* images up to 64 MiB */
/* Errors (blk_disk_t: 0 is success), as vblk.c says them ("disk error"). */
#define IMG_ERR_RANGE     0x201u        /* sectors beyond the image (the caller checks first) */
#define IMG_ERR_NO_MEMORY 0x202u        /* no private page left for a copy */

typedef struct {
    const uint8_t *data;            /* the image, read-only */
    uint64_t size;                  /* its bytes */
    uint64_t pages;                 /* its 4 KiB pages, the last maybe partial */
    uint8_t *copy[IMG_MAX_PAGES];   /* page i's private copy, or NULL: the image's */
    /* A fresh private page (IMG_PAGE_SIZE bytes, any content), or NULL when
     * the memory for copies is spent. */
    uint8_t *(*new_page)(void *ctx);
    void *ctx;
    uint64_t copied;                /* private pages made */
} img_disk_t;

/* The disk over image @data of @size bytes (1 byte to IMG_MAX_PAGES
 * pages); false if the size is out of range. @d's new_page and ctx are set
 * by the caller. Fills @disk (blk_disk_t) with its functions. */
bool img_init(img_disk_t *d, const uint8_t *data, uint64_t size, blk_disk_t *disk);

#endif
