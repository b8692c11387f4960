/*
 * device-servers/include/ds_paged.h - a device server's view of its VM's
 * paged RAM (device-servers/README.md "Paged RAM"): the RAM a pager owns
 * (pager/README.md "Device DMA") as a paged window of virtio_ram.h, its
 * pages pinned through the pager and mapped at their places on demand.
 *
 * At setup (ds_paged_setup), a VM with paged RAM (devsrv.h
 * DS_SETUP_MR_PAGED_BYTES) brings a capability to its pager badged for
 * this device (DS_GRANT_PAGER); the server asks the pager to drop any pin
 * an earlier instance of it held, and the window [end of the frames, end
 * of RAM) is reserved at its place after the frames' mapping. Then each
 * pin (virtio_ram.h's callback) is one call to the pager: the page made
 * resident and pinned, a copy of its frame received into one of the
 * server's DS_PAGED_PINS slots and mapped (read-only unless the device is
 * to write); each unpin deletes the copy (the mapping goes with it) and
 * tells the pager. The pager bounds the pins of each server too
 * (pager_proto.h), and revokes a copy at unpin whatever the server did.
 */
#ifndef DS_PAGED_H
#define DS_PAGED_H
#include <stdbool.h>
#include <stdint.h>
#include <user/space.h>
#include <user/sys.h>
#include <devsrv.h>
#include <virtio_ram.h>

#define DS_PAGED_PINS   16u     /* pins a server holds at most (a chain's pages and its rings) */
#define DS_PAGED_PINS_MIN 4u    /* fewer from the pager: refused (a chain's header, data, status, ring) */
#define DS_PAGED_LOG_MAX 16     /* refusals said, then counted */

typedef struct {
    nestor_cptr_t pager;        /* the badged capability (0: the VM is not paged) */
    nu_alloc_t *alloc;
    nestor_cptr_t slot0;        /* pin i's frame copy at root slot slot0 + i */
    uint64_t gpa, size;         /* the window: guest-physical first byte, bytes */
    uint8_t *host;              /* ... where it is mapped when pinned */
    const char *who;            /* the log prefix ("blk disk: vm V") */
    unsigned logged;
    uint64_t from_swap;         /* pins the pager read back from swap */
    unsigned limit;             /* pins the pager allows this server */
    virtio_ram_paged_t paged;
} ds_paged_t;

/* The paged RAM's bytes in setup message @m (DS_SETUP_MR_PAGED_BYTES: past
 * the registers, in the IPC buffer): read it before any other system
 * call overwrites the buffer. 0 from a shorter message. */
static inline uint64_t ds_setup_paged_bytes(const nu_msg_t *m)
{
    return nestor_msginfo_length(m->info) > DS_SETUP_MR_PAGED_BYTES
               ? nu_ipc_buffer()->msg[DS_SETUP_MR_PAGED_BYTES] : 0;
}

/*
 * The paged part of setup message @m, @paged bytes of it
 * (ds_setup_paged_bytes; after ds_map_ram took the frames
 * from @node, mapped from @va on): with no paged RAM, true and
 * p->pager 0 (no window); else its numbers checked (whole pages, RAM and
 * paged RAM together at most DS_MAX_RAM_BYTES), the pager's capability
 * copied out of @node, the pager asked to drop this device's old pins,
 * and *@w made the paged window at @va + the frames' bytes. False:
 * refused (said, with @who as the prefix).
 */
bool ds_paged_setup(ds_paged_t *p, nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *m,
                    uint64_t paged, uint64_t va, const char *who, virtio_ram_window_t *w);

/*
 * The isolation a hostile server meets, checked against the pager and the
 * kernel once, right after ds_paged_setup (a server's test option): pins
 * below, past and inside-but-unaligned the range refused; a read-only pin
 * not mappable writable; a copy the server keeps past its unpin revoked by
 * the pager; the pager's limit of pins held, one more refused, all of them
 * revoked by PAGER_REQ_UNPIN_ALL. Prints one line (@p->who first); false
 * if any of it did not hold.
 */
bool ds_paged_check(ds_paged_t *p);

#endif
