/*
 * virtio/include/virtio_ram.h - a VM's RAM as the device side sees it: a
 * list of windows, each a guest-physical range mapped at a host address in
 * the caller's address space (the VMM's own mapping of the VM's frames, or
 * a device server's mapping of the frames it was granted). Guest-physical
 * GPA in a window is at host + (GPA - window.gpa); anything outside every
 * window is not memory the device may touch.
 *
 * The windows belong to the caller; this code keeps only pointers to them.
 */
#ifndef VIRTIO_RAM_H
#define VIRTIO_RAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_RAM_READ_ONLY  0x1u   /* the device may read but never write here */

/*
 * A paged window (device-servers/README.md "Paged RAM"): guest RAM a pager
 * owns (pager/README.md), not mapped in the caller's space until asked
 * for. Its host range is reserved: page P of the window, once resident,
 * is mapped at host + (P - gpa), so pointers keep their meaning across
 * pins. Before any address in it is handed out, each page under it is
 * made resident (pin: the pager pins the page and the caller maps it,
 * writable only if the device is to write it). At most @max pages are
 * pinned at a time; the least recently used one that was not used in the
 * current epoch is unpinned for a new one. An epoch is the life of the
 * pointers handed out: virtio_ram_new_epoch starts one (virtq_pop does,
 * per chain), and every page handed out since stays pinned and mapped
 * until the next. A range that would need more pins than that is refused
 * (NULL from the lookups: a buffer outside RAM to virtq).
 */
#define VIRTIO_RAM_PAGE       4096u
#define VIRTIO_RAM_PINS_MAX   32u

typedef struct {
    uint64_t gpa;        /* the page's first byte */
    uint64_t stamp;      /* last use, for LRU */
    uint64_t epoch;      /* the epoch it was last handed out in */
    bool live, write;    /* pinned; mapped writable */
} virtio_ram_pin_t;

typedef struct {
    /* the caller's side: pin page @gpa into pin slot @slot and map it at
     * its place (writable with @write); false if the pager refused or the
     * mapping failed (nothing left pinned) */
    bool (*pin)(void *ctx, unsigned slot, uint64_t gpa, bool write);
    /* unmap page @gpa of slot @slot and tell the pager */
    void (*unpin)(void *ctx, unsigned slot, uint64_t gpa);
    void *ctx;
    unsigned max;        /* pins at most: 1 to VIRTIO_RAM_PINS_MAX */
    uint64_t epoch, stamp;
    virtio_ram_pin_t pins[VIRTIO_RAM_PINS_MAX];
    uint64_t pinned, unpinned, refused;     /* counts: pins made, dropped, refused */
} virtio_ram_paged_t;

typedef struct {
    uint64_t gpa;        /* first guest-physical byte */
    uint64_t size;       /* bytes; not 0 */
    uint8_t *host;       /* where that byte is in this address space */
    uint32_t flags;      /* VIRTIO_RAM_* */
    virtio_ram_paged_t *paged;  /* not NULL: a paged window (above) */
} virtio_ram_window_t;

typedef struct {
    const virtio_ram_window_t *windows;
    unsigned count;
} virtio_ram_t;

/* Why virtio_ram_check refused a window list. */
typedef enum {
    VIRTIO_RAM_OK = 0,
    VIRTIO_RAM_EMPTY_WINDOW,      /* a window of size 0 */
    VIRTIO_RAM_GPA_WRAPS,         /* gpa + size overflows 64 bits */
    VIRTIO_RAM_HOST_WRAPS,        /* host + size overflows the address space */
    VIRTIO_RAM_GPA_OVERLAP,       /* two windows share guest-physical bytes */
    VIRTIO_RAM_PAGED_SHAPE,       /* a paged window not in whole pages, or its max out of range */
} virtio_ram_err_t;

/* Check a window list once, before use: every later lookup relies on it. */
virtio_ram_err_t virtio_ram_check(const virtio_ram_t *ram);
const char *virtio_ram_strerror(virtio_ram_err_t err);

/*
 * The host address of [@gpa, @gpa + @len) if it lies wholly in one window
 * (and, with @write, one the device may write); NULL otherwise (also when
 * gpa + len overflows). @len 0 is refused: there is nothing to map.
 */
uint8_t *virtio_ram_map(const virtio_ram_t *ram, uint64_t gpa, uint64_t len, bool write);

/*
 * The longest piece starting at @gpa that is contiguous in one window:
 * its host address, and in *@piece its length (at most @len). NULL if @gpa
 * is in no window (or not a writable one, with @write).
 */
uint8_t *virtio_ram_piece(const virtio_ram_t *ram, uint64_t gpa, uint64_t len, bool write,
                          uint64_t *piece);

/* Is @gpa in a window the device may only read? (Nothing is pinned.) */
bool virtio_ram_read_only(const virtio_ram_t *ram, uint64_t gpa);

/* A new epoch in every paged window of @ram: the pointers handed out
 * before may go (their pages unpinned) when new pages need the pins. */
void virtio_ram_new_epoch(const virtio_ram_t *ram);

/* Make [@gpa, @gpa + @len) of paged window @p resident (@len > 0, inside
 * the window): each page pinned, writable with @write, stamped in the
 * current epoch. False (counted in refused) if it needs more pins than
 * are free or reusable, or a pin fails. */
bool virtio_ram_resident(virtio_ram_paged_t *p, uint64_t gpa, uint64_t len, bool write);

/* Drop every pin of @p (a reset, or the server's end). */
void virtio_ram_unpin_all(virtio_ram_paged_t *p);

/* Copy @len bytes at guest-physical @gpa to @dst, across windows that are
 * adjacent in guest-physical space; false (and @dst unspecified) if any
 * byte is outside RAM. Each byte is read once. */
bool virtio_ram_read(const virtio_ram_t *ram, uint64_t gpa, void *dst, uint64_t len);

#endif
