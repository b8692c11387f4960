/* tests/unit/test_vmm_multiboot.c - the VMM's Multiboot loader (vmm-server/boot): the
 * header, ELF kernels by their program headers, the boot information. */
#include "unit.h"
#include "boot/multiboot.h"
#include "boot/multiboot2_load.h"
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
    CU_ASSERT_EQUAL(l.nseg, 1);
    CU_ASSERT_EQUAL(l.format, MB_FORMAT_KLUDGE);
    CU_ASSERT_EQUAL(l.seg[0].file_offset, 0);
    CU_ASSERT_EQUAL(l.seg[0].load_addr, LOAD);
    CU_ASSERT_EQUAL(l.seg[0].copy_bytes, 4096);
    CU_ASSERT_EQUAL(l.seg[0].mem_bytes, 8192);
    CU_ASSERT_EQUAL(l.end, LOAD + 8192);
    CU_ASSERT_EQUAL(l.entry, LOAD + 16);
    /* load_end 0: the rest of the file; bss_end 0: no bss. */
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    CU_ASSERT_EQUAL(mb_parse(img, 3000, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.seg[0].copy_bytes, 3000);
    CU_ASSERT_EQUAL(l.seg[0].mem_bytes, 3000);
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
    CU_ASSERT_EQUAL(mb_parse(img, HDR_OFF + 16, RAM, &l), MB_BAD_ADDRESSES); /* truncated */
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
    make(2, 0, 0, LOAD);                       /* no kludge, and not ELF */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_NO_ADDRESSES);
    make(MB_FLAG_ADDRESSES, LOAD + 8192, 0, LOAD);        /* load_end past the file */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    make(MB_FLAG_ADDRESSES, 0, RAM + 1, LOAD);            /* bss past RAM */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_OUTSIDE_RAM);
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD + 5000);           /* entry outside the load */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ENTRY);
    make(MB_FLAG_ADDRESSES, LOAD + 100, LOAD + 50, LOAD); /* bss_end below load_end */
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    /* header_addr far above load_addr: the load would start before the file. */
    make(MB_FLAG_ADDRESSES, 0, 0, LOAD);
    uint32_t far = LOAD + 0x10000;
    memcpy(img + HDR_OFF + 12, &far, 4);
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_BAD_ADDRESSES);
    /* Below 1 MiB is fine in conventional memory (GRUB loads there too) ... */
    make(MB_FLAG_ADDRESSES, 0, 0, 0x7000);
    uint32_t low[2] = { 0x7000 + HDR_OFF, 0x7000 };
    memcpy(img + HDR_OFF + 12, low, sizeof(low));
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.seg[0].load_addr, 0x7000);
    /* ... but not in the hole at 0xA0000-0xFFFFF, nor across it. */
    make(MB_FLAG_ADDRESSES, 0, 0, 0x9F800);
    uint32_t hole[2] = { 0x9F800 + HDR_OFF, 0x9F800 };
    memcpy(img + HDR_OFF + 12, hole, sizeof(hole));
    CU_ASSERT_EQUAL(mb_parse(img, 4096, RAM, &l), MB_OUTSIDE_RAM);
    CU_ASSERT_STRING_NOT_EQUAL(mb_status_str(MB_BAD_ADDRESSES), "unknown error");
}


/* ---- ELF kernels without the kludge: loaded by their program headers ---- */

static uint8_t elf[32768];

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* An ELF32 kernel: header at 0, program headers at 52, a Multiboot header
 * (flags: memory info, no kludge) at 0x400, segment bytes from 0x1000. */
static void elf32_make(uint32_t entry, unsigned nph)
{
    memset(elf, 0, sizeof(elf));
    memcpy(elf, "\x7f" "ELF", 4);
    elf[4] = 1; elf[5] = 1; elf[6] = 1;
    put16(elf + 16, 2);  put16(elf + 18, 3);  put32(elf + 20, 1);
    put32(elf + 24, entry); put32(elf + 28, 52);
    put16(elf + 40, 52); put16(elf + 42, 32); put16(elf + 44, (uint16_t)nph);
    uint32_t h[3] = { MB_HEADER_MAGIC, MB_FLAG_MEMORY, -(MB_HEADER_MAGIC + MB_FLAG_MEMORY) };
    memcpy(elf + 0x400, h, sizeof(h));
    for (unsigned i = 0; i < sizeof(elf) - 0x1000; i++)
        elf[0x1000 + i] = (uint8_t)(i * 7 + 1);
}

static void elf32_ph(unsigned i, uint32_t type, uint32_t off, uint32_t vaddr, uint32_t paddr,
                     uint32_t filesz, uint32_t memsz)
{
    uint8_t *ph = elf + 52 + 32 * i;
    put32(ph, type); put32(ph + 4, off); put32(ph + 8, vaddr); put32(ph + 12, paddr);
    put32(ph + 16, filesz); put32(ph + 20, memsz); put32(ph + 24, 5); put32(ph + 28, 0x1000);
}

static void test_elf32_loads(void)
{
    mb_layout_t l;
    /* Two segments, one below 1 MiB with bss, one at 1 MiB linked elsewhere (p_paddr counts). */
    elf32_make(0xC0100010, 3);
    elf32_ph(0, 1, 0x1000, 0x10000, 0x10000, 0x800, 0x2000);
    elf32_ph(1, 4, 0, 0, 0, 0x10, 0x10);                    /* PT_NOTE: ignored */
    elf32_ph(2, 1, 0x2000, 0xC0100000, 0x100000, 0x1000, 0x1000);
    CU_ASSERT_EQUAL_FATAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.format, MB_FORMAT_ELF32);
    CU_ASSERT_EQUAL(l.nseg, 2);
    CU_ASSERT_EQUAL(l.entry, 0x100010);                     /* e_entry made physical */
    CU_ASSERT_EQUAL(l.end, 0x101000);
    static uint8_t ram[RAM];
    memset(ram, 0xEE, sizeof(ram));
    mb_load(elf, &l, ram);
    CU_ASSERT_EQUAL(memcmp(ram + 0x10000, elf + 0x1000, 0x800), 0);
    CU_ASSERT_EQUAL(ram[0x10800], 0);                       /* bss zeroed ... */
    CU_ASSERT_EQUAL(ram[0x11FFF], 0);
    CU_ASSERT_EQUAL(ram[0x12000], 0xEE);                    /* ... and no further */
    CU_ASSERT_EQUAL(memcmp(ram + 0x100000, elf + 0x2000, 0x1000), 0);
    /* The kludge wins over ELF when both are there (3.1.3, as GRUB does). */
    uint32_t h[8] = { MB_HEADER_MAGIC, MB_FLAG_ADDRESSES, -(MB_HEADER_MAGIC + MB_FLAG_ADDRESSES),
                      LOAD + 0x400, LOAD, 0, 0, LOAD + 0x500 };
    memcpy(elf + 0x400, h, sizeof(h));
    CU_ASSERT_EQUAL(mb_parse(elf, 8192, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.format, MB_FORMAT_KLUDGE);
    /* An ELF file with no Multiboot header is not this loader's. */
    elf32_make(0x100000, 1);
    memset(elf + 0x400, 0, 12);
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_NO_HEADER);
}

static void test_elf64_loads(void)
{
    mb_layout_t l;
    memset(elf, 0, sizeof(elf));
    memcpy(elf, "\x7f" "ELF", 4);
    elf[4] = 2; elf[5] = 1; elf[6] = 1;
    put16(elf + 16, 2); put16(elf + 18, 62); put32(elf + 20, 1);
    put64(elf + 24, 0xFFFFFFFF80200004ULL); put64(elf + 32, 64);
    put16(elf + 54, 56); put16(elf + 56, 1);
    uint8_t *ph = elf + 64;
    put32(ph, 1); put64(ph + 8, 0x1000); put64(ph + 16, 0xFFFFFFFF80200000ULL);
    put64(ph + 24, 0x200000); put64(ph + 32, 0x100); put64(ph + 40, 0x3000);
    uint32_t h[3] = { MB_HEADER_MAGIC, 0, -MB_HEADER_MAGIC };
    memcpy(elf + 0x200, h, sizeof(h));
    CU_ASSERT_EQUAL_FATAL(mb_parse(elf, 0x2000, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.format, MB_FORMAT_ELF64);
    CU_ASSERT_EQUAL(l.entry, 0x200004);
    CU_ASSERT_EQUAL(l.end, 0x203000);
}

static void test_elf_hostile(void)
{
    mb_layout_t l;
    /* Each case: a good two-segment kernel with one defect. */
#define GOOD() do { elf32_make(0x100000, 2);                                   \
                    elf32_ph(0, 1, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000); \
                    elf32_ph(1, 1, 0x2000, 0x200000, 0x200000, 0x100, 0x1000);  \
               } while (0)
    GOOD();
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OK);
    GOOD(); elf32_ph(1, 1, 0x2000, 0x200000, RAM - 0x800, 0x100, 0x1000);     /* past RAM */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OUTSIDE_RAM);
    CU_ASSERT_EQUAL(l.bad_index, 1);
    CU_ASSERT_EQUAL(l.nseg, 0);
    GOOD(); elf32_ph(1, 1, 0x2000, 0, 0xFFFFF000u, 0x100, 0x2000);            /* wraps 4 GiB */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OUTSIDE_RAM);
    GOOD(); elf32_ph(1, 1, 0x2000, 0, 0xA0000, 0x100, 0x1000);                /* in the hole */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OUTSIDE_RAM);
    GOOD(); elf32_ph(1, 1, 0x2000, 0, 0x9F000, 0x100, 0x2000);                /* into the hole */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OUTSIDE_RAM);
    GOOD(); elf32_ph(1, 1, 0x2000, 0, 0x100800, 0x100, 0x1000);               /* overlaps seg 0 */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OVERLAP);
    GOOD(); elf32_ph(1, 1, 0x2000, 0x200000, 0x200000, 0x2000, 0x1000);       /* filesz > memsz */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_SEGMENT);
    GOOD(); elf32_ph(1, 1, 0x2000, 0x200000, 0x200000, 0xFFFFFFFFu, 0xFFFFFFFFu); /* huge */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_SEGMENT);
    GOOD(); elf32_ph(1, 1, 0xFFFFFF00u, 0x200000, 0x200000, 0x200, 0x1000);   /* offset wraps */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_SEGMENT);
    GOOD(); elf32_ph(1, 1, 0x2000, 0x200000, 0x200000, 0, 0x40000000);        /* bss of 1 GiB */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OUTSIDE_RAM);
    GOOD(); put32(elf + 24, 0x300000);                                         /* entry nowhere */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ENTRY);
    GOOD(); put32(elf + 24, 0x200800);                                         /* entry in bss */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ENTRY);
    GOOD(); put32(elf + 28, sizeof(elf) - 40);                                 /* phdrs past file */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); put32(elf + 28, 0xFFFFFFF0u);
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); put16(elf + 42, 16);                                               /* phentsize short */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); put16(elf + 44, 0);                                                /* no phdrs */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); elf32_ph(0, 4, 0, 0, 0, 0, 0); elf32_ph(1, 4, 0, 0, 0, 0, 0);    /* no PT_LOAD */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); put16(elf + 18, 62);                                               /* ELF32 x86-64 */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); put16(elf + 16, 3);                                                /* ET_DYN */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); elf[5] = 2;                                                        /* big-endian */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD(); elf[4] = 9;                                                        /* bad class */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_BAD_ELF);
    GOOD();                                        /* truncated: segment bytes past the end */
    CU_ASSERT_EQUAL(mb_parse(elf, 0x800, RAM, &l), MB_BAD_SEGMENT);
    GOOD(); put16(elf + 44, 9);                                                /* 9 PT_LOADs */
    for (unsigned i = 0; i < 9; i++)
        elf32_ph(i, 1, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0x10, 0x10);
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_TOO_MANY_SEGMENTS);
    GOOD(); elf32_ph(1, 1, 0x2000, 0x200000, 0x200000, 0, 0);                 /* empty: skipped */
    CU_ASSERT_EQUAL(mb_parse(elf, sizeof(elf), RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.nseg, 1);
    for (int st = MB_OK; st <= MB_NO_ROOM; st++)
        CU_ASSERT_STRING_NOT_EQUAL(mb_status_str((mb_status_t)st), "unknown error");
#undef GOOD
}

/* ---- the boot information ---- */

static uint8_t ram2[RAM];

typedef mb_status_t build_info_t(uint8_t *, uint64_t, uint64_t, const char *, const mb_module_t *,
                                  unsigned, mb_boot_t *);
static build_info_t *const builders[] = { mb_build_info, mb2_build_info };
#define N_BUILDERS (sizeof(builders) / sizeof(builders[0]))

/* Both loaders (Multiboot and Multiboot2) place alike: modules page-aligned
 * above the kernel, then the information; below 1 MiB the kernel leaves
 * conventional memory alone. */
static void test_placement(void)
{
    static const uint8_t one[5000] = { 1, 2, 3 }, two[3] = { 9, 8, 7 };
    const mb_module_t mods[2] = { { one, sizeof(one), "first module" }, { two, 3, "" } };
    for (unsigned k = 0; k < N_BUILDERS; k++) {
        mb_boot_t b;
        memset(ram2, 0xEE, sizeof(ram2));
        CU_ASSERT_EQUAL_FATAL(builders[k](ram2, RAM, 0x123456, "a b=c", mods, 2, &b), MB_OK);
        CU_ASSERT_EQUAL(b.mod_addr[0], 0x124000);
        CU_ASSERT_EQUAL(b.mod_addr[1], 0x126000);
        CU_ASSERT_EQUAL(b.info_addr, 0x127000);
        CU_ASSERT_EQUAL(memcmp(ram2 + b.mod_addr[0], one, sizeof(one)), 0);
        CU_ASSERT_EQUAL(memcmp(ram2 + b.mod_addr[1], two, 3), 0);
        CU_ASSERT(b.end > b.info_addr && b.end <= RAM);
        CU_ASSERT_EQUAL(ram2[b.end], 0xEE);                 /* nothing written past it */
        CU_ASSERT_EQUAL(builders[k](ram2, RAM, 0x20000, NULL, NULL, 0, &b), MB_OK);
        CU_ASSERT_EQUAL(b.info_addr, 0x100000);
    }
}

static void test_info(void)
{
    static const uint8_t one[5000] = { 1, 2, 3 }, two[3] = { 9, 8, 7 };
    const mb_module_t mods[2] = { { one, sizeof(one), "first module" }, { two, 3, "" } };
    mb_boot_t b;
    memset(ram2, 0xEE, sizeof(ram2));
    CU_ASSERT_EQUAL_FATAL(mb_build_info(ram2, RAM, 0x123456, "a b=c", mods, 2, &b), MB_OK);
    mb_info_t info;
    memcpy(&info, ram2 + b.info_addr, sizeof(info));
    CU_ASSERT_EQUAL(info.flags, MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
                                MB_INFO_LOADER);
    CU_ASSERT_EQUAL(info.mem_lower, 640);
    CU_ASSERT_EQUAL(info.mem_upper, (RAM - 0x100000) >> 10);
    CU_ASSERT_STRING_EQUAL((const char *)ram2 + info.cmdline, "a b=c");
    CU_ASSERT_STRING_EQUAL((const char *)ram2 + info.boot_loader_name, "Nestor");
    CU_ASSERT_EQUAL(info.mods_count, 2);
    mb_module_entry_t m[2];
    memcpy(m, ram2 + info.mods_addr, sizeof(m));
    CU_ASSERT_EQUAL(m[0].mod_start, 0x124000);
    CU_ASSERT_EQUAL(m[0].mod_end, 0x124000 + sizeof(one));
    CU_ASSERT_EQUAL(m[1].mod_end - m[1].mod_start, 3);
    CU_ASSERT_STRING_EQUAL((const char *)ram2 + m[0].string, "first module");
    CU_ASSERT_STRING_EQUAL((const char *)ram2 + m[1].string, "");
    CU_ASSERT_EQUAL(m[0].reserved, 0);
    /* The memory map: low RAM, the hole, RAM from 1 MiB to the end. */
    CU_ASSERT_EQUAL(info.mmap_length, 3 * sizeof(mb_mmap_entry_t));
    mb_mmap_entry_t e[3];
    memcpy(e, ram2 + info.mmap_addr, sizeof(e));
    CU_ASSERT_EQUAL(e[0].size, 20);
    CU_ASSERT(e[0].base_addr == 0 && e[0].length == 0xA0000 && e[0].type == MB_MMAP_AVAILABLE);
    CU_ASSERT(e[1].base_addr == 0xA0000 && e[1].length == 0x60000 && e[1].type == MB_MMAP_RESERVED);
    CU_ASSERT(e[2].base_addr == 0x100000 && e[2].length == RAM - 0x100000 &&
              e[2].type == MB_MMAP_AVAILABLE);
    CU_ASSERT(b.end > info.mmap_addr && b.end <= RAM);
    CU_ASSERT_EQUAL(ram2[b.end], 0xEE);                     /* nothing written past it */
}

/* Both loaders' information (Multiboot and Multiboot2) is placed alike. */
static void test_info_refused(void)
{
    static const uint8_t big[1] = { 0 };
    for (unsigned k = 0; k < N_BUILDERS; k++) {
        build_info_t *build = builders[k];
        mb_module_t mods[MB_MAX_MODULES + 1];
        for (unsigned i = 0; i <= MB_MAX_MODULES; i++)
            mods[i] = (mb_module_t){ big, 1, "x" };
        mb_boot_t b;
        memset(ram2, 0xEE, sizeof(ram2));
        CU_ASSERT_EQUAL(build(ram2, RAM, 0x100000, "", mods, MB_MAX_MODULES + 1, &b),
                        MB_TOO_MANY_MODULES);
        /* A module larger than what is left above the kernel. */
        mods[0].size = RAM;
        CU_ASSERT_EQUAL(build(ram2, RAM, 0x100000, "", mods, 1, &b), MB_NO_ROOM);
        mods[0].size = UINT64_MAX;
        CU_ASSERT_EQUAL(build(ram2, RAM, 0x100000, "", mods, 1, &b), MB_NO_ROOM);
        /* The kernel ends at the last page: no room for the information. */
        CU_ASSERT_EQUAL(build(ram2, RAM, RAM - 16, "", NULL, 0, &b), MB_NO_ROOM);
        CU_ASSERT_EQUAL(build(ram2, RAM, UINT64_MAX, "", NULL, 0, &b), MB_NO_ROOM);
        for (unsigned i = 0; i < RAM; i += 4096)
            if (ram2[i] != 0xEE) {
                CU_FAIL("a refused build wrote to RAM");
                break;
            }
    }
}

UNIT_SUITE(vmm_multiboot_suite)
{
    CU_pSuite s = CU_add_suite("vmm: Multiboot header", NULL, NULL);
    CU_add_test(s, "a header with load addresses gives the layout", test_good_header);
    CU_add_test(s, "no header, bad checksum, truncated, beyond 8 KiB", test_no_header);
    CU_add_test(s, "refused: unknown flags, no addresses, addresses outside file or RAM",
                test_refused);
    CU_add_test(s, "ELF32 without the kludge: segments at p_paddr, bss zeroed, entry made "
                "physical", test_elf32_loads);
    CU_add_test(s, "ELF64 with a Multiboot header: segments at p_paddr", test_elf64_loads);
    CU_add_test(s, "ELF refused with a reason, never a crash: hostile program headers",
                test_elf_hostile);
    CU_add_test(s, "boot information (Multiboot and Multiboot2): where modules and information go",
                test_placement);
    CU_add_test(s, "boot information: modules, command line, memory map, loader name",
                test_info);
    CU_add_test(s, "boot information (Multiboot and Multiboot2) refused unless it all fits",
                test_info_refused);
}
