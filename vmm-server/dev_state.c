/*
 * vmm-server/dev_state.c - the device models' state as checkpoint records
 * (dev_state.h, checkpoint/include/ckpt_dev.h): the VMM's per-VM platform
 * state (the MSRs it keeps, the guest's TSC, CR8), the 8259 pair with the
 * VMM's IRQ line levels, the 8254, the MC146818 RTC, the local APIC, the
 * I/O APIC, the COM1 16550, the 8042, ports 92h/CF9h and a Linux VM's ACPI
 * PM1 blocks. Each record is the model's structure (its layout is the
 * record's version: change the structure, change the version), times made
 * relative to the clock at the save and absolute again at the load. A load
 * checks every field a model indexes with or branches on before anything
 * changes: an image is hostile input, and a bool holding 2 or a FIFO index
 * past the FIFO must never reach a model.
 */
#include "dev_state.h"
#include "cpu_policy.h"
#include <stackcfg.h>
#include <stddef.h>
#include <string.h>

#define PIC_STATE_VERSION      1
#define PIT_STATE_VERSION      1
#define UART_STATE_VERSION     1
#define RTC_STATE_VERSION      1
#define LAPIC_STATE_VERSION    1
#define IOAPIC_STATE_VERSION   1
#define I8042_STATE_VERSION    1
#define SYSCTL_STATE_VERSION   1
#define ACPI_PM_STATE_VERSION  1
#define PLATFORM_STATE_VERSION 1
#define PIT_COUNT_MAX      65536u         /* a count of 0 counts 2^16 (8254 data sheet) */
#define PIC_LEVEL_MAX      7
#define NO_TIME            UINT64_MAX
#define CR8_MAX            0xFu           /* SDM Vol. 3A 2.5: CR8 bits 3:0, the rest reserved */
#define VECTOR_MAX         0xFF
#define DEV_ALWAYS         0u             /* a record every VM has */

typedef struct {
    pic_t pic;
    uint32_t irq_lines;                   /* the VMM's view of each input line's level */
} pic_state_t;

/* The platform record: dev_platform_t's values. */
typedef struct {
    uint64_t apic_base, misc_enable, mtrr_def, tsc_adjust, xcr0, cr8;
    uint64_t guest_tsc;                   /* the guest's TSC at the save */
} platform_state_t;

typedef union {
    platform_state_t platform;
    pic_state_t pic;
    pit_t pit;
    rtc_t rtc;
    lapic_t lapic;
    ioapic_t ioapic;
    uart16550_t uart;
    i8042_t kbc;
    sysctl_t sysctl;
    acpi_pm_t pm;
} any_state_t;

/* Times relative to @now and back (two's complement: a time already past
 * is a "negative" offset and comes back as the same distance in the past). */
static uint64_t rel(uint64_t t, uint64_t now) { return t == NO_TIME ? NO_TIME : t - now; }
static uint64_t abs_time(uint64_t r, uint64_t now) { return r == NO_TIME ? NO_TIME : r + now; }

/* Every byte at @offs (bool fields) of the record is 0 or 1. */
static bool bools_ok(const uint8_t *data, const size_t *offs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (data[offs[i]] > 1)
            return false;
    return true;
}
#define BOOLS_OK(data, ...) \
    bools_ok(data, (const size_t[]){ __VA_ARGS__ }, \
             sizeof (const size_t[]){ __VA_ARGS__ } / sizeof(size_t))

/* ---- save: the model's state into @s (relative times), its size ---- */

static size_t save_platform(const dev_models_t *d, any_state_t *s, uint64_t now)
{
    (void)now;
    const dev_platform_t *p = &d->platform;
    s->platform = (platform_state_t){ *p->apic_base, *p->misc_enable, *p->mtrr_def,
                                      *p->tsc_adjust, *p->xcr0, *p->cr8, p->guest_tsc };
    return sizeof s->platform;
}

static size_t save_pic(const dev_models_t *d, any_state_t *s, uint64_t now)
{
    (void)now;
    s->pic = (pic_state_t){ *d->pic, *d->irq_lines };
    return sizeof s->pic;
}

static size_t save_pit(const dev_models_t *d, any_state_t *s, uint64_t now)
{
    s->pit = *d->pit;
    for (unsigned c = 0; c < PIT_CHANNELS; c++)
        s->pit.ch[c].run_start_ns = rel(s->pit.ch[c].run_start_ns, now);
    s->pit.irq0_next_ns = rel(s->pit.irq0_next_ns, now);
    return sizeof s->pit;
}

/* The RTC's offset makes guest seconds from host seconds (rtc.h): saved as
 * the guest's clock itself, so that a restore goes on from the same date
 * and time. Its last_seen is in guest seconds already. */
static size_t save_rtc(const dev_models_t *d, any_state_t *s, uint64_t now)
{
    (void)now;
    s->rtc = *d->rtc;
    s->rtc.offset += d->unix_now;
    return sizeof s->rtc;
}

static size_t save_lapic(const dev_models_t *d, any_state_t *s, uint64_t now)
{
    s->lapic = *d->lapic;
    s->lapic.timer_seg_start_ns = rel(s->lapic.timer_seg_start_ns, now);
    s->lapic.timer_deadline_ns = rel(s->lapic.timer_deadline_ns, now);
    return sizeof s->lapic;
}

#define SAVE_COPY(name, field, member)                                                 \
    static size_t name(const dev_models_t *d, any_state_t *s, uint64_t now)          \
    {                                                                                 \
        (void)now;                                                                    \
        s->member = *d->field;                                                        \
        return sizeof s->member;                                                      \
    }
SAVE_COPY(save_ioapic, ioapic, ioapic)
SAVE_COPY(save_uart, uart, uart)
SAVE_COPY(save_kbc, kbc, kbc)
SAVE_COPY(save_sysctl, sysctl, sysctl)
SAVE_COPY(save_pm, acpi_pm, pm)

/* ---- load: check @s (a copy of the record's bytes, @data the same bytes
 * for the bool checks), then put it in the model; a CKPT_DEV_E_* ---- */

static unsigned load_platform(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)data; (void)now;
    dev_platform_t *p = &d->platform;
    const platform_state_t *v = &s->platform;
    /* SDM Vol. 3A 10.4.4 (IA32_APIC_BASE: reserved bits, EXTD without EN,
     * 10.12.5), Vol. 4 Table 2-2 (IA32_MISC_ENABLE: only the bits the VMM
     * offers, its read-only ones as they read), 11.11.2.1 (MTRR default
     * type), Vol. 1 13.3 (XCR0: as XSETBV would take it), 2.5 (CR8). A VM
     * without a LAPIC keeps the reset IA32_APIC_BASE (msr.c refuses writes). */
    if (!apic_base_valid(X86_APIC_BASE_RESET, v->apic_base, p->maxphyaddr, true) ||
        (!(d->devices & SC_DEV_LAPIC) && v->apic_base != X86_APIC_BASE_RESET) ||
        (v->misc_enable & ~(MISC_ENABLE_RW | MISC_ENABLE_RO)) ||
        (v->misc_enable & MISC_ENABLE_RO) != (MISC_ENABLE_RESET & MISC_ENABLE_RO) ||
        !mtrr_def_type_valid(v->mtrr_def) || !xcr0_valid(0, v->xcr0, 0, p->xcr0_allowed) ||
        v->cr8 > CR8_MAX)
        return CKPT_DEV_E_INVALID;
    *p->apic_base = v->apic_base;
    *p->misc_enable = v->misc_enable;
    *p->mtrr_def = v->mtrr_def;
    *p->tsc_adjust = v->tsc_adjust;
    *p->xcr0 = v->xcr0;
    *p->cr8 = v->cr8;
    p->guest_tsc = v->guest_tsc;
    return 0;
}

static unsigned load_pic(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)now;
    for (unsigned c = 0; c < 2; c++) {
        const size_t base = offsetof(pic_state_t, pic.chip) + c * sizeof(pic_chip_t);
#define PB(f) base + offsetof(pic_chip_t, f)
        const uint8_t step = data[PB(init_step)], lowest = data[PB(lowest)];
        /* 8259A data sheet: ICW2-ICW4 follow ICW1, so an initialization in
         * progress waits for word 2, 3 or 4; priorities are levels 0-7. */
        if (!BOOLS_OK(data, PB(icw4_needed), PB(single), PB(read_isr), PB(poll),
                      PB(special_mask), PB(rotate_aeoi)) ||
            (step != 0 && (step < 2 || step > 4)) || lowest > PIC_LEVEL_MAX)
            return CKPT_DEV_E_INVALID;
#undef PB
    }
    if (s->pic.irq_lines >> PIC_IRQS)
        return CKPT_DEV_E_INVALID;
    *d->pic = s->pic.pic;
    *d->irq_lines = s->pic.irq_lines;
    return 0;
}

static unsigned load_pit(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    pit_t *p = &s->pit;
    for (unsigned c = 0; c < PIT_CHANNELS; c++) {
        const size_t base = offsetof(pit_t, ch) + c * sizeof(pit_channel_t);
#define CB(f) base + offsetof(pit_channel_t, f)
        if (!BOOLS_OK(data, CB(bcd), CB(gate), CB(write_msb), CB(read_msb), CB(count_latched),
                      CB(status_latched), CB(null_count), CB(loaded), CB(counting)))
            return CKPT_DEV_E_INVALID;
#undef CB
        /* 8254 data sheet: modes 0-5, access modes latch/LSB/MSB/both,
         * counts 1 to 2^16. */
        const pit_channel_t *ch = &p->ch[c];
        if (ch->mode > PIT_MODE_HW_STROBE || ch->rw > PIT_RW_LOHI ||
            ch->reload > PIT_COUNT_MAX || ch->n > PIT_COUNT_MAX)
            return CKPT_DEV_E_INVALID;
    }
    for (unsigned c = 0; c < PIT_CHANNELS; c++)
        p->ch[c].run_start_ns = abs_time(p->ch[c].run_start_ns, now);
    p->irq0_next_ns = abs_time(p->irq0_next_ns, now);
    *d->pit = *p;
    return 0;
}

static unsigned load_rtc(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)now;
    /* MC146818A data sheet "Address Map": 128 locations (the index's bit 7
     * is the PC's NMI mask, never stored). The clock arithmetic (rtc.c
     * from_time) takes any set_time: out-of-range fields carry over. */
    if (!BOOLS_OK(data, offsetof(rtc_t, seen)) || s->rtc.index >= RTC_CMOS_SIZE)
        return CKPT_DEV_E_INVALID;
    s->rtc.offset -= d->unix_now;
    *d->rtc = s->rtc;
    return 0;
}

static unsigned load_lapic(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    lapic_t *l = &s->lapic;
    /* SDM Vol. 3A 10.5.4 (divide configuration: bits 0, 1, 3), 10.9 (SVR:
     * bits 9:0 here), 10.8.3.1 (TPR: bits 7:0), 10.5.3 (ESR: bits 7:0),
     * 10.5.1 (LVT entries: bits 17:0, the timer's 18:0 without the
     * reserved mode 11b; 10.5.4.1: an armed TSC deadline is not 0); its
     * x2APIC mode is IA32_APIC_BASE's EXTD (10.12.1), loaded before it; an
     * EOI to broadcast is a vector or none (-1). The TSC-deadline mode
     * keeps the record's layout (its deadline shares timer_next_tick's
     * place): images from before it load as they did. */
    uint32_t timer_lvt = l->lvt[LAPIC_LVT_TIMER], mode = timer_lvt & LAPIC_LVT_TIMER_MODE_MASK;
    bool lvt_ok = !(timer_lvt >> 19) && mode != LAPIC_LVT_TIMER_MODE_MASK &&
                  !(mode == LAPIC_LVT_TIMER_TSC_DEADLINE && l->timer_running &&
                    l->tsc_deadline == 0);
    for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
        lvt_ok = lvt_ok && (i == LAPIC_LVT_TIMER || !(l->lvt[i] >> 18));
    if (!BOOLS_OK(data, offsetof(lapic_t, x2apic), offsetof(lapic_t, timer_running),
                  offsetof(lapic_t, nmi_pending), offsetof(lapic_t, lint_level),
                  offsetof(lapic_t, lint_level) + 1) ||
        !lvt_ok || (l->timer_dcr & ~LAPIC_DCR_WRITABLE) || (l->svr & ~LAPIC_SVR_WRITABLE) ||
        l->tpr > LAPIC_PRIORITY_MASK || l->esr > VECTOR_MAX || l->esr_pending > VECTOR_MAX ||
        l->eoi_level_vector < -1 || l->eoi_level_vector > VECTOR_MAX ||
        l->x2apic != ((*d->platform.apic_base & X86_APIC_BASE_EXTD) != 0))
        return CKPT_DEV_E_INVALID;
    l->timer_seg_start_ns = abs_time(l->timer_seg_start_ns, now);
    l->timer_deadline_ns = abs_time(l->timer_deadline_ns, now);
    *d->lapic = *l;
    return 0;
}

static unsigned load_ioapic(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)now;
    const ioapic_t *io = &s->ioapic;
    /* 82093AA 3.0 (IOREGSEL bits 7:0), 3.2.1 (ID bits 27:24), 3.2.4 (the
     * entries' defined bits, delivery status and Remote IRR included). */
    if (io->select > IOAPIC_SELECT_MASK || (io->id & ~IOAPIC_ID_MASK))
        return CKPT_DEV_E_INVALID;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        if ((io->rte[i] & ~(IOAPIC_RTE_WRITABLE | IOAPIC_RTE_PENDING | IOAPIC_RTE_REMOTE_IRR)) ||
            data[offsetof(ioapic_t, input) + i] > 1)
            return CKPT_DEV_E_INVALID;
    *d->ioapic = *io;
    return 0;
}

static unsigned load_uart(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)now;
    if (!BOOLS_OK(data, offsetof(uart16550_t, fifo_enabled), offsetof(uart16550_t, thre_pending)) ||
        s->uart.rx_head >= UART_FIFO_SIZE || s->uart.rx_count > UART_FIFO_SIZE)
        return CKPT_DEV_E_INVALID;
    *d->uart = s->uart;
    return 0;
}

static unsigned load_kbc(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)data; (void)now;
    const i8042_t *k = &s->kbc;
    /* i8042.h: a command waiting for its data byte is one that takes one
     * (60h-7Fh, D1h-D4h); the output port and status keep their stored bits. */
    const uint8_t p = k->pending;
    const bool pending_ok = p == 0 ||
        (p >= I8042_CMD_WRITE_RAM && p <= (I8042_CMD_WRITE_RAM | I8042_CMD_RAM_MASK)) ||
        (p >= I8042_CMD_WRITE_OUT && p <= I8042_CMD_WRITE_AUX);
    if (!pending_ok || (k->out_port & ~I8042_OUT_STORED) ||
        (k->status & ~(I8042_STR_OBF | I8042_STR_A2 | I8042_STR_AUXOBF | I8042_STR_TIMEOUT)))
        return CKPT_DEV_E_INVALID;
    *d->kbc = *k;
    return 0;
}

static unsigned load_sysctl(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)data; (void)now;
    /* sysctl.h: the bits ports 92h and CF9h keep. */
    if ((s->sysctl.port_a & ~(SYSCTL_A_FAST_RESET | SYSCTL_A_A20)) ||
        (s->sysctl.reset_ctl & ~(SYSCTL_CF9_KEPT | SYSCTL_CF9_RST_CPU)))
        return CKPT_DEV_E_INVALID;
    *d->sysctl = s->sysctl;
    return 0;
}

static unsigned load_pm(dev_models_t *d, any_state_t *s, const uint8_t *data, uint64_t now)
{
    (void)data; (void)now;
    /* ACPI 6.5 Tables 4.14-4.16: the bits each register keeps. */
    if ((s->pm.sts & ~ACPI_PM1_STS_WRITABLE) || (s->pm.en & ~ACPI_PM1_EN_WRITABLE) ||
        (s->pm.cnt & ~ACPI_PM1_CNT_WRITABLE))
        return CKPT_DEV_E_INVALID;
    *d->acpi_pm = s->pm;
    return 0;
}

/* Which devices have a record, in record order (the platform first: the
 * LAPIC's load checks against its IA32_APIC_BASE). */
static const struct {
    uint32_t id, version, device;         /* device: a dev_models_t.devices bit, or DEV_ALWAYS */
    size_t (*save)(const dev_models_t *, any_state_t *, uint64_t);
    unsigned (*load)(dev_models_t *, any_state_t *, const uint8_t *, uint64_t);
    size_t bytes;
} records[] = {
    { CKPT_DEV_PLATFORM, PLATFORM_STATE_VERSION, DEV_ALWAYS, save_platform, load_platform,
      sizeof(platform_state_t) },
    { CKPT_DEV_PIC, PIC_STATE_VERSION, SC_DEV_PIC, save_pic, load_pic, sizeof(pic_state_t) },
    { CKPT_DEV_PIT, PIT_STATE_VERSION, SC_DEV_PIT, save_pit, load_pit, sizeof(pit_t) },
    { CKPT_DEV_RTC, RTC_STATE_VERSION, SC_DEV_RTC, save_rtc, load_rtc, sizeof(rtc_t) },
    { CKPT_DEV_LAPIC, LAPIC_STATE_VERSION, SC_DEV_LAPIC, save_lapic, load_lapic, sizeof(lapic_t) },
    { CKPT_DEV_IOAPIC, IOAPIC_STATE_VERSION, SC_DEV_LAPIC, save_ioapic, load_ioapic,
      sizeof(ioapic_t) },
    { CKPT_DEV_UART, UART_STATE_VERSION, SC_DEV_UART, save_uart, load_uart, sizeof(uart16550_t) },
    { CKPT_DEV_I8042, I8042_STATE_VERSION, DEV_ALWAYS, save_kbc, load_kbc, sizeof(i8042_t) },
    { CKPT_DEV_SYSCTL, SYSCTL_STATE_VERSION, DEV_ALWAYS, save_sysctl, load_sysctl,
      sizeof(sysctl_t) },
    { CKPT_DEV_ACPI_PM, ACPI_PM_STATE_VERSION, DEV_STATE_ACPI_PM, save_pm, load_pm,
      sizeof(acpi_pm_t) },
};
#define N_RECORDS (sizeof records / sizeof records[0])
_Static_assert(sizeof(any_state_t) <= CKPT_DEV_MAX_BYTES, "a record fits one message");
_Static_assert(sizeof(dev_virtio_state_t) <= CKPT_DEV_MAX_BYTES, "a device server's record fits one message");

static bool has(const dev_models_t *d, unsigned i)
{
    return records[i].device == DEV_ALWAYS || (d->devices & records[i].device);
}

bool dev_state_save(const dev_models_t *d, unsigned k, ckpt_dev_record_t *rec, uint8_t *data,
                    uint64_t now_ns)
{
    unsigned seen = 0;
    for (unsigned i = 0; i < N_RECORDS; i++) {
        if (!has(d, i) || seen++ != k)
            continue;
        any_state_t s;
        memset(&s, 0, sizeof s);
        const size_t n = records[i].save(d, &s, now_ns);
        *rec = (ckpt_dev_record_t){ .id = records[i].id, .version = records[i].version,
                                    .bytes = (uint32_t)n, .instance = 0 };
        memcpy(data, &s, n);
        return true;
    }
    return false;
}

unsigned dev_state_load(dev_models_t *d, const ckpt_dev_record_t *rec, const uint8_t *data,
                        uint64_t now_ns)
{
    unsigned i = 0;
    while (i < N_RECORDS && records[i].id != rec->id)
        i++;
    if (i == N_RECORDS || rec->instance != 0 || !has(d, i))
        return CKPT_DEV_E_UNKNOWN;
    if (rec->version != records[i].version || rec->bytes != records[i].bytes)
        return CKPT_DEV_E_VERSION;
    any_state_t s;
    memcpy(&s, data, records[i].bytes);     /* its bools checked before any is read */
    return records[i].load(d, &s, data, now_ns);
}

unsigned dev_state_count(const dev_models_t *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < N_RECORDS; i++)
        n += has(d, i);
    return n;
}

unsigned dev_state_virtio_check(const ckpt_dev_record_t *rec, const uint8_t *data,
                                unsigned n_virtio, dev_virtio_state_t *out, const char **why)
{
    *why = NULL;
    if (rec->id != CKPT_DEV_VIRTIO || rec->instance >= n_virtio) {
        *why = "the VM has no such virtio device";
        return CKPT_DEV_E_UNKNOWN;
    }
    const bool v1 = rec->version == DEV_VIRTIO_STATE_VERSION_1;
    if (v1 ? rec->bytes != DEV_VIRTIO_STATE_V1_BYTES
           : rec->version != DEV_VIRTIO_STATE_VERSION || rec->bytes != sizeof *out) {
        *why = "another layout version or size";
        return CKPT_DEV_E_VERSION;
    }
    /* The bools read as bytes before the structure is (a bool holding 2
     * must never reach the shadow's replay). */
    for (unsigned i = 0; i < VIRTIO_SHADOW_QUEUES; i++)
        if (data[offsetof(dev_virtio_state_t, shadow.q) + i * sizeof(virtio_shadow_queue_t) +
                 offsetof(virtio_shadow_queue_t, ready)] > 1) {
            *why = "a queue's ready flag that is neither 0 nor 1";
            return CKPT_DEV_E_INVALID;
        }
    memset(out, 0, sizeof *out);
    memcpy(out, data, rec->bytes);
    /* A version 1 record holds the server's version 1 state (devsrv.h),
     * which the server takes or refuses; a version 2 record its own. */
    if (v1 != (out->server.version == DS_STATE_VERSION_1)) {
        *why = "a server state of another version than the record's";
        return CKPT_DEV_E_VERSION;
    }
    /* Virtio 1.2 4.2.3.4: the line is up while InterruptStatus is not 0
     * (each reply of the server says so, virtio_fwd.c set_line). */
    if (out->level > 1 || out->reserved ||
        out->level != (out->server.interrupt_status != 0)) {
        *why = "a line level that is neither 0 nor 1 or not the device's InterruptStatus, or "
               "reserved bits";
        return CKPT_DEV_E_INVALID;
    }
    /* Virtio 1.2 2.1: virtio_shadow_write keeps only the driver's bits, and forgets everything at
     * a reset (2.4.1); the replay writes the rest through the server's
     * register file, which checks each write as a driver's (4.2.2.2). */
    if (out->shadow.status & ~VIRTIO_STATUS_DRIVER_BITS) {
        *why = "driver status bits a driver cannot write";
        return CKPT_DEV_E_INVALID;
    }
    return 0;
}

int dev_state_virtio_missing(unsigned n_virtio, uint32_t loaded)
{
    for (unsigned n = 0; n < n_virtio && n < 32; n++)
        if (!(loaded & (1u << n)))
            return (int)n;
    return -1;
}
