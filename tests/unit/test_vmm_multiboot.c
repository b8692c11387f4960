/* tests/unit/test_vmm_multiboot.c - the VMM's Multiboot header check (vmm-server/boot). */
#include "unit.h"
#include "boot/multiboot.h"
#include <string.h>

#define RAM       (8u << 20)
#define LOAD      0x100000u
#define HDR_OFF   8u

static uint8_t img[16384];

/* An image of `size` bytes with a header at HDR_OFF (load at LOAD). */
static void make(uint32_t flags, uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
    memset(img, 0x90, sizeof(img));
    uint32_t h[8] = { MB_HEADER_MAGIC, flags, -(MB_HEADER_MAGIC + flags), LOAD + HDR_OFF, LOAD,
                      load_end, bss_end, entry };
    memcpy(img + HDR_OFF, h, sizeof(h));
}

static void test_good_header(void)
{
    mb_layout_t l;
    make(MB_FLAG_ADDRESSES | 2, LOAD + 4096, LOAD + 8192, LOAD + 16);
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.file_offset, 0);
    CU_ASSERT_EQUAL(l.load_addr, LOAD);
    CU_ASSERT_EQUAL(l.copy_bytes, 4096);
    CU_ASSERT_EQUAL(l.bss_end, LOAD + 8192);
    CU_ASSERT_EQUAL(l.entry, LOAD + 16);
    /* load_end 0: the rest of the file; bss_end 0: no bss. */
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    CU_ASSERT_EQUAL(mb_parse(img, 3000, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.copy_bytes, 3000);
    CU_ASSERT_EQUAL(l.bss_end, LOAD + 3000);
}

static void test_no_header(void)
{
    mb_layout_t l;
    memset(img, 0, sizeof(img));
    CU_ASSERT_EQUAL(mb_parse(img, sizeof(img), RAM, &l), MB_NO_HEADER);
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    img[HDR_OFF + 8] ^= 1;                               /* bad checksum */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_NO_HEADER);
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    CU_ASSERT_EQUAL(mb_parse(img, HDR_OFF + 16, RAM, &l), MB_NO_HEADER);   /* truncated */
    CU_ASSERT_EQUAL(mb_parse(img, 0, RAM, &l), MB_NO_HEADER);
    /* Beyond the first 8 KiB it does not count. */
    memset(img, 0, sizeof(img));
    uint32_t h[3] = { MB_HEADER_MAGIC, 0, -MB_HEADER_MAGIC };
    memcpy(img + MB_SEARCH_BYTES, h, sizeof(h));
    CU_ASSERT_EQUAL(mb_parse(img, sizeof(img), RAM, &l), MB_NO_HEADER);
}

static void test_refused(void)
{
    mb_layout_t l;
    make(MB_FLAG_ADDRESSES | 4, 0, 0, LOAD);              /* video mode */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_UNSUPPORTED_FLAGS);
    make(2, 0, 0, LOAD);                                  /* ELF kernel */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_NO_ADDRESSES);
    make(MB_FLAG_ADDRESSES, LOAD + 8192, 0, LOAD);        /* load_end past the file */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    make(MB_FLAG_ADDRESSES, 0, RAM + 1, LOAD);            /* bss past RAM */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD + 5000);           /* entry outside the load */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    make(MB_FLAG_ADDRESSES, LOAD + 100, LOAD + 50, LOAD); /* bss_end below load_end */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    /* header_addr far above load_addr: the load would start before the file. */
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    uint32_t far = LOAD + 0x10000;
    memcpy(img + HDR_OFF + 12, &far, 4);
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    /* Below 1 MiB: not where a Multiboot kernel may go. */
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    uint32_t low[2] = { 0x7000 + HDR_OFF, 0x7000 };
    memcpy(img + HDR_OFF + 12, low, sizeof(low));
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    CU_ASSERT_STRING_NOT_EQUAL(mb_status_str(MB_BAD_ADDRESSES), "unknown error");
}

UNIT_SUITE(vmm_multiboot_suite)
{
    CU_pSuite s = CU_add_suite("vmm: Multiboot header", NULL, NULL);
    CU_add_test(s, "a header with load addresses gives the layout", test_good_header);
    CU_add_test(s, "no header, bad checksum, truncated, beyond 8 KiB", test_no_header);
    CU_add_test(s, "refused: unknown flags, no addresses, addresses outside file or RAM",
                test_refused);
}
