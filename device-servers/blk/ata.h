/*
 * device-servers/blk/ata.h - a PIO driver for one ATA disk (the primary
 * channel's master, ports 0x1F0-0x1F7 and 0x3F6, as the emulators attach
 * a disk image: Bochs ata0-master, QEMU -drive if=ide,index=0).
 *
 * Cited: ATA/ATAPI-6, T13/1410D ("ATA-6" below). The pure
 * parts (command building, IDENTIFY DEVICE data) are separate from the
 * port I/O, which goes through ata_io_t so the unit tests drive the same
 * protocol against a model disk (tests/unit/test_blk.c).
 *
 * Polling, not IRQ 14: every transfer here is programmed I/O, so the CPU
 * moves each word anyway, and the server serves one request at a time
 * while its caller (a client, or the VMM during a guest's kick) waits in
 * its call. An interrupt would only replace the short busy-wait on BSY;
 * it would cost a notification round trip per sector block and an IRQ
 * grant. So nIEN is set (ATA-6 7.8 Device Control register: the device
 * asserts no INTRQ) and the status register is polled, with a bound.
 */
#ifndef BLK_ATA_H
#define BLK_ATA_H
#include <stdbool.h>
#include <stdint.h>

/* The legacy primary channel: the PC/AT compatible addresses. */
#define ATA_PRIMARY_BASE     0x1F0u     /* command block: base + 0..7 */
#define ATA_PRIMARY_CTL      0x3F6u     /* control block: Device Control (w) / Alternate Status (r) */

/* Command block registers, offsets from the base (ATA-6 clause 7, the
 * register descriptions, 7.4-7.15). */
#define ATA_REG_DATA         0          /* 16 bits */
#define ATA_REG_ERROR        1          /* read */
#define ATA_REG_FEATURES     1          /* write */
#define ATA_REG_COUNT        2          /* Sector Count */
#define ATA_REG_LBA_LOW      3
#define ATA_REG_LBA_MID      4
#define ATA_REG_LBA_HIGH     5
#define ATA_REG_DEVICE       6
#define ATA_REG_STATUS       7          /* read */
#define ATA_REG_COMMAND      7          /* write */
#define ATA_REGS             8

/* Status register bits (ATA-6 7.15). */
#define ATA_SR_ERR           0x01u
#define ATA_SR_DRQ           0x08u
#define ATA_SR_DF            0x20u      /* device fault */
#define ATA_SR_DRDY          0x40u
#define ATA_SR_BSY           0x80u
/* A status of all ones: nothing drives the bus (no device). */
#define ATA_SR_FLOATING      0xFFu

/* Device Control register bits (ATA-6 7.8). */
#define ATA_DC_NIEN          0x02u      /* no INTRQ */
#define ATA_DC_SRST          0x04u      /* software reset */
#define ATA_DC_HOB           0x80u      /* read the previous (high order) 48-bit bytes */

/* Device register (ATA-6 7.7): bit 6 LBA, bit 4 DEV (0 master), bits 7
 * and 5 obsolete (set, as older devices expect), bits 3-0 LBA 27:24 in
 * 28-bit commands. */
#define ATA_DEV_OBSOLETE     0xA0u
#define ATA_DEV_LBA          0x40u
#define ATA_DEV_SLAVE        0x10u
#define ATA_DEV_LBA28_HIGH   0x0Fu

/* Command codes (ATA-6 clause 8, the commands' descriptions). */
#define ATA_CMD_READ_SECTORS       0x20u   /* 8.34 READ SECTOR(S) */
#define ATA_CMD_READ_SECTORS_EXT   0x24u   /* 8.35 READ SECTOR(S) EXT */
#define ATA_CMD_WRITE_SECTORS      0x30u   /* 8.62 WRITE SECTOR(S) */
#define ATA_CMD_WRITE_SECTORS_EXT  0x34u   /* 8.63 WRITE SECTOR(S) EXT */
#define ATA_CMD_FLUSH_CACHE        0xE7u   /* 8.12 FLUSH CACHE */
#define ATA_CMD_FLUSH_CACHE_EXT    0xEAu   /* 8.13 FLUSH CACHE EXT */
#define ATA_CMD_IDENTIFY           0xECu   /* 8.15 IDENTIFY DEVICE */

#define ATA_SECTOR_SIZE      512u
#define ATA_SECTOR_WORDS     256u
#define ATA_IDENTIFY_WORDS   256u
/* Sectors one command moves: a Sector Count of 0 means 256 (28-bit) or
 * 65536 (48-bit); we move at most 256 per command either way. */
#define ATA_MAX_PER_CMD      256u
#define ATA_LBA28_LIMIT      (1ull << 28)  /* 28-bit commands address sectors below this */
#define ATA_LBA48_LIMIT      (1ull << 48)
/* Status polls before a command is declared stuck. */
#define ATA_POLL_MAX         1000000u

/* IDENTIFY DEVICE words (ATA-6 8.15, the table of its data). */
#define ATA_ID_CONFIG        0          /* bit 15: 0 = ATA device */
#define ATA_ID_CONFIG_ATAPI  0x8000u
#define ATA_ID_DWORD_IO      48         /* bit 0: the data port moves 32 bits an access (ATA-1
                                           X3.221-1994 word 48 "can perform doubleword I/O";
                                           reserved since ATA-2, still set by the controllers
                                           the emulators model, and each port access is an IPC
                                           invocation here: half as many per sector) */
#define ATA_ID_DWORD_IO_YES  0x0001u
#define ATA_ID_MODEL         27         /* words 27-46: 40 ASCII characters */
#define ATA_ID_MODEL_WORDS   20
#define ATA_ID_CAPS          49         /* bit 9: LBA supported */
#define ATA_ID_CAPS_LBA      0x0200u
#define ATA_ID_LBA28_SECTORS 60         /* words 60-61: user addressable sectors (28-bit) */
#define ATA_ID_CMDSET2       83         /* bit 10: 48-bit address feature set; bit 13: FLUSH CACHE EXT;
                                           bits 15:14 = 01b: the word is valid */
#define ATA_ID_CMDSET2_LBA48 0x0400u
#define ATA_ID_CMDSET2_FLUSH_EXT 0x2000u
#define ATA_ID_CMDSET2_FLUSH 0x1000u    /* bit 12: FLUSH CACHE */
#define ATA_ID_VALID_MASK    0xC000u
#define ATA_ID_VALID         0x4000u
#define ATA_ID_CMDSET2_ON    86         /* bit 10: 48-bit addressing enabled */
#define ATA_ID_LBA48_SECTORS 100        /* words 100-103: maximum user LBA for 48-bit + 1 */

/* One command's register values (the taskfile), as ata_build_rw makes
 * them: the 48-bit commands write Sector Count and the LBA registers
 * twice, the previous (high order) byte first (ATA-6 clause 6, the 48-bit
 * Address feature set). */
typedef struct {
    uint8_t count_hi, lba_low_hi, lba_mid_hi, lba_high_hi;   /* 48-bit only */
    uint8_t count, lba_low, lba_mid, lba_high;
    uint8_t device, command;
    bool lba48;
} ata_taskfile_t;

typedef enum {
    ATA_OK = 0,
    ATA_ERR_NO_DEVICE,        /* the status floats (no drive answers) */
    ATA_ERR_TIMEOUT,          /* BSY or DRQ never settled within ATA_POLL_MAX polls */
    ATA_ERR_DEVICE,           /* the device set ERR or DF (its Error register kept) */
    ATA_ERR_ATAPI,            /* IDENTIFY: a packet device (a CD), not a disk */
    ATA_ERR_NO_LBA,           /* IDENTIFY: no LBA (CHS only) */
    ATA_ERR_NO_SECTORS,       /* IDENTIFY: capacity 0 */
    ATA_ERR_BAD_GEOMETRY,     /* IDENTIFY: a 48-bit capacity beyond 2^48, or
                                 48-bit claimed without being enabled */
    ATA_ERR_RANGE,            /* a request beyond the disk or the address size */
    ATA_ERR_COUNT_BAD,        /* a request of 0 or more than ATA_MAX_PER_CMD sectors */
    ATA_ERR_COUNT
} ata_err_t;

const char *ata_strerror(ata_err_t e);

/* What IDENTIFY DEVICE says of the disk. */
typedef struct {
    uint64_t sectors;         /* user addressable sectors */
    bool lba48;               /* 48-bit addressing: use the EXT commands */
    bool flush, flush_ext;    /* FLUSH CACHE (EXT) supported */
    bool dword_io;            /* 32-bit data port accesses (word 48) */
    char model[2 * ATA_ID_MODEL_WORDS + 1];   /* trailing blanks cut */
} ata_info_t;

/* Read @id (IDENTIFY DEVICE data, 256 words as the device sent them) into
 * @out. Refuses a packet device, a disk without LBA, a capacity of 0 and
 * inconsistent 48-bit words. */
ata_err_t ata_parse_identify(const uint16_t id[ATA_IDENTIFY_WORDS], ata_info_t *out);

/* The taskfile of a READ/WRITE SECTOR(S) (EXT) of @count sectors at @lba
 * (1..ATA_MAX_PER_CMD) on the master: EXT commands when @lba48, and then
 * only below 2^48; else 28-bit, below 2^28. */
ata_err_t ata_build_rw(bool write, bool lba48, uint64_t lba, unsigned count, ata_taskfile_t *tf);

/* The port I/O, the caller's (IPC invocations in the server, a model in the tests). */
typedef struct {
    uint8_t (*in8)(void *ctx, uint16_t port);
    void (*out8)(void *ctx, uint16_t port, uint8_t value);
    uint16_t (*in16)(void *ctx, uint16_t port);
    void (*out16)(void *ctx, uint16_t port, uint16_t value);
    /* 32-bit data port accesses; NULL: 16-bit only (used only when the
     * disk says it takes them, ATA_ID_DWORD_IO). */
    uint32_t (*in32)(void *ctx, uint16_t port);
    void (*out32)(void *ctx, uint16_t port, uint32_t value);
    void *ctx;
    /* Optional: one whole sector through the data port in one go (a string
     * instruction where the caller may use the port directly), 32 bits an
     * access when @dwords, else 16; NULL: access by access through the
     * above. The bytes are the same either way (little-endian words). */
    void (*in_sector)(void *ctx, uint16_t port, uint8_t *buf, bool dwords);
    void (*out_sector)(void *ctx, uint16_t port, const uint8_t *buf, bool dwords);
} ata_io_t;

typedef struct {
    ata_io_t io;
    uint16_t base, ctl;
    ata_info_t info;
    uint8_t last_status, last_error;   /* after an ATA_ERR_DEVICE / _TIMEOUT */
    uint64_t commands, sectors_read, sectors_written;
} ata_t;

/* Find and identify the master of the channel at @base/@ctl (interrupts
 * off, nIEN); fills dev->info. */
ata_err_t ata_probe(ata_t *dev, const ata_io_t *io, uint16_t base, uint16_t ctl);

/* Move @count sectors (any number) at @lba between the disk and @buf
 * (count * 512 bytes), in commands of at most ATA_MAX_PER_CMD sectors.
 * The range is checked against the disk first. */
ata_err_t ata_read(ata_t *dev, uint64_t lba, uint64_t count, uint8_t *buf);
ata_err_t ata_write(ata_t *dev, uint64_t lba, uint64_t count, const uint8_t *buf);
/* Flush the disk's write cache (FLUSH CACHE (EXT)); ATA_OK if it has none. */
ata_err_t ata_flush(ata_t *dev);

#endif
