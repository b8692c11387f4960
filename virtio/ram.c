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
        /* A paged window is pinned and mapped a page at a time. */
        if (w->paged && ((w->gpa | w->size | (uintptr_t)w->host) % VIRTIO_RAM_PAGE ||
                         w->paged->max == 0 || w->paged->max > VIRTIO_RAM_PINS_MAX ||
                         !w->paged->pin || !w->paged->unpin))
            return VIRTIO_RAM_PAGED_SHAPE;
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
    case VIRTIO_RAM_PAGED_SHAPE:  return "a paged RAM window not in whole pages";
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

bool virtio_ram_read_only(const virtio_ram_t *ram, uint64_t gpa)
{
    const virtio_ram_window_t *w = window_of(ram, gpa);
    return w && (w->flags & VIRTIO_RAM_READ_ONLY);
}

/* ---- paged windows ---- */

void virtio_ram_new_epoch(const virtio_ram_t *ram)
{
    for (unsigned i = 0; i < ram->count; i++)
        if (ram->windows[i].paged)
            ram->windows[i].paged->epoch++;
}

static void drop(virtio_ram_paged_t *p, unsigned slot)
{
    p->unpin(p->ctx, slot, p->pins[slot].gpa);
    p->pins[slot].live = false;
    p->unpinned++;
}

/* A slot for a new pin: a free one, else the least recently used one not
 * used in this epoch (unpinned first); VIRTIO_RAM_PINS_MAX if none. */
static unsigned free_slot(virtio_ram_paged_t *p)
{
    unsigned lru = VIRTIO_RAM_PINS_MAX;
    for (unsigned s = 0; s < p->max; s++) {
        const virtio_ram_pin_t *q = &p->pins[s];
        if (!q->live)
            return s;
        if (q->epoch != p->epoch && (lru == VIRTIO_RAM_PINS_MAX || q->stamp < p->pins[lru].stamp))
            lru = s;
    }
    if (lru != VIRTIO_RAM_PINS_MAX)
        drop(p, lru);
    return lru;
}

/* Page @page (aligned) resident, writable with @write. */
static bool resident_page(virtio_ram_paged_t *p, uint64_t page, bool write)
{
    unsigned s = 0;
    while (s < p->max && !(p->pins[s].live && p->pins[s].gpa == page))
        s++;
    if (s < p->max && write && !p->pins[s].write)
        drop(p, s);             /* read-only so far: pinned again, writable */
    else if (s == p->max && (s = free_slot(p)) == VIRTIO_RAM_PINS_MAX)
        return false;
    if (!p->pins[s].live) {
        if (!p->pin(p->ctx, s, page, write))
            return false;
        p->pins[s] = (virtio_ram_pin_t){ .gpa = page, .live = true, .write = write };
        p->pinned++;
    }
    p->pins[s].stamp = ++p->stamp;
    p->pins[s].epoch = p->epoch;
    return true;
}

bool virtio_ram_resident(virtio_ram_paged_t *p, uint64_t gpa, uint64_t len, bool write)
{
    const uint64_t first = gpa & ~(uint64_t)(VIRTIO_RAM_PAGE - 1);
    const uint64_t pages = (gpa - first + (len - 1)) / VIRTIO_RAM_PAGE + 1;
    bool ok = len > 0 && pages <= p->max;
    for (uint64_t i = 0; ok && i < pages; i++)
        ok = resident_page(p, first + i * VIRTIO_RAM_PAGE, write);
    if (!ok)
        p->refused++;
    return ok;
}

void virtio_ram_unpin_all(virtio_ram_paged_t *p)
{
    for (unsigned s = 0; s < p->max; s++)
        if (p->pins[s].live)
            drop(p, s);
}

uint8_t *virtio_ram_piece(const virtio_ram_t *ram, uint64_t gpa, uint64_t len, bool write,
                          uint64_t *piece)
{
    const virtio_ram_window_t *w = window_of(ram, gpa);
    if (!w || (write && (w->flags & VIRTIO_RAM_READ_ONLY)))
        return NULL;
    uint64_t off = gpa - w->gpa, left = w->size - off;
    *piece = len < left ? len : left;
    if (w->paged && (*piece == 0 || !virtio_ram_resident(w->paged, gpa, *piece, write)))
        return NULL;
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
