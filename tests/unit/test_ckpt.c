/*
 * tests/unit/test_ckpt.c - the checkpoint image format (checkpoint/
 * format.c, include/ckpt_format.h) and the host tool's listing (checkpoint/
 * host/ckpt_show.c). Images are written by the streaming writer into a
 * memory "disk", then read back: whole chains check; a flipped byte in any
 * region, a truncation, another version, another stack, a spliced chain
 * and hostile sizes are each refused with their own error.
 */
#include "unit.h"
#include "../../checkpoint/host/ckpt_show.h"
#include "../../checkpoint/include/ckpt_host.h"
#include <stdlib.h>
#include <string.h>

#define DISK_BYTES (1u << 20)
#define VM_PAGES   16u
#define STACK      0x1122334455667788ull

static uint8_t disk[DISK_BYTES];
static uint64_t disk_base;        /* where the image being written starts */
static uint8_t scratch[CKPT_SCRATCH];
static uint8_t wbuf[CKPT_SCRATCH];
static uint64_t limit = DISK_BYTES;

static bool mem_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    (void)ctx;
    if (off % CKPT_ALIGN || n % CKPT_ALIGN || disk_base + off + n > DISK_BYTES)
        return false;
    memcpy(disk + disk_base + off, buf, n);
    return true;
}

static bool mem_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    (void)ctx;
    if (off + n > DISK_BYTES)
        return false;
    memcpy(buf, disk + off, n);
    return true;
}

static ckpt_medium_t medium(void)
{
    return (ckpt_medium_t){ mem_read, NULL, limit, scratch };
}

static uint8_t page_byte(uint64_t page, unsigned i, unsigned gen)
{
    return (uint8_t)(page * 7 + i + gen * 13);
}

/* The disk section write_image adds (none while head is NULL): its
 * header, @n_list list entries and @data_sectors sectors of data, as
 * given (hostile ones too: the writer seals whatever it is handed). */
static struct {
    const ckpt_disk_t *head;
    const uint64_t *list;
    uint64_t n_list, data_sectors;
    unsigned sections;
} wdisk;

/* Write an image at @base of generation @gen (a full one of a later
 * generation names @parent): vcpu (rip = @rip), one device record, RAM
 * (seq 0: all VM_PAGES dense; else the pages in @list). */
static ckpt_header_t write_image_gen(uint64_t base, uint32_t seq, uint32_t prev_crc,
                                     uint32_t gen, uint32_t parent, uint64_t rip,
                                     const uint64_t *list, unsigned n_list)
{
    ckpt_writer_t w;
    disk_base = base;
    ckpt_w_init(&w, mem_write, NULL, wbuf);
    ckpt_vcpu_t c = { .rip = rip, .rax = 0xAAAA, .cr0 = 0x11, .cs = { .sel = 0x10 } };
    CU_ASSERT_TRUE(ckpt_w_section(&w, CKPT_SEC_VCPU) && ckpt_w_put(&w, &c, sizeof c));
    const uint8_t pic[5] = { 1, 2, 3, 4, 5 };
    const ckpt_dev_record_t d = { .id = CKPT_DEV_PIC, .version = 1, .bytes = sizeof pic };
    const uint8_t pad[3] = { 0 };
    CU_ASSERT_TRUE(ckpt_w_section(&w, CKPT_SEC_DEVICES) && ckpt_w_put(&w, &d, sizeof d) &&
                   ckpt_w_put(&w, pic, sizeof pic) && ckpt_w_put(&w, pad, sizeof pad));
    const unsigned pages = seq == 0 ? VM_PAGES : n_list;
    ckpt_ram_t r = { .encoding = seq == 0 ? CKPT_RAM_DENSE : CKPT_RAM_LIST,
                     .page_size = CKPT_PAGE_SIZE, .pages = pages };
    CU_ASSERT_TRUE(ckpt_w_section(&w, CKPT_SEC_RAM) && ckpt_w_put(&w, &r, sizeof r));
    if (seq)
        CU_ASSERT_TRUE(ckpt_w_put(&w, list, n_list * sizeof *list));
    CU_ASSERT_TRUE(ckpt_w_pad(&w));
    static uint8_t page[CKPT_PAGE_SIZE];
    for (unsigned p = 0; p < pages; p++) {
        uint64_t pn = seq ? list[p] : p;
        for (unsigned i = 0; i < CKPT_PAGE_SIZE; i++)
            page[i] = page_byte(pn, i, seq);
        CU_ASSERT_TRUE(ckpt_w_put(&w, page, sizeof page));
    }
    for (unsigned k = 0; wdisk.head && k < wdisk.sections; k++) {
        CU_ASSERT_TRUE(ckpt_w_section(&w, CKPT_SEC_DISK) &&
                       ckpt_w_put(&w, wdisk.head, sizeof *wdisk.head) &&
                       ckpt_w_put(&w, wdisk.list, wdisk.n_list * sizeof *wdisk.list) &&
                       ckpt_w_pad(&w));
        static uint8_t piece[CKPT_DISK_SECTOR];
        for (uint64_t b = 0; b < wdisk.data_sectors; b++) {
            for (unsigned i = 0; i < CKPT_DISK_SECTOR; i++)
                piece[i] = (uint8_t)(b * 3 + i + seq);
            CU_ASSERT_TRUE(ckpt_w_put(&w, piece, sizeof piece));
        }
    }
    ckpt_header_t h = { .stack_id = STACK, .kind = seq ? CKPT_KIND_INCREMENTAL : CKPT_KIND_FULL,
                        .seq = seq, .prev_header_crc = prev_crc,
                        .ram_bytes = VM_PAGES * CKPT_PAGE_SIZE, .guest_time = 100 + seq,
                        .pages = pages, .generation = gen, .parent_header_crc = parent };
    strcpy(h.vm_name, "calc");
    CU_ASSERT_TRUE(ckpt_w_finish(&w, &h));
    return h;
}

static ckpt_header_t write_image(uint64_t base, uint32_t seq, uint32_t prev_crc, uint64_t rip,
                                 const uint64_t *list, unsigned n_list)
{
    return write_image_gen(base, seq, prev_crc, 0, 0, rip, list, n_list);
}

static const uint64_t dirty[] = { 3, 9, 15 };

/* A full image then an incremental one; a zero sector ends the chain. */
static void write_chain(void)
{
    memset(disk, 0, sizeof disk);
    limit = DISK_BYTES;
    ckpt_header_t h0 = write_image(0, 0, 0, 0x1000, NULL, 0);
    write_image(ckpt_next(0, &h0), 1, h0.header_crc, 0x2000, dirty, 3);
}

static ckpt_verdict_t walk(unsigned *n, uint64_t stack)
{
    static ckpt_image_t img[CKPT_MAX_IMAGES];
    ckpt_verdict_t v;
    ckpt_medium_t m = medium();
    ckpt_walk(&m, stack, img, CKPT_MAX_IMAGES, n, &v);
    return v;
}

static void test_crc_and_fnv_vectors(void)
{
    /* The CRC-32 check value of "123456789" (IEEE, zlib's crc32()). */
    CU_ASSERT_EQUAL(ckpt_crc32(CKPT_CRC_INIT, "123456789", 9), 0xCBF43926u);
    /* Split in two gives the same. */
    CU_ASSERT_EQUAL(ckpt_crc32(ckpt_crc32(CKPT_CRC_INIT, "1234", 4), "56789", 5), 0xCBF43926u);
    /* FNV-1a 64 of "a" (the published test vector). */
    CU_ASSERT_EQUAL(ckpt_fnv1a(CKPT_FNV_OFFSET, "a", 1), 0xaf63dc4c8601ec8cull);
    /* The identity changes with each of its parts. */
    uint64_t id = ckpt_stack_id("vm", 8 << 20, "calc", "pic,pit");
    CU_ASSERT_NOT_EQUAL(id, ckpt_stack_id("vm2", 8 << 20, "calc", "pic,pit"));
    CU_ASSERT_NOT_EQUAL(id, ckpt_stack_id("vm", 16 << 20, "calc", "pic,pit"));
    CU_ASSERT_NOT_EQUAL(id, ckpt_stack_id("vm", 8 << 20, "hello", "pic,pit"));
    CU_ASSERT_NOT_EQUAL(id, ckpt_stack_id("vm", 8 << 20, "calc", "pic"));
    CU_ASSERT_EQUAL(id, ckpt_stack_id("vm", 8 << 20, "calc", "pic,pit"));
}

static void test_chain_reads_back(void)
{
    write_chain();
    static ckpt_image_t img[CKPT_MAX_IMAGES];
    unsigned n = 0;
    ckpt_verdict_t v;
    ckpt_medium_t m = medium();
    CU_ASSERT_TRUE(ckpt_walk(&m, STACK, img, CKPT_MAX_IMAGES, &n, &v));
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(img[0].h.kind, CKPT_KIND_FULL);
    CU_ASSERT_EQUAL(img[0].h.pages, VM_PAGES);
    CU_ASSERT_EQUAL(img[1].h.kind, CKPT_KIND_INCREMENTAL);
    CU_ASSERT_EQUAL(img[1].base % CKPT_ALIGN, 0);
    CU_ASSERT_EQUAL(img[1].h.prev_header_crc, img[0].h.header_crc);
    /* The sections are where the table says, with what was written. */
    const ckpt_section_t *s = ckpt_find(img[1].sec, img[1].h.n_sections, CKPT_SEC_VCPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ckpt_vcpu_t c;
    memcpy(&c, disk + img[1].base + s->offset, sizeof c);
    CU_ASSERT_EQUAL(c.rip, 0x2000);
    CU_ASSERT_EQUAL(c.cs.sel, 0x10);
    s = ckpt_find(img[0].sec, img[0].h.n_sections, CKPT_SEC_RAM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* Dense: page 5's byte 17 after the padded RAM header. */
    CU_ASSERT_EQUAL(disk[img[0].base + s->offset + CKPT_ALIGN + 5 * CKPT_PAGE_SIZE + 17],
                    page_byte(5, 17, 0));
    s = ckpt_find(img[1].sec, img[1].h.n_sections, CKPT_SEC_RAM);
    uint64_t pn;
    memcpy(&pn, disk + img[1].base + s->offset + sizeof(ckpt_ram_t) + sizeof pn, sizeof pn);
    CU_ASSERT_EQUAL(pn, 9);
    CU_ASSERT_EQUAL(disk[img[1].base + s->offset + CKPT_ALIGN + 1 * CKPT_PAGE_SIZE + 3],
                    page_byte(9, 3, 1));
}

/* A flipped byte anywhere in an image is refused, and the error names the
 * region: the header, the table, a section's bytes, the padding. */
static void test_flipped_bytes_refused(void)
{
    static ckpt_image_t img[CKPT_MAX_IMAGES];
    write_chain();
    unsigned n;
    ckpt_verdict_t v = walk(&n, STACK);
    CU_ASSERT_EQUAL_FATAL(v.err, CKPT_OK);
    ckpt_medium_t m = medium();
    ckpt_walk(&m, STACK, img, CKPT_MAX_IMAGES, &n, &v);
    const uint64_t b1 = img[1].base;
    const ckpt_section_t *ram1 = ckpt_find(img[1].sec, img[1].h.n_sections, CKPT_SEC_RAM);
    const ckpt_section_t *dev0 = ckpt_find(img[0].sec, img[0].h.n_sections, CKPT_SEC_DEVICES);
    const struct { uint64_t at; ckpt_err_t err; unsigned image; } cases[] = {
        { offsetof(ckpt_header_t, guest_time), CKPT_E_HEADER_CRC, 0 },
        { offsetof(ckpt_header_t, magic), CKPT_E_MAGIC, 0 },
        { CKPT_HEADER_BYTES + 9, CKPT_E_HEADER_CRC, 0 },      /* the table */
        { dev0->offset + 17, CKPT_E_SECTION_CRC, 0 },
        { dev0->offset + dev0->bytes + 1, CKPT_E_IMAGE_CRC, 0 },   /* padding */
        { b1 + ram1->offset + ram1->bytes - 1, CKPT_E_SECTION_CRC, 1 },
        { b1 + offsetof(ckpt_header_t, seq), CKPT_E_HEADER_CRC, 1 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        disk[cases[i].at] ^= 0x40;
        v = walk(&n, STACK);
        CU_ASSERT_EQUAL(v.err, cases[i].err);
        CU_ASSERT_EQUAL(n, cases[i].image);         /* the images before it checked */
        CU_ASSERT_TRUE(strlen(v.why) > 10);
        disk[cases[i].at] ^= 0x40;
    }
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_OK);
}

static void test_truncated_refused(void)
{
    write_chain();
    static ckpt_image_t img[CKPT_MAX_IMAGES];
    unsigned n;
    ckpt_verdict_t v;
    ckpt_medium_t m = medium();
    ckpt_walk(&m, STACK, img, CKPT_MAX_IMAGES, &n, &v);
    /* The medium ends inside image 0, then inside image 1's sections. */
    limit = img[0].h.image_bytes - 1;
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_SHORT);
    CU_ASSERT_EQUAL(n, 0);
    limit = img[1].base + img[1].h.image_bytes / 2;
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_SHORT);
    CU_ASSERT_EQUAL(n, 1);
    limit = 100;                                    /* not even a header */
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_SHORT);
    limit = DISK_BYTES;
}

/* Re-seal a header changed on purpose: only the check aimed at survives. */
static void reseal(uint64_t base)
{
    ckpt_header_t h;
    ckpt_section_t sec[CKPT_MAX_SECTIONS];
    memcpy(&h, disk + base, sizeof h);
    uint32_t n = h.n_sections <= CKPT_MAX_SECTIONS ? h.n_sections : CKPT_MAX_SECTIONS;
    memcpy(sec, disk + base + CKPT_HEADER_BYTES, n * sizeof *sec);
    h.n_sections = n;
    uint32_t crc = ckpt_header_crc(&h, sec);
    memcpy(disk + base + offsetof(ckpt_header_t, header_crc), &crc, sizeof crc);
}

static void set32(uint64_t at, uint32_t v) { memcpy(disk + at, &v, sizeof v); }
static void set64(uint64_t at, uint64_t v) { memcpy(disk + at, &v, sizeof v); }

static void test_version_and_stack_refused(void)
{
    unsigned n;
    write_chain();
    set32(offsetof(ckpt_header_t, version), CKPT_VERSION + 1);
    reseal(0);
    ckpt_verdict_t v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_VERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "format version 4, this reader knows versions 2 and 3"));
    /* Version 1, whose devices section lacks the LAPIC, I/O APIC, RTC and
     * platform records: refused too. */
    write_chain();
    set32(offsetof(ckpt_header_t, version), 1);
    reseal(0);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_VERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "format version 1, this reader knows versions 2 and 3"));
    /* Version 2 (before generations) reads as the format says: its
     * reserved bytes zero, generation 0 without a parent; a version 2
     * header with either set is refused. */
    write_chain();
    set32(offsetof(ckpt_header_t, version), CKPT_VERSION_2);
    reseal(0);
    ckpt_header_t h0;
    memcpy(&h0, disk, sizeof h0);
    set32(ckpt_next(0, &h0) + offsetof(ckpt_header_t, version), CKPT_VERSION_2);
    set32(ckpt_next(0, &h0) + offsetof(ckpt_header_t, prev_header_crc), h0.header_crc);
    reseal(ckpt_next(0, &h0));
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_OK);
    CU_ASSERT_EQUAL(n, 2);
    set32(offsetof(ckpt_header_t, generation), 1);
    reseal(0);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "generation 1"));
    write_chain();
    v = walk(&n, STACK ^ 1);
    CU_ASSERT_EQUAL(v.err, CKPT_E_STACK);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "calc"));
    v = walk(&n, 0);                                /* any stack: the host tool */
    CU_ASSERT_EQUAL(v.err, CKPT_OK);
}

/* An incremental image from another chain (its predecessor's checksum
 * differs) is refused; an image 0 that is not full too. */
static void test_spliced_chain_refused(void)
{
    unsigned n;
    write_chain();
    static ckpt_image_t img[CKPT_MAX_IMAGES];
    ckpt_verdict_t v;
    ckpt_medium_t m = medium();
    ckpt_walk(&m, STACK, img, CKPT_MAX_IMAGES, &n, &v);
    /* Rewrite image 1 as if it followed another image 0. */
    write_image(img[1].base, 1, img[0].h.header_crc ^ 1, 0x2000, dirty, 3);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 1);
    /* Only the incremental one, at the start. */
    memmove(disk, disk + img[1].base, img[1].h.image_bytes);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 0);
}

/* A VM restored from the chain (images 0 and 1) goes on with generation
 * 1: a full image right after it naming image 1 as its parent, then an
 * incremental one; a restore loads generation 1 (ckpt_last_full). Every
 * way of getting the generations wrong is refused, with the images
 * before it good. */
static ckpt_image_t gen_img[CKPT_MAX_IMAGES];

static ckpt_verdict_t walk_gen(unsigned *n)
{
    ckpt_verdict_t v;
    ckpt_medium_t m = medium();
    ckpt_walk(&m, STACK, gen_img, CKPT_MAX_IMAGES, n, &v);
    return v;
}

/* The chain, and after it a full image of generation @gen naming @parent
 * (0: image 1's header, as a restored VM writes it); its header. */
static ckpt_header_t write_generation(uint32_t gen, uint32_t parent, uint64_t *at)
{
    unsigned n;
    write_chain();
    walk_gen(&n);
    *at = ckpt_next(gen_img[1].base, &gen_img[1].h);
    return write_image_gen(*at, 0, 0, gen, parent ? parent : gen_img[1].h.header_crc, 0x3000,
                           NULL, 0);
}

static void test_generations(void)
{
    unsigned n;
    uint64_t at;
    ckpt_header_t g1 = write_generation(1, 0, &at);
    static const uint64_t later[] = { 1, 2 };
    ckpt_header_t g1i = write_image_gen(ckpt_next(at, &g1), 1, g1.header_crc, 1, 0, 0x4000,
                                        later, 2);
    ckpt_verdict_t v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_OK);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(ckpt_last_full(gen_img, n), 2);
    CU_ASSERT_EQUAL(gen_img[2].h.generation, 1);
    CU_ASSERT_EQUAL(gen_img[2].h.parent_header_crc, gen_img[1].h.header_crc);
    CU_ASSERT_EQUAL(gen_img[3].h.header_crc, g1i.header_crc);
    CU_ASSERT_EQUAL(ckpt_last_full(gen_img, 2), 0);
    /* More images than a reader follows: refused, not cut short. */
    ckpt_medium_t m = medium();
    CU_ASSERT_FALSE(ckpt_walk(&m, STACK, gen_img, 3, &n, &v));
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "more than 3 images in the chain"));
    CU_ASSERT_TRUE(ckpt_walk(&m, STACK, gen_img, 4, &n, &v));
    /* A full image naming another parent, skipping a generation, or of
     * generation 0 again: refused, the chain before it good. */
    write_generation(1, 0x12345678, &at);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "parent header 0x12345678"));
    write_generation(2, 0, &at);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 2);
    write_chain();
    walk_gen(&n);
    write_image(ckpt_next(gen_img[1].base, &gen_img[1].h), 0, 0, 0x3000, NULL, 0);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 2);
    /* An incremental image of generation 1 right after generation 0's
     * last, its predecessor's checksum right: not a generation's start. */
    write_chain();
    walk_gen(&n);
    write_image_gen(ckpt_next(gen_img[1].base, &gen_img[1].h), 2, gen_img[1].h.header_crc, 1, 0,
                    0x3000, later, 2);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 2);
    /* A parent where none belongs (generation 0, an incremental image),
     * with every checksum right: a bad header. */
    write_chain();
    set32(offsetof(ckpt_header_t, parent_header_crc), 1);
    reseal(0);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    g1 = write_generation(1, 0, &at);
    write_image_gen(ckpt_next(at, &g1), 1, g1.header_crc, 1, g1.header_crc, 0x4000, later, 2);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    CU_ASSERT_EQUAL(n, 3);
    /* A chain starting with a later generation's full image. */
    write_chain();
    set32(offsetof(ckpt_header_t, generation), 1);
    set32(offsetof(ckpt_header_t, parent_header_crc), 7);
    reseal(0);
    v = walk_gen(&n);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CHAIN);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "the first image is not full, of generation 0"));
}

/* Sizes and offsets an attacker chose, each with a valid header checksum. */
static void test_hostile_layout_refused(void)
{
    unsigned n;
    ckpt_verdict_t v;
    write_chain();
    set32(offsetof(ckpt_header_t, n_sections), 1000);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    write_chain();
    set64(offsetof(ckpt_header_t, image_bytes), ~0ull);
    reseal(0);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_SHORT);
    /* A section pointing past the image. */
    write_chain();
    set64(CKPT_HEADER_BYTES + offsetof(ckpt_section_t, offset), 1ull << 40);
    reseal(0);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    /* Two sections on the same bytes. */
    write_chain();
    ckpt_section_t s0;
    memcpy(&s0, disk + CKPT_HEADER_BYTES, sizeof s0);
    set64(CKPT_HEADER_BYTES + sizeof s0 + offsetof(ckpt_section_t, offset), s0.offset);
    reseal(0);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
    /* More pages than the VM has. */
    write_chain();
    set64(offsetof(ckpt_header_t, pages), VM_PAGES + 1);
    reseal(0);
    v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_LAYOUT);
}

/* A listed page outside the VM, with every checksum right: the content
 * check refuses it (a restore would write outside the VM's RAM). */
static void test_page_outside_vm_refused(void)
{
    unsigned n;
    write_chain();
    ckpt_header_t h0;
    memcpy(&h0, disk, sizeof h0);
    const uint64_t bad[] = { 3, VM_PAGES, 15 };
    write_image(ckpt_next(0, &h0), 1, h0.header_crc, 0x2000, bad, 3);
    ckpt_verdict_t v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, CKPT_E_CONTENT);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, "page 16"));
}

/* The disk section (ckpt_format.h ckpt_disk_t): a chain with the VM's
 * disk reads back and shows; each hostile field, with every checksum
 * right, is refused; a chain whose images disagree on the disk too. */
#define DISK_SECTORS 36                 /* 5 chunks of 8, the last cut short */
#define DISK_DATA_MAX 64                /* sectors written for a hostile header at most */

/* The data sectors a header says it has, or DISK_DATA_MAX for a hostile one. */
static uint64_t disk_data(const ckpt_disk_t *d)
{
    return d->chunks <= DISK_DATA_MAX && d->chunk_sectors <= DISK_DATA_MAX &&
           d->chunks * d->chunk_sectors <= DISK_DATA_MAX ? d->chunks * d->chunk_sectors
                                                          : DISK_DATA_MAX;
}
static void write_disk_chain(const ckpt_disk_t *d0, const ckpt_disk_t *d1, const uint64_t *list1,
                             uint64_t n_list1)
{
    memset(disk, 0, sizeof disk);
    limit = DISK_BYTES;
    wdisk.head = d0;
    wdisk.list = NULL;
    wdisk.n_list = 0;
    wdisk.sections = 1;
    wdisk.data_sectors = d0 ? disk_data(d0) : 0;
    ckpt_header_t h0 = write_image(0, 0, 0, 0x1000, NULL, 0);
    wdisk.head = d1;
    wdisk.list = list1;
    wdisk.n_list = n_list1;
    wdisk.data_sectors = d1 ? disk_data(d1) : 0;
    write_image(ckpt_next(0, &h0), 1, h0.header_crc, 0x2000, dirty, 3);
    wdisk.head = NULL;
}

/* Image 0 alone, with @sections disk sections of header @d, @n_list list
 * entries and @data_sectors of data. */
static void write_full_only(const ckpt_disk_t *d, const uint64_t *list, uint64_t n_list,
                            uint64_t data_sectors, unsigned sections)
{
    memset(disk, 0, sizeof disk);
    limit = DISK_BYTES;
    wdisk.head = d;
    wdisk.list = list;
    wdisk.n_list = n_list;
    wdisk.data_sectors = data_sectors;
    wdisk.sections = sections;
    write_image(0, 0, 0, 0x1000, NULL, 0);
    wdisk.head = NULL;
    wdisk.sections = 1;
}

/* The chain on the disk is refused with @err after @n_ok good images,
 * the reason saying @why. */
static void expect_refused(ckpt_err_t err, unsigned n_ok, const char *why)
{
    unsigned n;
    ckpt_verdict_t v = walk(&n, STACK);
    CU_ASSERT_EQUAL(v.err, err);
    CU_ASSERT_EQUAL(n, n_ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.why, why));
}

static void test_disk_section(void)
{
    unsigned n;
    static ckpt_image_t img[CKPT_MAX_IMAGES];
    ckpt_verdict_t v;
    const ckpt_disk_t full = { CKPT_DISK_DENSE, 8, DISK_SECTORS, 5, 0 };
    const ckpt_disk_t incr = { CKPT_DISK_LIST, 8, DISK_SECTORS, 2, 0 };
    const uint64_t list[] = { 1, 4 };
    CU_ASSERT_EQUAL(ckpt_disk_chunks(&full), 5);
    write_disk_chain(&full, &incr, list, 2);
    ckpt_medium_t m = medium();
    CU_ASSERT_TRUE(ckpt_walk(&m, STACK, img, CKPT_MAX_IMAGES, &n, &v));
    CU_ASSERT_EQUAL(n, 2);
    ckpt_disk_t got;
    CU_ASSERT_TRUE(ckpt_disk_of(&m, &img[1], &got));
    CU_ASSERT_EQUAL(got.chunks, 2);
    CU_ASSERT_EQUAL(got.disk_sectors, DISK_SECTORS);
    /* The chunk data sits where the format says: after the list, padded. */
    const ckpt_section_t *s = ckpt_find(img[1].sec, img[1].h.n_sections, CKPT_SEC_DISK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->bytes, CKPT_ALIGN + 2 * 8 * CKPT_DISK_SECTOR);
    CU_ASSERT_EQUAL(disk[img[1].base + s->offset + CKPT_ALIGN + CKPT_DISK_SECTOR + 5],
                    (uint8_t)(3 + 5 + 1));
    /* None in either image: fine (a VM without a disk on the server). */
    write_disk_chain(NULL, NULL, NULL, 0);
    m = medium();
    CU_ASSERT_TRUE(ckpt_walk(&m, STACK, img, CKPT_MAX_IMAGES, &n, &v));
    CU_ASSERT_FALSE(ckpt_disk_of(&m, &img[0], &got));

    /* Hostile headers in the full image, sealed: each bad content. */
    const ckpt_disk_t bad[] = {
        { 3, 8, DISK_SECTORS, 5, 0 },                    /* no such encoding */
        { CKPT_DISK_DENSE, 12, DISK_SECTORS, 3, 0 },     /* chunk not a power of two */
        { CKPT_DISK_DENSE, 4, DISK_SECTORS, 9, 0 },      /* chunk below 4 KiB */
        { CKPT_DISK_DENSE, 8192, DISK_SECTORS, 1, 0 },   /* chunk above 2 MiB */
        { CKPT_DISK_DENSE, 8, 0, 0, 0 },                 /* no disk */
        { CKPT_DISK_DENSE, 8, DISK_SECTORS, 5, 1 },      /* reserved */
        { CKPT_DISK_DENSE, 8, DISK_SECTORS, 4, 0 },      /* dense, not every chunk */
        { CKPT_DISK_DENSE, 8, DISK_SECTORS, 6, 0 },      /* more chunks than the disk */
        { CKPT_DISK_DENSE, 8, ~0ull, 1ull << 60, 0 },    /* a count whose bytes wrap */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_disk_chain(&bad[i], &incr, list, 2);
        expect_refused(CKPT_E_CONTENT, 0, "disk section");
    }
    /* The data one chunk short of what the header says. */
    write_full_only(&full, NULL, 0, 4 * 8, 1);
    expect_refused(CKPT_E_CONTENT, 0, "disk section");
    /* Lists: a chunk past the disk, one twice, out of order. */
    const uint64_t past[] = { 1, 5 }, twice[] = { 4, 4 }, backwards[] = { 4, 1 };
    const uint64_t *lists[] = { past, twice, backwards };
    for (unsigned i = 0; i < 3; i++) {
        write_disk_chain(&full, &incr, lists[i], 2);
        expect_refused(CKPT_E_CONTENT, 1, "chunk");
    }
    /* A full image with a list, an incremental one dense. */
    const ckpt_disk_t full_list = { CKPT_DISK_LIST, 8, DISK_SECTORS, 5, 0 };
    const uint64_t all[] = { 0, 1, 2, 3, 4 };
    write_full_only(&full_list, all, 5, 5 * 8, 1);
    expect_refused(CKPT_E_CONTENT, 0, "encoding 2 in a full image");
    write_disk_chain(&full, &full, NULL, 0);
    expect_refused(CKPT_E_CONTENT, 1, "encoding 1 in an incremental image");
    /* The chain disagrees: a disk then none, none then one, another size,
     * another chunk size: a broken chain at image 1. */
    const ckpt_disk_t bigger = { CKPT_DISK_LIST, 8, DISK_SECTORS + 8, 2, 0 };
    const ckpt_disk_t coarser = { CKPT_DISK_LIST, 16, DISK_SECTORS, 2, 0 };
    const uint64_t list16[] = { 0, 2 };
    const ckpt_disk_t *d0s[] = { &full, NULL, &full, &full };
    const ckpt_disk_t *d1s[] = { NULL, &incr, &bigger, &coarser };
    const uint64_t *l1s[] = { NULL, list, list, list16 };
    for (unsigned i = 0; i < 4; i++) {
        write_disk_chain(d0s[i], d1s[i], l1s[i], d1s[i] ? 2 : 0);
        expect_refused(CKPT_E_CHAIN, 1, "disk");
    }
    /* Two disk sections in one image. */
    write_full_only(&full, NULL, 0, 5 * 8, 2);
    expect_refused(CKPT_E_CONTENT, 0, "2 disk sections");
}

static char *run_tool(int (*fn)(FILE *, const ckpt_medium_t *, unsigned), unsigned arg, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ckpt_medium_t m = medium();
    *rc = fn(f, &m, arg);
    fclose(f);
    return text;
}

static int ls(FILE *f, const ckpt_medium_t *m, unsigned arg)
{
    (void)arg;
    return ckpt_ls(f, m);
}

static void test_tool_ls_and_show(void)
{
    int rc;
    write_chain();
    char *t = run_tool(ls, 0, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "#0 full vm=calc stack=0x1122334455667788"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "#1 incremental vm=calc"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "pages=3 time=101"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "2 images, chain ok"));
    free(t);
    t = run_tool(ckpt_show, 1, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "image 1: incremental, format version 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "generation 0, seq 1, parent header 0x00000000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "rip              0x0000000000002000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "pic.0 version 1, 5 bytes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "list: 3 pages 0x3000 0x9000 0xf000"));
    free(t);
    t = run_tool(ckpt_show, 2, &rc);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "no image 2"));
    free(t);
    /* The disk part, in a chain that has one. */
    const ckpt_disk_t full = { CKPT_DISK_DENSE, 8, DISK_SECTORS, 5, 0 };
    const ckpt_disk_t incr = { CKPT_DISK_LIST, 8, DISK_SECTORS, 2, 0 };
    const uint64_t list[] = { 1, 4 };
    write_disk_chain(&full, &incr, list, 2);
    t = run_tool(ckpt_show, 0, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "section 3: disk, 20992 bytes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "vm disk: 36 sectors (18 KiB) in 5 chunks of 8 sectors"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "dense: the whole disk, chunks 0-4"));
    free(t);
    t = run_tool(ckpt_show, 1, &rc);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "list: 2 chunks written since the image before: 1 (sector "
                                     "8) 4 (sector 32)"));
    free(t);
    write_chain();
    disk[CKPT_DATA_START + 3] ^= 1;
    t = run_tool(ls, 0, &rc);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "image 0 refused: corrupt section: section 0 (vcpu)"));
    free(t);
    /* A second generation: listed with it, the restore's images said. */
    uint64_t at;
    ckpt_header_t g1 = write_generation(1, 0, &at);
    t = run_tool(ls, 0, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    char want[96];
    snprintf(want, sizeof want, "generation=1 seq=0 parent=0x%08x", g1.parent_header_crc);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "#2 full vm=calc"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "3 images, chain ok; a restore loads generation 1: #2 to #2"));
    free(t);
    t = run_tool(ckpt_show, 2, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "image 2: full, format version 3"));
    snprintf(want, sizeof want, "generation 1, seq 0, parent header 0x%08x", g1.parent_header_crc);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
    free(t);
}

/* ---- the host trigger's line reader (checkpoint/host_line.c) ---- */

/* @bytes fed one by one: what each line came to, in order, into @got
 * (CKPT_HOST_MORE left out); how many lines ended. */
static unsigned feed(ckpt_host_reader_t *r, const char *bytes, size_t n, ckpt_host_line_t *got,
                     unsigned max)
{
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        const ckpt_host_line_t l = ckpt_host_byte(r, (uint8_t)bytes[i]);
        if (l != CKPT_HOST_MORE && k < max)
            got[k++] = l;
    }
    return k;
}

#define FEED(r, lit, got) feed((r), (lit), sizeof(lit) - 1, (got), 8)

static void test_host_lines(void)
{
    ckpt_host_reader_t r = { 0 };
    ckpt_host_line_t got[8];
    /* The command, with LF, CR or both; empty lines are none. */
    CU_ASSERT_EQUAL(FEED(&r, "checkpoint\n", got), 1);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_NOW);
    CU_ASSERT_EQUAL(FEED(&r, "checkpoint\r\n\n\r", got), 1);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_NOW);
    /* Split across reads. */
    CU_ASSERT_EQUAL(FEED(&r, "check", got), 0);
    CU_ASSERT_EQUAL(FEED(&r, "point\r", got), 1);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_NOW);
    /* Anything else is not the command: no trimming, no prefix match. */
    CU_ASSERT_EQUAL(FEED(&r, " checkpoint\ncheckpointx\nCHECKPOINT\n", got), 3);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_UNKNOWN);
    CU_ASSERT_EQUAL(got[1], CKPT_HOST_UNKNOWN);
    CU_ASSERT_EQUAL(got[2], CKPT_HOST_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(r.text, "CHECKPOINT");
    /* Hostile bytes: the text to echo holds printable ASCII only. */
    CU_ASSERT_EQUAL(FEED(&r, "a\x01\x7f\xff\x1b[2Jz\n", got), 1);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(r.text, "a????[2Jz");
    /* 32 bytes is a line; 33 is refused whole, and the next line counts. */
    CU_ASSERT_EQUAL(FEED(&r, "0123456789abcdef0123456789abcdef\n", got), 1);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_UNKNOWN);
    CU_ASSERT_EQUAL(strlen(r.text), CKPT_HOST_LINE_MAX);
    CU_ASSERT_EQUAL(FEED(&r, "0123456789abcdef0123456789abcdefcheckpoint\ncheckpoint\n", got),
                    2);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_TOO_LONG);
    CU_ASSERT_EQUAL(got[1], CKPT_HOST_NOW);
    /* A megabyte without a line end stays one refused line. */
    static char flood[1 << 20];
    memset(flood, 'c', sizeof flood);
    CU_ASSERT_EQUAL(feed(&r, flood, sizeof flood, got, 8), 0);
    CU_ASSERT_EQUAL(FEED(&r, "\n", got), 1);
    CU_ASSERT_EQUAL(got[0], CKPT_HOST_TOO_LONG);
}

UNIT_SUITE(ckpt_suite)
{
    CU_pSuite s = CU_add_suite("checkpoint image format", NULL, NULL);
    CU_add_test(s, "CRC-32 and FNV-1a test vectors, stack identity", test_crc_and_fnv_vectors);
    CU_add_test(s, "a full and an incremental image read back", test_chain_reads_back);
    CU_add_test(s, "a flipped byte in any region is refused", test_flipped_bytes_refused);
    CU_add_test(s, "a truncated image is refused", test_truncated_refused);
    CU_add_test(s, "another version or stack is refused", test_version_and_stack_refused);
    CU_add_test(s, "a spliced chain is refused", test_spliced_chain_refused);
    CU_add_test(s, "generations after a restore: read, the last one restored; wrong ones refused",
                test_generations);
    CU_add_test(s, "hostile sizes and offsets are refused", test_hostile_layout_refused);
    CU_add_test(s, "a page outside the VM is refused", test_page_outside_vm_refused);
    CU_add_test(s, "the disk section: read back; hostile fields, lists and chains refused",
                test_disk_section);
    CU_add_test(s, "nestor-ckpt ls and show", test_tool_ls_and_show);
    CU_add_test(s, "the host trigger's lines, hostile bytes included", test_host_lines);
}
