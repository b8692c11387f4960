/* tests/unit/test_elf.c - the ELF64 executable parser, fed hostile images. */
#include "unit.h"
#include "elf64.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define USER_LIMIT   0x0000800000000000ull

/* Field offsets, written out here independently of the parser's own. */
#define EH_ENTRY     24
#define EH_PHOFF     32
#define EH_PHENTSIZE 54
#define EH_PHNUM     56
#define PH_OFFSET    8
#define PH_VADDR     16
#define PH_FILESZ    32
#define PH_MEMSZ     40

#define PT_NULL      0
#define PT_NOTE      4
#define PT_GNU_STACK 0x6474E551u

/* The reference image: text R-X, a PT_GNU_STACK marker, data RW with bss. */
#define TEXT_VADDR   0x400000ull
#define TEXT_OFF     0x1000ull
#define TEXT_SIZE    0x234ull
#define DATA_VADDR   0x401100ull
#define DATA_OFF     0x2100ull
#define DATA_FILESZ  0x80ull
#define DATA_MEMSZ   0x3000ull
#define ENTRY        (TEXT_VADDR + 0x10)
#define VALID_LEN    (DATA_OFF + DATA_FILESZ)
#define VALID_NPH    3
#define HDRS_LEN     (64 + VALID_NPH * 56)

/* ---- the image builder ---------------------------------------------- */

typedef struct {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
} ph_t;

#define IMG_MAX  0x4000
#define PH_MAX   24

typedef struct {
    uint8_t buf[IMG_MAX];
    size_t len;
} img_t;

/* Little-endian stores, byte by byte so the test does not depend on the
 * host's byte order. */
static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void set16(img_t *im, size_t off, uint64_t v) { le(im->buf + off, v, 2); }
static void set32(img_t *im, size_t off, uint64_t v) { le(im->buf + off, v, 4); }
static void set64(img_t *im, size_t off, uint64_t v) { le(im->buf + off, v, 8); }

static size_t phdr_at(size_t i) { return 64 + i * 56; }

static void write_ehdr(img_t *im, uint64_t entry, size_t nph, uint16_t entsize)
{
    static const uint8_t ident[16] = { 0x7F, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB,
                                       EV_CURRENT };
    memcpy(im->buf, ident, sizeof(ident));
    set16(im, 16, ET_EXEC);
    set16(im, 18, EM_X86_64);
    set32(im, 20, EV_CURRENT);
    set64(im, EH_ENTRY, entry);
    set64(im, EH_PHOFF, 64);
    set16(im, 52, 64);                  /* e_ehsize */
    set16(im, EH_PHENTSIZE, entsize);
    set16(im, EH_PHNUM, nph);
}

static void write_phdr(img_t *im, size_t at, const ph_t *ph)
{
    set32(im, at + 0, ph->type);
    set32(im, at + 4, ph->flags);
    set64(im, at + PH_OFFSET, ph->offset);
    set64(im, at + PH_VADDR, ph->vaddr);
    set64(im, at + 24, ph->vaddr);      /* p_paddr, unused */
    set64(im, at + PH_FILESZ, ph->filesz);
    set64(im, at + PH_MEMSZ, ph->memsz);
    set64(im, at + 48, ph->align);
}

/* Lay out an ELF header, nph program headers of entsize bytes right after
 * it, and each PT_LOAD's file bytes (filled with a pattern). The file ends
 * at the last byte anything refers to. */
static void build_ex(img_t *im, uint64_t entry, const ph_t *ph, size_t nph, uint16_t entsize)
{
    memset(im, 0, sizeof(*im));
    write_ehdr(im, entry, nph, entsize);
    im->len = 64 + nph * entsize;
    CU_ASSERT_FATAL(im->len <= IMG_MAX);
    for (size_t i = 0; i < nph; i++) {
        write_phdr(im, 64 + i * entsize, &ph[i]);
        if (ph[i].type != PT_LOAD || ph[i].filesz == 0)
            continue;
        CU_ASSERT_FATAL(ph[i].offset + ph[i].filesz <= IMG_MAX);
        memset(im->buf + ph[i].offset, 0xC0 + (int)i, ph[i].filesz);
        if (ph[i].offset + ph[i].filesz > im->len)
            im->len = ph[i].offset + ph[i].filesz;
    }
}

static void build(img_t *im, uint64_t entry, const ph_t *ph, size_t nph)
{
    build_ex(im, entry, ph, nph, 56);
}

static void valid_phs(ph_t ph[VALID_NPH])
{
    ph[0] = (ph_t){ PT_LOAD, PF_R | PF_X, TEXT_OFF, TEXT_VADDR, TEXT_SIZE, TEXT_SIZE, 0x1000 };
    ph[1] = (ph_t){ PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16 };
    ph[2] = (ph_t){ PT_LOAD, PF_R | PF_W, DATA_OFF, DATA_VADDR, DATA_FILESZ, DATA_MEMSZ, 0x1000 };
}

static void build_valid(img_t *im)
{
    ph_t ph[VALID_NPH];
    valid_phs(ph);
    build(im, ENTRY, ph, VALID_NPH);
}

static elf_status_t parse(const img_t *im, elf_info_t *info)
{
    return elf_parse(im->buf, im->len, USER_LIMIT, info);
}

/* Parse the valid image after changing one program header. */
static elf_status_t parse_with(size_t which, ph_t change, uint64_t entry)
{
    img_t im;
    ph_t ph[VALID_NPH];
    elf_info_t info;
    valid_phs(ph);
    ph[which] = change;
    build(&im, entry, ph, VALID_NPH);
    return parse(&im, &info);
}

/* ---- tests ----------------------------------------------------------- */

static void test_valid_two_segments(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    CU_ASSERT_EQUAL_FATAL(im.len, VALID_LEN);
    memset(&info, 0xAA, sizeof(info));
    CU_ASSERT_EQUAL_FATAL(parse(&im, &info), ELF_OK);
    CU_ASSERT_EQUAL(info.entry, ENTRY);
    CU_ASSERT_EQUAL_FATAL(info.nseg, 2);
    CU_ASSERT_EQUAL(info.seg[0].vaddr, TEXT_VADDR);
    CU_ASSERT_EQUAL(info.seg[0].memsz, TEXT_SIZE);
    CU_ASSERT_EQUAL(info.seg[0].filesz, TEXT_SIZE);
    CU_ASSERT_EQUAL(info.seg[0].offset, TEXT_OFF);
    CU_ASSERT_EQUAL(info.seg[0].flags, PF_R | PF_X);
    CU_ASSERT_EQUAL(info.seg[1].vaddr, DATA_VADDR);
    CU_ASSERT_EQUAL(info.seg[1].memsz, DATA_MEMSZ);
    CU_ASSERT_EQUAL(info.seg[1].filesz, DATA_FILESZ);
    CU_ASSERT_EQUAL(info.seg[1].offset, DATA_OFF);
    CU_ASSERT_EQUAL(info.seg[1].flags, PF_R | PF_W);
}

/* The parser must not rely on the image's alignment (a module may start
 * anywhere); UBSan flags any misaligned multi-byte access. */
static void test_unaligned_image(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    uint8_t *raw = malloc(im.len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    memcpy(raw + 1, im.buf, im.len);
    CU_ASSERT_EQUAL(elf_parse(raw + 1, im.len, USER_LIMIT, &info), ELF_OK);
    CU_ASSERT_EQUAL(info.nseg, 2);
    CU_ASSERT_EQUAL(info.entry, ENTRY);
    free(raw);
}

static void test_null(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    CU_ASSERT_EQUAL(elf_parse(NULL, im.len, USER_LIMIT, &info), ELF_ERR_NULL);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, USER_LIMIT, NULL), ELF_ERR_NULL);
}

static void test_truncated(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    CU_ASSERT_EQUAL(elf_parse(im.buf, 0, USER_LIMIT, &info), ELF_ERR_TRUNCATED);
    CU_ASSERT_EQUAL(elf_parse(im.buf, 63, USER_LIMIT, &info), ELF_ERR_TRUNCATED);
    /* Header complete, program header table cut by one byte. */
    CU_ASSERT_EQUAL(elf_parse(im.buf, HDRS_LEN - 1, USER_LIMIT, &info), ELF_ERR_TRUNCATED);
    /* Table placed so it runs off the end of an otherwise whole file. */
    set64(&im, EH_PHOFF, im.len - 56);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_TRUNCATED);
}

static void test_bad_magic(void)
{
    for (size_t i = 0; i < 4; i++) {
        img_t im;
        elf_info_t info;
        build_valid(&im);
        im.buf[i] ^= 0x20;
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_MAGIC);
    }
}

static void test_bad_class(void)
{
    static const uint8_t bad[] = { 0, 1 /* ELFCLASS32 */, 3, 0xFF };
    for (size_t i = 0; i < sizeof(bad); i++) {
        img_t im;
        elf_info_t info;
        build_valid(&im);
        im.buf[4] = bad[i];
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_CLASS);
    }
}

static void test_bad_endian(void)
{
    static const uint8_t bad[] = { 0, 2 /* ELFDATA2MSB */, 3 };
    for (size_t i = 0; i < sizeof(bad); i++) {
        img_t im;
        elf_info_t info;
        build_valid(&im);
        im.buf[5] = bad[i];
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_ENDIAN);
    }
}

static void test_bad_version(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    im.buf[6] = 0;                      /* e_ident[EI_VERSION] = EV_NONE */
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_VERSION);
    build_valid(&im);
    set32(&im, 20, 2);                  /* e_version */
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_VERSION);
    set32(&im, 20, 0x01000001);         /* all 32 bits count, not just the low byte */
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_VERSION);
}

static void test_bad_type(void)
{
    static const uint16_t bad[] = { 0 /* ET_NONE */, 1 /* ET_REL */, 3 /* ET_DYN */,
                                    4 /* ET_CORE */, 0x0102 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        img_t im;
        elf_info_t info;
        build_valid(&im);
        set16(&im, 16, bad[i]);
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_TYPE);
    }
}

static void test_bad_machine(void)
{
    static const uint16_t bad[] = { 0, 3 /* EM_386 */, 183 /* EM_AARCH64 */, 62 << 8 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        img_t im;
        elf_info_t info;
        build_valid(&im);
        set16(&im, 18, bad[i]);
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_MACHINE);
    }
}

static void test_bad_phdr_table(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    set16(&im, EH_PHNUM, 0);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_PHDR);
    build_valid(&im);
    set16(&im, EH_PHNUM, 0xFFFF);       /* PN_XNUM: extended numbering */
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_PHDR);
    build_valid(&im);
    set16(&im, EH_PHENTSIZE, 55);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_PHDR);
    set16(&im, EH_PHENTSIZE, 0);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_PHDR);

    /* A table with no PT_LOAD at all has nothing to run. */
    ph_t only[2] = {
        { PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16 },
        { PT_NOTE, PF_R, 0, 0, 0, 0, 4 },
    };
    build(&im, ENTRY, only, 2);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_PHDR);
    CU_ASSERT_EQUAL(info.nseg, 0);
}

/* e_phentsize larger than 56 is allowed; entries must be strided by it. */
static void test_wide_phentsize(void)
{
    img_t im;
    elf_info_t info;
    ph_t ph[VALID_NPH];
    valid_phs(ph);
    build_ex(&im, ENTRY, ph, VALID_NPH, 80);
    CU_ASSERT_EQUAL_FATAL(parse(&im, &info), ELF_OK);
    CU_ASSERT_EQUAL(info.nseg, 2);
    CU_ASSERT_EQUAL(info.seg[1].vaddr, DATA_VADDR);
    CU_ASSERT_EQUAL(info.seg[1].memsz, DATA_MEMSZ);
}

/* Non-PT_LOAD headers are skipped however absurd their other fields are. */
static void test_ignores_other_headers(void)
{
    img_t im;
    elf_info_t info;
    ph_t ph[6];
    valid_phs(ph);
    ph[3] = ph[2];
    ph[1] = (ph_t){ PT_NOTE, 0xFFFFFFFF, UINT64_MAX - 10, 0, UINT64_MAX, 1, 3 };
    ph[2] = (ph_t){ PT_NULL, 0, UINT64_MAX, UINT64_MAX, 0, 0, 0 };
    ph[4] = (ph_t){ 0x70000000, PF_X, 0x10, UINT64_MAX - 4, 5, 0, 0 };
    ph[5] = (ph_t){ 0xFFFFFFFF, 0, 1, 2, 3, 4, 5 };
    build(&im, ENTRY, ph, 6);
    CU_ASSERT_EQUAL_FATAL(parse(&im, &info), ELF_OK);
    CU_ASSERT_EQUAL(info.nseg, 2);
    CU_ASSERT_EQUAL(info.seg[0].vaddr, TEXT_VADDR);
    CU_ASSERT_EQUAL(info.seg[1].vaddr, DATA_VADDR);
}

/* ELF_MAX_SEGMENTS loads (mixed with other headers) pass; one more fails. */
static void test_too_many_segments(void)
{
    img_t im;
    elf_info_t info;
    ph_t ph[PH_MAX];
    size_t n = 0;
    for (size_t i = 0; i <= ELF_MAX_SEGMENTS; i++) {
        if (i % 4 == 0)
            ph[n++] = (ph_t){ PT_NOTE, PF_R, 0, 0, 0, 0, 4 };
        ph[n++] = (ph_t){ PT_LOAD, i == 0 ? PF_R | PF_X : PF_R, 0,
                          TEXT_VADDR + i * 0x1000, 0, 0x1000, 0x1000 };
    }
    /* ph[n - 1] is the 17th PT_LOAD. */
    build(&im, TEXT_VADDR, ph, n - 1);
    CU_ASSERT_EQUAL_FATAL(parse(&im, &info), ELF_OK);
    CU_ASSERT_EQUAL(info.nseg, ELF_MAX_SEGMENTS);
    CU_ASSERT_EQUAL(info.seg[ELF_MAX_SEGMENTS - 1].vaddr,
                    TEXT_VADDR + (ELF_MAX_SEGMENTS - 1) * 0x1000);
    build(&im, TEXT_VADDR, ph, n);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_TOO_MANY_SEGMENTS);
    CU_ASSERT_EQUAL(info.nseg, 0);
}

static void test_segment_bounds(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    /* Data's file bytes end one byte past the end of the file. */
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len - 1, USER_LIMIT, &info), ELF_ERR_SEGMENT_BOUNDS);
    /* offset + filesz wraps to a small number. */
    set64(&im, phdr_at(2) + PH_OFFSET, UINT64_MAX - 10);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_SEGMENT_BOUNDS);
    /* Offset beyond the file even with nothing to copy. */
    build_valid(&im);
    set64(&im, phdr_at(2) + PH_OFFSET, im.len + 0x1000);
    set64(&im, phdr_at(2) + PH_FILESZ, 0);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_SEGMENT_BOUNDS);
    /* filesz huge, offset small: the sum wraps past 2^64. */
    build_valid(&im);
    set64(&im, phdr_at(0) + PH_FILESZ, UINT64_MAX - 0xFFF);
    set64(&im, phdr_at(0) + PH_MEMSZ, UINT64_MAX);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_SEGMENT_BOUNDS);
    /* Exactly up to the last byte is fine (the valid image already is). */
    build_valid(&im);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_OK);
}

static void test_segment_size(void)
{
    ph_t d = { PT_LOAD, PF_R | PF_W, DATA_OFF, DATA_VADDR, DATA_FILESZ, DATA_FILESZ - 1, 0x1000 };
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_SIZE);
    d.memsz = 0;
    d.filesz = 0;
    d.offset = 0x100;                   /* inside the file, which now ends with text */
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_SIZE);
    d.offset = DATA_OFF;
    d.memsz = d.filesz = DATA_FILESZ;   /* filesz == memsz: no bss, fine */
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_OK);
}

static void test_segment_align(void)
{
    /* vaddr and offset disagree within the page. */
    ph_t d = { PT_LOAD, PF_R | PF_W, DATA_OFF + 8, DATA_VADDR, DATA_FILESZ, DATA_MEMSZ, 0x1000 };
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_ALIGN);
    d.align = 2;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_ALIGN);
    /* p_align 0 or 1: no alignment asked, so no congruence required. */
    d.align = 0;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_OK);
    d.align = 1;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_OK);
    /* p_align must be a power of two. */
    d.offset = DATA_OFF;
    d.align = 0x1800;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_ALIGN);
    d.align = UINT64_MAX;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_ALIGN);
    d.align = 0x200000;                 /* large pages: congruent mod 4 KiB is enough */
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_OK);
}

static void test_segment_overlap(void)
{
    /* Data starts inside text's last page. */
    ph_t d = { PT_LOAD, PF_R | PF_W, 0x1F00, TEXT_VADDR + 0xF00, DATA_FILESZ, DATA_MEMSZ, 0x1000 };
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_OVERLAP);
    /* Same start address. */
    d.vaddr = TEXT_VADDR;
    d.offset = 0x2000;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_OVERLAP);
    /* Below text: unsorted even though the ranges are disjoint. */
    d.vaddr = TEXT_VADDR - 0x10000;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_SEGMENT_OVERLAP);
    /* The very next page is fine. */
    d.vaddr = TEXT_VADDR + 0x1000;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_OK);

    /* Text spanning several pages, data in its last one. */
    ph_t t = { PT_LOAD, PF_R | PF_X, TEXT_OFF, TEXT_VADDR, TEXT_SIZE, 0x1101, 0x1000 };
    CU_ASSERT_EQUAL(parse_with(0, t, ENTRY), ELF_ERR_SEGMENT_OVERLAP);
    t.memsz = 0x1100;                   /* ends exactly at data's vaddr, same page */
    CU_ASSERT_EQUAL(parse_with(0, t, ENTRY), ELF_ERR_SEGMENT_OVERLAP);
    t.memsz = 0x1000;                   /* ends at the page boundary before data */
    CU_ASSERT_EQUAL(parse_with(0, t, ENTRY), ELF_OK);
}

static void test_address_range(void)
{
    /* p_align 0 so that only the address is at fault. Page 0 is never mapped. */
    ph_t t = { PT_LOAD, PF_R | PF_X, TEXT_OFF, 0, TEXT_SIZE, TEXT_SIZE, 0 };
    CU_ASSERT_EQUAL(parse_with(0, t, 0x10), ELF_ERR_ADDRESS);
    t.vaddr = 0xFFF;
    CU_ASSERT_EQUAL(parse_with(0, t, 0x1000), ELF_ERR_ADDRESS);
    t.vaddr = 0x1000;                   /* the lowest allowed page */
    CU_ASSERT_EQUAL(parse_with(0, t, 0x1000), ELF_OK);

    /* Data ending exactly at the limit passes; one byte more fails. */
    ph_t d = { PT_LOAD, PF_R | PF_W, DATA_OFF, USER_LIMIT - DATA_MEMSZ, DATA_FILESZ,
               DATA_MEMSZ, 0 };
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_OK);
    d.memsz++;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_ADDRESS);
    d.vaddr = USER_LIMIT;
    d.memsz = 1;
    d.filesz = 1;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_ADDRESS);
    /* Kernel half of the address space. */
    d.vaddr = 0xFFFFFFFF80000000ull;
    CU_ASSERT_EQUAL(parse_with(2, d, ENTRY), ELF_ERR_ADDRESS);

    /* A limit that is not page aligned is rounded down: the page holding it
     * cannot be mapped whole. */
    img_t im;
    elf_info_t info;
    build_valid(&im);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, DATA_VADDR + DATA_MEMSZ, &info),
                    ELF_ERR_ADDRESS);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, 0x405000, &info), ELF_OK);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, 0x404FFF, &info), ELF_ERR_ADDRESS);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, 0, &info), ELF_ERR_ADDRESS);
}

static void test_overflow(void)
{
    img_t im;
    elf_info_t info;

    /* p_offset near 2^64: offset + filesz wraps. */
    build_valid(&im);
    set64(&im, phdr_at(0) + PH_OFFSET, UINT64_MAX - 10);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_SEGMENT_BOUNDS);

    /* vaddr near 2^64: vaddr + memsz wraps to a small, "valid" address. */
    build_valid(&im);
    set64(&im, phdr_at(2) + PH_VADDR, 0xFFFFFFFFFFFFE100ull);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_ADDRESS);
    /* ...even when the caller allows the whole address space. */
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, UINT64_MAX, &info), ELF_ERR_ADDRESS);
    set64(&im, phdr_at(2) + PH_VADDR, 0xFFFFFFFFFFFFF100ull);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, UINT64_MAX, &info), ELF_ERR_ADDRESS);
    /* memsz near 2^64 at a sane vaddr. */
    build_valid(&im);
    set64(&im, phdr_at(2) + PH_MEMSZ, UINT64_MAX - 0x1000);
    CU_ASSERT_EQUAL(elf_parse(im.buf, im.len, UINT64_MAX, &info), ELF_ERR_ADDRESS);

    /* e_phnum * e_phentsize far larger than the file. */
    build_valid(&im);
    set16(&im, EH_PHNUM, 0xFFFE);
    set16(&im, EH_PHENTSIZE, 0xFFFF);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_TRUNCATED);
    /* e_phoff + e_phnum * e_phentsize wraps back into the file. */
    build_valid(&im);
    set64(&im, EH_PHOFF, UINT64_MAX - 10);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_TRUNCATED);
    set64(&im, EH_PHOFF, (uint64_t)0 - 0xFFFEull * 0xFFFF + 64);
    set16(&im, EH_PHNUM, 0xFFFE);
    set16(&im, EH_PHENTSIZE, 0xFFFF);
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_TRUNCATED);
}

static void test_entry(void)
{
    img_t im;
    elf_info_t info;
    static const uint64_t bad[] = {
        0, TEXT_VADDR - 1, TEXT_VADDR + TEXT_SIZE, DATA_VADDR, DATA_VADDR + 0x10,
        DATA_VADDR + DATA_MEMSZ - 1, UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        build_valid(&im);
        set64(&im, EH_ENTRY, bad[i]);
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_ENTRY);
        CU_ASSERT_EQUAL(info.nseg, 0);
        CU_ASSERT_EQUAL(info.entry, 0);
    }
    static const uint64_t good[] = { TEXT_VADDR, TEXT_VADDR + TEXT_SIZE - 1 };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        build_valid(&im);
        set64(&im, EH_ENTRY, good[i]);
        CU_ASSERT_EQUAL(parse(&im, &info), ELF_OK);
        CU_ASSERT_EQUAL(info.entry, good[i]);
    }
    /* Text without PF_X: nothing is executable, so no entry can be valid. */
    ph_t t = { PT_LOAD, PF_R, TEXT_OFF, TEXT_VADDR, TEXT_SIZE, TEXT_SIZE, 0x1000 };
    CU_ASSERT_EQUAL(parse_with(0, t, ENTRY), ELF_ERR_ENTRY);
    /* An executable data segment makes an entry there acceptable. */
    ph_t d = { PT_LOAD, PF_R | PF_W | PF_X, DATA_OFF, DATA_VADDR, DATA_FILESZ, DATA_MEMSZ,
               0x1000 };
    CU_ASSERT_EQUAL(parse_with(2, d, DATA_VADDR + 4), ELF_OK);
}

/* A success followed by a failure must not leave the earlier result behind. */
static void test_failure_clears_result(void)
{
    img_t im;
    elf_info_t info;
    build_valid(&im);
    CU_ASSERT_EQUAL_FATAL(parse(&im, &info), ELF_OK);
    set64(&im, phdr_at(2) + PH_MEMSZ, 1);   /* data: filesz > memsz, after text passed */
    CU_ASSERT_EQUAL(parse(&im, &info), ELF_ERR_SEGMENT_SIZE);
    CU_ASSERT_EQUAL(info.nseg, 0);
    CU_ASSERT_EQUAL(info.entry, 0);
}

/* Every proper prefix of the valid image, each in a heap block of exactly
 * that size so ASan catches a read of even one byte past it, is refused
 * with the status matching where the cut falls. */
static void test_truncation_sweep(void)
{
    img_t im;
    build_valid(&im);
    for (size_t avail = 0; avail <= im.len; avail++) {
        uint8_t *copy = malloc(avail ? avail : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
        memcpy(copy, im.buf, avail);
        elf_info_t info;
        elf_status_t st = elf_parse(copy, avail, USER_LIMIT, &info);
        elf_status_t want = avail == im.len ? ELF_OK
                          : avail < HDRS_LEN ? ELF_ERR_TRUNCATED
                          : ELF_ERR_SEGMENT_BOUNDS;
        if (st != want)
            CU_FAIL("wrong status for a prefix");
        free(copy);
    }
    CU_PASS("every prefix refused, none read past its end");
}

/* What any accepted image must satisfy, whatever it looked like. */
static void check_invariants(const elf_info_t *info, size_t size)
{
    int exec_has_entry = 0;
    CU_ASSERT(info->nseg >= 1 && info->nseg <= ELF_MAX_SEGMENTS);
    for (size_t i = 0; i < info->nseg && i < ELF_MAX_SEGMENTS; i++) {
        const elf_segment_t *s = &info->seg[i];
        CU_ASSERT(s->offset <= size && s->filesz <= size - s->offset);
        CU_ASSERT(s->filesz <= s->memsz && s->memsz > 0);
        CU_ASSERT(s->vaddr >= ELF_PAGE_SIZE && s->vaddr < USER_LIMIT &&
                  s->memsz <= USER_LIMIT - s->vaddr);
        if (i > 0)
            CU_ASSERT(s->vaddr / ELF_PAGE_SIZE >
                      (info->seg[i - 1].vaddr + info->seg[i - 1].memsz - 1) / ELF_PAGE_SIZE);
        if ((s->flags & PF_X) && info->entry >= s->vaddr && info->entry - s->vaddr < s->memsz)
            exec_has_entry = 1;
    }
    CU_ASSERT(exec_has_entry);
}

/* Flip each bit of the header and program headers in turn. The parser must
 * never crash or read outside the (exactly sized) buffer, whatever it
 * decides, and anything it accepts must still obey the rules. */
static void test_bitflip_sweep(void)
{
    img_t im;
    build_valid(&im);
    size_t accepted = 0;
    uint8_t *copy = malloc(im.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    for (size_t i = 0; i < HDRS_LEN; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, im.buf, im.len);
            copy[i] ^= (uint8_t)(1u << bit);
            elf_info_t info;
            elf_status_t st = elf_parse(copy, im.len, USER_LIMIT, &info);
            if (st == ELF_OK) {
                accepted++;
                check_invariants(&info, im.len);
            } else if (info.nseg != 0) {
                CU_FAIL("refused image left segments behind");
            }
            /* Bits the parser must ignore: e_ident padding (7..15). */
            if (i >= 7 && i < 16 && st != ELF_OK)
                CU_FAIL("flip in e_ident padding refused");
        }
    }
    free(copy);
    CU_ASSERT(accepted > 0 && accepted < HDRS_LEN * 8);
}

static void test_status_strings(void)
{
    CU_ASSERT_STRING_EQUAL(elf_status_str(ELF_OK), "ok");
    CU_ASSERT_STRING_EQUAL(elf_status_str((elf_status_t)999), "unknown error");
    CU_ASSERT_STRING_EQUAL(elf_status_str((elf_status_t)(ELF_ERR_ENTRY + 1)), "unknown error");
    for (int a = ELF_OK; a <= ELF_ERR_ENTRY; a++) {
        const char *sa = elf_status_str((elf_status_t)a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
        CU_ASSERT(sa[0] != '\0');
        CU_ASSERT(strcmp(sa, "unknown error") != 0);
        for (int b = ELF_OK; b < a; b++)
            CU_ASSERT(strcmp(sa, elf_status_str((elf_status_t)b)) != 0);
    }
}

UNIT_SUITE(elf_suite)
{
    CU_pSuite s = CU_add_suite("elf64 parser", NULL, NULL);
    CU_add_test(s, "parses a valid text+data(+bss) image", test_valid_two_segments);
    CU_add_test(s, "parses an unaligned image", test_unaligned_image);
    CU_add_test(s, "rejects NULL", test_null);
    CU_add_test(s, "rejects truncated headers", test_truncated);
    CU_add_test(s, "rejects bad magic", test_bad_magic);
    CU_add_test(s, "rejects a class other than ELFCLASS64", test_bad_class);
    CU_add_test(s, "rejects big-endian and unknown encodings", test_bad_endian);
    CU_add_test(s, "rejects bad versions", test_bad_version);
    CU_add_test(s, "rejects non-ET_EXEC types", test_bad_type);
    CU_add_test(s, "rejects other machines", test_bad_machine);
    CU_add_test(s, "rejects a bad program header table", test_bad_phdr_table);
    CU_add_test(s, "strides by a wide e_phentsize", test_wide_phentsize);
    CU_add_test(s, "ignores non-PT_LOAD headers", test_ignores_other_headers);
    CU_add_test(s, "caps PT_LOAD count at ELF_MAX_SEGMENTS", test_too_many_segments);
    CU_add_test(s, "rejects segment data outside the file", test_segment_bounds);
    CU_add_test(s, "rejects filesz > memsz and empty segments", test_segment_size);
    CU_add_test(s, "rejects misaligned segments", test_segment_align);
    CU_add_test(s, "rejects unsorted or page-sharing segments", test_segment_overlap);
    CU_add_test(s, "rejects addresses outside [4K, user_limit)", test_address_range);
    CU_add_test(s, "rejects wrapping offsets, addresses and table sizes", test_overflow);
    CU_add_test(s, "requires the entry in an executable segment", test_entry);
    CU_add_test(s, "clears the result on failure", test_failure_clears_result);
    CU_add_test(s, "refuses every truncated prefix", test_truncation_sweep);
    CU_add_test(s, "survives every single-bit flip in the headers", test_bitflip_sweep);
    CU_add_test(s, "has a distinct string for each status", test_status_strings);
}
