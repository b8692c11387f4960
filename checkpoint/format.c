/*
 * checkpoint/format.c - checksums, stack identity and the checks of a
 * checkpoint image (include/ckpt_format.h). Pure code: built into the
 * checkpoint monitor, the VMM (restore) and the host tool, and unit tested
 * (tests/unit/test_ckpt.c). A reader trusts nothing in an image: every
 * size and offset is checked against the medium and the format's limits
 * before it is used, and a failure says which check and what it saw.
 */
#include "include/ckpt_format.h"
#include <fmt.h>
#include <string.h>

_Static_assert(sizeof(ckpt_header_t) == CKPT_HEADER_BYTES, "header layout");
_Static_assert(sizeof(ckpt_section_t) == 24, "section entry layout");
_Static_assert(sizeof(ckpt_ram_t) == 32, "RAM section header layout");
_Static_assert(sizeof(ckpt_dev_record_t) == 16, "device record layout");
_Static_assert(sizeof(ckpt_disk_t) == 32, "disk section header layout");
_Static_assert(CKPT_HEADER_BYTES + CKPT_MAX_SECTIONS * sizeof(ckpt_section_t) <= CKPT_ALIGN,
               "header and table fit the first sector");

/* CRC-32, IEEE 802.3 reflected polynomial, a byte at a time through a
 * table built at the first call (every RAM byte of a checkpoint goes
 * through here twice: bit by bit would cost ~8 times more). */
#define CRC32_POLY_REFLECTED 0xEDB88320u

static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (unsigned k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32_POLY_REFLECTED & (0u - (c & 1)));
        crc_table[i] = c;
    }
}

uint32_t ckpt_crc32(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    if (crc_table[1] == 0)
        crc_table_init();
    crc = ~crc;
    while (n--)
        crc = (crc >> 8) ^ crc_table[(crc ^ *p++) & 0xFF];
    return ~crc;
}

uint64_t ckpt_fnv1a(uint64_t h, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n--) {
        h ^= *p++;
        h *= CKPT_FNV_PRIME;
    }
    return h;
}

uint64_t ckpt_stack_id(const char *vm, uint64_t ram_bytes, const char *image,
                       const char *devices)
{
    uint64_t h = CKPT_FNV_OFFSET;
    uint8_t ram[8];
    for (unsigned i = 0; i < 8; i++)
        ram[i] = (uint8_t)(ram_bytes >> (8 * i));
    h = ckpt_fnv1a(h, vm, strlen(vm) + 1);
    h = ckpt_fnv1a(h, ram, sizeof ram);
    h = ckpt_fnv1a(h, image, strlen(image) + 1);
    return ckpt_fnv1a(h, devices, strlen(devices) + 1);
}

uint32_t ckpt_header_crc(const ckpt_header_t *h, const ckpt_section_t *sec)
{
    ckpt_header_t copy = *h;
    copy.header_crc = 0;
    const uint32_t c = ckpt_crc32(CKPT_CRC_INIT, &copy, sizeof copy);
    return ckpt_crc32(c, sec, h->n_sections * sizeof(ckpt_section_t));
}

/* ---- the writer ---- */

void ckpt_w_init(ckpt_writer_t *w, ckpt_write_fn fn, void *ctx, uint8_t *buf)
{
    *w = (ckpt_writer_t){ .write = fn, .ctx = ctx, .buf = buf, .buf_off = CKPT_DATA_START,
                          .off = CKPT_DATA_START, .image_crc = CKPT_CRC_INIT };
}

/* Hand the staged whole sectors (all of them, zero-padded, with @all) on. */
static bool flush(ckpt_writer_t *w, bool all)
{
    size_t n = all ? (size_t)ckpt_align(w->fill) : w->fill & ~(size_t)(CKPT_ALIGN - 1);
    if (!n || w->failed)
        return !w->failed;
    if (n > w->fill)
        memset(w->buf + w->fill, 0, n - w->fill);
    if (!w->write(w->ctx, w->buf_off, w->buf, n)) {
        w->failed = true;
        return false;
    }
    memmove(w->buf, w->buf + n, w->fill > n ? w->fill - n : 0);
    w->fill = w->fill > n ? w->fill - n : 0;
    w->buf_off += n;
    return true;
}

static bool put(ckpt_writer_t *w, const void *p, size_t n, bool section)
{
    const uint8_t *b = p;
    if (w->failed)
        return false;
    w->image_crc = ckpt_crc32(w->image_crc, b, n);
    if (section) {
        ckpt_section_t *s = &w->sec[w->n - 1];
        s->crc = ckpt_crc32(s->crc, b, n);
        s->bytes += n;
    }
    w->off += n;
    while (n) {
        size_t k = CKPT_SCRATCH - w->fill;
        if (k > n)
            k = n;
        memcpy(w->buf + w->fill, b, k);
        w->fill += k;
        b += k;
        n -= k;
        if (w->fill == CKPT_SCRATCH && !flush(w, false))
            return false;
    }
    return true;
}

bool ckpt_w_pad(ckpt_writer_t *w)
{
    static const uint8_t zero[CKPT_ALIGN];
    const size_t n = (size_t)(ckpt_align(w->off) - w->off);
    return put(w, zero, n, w->open);
}

bool ckpt_w_section(ckpt_writer_t *w, uint32_t type)
{
    w->open = false;
    if (w->n == CKPT_MAX_SECTIONS || !ckpt_w_pad(w))
        return false;
    w->sec[w->n++] = (ckpt_section_t){ .type = type, .crc = CKPT_CRC_INIT, .offset = w->off };
    w->open = true;
    return true;
}

bool ckpt_w_put(ckpt_writer_t *w, const void *p, size_t n)
{
    return w->open && put(w, p, n, true);
}

bool ckpt_w_finish(ckpt_writer_t *w, ckpt_header_t *h)
{
    if (w->failed || w->n == 0 || !flush(w, true))
        return false;
    memcpy(h->magic, CKPT_MAGIC, CKPT_MAGIC_BYTES);
    h->version = CKPT_VERSION;
    h->header_bytes = CKPT_HEADER_BYTES;
    h->image_bytes = w->off;
    h->n_sections = w->n;
    memset(h->reserved, 0, sizeof h->reserved);
    h->image_crc = w->image_crc;
    h->header_crc = ckpt_header_crc(h, w->sec);
    memset(w->buf, 0, CKPT_ALIGN);
    memcpy(w->buf, h, sizeof *h);
    memcpy(w->buf + sizeof *h, w->sec, w->n * sizeof(ckpt_section_t));
    return w->write(w->ctx, 0, w->buf, CKPT_ALIGN);
}

static bool fail(ckpt_verdict_t *v, ckpt_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(ckpt_verdict_t *v, ckpt_err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v->err = e;
    fmt_vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
    return false;
}

static bool rd(const ckpt_medium_t *m, uint64_t off, void *buf, size_t n, ckpt_verdict_t *v)
{
    if (off > m->limit || m->limit - off < n)
        return fail(v, CKPT_E_SHORT, "the medium ends at byte %lu, the image needs %lu-%lu",
                    (unsigned long)m->limit, (unsigned long)off, (unsigned long)(off + n));
    if (!m->read(m->ctx, off, buf, n))
        return fail(v, CKPT_E_IO, "cannot read %lu bytes at byte %lu", (unsigned long)n,
                    (unsigned long)off);
    return true;
}

/* CRC-32 of [off, off + n) of the medium, read through the scratch buffer. */
static bool crc_range(const ckpt_medium_t *m, uint64_t off, uint64_t n, uint32_t *crc,
                      ckpt_verdict_t *v)
{
    while (n) {
        size_t k = n < CKPT_SCRATCH ? (size_t)n : CKPT_SCRATCH;
        if (!rd(m, off, m->scratch, k, v))
            return false;
        *crc = ckpt_crc32(*crc, m->scratch, k);
        off += k;
        n -= k;
    }
    return true;
}

bool ckpt_check_header(const ckpt_medium_t *m, uint64_t base, uint64_t expect_stack,
                       ckpt_header_t *h, ckpt_section_t *sec, ckpt_verdict_t *v)
{
    *v = (ckpt_verdict_t){ .err = CKPT_OK };
    if (!rd(m, base, h, sizeof *h, v))
        return false;
    if (memcmp(h->magic, CKPT_MAGIC, CKPT_MAGIC_BYTES) != 0)
        return fail(v, CKPT_E_MAGIC, "no checkpoint image at byte %lu (magic is not %s)",
                    (unsigned long)base, CKPT_MAGIC);
    if (h->version != CKPT_VERSION && h->version != CKPT_VERSION_2)
        return fail(v, CKPT_E_VERSION, "format version %u, this reader knows versions %u and %u",
                    h->version, CKPT_VERSION_2, CKPT_VERSION);
    /* The table's size comes from the header, not yet checked: bound it
     * before reading, then check both by the one checksum. */
    if (h->n_sections == 0 || h->n_sections > CKPT_MAX_SECTIONS)
        return fail(v, CKPT_E_LAYOUT, "%u sections (1 to %u)", h->n_sections,
                    CKPT_MAX_SECTIONS);
    if (!rd(m, base + CKPT_HEADER_BYTES, sec, h->n_sections * sizeof(ckpt_section_t), v))
        return false;
    const uint32_t got = ckpt_header_crc(h, sec);
    if (got != h->header_crc)
        return fail(v, CKPT_E_HEADER_CRC, "header checksum 0x%08x, the header's bytes give 0x%08x",
                    h->header_crc, got);
    if (h->header_bytes != CKPT_HEADER_BYTES || h->image_bytes < CKPT_DATA_START ||
        (h->kind != CKPT_KIND_FULL && h->kind != CKPT_KIND_INCREMENTAL) ||
        (h->kind == CKPT_KIND_FULL) != (h->seq == 0) ||
        h->ram_bytes == 0 || h->ram_bytes % CKPT_PAGE_SIZE ||
        h->pages > h->ram_bytes / CKPT_PAGE_SIZE ||
        memchr(h->vm_name, 0, CKPT_NAME_BYTES) == NULL ||
        (h->version == CKPT_VERSION_2 && (h->generation || h->parent_header_crc)) ||
        ((h->kind == CKPT_KIND_INCREMENTAL || h->generation == 0) && h->parent_header_crc))
        return fail(v, CKPT_E_LAYOUT, "header out of range: header %u bytes, %u sections, "
                    "image %lu bytes, kind %u seq %u generation %u parent 0x%08x, RAM %lu "
                    "bytes, %lu pages", h->header_bytes, h->n_sections,
                    (unsigned long)h->image_bytes, h->kind, h->seq, h->generation,
                    h->parent_header_crc, (unsigned long)h->ram_bytes, (unsigned long)h->pages);
    if (base > m->limit || m->limit - base < h->image_bytes)
        return fail(v, CKPT_E_SHORT, "truncated: the image says %lu bytes, the medium has %lu "
                    "from byte %lu", (unsigned long)h->image_bytes,
                    (unsigned long)(base > m->limit ? 0 : m->limit - base), (unsigned long)base);
    if (expect_stack && h->stack_id != expect_stack)
        return fail(v, CKPT_E_STACK, "taken of another stack (VM '%s', identity 0x%016lx; this "
                    "VM's is 0x%016lx)", h->vm_name, (unsigned long)h->stack_id,
                    (unsigned long)expect_stack);
    return true;
}

/* A section's own sizes: what its type says it must hold. */
static bool check_content(const ckpt_medium_t *m, uint64_t base, const ckpt_header_t *h,
                          const ckpt_section_t *s, ckpt_verdict_t *v)
{
    switch (s->type) {
    case CKPT_SEC_VCPU:
        if (s->bytes != sizeof(ckpt_vcpu_t))
            return fail(v, CKPT_E_CONTENT, "vcpu section of %lu bytes, expected %lu",
                        (unsigned long)s->bytes, (unsigned long)sizeof(ckpt_vcpu_t));
        return true;
    case CKPT_SEC_RAM: {
        ckpt_ram_t r;
        if (s->bytes < sizeof r || !rd(m, base + s->offset, &r, sizeof r, v))
            return v->err != CKPT_OK ? false
                                     : fail(v, CKPT_E_CONTENT, "ram section too short");
        const uint64_t max = h->ram_bytes / CKPT_PAGE_SIZE;
        const uint64_t list = r.encoding == CKPT_RAM_LIST ? r.pages * sizeof(uint64_t) : 0;
        if (r.page_size != CKPT_PAGE_SIZE || r.pages != h->pages || r.pages > max ||
            (r.encoding == CKPT_RAM_DENSE && r.first_page > max - r.pages) ||
            (r.encoding != CKPT_RAM_DENSE && r.encoding != CKPT_RAM_LIST) ||
            s->bytes != ckpt_align(sizeof r + list) + r.pages * CKPT_PAGE_SIZE)
            return fail(v, CKPT_E_CONTENT, "ram section: encoding %u, page size %u, %lu pages "
                        "from %lu in %lu bytes (the VM has %lu pages)", r.encoding,
                        r.page_size, (unsigned long)r.pages, (unsigned long)r.first_page,
                        (unsigned long)s->bytes, (unsigned long)max);
        /* Every listed page must be one of the VM's. */
        for (uint64_t i = 0; i < list / sizeof(uint64_t); i++) {
            uint64_t pn;
            if (!rd(m, base + s->offset + sizeof r + i * sizeof pn, &pn, sizeof pn, v))
                return false;
            if (pn >= max)
                return fail(v, CKPT_E_CONTENT, "ram section: page %lu listed, the VM has %lu",
                            (unsigned long)pn, (unsigned long)max);
        }
        return true;
    }
    case CKPT_SEC_DEVICES: {
        uint64_t off = 0;
        while (off < s->bytes) {
            ckpt_dev_record_t d;
            if (s->bytes - off < sizeof d || !rd(m, base + s->offset + off, &d, sizeof d, v))
                return v->err != CKPT_OK ? false
                                         : fail(v, CKPT_E_CONTENT, "devices: record cut short");
            const uint64_t len = (sizeof d + (uint64_t)d.bytes + 7) & ~7ull;
            if (len > s->bytes - off)
                return fail(v, CKPT_E_CONTENT, "devices: record %s of %u bytes past the section",
                            ckpt_dev_name(d.id), d.bytes);
            off += len;
        }
        return true;
    }
    case CKPT_SEC_DISK: {
        ckpt_disk_t d;
        if (s->bytes < sizeof d || !rd(m, base + s->offset, &d, sizeof d, v))
            return v->err != CKPT_OK ? false
                                     : fail(v, CKPT_E_CONTENT, "disk section too short");
        const bool pow2 = d.chunk_sectors && !(d.chunk_sectors & (d.chunk_sectors - 1));
        if ((d.encoding != CKPT_DISK_DENSE && d.encoding != CKPT_DISK_LIST) || !pow2 ||
            d.chunk_sectors < CKPT_DISK_CHUNK_MIN || d.chunk_sectors > CKPT_DISK_CHUNK_MAX ||
            d.disk_sectors == 0 || d.reserved)
            return fail(v, CKPT_E_CONTENT, "disk section: encoding %u, chunks of %u sectors, "
                        "a disk of %lu sectors", d.encoding, d.chunk_sectors,
                        (unsigned long)d.disk_sectors);
        /* The counts bounded by the section's own size before any product. */
        const uint64_t chunk_bytes = (uint64_t)d.chunk_sectors * CKPT_DISK_SECTOR;
        const uint64_t all = ckpt_disk_chunks(&d);
        const uint64_t list = d.encoding == CKPT_DISK_LIST ? d.chunks * sizeof(uint64_t) : 0;
        if (d.chunks > all || (d.encoding == CKPT_DISK_DENSE && d.chunks != all) ||
            d.chunks > s->bytes / chunk_bytes ||
            s->bytes != ckpt_align(sizeof d + list) + d.chunks * chunk_bytes)
            return fail(v, CKPT_E_CONTENT, "disk section: %lu chunks of %u sectors in %lu bytes "
                        "(encoding %u; the disk has %lu chunks)", (unsigned long)d.chunks,
                        d.chunk_sectors, (unsigned long)s->bytes, d.encoding,
                        (unsigned long)all);
        /* Every listed chunk one of the disk's, each once, in order. */
        for (uint64_t i = 0, prev = 0; i < list / sizeof(uint64_t); i++) {
            uint64_t k;
            if (!rd(m, base + s->offset + sizeof d + i * sizeof k, &k, sizeof k, v))
                return false;
            if (k >= all || (i && k <= prev))
                return fail(v, CKPT_E_CONTENT, "disk section: chunk %lu listed after %lu, the "
                            "disk has %lu", (unsigned long)k, (unsigned long)prev,
                            (unsigned long)all);
            prev = k;
        }
        return true;
    }
    case CKPT_SEC_FPU:
        return true;
    default:
        return fail(v, CKPT_E_CONTENT, "unknown section type %u", s->type);
    }
}

bool ckpt_check_image(const ckpt_medium_t *m, uint64_t base, const ckpt_header_t *h,
                      const ckpt_section_t *sec, ckpt_verdict_t *v)
{
    *v = (ckpt_verdict_t){ .err = CKPT_OK };
    const uint64_t first = CKPT_DATA_START;
    for (uint32_t i = 0; i < h->n_sections; i++) {
        const ckpt_section_t *s = &sec[i];
        if (s->offset % CKPT_ALIGN || s->offset < first || s->offset > h->image_bytes ||
            s->bytes > h->image_bytes - s->offset)
            return fail(v, CKPT_E_LAYOUT, "section %u (%s) at byte %lu, %lu bytes: outside the "
                        "image's %lu bytes", i, ckpt_sec_name(s->type), (unsigned long)s->offset,
                        (unsigned long)s->bytes, (unsigned long)h->image_bytes);
        for (uint32_t j = 0; j < i; j++)
            if (s->offset < sec[j].offset + sec[j].bytes && sec[j].offset < s->offset + s->bytes)
                return fail(v, CKPT_E_LAYOUT, "sections %u and %u overlap", j, i);
    }
    uint32_t crc = CKPT_CRC_INIT;
    if (!crc_range(m, base + CKPT_DATA_START, h->image_bytes - CKPT_DATA_START, &crc, v))
        return false;
    for (uint32_t i = 0; i < h->n_sections; i++) {
        uint32_t c = CKPT_CRC_INIT;
        if (!crc_range(m, base + sec[i].offset, sec[i].bytes, &c, v))
            return false;
        if (c != sec[i].crc)
            return fail(v, CKPT_E_SECTION_CRC, "section %u (%s) checksum 0x%08x, its bytes give "
                        "0x%08x", i, ckpt_sec_name(sec[i].type), sec[i].crc, c);
    }
    if (crc != h->image_crc)
        return fail(v, CKPT_E_IMAGE_CRC, "image checksum 0x%08x, its bytes give 0x%08x",
                    h->image_crc, crc);
    unsigned disks = 0;
    for (uint32_t i = 0; i < h->n_sections; i++) {
        if (!check_content(m, base, h, &sec[i], v))
            return false;
        disks += sec[i].type == CKPT_SEC_DISK;
    }
    if (disks > 1)
        return fail(v, CKPT_E_CONTENT, "%u disk sections (one disk at most)", disks);
    if (!ckpt_find(sec, h->n_sections, CKPT_SEC_VCPU) || !ckpt_find(sec, h->n_sections, CKPT_SEC_RAM))
        return fail(v, CKPT_E_CONTENT, "no %s section", ckpt_find(sec, h->n_sections,
                                                                 CKPT_SEC_VCPU) ? "ram" : "vcpu");
    return true;
}

bool ckpt_check_follows(const ckpt_header_t *prev, const ckpt_header_t *next,
                        ckpt_verdict_t *v)
{
    *v = (ckpt_verdict_t){ .err = CKPT_OK };
    if (next->stack_id != prev->stack_id || next->ram_bytes != prev->ram_bytes)
        return fail(v, CKPT_E_CHAIN, "image %u of generation %u is of another VM than image %u "
                    "of generation %u before it", next->seq, next->generation, prev->seq,
                    prev->generation);
    /* A VM restored from @prev (the chain's last image then) started a
     * generation of its own. */
    if (next->kind == CKPT_KIND_FULL) {
        if (next->generation != prev->generation + 1 ||
            next->parent_header_crc != prev->header_crc)
            return fail(v, CKPT_E_CHAIN, "full image of generation %u (parent header 0x%08x) "
                        "does not start the generation after image %u of generation %u "
                        "(header 0x%08x)", next->generation, next->parent_header_crc,
                        prev->seq, prev->generation, prev->header_crc);
        return true;
    }
    if (next->seq != prev->seq + 1 || next->prev_header_crc != prev->header_crc ||
        next->generation != prev->generation)
        return fail(v, CKPT_E_CHAIN, "image %u (previous header 0x%08x) does not follow image "
                    "%u (header 0x%08x) of the same VM", next->seq, next->prev_header_crc,
                    prev->seq, prev->header_crc);
    return true;
}

bool ckpt_walk(const ckpt_medium_t *m, uint64_t expect_stack, ckpt_image_t *img,
               unsigned max, unsigned *n, ckpt_verdict_t *v)
{
    uint64_t base = 0;
    *n = 0;
    *v = (ckpt_verdict_t){ .err = CKPT_OK };
    while (*n < max) {
        char magic[CKPT_MAGIC_BYTES];
        if (*n > 0 && (base > m->limit || m->limit - base < sizeof magic ||
                       !m->read(m->ctx, base, magic, sizeof magic) ||
                       memcmp(magic, CKPT_MAGIC, CKPT_MAGIC_BYTES) != 0))
            return true;                        /* the end of the chain */
        ckpt_image_t *im = &img[*n];
        im->base = base;
        if (!ckpt_check_header(m, base, expect_stack, &im->h, im->sec, v) ||
            !ckpt_check_image(m, base, &im->h, im->sec, v))
            return false;
        if (*n == 0 ? im->h.kind != CKPT_KIND_FULL || im->h.generation != 0
                    : !ckpt_check_follows(&img[*n - 1].h, &im->h, v))
            return v->err != CKPT_OK ? false
                                     : fail(v, CKPT_E_CHAIN, "the first image is not full, of "
                                            "generation 0");
        /* One disk for the whole chain: each image holds its part or
         * none does (an image without it would lose the VM's writes). */
        ckpt_disk_t d0, d;
        const bool has0 = ckpt_disk_of(m, &img[0], &d0), has = ckpt_disk_of(m, im, &d);
        if (*n > 0 && (has0 != has || (has && (d.disk_sectors != d0.disk_sectors ||
                                                d.chunk_sectors != d0.chunk_sectors))))
            return fail(v, CKPT_E_CHAIN, "image %u's disk (%lu sectors, chunks of %u) is not "
                        "image 0's (%lu sectors, chunks of %u)", im->h.seq,
                        has ? (unsigned long)d.disk_sectors : 0ul, has ? d.chunk_sectors : 0u,
                        has0 ? (unsigned long)d0.disk_sectors : 0ul, has0 ? d0.chunk_sectors : 0u);
        if (has && d.encoding != (im->h.kind == CKPT_KIND_FULL ? CKPT_DISK_DENSE : CKPT_DISK_LIST))
            return fail(v, CKPT_E_CONTENT, "disk section of image %u: encoding %u in a%s image",
                        im->h.seq, d.encoding, im->h.kind == CKPT_KIND_FULL ? " full"
                                                                           : "n incremental");
        (*n)++;
        base = ckpt_next(base, &im->h);
    }
    /* A chain longer than the reader follows: what comes after would be
     * left out unsaid (a restore would load an older generation). */
    char magic[CKPT_MAGIC_BYTES];
    if (base <= m->limit && m->limit - base >= sizeof magic &&
        m->read(m->ctx, base, magic, sizeof magic) &&
        memcmp(magic, CKPT_MAGIC, CKPT_MAGIC_BYTES) == 0)
        return fail(v, CKPT_E_LAYOUT, "more than %u images in the chain", max);
    return true;
}

bool ckpt_disk_of(const ckpt_medium_t *m, const ckpt_image_t *im, ckpt_disk_t *d)
{
    const ckpt_section_t *s = ckpt_find(im->sec, im->h.n_sections, CKPT_SEC_DISK);
    return s && s->bytes >= sizeof *d && m->read(m->ctx, im->base + s->offset, d, sizeof *d);
}

unsigned ckpt_last_full(const ckpt_image_t *img, unsigned n)
{
    while (n > 0 && img[n - 1].h.kind != CKPT_KIND_FULL)
        n--;
    return n ? n - 1 : 0;
}

const ckpt_section_t *ckpt_find(const ckpt_section_t *sec, uint32_t n, uint32_t type)
{
    for (uint32_t i = 0; i < n; i++)
        if (sec[i].type == type)
            return &sec[i];
    return NULL;
}

const char *ckpt_err_name(ckpt_err_t e)
{
    static const char *const names[] = {
        [CKPT_OK] = "ok", [CKPT_E_SHORT] = "truncated", [CKPT_E_MAGIC] = "not an image",
        [CKPT_E_VERSION] = "wrong version", [CKPT_E_HEADER_CRC] = "corrupt header",
        [CKPT_E_LAYOUT] = "bad layout", [CKPT_E_SECTION_CRC] = "corrupt section",
        [CKPT_E_IMAGE_CRC] = "corrupt image", [CKPT_E_STACK] = "wrong stack",
        [CKPT_E_CHAIN] = "broken chain", [CKPT_E_CONTENT] = "bad content",
        [CKPT_E_IO] = "read error",
    };
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "?";
}

const char *ckpt_sec_name(uint32_t type)
{
    switch (type) {
    case CKPT_SEC_VCPU: return "vcpu";
    case CKPT_SEC_FPU: return "fpu";
    case CKPT_SEC_DEVICES: return "devices";
    case CKPT_SEC_RAM: return "ram";
    case CKPT_SEC_DISK: return "disk";
    default: return "unknown";
    }
}

const char *ckpt_dev_name(uint32_t id)
{
    switch (id) {
    case CKPT_DEV_PIC: return "pic";
    case CKPT_DEV_PIT: return "pit";
    case CKPT_DEV_RTC: return "rtc";
    case CKPT_DEV_LAPIC: return "lapic";
    case CKPT_DEV_UART: return "uart";
    case CKPT_DEV_IOAPIC: return "ioapic";
    case CKPT_DEV_I8042: return "i8042";
    case CKPT_DEV_ACPI_PM: return "acpi-pm";
    case CKPT_DEV_SYSCTL: return "sysctl";
    case CKPT_DEV_PLATFORM: return "platform";
    case CKPT_DEV_VIRTIO: return "virtio";
    case CKPT_DEV_NESTED_VMX: return "nested-vmx";
    default: return "unknown";
    }
}
