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

typedef struct {
    uint64_t gpa;        /* first guest-physical byte */
    uint64_t size;       /* bytes; not 0 */
    uint8_t *host;       /* where that byte is in this address space */
    uint32_t flags;      /* VIRTIO_RAM_* */
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

/* Copy @len bytes at guest-physical @gpa to @dst, across windows that are
 * adjacent in guest-physical space; false (and @dst unspecified) if any
 * byte is outside RAM. Each byte is read once. */
bool virtio_ram_read(const virtio_ram_t *ram, uint64_t gpa, void *dst, uint64_t len);

#endif
