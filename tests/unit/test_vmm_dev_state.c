/*
 * tests/unit/test_vmm_dev_state.c - the VMM's device-state records for the
 * checkpoint monitor (vmm-server/dev_state.c): saved and loaded back into
 * fresh models they give the same behaviour (the PIT's next IRQ0 and the
 * LAPIC timer's next expiry as far away as they were, the PIC's pending
 * vector, the I/O APIC's entries, the RTC's date as the guest set it, the
 * UART's registers, the guest's TSC and IA32_APIC_BASE); a record of
 * another version or size, of a device the VM lacks, or holding a value no
 * model can (a bool of 2, a PIC initialization step 5, a PIT mode 6 or
 * count above 2^16, a FIFO index past the FIFO, an LVT entry or I/O APIC
 * entry with reserved bits, an RTC index past the CMOS, an 8042 waiting
 * for the data of a command that takes none, CR8 16, an IA32_APIC_BASE in
 * x2APIC mode without EN, a LAPIC whose mode disagrees with it) is refused
 * and changes nothing.
 */
#include "unit.h"
#include "dev_state.h"
#include "cpu_policy.h"
#include <stackcfg.h>
#include <stddef.h>
#include <string.h>

#define ALL (SC_DEV_ALL | DEV_STATE_ACPI_PM)
#define RECORDS_ALL 10              /* every record: the platform, 6 devices, 3 always there */
#define T0  1000000000ull           /* the clock at the save (ns) */
#define T1  7000000000ull           /* ... at the load, in another boot */
#define U0  1767225600ull           /* the RTC's host seconds at the save */
#define U1  1767225607ull           /* ... at the load */
#define MAXPHYADDR 39
#define XCR0_ALLOWED (X86_XCR0_X87 | X86_XCR0_SSE | X86_XCR0_AVX)
#define GUEST_TSC 0x123456789ull

typedef struct {
    pic_t pic;
    uint32_t lines;
    pit_t pit;
    uart16550_t uart;
    rtc_t rtc;
    lapic_t lapic;
    ioapic_t ioapic;
    i8042_t kbc;
    sysctl_t sysctl;
    acpi_pm_t pm;
    uint64_t apic_base, misc_enable, mtrr_def, tsc_adjust, xcr0, cr8;
    dev_models_t d;
} models_t;

static void fresh_at(models_t *m, uint32_t devices, uint64_t unix_now)
{
    memset(m, 0, sizeof *m);
    pic_init(&m->pic);
    pit_init(&m->pit);
    uart16550_init(&m->uart);
    rtc_init(&m->rtc);
    lapic_init(&m->lapic, 0);
    ioapic_init(&m->ioapic, 1);
    i8042_init(&m->kbc);
    sysctl_init(&m->sysctl);
    acpi_pm_init(&m->pm);
    m->apic_base = X86_APIC_BASE_RESET;
    m->misc_enable = MISC_ENABLE_RESET;
    m->xcr0 = X86_XCR0_X87;
    m->d = (dev_models_t){
        .devices = devices, .pic = &m->pic, .irq_lines = &m->lines, .pit = &m->pit,
        .uart = &m->uart, .rtc = &m->rtc, .unix_now = unix_now, .lapic = &m->lapic,
        .ioapic = &m->ioapic, .kbc = &m->kbc, .sysctl = &m->sysctl, .acpi_pm = &m->pm,
        .platform = { .apic_base = &m->apic_base, .misc_enable = &m->misc_enable,
                      .mtrr_def = &m->mtrr_def, .tsc_adjust = &m->tsc_adjust, .xcr0 = &m->xcr0,
                      .cr8 = &m->cr8, .guest_tsc = GUEST_TSC, .maxphyaddr = MAXPHYADDR,
                      .xcr0_allowed = XCR0_ALLOWED },
    };
}

static void fresh(models_t *m, uint32_t devices)
{
    fresh_at(m, devices, U0);
}

static void lapic_w(models_t *m, uint32_t reg, uint32_t v, uint64_t now)
{
    CU_ASSERT_TRUE(lapic_mmio(&m->lapic, reg, true, &v, now));
}

static void rtc_w(models_t *m, uint8_t idx, uint8_t v, uint64_t unix_now)
{
    rtc_io(&m->rtc, RTC_PORT_INDEX, false, &idx, unix_now);
    rtc_io(&m->rtc, RTC_PORT_DATA, false, &v, unix_now);
}

static uint8_t rtc_r(models_t *m, uint8_t idx, uint64_t unix_now)
{
    uint8_t v;
    rtc_io(&m->rtc, RTC_PORT_INDEX, false, &idx, unix_now);
    rtc_io(&m->rtc, RTC_PORT_DATA, true, &v, unix_now);
    return v;
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
    /* The LAPIC software-enabled, its timer periodic at vector 0x31, an
     * I/O APIC entry for the PIT (pin 2, vector 0x30, edge, unmasked),
     * the RTC's minutes set by the guest, a TSC_ADJUST, CR8. */
    lapic_w(m, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, T0);
    lapic_w(m, LAPIC_REG_TIMER_DIVIDE, 0x3, T0);           /* divide by 16 */
    lapic_w(m, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | 0x31, T0);
    lapic_w(m, LAPIC_REG_TIMER_INITIAL, 62500, T0);         /* 1 ms */
    m->ioapic.rte[IOAPIC_PIN_PIT] = 0x30;
    rtc_w(m, RTC_MINUTES, 0x42, U0);
    m->tsc_adjust = 77;
    m->cr8 = 0;
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
    const uint64_t lapic_due = lapic_next_timer_ns(&a.lapic);
    CU_ASSERT_NOT_EQUAL_FATAL(lapic_due, UINT64_MAX);
    const uint8_t minutes = rtc_r(&a, RTC_MINUTES, U0), seconds = rtc_r(&a, RTC_SECONDS, U0);
    b.d.unix_now = U1;
    CU_ASSERT_EQUAL(copy(&a, &b, T0, T1), RECORDS_ALL);
    /* The LAPIC timer's next expiry as far from the load as from the save. */
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&b.lapic), lapic_due - T0 + T1);
    CU_ASSERT_EQUAL(b.ioapic.rte[IOAPIC_PIN_PIT], 0x30);
    /* The guest's clock goes on from where it was, not from the host's. */
    CU_ASSERT_EQUAL(rtc_r(&b, RTC_MINUTES, U1), minutes);
    CU_ASSERT_EQUAL(rtc_r(&b, RTC_SECONDS, U1), seconds);
    CU_ASSERT_EQUAL(b.tsc_adjust, 77);
    CU_ASSERT_EQUAL(b.d.platform.guest_tsc, GUEST_TSC);
    /* The PIT's next edge is as far from the load as it was from the save. */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&b.pit), due - T0 + T1);
    CU_ASSERT_FALSE(pit_irq0_due(&b.pit, T1));
    CU_ASSERT_TRUE(pit_irq0_due(&b.pit, due - T0 + T1 + 1));
    CU_ASSERT_EQUAL(pic_pending_vector(&b.pic), 0x20);
    CU_ASSERT_EQUAL(b.lines, 1);
    CU_ASSERT_EQUAL(b.uart.scr, 0x5A);
    CU_ASSERT_EQUAL(b.uart.ier, 0x05);
}

/* An armed TSC deadline (SDM Vol. 3A 10.5.4.1) is saved and loaded: the
 * MSR reads the same and it comes due as far from the load as it was from
 * the save (the guest's TSC goes on from the save too: the platform record). */
static void test_tsc_deadline_round_trip(void)
{
    static models_t a, b;
    fresh(&a, ALL);
    fresh(&b, ALL);
    lapic_w(&a, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, T0);
    lapic_w(&a, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_TSC_DEADLINE | 0x33, T0);
    lapic_set_tsc_deadline(&a.lapic, GUEST_TSC + 1000000, T0 + 5000, T0);
    CU_ASSERT_EQUAL(copy(&a, &b, T0, T1), RECORDS_ALL);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&b.lapic, T1), GUEST_TSC + 1000000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&b.lapic), T1 + 5000);
    lapic_timer_update(&b.lapic, T1 + 4999);
    CU_ASSERT_EQUAL(lapic_pending_vector(&b.lapic), -1);
    lapic_timer_update(&b.lapic, T1 + 5000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&b.lapic), 0x33);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&b.lapic, T1 + 5000), 0);
}

/* Only the devices the VM has are saved; a record of another is refused. */
static void test_devices_of_the_vm(void)
{
    static models_t a, b;
    static uint8_t data[CKPT_DEV_MAX_BYTES];
    ckpt_dev_record_t rec;
    fresh(&a, SC_DEV_PIT);
    CU_ASSERT_TRUE(dev_state_save(&a.d, 0, &rec, data, T0));
    CU_ASSERT_EQUAL(rec.id, CKPT_DEV_PLATFORM);
    CU_ASSERT_TRUE(dev_state_save(&a.d, 1, &rec, data, T0));
    CU_ASSERT_EQUAL(rec.id, CKPT_DEV_PIT);
    /* then the 8042 and ports 92h/CF9h, which every VM has */
    CU_ASSERT_TRUE(dev_state_save(&a.d, 3, &rec, data, T0));
    CU_ASSERT_EQUAL(rec.id, CKPT_DEV_SYSCTL);
    CU_ASSERT_FALSE(dev_state_save(&a.d, 4, &rec, data, T0));
    CU_ASSERT_TRUE(dev_state_save(&a.d, 1, &rec, data, T0));
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
        CU_ASSERT_EQUAL(memcmp(&b.lapic, &before.lapic, sizeof b.lapic), 0);
        CU_ASSERT_EQUAL(memcmp(&b.ioapic, &before.ioapic, sizeof b.ioapic), 0);
        CU_ASSERT_EQUAL(memcmp(&b.rtc, &before.rtc, sizeof b.rtc), 0);
        CU_ASSERT_EQUAL(memcmp(&b.kbc, &before.kbc, sizeof b.kbc), 0);
        CU_ASSERT_EQUAL(b.apic_base, before.apic_base);
        CU_ASSERT_EQUAL(b.cr8, before.cr8);
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
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, timer_running), 2, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, lvt) + 2, 0x06, 0, 0),
                    CKPT_DEV_E_INVALID);    /* LVT timer mode 11b: reserved */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, lvt) + 2, 0x08, 0, 0),
                    CKPT_DEV_E_INVALID);    /* LVT timer bit 19: reserved */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, lvt) + 6, 0x04, 0, 0),
                    CKPT_DEV_E_INVALID);    /* bit 18 of another LVT entry (thermal) */
    /* TSC-deadline mode, armed at the periodic count's next tick: valid. */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, lvt) + 2, 0x04, 0, 0), 0);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, eoi_level_vector) + 1, 1, 0, 0),
                    CKPT_DEV_E_INVALID);    /* vector 256 and more */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, offsetof(lapic_t, x2apic), 1, 0, 0),
                    CKPT_DEV_E_INVALID);    /* x2APIC mode, IA32_APIC_BASE in xAPIC mode */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_LAPIC, 0, 0, 0, 4), CKPT_DEV_E_VERSION);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_IOAPIC, offsetof(ioapic_t, rte) + 2, 0x04, 0, 0),
                    CKPT_DEV_E_INVALID);    /* bit 18: reserved (82093AA 3.2.4) */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_IOAPIC, offsetof(ioapic_t, input) + 5, 7, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_RTC, offsetof(rtc_t, index), 0x80, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_I8042, offsetof(i8042_t, pending), 0xAA, 0, 0),
                    CKPT_DEV_E_INVALID);    /* self-test takes no data byte */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_SYSCTL, offsetof(sysctl_t, port_a), 0x80, 0, 0),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_ACPI_PM, offsetof(acpi_pm_t, cnt), 0x01, 0, 0),
                    CKPT_DEV_E_INVALID);    /* SCI_EN is read-only, never stored */
    /* The platform record: u64 fields apic_base, misc_enable, mtrr_def,
     * tsc_adjust, xcr0, cr8, guest_tsc. */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PLATFORM, 5 * 8, 16, 0, 0), CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PLATFORM, 1, 0x04, 0, 0),   /* EXTD, EN cleared */
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PLATFORM, 8 + 2, 0x01, 0, 0), /* MISC_ENABLE bit 16 */
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PLATFORM, 4 * 8, 0x02, 0, 0), /* XCR0 without x87 */
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PLATFORM, 0, 0, 2, 0), CKPT_DEV_E_VERSION);
    /* The same pokes with valid values load. */
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PLATFORM, 5 * 8, 15, 0, 0), 0);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_I8042, offsetof(i8042_t, pending), 0xD1, 0, 0), 0);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_RTC, offsetof(rtc_t, index), 0x7F, 0, 0), 0);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_PIC, offsetof(pic_chip_t, lowest), 3, 0, 0), 0);
    CU_ASSERT_EQUAL(load_poked(CKPT_DEV_UART, offsetof(uart16550_t, rx_head), 15, 0, 0), 0);
}

/* A device server's record (CKPT_DEV_VIRTIO): the VMM's side of its
 * checks, each refusal with its error and reason; the server's part is
 * the server's to check (tests/unit/test_blk.c). */
static uint32_t out_version;       /* the server part's version virtio_poked read */
static unsigned virtio_poked(size_t off, uint8_t value, uint32_t instance, uint32_t version,
                             uint32_t bytes, const char **why)
{
    static dev_virtio_state_t v, out;
    memset(&v, 0, sizeof v);
    v.shadow.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
    v.shadow.q[0] = (virtio_shadow_queue_t){ .num = 8, .desc_lo = 0x1000, .driver_lo = 0x2000,
                                             .device_lo = 0x3000, .ready = true };
    v.level = 1;
    v.server.version = DS_STATE_VERSION;
    v.server.interrupt_status = VIRTIO_MMIO_INT_VRING;
    uint8_t data[sizeof v];
    memcpy(data, &v, sizeof v);
    if (off < sizeof v)
        data[off] = value;
    const ckpt_dev_record_t rec = { .id = CKPT_DEV_VIRTIO, .version = version, .bytes = bytes,
                                    .instance = instance };
    memset(&out, 0xA5, sizeof out);
    unsigned e = dev_state_virtio_check(&rec, data, 2, &out, why);
    if (!e)     /* the record's bytes, zeros after a shorter (version 1) one */
        CU_ASSERT_EQUAL(memcmp(&out, data, sizeof out), 0);
    out_version = out.server.version;
    return e;
}

static void test_virtio_record(void)
{
    const uint32_t V = DEV_VIRTIO_STATE_VERSION, B = sizeof(dev_virtio_state_t);
    const size_t ready = offsetof(dev_virtio_state_t, shadow.q) + 3 * sizeof(virtio_shadow_queue_t) +
                         offsetof(virtio_shadow_queue_t, ready);
    const char *why;
    CU_ASSERT_EQUAL(virtio_poked(B, 0, 1, V, B, &why), 0);
    CU_ASSERT_PTR_NULL(why);
    CU_ASSERT_EQUAL(virtio_poked(B, 0, 2, V, B, &why), CKPT_DEV_E_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(why, "the VM has no such virtio device");
    CU_ASSERT_EQUAL(virtio_poked(B, 0, 0, V + 1, B, &why), CKPT_DEV_E_VERSION);
    CU_ASSERT_STRING_EQUAL(why, "another layout version or size");
    CU_ASSERT_EQUAL(virtio_poked(B, 0, 0, V, B - 8, &why), CKPT_DEV_E_VERSION);
    CU_ASSERT_EQUAL(virtio_poked(ready, 2, 0, V, B, &why), CKPT_DEV_E_INVALID);
    CU_ASSERT_STRING_EQUAL(why, "a queue's ready flag that is neither 0 nor 1");
    CU_ASSERT_EQUAL(virtio_poked(ready, 1, 0, V, B, &why), 0);
    CU_ASSERT_EQUAL(virtio_poked(offsetof(dev_virtio_state_t, level), 2, 0, V, B, &why),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_STRING_EQUAL(why, "a line level that is neither 0 nor 1 or not the device's "
                                "InterruptStatus, or reserved bits");
    CU_ASSERT_EQUAL(virtio_poked(offsetof(dev_virtio_state_t, level), 0, 0, V, B, &why),
                    CKPT_DEV_E_INVALID);
    CU_ASSERT_EQUAL(virtio_poked(offsetof(dev_virtio_state_t, reserved) + 3, 1, 0, V, B, &why),
                    CKPT_DEV_E_INVALID);
    /* 2.1: DEVICE_NEEDS_RESET is the device's bit, never the driver's. */
    CU_ASSERT_EQUAL(virtio_poked(offsetof(dev_virtio_state_t, shadow.status), 0x4F, 0, V, B,
                                 &why), CKPT_DEV_E_INVALID);
    CU_ASSERT_STRING_EQUAL(why, "driver status bits a driver cannot write");
    /* Version 1 (before device types' own state): its own size, read
     * zero-extended, holding the server's version 1 state; a version
     * that does not match the server part's is refused. */
    const size_t sv = offsetof(dev_virtio_state_t, server.version);
    const uint32_t B1 = DEV_VIRTIO_STATE_V1_BYTES;
    CU_ASSERT_TRUE(B1 < B);
    CU_ASSERT_EQUAL(virtio_poked(sv, DS_STATE_VERSION_1, 0, DEV_VIRTIO_STATE_VERSION_1, B1, &why),
                    0);
    CU_ASSERT_EQUAL(out_version, DS_STATE_VERSION_1);
    CU_ASSERT_EQUAL(virtio_poked(sv, DS_STATE_VERSION_1, 0, DEV_VIRTIO_STATE_VERSION_1, B, &why),
                    CKPT_DEV_E_VERSION);
    CU_ASSERT_EQUAL(virtio_poked(B, 0, 0, DEV_VIRTIO_STATE_VERSION_1, B1, &why),
                    CKPT_DEV_E_VERSION);
    CU_ASSERT_STRING_EQUAL(why, "a server state of another version than the record's");
    CU_ASSERT_EQUAL(virtio_poked(sv, DS_STATE_VERSION_1, 0, V, B, &why), CKPT_DEV_E_VERSION);
    CU_ASSERT_STRING_EQUAL(why, "a server state of another version than the record's");
    /* A restore's end: each device server's device must have had its
     * record (an image without them is refused, CKPT_REQ_DEV_DONE). */
    CU_ASSERT_EQUAL(dev_state_virtio_missing(0, 0), -1);
    CU_ASSERT_EQUAL(dev_state_virtio_missing(2, 0x3), -1);
    CU_ASSERT_EQUAL(dev_state_virtio_missing(2, 0x2), 0);
    CU_ASSERT_EQUAL(dev_state_virtio_missing(3, 0x3), 2);
    CU_ASSERT_EQUAL(dev_state_virtio_missing(1, 0x2), 0);
    /* The models' records come first, as many as dev_state_count says. */
    static models_t a;
    static uint8_t data[CKPT_DEV_MAX_BYTES];
    ckpt_dev_record_t rec;
    fresh(&a, ALL);
    const unsigned n = dev_state_count(&a.d);
    CU_ASSERT_TRUE(n > 0 && dev_state_save(&a.d, n - 1, &rec, data, T0));
    CU_ASSERT_FALSE(dev_state_save(&a.d, n, &rec, data, T0));
    /* A model record is not a virtio one. */
    CU_ASSERT_TRUE(dev_state_save(&a.d, 0, &rec, data, T0));
    CU_ASSERT_EQUAL(dev_state_virtio_check(&rec, data, 4, &(dev_virtio_state_t){ 0 }, &why),
                    CKPT_DEV_E_UNKNOWN);
}

UNIT_SUITE(vmm_dev_state_suite)
{
    CU_pSuite s = CU_add_suite("vmm device state records", NULL, NULL);
    CU_add_test(s, "every device and the platform saved and loaded behave the same",
                test_round_trip);
    CU_add_test(s, "only the VM's devices have records", test_devices_of_the_vm);
    CU_add_test(s, "an armed TSC deadline saved and loaded", test_tsc_deadline_round_trip);
    CU_add_test(s, "hostile records are refused, nothing changes", test_hostile_records_refused);
    CU_add_test(s, "a device server's record: the VMM's checks, each refusal with its reason",
                test_virtio_record);
}
