/*
 * device-servers/blk/ata.c - PIO ATA for the block server (ata.h).
 * Cited: ATA/ATAPI-6, T13/1410D ("ATA-6").
 */
#include "ata.h"

/* The packet device signature a device puts in LBA Mid/High when it
 * aborts IDENTIFY DEVICE (ATA-6 9.12 signature and persistence). */
#define ATA_SIG_ATAPI_MID    0x14u
#define ATA_SIG_ATAPI_HIGH   0xEBu
/* Alternate Status reads that make ATA-6's 400 ns wait after a command or
 * a device selection (each port read takes far longer than 100 ns). */
#define ATA_SETTLE_READS     4

const char *ata_strerror(ata_err_t e)
{
    static const char *const names[ATA_ERR_COUNT] = {
        [ATA_OK] = "ok",
        [ATA_ERR_NO_DEVICE] = "no device answers (the status register floats)",
        [ATA_ERR_TIMEOUT] = "the device stayed busy",
        [ATA_ERR_DEVICE] = "the device reported an error",
        [ATA_ERR_ATAPI] = "a packet (ATAPI) device, not a disk",
        [ATA_ERR_NO_LBA] = "the disk has no LBA addressing (CHS only)",
        [ATA_ERR_NO_SECTORS] = "the disk reports 0 sectors",
        [ATA_ERR_BAD_GEOMETRY] = "the disk's 48-bit capacity words are inconsistent",
        [ATA_ERR_RANGE] = "sectors beyond the disk or its address size",
        [ATA_ERR_COUNT_BAD] = "a sector count of 0 or above 256 in one command",
    };
    return (unsigned)e < ATA_ERR_COUNT && names[e] ? names[e] : "unknown ATA error";
}

static uint32_t words32(const uint16_t *w)
{
    return (uint32_t)w[0] | (uint32_t)w[1] << 16;
}

ata_err_t ata_parse_identify(const uint16_t id[ATA_IDENTIFY_WORDS], ata_info_t *out)
{
    *out = (ata_info_t){ 0 };
    /* ATA-6 8.15, word 0 bit 15: 0 for an ATA device. */
    if (id[ATA_ID_CONFIG] & ATA_ID_CONFIG_ATAPI)
        return ATA_ERR_ATAPI;
    /* Word 49 bit 9: LBA supported (ATA-6 makes it mandatory; refuse a
     * device without it rather than do CHS). */
    if (!(id[ATA_ID_CAPS] & ATA_ID_CAPS_LBA))
        return ATA_ERR_NO_LBA;
    /* Word 83 holds feature bits only when bits 15:14 are 01b. */
    uint16_t cmdset2 = id[ATA_ID_CMDSET2];
    bool valid83 = (cmdset2 & ATA_ID_VALID_MASK) == ATA_ID_VALID;
    out->lba48 = valid83 && (cmdset2 & ATA_ID_CMDSET2_LBA48);
    out->flush_ext = out->lba48 && (cmdset2 & ATA_ID_CMDSET2_FLUSH_EXT);
    out->flush = valid83 && (cmdset2 & ATA_ID_CMDSET2_FLUSH);
    out->dword_io = id[ATA_ID_DWORD_IO] == ATA_ID_DWORD_IO_YES;
    if (out->lba48) {
        /* Words 100-103: the highest 48-bit LBA + 1; word 86 bit 10 says
         * the feature set is enabled (it must be to be used: the 48-bit Address
         * feature set, ATA-6 clause 6). */
        uint64_t n = (uint64_t)words32(&id[ATA_ID_LBA48_SECTORS]) |
                     (uint64_t)words32(&id[ATA_ID_LBA48_SECTORS + 2]) << 32;
        if (n > ATA_LBA48_LIMIT || !(id[ATA_ID_CMDSET2_ON] & ATA_ID_CMDSET2_LBA48))
            return ATA_ERR_BAD_GEOMETRY;
        out->sectors = n;
    } else {
        /* Words 60-61: sectors addressable by 28-bit commands. */
        out->sectors = words32(&id[ATA_ID_LBA28_SECTORS]);
        if (out->sectors > ATA_LBA28_LIMIT)
            return ATA_ERR_BAD_GEOMETRY;
    }
    if (out->sectors == 0)
        return ATA_ERR_NO_SECTORS;
    /* Words 27-46: the model, two characters a word, the first in the
     * high byte (ATA-6 8.15: the ATA string convention). */
    unsigned n = 0;
    for (unsigned w = 0; w < ATA_ID_MODEL_WORDS; w++) {
        uint16_t v = id[ATA_ID_MODEL + w];
        char hi = (char)(v >> 8), lo = (char)(v & 0xFF);
        out->model[n++] = hi >= 0x20 && hi < 0x7F ? hi : '?';
        out->model[n++] = lo >= 0x20 && lo < 0x7F ? lo : '?';
    }
    while (n && out->model[n - 1] == ' ')
        n--;
    out->model[n] = '\0';
    return ATA_OK;
}

ata_err_t ata_build_rw(bool write, bool lba48, uint64_t lba, unsigned count, ata_taskfile_t *tf)
{
    *tf = (ata_taskfile_t){ 0 };
    if (count == 0 || count > ATA_MAX_PER_CMD)
        return ATA_ERR_COUNT_BAD;
    uint64_t limit = lba48 ? ATA_LBA48_LIMIT : ATA_LBA28_LIMIT;
    if (lba >= limit || count > limit - lba)
        return ATA_ERR_RANGE;
    /* Sector Count: 0 means the maximum (ATA-6 8.34.3, 8.35.3); here 256. */
    unsigned c = count == ATA_MAX_PER_CMD && !lba48 ? 0 : count;
    tf->count = (uint8_t)c;
    tf->lba_low = (uint8_t)lba;
    tf->lba_mid = (uint8_t)(lba >> 8);
    tf->lba_high = (uint8_t)(lba >> 16);
    tf->lba48 = lba48;
    if (lba48) {
        /* 48-bit Address feature set (ATA-6 clause 6; 8.35.3): the
         * previous contents hold bits 15:8 of the count
         * and LBA 47:24; the Device register's LBA bits are unused. */
        tf->count_hi = (uint8_t)(c >> 8);
        tf->lba_low_hi = (uint8_t)(lba >> 24);
        tf->lba_mid_hi = (uint8_t)(lba >> 32);
        tf->lba_high_hi = (uint8_t)(lba >> 40);
        tf->device = ATA_DEV_OBSOLETE | ATA_DEV_LBA;
        tf->command = write ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_READ_SECTORS_EXT;
    } else {
        /* ATA-6 8.34.3: LBA 27:24 in the Device register's low nibble. */
        tf->device = ATA_DEV_OBSOLETE | ATA_DEV_LBA | ((uint8_t)(lba >> 24) & ATA_DEV_LBA28_HIGH);
        tf->command = write ? ATA_CMD_WRITE_SECTORS : ATA_CMD_READ_SECTORS;
    }
    return ATA_OK;
}

/* ---- port I/O ---- */

static uint8_t in8(ata_t *d, unsigned reg) { return d->io.in8(d->io.ctx, (uint16_t)(d->base + reg)); }
static void out8(ata_t *d, unsigned reg, uint8_t v) { d->io.out8(d->io.ctx, (uint16_t)(d->base + reg), v); }

/* ATA-6 9.3 (bus idle) and 9.5/9.6 (PIO data-in/out): the host waits 400 ns
 * after writing the Command or Device register before it trusts BSY;
 * reading Alternate Status acknowledges nothing, so it is the delay. */
static void settle(ata_t *d)
{
    for (unsigned i = 0; i < ATA_SETTLE_READS; i++)
        (void)d->io.in8(d->io.ctx, d->ctl);
}

/* Poll Status until BSY is clear, then: ERR or DF -> ATA_ERR_DEVICE (the
 * Error register kept); @want_drq and DRQ clear -> ATA_ERR_DEVICE too (the
 * device ended the command early). */
static ata_err_t wait_ready(ata_t *d, bool want_drq)
{
    for (uint32_t i = 0; i < ATA_POLL_MAX; i++) {
        uint8_t st = in8(d, ATA_REG_STATUS);
        d->last_status = st;
        if (st == ATA_SR_FLOATING)
            return ATA_ERR_NO_DEVICE;
        if (st & ATA_SR_BSY)
            continue;
        if (st & (ATA_SR_ERR | ATA_SR_DF)) {
            d->last_error = in8(d, ATA_REG_ERROR);
            return ATA_ERR_DEVICE;
        }
        if (want_drq && !(st & ATA_SR_DRQ)) {
            d->last_error = 0;
            return ATA_ERR_DEVICE;
        }
        return ATA_OK;
    }
    return ATA_ERR_TIMEOUT;
}

/* ATA-6 9.3, bus idle protocol (device selection): wait for BSY and DRQ
 * clear, write the Device register, wait 400 ns, wait for them again. */
static ata_err_t select_dev(ata_t *d, uint8_t device)
{
    for (uint32_t i = 0;; i++) {
        uint8_t st = in8(d, ATA_REG_STATUS);
        if (st == ATA_SR_FLOATING)
            return ATA_ERR_NO_DEVICE;
        if (!(st & (ATA_SR_BSY | ATA_SR_DRQ)))
            break;
        if (i == ATA_POLL_MAX)
            return ATA_ERR_TIMEOUT;
    }
    out8(d, ATA_REG_DEVICE, device);
    settle(d);
    /* An ERR still set is the previous command's: not this selection's. */
    ata_err_t e = wait_ready(d, false);
    return e == ATA_ERR_DEVICE ? ATA_OK : e;
}

static void write_taskfile(ata_t *d, const ata_taskfile_t *tf)
{
    if (tf->lba48) {
        /* 48-bit Address feature set: each register written twice, previous first. */
        out8(d, ATA_REG_COUNT, tf->count_hi);
        out8(d, ATA_REG_LBA_LOW, tf->lba_low_hi);
        out8(d, ATA_REG_LBA_MID, tf->lba_mid_hi);
        out8(d, ATA_REG_LBA_HIGH, tf->lba_high_hi);
    }
    out8(d, ATA_REG_COUNT, tf->count);
    out8(d, ATA_REG_LBA_LOW, tf->lba_low);
    out8(d, ATA_REG_LBA_MID, tf->lba_mid);
    out8(d, ATA_REG_LBA_HIGH, tf->lba_high);
    out8(d, ATA_REG_COMMAND, tf->command);
    d->commands++;
    settle(d);
}

static void read_words(ata_t *d, uint16_t *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        w[i] = d->io.in16(d->io.ctx, (uint16_t)(d->base + ATA_REG_DATA));
}

ata_err_t ata_probe(ata_t *d, const ata_io_t *io, uint16_t base, uint16_t ctl)
{
    *d = (ata_t){ .io = *io, .base = base, .ctl = ctl };
    /* Interrupts off: this driver polls (ata.h). */
    d->io.out8(d->io.ctx, ctl, ATA_DC_NIEN);
    ata_err_t e = select_dev(d, ATA_DEV_OBSOLETE);
    if (e != ATA_OK)
        return e;
    /* ATA-6 8.15 IDENTIFY DEVICE, PIO data-in (9.5): one block of 256 words. */
    out8(d, ATA_REG_COUNT, 0);
    out8(d, ATA_REG_LBA_LOW, 0);
    out8(d, ATA_REG_LBA_MID, 0);
    out8(d, ATA_REG_LBA_HIGH, 0);
    out8(d, ATA_REG_COMMAND, ATA_CMD_IDENTIFY);
    d->commands++;
    settle(d);
    if (in8(d, ATA_REG_STATUS) == 0)
        return ATA_ERR_NO_DEVICE;       /* nothing there to set any bit */
    e = wait_ready(d, true);
    if (e == ATA_ERR_DEVICE && in8(d, ATA_REG_LBA_MID) == ATA_SIG_ATAPI_MID &&
        in8(d, ATA_REG_LBA_HIGH) == ATA_SIG_ATAPI_HIGH)
        return ATA_ERR_ATAPI;
    if (e != ATA_OK)
        return e;
    uint16_t id[ATA_IDENTIFY_WORDS];
    read_words(d, id, ATA_IDENTIFY_WORDS);
    return ata_parse_identify(id, &d->info);
}

/* One sector through the data port, little-endian: 16 bits an access ... */
static void move_words(ata_t *d, bool write, uint16_t port, uint8_t *buf)
{
    for (unsigned w = 0; w < ATA_SECTOR_WORDS; w++, buf += 2) {
        if (write) {
            d->io.out16(d->io.ctx, port, (uint16_t)(buf[0] | buf[1] << 8));
        } else {
            uint16_t v = d->io.in16(d->io.ctx, port);
            buf[0] = (uint8_t)v;
            buf[1] = (uint8_t)(v >> 8);
        }
    }
}

/* ... or 32 (ATA_ID_DWORD_IO). */
static void move_dwords(ata_t *d, bool write, uint16_t port, uint8_t *buf)
{
    for (unsigned w = 0; w < ATA_SECTOR_WORDS / 2; w++, buf += 4) {
        if (write) {
            d->io.out32(d->io.ctx, port, (uint32_t)buf[0] | (uint32_t)buf[1] << 8 |
                                         (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24);
        } else {
            uint32_t v = d->io.in32(d->io.ctx, port);
            buf[0] = (uint8_t)v;
            buf[1] = (uint8_t)(v >> 8);
            buf[2] = (uint8_t)(v >> 16);
            buf[3] = (uint8_t)(v >> 24);
        }
    }
}

/* One command of PIO data-in (ATA-6 9.5) or data-out (9.6). */
static ata_err_t rw_cmd(ata_t *d, bool write, uint64_t lba, unsigned count, uint8_t *buf)
{
    ata_taskfile_t tf;
    ata_err_t e = ata_build_rw(write, d->info.lba48, lba, count, &tf);
    if (e != ATA_OK)
        return e;
    if ((e = select_dev(d, tf.device)) != ATA_OK)
        return e;
    write_taskfile(d, &tf);
    const bool dw = d->info.dword_io && d->io.in32 && d->io.out32;
    const uint16_t port = (uint16_t)(d->base + ATA_REG_DATA);
    for (unsigned s = 0; s < count; s++, buf += ATA_SECTOR_SIZE) {
        /* Each DRQ block is one sector (no READ/WRITE MULTIPLE). */
        if ((e = wait_ready(d, true)) != ATA_OK)
            return e;
        if (write && d->io.out_sector)
            d->io.out_sector(d->io.ctx, port, buf, dw);
        else if (!write && d->io.in_sector)
            d->io.in_sector(d->io.ctx, port, buf, dw);
        else if (dw)
            move_dwords(d, write, port, buf);
        else
            move_words(d, write, port, buf);
        if (write)
            d->sectors_written++;
        else
            d->sectors_read++;
    }
    /* 9.6: after the last block of a write the device is busy until the
     * data is taken; its final status says whether it was. */
    settle(d);
    return wait_ready(d, false);
}

static ata_err_t rw(ata_t *d, bool write, uint64_t lba, uint64_t count, uint8_t *buf)
{
    if (lba > d->info.sectors || count > d->info.sectors - lba)
        return ATA_ERR_RANGE;
    while (count) {
        unsigned n = count > ATA_MAX_PER_CMD ? ATA_MAX_PER_CMD : (unsigned)count;
        ata_err_t e = rw_cmd(d, write, lba, n, buf);
        if (e != ATA_OK)
            return e;
        lba += n;
        count -= n;
        buf += (uint64_t)n * ATA_SECTOR_SIZE;
    }
    return ATA_OK;
}

ata_err_t ata_read(ata_t *d, uint64_t lba, uint64_t count, uint8_t *buf)
{
    return rw(d, false, lba, count, buf);
}

ata_err_t ata_write(ata_t *d, uint64_t lba, uint64_t count, const uint8_t *buf)
{
    return rw(d, true, lba, count, (uint8_t *)buf);   /* only read from when writing */
}

ata_err_t ata_flush(ata_t *d)
{
    /* ATA-6 8.12/8.13 FLUSH CACHE (EXT): the non-data protocol (9.4). */
    if (!d->info.flush && !d->info.flush_ext)
        return ATA_OK;
    ata_err_t e = select_dev(d, ATA_DEV_OBSOLETE | ATA_DEV_LBA);
    if (e != ATA_OK)
        return e;
    out8(d, ATA_REG_COMMAND, d->info.flush_ext ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE);
    d->commands++;
    settle(d);
    return wait_ready(d, false);
}
