/*
 * device-servers/blk/image.c - a read-only image as a copy-on-write disk
 * (image.h). A request is cut at page boundaries; each piece reads from
 * the page's private copy if it has one, else from the image (zeros past
 * its end), and a write first makes the copy: the page's bytes as the
 * image has them, then the written sectors over them.
 */
#include "image.h"
#include <string.h>

/* Page @p's current bytes into @out (IMG_PAGE_SIZE): its copy, or the
 * image's bytes and zeros past the image's end. */
static void page_bytes(const img_disk_t *d, uint64_t p, uint8_t *out)
{
    if (d->copy[p]) {
        memcpy(out, d->copy[p], IMG_PAGE_SIZE);
        return;
    }
    uint64_t at = p * IMG_PAGE_SIZE, n = d->size - at < IMG_PAGE_SIZE ? d->size - at
                                                                       : IMG_PAGE_SIZE;
    memcpy(out, d->data + at, n);
    memset(out + n, 0, IMG_PAGE_SIZE - n);
}

/* The disk: the image's size in sectors, rounded up. */
static bool in_range(const img_disk_t *d, uint64_t lba, uint64_t count)
{
    uint64_t sectors = (d->size + IMG_SECTOR_SIZE - 1) / IMG_SECTOR_SIZE;
    return count <= sectors && lba <= sectors - count;
}

/* The piece of a request from sector @lba + @done on that lies in one
 * page: its page @p, its offset @off there; returns its sectors. */
static uint64_t piece(uint64_t lba, uint64_t done, uint64_t count, uint64_t *p, uint64_t *off)
{
    uint64_t byte = (lba + done) * IMG_SECTOR_SIZE;
    *p = byte / IMG_PAGE_SIZE;
    *off = byte % IMG_PAGE_SIZE;
    uint64_t k = (IMG_PAGE_SIZE - *off) / IMG_SECTOR_SIZE;
    return k < count - done ? k : count - done;
}

static unsigned img_read(void *ctx, uint64_t lba, uint64_t count, uint8_t *buf)
{
    const img_disk_t *d = ctx;
    if (!in_range(d, lba, count))
        return IMG_ERR_RANGE;
    for (uint64_t done = 0, p, off, k; done < count; done += k) {
        k = piece(lba, done, count, &p, &off);
        uint64_t byte = p * IMG_PAGE_SIZE + off;
        uint8_t *dst = buf + done * IMG_SECTOR_SIZE;
        if (d->copy[p]) {
            memcpy(dst, d->copy[p] + off, k * IMG_SECTOR_SIZE);
        } else {
            /* Straight from the image: the part inside it, zeros after. */
            uint64_t len = k * IMG_SECTOR_SIZE;
            uint64_t have = byte >= d->size ? 0 : d->size - byte < len ? d->size - byte : len;
            if (have)
                memcpy(dst, d->data + byte, have);
            memset(dst + have, 0, len - have);
        }
    }
    return 0;
}

static unsigned img_write(void *ctx, uint64_t lba, uint64_t count, const uint8_t *buf)
{
    img_disk_t *d = ctx;
    if (!in_range(d, lba, count))
        return IMG_ERR_RANGE;
    /* Every page the request touches gets its copy first: out of memory,
     * nothing is written (no request half done). */
    uint64_t first = lba * IMG_SECTOR_SIZE / IMG_PAGE_SIZE;
    uint64_t last = ((lba + count) * IMG_SECTOR_SIZE - 1) / IMG_PAGE_SIZE;
    for (uint64_t p = first; count && p <= last; p++) {
        if (d->copy[p])
            continue;
        uint8_t *page = d->new_page(d->ctx);
        if (!page)
            return IMG_ERR_NO_MEMORY;
        page_bytes(d, p, page);
        d->copy[p] = page;
        d->copied++;
    }
    for (uint64_t done = 0, p, off, k; done < count; done += k) {
        k = piece(lba, done, count, &p, &off);
        memcpy(d->copy[p] + off, buf + done * IMG_SECTOR_SIZE, k * IMG_SECTOR_SIZE);
    }
    return 0;
}

/* The copies are RAM: a write is done when it returns (5.2.6.1's flush
 * has nothing to wait for). */
static unsigned img_flush(void *ctx)
{
    (void)ctx;
    return 0;
}

bool img_init(img_disk_t *d, const uint8_t *data, uint64_t size, blk_disk_t *disk)
{
    uint64_t pages = (size + IMG_PAGE_SIZE - 1) / IMG_PAGE_SIZE;
    if (size == 0 || pages > IMG_MAX_PAGES)
        return false;
    d->data = data;
    d->size = size;
    d->pages = pages;
    d->copied = 0;
    memset(d->copy, 0, sizeof d->copy);
    *disk = (blk_disk_t){ img_read, img_write, img_flush, d,
                          (size + IMG_SECTOR_SIZE - 1) / IMG_SECTOR_SIZE };
    return true;
}
