/*
 * device-servers/blk/blk.c - partitions, request bounds and the client
 * protocol (blk.h, blk_proto.h). Every number a client sends is checked
 * before the disk is touched; a refused request reads or writes nothing.
 */
#include "blk.h"
#include <stdlib.h>

const char *blk_strerror(int code)
{
    static const char *const names[BLK_E_COUNT] = {
        [BLK_OK] = "ok",
        [BLK_E_BAD_REQUEST] = "not a request of the protocol (label, MRs or capabilities)",
        [BLK_E_NO_BUFFER] = "no buffer attached",
        [BLK_E_BAD_BUFFER] = "the capability is no frame the server can map",
        [BLK_E_RANGE] = "sectors beyond the partition",
        [BLK_E_OVERFLOW] = "first sector + count wraps",
        [BLK_E_ALIGN] = "buffer offset not a multiple of the sector size",
        [BLK_E_TOO_BIG] = "no sectors, or more than the buffer holds from its offset",
        [BLK_E_IO] = "the disk reported an error",
        [BLK_E_NO_DISK] = "no usable disk for this partition",
    };
    return code >= 0 && code < BLK_E_COUNT && names[code] ? names[code] : "unknown error";
}

bool blk_parse_part(const char *s, blk_part_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long first = strtoul(s, &end, 0);
    if (*end != ':' || end[1] < '0' || end[1] > '9')
        return false;
    unsigned long count = strtoul(end + 1, &end, 0);
    if ((*end && *end != ' ') || count == 0)
        return false;
    *out = (blk_part_t){ first, count };
    return true;
}

int blk_part_fits(const blk_part_t *p, uint64_t disk_sectors)
{
    if (p->first + p->count < p->first)
        return BLK_E_OVERFLOW;
    if (p->first + p->count > disk_sectors)
        return BLK_E_RANGE;
    return BLK_OK;
}

int blk_check(const blk_part_t *p, uint64_t sector, uint64_t count, uint64_t offset,
              uint64_t buf_bytes)
{
    if (count == 0)
        return BLK_E_TOO_BIG;
    if (sector + count < sector)
        return BLK_E_OVERFLOW;
    if (sector + count > p->count)
        return BLK_E_RANGE;
    if (offset % BLK_SECTOR_SIZE)
        return BLK_E_ALIGN;
    /* count * 512 cannot overflow once count fits the buffer's sectors. */
    if (offset > buf_bytes || count > (buf_bytes - offset) / BLK_SECTOR_SIZE)
        return BLK_E_TOO_BIG;
    return BLK_OK;
}

static blk_reply_t refuse(blk_client_t *c, int code)
{
    c->refusals++;
    return (blk_reply_t){ .label = (uint64_t)code };
}

blk_reply_t blk_attached(blk_client_t *c, uint8_t *buf, uint64_t bytes)
{
    c->buf = buf;
    c->buf_bytes = bytes - bytes % BLK_SECTOR_SIZE;
    return (blk_reply_t){ .label = BLK_OK, .mr = { c->buf_bytes }, .n_mrs = 1 };
}

blk_reply_t blk_serve(blk_disk_t *disk, blk_client_t *c, uint64_t label, const uint64_t *mr,
                      unsigned n_mrs)
{
    c->requests++;
    if (!c->configured)
        return refuse(c, BLK_E_BAD_REQUEST);
    switch (label) {
    case BLK_REQ_INFO:
        return (blk_reply_t){ .label = BLK_OK, .n_mrs = BLK_INFO_MRS,
                              .mr = { [BLK_INFO_MR_SECTORS] = c->part.count,
                                      [BLK_INFO_MR_SECTOR_SIZE] = BLK_SECTOR_SIZE,
                                      [BLK_INFO_MR_MAX_SECTORS] =
                                          c->buf_bytes / BLK_SECTOR_SIZE } };
    case BLK_REQ_FLUSH: {
        if (!c->usable || !disk->sectors)
            return refuse(c, BLK_E_NO_DISK);
        unsigned err = disk->flush(disk->ctx);
        if (err)
            return (blk_reply_t){ .label = BLK_E_IO, .mr = { err }, .n_mrs = 1 };
        return (blk_reply_t){ .label = BLK_OK };
    }
    case BLK_REQ_READ:
    case BLK_REQ_WRITE: {
        if (n_mrs < BLK_RW_MRS)
            return refuse(c, BLK_E_BAD_REQUEST);
        if (!c->usable || !disk->sectors)
            return refuse(c, BLK_E_NO_DISK);
        if (!c->buf)
            return refuse(c, BLK_E_NO_BUFFER);
        uint64_t sector = mr[BLK_RW_MR_SECTOR], count = mr[BLK_RW_MR_COUNT];
        uint64_t offset = mr[BLK_RW_MR_OFFSET];
        int e = blk_check(&c->part, sector, count, offset, c->buf_bytes);
        if (e != BLK_OK)
            return refuse(c, e);
        uint8_t *buf = c->buf + offset;
        unsigned err = label == BLK_REQ_READ
                           ? disk->read(disk->ctx, c->part.first + sector, count, buf)
                           : disk->write(disk->ctx, c->part.first + sector, count, buf);
        if (err)
            return (blk_reply_t){ .label = BLK_E_IO, .mr = { err }, .n_mrs = 1 };
        if (label == BLK_REQ_READ)
            c->sectors_read += count;
        else
            c->sectors_written += count;
        return (blk_reply_t){ .label = BLK_OK, .mr = { count }, .n_mrs = 1 };
    }
    default:
        return refuse(c, BLK_E_BAD_REQUEST);
    }
}
