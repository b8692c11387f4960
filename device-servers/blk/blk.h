/*
 * device-servers/blk/blk.h - the block server's logic apart from its IPC
 * (main.c) and its disk (ata.h): partitions, the bounds of a request, and
 * the client protocol of blk_proto.h, so that the host unit tests
 * (tests/unit/test_blk.c) drive it as the server does.
 */
#ifndef BLK_BLK_H
#define BLK_BLK_H
#include <stdbool.h>
#include <stdint.h>
#include <blk_proto.h>

#define BLK_NAME_MAX     32
#define BLK_LOG_MAX      16      /* refusals logged per client; the rest counted */

/* The disk as the logic sees it: whole sectors at absolute LBAs. Each
 * call returns 0 or a non-zero device error (the ATA Error register, or
 * 0x100 + ata_err_t when the device said nothing). */
typedef struct {
    unsigned (*read)(void *ctx, uint64_t lba, uint64_t count, uint8_t *buf);
    unsigned (*write)(void *ctx, uint64_t lba, uint64_t count, const uint8_t *buf);
    unsigned (*flush)(void *ctx);
    void *ctx;
    uint64_t sectors;           /* 0: no usable disk */
} blk_disk_t;

/* A partition: sectors [first, first + count) of the disk. */
typedef struct {
    uint64_t first, count;
} blk_part_t;

/* Parse "FIRST:COUNT" (decimal or 0x hex) at @s, up to a blank or the end.
 * False if malformed or empty (count 0). */
bool blk_parse_part(const char *s, blk_part_t *out);

/* Whether @p lies on a disk of @disk_sectors: BLK_OK, BLK_E_OVERFLOW
 * (first + count wraps), BLK_E_RANGE (past the end). */
int blk_part_fits(const blk_part_t *p, uint64_t disk_sectors);

/* The bounds of a request of @count sectors at @sector of partition @p,
 * through a buffer of @buf_bytes from byte @offset (blk_proto.h's error
 * order: too big/empty, overflow, range, alignment, buffer fit). */
int blk_check(const blk_part_t *p, uint64_t sector, uint64_t count, uint64_t offset,
              uint64_t buf_bytes);

/* One client monitor (blk_proto.h). */
typedef struct {
    blk_part_t part;
    bool configured;            /* the server's command line gave it a partition */
    bool usable;                /* ... and it lies on the disk */
    uint8_t *buf;               /* the attached buffer, mapped in the server */
    uint64_t buf_bytes;
    uint64_t requests, sectors_read, sectors_written, refusals;
    unsigned logged;
    bool vm_disk;               /* the checkpoint monitor of the server's VM (blk.ckpt=N):
                                   may use BLK_REQ_VM_* */
} blk_client_t;

/* A request's outcome: the reply label and MRs. */
typedef struct {
    uint64_t label;
    uint64_t mr[BLK_INFO_MRS];
    unsigned n_mrs;
} blk_reply_t;

/* Serve one client request that needs no capability: INFO, READ, WRITE,
 * FLUSH (ATTACH is the caller's: it maps the frame, then calls
 * blk_attached). @n_mrs is the request's MR count. */
blk_reply_t blk_serve(blk_disk_t *disk, blk_client_t *c, uint64_t label, const uint64_t *mr,
                      unsigned n_mrs);
/* The client's buffer is now @buf, @bytes long (a whole number of sectors). */
blk_reply_t blk_attached(blk_client_t *c, uint8_t *buf, uint64_t bytes);

/* Which chunks of the VM's disk it wrote since their flags were last
 * cleared (blk_proto.h BLK_REQ_VM_DIRTY): a flag per chunk of
 * chunk_sectors sectors, the smallest power of two from BLK_VM_CHUNK_MIN
 * that needs at most BLK_VM_MAX_CHUNKS flags (a 128 MiB disk has 4 KiB
 * chunks, a 1 GiB one 32 KiB). Zeroed: no disk, nothing marked. */
typedef struct {
    uint64_t chunk_sectors, chunks;
    uint64_t bits[BLK_VM_MAX_CHUNKS / 64];
} blk_dirty_t;

void blk_dirty_init(blk_dirty_t *d, uint64_t disk_sectors);
/* The VM wrote sectors [@sector, @sector + @count) (within the disk). */
void blk_dirty_mark(blk_dirty_t *d, uint64_t sector, uint64_t count);

/* The VM's disk as BLK_REQ_VM_* see it: @disk at @part, its flags @dirty;
 * @usable false when the server serves no VM disk. */
typedef struct {
    blk_disk_t *disk;
    const blk_part_t *part;
    blk_dirty_t *dirty;
    bool usable;
} blk_vm_disk_t;

/* Serve one BLK_REQ_VM_* of client @c (BLK_E_NOT_VM unless c->vm_disk and
 * the VM disk is usable; the bounds as READ/WRITE's). */
blk_reply_t blk_serve_vm(blk_vm_disk_t *vm, blk_client_t *c, uint64_t label, const uint64_t *mr,
                         unsigned n_mrs);
/* Whether @label is one of the BLK_REQ_VM_* requests. */
bool blk_is_vm_request(uint64_t label);

const char *blk_strerror(int code);

#endif
