/*
 * virtio/include/virtio_abi.h - the numbers of the virtio interface, one
 * definition each, from OASIS "Virtual I/O Device (VIRTIO) Version 1.2"
 * (cited as "Virtio 1.2 N.N"). Only constants and the split-ring layout:
 * the code that uses them is in virtio/ (virtq.h, virtio_mmio.h).
 *
 * Every multi-byte field the driver and device share is little-endian
 * (Virtio 1.2 1.4 "Structure Specifications"); x86 is little-endian, so the
 * code reads them as plain integers.
 */
#ifndef VIRTIO_ABI_H
#define VIRTIO_ABI_H
#include <stdint.h>

/* ---- Device status field (Virtio 1.2 2.1) ---- */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01u   /* the guest found the device */
#define VIRTIO_STATUS_DRIVER             0x02u   /* the guest knows how to drive it */
#define VIRTIO_STATUS_DRIVER_OK          0x04u   /* the driver is ready: the device is live */
#define VIRTIO_STATUS_FEATURES_OK        0x08u   /* feature negotiation is complete */
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40u   /* the device hit an error it cannot recover */
#define VIRTIO_STATUS_FAILED             0x80u   /* the driver gave up on the device */
/* 2.1: the bits a driver sets (DEVICE_NEEDS_RESET is the device's). */
#define VIRTIO_STATUS_DRIVER_BITS                                                      \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |    \
     VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

/* ---- Feature bits (Virtio 1.2 2.2: bit numbers) ---- */
/* Allocation: 0-23 and 50-127 device type, 24-40 queue and negotiation
 * extensions, 41-49 and 128 up reserved for the future. */
#define VIRTIO_F_DEVICE_FIRST_END        24      /* device-type bits 0..23 */
#define VIRTIO_F_TRANSPORT_FIRST         24      /* transport bits 24..40 */
#define VIRTIO_F_TRANSPORT_LAST          40
#define VIRTIO_F_RESERVED_FIRST          41      /* reserved 41..49 */
#define VIRTIO_F_RESERVED_LAST           49
#define VIRTIO_F_DEVICE_SECOND_FIRST     50      /* device-type bits 50..127 */

/* Reserved (device-independent) feature bits (Virtio 1.2 6). */
#define VIRTIO_F_INDIRECT_DESC           28
#define VIRTIO_F_EVENT_IDX               29
#define VIRTIO_F_VERSION_1               32
#define VIRTIO_F_ACCESS_PLATFORM         33
#define VIRTIO_F_RING_PACKED             34
#define VIRTIO_F_IN_ORDER                35
#define VIRTIO_F_ORDER_PLATFORM          36
#define VIRTIO_F_SR_IOV                  37
#define VIRTIO_F_NOTIFICATION_DATA       38
#define VIRTIO_F_NOTIF_CONFIG_DATA       39
#define VIRTIO_F_RING_RESET              40

/* A feature bit number as a mask of a 64-bit feature word pair. */
#define VIRTIO_FEATURE(bit)              (1ull << (bit))

/* ---- Device IDs (Virtio 1.2 5, the device type table) ---- */
#define VIRTIO_ID_RESERVED               0       /* placeholder: drivers ignore it */
#define VIRTIO_ID_NET                    1
#define VIRTIO_ID_BLOCK                  2
#define VIRTIO_ID_CONSOLE                3
#define VIRTIO_ID_ENTROPY                4
#define VIRTIO_ID_BALLOON_LEGACY         5
#define VIRTIO_ID_SCSI                   8
#define VIRTIO_ID_9P                     9
#define VIRTIO_ID_BALLOON                13
#define VIRTIO_ID_GPU                    16
#define VIRTIO_ID_INPUT                  18
#define VIRTIO_ID_VSOCK                  19
#define VIRTIO_ID_CRYPTO                 20
#define VIRTIO_ID_IOMMU                  23
#define VIRTIO_ID_MEM                    24
#define VIRTIO_ID_SOUND                  25
#define VIRTIO_ID_FS                     26
#define VIRTIO_ID_PMEM                   27
#define VIRTIO_ID_I2C                    34
#define VIRTIO_ID_GPIO                   41

/* ---- Split virtqueues (Virtio 1.2 2.7) ---- */
#define VIRTQ_MAX_SIZE                   32768u  /* 2.7: a power of 2, at most 32768 */

/* Descriptor (2.7.5: struct virtq_desc, 16 bytes). */
#define VIRTQ_DESC_SIZE                  16u
#define VIRTQ_DESC_F_NEXT                0x1u    /* the buffer continues at 'next' */
#define VIRTQ_DESC_F_WRITE               0x2u    /* device write-only (else read-only) */
#define VIRTQ_DESC_F_INDIRECT            0x4u    /* the buffer is a table of descriptors */

typedef struct {
    uint64_t addr;              /* le64: guest-physical address */
    uint32_t len;               /* le32 */
    uint16_t flags;             /* le16: VIRTQ_DESC_F_* */
    uint16_t next;              /* le16: next descriptor if F_NEXT */
} virtq_desc_t;
_Static_assert(sizeof(virtq_desc_t) == VIRTQ_DESC_SIZE, "virtq_desc is 16 bytes (2.7.5)");
#define VIRTQ_DESC_ADDR_OFF              0u
#define VIRTQ_DESC_LEN_OFF               8u
#define VIRTQ_DESC_FLAGS_OFF             12u
#define VIRTQ_DESC_NEXT_OFF              14u

/* Available ring (2.7.6: struct virtq_avail): flags, idx, ring[size],
 * used_event (only meaningful with VIRTIO_F_EVENT_IDX). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT       0x1u    /* 2.7.7: no used buffer notifications */
#define VIRTQ_AVAIL_FLAGS_OFF            0u
#define VIRTQ_AVAIL_IDX_OFF              2u
#define VIRTQ_AVAIL_RING_OFF             4u
#define VIRTQ_AVAIL_ENTRY_SIZE           2u

/* Used ring (2.7.8: struct virtq_used): flags, idx, ring[size] of
 * {le32 id, le32 len}, avail_event (only with VIRTIO_F_EVENT_IDX). */
#define VIRTQ_USED_F_NO_NOTIFY           0x1u    /* 2.7.10: no available buffer notifications */
#define VIRTQ_USED_FLAGS_OFF             0u
#define VIRTQ_USED_IDX_OFF               2u
#define VIRTQ_USED_RING_OFF              4u
#define VIRTQ_USED_ELEM_SIZE             8u
#define VIRTQ_USED_ELEM_ID_OFF           0u
#define VIRTQ_USED_ELEM_LEN_OFF          4u

/* Sizes and alignments of the three parts (2.7, the table; 2.7.1: the
 * driver MUST align each part's first byte). The sizes include the event
 * fields whether or not EVENT_IDX is negotiated. */
#define VIRTQ_DESC_TABLE_SIZE(qs)        (VIRTQ_DESC_SIZE * (uint64_t)(qs))
#define VIRTQ_AVAIL_SIZE(qs)             ((uint64_t)6 + VIRTQ_AVAIL_ENTRY_SIZE * (uint64_t)(qs))
#define VIRTQ_USED_SIZE(qs)              ((uint64_t)6 + VIRTQ_USED_ELEM_SIZE * (uint64_t)(qs))
#define VIRTQ_DESC_ALIGN                 16u
#define VIRTQ_AVAIL_ALIGN                2u
#define VIRTQ_USED_ALIGN                 4u

/* 2.7.5.2: a chain is at most 2^32 bytes in total. */
#define VIRTQ_MAX_CHAIN_BYTES            (1ull << 32)

/* ---- Virtio over MMIO (Virtio 1.2 4.2) ---- */
#define VIRTIO_MMIO_MAGIC                0x74726976u   /* "virt", little-endian */
#define VIRTIO_MMIO_VERSION_2            2u            /* 1 was the legacy interface */

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE          0x000u  /* R */
#define VIRTIO_MMIO_VERSION              0x004u  /* R */
#define VIRTIO_MMIO_DEVICE_ID            0x008u  /* R */
#define VIRTIO_MMIO_VENDOR_ID            0x00cu  /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES      0x010u  /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL  0x014u  /* W */
#define VIRTIO_MMIO_DRIVER_FEATURES      0x020u  /* W */
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL  0x024u  /* W */
#define VIRTIO_MMIO_QUEUE_SEL            0x030u  /* W */
#define VIRTIO_MMIO_QUEUE_NUM_MAX        0x034u  /* R */
#define VIRTIO_MMIO_QUEUE_NUM            0x038u  /* W */
#define VIRTIO_MMIO_QUEUE_READY          0x044u  /* RW */
#define VIRTIO_MMIO_QUEUE_NOTIFY         0x050u  /* W */
#define VIRTIO_MMIO_INTERRUPT_STATUS     0x060u  /* R */
#define VIRTIO_MMIO_INTERRUPT_ACK        0x064u  /* W */
#define VIRTIO_MMIO_STATUS               0x070u  /* RW */
#define VIRTIO_MMIO_QUEUE_DESC_LOW       0x080u  /* W */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH      0x084u  /* W */
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW     0x090u  /* W */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH    0x094u  /* W */
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW     0x0a0u  /* W */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH    0x0a4u  /* W */
#define VIRTIO_MMIO_SHM_SEL              0x0acu  /* W */
#define VIRTIO_MMIO_SHM_LEN_LOW          0x0b0u  /* R */
#define VIRTIO_MMIO_SHM_LEN_HIGH         0x0b4u  /* R */
#define VIRTIO_MMIO_SHM_BASE_LOW         0x0b8u  /* R */
#define VIRTIO_MMIO_SHM_BASE_HIGH        0x0bcu  /* R */
#define VIRTIO_MMIO_QUEUE_RESET          0x0c0u  /* RW, with VIRTIO_F_RING_RESET */
#define VIRTIO_MMIO_CONFIG_GENERATION    0x0fcu  /* R */
#define VIRTIO_MMIO_CONFIG               0x100u  /* device-specific configuration space */

#define VIRTIO_MMIO_REG_SIZE             4u      /* 4.2.2.2: 32-bit wide, aligned accesses */
#define VIRTIO_MMIO_SHM_NONE             0xffffffffu   /* 4.2.2: a missing region reads -1 */

/* InterruptStatus / InterruptACK bits (4.2.2). */
#define VIRTIO_MMIO_INT_VRING            0x1u    /* used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG           0x2u    /* configuration change notification */
#define VIRTIO_MMIO_INT_ALL              (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)

/* QueueNotify with VIRTIO_F_NOTIFICATION_DATA (4.2.2, 2.9): the queue
 * index is the low 16 bits either way. */
#define VIRTIO_MMIO_NOTIFY_QUEUE_MASK    0xffffu

#endif
