/*
 * tests/unit/test_virtio_mmio.c - the virtio-mmio register file
 * (virtio/mmio.c) driven as a guest driver drives it (Virtio 1.2 3.1.1,
 * 4.2.3): identity registers, feature negotiation, status rules, access
 * widths, queue setup through the registers, notifications both ways,
 * interrupts, the configuration space, queue reset, and a malformed ring
 * putting the device in DEVICE_NEEDS_RESET.
 */
#include "unit.h"
#include "virtio_driver.h"
#include <virtio_mmio.h>
#include <virtio_shadow.h>
#include <string.h>

#define VENDOR      0x4e657374u          /* "Nest" */
#define NQUEUES     3                    /* queue 1 is absent */
#define CFG_SIZE    12                   /* bytes 8-11 are writable */
#define CFG_RW_OFF  8
#define DESC_GPA    0x1000ull
#define AVAIL_GPA   0x2000ull
#define USED_GPA    0x3000ull
#define BUF_GPA     0x8000ull
#define DEV_FEATURE_0 (1ull << 0)        /* a device-type feature bit */
#define DEV_FEATURE_5 (1ull << 5)        /* one that needs DEV_FEATURE_0 */
#define OFFERED     (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) | \
                     VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) |                                   \
                     VIRTIO_FEATURE(VIRTIO_F_RING_RESET) | DEV_FEATURE_0 | DEV_FEATURE_5)

static fram_t R;
static virtio_mmio_dev_t DEV;
static virtio_mmio_queue_t QS[NQUEUES];
static virtio_mmio_effect_t EFF;
static uint8_t cfg_space[CFG_SIZE];

static bool cfg_read(void *ctx, uint32_t off, unsigned size, uint32_t *value)
{
    (void)ctx;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)cfg_space[off + i] << (8 * i);
    *value = v;
    return true;
}

static bool cfg_write(void *ctx, uint32_t off, unsigned size, uint32_t value)
{
    (void)ctx;
    if (off < CFG_RW_OFF)
        return false;
    for (unsigned i = 0; i < size; i++)
        cfg_space[off + i] = (uint8_t)(value >> (8 * i));
    return true;
}

/* 2.2.1: DEV_FEATURE_5 requires DEV_FEATURE_0. */
static bool features_ok(void *ctx, uint64_t f)
{
    (void)ctx;
    return !(f & DEV_FEATURE_5) || (f & DEV_FEATURE_0);
}

static const virtio_mmio_ops_t OPS = { .config_read = cfg_read, .config_write = cfg_write,
                                       .features_ok = features_ok };

static void fresh(uint64_t features)
{
    fram_free(&R);
    fram_init(&R);
    memset(QS, 0, sizeof QS);
    QS[0].num_max = 8;
    QS[2].num_max = 16;
    for (unsigned i = 0; i < CFG_SIZE; i++)
        cfg_space[i] = (uint8_t)(0xa0 + i);
    CU_ASSERT_EQUAL_FATAL(virtio_mmio_init(&DEV, VIRTIO_ID_BLOCK, VENDOR, features, QS, NQUEUES,
                                           CFG_SIZE, &OPS, NULL, &R.ram), VIRTIO_MMIO_INIT_OK);
}

static int cleanup(void)
{
    fram_free(&R);
    R = (fram_t){ 0 };
    return 0;
}

static uint32_t rd(uint32_t off)
{
    uint32_t v = 0xdeadbeef;
    CU_ASSERT_EQUAL(virtio_mmio_read(&DEV, off, 4, &v, &EFF), VIRTIO_MMIO_OK);
    return v;
}

static virtio_mmio_err_t wr(uint32_t off, uint32_t v)
{
    return virtio_mmio_write(&DEV, off, 4, v, &EFF);
}

static void wr_ok(uint32_t off, uint32_t v)
{
    CU_ASSERT_EQUAL(wr(off, v), VIRTIO_MMIO_OK);
}

/* The read must be refused with @err and give 0. */
static void rd_refused(uint32_t off, unsigned size, virtio_mmio_err_t err)
{
    uint32_t v = 0xdeadbeef;
    CU_ASSERT_EQUAL(virtio_mmio_read(&DEV, off, size, &v, &EFF), err);
    CU_ASSERT_EQUAL(v, 0);
}

static void write_features(uint64_t f)
{
    wr_ok(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr_ok(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
    wr_ok(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr_ok(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* 3.1.1 steps 1-6. */
static void negotiate(uint64_t f)
{
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    wr_ok(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr_ok(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    write_features(f);
    wr_ok(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                  VIRTIO_STATUS_FEATURES_OK);
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

static void driver_ok(void)
{
    wr_ok(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
    CU_ASSERT_TRUE(EFF.flags & VIRTIO_MMIO_EFF_DRIVER_OK);
}

/* 4.2.3.2: a queue's registers, then QueueReady. */
static virtio_mmio_err_t setup_queue(uint32_t sel, uint32_t num, uint64_t desc, uint64_t avail,
                                     uint64_t used)
{
    wr_ok(VIRTIO_MMIO_QUEUE_SEL, sel);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr_ok(VIRTIO_MMIO_QUEUE_NUM, num);
    wr_ok(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr_ok(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr_ok(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr_ok(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr_ok(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr_ok(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    return wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* A live device with queue 0 on the model driver's ring @d. */
static void live(vdrv_t *d, uint64_t f)
{
    fresh(OFFERED);
    negotiate(f);
    vdrv_init(d, &R, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    CU_ASSERT_EQUAL(setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_OK);
    driver_ok();
}

/* ---- tests ---- */

static void test_init_refusals(void)
{
    fresh(OFFERED);
    virtio_mmio_dev_t d;
    uint64_t v1 = VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, 0, QS, NQUEUES, 0, NULL, NULL, &R.ram),
                    VIRTIO_MMIO_INIT_NO_VERSION_1);
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_RESERVED, 0, v1, QS, NQUEUES, 0, NULL, NULL,
                                     &R.ram), VIRTIO_MMIO_INIT_DEVICE_ID);
    uint64_t bad[] = { VIRTIO_FEATURE(VIRTIO_F_RING_PACKED), VIRTIO_FEATURE(VIRTIO_F_IN_ORDER),
                       VIRTIO_FEATURE(VIRTIO_F_ACCESS_PLATFORM), VIRTIO_FEATURE(45),
                       VIRTIO_FEATURE(24) };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, v1 | bad[i], QS, NQUEUES, 0, NULL,
                                         NULL, &R.ram), VIRTIO_MMIO_INIT_UNSUPPORTED_FEATURE);
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, v1 | VIRTIO_FEATURE(63) |
                                     VIRTIO_FEATURE(50) | VIRTIO_FEATURE(23), QS, NQUEUES, 0,
                                     NULL, NULL, &R.ram), VIRTIO_MMIO_INIT_OK);
    QS[2].num_max = 12;
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, v1, QS, NQUEUES, 0, NULL, NULL, &R.ram),
                    VIRTIO_MMIO_INIT_QUEUE_MAX);
    QS[2].num_max = 16;
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, v1, QS, NQUEUES, 4, NULL, NULL, &R.ram),
                    VIRTIO_MMIO_INIT_NO_OPS);
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, v1, QS, NQUEUES, UINT32_MAX, &OPS,
                                     NULL, &R.ram), VIRTIO_MMIO_INIT_CONFIG_SIZE);
    virtio_ram_window_t w = { .gpa = 0, .size = 0, .host = R.a };
    virtio_ram_t empty = { .windows = &w, .count = 1 };
    CU_ASSERT_EQUAL(virtio_mmio_init(&d, VIRTIO_ID_NET, 0, v1, QS, NQUEUES, 0, NULL, NULL, &empty),
                    VIRTIO_MMIO_INIT_RAM);
    CU_ASSERT_STRING_NOT_EQUAL(virtio_mmio_init_strerror(VIRTIO_MMIO_INIT_RAM),
                               "unknown virtio-mmio init error");
}

static void test_identity_and_access_rules(void)
{
    fresh(OFFERED);
    /* 4.2.2.1 */
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_VERSION), VIRTIO_MMIO_VERSION_2);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_VENDOR_ID), VENDOR);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), 0);
    /* 4.2.2.2: 32-bit aligned accesses only to control registers */
    rd_refused(VIRTIO_MMIO_MAGIC_VALUE, 1, VIRTIO_MMIO_ERR_WIDTH);
    rd_refused(VIRTIO_MMIO_MAGIC_VALUE, 2, VIRTIO_MMIO_ERR_WIDTH);
    rd_refused(VIRTIO_MMIO_MAGIC_VALUE, 8, VIRTIO_MMIO_ERR_WIDTH);
    rd_refused(VIRTIO_MMIO_VERSION + 2, 4, VIRTIO_MMIO_ERR_ALIGN);
    CU_ASSERT_EQUAL(virtio_mmio_write(&DEV, VIRTIO_MMIO_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE,
                                      &EFF), VIRTIO_MMIO_ERR_WIDTH);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), 0);
    /* directions */
    rd_refused(VIRTIO_MMIO_QUEUE_NOTIFY, 4, VIRTIO_MMIO_ERR_WRITE_ONLY);
    rd_refused(VIRTIO_MMIO_DRIVER_FEATURES, 4, VIRTIO_MMIO_ERR_WRITE_ONLY);
    rd_refused(VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, VIRTIO_MMIO_ERR_WRITE_ONLY);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_MAGIC_VALUE, 0), VIRTIO_MMIO_ERR_READ_ONLY);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_INTERRUPT_STATUS, 1), VIRTIO_MMIO_ERR_READ_ONLY);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_CONFIG_GENERATION, 1), VIRTIO_MMIO_ERR_READ_ONLY);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    /* holes and the legacy registers (GuestPageSize, QueueAlign, QueuePFN) */
    rd_refused(0x0a8, 4, VIRTIO_MMIO_ERR_NO_REGISTER);
    rd_refused(0x028, 4, VIRTIO_MMIO_ERR_NO_REGISTER);
    CU_ASSERT_EQUAL(wr(0x040, 1), VIRTIO_MMIO_ERR_NO_REGISTER);
    CU_ASSERT_EQUAL(wr(0x0f8, 1), VIRTIO_MMIO_ERR_NO_REGISTER);
    /* no shared memory regions: length and base -1 (4.2.2) */
    wr_ok(VIRTIO_MMIO_SHM_SEL, 3);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_SHM_LEN_LOW), VIRTIO_MMIO_SHM_NONE);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_SHM_BASE_HIGH), VIRTIO_MMIO_SHM_NONE);
    CU_ASSERT_STRING_NOT_EQUAL(virtio_mmio_strerror(VIRTIO_MMIO_ERR_NO_REGISTER),
                               "unknown virtio-mmio error");
}

static void test_features(void)
{
    fresh(OFFERED);
    wr_ok(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
    wr_ok(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(OFFERED >> 32));
    wr_ok(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);

    uint32_t pre = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    uint64_t v1 = VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
    /* 2.2.2: FEATURES_OK stays clear for a subset the device refuses */
    struct { uint64_t f; bool extra; } refused[] = {
        { 0, false },                                   /* no VERSION_1 (6.2) */
        { VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), false },  /* again */
        { v1 | VIRTIO_FEATURE(VIRTIO_F_NOTIFICATION_DATA), false },   /* not offered */
        { v1 | (1ull << 7), false },                    /* not offered */
        { v1 | DEV_FEATURE_5, false },                  /* the device's dependency */
        { v1, true },                                   /* a bit beyond 64 */
    };
    for (unsigned i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        wr_ok(VIRTIO_MMIO_STATUS, 0);
        wr_ok(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
        wr_ok(VIRTIO_MMIO_STATUS, pre);
        write_features(refused[i].f);
        if (refused[i].extra) {
            wr_ok(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
            wr_ok(VIRTIO_MMIO_DRIVER_FEATURES, 1);
        }
        CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, pre | VIRTIO_STATUS_FEATURES_OK),
                        VIRTIO_MMIO_ERR_FEATURES_REFUSED);
        CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), pre);           /* 3.1.1 step 6 sees it */
    }
    /* accepted, then locked (3.1.1 step 5) */
    negotiate(v1 | DEV_FEATURE_5 | DEV_FEATURE_0 | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX));
    CU_ASSERT_EQUAL(DEV.driver_features,
                    v1 | DEV_FEATURE_5 | DEV_FEATURE_0 | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX));
    wr_ok(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_DRIVER_FEATURES, 0), VIRTIO_MMIO_ERR_FEATURES_LOCKED);
    CU_ASSERT_TRUE(DEV.driver_features & DEV_FEATURE_0);
    /* a reset forgets them (2.2: the only way to renegotiate) */
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    CU_ASSERT_EQUAL(DEV.driver_features, 0);
    CU_ASSERT_TRUE(EFF.flags & VIRTIO_MMIO_EFF_RESET);
}

static void test_status_rules(void)
{
    fresh(OFFERED);
    uint32_t ack = VIRTIO_STATUS_ACKNOWLEDGE, drv = VIRTIO_STATUS_DRIVER;
    /* 3.1.1: the order of the bits */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, drv), VIRTIO_MMIO_ERR_STATUS_ORDER);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), 0);
    wr_ok(VIRTIO_MMIO_STATUS, ack);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, ack | VIRTIO_STATUS_FEATURES_OK),
                    VIRTIO_MMIO_ERR_STATUS_ORDER);
    wr_ok(VIRTIO_MMIO_STATUS, ack | drv);
    write_features(VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, ack | drv | VIRTIO_STATUS_DRIVER_OK),
                    VIRTIO_MMIO_ERR_STATUS_ORDER);
    /* FEATURES_OK refused in the same write as DRIVER_OK: nothing changes */
    write_features(0);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, ack | drv | VIRTIO_STATUS_FEATURES_OK |
                                               VIRTIO_STATUS_DRIVER_OK),
                    VIRTIO_MMIO_ERR_FEATURES_REFUSED);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), ack | drv);
    /* 2.1.1: the driver never clears a bit */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, ack), VIRTIO_MMIO_ERR_STATUS_CLEARED);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), ack | drv);
    /* undefined bits; DEVICE_NEEDS_RESET is not the driver's to set */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_STATUS, ack | drv | 0x10), VIRTIO_MMIO_ERR_BAD_VALUE);
    wr_ok(VIRTIO_MMIO_STATUS, ack | drv | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), ack | drv);
    /* FAILED any time; the device is then not live */
    wr_ok(VIRTIO_MMIO_STATUS, ack | drv | VIRTIO_STATUS_FAILED);
    CU_ASSERT_FALSE(virtio_mmio_live(&DEV));
    /* 0 resets (4.2.2) */
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), 0);
}

static void test_queue_setup(void)
{
    fresh(OFFERED);
    /* QueueNumMax per QueueSel; an absent queue reads 0 (4.2.2) */
    wr_ok(VIRTIO_MMIO_QUEUE_SEL, 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 8);
    wr_ok(VIRTIO_MMIO_QUEUE_SEL, 1);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_NUM, 4), VIRTIO_MMIO_ERR_NO_QUEUE);
    wr_ok(VIRTIO_MMIO_QUEUE_SEL, 2);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
    wr_ok(VIRTIO_MMIO_QUEUE_SEL, 99);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_READY, 1), VIRTIO_MMIO_ERR_NO_QUEUE);
    /* 3.1.1: queues after FEATURES_OK */
    CU_ASSERT_EQUAL(setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_ERR_QUEUE_EARLY);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    /* bad values: above QueueNumMax (4.2.2.2), not a power of 2 (2.7),
     * misaligned, outside RAM: refused, and the device needs a reset */
    struct { uint32_t num; uint64_t desc, avail, used; virtq_err_t why; } bad[] = {
        { 16, DESC_GPA, AVAIL_GPA, USED_GPA, VIRTQ_ERR_BAD_SIZE },
        { 6, DESC_GPA, AVAIL_GPA, USED_GPA, VIRTQ_ERR_BAD_SIZE },
        { 0, DESC_GPA, AVAIL_GPA, USED_GPA, VIRTQ_ERR_BAD_SIZE },
        { 8, DESC_GPA + 4, AVAIL_GPA, USED_GPA, VIRTQ_ERR_MISALIGNED },
        { 8, DESC_GPA, AVAIL_GPA, FRAM_GAP_GPA, VIRTQ_ERR_RING_OUTSIDE_RAM },
        { 8, DESC_GPA, 1ull << 40, USED_GPA, VIRTQ_ERR_RING_OUTSIDE_RAM },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
        CU_ASSERT_EQUAL(setup_queue(0, bad[i].num, bad[i].desc, bad[i].avail, bad[i].used),
                        VIRTIO_MMIO_ERR_QUEUE_SETUP);
        CU_ASSERT_EQUAL(EFF.queue_err, bad[i].why);
        CU_ASSERT_TRUE(EFF.flags & VIRTIO_MMIO_EFF_NEEDS_RESET);
        CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
        CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    }
    /* a good one; its registers are then frozen (4.2.2.2) */
    negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX));
    CU_ASSERT_EQUAL(setup_queue(0, 4, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    CU_ASSERT_EQUAL(QS[0].vq.size, 4);
    CU_ASSERT_TRUE(QS[0].vq.event_idx);
    CU_ASSERT_FALSE(QS[0].vq.indirect);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_NUM, 8), VIRTIO_MMIO_ERR_QUEUE_LIVE);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0), VIRTIO_MMIO_ERR_QUEUE_LIVE);
    CU_ASSERT_EQUAL(QS[0].vq.size, 4);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_READY, 2), VIRTIO_MMIO_ERR_BAD_VALUE);
    /* not usable before DRIVER_OK (2.1.2) */
    CU_ASSERT_PTR_NULL(virtio_mmio_queue(&DEV, 0));
    driver_ok();
    CU_ASSERT_PTR_EQUAL(virtio_mmio_queue(&DEV, 0), &QS[0].vq);
    /* 0 stops it (4.2.2.2) */
    wr_ok(VIRTIO_MMIO_QUEUE_READY, 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    CU_ASSERT_PTR_NULL(virtio_mmio_queue(&DEV, 0));
    /* a reset clears QueueReady of every queue (4.2.2.1) */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_READY, 1), VIRTIO_MMIO_OK);
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    wr_ok(VIRTIO_MMIO_QUEUE_SEL, 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    CU_ASSERT_FALSE(QS[0].vq.ready);
}

/* The whole path: driver offers, notifies; the server pops, pushes; the
 * interrupt comes and is acknowledged. */
static void test_notify_and_interrupt(void)
{
    vdrv_t d;
    fresh(OFFERED);
    negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    vdrv_init(&d, &R, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    CU_ASSERT_EQUAL(setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_OK);
    /* 3.1.1: no notifications before DRIVER_OK */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0), VIRTIO_MMIO_ERR_NOT_LIVE);
    CU_ASSERT_FALSE(EFF.flags & VIRTIO_MMIO_EFF_NOTIFY);
    driver_ok();
    vdrv_desc(&d, 2, BUF_GPA, 64, VIRTQ_DESC_F_NEXT, 3);
    vdrv_desc(&d, 3, BUF_GPA + 64, 16, VIRTQ_DESC_F_WRITE, 0);
    vdrv_offer(&d, 2);
    wr_ok(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CU_ASSERT_EQUAL(EFF.flags, VIRTIO_MMIO_EFF_NOTIFY);
    CU_ASSERT_EQUAL(EFF.queue, 0);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_NOTIFY, 2), VIRTIO_MMIO_ERR_NO_QUEUE);   /* not ready */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000), VIRTIO_MMIO_ERR_NO_QUEUE);

    virtq_seg_t segs[4];
    virtq_chain_t c;
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(c.head, 2);
    CU_ASSERT_EQUAL(c.nsegs, 2);
    CU_ASSERT_EQUAL(EFF.flags, 0);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_EMPTY);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 2, segs, 4, &c, &EFF), VIRTQ_ERR_NOT_READY);
    CU_ASSERT_FALSE(virtio_mmio_irq(&DEV));
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, 2, 16, &EFF), VIRTQ_OK);
    /* 4.2.2: bit 0 of InterruptStatus, the line up */
    CU_ASSERT_TRUE(EFF.flags & VIRTIO_MMIO_EFF_IRQ);
    CU_ASSERT_TRUE(virtio_mmio_irq(&DEV));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    CU_ASSERT_EQUAL(vdrv_used_idx(&d), 1);
    /* 4.2.2.2: undefined ACK bits are refused, the defined ones still done */
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_INTERRUPT_ACK, 0x4 | VIRTIO_MMIO_INT_VRING),
                    VIRTIO_MMIO_ERR_INT_ACK_BITS);
    CU_ASSERT_TRUE(EFF.flags & VIRTIO_MMIO_EFF_IRQ);
    CU_ASSERT_FALSE(virtio_mmio_irq(&DEV));
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    /* with NO_INTERRUPT no used buffer notification (2.7.7.2) */
    vdrv_set_avail_flags(&d, VIRTQ_AVAIL_F_NO_INTERRUPT);
    vdrv_offer(&d, 2);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, 2, 0, &EFF), VIRTQ_OK);
    CU_ASSERT_FALSE(virtio_mmio_irq(&DEV));
    /* a reset drops the line and everything */
    vdrv_set_avail_flags(&d, 0);
    vdrv_offer(&d, 2);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, 2, 0, &EFF), VIRTQ_OK);
    CU_ASSERT_TRUE(virtio_mmio_irq(&DEV));
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    CU_ASSERT_EQUAL(EFF.flags, VIRTIO_MMIO_EFF_RESET | VIRTIO_MMIO_EFF_IRQ);
    CU_ASSERT_FALSE(virtio_mmio_irq(&DEV));
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, 2, 0, &EFF), VIRTQ_ERR_NOT_READY);
}

static void test_notification_data(void)
{
    vdrv_t d;
    fresh(OFFERED | VIRTIO_FEATURE(VIRTIO_F_NOTIFICATION_DATA));
    negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_NOTIFICATION_DATA));
    vdrv_init(&d, &R, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    CU_ASSERT_EQUAL(setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_OK);
    driver_ok();
    /* 2.9: vqn in bits 0-15, next_off/next_wrap above */
    wr_ok(VIRTIO_MMIO_QUEUE_NOTIFY, 0x80050000u);
    CU_ASSERT_EQUAL(EFF.flags, VIRTIO_MMIO_EFF_NOTIFY);
    CU_ASSERT_EQUAL(EFF.queue, 0);
    CU_ASSERT_EQUAL(EFF.notify_data, 0x8005);
}

/* A malformed ring: DEVICE_NEEDS_RESET, a configuration change
 * notification (2.1.2), the queue unusable, until the driver resets. */
static void test_needs_reset(void)
{
    vdrv_t d;
    live(&d, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
    vdrv_desc(&d, 0, BUF_GPA, 0, VIRTQ_DESC_F_NEXT, 0);        /* a loop */
    vdrv_offer(&d, 0);
    virtq_seg_t segs[4];
    virtq_chain_t c;
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_ERR_CHAIN_TOO_LONG);
    CU_ASSERT_EQUAL(EFF.flags, VIRTIO_MMIO_EFF_NEEDS_RESET | VIRTIO_MMIO_EFF_IRQ);
    CU_ASSERT_EQUAL(EFF.queue_err, VIRTQ_ERR_CHAIN_TOO_LONG);
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
    CU_ASSERT_FALSE(virtio_mmio_live(&DEV));
    CU_ASSERT_PTR_NULL(virtio_mmio_queue(&DEV, 0));
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_ERR_NOT_READY);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0), VIRTIO_MMIO_ERR_NOT_LIVE);
    /* the driver writing status back keeps the device's bit */
    wr_ok(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* a reset and a fresh initialization work again */
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_STATUS), 0);
    negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    vdrv_init(&d, &R, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    CU_ASSERT_EQUAL(setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_OK);
    driver_ok();
    vdrv_desc(&d, 0, BUF_GPA, 4, 0, 0);
    vdrv_offer(&d, 0);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    /* the device's own call, before DRIVER_OK: no notification */
    wr_ok(VIRTIO_MMIO_STATUS, 0);
    virtio_mmio_needs_reset(&DEV, &EFF);
    CU_ASSERT_TRUE(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CU_ASSERT_FALSE(virtio_mmio_irq(&DEV));
}

static void test_config_space(void)
{
    fresh(OFFERED);
    uint32_t v;
    /* 4.2.2.2: byte, aligned 16- and 32-bit accesses; readable at once (2.5.2) */
    CU_ASSERT_EQUAL(virtio_mmio_read(&DEV, VIRTIO_MMIO_CONFIG + 3, 1, &v, &EFF), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(v, 0xa3);
    CU_ASSERT_EQUAL(virtio_mmio_read(&DEV, VIRTIO_MMIO_CONFIG + 2, 2, &v, &EFF), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(v, 0xa3a2);
    CU_ASSERT_EQUAL(virtio_mmio_read(&DEV, VIRTIO_MMIO_CONFIG + 8, 4, &v, &EFF), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(v, 0xabaaa9a8);
    rd_refused(VIRTIO_MMIO_CONFIG + 1, 2, VIRTIO_MMIO_ERR_ALIGN);
    rd_refused(VIRTIO_MMIO_CONFIG + 2, 4, VIRTIO_MMIO_ERR_ALIGN);
    rd_refused(VIRTIO_MMIO_CONFIG, 8, VIRTIO_MMIO_ERR_WIDTH);
    rd_refused(VIRTIO_MMIO_CONFIG, 3, VIRTIO_MMIO_ERR_WIDTH);
    rd_refused(VIRTIO_MMIO_CONFIG + CFG_SIZE, 1, VIRTIO_MMIO_ERR_CONFIG_RANGE);
    rd_refused(VIRTIO_MMIO_CONFIG + 12, 4, VIRTIO_MMIO_ERR_CONFIG_RANGE);
    rd_refused(UINT32_MAX - 3, 4, VIRTIO_MMIO_ERR_CONFIG_RANGE);
    /* 3.1.1 step 4: no writes before FEATURES_OK */
    CU_ASSERT_EQUAL(virtio_mmio_write(&DEV, VIRTIO_MMIO_CONFIG + 8, 1, 0x55, &EFF),
                    VIRTIO_MMIO_ERR_CONFIG_EARLY);
    CU_ASSERT_EQUAL(cfg_space[8], 0xa8);
    negotiate(VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    CU_ASSERT_EQUAL(virtio_mmio_write(&DEV, VIRTIO_MMIO_CONFIG + 8, 1, 0x55, &EFF),
                    VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(cfg_space[8], 0x55);
    CU_ASSERT_EQUAL(virtio_mmio_write(&DEV, VIRTIO_MMIO_CONFIG + 0, 4, 0, &EFF),
                    VIRTIO_MMIO_ERR_CONFIG_REFUSED);
    CU_ASSERT_EQUAL(cfg_space[0], 0xa0);
    /* 4.2.2.1: a change moves the generation; notified only once live */
    uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
    virtio_mmio_config_changed(&DEV, &EFF);
    CU_ASSERT_NOT_EQUAL(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
    CU_ASSERT_FALSE(virtio_mmio_irq(&DEV));
    driver_ok();
    EFF = (virtio_mmio_effect_t){ 0 };
    virtio_mmio_config_changed(&DEV, &EFF);
    CU_ASSERT_TRUE(EFF.flags & VIRTIO_MMIO_EFF_IRQ);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    /* a device without configuration space */
    virtio_mmio_dev_t bare;
    CU_ASSERT_EQUAL(virtio_mmio_init(&bare, VIRTIO_ID_ENTROPY, 0,
                                     VIRTIO_FEATURE(VIRTIO_F_VERSION_1), QS, NQUEUES, 0, NULL,
                                     NULL, &R.ram), VIRTIO_MMIO_INIT_OK);
    CU_ASSERT_EQUAL(virtio_mmio_read(&bare, VIRTIO_MMIO_CONFIG, 1, &v, &EFF),
                    VIRTIO_MMIO_ERR_CONFIG_RANGE);
    CU_ASSERT_EQUAL(virtio_mmio_write(&bare, VIRTIO_MMIO_CONFIG, 1, 0, &EFF),
                    VIRTIO_MMIO_ERR_CONFIG_RANGE);
}

static void test_queue_reset(void)
{
    vdrv_t d;
    /* without VIRTIO_F_RING_RESET the register is refused */
    live(&d, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    rd_refused(VIRTIO_MMIO_QUEUE_RESET, 4, VIRTIO_MMIO_ERR_NOT_NEGOTIATED);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_RESET, 1), VIRTIO_MMIO_ERR_NOT_NEGOTIATED);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    /* with it: the queue is reset at once, QueueReset and QueueReady read 0
     * (4.2.2.1), and the queue can be set up again (2.6.1.2) */
    live(&d, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_RING_RESET));
    vdrv_desc(&d, 0, BUF_GPA, 4, 0, 0);
    vdrv_offer(&d, 0);
    virtq_seg_t segs[2];
    virtq_chain_t c;
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 2, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_RESET), 0);
    wr_ok(VIRTIO_MMIO_QUEUE_RESET, 1);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_RESET), 0);
    CU_ASSERT_EQUAL(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    CU_ASSERT_EQUAL(wr(VIRTIO_MMIO_QUEUE_RESET, 7), VIRTIO_MMIO_ERR_BAD_VALUE);
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, 0, 0, &EFF), VIRTQ_ERR_NOT_READY);
    vdrv_init(&d, &R, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    CU_ASSERT_EQUAL(setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA), VIRTIO_MMIO_OK);
    vdrv_desc(&d, 1, BUF_GPA, 4, 0, 0);
    vdrv_offer(&d, 1);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 2, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(c.head, 1);
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, 1, 0, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(vdrv_used_idx(&d), 1);
}

/* ---- a restarted device: the shadow's replay and virtq_resume ---- */

static virtio_shadow_t SHADOW;

/* A driver write that, when the device accepts it, the shadow keeps (as
 * the VMM keeps what a device server accepted). */
static virtio_mmio_err_t swr(uint32_t off, uint32_t v)
{
    virtio_mmio_err_t e = wr(off, v);
    if (e == VIRTIO_MMIO_OK)
        virtio_shadow_write(&SHADOW, off, v);
    return e;
}

static void test_restart_replay(void)
{
    vdrv_t d;
    virtio_shadow_op_t ops[VIRTIO_SHADOW_OPS_MAX];
    const uint64_t f = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) |
                       DEV_FEATURE_0;
    fresh(OFFERED);
    SHADOW = (virtio_shadow_t){ 0 };
    CU_ASSERT_EQUAL(virtio_shadow_replay(&SHADOW, ops), 0);      /* reset: nothing to do */
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER),
                    VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32)), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                                VIRTIO_STATUS_FEATURES_OK), VIRTIO_MMIO_OK);
    /* Queue 0 live on the model ring; queue 2 given some registers, not
     * made ready. */
    vdrv_init(&d, &R, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    const uint32_t q0[][2] = {
        { VIRTIO_MMIO_QUEUE_SEL, 0 }, { VIRTIO_MMIO_QUEUE_NUM, 8 },
        { VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA }, { VIRTIO_MMIO_QUEUE_DESC_HIGH, 0 },
        { VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA }, { VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0 },
        { VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA }, { VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0 },
        { VIRTIO_MMIO_QUEUE_READY, 1 }, { VIRTIO_MMIO_QUEUE_SEL, 2 },
        { VIRTIO_MMIO_QUEUE_NUM, 3 }, { VIRTIO_MMIO_QUEUE_DESC_LOW, 0x4000 } };
    for (unsigned i = 0; i < sizeof q0 / sizeof q0[0]; i++)
        CU_ASSERT_EQUAL(swr(q0[i][0], q0[i][1]), VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK),
                    VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_QUEUE_SEL, 0), VIRTIO_MMIO_OK);
    /* A refused write is not kept: queue 0 stays of size 8. */
    CU_ASSERT_EQUAL(swr(VIRTIO_MMIO_QUEUE_NUM, 4), VIRTIO_MMIO_ERR_QUEUE_LIVE);
    /* Three chains offered; the old device used one and had taken the
     * second when it died. */
    virtq_seg_t segs[4];
    virtq_chain_t c;
    for (uint16_t h = 1; h <= 3; h++) {
        vdrv_desc(&d, h, BUF_GPA + 64 * h, 64, VIRTQ_DESC_F_WRITE, 0);
        vdrv_offer(&d, h);
    }
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtio_mmio_push(&DEV, 0, c.head, 64, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&DEV, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(c.head, 2);

    /* A fresh device over the same RAM, brought up by the replay alone:
     * every write accepted, the same negotiated state. */
    static virtio_mmio_dev_t dev2;
    static virtio_mmio_queue_t qs2[NQUEUES];
    memset(qs2, 0, sizeof qs2);
    qs2[0].num_max = 8;
    qs2[2].num_max = 16;
    CU_ASSERT_EQUAL_FATAL(virtio_mmio_init(&dev2, VIRTIO_ID_BLOCK, VENDOR, OFFERED, qs2, NQUEUES,
                                           CFG_SIZE, &OPS, NULL, &R.ram), VIRTIO_MMIO_INIT_OK);
    unsigned n = virtio_shadow_replay(&SHADOW, ops);
    CU_ASSERT_TRUE(n > 0 && n <= VIRTIO_SHADOW_OPS_MAX);
    for (unsigned i = 0; i < n; i++)
        CU_ASSERT_EQUAL(virtio_mmio_write(&dev2, ops[i].offset, 4, ops[i].value, &EFF),
                        VIRTIO_MMIO_OK);
    CU_ASSERT_EQUAL(dev2.status, DEV.status);
    CU_ASSERT_EQUAL(dev2.driver_features, f);
    CU_ASSERT_EQUAL(dev2.queue_sel, 0);
    CU_ASSERT_TRUE(virtio_mmio_live(&dev2));
    CU_ASSERT_TRUE(qs2[0].vq.ready && qs2[0].vq.event_idx && qs2[0].vq.size == 8);
    CU_ASSERT_EQUAL(qs2[0].vq.desc_gpa, DESC_GPA);
    CU_ASSERT_FALSE(qs2[2].vq.ready);
    CU_ASSERT_EQUAL(qs2[2].num, 3);
    CU_ASSERT_EQUAL(qs2[2].desc_lo, 0x4000);
    /* The rings: resumed at the used idx, the taken chain offered again,
     * then the third, then nothing; none used twice. */
    CU_ASSERT_EQUAL(virtq_resume(&qs2[0].vq), 2);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&dev2, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(c.head, 2);
    CU_ASSERT_EQUAL(virtio_mmio_push(&dev2, 0, c.head, 64, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&dev2, 0, segs, 4, &c, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(c.head, 3);
    CU_ASSERT_EQUAL(virtio_mmio_push(&dev2, 0, c.head, 64, &EFF), VIRTQ_OK);
    CU_ASSERT_EQUAL(virtio_mmio_pop(&dev2, 0, segs, 4, &c, &EFF), VIRTQ_EMPTY);
    CU_ASSERT_EQUAL(vdrv_used_idx(&d), 3);
    uint32_t id, len;
    vdrv_used_elem(&d, 1, &id, &len);
    CU_ASSERT_EQUAL(id, 2);
    /* A driver that moved the used idx itself is resumed from there: more
     * than the queue size outstanding breaks the queue at the next pop. */
    vdrv_set_avail_idx(&d, 3);
    *(volatile uint16_t *)fram_host(&R, USED_GPA + VIRTQ_USED_IDX_OFF) = 0x8000;
    CU_ASSERT_EQUAL(virtq_resume(&qs2[0].vq), (uint16_t)(3 - 0x8000));
    CU_ASSERT_EQUAL(virtio_mmio_pop(&dev2, 0, segs, 4, &c, &EFF), VIRTQ_ERR_AVAIL_IDX_JUMP);
    CU_ASSERT_TRUE(dev2.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* A reset forgets the shadow; a queue selector beyond it is kept off. */
    virtio_shadow_write(&SHADOW, VIRTIO_MMIO_STATUS, 0);
    CU_ASSERT_EQUAL(virtio_shadow_replay(&SHADOW, ops), 0);
    virtio_shadow_write(&SHADOW, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_SHADOW_QUEUES);
    virtio_shadow_write(&SHADOW, VIRTIO_MMIO_QUEUE_NUM, 8);
    for (unsigned i = 0; i < VIRTIO_SHADOW_QUEUES; i++)
        CU_ASSERT_EQUAL(SHADOW.q[i].num, 0);
}

UNIT_SUITE(virtio_mmio_suite)
{
    CU_pSuite s = CU_add_suite("virtio-mmio transport", NULL, cleanup);
    CU_add_test(s, "init refuses bad device descriptions", test_init_refusals);
    CU_add_test(s, "identity registers, widths, alignment, directions", test_identity_and_access_rules);
    CU_add_test(s, "feature negotiation and FEATURES_OK refusals", test_features);
    CU_add_test(s, "status bits: order, never cleared, reset", test_status_rules);
    CU_add_test(s, "queue setup through the registers", test_queue_setup);
    CU_add_test(s, "notify, pop, push, interrupt, ACK", test_notify_and_interrupt);
    CU_add_test(s, "QueueNotify with VIRTIO_F_NOTIFICATION_DATA", test_notification_data);
    CU_add_test(s, "a malformed ring: DEVICE_NEEDS_RESET until reset", test_needs_reset);
    CU_add_test(s, "configuration space and generation", test_config_space);
    CU_add_test(s, "QueueReset with VIRTIO_F_RING_RESET", test_queue_reset);
    CU_add_test(s, "a restarted device: replayed registers, resumed ring", test_restart_replay);
}
