/* tests/unit/test_vmm_multiboot2.c - the VMM's Multiboot2 loader
 * (vmm-server/boot/multiboot2_load.c, Multiboot2 spec 1.6): the header and
 * its tags (3.1), ELF and address-tag loading, the boot information (3.6)
 * byte by byte and as the kernel's parser reads it. */
#include "unit.h"
#include "boot/multiboot2_load.h"
#include "boot/multiboot2.h"       /* the kernel's parser of the information */
#include <string.h>

#define RAM   (8u << 20)
#define LOAD  0x100000u

static uint8_t img[65536];
static uint8_t ram[RAM];

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A header at `off` of header tags `tags` (`tags_len` bytes, then an end
 * tag), with a good checksum for `arch`. Returns its length. */
static uint32_t header(uint32_t off, uint32_t arch, const uint8_t *tags, uint32_t tags_len)
{
    uint8_t *h = img + off;
    uint32_t len = 16 + tags_len + 8;
    put32(h, MB2_HEADER_MAGIC);
    put32(h + 4, arch);
    put32(h + 8, len);
    put32(h + 12, -(MB2_HEADER_MAGIC + arch + len));
    if (tags_len)
        memcpy(h + 16, tags, tags_len);
    put16(h + 16 + tags_len, MB2_HEADER_TAG_END);
    put16(h + 18 + tags_len, 0);
    put32(h + 20 + tags_len, 8);
    return len;
}

/* A header tag of `size` bytes (payload words after the 8-byte header). */
static uint32_t tag(uint8_t *at, uint16_t type, uint16_t flags, const uint32_t *words,
                    unsigned n)
{
    put16(at, type);
    put16(at + 2, flags);
    put32(at + 4, 8 + 4 * n);
    if (n)
        memcpy(at + 8, words, 4 * n);
    return (8 + 4 * n + 7) & ~7u;
}

/* An ELF64 x86-64 kernel like Nestor's: a low segment at 1 MiB with the
 * entry, a high-half segment at p_paddr 0x101000 with bss; header at off. */
static void elf64_kernel(void)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "\x7f" "ELF", 4);
    img[4] = 2; img[5] = 1; img[6] = 1;
    put16(img + 16, 2); put16(img + 18, 62); put32(img + 20, 1);
    put64(img + 24, 0x100010); put64(img + 32, 64);
    put16(img + 54, 56); put16(img + 56, 2);
    uint8_t *ph = img + 64;
    put32(ph, 1); put64(ph + 8, 0x1000); put64(ph + 16, 0x100000);
    put64(ph + 24, 0x100000); put64(ph + 32, 0x100); put64(ph + 40, 0x100);
    ph += 56;
    put32(ph, 1); put64(ph + 8, 0x2000); put64(ph + 16, 0xFFFFFFFF80101000ULL);
    put64(ph + 24, 0x101000); put64(ph + 32, 0x1000); put64(ph + 40, 0x3000);
    for (unsigned i = 0x1000; i < 0x3000; i++)
        img[i] = (uint8_t)(i * 5 + 1);
}

static void test_header_found(void)
{
    mb_layout_t l;
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, NULL, 0);      /* inside the first segment's bytes */
    CU_ASSERT_EQUAL_FATAL(mb2_parse_header(img, 0x3000, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.format, MB2_FORMAT_ELF64);
    CU_ASSERT_EQUAL(l.nseg, 2);
    CU_ASSERT_EQUAL(l.entry, 0x100010);
    CU_ASSERT_EQUAL(l.seg[1].load_addr, 0x101000);                 /* p_paddr, not p_vaddr */
    CU_ASSERT_EQUAL(l.end, 0x104000);
    memset(ram, 0xEE, sizeof(ram));
    mb_load(img, &l, ram);
    CU_ASSERT_EQUAL(memcmp(ram + 0x101000, img + 0x2000, 0x1000), 0);
    CU_ASSERT_EQUAL(ram[0x102000], 0);                                /* bss zeroed */
    CU_ASSERT_EQUAL(ram[0x103FFF], 0);
    CU_ASSERT_EQUAL(ram[0x104000], 0xEE);
    /* The last 8-byte-aligned place a whole header fits in the first 32 KiB. */
    elf64_kernel();
    header(MB2_SEARCH_BYTES - 24, MB2_ARCH_I386, NULL, 0);
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_OK);
}

static void test_header_not_found(void)
{
    mb_layout_t l;
    elf64_kernel();
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_NO_HEADER);
    header(0x1008, MB2_ARCH_I386, NULL, 0);
    img[0x1008 + 12] ^= 1;                                       /* bad checksum */
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_NO_HEADER);
    elf64_kernel();
    header(0x1004, MB2_ARCH_I386, NULL, 0);                      /* not 8-byte aligned */
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_NO_HEADER);
    elf64_kernel();
    header(MB2_SEARCH_BYTES, MB2_ARCH_I386, NULL, 0);            /* beyond 32 KiB */
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_NO_HEADER);
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, NULL, 0);
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x1010, RAM, &l), MB_NO_HEADER); /* file too short */
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0, RAM, &l), MB_NO_HEADER);
    /* A Multiboot (v1) header is not a Multiboot2 one. */
    memset(img, 0, sizeof(img));
    uint32_t v1[3] = { MB_HEADER_MAGIC, 0, -MB_HEADER_MAGIC };
    memcpy(img + 8, v1, sizeof(v1));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_NO_HEADER);
}

static void test_header_refused(void)
{
    mb_layout_t l;
    uint8_t tags[64];
    elf64_kernel();
    header(0x1008, 4, NULL, 0);                                  /* MIPS */
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_BAD_ARCH);
    CU_ASSERT_EQUAL(l.bad_tag, 4);
    /* Straddling the 32 KiB limit: the header must lie wholly inside. */
    elf64_kernel();
    header(MB2_SEARCH_BYTES - 16, MB2_ARCH_I386, NULL, 0);
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_BAD_HEADER);
    /* A required request for what is not given (type 8: a framebuffer) ... */
    const uint32_t req[3] = { MB2_TAG_CMDLINE, 8, MB2_TAG_MMAP };
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_INFO_REQUEST, 0, req, 3));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_UNKNOWN_REQUEST);
    CU_ASSERT_EQUAL(l.bad_tag, 8);
    CU_ASSERT_EQUAL(l.nseg, 0);
    /* ... is fine when optional, and so are requests for what is given. */
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags,
           tag(tags, MB2_HEADER_TAG_INFO_REQUEST, MB2_HEADER_TAG_OPTIONAL, req, 3));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_OK);
    const uint32_t good[5] = { 1, 2, 3, 4, 6 };
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_INFO_REQUEST, 0, good, 5));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_OK);
    /* A required framebuffer, an unknown required tag; optional ones ignored. */
    const uint32_t fb[3] = { 1024, 768, 32 };
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_FRAMEBUFFER, 0, fb, 3));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_UNSUPPORTED_TAG);
    CU_ASSERT_EQUAL(l.bad_tag, MB2_HEADER_TAG_FRAMEBUFFER);
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags,
           tag(tags, MB2_HEADER_TAG_FRAMEBUFFER, MB2_HEADER_TAG_OPTIONAL, fb, 3));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_OK);
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags, tag(tags, 99, 0, NULL, 0));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_UNSUPPORTED_TAG);
    CU_ASSERT_EQUAL(l.bad_tag, 99);
    /* Module alignment, console flags, EFI-only tags: accepted on a BIOS PC. */
    uint32_t n = 0;
    n += tag(tags + n, MB2_HEADER_TAG_MODULE_ALIGN, 0, NULL, 0);
    const uint32_t console = 2;
    n += tag(tags + n, MB2_HEADER_TAG_CONSOLE, 0, &console, 1);
    n += tag(tags + n, MB2_HEADER_TAG_EFI_BS, 0, NULL, 0);
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags, n);
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB_OK);
    /* Malformed tags: a size past the header, a size below 8, no end tag. */
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_MODULE_ALIGN, 0, NULL, 0));
    put32(img + 0x1008 + 16 + 4, 0x1000);
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_BAD_HEADER);
    put32(img + 0x1008 + 16 + 4, 4);
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_BAD_HEADER);
    elf64_kernel();
    header(0x1008, MB2_ARCH_I386, NULL, 0);
    put16(img + 0x1008 + 16, MB2_HEADER_TAG_MODULE_ALIGN);       /* the end tag replaced */
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_BAD_HEADER);
    /* header_length too short for its fixed part, with a matching checksum. */
    elf64_kernel();
    put32(img + 0x1008, MB2_HEADER_MAGIC);
    put32(img + 0x1008 + 4, MB2_ARCH_I386);
    put32(img + 0x1008 + 8, 8);
    put32(img + 0x1008 + 12, -(MB2_HEADER_MAGIC + 8));
    CU_ASSERT_EQUAL(mb2_parse_header(img, sizeof(img), RAM, &l), MB2_BAD_HEADER);
    /* Not ELF and no address tag. */
    memset(img, 0, sizeof(img));
    header(0, MB2_ARCH_I386, NULL, 0);
    CU_ASSERT_EQUAL(mb2_parse_header(img, 4096, RAM, &l), MB_NO_ADDRESSES);
    for (int st = MB_OK; st <= MB_STATUS_LAST; st++)
        CU_ASSERT_STRING_NOT_EQUAL(mb_status_str((mb_status_t)st), "unknown error");
    CU_ASSERT_STRING_EQUAL(mb_format_str(MB2_FORMAT_ELF64), "Multiboot2 ELF64");
}

static void test_address_tag(void)
{
    mb_layout_t l;
    uint8_t tags[64];
    /* A flat image: header at 0x20, loaded at LOAD, 4 KiB of file, 8 KiB with bss. */
    const uint32_t addr[4] = { LOAD + 0x20, LOAD, LOAD + 0x1000, LOAD + 0x2000 };
    const uint32_t entry = LOAD + 0x80;
    uint32_t n = tag(tags, MB2_HEADER_TAG_ADDRESS, 0, addr, 4);
    n += tag(tags + n, MB2_HEADER_TAG_ENTRY, 0, &entry, 1);
    memset(img, 0x90, sizeof(img));
    header(0x20, MB2_ARCH_I386, tags, n);
    CU_ASSERT_EQUAL_FATAL(mb2_parse_header(img, 0x1800, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.format, MB2_FORMAT_ADDRESS);
    CU_ASSERT_EQUAL(l.nseg, 1);
    CU_ASSERT_EQUAL(l.seg[0].file_offset, 0);
    CU_ASSERT_EQUAL(l.seg[0].load_addr, LOAD);
    CU_ASSERT_EQUAL(l.seg[0].copy_bytes, 0x1000);
    CU_ASSERT_EQUAL(l.seg[0].mem_bytes, 0x2000);
    CU_ASSERT_EQUAL(l.entry, LOAD + 0x80);
    /* load_addr -1: from the file's start (3.1.5); load_end 0: the whole file. */
    const uint32_t from_start[4] = { LOAD + 0x20, MB2_ADDRESS_LOAD_FROM_START, 0, 0 };
    n = tag(tags, MB2_HEADER_TAG_ADDRESS, 0, from_start, 4);
    n += tag(tags + n, MB2_HEADER_TAG_ENTRY, 0, &entry, 1);
    header(0x20, MB2_ARCH_I386, tags, n);
    CU_ASSERT_EQUAL_FATAL(mb2_parse_header(img, 0x1800, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.seg[0].load_addr, LOAD);
    CU_ASSERT_EQUAL(l.seg[0].copy_bytes, 0x1800);
    /* No entry address tag. */
    header(0x20, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_ADDRESS, 0, addr, 4));
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x1800, RAM, &l), MB2_NO_ENTRY);
    /* The entry outside, addresses outside the file, a tag too short. */
    const uint32_t far = LOAD + 0x1800;
    n = tag(tags, MB2_HEADER_TAG_ADDRESS, 0, addr, 4);
    n += tag(tags + n, MB2_HEADER_TAG_ENTRY, 0, &far, 1);
    header(0x20, MB2_ARCH_I386, tags, n);
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x1800, RAM, &l), MB_BAD_ENTRY);
    const uint32_t past[4] = { LOAD + 0x20, LOAD, LOAD + 0x4000, 0 };
    n = tag(tags, MB2_HEADER_TAG_ADDRESS, 0, past, 4);
    n += tag(tags + n, MB2_HEADER_TAG_ENTRY, 0, &entry, 1);
    header(0x20, MB2_ARCH_I386, tags, n);
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x1800, RAM, &l), MB_BAD_ADDRESSES);
    header(0x20, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_ADDRESS, 0, addr, 2));
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x1800, RAM, &l), MB2_BAD_HEADER);
    /* -1 with header_addr below the header's offset: the load would start before 0. */
    const uint32_t low[4] = { 0x10, MB2_ADDRESS_LOAD_FROM_START, 0, 0 };
    n = tag(tags, MB2_HEADER_TAG_ADDRESS, 0, low, 4);
    n += tag(tags + n, MB2_HEADER_TAG_ENTRY, 0, &entry, 1);
    header(0x20, MB2_ARCH_I386, tags, n);
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x1800, RAM, &l), MB_BAD_ADDRESSES);
}

static void test_elf_entry_tag(void)
{
    mb_layout_t l;
    uint8_t tags[16];
    /* An ELF32 kernel; the entry tag overrides e_entry, and must be loaded. */
    memset(img, 0, sizeof(img));
    memcpy(img, "\x7f" "ELF", 4);
    img[4] = 1; img[5] = 1; img[6] = 1;
    put16(img + 16, 2); put16(img + 18, 3); put32(img + 20, 1);
    put32(img + 24, 0x100000); put32(img + 28, 52);
    put16(img + 40, 52); put16(img + 42, 32); put16(img + 44, 1);
    uint8_t *ph = img + 52;
    put32(ph, 1); put32(ph + 4, 0x1000); put32(ph + 8, 0x100000); put32(ph + 12, 0x100000);
    put32(ph + 16, 0x1000); put32(ph + 20, 0x1000);
    const uint32_t entry = 0x100200;
    header(0x1000, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_ENTRY, 0, &entry, 1));
    CU_ASSERT_EQUAL_FATAL(mb2_parse_header(img, 0x2000, RAM, &l), MB_OK);
    CU_ASSERT_EQUAL(l.format, MB2_FORMAT_ELF32);
    CU_ASSERT_EQUAL(l.entry, 0x100200);
    const uint32_t outside = 0x180000;
    header(0x1000, MB2_ARCH_I386, tags, tag(tags, MB2_HEADER_TAG_ENTRY, 0, &outside, 1));
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x2000, RAM, &l), MB_BAD_ENTRY);
    /* ELF refusals are the Multiboot loader's (shared): a segment past RAM. */
    header(0x1000, MB2_ARCH_I386, NULL, 0);
    put32(ph + 12, RAM - 0x800);
    CU_ASSERT_EQUAL(mb2_parse_header(img, 0x2000, RAM, &l), MB_OUTSIDE_RAM);
    CU_ASSERT_EQUAL(l.bad_index, 0);
}

/* ---- the boot information (3.6); its placement and refusals: test_vmm_multiboot.c ---- */

static void test_info(void)
{
    static const uint8_t one[5000] = { 1, 2, 3 }, two[3] = { 9, 8, 7 };
    const mb_module_t mods[2] = { { one, sizeof(one), "first module" }, { two, 3, "" } };
    mb_boot_t b;
    memset(ram, 0xEE, sizeof(ram));
    CU_ASSERT_EQUAL_FATAL(mb2_build_info(ram, RAM, 0x123456, "a b=c", mods, 2, &b), MB_OK);
    /* Placed as Multiboot's (test_vmm_multiboot.c: test_placement). */
    CU_ASSERT_EQUAL(b.info_addr % MB2_TAG_ALIGN, 0);
    /* Byte by byte: total_size, reserved, then each tag in order. */
    const uint8_t *p = ram + b.info_addr;
    uint32_t total = get32(p);
    CU_ASSERT_EQUAL(total, b.end - b.info_addr);
    CU_ASSERT_EQUAL(get32(p + 4), 0);
    uint32_t want_types[] = { MB2_TAG_CMDLINE, MB2_TAG_BOOTLOADER, MB2_TAG_MODULE, MB2_TAG_MODULE,
                              MB2_TAG_BASIC_MEMINFO, MB2_TAG_MMAP, MB2_TAG_END };
    uint32_t off = 8;
    for (unsigned i = 0; i < sizeof(want_types) / sizeof(want_types[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(off % 8, 0);
        CU_ASSERT_FATAL(off + 8 <= total);
        const uint8_t *t = p + off;
        uint32_t type = get32(t), size = get32(t + 4);
        CU_ASSERT_EQUAL(type, want_types[i]);
        switch (i) {
        case 0:
            CU_ASSERT_EQUAL(size, 8 + 6);
            CU_ASSERT_STRING_EQUAL((const char *)t + 8, "a b=c");
            break;
        case 1:
            CU_ASSERT_STRING_EQUAL((const char *)t + 8, MB_LOADER_NAME);
            CU_ASSERT_EQUAL(size, 8 + sizeof(MB_LOADER_NAME));
            break;
        case 2:
            CU_ASSERT_EQUAL(get32(t + 8), 0x124000);
            CU_ASSERT_EQUAL(get32(t + 12), 0x124000 + sizeof(one));
            CU_ASSERT_STRING_EQUAL((const char *)t + 16, "first module");
            CU_ASSERT_EQUAL(size, 16 + 13);
            break;
        case 3:
            CU_ASSERT_EQUAL(get32(t + 8), 0x126000);
            CU_ASSERT_EQUAL(get32(t + 12), 0x126003);
            CU_ASSERT_EQUAL(size, 17);
            CU_ASSERT_EQUAL(t[16], 0);
            break;
        case 4:
            CU_ASSERT_EQUAL(size, 16);
            CU_ASSERT_EQUAL(get32(t + 8), 640);
            CU_ASSERT_EQUAL(get32(t + 12), (RAM - 0x100000) >> 10);
            break;
        case 5: {
            CU_ASSERT_EQUAL(size, 16 + 3 * 24);
            CU_ASSERT_EQUAL(get32(t + 8), 24);                   /* entry_size */
            CU_ASSERT_EQUAL(get32(t + 12), 0);                   /* entry_version */
            const uint64_t want[3][3] = { { 0, 0xA0000, MB2_MEM_AVAILABLE },
                                          { 0xA0000, 0x60000, MB2_MEM_RESERVED },
                                          { 0x100000, RAM - 0x100000, MB2_MEM_AVAILABLE } };
            for (unsigned e = 0; e < 3; e++) {
                const uint8_t *m = t + 16 + 24 * e;
                CU_ASSERT_EQUAL(get64(m), want[e][0]);
                CU_ASSERT_EQUAL(get64(m + 8), want[e][1]);
                CU_ASSERT_EQUAL(get32(m + 16), want[e][2]);
                CU_ASSERT_EQUAL(get32(m + 20), 0);               /* reserved */
            }
            break;
        }
        case 6:
            CU_ASSERT_EQUAL(size, 8);
            CU_ASSERT_EQUAL(off + 8, total);                     /* the end tag ends it */
            break;
        }
        /* Padding up to the next tag is zero. */
        for (uint32_t k = size; k % 8; k++)
            CU_ASSERT_EQUAL(t[k], 0);
        off += (size + 7) & ~7u;
    }
    CU_ASSERT_EQUAL(ram[b.end], 0xEE);                           /* nothing written past it */
    CU_ASSERT(b.end <= RAM);

    /* And as the kernel reads it (microkernel/boot/multiboot2.c). */
    mb2_boot_t k;
    CU_ASSERT_EQUAL_FATAL(mb2_parse(p, RAM - b.info_addr, &k), MB2_OK);
    CU_ASSERT_STRING_EQUAL(k.cmdline, "a b=c");
    CU_ASSERT_STRING_EQUAL(k.bootloader, MB_LOADER_NAME);
    CU_ASSERT(k.has_meminfo && k.mem_lower_kib == 640 && k.mem_upper_kib == (RAM >> 10) - 1024);
    CU_ASSERT_EQUAL(k.module_count, 2);
    CU_ASSERT(k.modules[0].start == 0x124000 && k.modules[0].end == 0x124000 + sizeof(one));
    CU_ASSERT_STRING_EQUAL(k.modules[0].cmdline, "first module");
    CU_ASSERT(k.modules[1].start == 0x126000 && k.modules[1].end == 0x126003);
    CU_ASSERT_STRING_EQUAL(k.modules[1].cmdline, "");
    CU_ASSERT_EQUAL(k.mmap_count, 3);
    CU_ASSERT(k.mmap[2].base == 0x100000 && k.mmap[2].length == RAM - 0x100000 &&
              k.mmap[2].type == MB2_MEM_AVAILABLE);

    /* No command line, no modules, a kernel below 1 MiB: information at 1 MiB. */
    CU_ASSERT_EQUAL_FATAL(mb2_build_info(ram, RAM, 0x20000, NULL, NULL, 0, &b), MB_OK);
    CU_ASSERT_EQUAL(b.info_addr, 0x100000);
    CU_ASSERT_EQUAL(mb2_parse(ram + b.info_addr, RAM - b.info_addr, &k), MB2_OK);
    CU_ASSERT_STRING_EQUAL(k.cmdline, "");
    CU_ASSERT_EQUAL(k.module_count, 0);
    /* RAM ending at 1 MiB: no high memory, in the map or in mem_upper. */
    CU_ASSERT_EQUAL_FATAL(mb2_build_info(ram, 0x100000 + 0x2000, 0x20000, "", NULL, 0, &b), MB_OK);
    CU_ASSERT_EQUAL(mb2_parse(ram + b.info_addr, 0x2000, &k), MB2_OK);
    CU_ASSERT_EQUAL(k.mmap_count, 3);
}

UNIT_SUITE(vmm_multiboot2_suite)
{
    CU_pSuite s = CU_add_suite("vmm: Multiboot2", NULL, NULL);
    CU_add_test(s, "header found (8-byte aligned, first 32 KiB), ELF64 at p_paddr",
                test_header_found);
    CU_add_test(s, "no header: bad checksum, misaligned, beyond 32 KiB, v1 magic",
                test_header_not_found);
    CU_add_test(s, "refused: architecture, required requests and tags, malformed tags",
                test_header_refused);
    CU_add_test(s, "address and entry tags: a flat image, load_addr -1, refusals",
                test_address_tag);
    CU_add_test(s, "ELF32 with an entry address tag; shared ELF refusals", test_elf_entry_tag);
    CU_add_test(s, "boot information: every tag's bytes, alignment, and the kernel's parser",
                test_info);
}
