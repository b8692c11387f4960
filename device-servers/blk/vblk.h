/*
 * device-servers/blk/vblk.h - the virtio block device (Virtio 1.2 5.2) the
 * block server gives one VM, on a partition of its disk (blk.h), over
 * virtio/'s register file and split queue. Apart from the IPC (main.c) so
 * the host unit tests drive it through forwarded accesses
 * (tests/unit/test_blk.c).
 */
#ifndef BLK_VBLK_H
#define BLK_VBLK_H
#include "blk.h"
#include <stdbool.h>
#include <stdint.h>
#include <devsrv.h>
#include <virtio_mmio.h>

/* Virtio 1.2 5.2.6: struct virtio_blk_req { le32 type; le32 reserved;
 * le64 sector; u8 data[]; u8 status; }. */
#define VIRTIO_BLK_T_IN          0u
#define VIRTIO_BLK_T_OUT         1u
#define VIRTIO_BLK_T_FLUSH       4u
#define VIRTIO_BLK_T_GET_ID      8u
#define VIRTIO_BLK_S_OK          0u
#define VIRTIO_BLK_S_IOERR       1u
#define VIRTIO_BLK_S_UNSUPP      2u
#define VIRTIO_BLK_HDR_SIZE      16u
#define VIRTIO_BLK_ID_BYTES      20u      /* 5.2.6: the GET_ID string, NUL padded */
#define VIRTIO_BLK_SECTOR_SIZE   512u     /* 5.2.6: sector numbers are in 512-byte units */
/* Feature bits (Virtio 1.2 5.2.3). */
#define VIRTIO_BLK_F_FLUSH       9
/* Configuration space (5.2.4): le64 capacity (in 512-byte sectors) at 0,
 * then size_max, seg_max, geometry, blk_size; only capacity is valid
 * without their features, the rest read as 0. */
#define VIRTIO_BLK_CFG_CAPACITY  0u
#define VBLK_CONFIG_SIZE         24u

#define VBLK_QUEUE_SIZE          128      /* QueueNumMax of requestq */
#define VBLK_REQUESTQ            0        /* 5.2.2: one queue (no VIRTIO_BLK_F_MQ) */
#define VBLK_QUEUES              1
#define VBLK_MAX_SEGS            64       /* pieces of one chain we take */
/* The longest chain taken (a longer one breaks the queue): bounds the
 * time one kick keeps the VMM waiting. 1 MiB of data + header + status. */
#define VBLK_MAX_CHAIN_BYTES     (0x100000u + VIRTIO_BLK_HDR_SIZE + 1)
#define VBLK_BOUNCE_SECTORS      8        /* disk I/O in pieces of 4 KiB */
#define VBLK_WINDOW_SIZE         0x1000u
#define VBLK_LINE_MAX            160

typedef struct {
    char name[BLK_NAME_MAX];        /* the server's monitor name */
    char vm[BLK_NAME_MAX];
    uint64_t ram_bytes;
    void (*emit)(const char *text); /* one log line, without '\n' */
    blk_disk_t *disk;
    /* Called when an OUT's data has reached the disk, before its chain is
     * used (NULL: nothing): the server's test option that crashes it in
     * the middle of a request (blk.fault=die:N, main.c). */
    void (*written)(void);
    blk_part_t part;                /* the VM's partition: its sector 0 is part.first */
    bool usable;                    /* the partition lies on a disk */
    blk_dirty_t dirty;              /* the chunks the VM wrote since its checkpoint monitor
                                       last took them (blk_proto.h BLK_REQ_VM_DIRTY; set
                                       up by the caller, blk_dirty_init) */
    virtio_ram_window_t window[2];  /* the VM's frames; its paged RAM (ds_paged.h), if set */
    virtio_ram_t ram;
    virtio_mmio_queue_t queues[VBLK_QUEUES];
    virtio_mmio_dev_t dev;
    uint8_t bounce[VBLK_BOUNCE_SECTORS * VIRTIO_BLK_SECTOR_SIZE];
    /* counts */
    uint64_t accesses, kicks, requests, reads, writes, flushes, ioerrs, unsupp, refusals;
    unsigned logged;
} vblk_t;

/* The device over the VM's RAM, guest-physical 0 at @ram (ram_bytes
 * long); name, vm, ram_bytes, emit, disk, part and usable are set first.
 * False if virtio/ refuses it. */
bool vblk_init(vblk_t *v, uint8_t *ram);

/* One guest access forwarded by the VMM (as con_access). */
bool vblk_access(vblk_t *v, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                 uint32_t wvalue);

bool vblk_irq(const vblk_t *v);

/* A restarted server's DS_REQ_RESUME (devsrv.h, after the VMM replayed
 * the driver's register writes): requestq taken up from its used ring
 * (ds_resume), said once, and what is available served. Returns the
 * chains found available: those the old instance had taken and not used
 * (served again: a write writes the same sectors again, a read reads
 * them) and those the driver added since. */
unsigned vblk_resume(vblk_t *v, uint32_t flags);

/* A checkpoint's DS_REQ_SAVE (devsrv.h): nothing is in flight between
 * calls (each kick's requests are served whole before its reply), so the
 * device quiesces by flushing the disk's write cache (every block the
 * guest wrote is then on the medium before the image is written) and
 * exports its transport state into @st. False (said) if the flush fails
 * or a chain is in flight: the checkpoint is not taken. */
bool vblk_save(vblk_t *v, ds_state_t *st);

/* A restore's DS_REQ_LOAD (after the VMM replayed the driver's writes):
 * @st checked and taken (ds_state_import), said either way. 0 or a
 * DS_STATE_E_*. */
unsigned vblk_load(vblk_t *v, const ds_state_t *st);

#endif
