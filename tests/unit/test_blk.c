/*
 * tests/unit/test_blk.c - the block server's pure parts (device-servers/blk):
 *  - ATA: IDENTIFY DEVICE data read against ATA/ATAPI-6 8.15.8, the
 *    taskfiles of 28- and 48-bit READ/WRITE SECTOR(S), and the PIO
 *    protocol run against a model disk (a register file with a sector
 *    array behind it, which checks every step the host takes: it fails the
 *    test on a data-port access without DRQ or a command while busy);
 *  - partitions and request bounds, and the client protocol of blk_proto.h
 *    over a RAM disk that counts its accesses (refused requests touch
 *    nothing);
 *  - the virtio block device (Virtio 1.2 5.2) driven through forwarded
 *    register accesses over a fake guest RAM: reads, writes, flush, GET_ID,
 *    and each malformed request answered with IOERR/UNSUPP, the disk
 *    untouched.
 */
#include "unit.h"
#include "ds_state_cases.h"
#include "../../device-servers/blk/ata.h"
#include "../../device-servers/blk/blk.h"
#include "../../device-servers/blk/image.h"
#include "../../device-servers/blk/vblk.h"
#define DSD_SHORTHANDS                  /* rd, wr, desc, offer ... on D */
#include "devsrv_driver.h"
#include <virtio_shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a model ATA disk (master on the primary channel) ---- */

#define MD_SECTORS   4096u
typedef struct {
    uint8_t *data;
    uint64_t sectors;
    bool present, lba48, atapi, fail_io, dword;
    unsigned dword_accesses, sector_calls;
    uint8_t reg[ATA_REGS], hob[ATA_REGS], status, error, devctl;
    uint8_t cmd;
    uint64_t lba;
    unsigned left, word;            /* sectors left in the command, word in the sector */
    uint16_t block[ATA_SECTOR_WORDS];
    unsigned protocol_errors, commands;
} model_t;
static model_t M;

static void md_set_identify(void)
{
    memset(M.block, 0, sizeof M.block);
    M.block[ATA_ID_CONFIG] = M.atapi ? 0x8580 : 0x0040;
    M.block[ATA_ID_CAPS] = ATA_ID_CAPS_LBA;
    M.block[ATA_ID_DWORD_IO] = M.dword ? ATA_ID_DWORD_IO_YES : 0;
    uint64_t n28 = M.sectors < ATA_LBA28_LIMIT ? M.sectors : ATA_LBA28_LIMIT - 1;
    M.block[ATA_ID_LBA28_SECTORS] = (uint16_t)n28;
    M.block[ATA_ID_LBA28_SECTORS + 1] = (uint16_t)(n28 >> 16);
    M.block[ATA_ID_CMDSET2] = ATA_ID_VALID | ATA_ID_CMDSET2_FLUSH |
                              (M.lba48 ? ATA_ID_CMDSET2_LBA48 | ATA_ID_CMDSET2_FLUSH_EXT : 0);
    M.block[ATA_ID_CMDSET2_ON] = M.lba48 ? ATA_ID_CMDSET2_LBA48 : 0;
    for (unsigned i = 0; i < 4; i++)
        M.block[ATA_ID_LBA48_SECTORS + i] = M.lba48 ? (uint16_t)(M.sectors >> (16 * i)) : 0;
    const char *model = "MODEL DISK";
    for (unsigned i = 0; i < 2 * ATA_ID_MODEL_WORDS; i += 2) {
        char a = i < strlen(model) ? model[i] : ' ';
        char b = i + 1 < strlen(model) ? model[i + 1] : ' ';
        M.block[ATA_ID_MODEL + i / 2] = (uint16_t)((uint8_t)a << 8 | (uint8_t)b);
    }
}

static void md_abort(void)
{
    M.status = ATA_SR_DRDY | ATA_SR_ERR;
    M.error = 0x04;                 /* ABRT */
    M.left = 0;
}

static void md_load_sector(void)
{
    memcpy(M.block, M.data + M.lba * ATA_SECTOR_SIZE, ATA_SECTOR_SIZE);
    M.word = 0;
    M.status = ATA_SR_DRDY | ATA_SR_DRQ;
}

static void md_command(uint8_t cmd)
{
    if (M.status & (ATA_SR_BSY | ATA_SR_DRQ))
        M.protocol_errors++;            /* ATA-6: no command while BSY or DRQ */
    M.commands++;
    M.cmd = cmd;
    M.error = 0;
    bool ext = cmd == ATA_CMD_READ_SECTORS_EXT || cmd == ATA_CMD_WRITE_SECTORS_EXT;
    if (ext) {
        M.lba = (uint64_t)M.reg[ATA_REG_LBA_LOW] | (uint64_t)M.reg[ATA_REG_LBA_MID] << 8 |
                (uint64_t)M.reg[ATA_REG_LBA_HIGH] << 16 | (uint64_t)M.hob[ATA_REG_LBA_LOW] << 24 |
                (uint64_t)M.hob[ATA_REG_LBA_MID] << 32 | (uint64_t)M.hob[ATA_REG_LBA_HIGH] << 40;
        M.left = M.reg[ATA_REG_COUNT] | M.hob[ATA_REG_COUNT] << 8;
        if (M.left == 0)
            M.left = 65536;
    } else {
        M.lba = (uint64_t)M.reg[ATA_REG_LBA_LOW] | (uint64_t)M.reg[ATA_REG_LBA_MID] << 8 |
                (uint64_t)M.reg[ATA_REG_LBA_HIGH] << 16 |
                (uint64_t)(M.reg[ATA_REG_DEVICE] & ATA_DEV_LBA28_HIGH) << 24;
        M.left = M.reg[ATA_REG_COUNT] ? M.reg[ATA_REG_COUNT] : 256;
    }
    switch (cmd) {
    case ATA_CMD_IDENTIFY:
        if (M.atapi) {
            md_abort();
            M.reg[ATA_REG_LBA_MID] = 0x14;
            M.reg[ATA_REG_LBA_HIGH] = 0xEB;
            return;
        }
        md_set_identify();
        M.left = 1;
        M.word = 0;
        M.status = ATA_SR_DRDY | ATA_SR_DRQ;
        return;
    case ATA_CMD_READ_SECTORS:
    case ATA_CMD_READ_SECTORS_EXT:
    case ATA_CMD_WRITE_SECTORS:
    case ATA_CMD_WRITE_SECTORS_EXT:
        if (ext != M.lba48 && ext) {
            md_abort();
            return;
        }
        if (M.fail_io || !(M.reg[ATA_REG_DEVICE] & ATA_DEV_LBA) || M.lba + M.left > M.sectors) {
            M.status = ATA_SR_DRDY | ATA_SR_ERR;
            M.error = 0x10;             /* IDNF */
            M.left = 0;
            return;
        }
        if (cmd == ATA_CMD_READ_SECTORS || cmd == ATA_CMD_READ_SECTORS_EXT)
            md_load_sector();
        else {
            M.word = 0;
            M.status = ATA_SR_DRDY | ATA_SR_DRQ;
        }
        return;
    case ATA_CMD_FLUSH_CACHE:
    case ATA_CMD_FLUSH_CACHE_EXT:
        M.status = ATA_SR_DRDY;
        M.left = 0;
        return;
    default:
        md_abort();
    }
}

static uint8_t md_in8(void *ctx, uint16_t port)
{
    (void)ctx;
    if (!M.present)
        return ATA_SR_FLOATING;
    if (port == ATA_PRIMARY_CTL)
        return M.status;
    unsigned r = port - ATA_PRIMARY_BASE;
    if (r == ATA_REG_STATUS)
        return M.status;
    if (r == ATA_REG_ERROR)
        return M.error;
    return M.reg[r];
}

static void md_out8(void *ctx, uint16_t port, uint8_t v)
{
    (void)ctx;
    if (!M.present)
        return;
    if (port == ATA_PRIMARY_CTL) {
        M.devctl = v;
        return;
    }
    unsigned r = port - ATA_PRIMARY_BASE;
    if (r == ATA_REG_COMMAND) {
        md_command(v);
        return;
    }
    M.hob[r] = M.reg[r];            /* 48-bit: the previous content is kept */
    M.reg[r] = v;
}

static uint16_t md_in16(void *ctx, uint16_t port)
{
    (void)ctx;
    if (!M.present || port != ATA_PRIMARY_BASE || !(M.status & ATA_SR_DRQ) ||
        M.cmd == ATA_CMD_WRITE_SECTORS || M.cmd == ATA_CMD_WRITE_SECTORS_EXT) {
        M.protocol_errors++;
        return 0xFFFF;
    }
    uint16_t v = M.block[M.word++];
    if (M.word == ATA_SECTOR_WORDS) {
        M.left--;
        M.lba++;
        if (M.left && M.cmd != ATA_CMD_IDENTIFY)
            md_load_sector();
        else
            M.status = ATA_SR_DRDY;
    }
    return v;
}

static void md_out16(void *ctx, uint16_t port, uint16_t v)
{
    (void)ctx;
    if (!M.present || port != ATA_PRIMARY_BASE || !(M.status & ATA_SR_DRQ) ||
        !(M.cmd == ATA_CMD_WRITE_SECTORS || M.cmd == ATA_CMD_WRITE_SECTORS_EXT)) {
        M.protocol_errors++;
        return;
    }
    M.block[M.word++] = v;
    if (M.word == ATA_SECTOR_WORDS) {
        memcpy(M.data + M.lba * ATA_SECTOR_SIZE, M.block, ATA_SECTOR_SIZE);
        M.word = 0;
        M.left--;
        M.lba++;
        M.status = M.left ? ATA_SR_DRDY | ATA_SR_DRQ : ATA_SR_DRDY;
    }
}

/* The data port 32 bits at a time, as the PC controllers take it: two words. */
static uint32_t md_in32(void *ctx, uint16_t port)
{
    M.dword_accesses++;
    uint32_t lo = md_in16(ctx, port);
    return lo | (uint32_t)md_in16(ctx, port) << 16;
}

static void md_out32(void *ctx, uint16_t port, uint32_t v)
{
    M.dword_accesses++;
    md_out16(ctx, port, (uint16_t)v);
    md_out16(ctx, port, (uint16_t)(v >> 16));
}

static const ata_io_t model_io = { md_in8, md_out8, md_in16, md_out16, md_in32, md_out32, NULL,
                                   NULL, NULL };
/* A port interface without 32-bit accesses: 16-bit whatever the disk says. */
static const ata_io_t model_io16 = { md_in8, md_out8, md_in16, md_out16, NULL, NULL, NULL,
                                     NULL, NULL };

/* Whole sectors in one call, as the server's REP INS/OUTS: the same words
 * reach the model, 32 or 16 bits an access as asked. */
static void md_in_sector(void *ctx, uint16_t port, uint8_t *buf, bool dwords)
{
    M.sector_calls++;
    for (unsigned i = 0; i < ATA_SECTOR_SIZE; i += dwords ? 4 : 2) {
        uint32_t v = dwords ? md_in32(ctx, port) : md_in16(ctx, port);
        memcpy(buf + i, &v, dwords ? 4 : 2);
    }
}

static void md_out_sector(void *ctx, uint16_t port, const uint8_t *buf, bool dwords)
{
    M.sector_calls++;
    for (unsigned i = 0; i < ATA_SECTOR_SIZE; i += dwords ? 4 : 2) {
        uint32_t v = 0;
        memcpy(&v, buf + i, dwords ? 4 : 2);
        if (dwords)
            md_out32(ctx, port, v);
        else
            md_out16(ctx, port, (uint16_t)v);
    }
}

static const ata_io_t model_io_sector = { md_in8, md_out8, md_in16, md_out16, md_in32, md_out32,
                                          NULL, md_in_sector, md_out_sector };

static void model_reset(bool lba48)
{
    free(M.data);
    memset(&M, 0, sizeof M);
    M.sectors = MD_SECTORS;
    M.data = calloc(MD_SECTORS, ATA_SECTOR_SIZE);
    M.present = true;
    M.lba48 = lba48;
    M.status = ATA_SR_DRDY;
}

/* ---- ATA: IDENTIFY data and taskfiles ---- */

static void test_identify(void)
{
    uint16_t id[ATA_IDENTIFY_WORDS] = { 0 };
    ata_info_t info;
    id[ATA_ID_CAPS] = ATA_ID_CAPS_LBA;
    id[ATA_ID_LBA28_SECTORS] = 0x1234;
    id[ATA_ID_LBA28_SECTORS + 1] = 0x0005;
    id[ATA_ID_MODEL] = ('A' << 8) | 'B';
    id[ATA_ID_MODEL + 1] = ('C' << 8) | ' ';
    for (unsigned w = 2; w < ATA_ID_MODEL_WORDS; w++)
        id[ATA_ID_MODEL + w] = 0x2020;
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_OK);
    CU_ASSERT_EQUAL(info.sectors, 0x51234);
    CU_ASSERT_FALSE(info.lba48);
    CU_ASSERT_STRING_EQUAL(info.model, "ABC");
    /* Word 83 bit 10 counts only with bits 15:14 = 01b. */
    id[ATA_ID_CMDSET2] = ATA_ID_CMDSET2_LBA48;
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_OK);
    CU_ASSERT_FALSE(info.lba48);
    id[ATA_ID_CMDSET2] = ATA_ID_VALID | ATA_ID_CMDSET2_LBA48 | ATA_ID_CMDSET2_FLUSH_EXT;
    id[ATA_ID_CMDSET2_ON] = ATA_ID_CMDSET2_LBA48;
    id[ATA_ID_LBA48_SECTORS] = 0;
    id[ATA_ID_LBA48_SECTORS + 2] = 0x0001;        /* 2^32 sectors */
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_OK);
    CU_ASSERT_TRUE(info.lba48 && info.flush_ext);
    CU_ASSERT_EQUAL(info.sectors, 1ULL << 32);
    /* Refused: supported but not enabled; beyond 2^48; capacity 0. */
    id[ATA_ID_CMDSET2_ON] = 0;
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_ERR_BAD_GEOMETRY);
    id[ATA_ID_CMDSET2_ON] = ATA_ID_CMDSET2_LBA48;
    id[ATA_ID_LBA48_SECTORS + 3] = 0x0001;        /* 2^48 + 2^32 */
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_ERR_BAD_GEOMETRY);
    memset(&id[ATA_ID_LBA48_SECTORS], 0, 8);
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_ERR_NO_SECTORS);
    /* A packet device; no LBA. */
    id[ATA_ID_CONFIG] = ATA_ID_CONFIG_ATAPI;
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_ERR_ATAPI);
    id[ATA_ID_CONFIG] = 0;
    id[ATA_ID_CAPS] = 0;
    CU_ASSERT_EQUAL(ata_parse_identify(id, &info), ATA_ERR_NO_LBA);
    CU_ASSERT_STRING_EQUAL(ata_strerror(ATA_ERR_NO_LBA), "the disk has no LBA addressing (CHS only)");
    CU_ASSERT_STRING_EQUAL(ata_strerror((ata_err_t)99), "unknown ATA error");
}

static void test_taskfile(void)
{
    ata_taskfile_t tf;
    /* 28-bit: LBA 27:24 in the Device register, 256 sectors as count 0. */
    CU_ASSERT_EQUAL(ata_build_rw(false, false, 0x0ABCDEF1, 256, &tf), ATA_OK);
    CU_ASSERT_EQUAL(tf.command, ATA_CMD_READ_SECTORS);
    CU_ASSERT_EQUAL(tf.count, 0);
    CU_ASSERT_EQUAL(tf.lba_low, 0xF1);
    CU_ASSERT_EQUAL(tf.lba_mid, 0xDE);
    CU_ASSERT_EQUAL(tf.lba_high, 0xBC);
    CU_ASSERT_EQUAL(tf.device, ATA_DEV_OBSOLETE | ATA_DEV_LBA | 0x0A);
    CU_ASSERT_FALSE(tf.lba48);
    CU_ASSERT_EQUAL(ata_build_rw(true, false, 5, 3, &tf), ATA_OK);
    CU_ASSERT_EQUAL(tf.command, ATA_CMD_WRITE_SECTORS);
    CU_ASSERT_EQUAL(tf.count, 3);
    /* The 28-bit limit: the last sector yes, one past no; counts 0 and 257 no. */
    CU_ASSERT_EQUAL(ata_build_rw(false, false, ATA_LBA28_LIMIT - 1, 1, &tf), ATA_OK);
    CU_ASSERT_EQUAL(ata_build_rw(false, false, ATA_LBA28_LIMIT - 1, 2, &tf), ATA_ERR_RANGE);
    CU_ASSERT_EQUAL(ata_build_rw(false, false, 0, 0, &tf), ATA_ERR_COUNT_BAD);
    CU_ASSERT_EQUAL(ata_build_rw(false, false, 0, 257, &tf), ATA_ERR_COUNT_BAD);
    /* 48-bit: the high bytes go first, the Device register only says LBA. */
    CU_ASSERT_EQUAL(ata_build_rw(true, true, 0x123456789ABCull, 256, &tf), ATA_OK);
    CU_ASSERT_EQUAL(tf.command, ATA_CMD_WRITE_SECTORS_EXT);
    CU_ASSERT_EQUAL(tf.count, 0);
    CU_ASSERT_EQUAL(tf.count_hi, 1);
    CU_ASSERT_EQUAL(tf.lba_low, 0xBC);
    CU_ASSERT_EQUAL(tf.lba_mid, 0x9A);
    CU_ASSERT_EQUAL(tf.lba_high, 0x78);
    CU_ASSERT_EQUAL(tf.lba_low_hi, 0x56);
    CU_ASSERT_EQUAL(tf.lba_mid_hi, 0x34);
    CU_ASSERT_EQUAL(tf.lba_high_hi, 0x12);
    CU_ASSERT_EQUAL(tf.device, ATA_DEV_OBSOLETE | ATA_DEV_LBA);
    CU_ASSERT_EQUAL(ata_build_rw(false, true, ATA_LBA48_LIMIT - 1, 2, &tf), ATA_ERR_RANGE);
}

/* ---- ATA: the PIO protocol against the model ---- */

static void test_pio(void)
{
    /* 28/48-bit, 16/32-bit data (the disk's word 48), a 32-bit disk
     * behind a port interface that has no 32-bit accesses, and whole
     * sectors a call (modes 6, 7). */
    for (int mode = 0; mode < 8; mode++) {
        int lba48 = mode & 1, hooks = mode >= 6, dword = hooks ? 1 : mode >> 1;
        model_reset(lba48);
        M.dword = dword != 0;
        ata_t dev;
        CU_ASSERT_EQUAL_FATAL(ata_probe(&dev, hooks ? &model_io_sector : dword == 2 ? &model_io16
                                                                                 : &model_io,
                                        ATA_PRIMARY_BASE, ATA_PRIMARY_CTL), ATA_OK);
        CU_ASSERT_EQUAL(dev.info.dword_io, dword != 0);
        CU_ASSERT_EQUAL(M.devctl, ATA_DC_NIEN);           /* polled: no INTRQ */
        CU_ASSERT_EQUAL(dev.info.sectors, MD_SECTORS);
        CU_ASSERT_EQUAL(dev.info.lba48, (bool)lba48);
        CU_ASSERT_STRING_EQUAL(dev.info.model, "MODEL DISK");
        /* 300 sectors: two commands (256 + 44). */
        enum { N = 300 };
        uint8_t *out = malloc(N * ATA_SECTOR_SIZE), *in = calloc(N, ATA_SECTOR_SIZE);
        for (unsigned i = 0; i < N * ATA_SECTOR_SIZE; i++)
            out[i] = (uint8_t)(i * 7 + i / 512 + lba48);
        unsigned before = M.commands;
        CU_ASSERT_EQUAL(ata_write(&dev, 1000, N, out), ATA_OK);
        CU_ASSERT_EQUAL(M.commands - before, 2);
        CU_ASSERT_EQUAL(memcmp(M.data + 1000 * ATA_SECTOR_SIZE, out, N * ATA_SECTOR_SIZE), 0);
        CU_ASSERT_EQUAL(ata_read(&dev, 1000, N, in), ATA_OK);
        CU_ASSERT_EQUAL(memcmp(in, out, N * ATA_SECTOR_SIZE), 0);
        /* 32-bit: 128 accesses a sector each way; else none. */
        CU_ASSERT_EQUAL(M.dword_accesses, dword == 1 ? 2u * N * 128 : 0);
        CU_ASSERT_EQUAL(M.sector_calls, hooks ? 2u * N : 0);
        CU_ASSERT_EQUAL(dev.sectors_read, N);
        CU_ASSERT_EQUAL(dev.sectors_written, N);
        CU_ASSERT_EQUAL(ata_flush(&dev), ATA_OK);
        /* Beyond the disk: refused before any command. */
        before = M.commands;
        CU_ASSERT_EQUAL(ata_read(&dev, MD_SECTORS - 1, 2, in), ATA_ERR_RANGE);
        CU_ASSERT_EQUAL(ata_read(&dev, ~0ULL, 2, in), ATA_ERR_RANGE);
        CU_ASSERT_EQUAL(M.commands, before);
        /* The device reports an error: its Error register is kept. */
        M.fail_io = true;
        CU_ASSERT_EQUAL(ata_read(&dev, 0, 1, in), ATA_ERR_DEVICE);
        CU_ASSERT_EQUAL(dev.last_error, 0x10);
        M.fail_io = false;
        CU_ASSERT_EQUAL(ata_read(&dev, 0, 1, in), ATA_OK);
        CU_ASSERT_EQUAL(M.protocol_errors, 0);
        free(out);
        free(in);
    }
    /* No device: the bus floats. A packet device (a CD) is no disk. */
    ata_t dev;
    model_reset(false);
    M.present = false;
    CU_ASSERT_EQUAL(ata_probe(&dev, &model_io, ATA_PRIMARY_BASE, ATA_PRIMARY_CTL),
                    ATA_ERR_NO_DEVICE);
    model_reset(false);
    M.atapi = true;
    CU_ASSERT_EQUAL(ata_probe(&dev, &model_io, ATA_PRIMARY_BASE, ATA_PRIMARY_CTL), ATA_ERR_ATAPI);
    /* A device stuck busy times out. */
    model_reset(false);
    M.status = ATA_SR_BSY;
    CU_ASSERT_EQUAL(ata_probe(&dev, &model_io, ATA_PRIMARY_BASE, ATA_PRIMARY_CTL),
                    ATA_ERR_TIMEOUT);
    free(M.data);
    M.data = NULL;
}

/* ---- partitions, bounds, the client protocol ---- */

#define RD_SECTORS 64u
static uint8_t rdisk[RD_SECTORS * BLK_SECTOR_SIZE];
static unsigned rd_calls;
static unsigned rd_fail;

static unsigned rd_read(void *ctx, uint64_t lba, uint64_t count, uint8_t *buf)
{
    (void)ctx;
    rd_calls++;
    CU_ASSERT_FATAL(lba + count <= RD_SECTORS);
    if (rd_fail)
        return rd_fail;
    memcpy(buf, rdisk + lba * BLK_SECTOR_SIZE, count * BLK_SECTOR_SIZE);
    return 0;
}

static unsigned rd_write(void *ctx, uint64_t lba, uint64_t count, const uint8_t *buf)
{
    (void)ctx;
    rd_calls++;
    CU_ASSERT_FATAL(lba + count <= RD_SECTORS);
    if (rd_fail)
        return rd_fail;
    memcpy(rdisk + lba * BLK_SECTOR_SIZE, buf, count * BLK_SECTOR_SIZE);
    return 0;
}

static unsigned rd_flush(void *ctx)
{
    (void)ctx;
    rd_calls++;
    return rd_fail;
}

static blk_disk_t ramdisk = { rd_read, rd_write, rd_flush, NULL, RD_SECTORS };

static void test_bounds(void)
{
    blk_part_t p;
    CU_ASSERT_TRUE(blk_parse_part("16:32", &p));
    CU_ASSERT_EQUAL(p.first, 16);
    CU_ASSERT_EQUAL(p.count, 32);
    CU_ASSERT_TRUE(blk_parse_part("0x10:8 blk.client1=0:1", &p));
    CU_ASSERT_EQUAL(p.first, 16);
    CU_ASSERT_FALSE(blk_parse_part("16:0", &p));
    CU_ASSERT_FALSE(blk_parse_part("16", &p));
    CU_ASSERT_FALSE(blk_parse_part(":5", &p));
    CU_ASSERT_FALSE(blk_parse_part("1:2x", &p));
    CU_ASSERT_FALSE(blk_parse_part("-1:2", &p));
    p = (blk_part_t){ 16, 32 };
    CU_ASSERT_EQUAL(blk_part_fits(&p, 48), BLK_OK);
    CU_ASSERT_EQUAL(blk_part_fits(&p, 47), BLK_E_RANGE);
    blk_part_t wrap = { ~0ULL - 1, 4 };
    CU_ASSERT_EQUAL(blk_part_fits(&wrap, ~0ULL), BLK_E_OVERFLOW);
    /* Each error in its order; the last sector and the whole buffer allowed. */
    const uint64_t buf = 8 * BLK_SECTOR_SIZE;
    CU_ASSERT_EQUAL(blk_check(&p, 24, 8, 0, buf), BLK_OK);
    CU_ASSERT_EQUAL(blk_check(&p, 31, 1, 7 * BLK_SECTOR_SIZE, buf), BLK_OK);
    CU_ASSERT_EQUAL(blk_check(&p, 0, 0, 0, buf), BLK_E_TOO_BIG);
    CU_ASSERT_EQUAL(blk_check(&p, ~0ULL, 2, 0, buf), BLK_E_OVERFLOW);
    CU_ASSERT_EQUAL(blk_check(&p, 32, 1, 0, buf), BLK_E_RANGE);
    CU_ASSERT_EQUAL(blk_check(&p, 25, 8, 0, buf), BLK_E_RANGE);
    CU_ASSERT_EQUAL(blk_check(&p, 0, 1, 100, buf), BLK_E_ALIGN);
    CU_ASSERT_EQUAL(blk_check(&p, 0, 2, 7 * BLK_SECTOR_SIZE, buf), BLK_E_TOO_BIG);
    CU_ASSERT_EQUAL(blk_check(&p, 0, 1, 1ULL << 63, buf), BLK_E_TOO_BIG);
    CU_ASSERT_EQUAL(blk_check(&p, 0, 9, 0, buf), BLK_E_TOO_BIG);
    CU_ASSERT_STRING_EQUAL(blk_strerror(BLK_E_RANGE), "sectors beyond the partition");
    CU_ASSERT_STRING_EQUAL(blk_strerror(99), "unknown error");
}

static void test_clients(void)
{
    static uint8_t buffer[4096];
    blk_client_t c = { .part = { 16, 32 }, .configured = true, .usable = true };
    uint64_t mr[3] = { 0 };
    memset(rdisk, 0xAA, sizeof rdisk);
    rd_calls = rd_fail = 0;
    /* INFO before a buffer: no sectors per request yet. */
    blk_reply_t r = blk_serve(&ramdisk, &c, BLK_REQ_INFO, mr, 0);
    CU_ASSERT_EQUAL(r.label, BLK_OK);
    CU_ASSERT_EQUAL(r.mr[BLK_INFO_MR_SECTORS], 32);
    CU_ASSERT_EQUAL(r.mr[BLK_INFO_MR_SECTOR_SIZE], BLK_SECTOR_SIZE);
    CU_ASSERT_EQUAL(r.mr[BLK_INFO_MR_MAX_SECTORS], 0);
    mr[BLK_RW_MR_COUNT] = 1;
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_READ, mr, 3).label, BLK_E_NO_BUFFER);
    r = blk_attached(&c, buffer, sizeof buffer);
    CU_ASSERT_EQUAL(r.mr[0], 4096);
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_INFO, mr, 0).mr[BLK_INFO_MR_MAX_SECTORS], 8);
    /* Write sector 0 of the partition = disk sector 16, from buffer offset 1024. */
    memset(buffer + 1024, 0x5C, BLK_SECTOR_SIZE);
    uint64_t w[3] = { 0, 1, 1024 };
    r = blk_serve(&ramdisk, &c, BLK_REQ_WRITE, w, 3);
    CU_ASSERT_EQUAL(r.label, BLK_OK);
    CU_ASSERT_EQUAL(r.mr[0], 1);
    CU_ASSERT_EQUAL(rdisk[16 * BLK_SECTOR_SIZE], 0x5C);
    CU_ASSERT_EQUAL(rdisk[15 * BLK_SECTOR_SIZE + 511], 0xAA);
    CU_ASSERT_EQUAL(rdisk[17 * BLK_SECTOR_SIZE], 0xAA);
    memset(buffer, 0, sizeof buffer);
    uint64_t rq[3] = { 0, 8, 0 };
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_READ, rq, 3).label, BLK_OK);
    CU_ASSERT_EQUAL(buffer[0], 0x5C);
    CU_ASSERT_EQUAL(buffer[BLK_SECTOR_SIZE], 0xAA);
    CU_ASSERT_EQUAL(c.sectors_read, 8);
    CU_ASSERT_EQUAL(c.sectors_written, 1);
    /* Refusals touch nothing. */
    unsigned calls = rd_calls;
    uint64_t bad[][3] = { { 32, 1, 0 }, { 31, 2, 0 }, { ~0ULL, 2, 0 }, { 0, 1, 3 },
                          { 0, 9, 0 }, { 0, 0, 0 }, { 0, 1, 4096 } };
    const int want[] = { BLK_E_RANGE, BLK_E_RANGE, BLK_E_OVERFLOW, BLK_E_ALIGN, BLK_E_TOO_BIG,
                         BLK_E_TOO_BIG, BLK_E_TOO_BIG };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_READ, bad[i], 3).label,
                        (uint64_t)want[i]);
        CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_WRITE, bad[i], 3).label,
                        (uint64_t)want[i]);
    }
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_READ, rq, 2).label, BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, 0x7777, rq, 3).label, BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(rd_calls, calls);
    CU_ASSERT_EQUAL(c.refusals, 2 * 7 + 2 + 1);
    /* A disk error comes back as BLK_E_IO with the device's code. */
    rd_fail = 0x40;
    r = blk_serve(&ramdisk, &c, BLK_REQ_READ, rq, 3);
    CU_ASSERT_EQUAL(r.label, BLK_E_IO);
    CU_ASSERT_EQUAL(r.mr[0], 0x40);
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_FLUSH, rq, 0).label, BLK_E_IO);
    rd_fail = 0;
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_FLUSH, rq, 0).label, BLK_OK);
    /* A partition off the disk, or a client the config did not name. */
    calls = rd_calls;
    c.usable = false;
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_READ, rq, 3).label, BLK_E_NO_DISK);
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_FLUSH, rq, 0).label, BLK_E_NO_DISK);
    c.configured = false;
    CU_ASSERT_EQUAL(blk_serve(&ramdisk, &c, BLK_REQ_INFO, rq, 0).label, BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(rd_calls, calls);
}

/* ---- the virtio block device ---- */

#define RAM_BYTES   0x40000u
#define DESC_GPA    DSD_DESC_GPA
#define AVAIL_GPA   DSD_AVAIL_GPA
#define USED_GPA    DSD_USED_GPA
#define HDR_GPA     0x8000u
#define DATA_GPA    0x10000u
#define STATUS_GPA  0x9000u
#define QSIZE       DSD_QSIZE
#define MAX_LINES   64

static uint8_t *ram;
static vblk_t V;
static char lines[MAX_LINES][VBLK_LINE_MAX + 80];
static unsigned n_lines;
static dsd_t D;

static void emit(const char *text)
{
    if (n_lines < MAX_LINES)
        snprintf(lines[n_lines++], sizeof lines[0], "%s", text);
}

static bool logged(const char *frag)
{
    for (unsigned i = 0; i < n_lines; i++)
        if (strstr(lines[i], frag))
            return true;
    return false;
}

static bool vaccess(void *dev, bool write, uint64_t off, uint64_t size, uint32_t *v, uint32_t w)
{
    return vblk_access(dev, write, off, size, v, w);
}

/* 3.1.1 and 4.2.3.2 for requestq, VERSION_1 and FLUSH. */
static void driver_init(void)
{
    dsd_driver_init(&D, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH),
                    VBLK_REQUESTQ);
}

static void vsetup(void)
{
    free(ram);
    ram = calloc(1, RAM_BYTES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
    memset(&V, 0, sizeof V);
    strcpy(V.name, "disk");
    strcpy(V.vm, "vm1");
    V.ram_bytes = RAM_BYTES;
    V.emit = emit;
    V.disk = &ramdisk;
    V.part = (blk_part_t){ 16, 32 };
    V.usable = true;
    n_lines = 0;
    rd_calls = rd_fail = 0;
    D = (dsd_t){ .ram = ram, .access = vaccess, .dev = &V };
    CU_ASSERT_TRUE_FATAL(vblk_init(&V, ram));
    driver_init();
}

/* Header, optional data (@len bytes at DATA_GPA, device-writable with
 * @in), status; offered and kicked. Returns the status byte (0xEE if the
 * device wrote none) and the used length in *@used. */
static uint8_t vreq(uint32_t type, uint64_t sector, uint32_t len, bool in, uint32_t *used)
{
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE] = { 0 };
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    memcpy(ram + HDR_GPA, hdr, sizeof hdr);
    ram[STATUS_GPA] = 0xEE;
    desc(0, HDR_GPA, VIRTIO_BLK_HDR_SIZE, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
    desc(1, DATA_GPA, len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, VBLK_REQUESTQ));
    CU_ASSERT_EQUAL(get16(USED_GPA + VIRTQ_USED_IDX_OFF), (uint16_t)(used_seen + 1));
    uint32_t slot = USED_GPA + VIRTQ_USED_RING_OFF + (used_seen % QSIZE) * VIRTQ_USED_ELEM_SIZE;
    used_seen++;
    if (used)
        *used = get32(slot + VIRTQ_USED_ELEM_LEN_OFF);
    return ram[STATUS_GPA];
}

static void test_vblk(void)
{
    vsetup();
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY), 32);   /* 5.2.4 */
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_CONFIG + 4), 0);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0));
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_FLUSH));
    memset(rdisk, 0xAA, sizeof rdisk);
    /* OUT of 3 sectors at 2 (disk 18..20), IN back. */
    for (unsigned i = 0; i < 3 * 512; i++)
        ram[DATA_GPA + i] = (uint8_t)(i ^ 0x3C);
    uint32_t used;
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 2, 3 * 512, false, &used), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(used, 1);
    CU_ASSERT_EQUAL(memcmp(rdisk + 18 * 512, ram + DATA_GPA, 3 * 512), 0);
    CU_ASSERT_EQUAL(rdisk[21 * 512], 0xAA);
    memset(ram + DATA_GPA, 0, 3 * 512);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 2, 3 * 512, true, &used), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(used, 3 * 512 + 1);
    CU_ASSERT_EQUAL(memcmp(rdisk + 18 * 512, ram + DATA_GPA, 3 * 512), 0);
    /* More than the bounce buffer, in pieces: 20 sectors. */
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 10, 20 * 512, true, &used), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(memcmp(rdisk + 26 * 512, ram + DATA_GPA, 20 * 512), 0);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &used),
                    VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(used, VIRTIO_BLK_ID_BYTES + 1);
    CU_ASSERT_STRING_EQUAL((char *)ram + DATA_GPA, "nestor-disk");
    CU_ASSERT_EQUAL(V.reads, 2);
    CU_ASSERT_EQUAL(V.writes, 1);
    CU_ASSERT_EQUAL(V.flushes, 1);

    /* Bad requests: IOERR or UNSUPP, the disk untouched. */
    unsigned calls = rd_calls;
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 32, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 31, 1024, false, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, ~0ULL, 1024, true, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 0, 100, false, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 0, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_GET_ID, 0, 10, true, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(0x1234, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
    CU_ASSERT_EQUAL(vreq(11 /* DISCARD, not offered */, 0, 16, false, NULL),
                    VIRTIO_BLK_S_UNSUPP);
    CU_ASSERT_EQUAL(rd_calls, calls);
    CU_ASSERT_TRUE(logged("blk disk: vm vm1: read refused: sectors beyond the capacity"));
    CU_ASSERT_TRUE(logged("write refused: data not a whole number of 512-byte sectors"));
    CU_ASSERT_TRUE(logged("read refused: data buffers on the wrong side"));
    CU_ASSERT_TRUE(logged("request refused: type 4660 is not supported"));
    /* A header the device cannot read: IOERR in the status byte. */
    desc(0, HDR_GPA, VIRTIO_BLK_HDR_SIZE, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    ram[STATUS_GPA] = 0xEE;
    offer(0);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, VBLK_REQUESTQ));
    used_seen++;
    CU_ASSERT_EQUAL(ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    CU_ASSERT_TRUE(logged("header not device-readable"));
    /* No writable byte at all: nowhere to answer; used with length 0. */
    desc(0, HDR_GPA, VIRTIO_BLK_HDR_SIZE, 0, 0);
    offer(0);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, VBLK_REQUESTQ));
    CU_ASSERT_EQUAL(get16(USED_GPA + VIRTQ_USED_IDX_OFF), (uint16_t)(used_seen + 1));
    used_seen++;
    CU_ASSERT_TRUE(logged("no device-writable status byte"));
    CU_ASSERT_EQUAL(rd_calls, calls);
    /* A disk error is IOERR. */
    rd_fail = 0x40;
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_TRUE(logged("disk error 0x40 at sector 16"));
    rd_fail = 0;
    /* A buffer outside RAM breaks the queue; a reset brings it back. */
    desc(0, RAM_BYTES - 8, 16, VIRTQ_DESC_F_NEXT, 2);
    offer(0);
    CU_ASSERT_TRUE(wr(VIRTIO_MMIO_QUEUE_NOTIFY, VBLK_REQUESTQ));
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_TRUE(logged("the device needs a reset"));
    driver_init();
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 2, 512, true, NULL), VIRTIO_BLK_S_OK);
    /* Without a disk the capacity is 0 and everything is IOERR. */
    V.usable = false;
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_CONFIG), 0);
    calls = rd_calls;
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(rd_calls, calls);
    /* Out-of-window accesses from the VMM are refused. */
    uint32_t v;
    CU_ASSERT_FALSE(vblk_access(&V, false, VBLK_WINDOW_SIZE, 4, &v, 0));
    CU_ASSERT_FALSE(vblk_access(&V, false, 0, 8, &v, 0));
    free(ram);
    ram = NULL;
}

/* ---- a checkpoint of the device: DS_REQ_SAVE/LOAD (devsrv.h) ---- */

static virtio_shadow_t S;   /* what the VMM keeps of the driver's accepted writes */
static vblk_t V2;

/* As the VMM forwards: an accepted 32-bit control register write other
 * than a kick goes into the shadow (vmm-server/virtio_fwd.c). */
static bool vaccess_kept(void *dev, bool write, uint64_t off, uint64_t size, uint32_t *v,
                         uint32_t w)
{
    bool ok = vblk_access(dev, write, off, size, v, w);
    if (ok && write && virtio_shadow_keeps(off, size))
        virtio_shadow_write(&S, (uint32_t)off, w);
    return ok;
}

/* A fresh device over the same RAM and disk (a restore's new server),
 * brought to the shadow's state by its replay (@replay) as the VMM does. */
static void fresh(bool replay)
{
    memset(&V2, 0, sizeof V2);
    strcpy(V2.name, V.name);
    strcpy(V2.vm, V.vm);
    V2.ram_bytes = V.ram_bytes;
    V2.emit = emit;
    V2.disk = V.disk;
    V2.part = V.part;
    V2.usable = true;
    CU_ASSERT_TRUE_FATAL(vblk_init(&V2, ram));
    virtio_shadow_op_t ops[VIRTIO_SHADOW_OPS_MAX];
    unsigned n = replay ? virtio_shadow_replay(&S, ops) : 0;
    for (unsigned i = 0; i < n; i++) {
        uint32_t v;
        CU_ASSERT_TRUE(vblk_access(&V2, true, ops[i].offset, 4, &v, ops[i].value));
    }
}

/* @bad refused by a freshly replayed device with @code and a line holding
 * @why; the device exactly as the replay left it. */
static void refused(const ds_state_t *bad, unsigned code, const char *why)
{
    fresh(true);
    virtio_mmio_dev_t dev = V2.dev;
    virtio_mmio_queue_t q = V2.queues[VBLK_REQUESTQ];
    n_lines = 0;
    CU_ASSERT_EQUAL(vblk_load(&V2, bad), code);
    CU_ASSERT_TRUE(logged("blk disk: vm vm1: device state refused: "));
    CU_ASSERT_TRUE(logged(why));
    if (!logged(why))
        fprintf(stderr, "expected refusal \"%s\", got \"%s\"\n", why, n_lines ? lines[0] : "");
    CU_ASSERT_EQUAL(memcmp(&dev, &V2.dev, sizeof dev), 0);
    CU_ASSERT_EQUAL(memcmp(&q, &V2.queues[VBLK_REQUESTQ], sizeof q), 0);
}

static void test_vblk_checkpoint(void)
{
    vsetup();
    memset(&S, 0, sizeof S);
    D.access = vaccess_kept;
    driver_init();
    memset(rdisk, 0, sizeof rdisk);
    for (unsigned i = 0; i < 512; i++)
        ram[DATA_GPA + i] = (uint8_t)(i * 5 + 1);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 4, 512, false, NULL), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 4, 512, true, NULL), VIRTIO_BLK_S_OK);
    CU_ASSERT_TRUE(vblk_irq(&V));               /* the used-buffer interrupt not acknowledged */

    /* The save: the disk flushed, the transport's state exported. */
    ds_state_t st;
    unsigned calls = rd_calls;
    n_lines = 0;
    CU_ASSERT_TRUE(vblk_save(&V, &st));
    CU_ASSERT_EQUAL(rd_calls, calls + 1);
    CU_ASSERT_TRUE(logged("blk disk: vm vm1: device state saved (status 0xf, requestq at used "
                          "index 2, interrupt pending); the disk flushed"));
    CU_ASSERT_EQUAL(st.version, DS_STATE_VERSION);
    CU_ASSERT_EQUAL(st.device_id, VIRTIO_ID_BLOCK);
    CU_ASSERT_EQUAL(st.nqueues, VBLK_QUEUES);
    CU_ASSERT_EQUAL(st.interrupt_status, VIRTIO_MMIO_INT_VRING);
    CU_ASSERT_EQUAL(st.q[VBLK_REQUESTQ].used_idx, 2);
    CU_ASSERT_EQUAL(st.q[VBLK_REQUESTQ].last_avail, 2);

    /* Hostile records: each refused with its reason, nothing changed
     * (the transport's, ds_state_cases.c, then the part's). */
    CU_ASSERT_EQUAL(ds_state_hostile_transport(&st, VIRTIO_ID_CONSOLE, refused), 14);
    ds_state_t bad;
    /* The block device has no state of its own (devsrv.h ds_state_t
     * dev[]): a part, or a byte after it, is refused. */
    CU_ASSERT_EQUAL(st.dev_version, 0);
    CU_ASSERT_EQUAL(st.dev_bytes, 0);
    bad = st;
    bad.dev_version = 1;
    refused(&bad, DS_STATE_E_DEVICE, "the device type's own state missing, of another version");
    bad = st;
    bad.dev_bytes = 4;
    refused(&bad, DS_STATE_E_DEVICE, "the device type's own state missing, of another version");
    bad = st;
    bad.dev[DS_STATE_DEV_BYTES - 1] = 1;
    refused(&bad, DS_STATE_E_DEVICE, "bytes after the device type's own state");
    /* A version 1 state (an image from before the part): taken, it has
     * none; with a part it is refused. */
    ds_state_t v1 = st;
    v1.version = DS_STATE_VERSION_1;
    fresh(true);
    CU_ASSERT_EQUAL(vblk_load(&V2, &v1), 0);
    v1.dev_bytes = 4;
    refused(&v1, DS_STATE_E_DEVICE, "the device type's own state missing, of another version");
    /* A device the driver's writes were not replayed into (still reset). */
    fresh(false);
    n_lines = 0;
    CU_ASSERT_EQUAL(vblk_load(&V2, &st), DS_STATE_E_STATUS);
    CU_ASSERT_EQUAL(V2.dev.status, 0);
    /* A broken queue comes back broken: the driver must reset it. */
    bad = st;
    bad.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    bad.q[0].broken = 1;
    bad.q[0].error = VIRTQ_ERR_HEAD_OUT_OF_RANGE;
    fresh(true);
    CU_ASSERT_EQUAL(vblk_load(&V2, &bad), 0);
    CU_ASSERT_TRUE(V2.dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_TRUE(V2.queues[0].vq.broken);

    /* The load into a fresh device: the line up again, the next request
     * served at used index 3. */
    fresh(true);
    CU_ASSERT_FALSE(vblk_irq(&V2));
    n_lines = 0;
    CU_ASSERT_EQUAL(vblk_load(&V2, &st), 0);
    CU_ASSERT_TRUE(logged("device state restored from the image (status 0xf, requestq at used "
                          "index 2)"));
    CU_ASSERT_TRUE(vblk_irq(&V2));
    D.dev = &V2;
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 4, 512, true, NULL), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(ram[DATA_GPA + 7], (uint8_t)(7 * 5 + 1));

    /* No save with a chain in flight (taken, not used), or when the
     * disk's flush fails. */
    desc(0, HDR_GPA, VIRTIO_BLK_HDR_SIZE, VIRTQ_DESC_F_NEXT, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    virtq_seg_t segs[4];
    virtq_chain_t chain;
    virtio_mmio_effect_t eff;
    CU_ASSERT_EQUAL(virtio_mmio_pop(&V2.dev, VBLK_REQUESTQ, segs, 4, &chain, &eff), VIRTQ_OK);
    n_lines = 0;
    CU_ASSERT_FALSE(vblk_save(&V2, &st));
    CU_ASSERT_TRUE(logged("device state not saved: a request is in flight"));
    CU_ASSERT_EQUAL(virtio_mmio_push(&V2.dev, VBLK_REQUESTQ, chain.head, 1, &eff), VIRTQ_OK);
    rd_fail = 0x40;
    CU_ASSERT_FALSE(vblk_save(&V2, &st));
    CU_ASSERT_TRUE(logged("device state not saved: the disk's flush failed"));
    rd_fail = 0;
    CU_ASSERT_TRUE(vblk_save(&V2, &st));
    CU_ASSERT_EQUAL(st.q[0].used_idx, 4);
    D.dev = &V;
    free(ram);
    ram = NULL;
}

/* ---- a read-only image as a copy-on-write disk (image.h) ---- */

#define IMG_BYTES   (2 * IMG_PAGE_SIZE + 700)   /* 3 pages, 18 sectors, the last partial */
#define IMG_POOL    3                           /* private pages the fake budget holds */

static uint8_t img_pool[IMG_POOL][IMG_PAGE_SIZE];
static unsigned img_pool_used;
static img_disk_t IMG;

static uint8_t *img_new_page(void *ctx)
{
    (void)ctx;
    if (img_pool_used == IMG_POOL)
        return NULL;
    memset(img_pool[img_pool_used], 0xCC, IMG_PAGE_SIZE);   /* not zeroed: any content */
    return img_pool[img_pool_used++];
}

static uint8_t img_byte(uint64_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

static void test_image(void)
{
    static uint8_t image[IMG_BYTES];
    static uint8_t buf[20 * IMG_SECTOR_SIZE], sec[IMG_SECTOR_SIZE];
    for (uint64_t i = 0; i < IMG_BYTES; i++)
        image[i] = img_byte(i);
    blk_disk_t disk;
    img_pool_used = 0;
    IMG.new_page = img_new_page;
    CU_ASSERT_FALSE(img_init(&IMG, image, 0, &disk));
    CU_ASSERT_FALSE(img_init(&IMG, image, (uint64_t)IMG_MAX_PAGES * IMG_PAGE_SIZE + 1, &disk));
    CU_ASSERT_TRUE_FATAL(img_init(&IMG, image, IMG_BYTES, &disk));
    CU_ASSERT_EQUAL(disk.sectors, 18);
    /* The whole disk reads as the image, then zeros past its end. */
    memset(buf, 0xAA, sizeof buf);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 0, 18, buf), 0);
    bool same = true;
    for (uint64_t i = 0; i < 18 * IMG_SECTOR_SIZE; i++)
        same &= buf[i] == (i < IMG_BYTES ? img_byte(i) : 0);
    CU_ASSERT_TRUE(same);
    /* Beyond the disk, or wrapping: refused. */
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 18, 1, buf), IMG_ERR_RANGE);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, ~0ULL, 2, buf), IMG_ERR_RANGE);
    CU_ASSERT_EQUAL(disk.write(disk.ctx, 17, 2, buf), IMG_ERR_RANGE);
    CU_ASSERT_EQUAL(img_pool_used, 0);
    /* A write to sector 9 (page 1): read back, its neighbours as the image
     * has them, the image itself unchanged, one page copied. */
    memset(sec, 0x5A, sizeof sec);
    CU_ASSERT_EQUAL(disk.write(disk.ctx, 9, 1, sec), 0);
    CU_ASSERT_EQUAL(IMG.copied, 1);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 8, 3, buf), 0);
    same = true;
    for (uint64_t i = 0; i < 3 * IMG_SECTOR_SIZE; i++) {
        uint64_t at = 8 * IMG_SECTOR_SIZE + i;
        same &= buf[i] == (at / IMG_SECTOR_SIZE == 9 ? 0x5A : img_byte(at));
    }
    CU_ASSERT_TRUE(same);
    same = true;
    for (uint64_t i = 0; i < IMG_BYTES; i++)
        same &= image[i] == img_byte(i);
    CU_ASSERT_TRUE(same);
    /* Across pages 0 and 1 (sectors 7-8): page 0 copied too, page 1 kept. */
    memset(buf, 0x11, 2 * IMG_SECTOR_SIZE);
    CU_ASSERT_EQUAL(disk.write(disk.ctx, 7, 2, buf), 0);
    CU_ASSERT_EQUAL(IMG.copied, 2);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 6, 4, buf), 0);
    CU_ASSERT_EQUAL(buf[0], img_byte(6 * IMG_SECTOR_SIZE));
    CU_ASSERT_EQUAL(buf[IMG_SECTOR_SIZE], 0x11);
    CU_ASSERT_EQUAL(buf[3 * IMG_SECTOR_SIZE - 1], 0x11);
    CU_ASSERT_EQUAL(buf[3 * IMG_SECTOR_SIZE], 0x5A);
    /* The last, partial sector: its copy keeps the zeros past the image. */
    memset(sec, 0x77, 100);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 17, 1, buf), 0);
    memcpy(sec + 100, buf + 100, IMG_SECTOR_SIZE - 100);
    CU_ASSERT_EQUAL(disk.write(disk.ctx, 17, 1, sec), 0);
    CU_ASSERT_EQUAL(IMG.copied, 3);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 16, 2, buf), 0);
    CU_ASSERT_EQUAL(buf[0], img_byte(16 * IMG_SECTOR_SIZE));
    CU_ASSERT_EQUAL(buf[IMG_SECTOR_SIZE], 0x77);
    CU_ASSERT_EQUAL(buf[IMG_SECTOR_SIZE + 99], 0x77);
    CU_ASSERT_EQUAL(buf[IMG_SECTOR_SIZE + 187], img_byte(17 * IMG_SECTOR_SIZE + 187));
    CU_ASSERT_EQUAL(buf[IMG_SECTOR_SIZE + 188], 0);                 /* the image ends */
    CU_ASSERT_EQUAL(buf[2 * IMG_SECTOR_SIZE - 1], 0);
    CU_ASSERT_EQUAL(disk.flush(disk.ctx), 0);
    /* Out of private pages: a write to a page without a copy fails whole,
     * one across a copied and an uncopied page writes neither. */
    img_pool_used = IMG_POOL;
    CU_ASSERT_TRUE_FATAL(img_init(&IMG, image, IMG_BYTES, &disk));
    img_pool_used = IMG_POOL - 1;
    memset(sec, 0x33, sizeof sec);
    CU_ASSERT_EQUAL(disk.write(disk.ctx, 0, 1, sec), 0);           /* the last page */
    memset(buf, 0x44, 2 * IMG_SECTOR_SIZE);
    CU_ASSERT_EQUAL(disk.write(disk.ctx, 7, 2, buf), IMG_ERR_NO_MEMORY);
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 7, 2, buf), 0);
    CU_ASSERT_EQUAL(buf[0], img_byte(7 * IMG_SECTOR_SIZE));
    CU_ASSERT_EQUAL(buf[IMG_SECTOR_SIZE], img_byte(8 * IMG_SECTOR_SIZE));
    CU_ASSERT_EQUAL(disk.read(disk.ctx, 0, 1, buf), 0);
    CU_ASSERT_EQUAL(buf[0], 0x33);
}

/* The VM's disk for its checkpoint monitor (blk_proto.h BLK_REQ_VM_*):
 * the written-flags, who may, the bounds; and the virtio device setting
 * the flags of what the VM writes, not of what it reads. */
static void test_vm_disk(void)
{
    static blk_dirty_t d;
    static uint8_t buffer[4096];
    /* Chunk sizes: 4 KiB, the last chunk cut short, larger past 32,768. */
    blk_dirty_init(&d, 256);
    CU_ASSERT_EQUAL(d.chunk_sectors, 8);
    CU_ASSERT_EQUAL(d.chunks, 32);
    blk_dirty_init(&d, 257);
    CU_ASSERT_EQUAL(d.chunks, 33);
    blk_dirty_init(&d, 8ull * BLK_VM_MAX_CHUNKS + 1);
    CU_ASSERT_EQUAL(d.chunk_sectors, 16);
    CU_ASSERT_EQUAL(d.chunks, BLK_VM_MAX_CHUNKS / 2 + 1);
    blk_dirty_init(&d, 1ull << 40);
    CU_ASSERT_TRUE(d.chunks <= BLK_VM_MAX_CHUNKS);
    CU_ASSERT_EQUAL(d.chunks * d.chunk_sectors, 1ull << 40);
    blk_dirty_init(&d, 0);
    CU_ASSERT_EQUAL(d.chunks, 0);
    blk_dirty_mark(&d, 0, 8);                   /* no disk: nothing to mark, no fault */

    const blk_part_t part = { 16, 32 };         /* 4 chunks of 8 sectors */
    blk_dirty_init(&d, part.count);
    blk_vm_disk_t vm = { &ramdisk, &part, &d, true };
    blk_client_t other = { .part = { 100, 8 }, .configured = true, .usable = true };
    blk_client_t c = other;
    c.vm_disk = true;
    blk_attached(&c, buffer, sizeof buffer);
    blk_attached(&other, buffer, sizeof buffer);
    memset(rdisk, 0xAA, sizeof rdisk);
    rd_calls = rd_fail = 0;
    uint64_t rq[3] = { 0, 8, 0 };
    /* Only the VM's checkpoint monitor, only with a VM disk. */
    for (uint64_t l = BLK_REQ_VM_INFO; l; l = l == BLK_REQ_VM_INFO ? BLK_REQ_VM_READ
                                          : l == BLK_REQ_VM_READ ? BLK_REQ_VM_WRITE
                                          : l == BLK_REQ_VM_WRITE ? BLK_REQ_VM_DIRTY : 0) {
        CU_ASSERT_TRUE(blk_is_vm_request(l));
        CU_ASSERT_EQUAL(blk_serve_vm(&vm, &other, l, rq, 3).label, BLK_E_NOT_VM);
        vm.usable = false;
        CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, l, rq, 3).label, BLK_E_NOT_VM);
        vm.usable = true;
    }
    CU_ASSERT_FALSE(blk_is_vm_request(BLK_REQ_READ));
    CU_ASSERT_EQUAL(rd_calls, 0);
    CU_ASSERT_EQUAL(other.refusals, 3);         /* INFO's "no" is an answer, not counted */
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_READ, rq, 3).label, BLK_E_BAD_REQUEST);
    blk_reply_t r = blk_serve_vm(&vm, &c, BLK_REQ_VM_INFO, rq, 0);
    CU_ASSERT_EQUAL(r.label, BLK_OK);
    CU_ASSERT_EQUAL(r.mr[BLK_VM_INFO_MR_SECTORS], 32);
    CU_ASSERT_EQUAL(r.mr[BLK_VM_INFO_MR_CHUNK], 8);
    CU_ASSERT_EQUAL(r.mr[BLK_VM_INFO_MR_CHUNKS], 4);
    /* READ and WRITE on the VM's sectors (disk 16-47), bounded by them;
     * the monitor's writes set no flag. */
    memset(buffer, 0x5C, sizeof buffer);
    uint64_t w[3] = { 24, 8, 0 };
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_WRITE, w, 3).label, BLK_OK);
    CU_ASSERT_EQUAL(rdisk[40 * BLK_SECTOR_SIZE], 0x5C);
    CU_ASSERT_EQUAL(rdisk[48 * BLK_SECTOR_SIZE], 0xAA);
    memset(buffer, 0, sizeof buffer);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_READ, w, 3).label, BLK_OK);
    CU_ASSERT_EQUAL(buffer[4095], 0x5C);
    uint64_t take[2] = { 0, BLK_VM_DIRTY_TAKE };
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
    unsigned calls = rd_calls;
    uint64_t bad[][3] = { { 32, 1, 0 }, { 25, 8, 0 }, { ~0ULL, 2, 0 }, { 0, 1, 3 },
                          { 0, 9, 0 }, { 0, 0, 0 } };
    const int want[] = { BLK_E_RANGE, BLK_E_RANGE, BLK_E_OVERFLOW, BLK_E_ALIGN, BLK_E_TOO_BIG,
                         BLK_E_TOO_BIG };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_READ, bad[i], 3).label,
                        (uint64_t)want[i]);
        CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_WRITE, bad[i], 3).label,
                        (uint64_t)want[i]);
    }
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_WRITE, w, 2).label, BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(rd_calls, calls);
    /* Flags: each taken once, in order; CLEAR clears all; an unknown way
     * or too few MRs refused. */
    blk_dirty_mark(&d, 7, 2);                   /* chunks 0 and 1 */
    blk_dirty_mark(&d, 31, 100);                /* chunk 3; past the disk: nothing */
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 0);
    take[0] = 1;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 1);
    take[0] = 0;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 3);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
    take[0] = ~0ull;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
    blk_dirty_mark(&d, 0, 32);
    uint64_t clear[2] = { 0, BLK_VM_DIRTY_CLEAR }, odd[2] = { 0, 3 };
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, odd, 2).label, BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, clear, 1).label, BLK_E_BAD_REQUEST);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, clear, 2).label, BLK_OK);
    take[0] = 0;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
    /* A large disk: a word without a flag skipped, the one after found. */
    blk_dirty_init(&d, 8 * 200);
    blk_dirty_mark(&d, 8 * 130, 1);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 130);

    /* The virtio device: an OUT sets its chunks' flags, an IN none. */
    vsetup();
    blk_dirty_init(&V.dirty, V.part.count);
    vm = (blk_vm_disk_t){ &ramdisk, &V.part, &V.dirty, true };
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_IN, 0, 8 * 512, true, NULL), VIRTIO_BLK_S_OK);
    take[0] = 0;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 15, 2 * 512, false, NULL), VIRTIO_BLK_S_OK);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 1);
    take[0] = 2;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 2);
    take[0] = 0;
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
    /* A refused OUT (past the capacity) flags nothing. */
    CU_ASSERT_EQUAL(vreq(VIRTIO_BLK_T_OUT, 31, 1024, false, NULL), VIRTIO_BLK_S_IOERR);
    CU_ASSERT_EQUAL(blk_serve_vm(&vm, &c, BLK_REQ_VM_DIRTY, take, 2).mr[0], 4);
}

UNIT_SUITE(blk_suite)
{
    CU_pSuite s = CU_add_suite("blk: the block server (ATA, partitions, virtio-blk)", NULL, NULL);
    CU_add_test(s, "ATA: IDENTIFY DEVICE data: LBA28, LBA48, refusals", test_identify);
    CU_add_test(s, "ATA: READ/WRITE SECTOR(S) (EXT) taskfiles and their limits", test_taskfile);
    CU_add_test(s, "ATA: PIO data-in/out against a model disk, errors, no device", test_pio);
    CU_add_test(s, "partitions and request bounds", test_bounds);
    CU_add_test(s, "client protocol: info, attach, read/write, refusals touch nothing",
                test_clients);
    CU_add_test(s, "virtio-blk: IN/OUT/FLUSH/GET_ID, bad requests IOERR/UNSUPP, broken ring",
                test_vblk);
    CU_add_test(s, "virtio-blk checkpoint: the disk flushed, the state exported, loaded into a "
                   "fresh device; hostile records refused with the reason, nothing changed",
                test_vblk_checkpoint);
    CU_add_test(s, "a read-only image as a copy-on-write disk", test_image);
    CU_add_test(s, "the VM's disk for its checkpoint monitor: written-flags, who may, bounds; "
                   "virtio writes flag their chunks", test_vm_disk);
}
