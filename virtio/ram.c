/*
 * virtio/ram.c - guest-physical to host translation over the caller's RAM
 * windows (virtio_ram.h). Every check is written so that no sum can wrap:
 * lengths are compared against what is left of a window, never added to an
 * address first.
 */
#include <virtio_ram.h>

virtio_ram_err_t virtio_ram_check(const virtio_ram_t *ram)
{
    for (unsigned i = 0; i < ram->count; i++) {
        const virtio_ram_window_t *w = &ram->windows[i];
        if (w->size == 0)
            return VIRTIO_RAM_EMPTY_WINDOW;
        if (w->gpa + (w->size - 1) < w->gpa)
            return VIRTIO_RAM_GPA_WRAPS;
        if ((uintptr_t)w->host + (uintptr_t)(w->size - 1) < (uintptr_t)w->host ||
            w->size - 1 > (uint64_t)UINTPTR_MAX)
            return VIRTIO_RAM_HOST_WRAPS;
        for (unsigned j = 0; j < i; j++) {
            const virtio_ram_window_t *o = &ram->windows[j];
            /* Inclusive last bytes: neither range ends before the other begins. */
            if (w->gpa <= o->gpa + (o->size - 1) && o->gpa <= w->gpa + (w->size - 1))
                return VIRTIO_RAM_GPA_OVERLAP;
        }
    }
    return VIRTIO_RAM_OK;
}

const char *virtio_ram_strerror(virtio_ram_err_t err)
{
    switch (err) {
    case VIRTIO_RAM_OK:           return "ok";
    case VIRTIO_RAM_EMPTY_WINDOW: return "a RAM window of size 0";
    case VIRTIO_RAM_GPA_WRAPS:    return "a RAM window wraps the guest-physical space";
    case VIRTIO_RAM_HOST_WRAPS:   return "a RAM window wraps the host address space";
    case VIRTIO_RAM_GPA_OVERLAP:  return "two RAM windows overlap";
    }
    return "unknown RAM window error";
}

/* The window holding @gpa, or NULL. */
static const virtio_ram_window_t *window_of(const virtio_ram_t *ram, uint64_t gpa)
{
    for (unsigned i = 0; i < ram->count; i++) {
        const virtio_ram_window_t *w = &ram->windows[i];
        if (gpa >= w->gpa && gpa - w->gpa < w->size)
            return w;
    }
    return NULL;
}

uint8_t *virtio_ram_piece(const virtio_ram_t *ram, uint64_t gpa, uint64_t len, bool write,
                          uint64_t *piece)
{
    const virtio_ram_window_t *w = window_of(ram, gpa);
    if (!w || (write && (w->flags & VIRTIO_RAM_READ_ONLY)))
        return NULL;
    uint64_t off = gpa - w->gpa, left = w->size - off;
    *piece = len < left ? len : left;
    return w->host + off;
}

uint8_t *virtio_ram_map(const virtio_ram_t *ram, uint64_t gpa, uint64_t len, bool write)
{
    uint64_t piece;
    if (len == 0)
        return NULL;
    uint8_t *p = virtio_ram_piece(ram, gpa, len, write, &piece);
    return p && piece == len ? p : NULL;
}

bool virtio_ram_read(const virtio_ram_t *ram, uint64_t gpa, void *dst, uint64_t len)
{
    uint8_t *out = dst;
    while (len) {
        uint64_t piece;
        const volatile uint8_t *src = virtio_ram_piece(ram, gpa, len, false, &piece);
        if (!src)
            return false;
        /* Byte by byte through volatile: the guest may be writing these
         * bytes now; the caller checks the copy, never the original. */
        for (uint64_t i = 0; i < piece; i++)
            out[i] = src[i];
        out += piece;
        len -= piece;
        if (len && gpa + piece < gpa)      /* the next byte would wrap to 0 */
            return false;
        gpa += piece;
    }
    return true;
}
