/*
 * tests/unit/test_vmm_dev_state.c - the VMM's device-state records for the
 * checkpoint monitor (vmm-server/dev_state.c): saved and loaded back into
 * fresh models they give the same behaviour (the PIT's next IRQ0 as far
 * away as it was, the PIC's pending vector, the UART's registers); a
 * record of another version or size, of a device the VM lacks, or holding
 * a value no model can (a bool of 2, a PIC initialization step 5, a PIT
 * mode 6 or count above 2^16, a FIFO index past the FIFO) is refused and
 * changes nothing.
 */
#include "unit.h"
#include "dev_state.h"
#include <stackcfg.h>
#include <stddef.h>
#include <string.h>

#define ALL (SC_DEV_PIC | SC_DEV_PIT | SC_DEV_UART)
#define T0  1000000000ull           /* the clock at the save (ns) */
#define T1  7000000000ull           /* ... at the load, in another boot */

typedef struct {
    pic_t pic;
    uint32_t lines;
    pit_t pit;
    uart16550_t uart;
    dev_models_t d;
} models_t;

static void fresh(models_t *m, uint32_t devices)
{
    memset(m, 0, sizeof *m);
    pic_init(&m->pic);
    pit_init(&m->pit);
    uart16550_init(&m->uart);
    m->d = (dev_models_t){ devices, &m->pic, &m->lines, &m->pit, &m->uart };
}

static void outp(models_t *m, uint16_t port, uint8_t v, uint64_t now)
{
    if (!pic_io(&m->pic, port, false, &v))
        pit_io(&m->pit, port, false, &v, now);
}

/* A guest's setup: PIC at vector 0x20, IRQ 0 unmasked, PIT at 1 kHz. */
static void program(models_t *m)
{
    const uint8_t pic[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 4 }, { 0x21, 1 },
                               { 0x21, 0xFE } };
    for (unsigned i = 0; i < 5; i++)
        outp(m, pic[i][0], pic[i][1], T0);
    outp(m, 0x43, 0x34, T0);
    outp(m, 0x40, 0xA9, T0);            /* 1193 = 0x4A9: ~1 kHz */
    outp(m, 0x40, 0x04, T0);
    m->lines = 1;
    pic_set_irq(&m->pic, 0, true);      /* one request pending */
    m->uart.ier = 0x05;
    m->uart.scr = 0x5A;
}

/* Save every record of @src, load them into @dst. */
static unsigned copy(models_t *src, models_t *dst, uint64_t t_save, uint64_t t_load)
{
    static uint8_t data[CKPT_DEV_MAX_BYTES];
    ckpt_dev_record_t rec;
    unsigned k = 0;
    for (; dev_state_save(&src->d, k, &rec, data, t_save); k++)
        CU_ASSERT_EQUAL(dev_state_load(&dst->d, &rec, data, t_load), 0);
    return k;
}

static void test_round_trip(void)
{
    static models_t a, b;
    fresh(&a, ALL);
    fresh(&b, ALL);
    program(&a);
    const uint64_t due = pit_next_irq0_ns(&a.pit);
    CU_ASSERT_NOT_EQUAL_FATAL(due, UINT64_MAX);
    CU_ASSERT_EQUAL(copy(&a, &b, T0, T1), 3);
    /* The PIT's next edge is as far from the load as it was from the save. */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&b.pit), due - T0 + T1);
    CU_ASSERT_FALSE(pit_irq0_due(&b.pit, T1));
    CU_ASSERT_TRUE(pit_irq0_due(&b.pit, due - T0 + T1 + 1));
    CU_ASSERT_EQUAL(pic_pending_vector(&b.pic), 0x20);
    CU_ASSERT_EQUAL(b.lines, 1);
    CU_ASSERT_EQUAL(b.uart.scr, 0x5A);
    CU_ASSERT_EQUAL(b.uart.ier, 0x05);
}

/* Only the devices the VM has are saved; a record of another is refused. */
static void test_devices_of_the_vm(void)
{
    static models_t a, b;
    static uint8_t data[CKPT_DEV_MAX_BYTES];
    ckpt_dev_record_t rec;
    fresh(&a, SC_DEV_PIT);
    CU_ASSERT_TRUE(dev_state_save(&a.d, 0, &rec, data, T0));
    CU_ASSERT_EQUAL(rec.id, CKPT_DEV_PIT);
    CU_ASSERT_FALSE(dev_state_save(&a.d, 1, &rec, data, T0));
    fresh(&b, SC_DEV_PIC);
    CU_ASSERT_EQUAL(dev_state_load(&b.d, &rec, data, T1), CKPT_DEV_E_UNKNOWN);
    rec.id = 99;
    CU_ASSERT_EQUAL(dev_state_load(&a.d, &rec, data, T1), CKPT_DEV_E_UNKNOWN);
}

/* Record @id of a programmed VM, changed by @poke, loaded into fresh
 * models: the error; the models must be unchanged when refused. */
static unsigned load_poked(uint32_t id, size_t off, uint8_t value, uint32_t version_delta,
                           uint32_t bytes_delta)
{
    static models_t a, b, before;
    static uint8_t data[CKPT_DEV_MAX_BYTES];
    ckpt_dev_record_t rec;
    fresh(&a, ALL);
    program(&a);
    unsigned k = 0;
    while (dev_state_save(&a.d, k, &rec, data, T0) && rec.id != id)
        k++;
    CU_ASSERT_EQUAL_FATAL(rec.id, id);
    data[off] = value;
    rec.version += version_delta;
    rec.bytes += bytes_delta;
    fresh(&b, ALL);
    before = b;
    unsigned e = dev_state_load(&b.d, &rec, data, T1);
    if (e) {
        CU_ASSERT_EQUAL(memcmp(&b.pic, &before.pic, sizeof b.pic), 0);
        CU_ASSERT_EQUAL(memcmp(&b.pit, &before.pit, sizeof b.pit), 0);
        CU_ASSERT_EQUAL(memcmp(&b.uart, &before.uart, sizeof b.uart), 0);
        CU_ASSERT_EQUAL(b.lines, before.lines);
    }
    return e;
}

static void test_hostile_records_refused(void)
{
    const size_t chip1 = offsetof(pic_t, chip) + sizeof(pic_chip_t);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIC, 0, 0, 1, 0), CKPT_DEV_E_VERSION);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIT, 0, 0, 0, 8), CKPT_DEV_E_VERSION);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIC, offsetof(pic_chip_t, poll), 2, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIC, chip1 + offsetof(pic_chip_t, init_step), 5, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIC, offsetof(pic_chip_t, lowest), 8, 0, 0),
                    CKPT_DEV_E_INVALID);
    const size_t ch2 = offsetof(pit_t, ch) + 2 * sizeof(pit_channel_t);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIT, ch2 + offsetof(pit_channel_t, mode), 6, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIT, offsetof(pit_channel_t, counting), 0xFF, 0, 0),
                    CKPT_DEV_E_INVALID);
    /* reload = 0x00FF0000: above 2^16 */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIT, offsetof(pit_channel_t, reload) + 2, 0xFF, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_UART, offsetof(uart16550_t, rx_head), 16, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_UART, offsetof(uart16550_t, thre_pending), 3, 0, 0),
                    CKPT_DEV_E_INVALID);
    /* The same pokes with valid values load. */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIC, offsetof(pic_chip_t, lowest), 3, 0, 0), 0);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_UART, offsetof(uart16550_t, rx_head), 15, 0, 0), 0);
}

UNIT_SUITE(vmm_dev_state_suite)
{
    CU_pSuite s = CU_add_suite("vmm device state records", NULL, NULL);
    CU_add_test(s, "PIC, PIT, UART saved and loaded behave the same", test_round_trip);
    CU_add_test(s, "only the VM's devices have records", test_devices_of_the_vm);
    CU_add_test(s, "hostile records are refused, nothing changes", test_hostile_records_refused);
}
