/* tests/unit/test_multiboot2.c - the Multiboot2 information parser. */
#include "unit.h"
#include "boot/multiboot2.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A builder for information blocks, 8-byte aligned like GRUB's. */
typedef struct {
    _Alignas(8) uint8_t buf[4096];
    size_t len;
} mbi_t;

static void put32(mbi_t *m, uint32_t v) { memcpy(m->buf + m->len, &v, 4); m->len += 4; }
static void put64(mbi_t *m, uint64_t v) { memcpy(m->buf + m->len, &v, 8); m->len += 8; }
static void align8(mbi_t *m) { while (m->len % 8) m->buf[m->len++] = 0; }

static void begin(mbi_t *m)
{
    memset(m, 0, sizeof(*m));
    put32(m, 0);    /* total_size, patched by finish */
    put32(m, 0);
}

static void tag_string(mbi_t *m, uint32_t type, const char *s)
{
    size_t n = strlen(s) + 1;
    put32(m, type);
    put32(m, (uint32_t)(8 + n));
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    align8(m);
}

static void tag_module(mbi_t *m, uint32_t start, uint32_t end, const char *cmd)
{
    size_t n = strlen(cmd) + 1;
    put32(m, MB2_TAG_MODULE);
    put32(m, (uint32_t)(16 + n));
    put32(m, start);
    put32(m, end);
    memcpy(m->buf + m->len, cmd, n);
    m->len += n;
    align8(m);
}

static void tag_mmap(mbi_t *m, int entries)
{
    put32(m, MB2_TAG_MMAP);
    put32(m, (uint32_t)(16 + 24 * entries));
    put32(m, 24);
    put32(m, 0);
    for (int i = 0; i < entries; i++) {
        put64(m, (uint64_t)i << 20);
        put64(m, 1 << 20);
        put32(m, i % 2 ? MB2_MEM_RESERVED : MB2_MEM_AVAILABLE);
        put32(m, 0);
    }
}

static void finish(mbi_t *m)
{
    put32(m, MB2_TAG_END);
    put32(m, 8);
    uint32_t total = (uint32_t)m->len;
    memcpy(m->buf, &total, 4);
}

static void test_grub_like(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    tag_string(&m, MB2_TAG_CMDLINE, "fault=gp verbose");
    tag_string(&m, MB2_TAG_BOOTLOADER, "GRUB 2.06");
    tag_mmap(&m, 3);
    tag_module(&m, 0x200000, 0x201000, "stack-config");
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_OK);
    CU_ASSERT_STRING_EQUAL(b.cmdline, "fault=gp verbose");
    CU_ASSERT_STRING_EQUAL(b.bootloader, "GRUB 2.06");
    CU_ASSERT_EQUAL(b.mmap_count, 3);
    CU_ASSERT_EQUAL(b.mmap[1].base, 1 << 20);
    CU_ASSERT_EQUAL(b.mmap[1].type, MB2_MEM_RESERVED);
    CU_ASSERT_EQUAL(b.module_count, 1);
    CU_ASSERT_EQUAL(b.modules[0].start, 0x200000);
    CU_ASSERT_EQUAL(b.modules[0].end, 0x201000);
    CU_ASSERT_STRING_EQUAL(b.modules[0].cmdline, "stack-config");
}

static void test_rejects_null_and_misaligned(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(NULL, 100, &b), MB2_ERR_NULL);
    CU_ASSERT_EQUAL(mb2_parse(m.buf + 4, m.len, &b), MB2_ERR_MISALIGNED);
}

static void test_rejects_total_size(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len - 1, &b), MB2_ERR_TOTAL_SIZE);
    uint32_t tiny = 8;
    memcpy(m.buf, &tiny, 4);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_TOTAL_SIZE);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, 4, &b), MB2_ERR_TOTAL_SIZE);
}

static void test_rejects_tag_past_end(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    tag_string(&m, MB2_TAG_CMDLINE, "x");
    finish(&m);
    uint32_t huge = 0xFFFFFFF0;
    memcpy(m.buf + 12, &huge, 4);   /* the cmdline tag's size */
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_TAG_SIZE);
    uint32_t small = 4;
    memcpy(m.buf + 12, &small, 4);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_TAG_SIZE);
}

static void test_rejects_missing_end_tag(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    tag_string(&m, MB2_TAG_CMDLINE, "abc");
    uint32_t total = (uint32_t)m.len;
    memcpy(m.buf, &total, 4);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_NO_END_TAG);
}

static void test_rejects_unterminated_string(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    put32(&m, MB2_TAG_CMDLINE);
    put32(&m, 12);
    memcpy(m.buf + m.len, "abcd", 4);   /* no NUL inside the tag */
    m.len += 4;
    align8(&m);
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_BAD_STRING);
}

static void test_rejects_bad_module_and_mmap(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    tag_module(&m, 0x3000, 0x2000, "backwards");
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_BAD_MODULE);

    begin(&m);
    put32(&m, MB2_TAG_MMAP);
    put32(&m, 16 + 24);
    put32(&m, 4);      /* entry_size smaller than an entry */
    put32(&m, 0);
    m.len += 24;
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_ERR_BAD_MMAP);
}

static void test_caps_counts(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    tag_mmap(&m, MB2_MAX_MMAP + 5);
    for (int i = 0; i < MB2_MAX_MODULES + 2; i++)
        tag_module(&m, 0x1000, 0x2000, "m");
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_OK);
    CU_ASSERT_EQUAL(b.mmap_count, MB2_MAX_MMAP);
    CU_ASSERT_EQUAL(b.mmap_dropped, 5);
    CU_ASSERT_EQUAL(b.module_count, MB2_MAX_MODULES);
    CU_ASSERT_EQUAL(b.modules_dropped, 2);
}

static void test_skips_unknown_tags(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    put32(&m, 21);      /* load base address tag: not used by us */
    put32(&m, 12);
    put32(&m, 0x100000);
    align8(&m);
    tag_string(&m, MB2_TAG_BOOTLOADER, "loader");
    finish(&m);
    CU_ASSERT_EQUAL(mb2_parse(m.buf, m.len, &b), MB2_OK);
    CU_ASSERT_STRING_EQUAL(b.bootloader, "loader");
    CU_ASSERT_PTR_NULL(b.cmdline);
}

/* Every prefix length and every byte corruption must be rejected or parsed
 * without reading outside the buffer (ASan checks the "without"). */
static void test_corruption_never_overreads(void)
{
    mbi_t m;
    mb2_boot_t b;
    begin(&m);
    tag_string(&m, MB2_TAG_CMDLINE, "fault=pf");
    tag_mmap(&m, 2);
    tag_module(&m, 0x1000, 0x2000, "mod");
    finish(&m);
    size_t len = m.len;
    for (size_t avail = 0; avail <= len; avail++) {
        uint8_t *copy = malloc(avail ? avail : 1);
        memcpy(copy, m.buf, avail);
        mb2_status_t st = mb2_parse(copy, avail, &b);
        CU_ASSERT(avail == len ? st == MB2_OK : st != MB2_OK);
        free(copy);
    }
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            mbi_t c = m;
            c.buf[i] ^= (uint8_t)(1u << bit);
            (void)mb2_parse(c.buf, len, &b);
        }
    }
    CU_PASS("no out-of-bounds access under ASan");
}

static void test_status_strings(void)
{
    CU_ASSERT_STRING_EQUAL(mb2_status_str(MB2_OK), "ok");
    CU_ASSERT_STRING_EQUAL(mb2_status_str((mb2_status_t)999), "unknown error");
    CU_ASSERT_STRING_EQUAL(mb2_mem_type_str(MB2_MEM_AVAILABLE), "available");
    CU_ASSERT_STRING_EQUAL(mb2_mem_type_str(77), "unknown");
}

UNIT_SUITE(multiboot2_suite)
{
    CU_pSuite s = CU_add_suite("multiboot2 parser", NULL, NULL);
    CU_add_test(s, "parses a GRUB-like block", test_grub_like);
    CU_add_test(s, "rejects NULL and misaligned blocks", test_rejects_null_and_misaligned);
    CU_add_test(s, "rejects bad total_size", test_rejects_total_size);
    CU_add_test(s, "rejects a tag past the end", test_rejects_tag_past_end);
    CU_add_test(s, "rejects a missing end tag", test_rejects_missing_end_tag);
    CU_add_test(s, "rejects an unterminated string", test_rejects_unterminated_string);
    CU_add_test(s, "rejects bad module and mmap tags", test_rejects_bad_module_and_mmap);
    CU_add_test(s, "caps mmap and module counts", test_caps_counts);
    CU_add_test(s, "skips unknown tags", test_skips_unknown_tags);
    CU_add_test(s, "truncation and bit flips never overread", test_corruption_never_overreads);
    CU_add_test(s, "status and type strings", test_status_strings);
}
