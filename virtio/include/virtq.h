/*
 * virtio/include/virtq.h - the device side of a split virtqueue (Virtio 1.2
 * 2.7), transport-independent. The driver (the guest) is hostile: every
 * index, length, address and flag it writes is checked before use, each
 * descriptor is read once into a private copy and checked there, and a
 * refusal has a named reason (virtq_err_t, virtq_strerror).
 *
 * Use: virtq_setup() when the driver enables the queue (the transport
 * checks its size and passes the negotiated features); then, each time
 * the queue is notified, virtq_pop() chains until VIRTQ_EMPTY, serve
 * each one through its segments, virtq_push() it back with the number of
 * bytes written, and after a batch ask virtq_need_notify() whether the
 * driver wants a used buffer notification.
 *
 * Guest memory (virtio_ram.h) is shared with a running guest: the bytes a
 * segment points at can change under the server at any time. Copy what
 * you parse, then check the copy.
 *
 * Not thread-safe: one server thread per queue.
 */
#ifndef VIRTQ_H
#define VIRTQ_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio_abi.h>
#include <virtio_ram.h>

/*
 * Results of the queue operations. VIRTQ_OK and VIRTQ_EMPTY are not errors.
 * The others are refusals; virtq_err_fatal() says which ones break the
 * queue (the ring itself cannot be trusted: the device needs a reset,
 * Virtio 1.2 2.1.2) and which ones fail one request only.
 */
typedef enum {
    VIRTQ_OK = 0,
    VIRTQ_EMPTY,                   /* no available buffer */
    /* the queue's state */
    VIRTQ_ERR_NOT_READY,           /* the queue is not set up (or was reset) */
    VIRTQ_ERR_BROKEN,              /* an earlier fatal error: the device needs a reset */
    /* setup (the transport's values) */
    VIRTQ_ERR_BAD_SIZE,            /* size 0, not a power of 2, or above 32768 */
    VIRTQ_ERR_MISALIGNED,          /* a ring part not at its alignment (2.7.1) */
    VIRTQ_ERR_RING_OUTSIDE_RAM,    /* a ring part not wholly in one RAM window */
    /* the rings (fatal) */
    VIRTQ_ERR_AVAIL_IDX_JUMP,      /* avail idx moved more than the queue size */
    VIRTQ_ERR_HEAD_OUT_OF_RANGE,   /* an avail ring entry is not a descriptor index */
    /* a descriptor chain */
    VIRTQ_ERR_NEXT_OUT_OF_RANGE,   /* 'next' beyond the table */
    VIRTQ_ERR_CHAIN_TOO_LONG,      /* more descriptors than the queue size: a loop */
    VIRTQ_ERR_BUFFER_OUTSIDE_RAM,  /* addr/len not in guest RAM */
    VIRTQ_ERR_ADDR_OVERFLOW,       /* addr + len wraps 64 bits */
    VIRTQ_ERR_WRITE_TO_READ_ONLY,  /* a device-writable buffer in read-only memory */
    VIRTQ_ERR_READABLE_AFTER_WRITABLE, /* device-readable after device-writable (2.7.4.2) */
    VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED, /* VIRTQ_DESC_F_INDIRECT without the feature */
    VIRTQ_ERR_INDIRECT_WITH_NEXT,  /* INDIRECT and NEXT together (2.7.5.3.1) */
    VIRTQ_ERR_INDIRECT_NESTED,     /* INDIRECT inside an indirect table (2.7.5.3.1) */
    VIRTQ_ERR_INDIRECT_BAD_LEN,    /* table length 0 or not a multiple of 16 */
    VIRTQ_ERR_INDIRECT_OUTSIDE_RAM,/* the table is not in guest RAM */
    VIRTQ_ERR_CHAIN_TOO_BIG,       /* total length above the limit (2^32, 2.7.5.2) */
    VIRTQ_ERR_TOO_MANY_SEGMENTS,   /* more pieces than the caller's segment array holds */
    /* the server's own mistakes */
    VIRTQ_ERR_PUSH_BAD_HEAD,       /* pushing a head beyond the queue size */
    VIRTQ_ERR_PUSH_NONE_IN_FLIGHT, /* pushing more chains than were popped */
    VIRTQ_ERR_COUNT
} virtq_err_t;

const char *virtq_strerror(virtq_err_t err);
/* True for refusals after which the queue cannot go on (DEVICE_NEEDS_RESET). */
bool virtq_err_fatal(virtq_err_t err);

/* What to do with a malformed chain whose head is valid. */
typedef enum {
    VIRTQ_BAD_CHAIN_BREAKS,   /* the queue is broken: DEVICE_NEEDS_RESET (default) */
    VIRTQ_BAD_CHAIN_FAILS,    /* the chain is consumed and handed back to be pushed
                                 with length 0; the queue goes on */
} virtq_bad_chain_t;

/* A piece of a chain in the server's address space. */
typedef struct {
    uint8_t *host;
    uint32_t len;             /* not 0 */
    bool writable;            /* device-writable (else device-readable) */
} virtq_seg_t;

/* What virtq_pop found. */
typedef struct {
    uint16_t head;            /* the id to push back */
    unsigned nsegs;           /* segments filled: readable ones first */
    uint64_t readable;        /* bytes in readable segments */
    uint64_t writable;        /* bytes in writable segments */
    unsigned descs;           /* descriptors visited (indirect ones counted) */
} virtq_chain_t;

typedef struct {
    /* set by virtq_setup */
    const virtio_ram_t *ram;
    uint16_t size;
    bool event_idx;           /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;            /* VIRTIO_F_INDIRECT_DESC negotiated */
    bool ready;
    uint64_t desc_gpa;
    uint64_t avail_gpa, used_gpa;
    bool paged;               /* a window of its RAM is paged: rings re-pinned per pop */
    volatile uint8_t *desc;   /* host address of the descriptor table */
    volatile uint8_t *avail;  /* host address of the available ring */
    volatile uint8_t *used;   /* host address of the used ring */
    /* policy, changeable after setup */
    virtq_bad_chain_t on_bad_chain;
    uint64_t max_chain_bytes; /* limit on a chain's total length (<= 2^32) */
    /* device state */
    uint16_t last_avail;      /* next available ring entry to take */
    uint16_t used_idx;        /* the used idx the device last published */
    uint16_t signalled_used;  /* used_idx when the last notification was decided */
    uint32_t in_flight;       /* chains popped and not yet pushed */
    bool notify_off;          /* the device asked for no available buffer notifications */
    bool broken;              /* a fatal error: nothing more until a reset */
    virtq_err_t error;        /* the first fatal error */
} virtq_t;

/* The queue parameters a transport collected from the driver. */
typedef struct {
    uint32_t size;            /* QueueNum */
    uint64_t desc, avail, used;   /* Descriptor, Driver and Device Area addresses */
    bool event_idx, indirect; /* negotiated features */
} virtq_config_t;

/* Start a queue not ready, with the default policy (VIRTQ_BAD_CHAIN_BREAKS,
 * chains up to 2^32 bytes). */
void virtq_init(virtq_t *q);

/* Forget the ring and its state (the queue is not ready); the policy stays. */
void virtq_reset(virtq_t *q);

/* Check @cfg (size a power of 2 up to 32768, each part aligned and wholly
 * in one RAM window, writable for the used ring) and make the queue
 * ready with its indexes at 0, as a freshly zeroed ring has them. On a
 * refusal the queue stays not ready. */
virtq_err_t virtq_setup(virtq_t *q, const virtio_ram_t *ram, const virtq_config_t *cfg);

/*
 * Take the next available chain: its segments in @segs (at most @max),
 * readable ones first, and its head and totals in @chain.
 *   VIRTQ_OK:    served; push chain->head back when done.
 *   VIRTQ_EMPTY: nothing is available.
 *   an error:    if virtq_err_fatal(), the queue is broken (q->broken, and
 *                every later call says VIRTQ_ERR_BROKEN); otherwise, with
 *                VIRTQ_BAD_CHAIN_FAILS, the chain was consumed: push
 *                chain->head back with length 0. With VIRTQ_BAD_CHAIN_BREAKS
 *                (the default) every chain error is fatal.
 */
virtq_err_t virtq_pop(virtq_t *q, virtq_seg_t *segs, unsigned max, virtq_chain_t *chain);

/* Hand chain @head back with @len bytes written into its writable part
 * (Virtio 1.2 2.7.8.2: the element is complete before used idx moves). */
virtq_err_t virtq_push(virtq_t *q, uint16_t head, uint32_t len);

/* After one or more pushes: does the driver want a used buffer
 * notification now (2.7.7.2)? Call once per batch. */
bool virtq_need_notify(virtq_t *q);

/*
 * Available buffer notification suppression (2.7.10.2): @enable false asks
 * the driver not to notify (the server is polling); true asks it to. With
 * @enable true the result says whether buffers arrived meanwhile (pop
 * again: the driver may have added them before it saw the request).
 */
bool virtq_set_notify(virtq_t *q, bool enable);

/*
 * A device that replaces another over a live ring (a restarted device
 * server, device-servers/README.md "Restart") takes up the work where the
 * used ring says the old one left it: last_avail and used_idx become the
 * used idx in guest memory. For a device that serves in order (each chain
 * pushed before the next is popped: the block server), every entry before
 * that idx was used and none after: the ones after, taken by the old
 * device and never used, are available again (replayed), none is lost
 * and none is used twice. Returns how many entries are available from
 * there (more than the queue size: the next pop breaks the queue, as a
 * driver that moved its idx so far would). The queue must be ready.
 */
uint16_t virtq_resume(virtq_t *q);

/*
 * A queue's progress for a checkpoint (device-servers/README.md
 * "Checkpoints"): what the device keeps of a live ring besides its
 * configuration (which the transport's registers give back). Exported
 * only with no chain in flight (every chain taken was used: last_avail
 * equals used_idx); an import is hostile input (an image on a disk).
 */
typedef struct {
    uint16_t last_avail, used_idx, signalled_used;
    uint8_t notify_off, broken;     /* 0 or 1 */
    uint32_t error;                 /* virtq_err_t: VIRTQ_OK, or why a broken queue broke */
} virtq_progress_t;

/* @q's progress into @p; false (nothing written) if a chain is in flight
 * (the server must finish it first). A queue not set up exports zeros. */
bool virtq_export(const virtq_t *q, virtq_progress_t *p);

/* Take up @p on @q (set up from the same configuration over the same guest
 * memory): NULL, or why it was refused (then @q is unchanged). Checked: a
 * queue not set up takes only zeros; nothing in flight (last_avail =
 * used_idx); the used idx is the one in guest memory (2.7.8: only the
 * device writes it); flags 0 or 1; a broken queue names an error, a queue
 * that is not names none. */
const char *virtq_import(virtq_t *q, const virtq_progress_t *p);

#endif
