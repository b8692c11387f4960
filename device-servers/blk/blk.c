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
        [BLK_E_NO_SERVER] = "the call failed: no server behind the capability",
        [BLK_E_NOT_VM] = "not the checkpoint monitor of this server's VM, or no VM disk",
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

/* A READ (@read) or WRITE of request @mr between client @c's buffer and
 * partition @p of @disk: its own partition, or the VM's (BLK_REQ_VM_*). */
static blk_reply_t transfer(blk_disk_t *disk, const blk_part_t *p, blk_client_t *c, bool read,
                            const uint64_t *mr)
{
    if (!c->buf)
        return refuse(c, BLK_E_NO_BUFFER);
    uint64_t sector = mr[BLK_RW_MR_SECTOR], count = mr[BLK_RW_MR_COUNT];
    uint64_t offset = mr[BLK_RW_MR_OFFSET];
    int e = blk_check(p, sector, count, offset, c->buf_bytes);
    if (e != BLK_OK)
        return refuse(c, e);
    uint8_t *buf = c->buf + offset;
    unsigned err = read ? disk->read(disk->ctx, p->first + sector, count, buf)
                        : disk->write(disk->ctx, p->first + sector, count, buf);
    if (err)
        return (blk_reply_t){ .label = BLK_E_IO, .mr = { err }, .n_mrs = 1 };
    if (read)
        c->sectors_read += count;
    else
        c->sectors_written += count;
    return (blk_reply_t){ .label = BLK_OK, .mr = { count }, .n_mrs = 1 };
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
        return transfer(disk, &c->part, c, label == BLK_REQ_READ, mr);
    }
    default:
        return refuse(c, BLK_E_BAD_REQUEST);
    }
}

/* ---- the VM's disk for its checkpoint monitor (blk_proto.h BLK_REQ_VM_*) ---- */

void blk_dirty_init(blk_dirty_t *d, uint64_t disk_sectors)
{
    uint64_t cs = BLK_VM_CHUNK_MIN;
    while ((disk_sectors + cs - 1) / cs > BLK_VM_MAX_CHUNKS)
        cs *= 2;
    *d = (blk_dirty_t){ .chunk_sectors = cs, .chunks = (disk_sectors + cs - 1) / cs };
}

void blk_dirty_mark(blk_dirty_t *d, uint64_t sector, uint64_t count)
{
    if (!d->chunks || !count)
        return;
    for (uint64_t k = sector / d->chunk_sectors;
         k <= (sector + count - 1) / d->chunk_sectors && k < d->chunks; k++)
        d->bits[k / 64] |= 1ull << (k % 64);
}

/* The first chunk marked from @from on (its flag cleared), or d->chunks. */
static uint64_t dirty_take(blk_dirty_t *d, uint64_t from)
{
    for (uint64_t k = from; k < d->chunks; k++) {
        if (!(k % 64) && !d->bits[k / 64]) {
            k += 63;            /* a word without a flag: on to the next */
            continue;
        }
        if (d->bits[k / 64] & (1ull << (k % 64))) {
            d->bits[k / 64] &= ~(1ull << (k % 64));
            return k;
        }
    }
    return d->chunks;
}

bool blk_is_vm_request(uint64_t label)
{
    return label == BLK_REQ_VM_INFO || label == BLK_REQ_VM_READ || label == BLK_REQ_VM_WRITE ||
           label == BLK_REQ_VM_DIRTY;
}

blk_reply_t blk_serve_vm(blk_vm_disk_t *vm, blk_client_t *c, uint64_t label, const uint64_t *mr,
                         unsigned n_mrs)
{
    c->requests++;
    /* BLK_REQ_VM_INFO is how a monitor asks whether it may: "no" is an
     * answer, not a refusal (neither counted nor logged). */
    if (!c->configured || !c->vm_disk || !vm->usable || !vm->disk || !vm->disk->sectors)
        return label == BLK_REQ_VM_INFO ? (blk_reply_t){ .label = BLK_E_NOT_VM }
                                        : refuse(c, BLK_E_NOT_VM);
    switch (label) {
    case BLK_REQ_VM_INFO:
        return (blk_reply_t){ .label = BLK_OK, .n_mrs = 3,
                              .mr = { [BLK_VM_INFO_MR_SECTORS] = vm->part->count,
                                      [BLK_VM_INFO_MR_CHUNK] = vm->dirty->chunk_sectors,
                                      [BLK_VM_INFO_MR_CHUNKS] = vm->dirty->chunks } };
    case BLK_REQ_VM_DIRTY: {
        if (n_mrs < BLK_VM_DIRTY_MRS)
            return refuse(c, BLK_E_BAD_REQUEST);
        const uint64_t how = mr[BLK_VM_DIRTY_MR_HOW];
        if (how == BLK_VM_DIRTY_CLEAR) {
            for (unsigned i = 0; i < BLK_VM_MAX_CHUNKS / 64; i++)
                vm->dirty->bits[i] = 0;
            return (blk_reply_t){ .label = BLK_OK, .n_mrs = 1 };
        }
        if (how != BLK_VM_DIRTY_TAKE)
            return refuse(c, BLK_E_BAD_REQUEST);
        return (blk_reply_t){ .label = BLK_OK, .n_mrs = 1,
                              .mr = { dirty_take(vm->dirty, mr[BLK_VM_DIRTY_MR_FROM]) } };
    }
    case BLK_REQ_VM_READ:
    case BLK_REQ_VM_WRITE: {
        if (n_mrs < BLK_RW_MRS)
            return refuse(c, BLK_E_BAD_REQUEST);
        return transfer(vm->disk, vm->part, c, label == BLK_REQ_VM_READ, mr);
    }
    default:
        return refuse(c, BLK_E_BAD_REQUEST);
    }
}
