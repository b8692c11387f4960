/* tests/unit/test_vmm_linux.c - the VMM's Linux bzImage loader (vmm-server/boot/linux_load.c). */
#include "unit.h"
#include "../../vmm-server/boot/linux_load.h"
#include <stdlib.h>
#include <string.h>

#define RAM        (64u << 20)
#define SETUP_SECTS 3u
#define KBYTES     0x3000u                 /* protected-mode bytes of the fake kernel */
#define IMG_SIZE   ((SETUP_SECTS + 1) * LX_SECTOR + KBYTES)
#define HDR_END    0x26Cu                  /* a 2.15 header's end (0x202 + 0x6A) */

static uint8_t img[IMG_SIZE];

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A minimal bzImage as the kernel's build lays it out. */
static void make_image(uint32_t init_size)
{
    memset(img, 0, sizeof img);
    img[LX_OFF_SETUP_SECTS] = SETUP_SECTS;
    put16(img + LX_OFF_BOOT_FLAG, LX_BOOT_FLAG);
    img[LX_OFF_JUMP] = 0xEB;
    img[LX_OFF_JUMP + 1] = HDR_END - LX_OFF_HEADER;
    put32(img + LX_OFF_HEADER, LX_HDR_MAGIC);
    put16(img + LX_OFF_VERSION, 0x020F);
    img[LX_OFF_LOADFLAGS] = LX_LOADED_HIGH | LX_CAN_USE_HEAP;
    put32(img + LX_OFF_CODE32_START, LX_KERNEL_ADDR);
    put32(img + LX_OFF_INITRD_MAX, 0x7FFFFFFF);
    put32(img + LX_OFF_CMDLINE_SIZE, 2047);
    put32(img + LX_OFF_INIT_SIZE, init_size);
    for (unsigned i = 0; i < KBYTES; i++)
        img[(SETUP_SECTS + 1) * LX_SECTOR + i] = (uint8_t)(i * 7 + 1);
}

static void test_parse(void)
{
    lx_layout_t l;
    make_image(0x10000);
    CU_ASSERT_EQUAL_FATAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL(l.setup_bytes, (SETUP_SECTS + 1) * LX_SECTOR);
    CU_ASSERT_EQUAL(l.kernel_bytes, KBYTES);
    CU_ASSERT_EQUAL(l.header_end, HDR_END);
    CU_ASSERT_EQUAL(l.init_size, 0x10000);
    CU_ASSERT_EQUAL(l.version, 0x020F);
    /* init_size below the file's bytes: the bytes count. */
    make_image(0x100);
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL(l.init_size, KBYTES);
    /* setup_sects 0 means 4. */
    make_image(0x10000);
    img[LX_OFF_SETUP_SECTS] = 0;
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL(l.setup_bytes, 5 * LX_SECTOR);
}

static void test_refused(void)
{
    lx_layout_t l;
    make_image(0x10000);
    CU_ASSERT_EQUAL(lx_parse(img, 0x100, &l), LX_NOT_LINUX);          /* too short */
    put32(img + LX_OFF_HEADER, 0x53726447);
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_NOT_LINUX);
    make_image(0x10000);
    put16(img + LX_OFF_BOOT_FLAG, 0);
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_NOT_LINUX);
    make_image(0x10000);
    put16(img + LX_OFF_VERSION, 0x0205);
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_OLD_PROTOCOL);
    make_image(0x10000);
    img[LX_OFF_LOADFLAGS] = 0;
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_NOT_BZIMAGE);
    make_image(0x10000);
    put32(img + LX_OFF_CODE32_START, 0x200000);
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_BAD_CODE32_START);
    make_image(0x10000);
    img[LX_OFF_SETUP_SECTS] = 200;                  /* setup beyond the file */
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_BAD_SETUP);
    make_image(0x10000);
    img[LX_OFF_JUMP + 1] = 0x10;                    /* header ends before cmdline_size */
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_BAD_SETUP);
    make_image(0x10000);
    img[LX_OFF_SETUP_SECTS] = 0;
    img[LX_OFF_JUMP + 1] = 0xFF;                    /* header beyond the setup's 5 sectors? no: 0x301 < 0xA00 */
    CU_ASSERT_EQUAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT(lx_status_str(LX_NO_ROOM)[0] != '?');
    CU_ASSERT_STRING_EQUAL(lx_status_str((lx_status_t)99), "?");
}

static void test_load(void)
{
    uint8_t *ram = calloc(1, RAM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
    lx_layout_t l;
    lx_boot_t b;
    uint8_t initrd[5000];
    for (unsigned i = 0; i < sizeof initrd; i++)
        initrd[i] = (uint8_t)(i * 13 + 5);
    make_image(0x200000);
    CU_ASSERT_EQUAL_FATAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL_FATAL(lx_load(img, sizeof img, &l, ram, RAM, "console=ttyS0 quiet", initrd,
                                  sizeof initrd, &b), LX_OK);
    /* The protected-mode code at 1 MiB, byte for byte. */
    CU_ASSERT_EQUAL(memcmp(ram + LX_KERNEL_ADDR, img + l.setup_bytes, KBYTES), 0);
    CU_ASSERT_EQUAL(b.entry, LX_KERNEL_ADDR);
    /* The initrd page-aligned at the top of RAM, above the kernel's footprint. */
    CU_ASSERT_EQUAL(b.initrd_addr, (RAM - sizeof initrd) & ~0xFFFu);
    CU_ASSERT(b.initrd_addr >= LX_KERNEL_ADDR + l.init_size);
    CU_ASSERT_EQUAL(memcmp(ram + b.initrd_addr, initrd, sizeof initrd), 0);
    /* The zero page: the header copied, the loader's fields written. */
    const uint8_t *zp = ram + b.zero_page;
    CU_ASSERT_EQUAL(get32(zp + LX_OFF_HEADER), LX_HDR_MAGIC);
    CU_ASSERT_EQUAL(get32(zp + LX_OFF_INIT_SIZE), 0x200000);
    CU_ASSERT_EQUAL(zp[LX_OFF_TYPE_OF_LOADER], LX_LOADER_UNDEFINED);
    CU_ASSERT_EQUAL(zp[LX_OFF_LOADFLAGS] & LX_CAN_USE_HEAP, 0);
    CU_ASSERT_EQUAL(get32(zp + LX_OFF_RAMDISK_IMAGE), b.initrd_addr);
    CU_ASSERT_EQUAL(get32(zp + LX_OFF_RAMDISK_SIZE), sizeof initrd);
    CU_ASSERT_STRING_EQUAL((const char *)ram + get32(zp + LX_OFF_CMD_LINE_PTR), "console=ttyS0 quiet");
    /* Nothing after the header is copied (it is the setup code's). */
    CU_ASSERT_EQUAL(zp[HDR_END], 0);
    /* E820: low RAM, the hole, RAM from 1 MiB to the end. */
    CU_ASSERT_EQUAL_FATAL(zp[LX_ZP_E820_ENTRIES], 3);
    const uint8_t *e = zp + LX_ZP_E820_TABLE;
    CU_ASSERT(get64(e) == 0 && get64(e + 8) == LX_LOW_RAM_END && get32(e + 16) == LX_E820_RAM);
    e += LX_E820_ENTRY_SIZE;
    CU_ASSERT(get64(e) == LX_LOW_RAM_END && get32(e + 16) == LX_E820_RESERVED);
    e += LX_E820_ENTRY_SIZE;
    CU_ASSERT(get64(e) == LX_HIGH_RAM_START && get64(e + 8) == RAM - LX_HIGH_RAM_START &&
              get32(e + 16) == LX_E820_RAM);
    /* The GDT: flat __BOOT_CS and __BOOT_DS. */
    CU_ASSERT_EQUAL(b.gdt_limit, LX_GDT_ENTRIES * 8 - 1);
    CU_ASSERT_EQUAL(get64(ram + b.gdt + LX_BOOT_CS), 0x00CF9A000000FFFFull);
    CU_ASSERT_EQUAL(get64(ram + b.gdt + LX_BOOT_DS), 0x00CF92000000FFFFull);

    /* initrd_addr_max lower than RAM: the initrd ends below it. */
    put32(img + LX_OFF_INITRD_MAX, 0x1FFFFFF);
    CU_ASSERT_EQUAL_FATAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL_FATAL(lx_load(img, sizeof img, &l, ram, RAM, "", initrd, sizeof initrd, &b),
                          LX_OK);
    CU_ASSERT(b.initrd_addr + sizeof initrd <= 0x2000000 && b.initrd_addr > 0x2000000 - 0x3000);
    /* No initrd. */
    CU_ASSERT_EQUAL(lx_load(img, sizeof img, &l, ram, RAM, "", NULL, 0, &b), LX_OK);
    CU_ASSERT_EQUAL(get32(ram + b.zero_page + LX_OFF_RAMDISK_SIZE), 0);
    free(ram);
}

static void test_load_refused(void)
{
    uint8_t *ram = calloc(1, RAM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
    lx_layout_t l;
    lx_boot_t b;
    static uint8_t big[1 << 20];
    /* The kernel's footprint beyond RAM: refused, nothing written. */
    make_image(RAM);
    CU_ASSERT_EQUAL_FATAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL(lx_load(img, sizeof img, &l, ram, RAM, "", NULL, 0, &b), LX_NO_ROOM);
    CU_ASSERT_EQUAL(ram[LX_KERNEL_ADDR], 0);
    /* An initrd that would overlap the footprint. */
    make_image(RAM - LX_KERNEL_ADDR - (512u << 10));
    CU_ASSERT_EQUAL_FATAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL(lx_load(img, sizeof img, &l, ram, RAM, "", big, sizeof big, &b), LX_NO_ROOM);
    CU_ASSERT_EQUAL(ram[LX_KERNEL_ADDR], 0);
    /* A command line longer than cmdline_size. */
    make_image(0x10000);
    put32(img + LX_OFF_CMDLINE_SIZE, 4);
    CU_ASSERT_EQUAL_FATAL(lx_parse(img, sizeof img, &l), LX_OK);
    CU_ASSERT_EQUAL(lx_load(img, sizeof img, &l, ram, RAM, "quiet", NULL, 0, &b),
                    LX_CMDLINE_TOO_LONG);
    /* RAM of 1 MiB or less, or beyond 4 GiB (32-bit protocol). */
    CU_ASSERT_EQUAL(lx_load(img, sizeof img, &l, ram, LX_HIGH_RAM_START, "", NULL, 0, &b),
                    LX_NO_ROOM);
    free(ram);
}

UNIT_SUITE(vmm_linux_suite)
{
    CU_pSuite s = CU_add_suite("vmm: Linux bzImage", NULL, NULL);
    CU_add_test(s, "setup header: sizes, init_size, setup_sects 0", test_parse);
    CU_add_test(s, "refused: no HdrS, boot flag, old protocol, zImage, code32_start, setup",
                test_refused);
    CU_add_test(s, "loaded: kernel, initrd at the top, zero page, E820, GDT", test_load);
    CU_add_test(s, "refused at load: footprint, initrd overlap, command line, RAM", test_load_refused);
}
