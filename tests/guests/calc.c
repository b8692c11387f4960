/*
 * tests/guests/calc.c - a long deterministic computation for the
 * checkpoint tests (tests/system/checkpoint.spec): nothing it does depends
 * on time, so a run restored from a checkpoint taken midway must end with
 * the digest of an uninterrupted run.
 *
 * The state: AREA_WORDS 32-bit words at AREA (1 MiB from 2 MiB, zero at
 * start) and an xorshift32 generator (Marsaglia's 13/17/5, seed SEED).
 * Each of `rounds` rounds (command line "rounds=N", default 24) makes
 * STEPS steps: x = xorshift32(x); w = AREA[x % AREA_WORDS];
 * AREA[x % AREA_WORDS] = w * 31 + x + step (mod 2^32); after each round a
 * line "calc: round R of N". At the end the words in order and then x are
 * folded, byte by byte from the low byte, into a 32-bit FNV-1a digest:
 * "calc: N rounds: digest 0x........" (the spec holds the value computed
 * on the host by this rule).
 *
 * With "timer=HZ" the PIT interrupts it HZ times a second through the 8259
 * (IRQ 0, vector 0x20) all along; the handler only counts. The digest does
 * not depend on the ticks, but the ticks must keep coming: the last
 * LATE_ROUNDS rounds must see some (after a restore, only if the PIT's and
 * the PIC's state came back with the image), "calc: timer: ticks in the
 * last 4 rounds: yes".
 *
 * With "apic=1" as well, the 8259s are masked and the interrupts come
 * through the APICs instead: the PIT's IRQ 0 through the I/O APIC (pin 2,
 * the PC's interrupt source override; vector VEC_IOAPIC_PIT, edge) and the
 * local APIC's own timer, periodic at HZ too (vector VEC_LAPIC_TIMER), both
 * EOId at the local APIC; the last rounds must see ticks of both (after a
 * restore, only if the LAPIC's and the I/O APIC's state came back):
 * "calc: apic: pit ticks yes, lapic timer ticks yes".
 *
 * The TSC must run forward: it is read at the end of each round and must
 * be above the round before's (after a restore, only if the guest's TSC
 * came back with the image rather than restarting at the host's):
 * "calc: tsc ran forward: yes".
 *
 * With "fill=MIB", MIB MiB from FILL (after the area) are written once at
 * the start, word i holding fill_word(i), and checked at the end: "calc:
 * fill of N MiB kept: yes". Under a pager with fewer frames than that, most
 * of it is in swap while calc computes: a checkpoint must save it from
 * there and a restore give it back.
 *
 * With "blk=1" (and timer=HZ without apic) it also does disk I/O on its
 * virtio block device 0 (Virtio 1.2 5.2), its interrupt (the device's
 * 8259 line, vm_layout.h) taken and acknowledged as a driver does: after
 * each round it writes block R (4 KiB at sector (R - 1) * 8) with
 * BLK_WORDS words of the area XORed with x, reads it back and compares,
 * and folds what it read into a disk digest; each request must come back
 * once with status OK and raise one used-buffer interrupt. At the end a
 * FLUSH, then every block read again and folded: "calc: disk: N blocks
 * written and read back, N interrupts, digest 0x........; on the disk at
 * the end: yes" (the spec holds the digest computed on the host). A
 * restored run goes on with its device as the image left it (the device
 * server's state: an image without it is refused, as a restore without it
 * would find the device reset and its next request never served); the
 * disk's capacity must hold a block per round. The blocks written before the checkpoint must be on the
 * disk (they are read at the end), those written after it are written
 * again, with the same bytes, before they are read (checkpoint/README.md
 * "The disk").
 *
 * With "blk=2" as well, a carry block (block `rounds`, after the rounds'
 * blocks) is written once at the start with carry_word(0, i), and each
 * round R, before its own block, reads it, finds it as round R - 1 left
 * it, and writes it with carry_word(R, i): "calc: disk: carry block as
 * the round before left it: N of N rounds: yes". Unlike the rounds'
 * blocks it is read before it is written: a run restored from a
 * checkpoint finds it as it was at the checkpoint only if the disk was
 * rolled back to the image (checkpoint/README.md "The disk"), not as the
 * first run left it after the checkpoint.
 * With "con=1" (and timer=HZ without apic; not with blk=1) it also talks
 * on its virtio console, device 0 (Virtio 1.2 5.3: receiveq0 and
 * transmitq0), as a console driver does: each round it transmits the
 * first part of a line ("calc: hvc0 round R:", no newline) before the
 * round's computation, offers a receive buffer of CON_CHUNK bytes for the
 * console's host input (the config's console.input) with a kick, waits
 * for its used-buffer interrupt (the device's 8259 line; the transmit
 * queue's interrupts suppressed, VIRTQ_AVAIL_F_NO_INTERRUPT, its used
 * ring polled), and after the computation the rest of the line ("read
 * \"TEXT\", x=0x........" and the newline), so a checkpoint taken in the
 * round finds a partial line in the server and input it has not given
 * yet. The bytes read are folded into a digest: "calc: hvc0: N lines, N
 * bytes of input read, N interrupts, digest 0x........" (the spec holds it,
 * computed on the host). A restored run must get the rest of the input,
 * not the start again, and its console's line from where it was (the
 * console server's state in the image, device-servers/README.md
 * "Checkpoints").
 *
 * The x87 register stack holds FPU_MARK from the start to the end (no
 * code of the guest touches the FPU in between): "calc: x87 st(0) kept:
 * yes" only if the vCPU's FPU state survived every exit and, after a
 * restore, came back with the image.
 */
#include "lib/guest.h"
#include "calc_rule.h"
#include "lib/virtio.h"
#include <stdbool.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define AREA        ((volatile uint32_t *)0x200000)
#define SEED        CALC_SEED
#define LATE_ROUNDS 4
#define FPU_MARK    CALC_FPU_MARK
#define FILL        ((volatile uint32_t *)0x300000)
#define FILL_MAX_MIB 60
#define FILL_MUL    0x9E3779B1u   /* 2^32 / golden ratio: consecutive words differ */
/* 8259A and 8254 programming (their data sheets), as tests/guests/timer.c. */
#define PIC1_CMD    0x20
#define PIC1_DATA   0x21
#define PIC2_CMD    0xA0
#define PIC2_DATA   0xA1
#define PIC_EOI     0x20
#define PIC_ICW1    0x11          /* edge triggered, cascade, ICW4 follows */
#define PIC_ICW4    0x01          /* 8086 mode */
#define PIT_CH0     0x40
#define PIT_CMD     0x43
#define PIT_RATE_GEN 0x34         /* counter 0, LSB then MSB, mode 2 */
#define PIT_HZ      1193182u
#define VEC_PIT     0x20
/* The APICs (SDM Vol. 3A chapter 10; 82093AA I/O APIC datasheet 3.2.4), as
 * tests/guests/timer.c and ioapic.c program them. */
#define LAPIC_BASE  0xFEE00000u
#define LAPIC_EOI   0x0B0
#define LAPIC_SVR   0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_SVR_SPURIOUS 0xFF
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_DIV_16 0x3              /* SDM 10.5.4, Figure 10-10 */
#define LAPIC_TIMER_HZ 62500000u      /* the VMM's 1 GHz crystal (CPUID.15H) / 16 */
#define IOAPIC_BASE 0xFEC00000u
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN  0x10
#define IOAPIC_REG_RTE 0x10
#define IOAPIC_PIN_PIT 2              /* ISA IRQ 0 by the PC's override */
#define VEC_IOAPIC_PIT 0x30
#define VEC_LAPIC_TIMER 0x31

/* The disk (Virtio 1.2 5.2.6: the request header, types and status; the
 * device side's names are device-servers/blk/vblk.h). */
#define BLK_DEV     0                  /* its virtio device */
#define BLK_QUEUE   0                  /* 5.2.2: requestq */
#define BLK_BLOCK   4096u
#define BLK_WORDS   (BLK_BLOCK / 4)
#define BLK_SECTORS (BLK_BLOCK / 512)  /* 5.2.6: sectors of 512 bytes */
#define BLK_T_IN    0u
#define BLK_T_OUT   1u
#define BLK_T_FLUSH 4u
#define BLK_S_OK    0u
#define BLK_F_FLUSH 9                  /* VIRTIO_BLK_F_FLUSH (5.2.3) */
#define BLK_CFG_CAPACITY 0x100u        /* 4.2.2: config space at 0x100; 5.2.4: le64 capacity */
#define BLK_WAIT_MAX 10000000u         /* polls for a request's interrupt */

/* The console (Virtio 1.2 5.3.2: port 0's queues). */
#define CON_DEV     0                  /* its virtio device */
#define CON_RXQ     0                  /* receiveq0 */
#define CON_TXQ     1                  /* transmitq0 */
#define CON_CHUNK   4u                 /* input bytes read a round */
#define CON_TEXT_MAX 96u

static volatile uint32_t ticks, lapic_ticks;
static volatile uint32_t *const con_regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t con_rxq, con_txq;
static char con_text[CON_TEXT_MAX];
static volatile char con_in[CON_CHUNK];
static uint16_t con_rx_avail, con_rx_seen, con_tx_avail, con_tx_seen;
static volatile uint32_t con_irqs;
static uint32_t con_rx_kicks;
static volatile uint32_t *const blk_regs = (volatile uint32_t *)VM_VIRTIO_MMIO_BASE;
static guest_vq_t blk_vq;
static guest_blk_hdr_t blk_hdr __attribute__((aligned(16)));
static volatile uint32_t blk_buf[BLK_WORDS] __attribute__((aligned(BLK_BLOCK)));
static volatile uint8_t blk_status;
static uint16_t blk_avail, blk_seen;
static volatile uint32_t blk_irqs;
static uint32_t blk_kicks;

static void on_pit(guest_frame_t *f)
{
    (void)f;
    ticks++;
    outb(PIC1_CMD, PIC_EOI);
}

/* 4.2.3.4: the device's line stays up until InterruptStatus is acknowledged. */
static void on_blk(guest_frame_t *f)
{
    (void)f;
    const uint32_t isr = blk_regs[VIRTIO_MMIO_INTERRUPT_STATUS / 4];
    blk_regs[VIRTIO_MMIO_INTERRUPT_ACK / 4] = isr & VIRTIO_MMIO_INT_ALL;
    blk_irqs += (isr & VIRTIO_MMIO_INT_VRING) != 0;
    outb(PIC1_CMD, PIC_EOI);
}

/* 4.2.3.4 as for the disk: only receiveq0 interrupts (transmitq0's are
 * suppressed). */
static void on_con(guest_frame_t *f)
{
    (void)f;
    const uint32_t isr = con_regs[VIRTIO_MMIO_INTERRUPT_STATUS / 4];
    con_regs[VIRTIO_MMIO_INTERRUPT_ACK / 4] = isr & VIRTIO_MMIO_INT_ALL;
    con_irqs += (isr & VIRTIO_MMIO_INT_VRING) != 0;
    outb(PIC1_CMD, PIC_EOI);
}

static void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }

static void ioapic_write(uint32_t idx, uint32_t v)
{
    *(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_REGSEL) = idx;
    *(volatile uint32_t *)(IOAPIC_BASE + IOAPIC_WIN) = v;
}

static void on_apic_pit(guest_frame_t *f)
{
    (void)f;
    ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_lapic_timer(guest_frame_t *f)
{
    (void)f;
    lapic_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

/* The PIT at @hz (through the APICs with @apic), and virtio device 0's
 * line on @dev0 (NULL: none). */
static void timer_start(uint32_t hz, bool apic, void (*dev0)(guest_frame_t *))
{
    guest_desc_init();
    guest_set_handler(VEC_PIT, on_pit);
    const uint8_t blk_line = (uint8_t)(dev0 ? 1u << vm_virtio_irq(0) : 0);
    if (dev0)
        guest_set_handler(VEC_PIT + vm_virtio_irq(0), dev0);
    outb(PIC1_CMD, PIC_ICW1); outb(PIC2_CMD, PIC_ICW1);
    outb(PIC1_DATA, VEC_PIT); outb(PIC2_DATA, VEC_PIT + 8);
    outb(PIC1_DATA, 4); outb(PIC2_DATA, 2);            /* ICW3: the slave on IRQ 2 */
    outb(PIC1_DATA, PIC_ICW4); outb(PIC2_DATA, PIC_ICW4);
    outb(PIC1_DATA, apic ? 0xFF : (uint8_t)~(1u | blk_line));   /* IRQ 0 (and the disk's) */
    outb(PIC2_DATA, 0xFF);
    if (apic) {
        guest_set_handler(VEC_IOAPIC_PIT, on_apic_pit);
        guest_set_handler(VEC_LAPIC_TIMER, on_lapic_timer);
        lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SVR_SPURIOUS);
        /* 82093AA 3.2.4: destination APIC ID 0 (high dword), then the low
         * dword: fixed, physical, edge, active high, unmasked. */
        ioapic_write(IOAPIC_REG_RTE + 2 * IOAPIC_PIN_PIT + 1, 0);
        ioapic_write(IOAPIC_REG_RTE + 2 * IOAPIC_PIN_PIT, VEC_IOAPIC_PIT);
        /* SDM 10.5.4: periodic, the initial count reloaded at each expiry. */
        lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
        lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | VEC_LAPIC_TIMER);
        lapic_write(LAPIC_TIMER_INIT, LAPIC_TIMER_HZ / hz);
    }
    const uint32_t divisor = PIT_HZ / hz;
    outb(PIT_CMD, PIT_RATE_GEN);
    outb(PIT_CH0, divisor & 0xFF);
    outb(PIT_CH0, divisor >> 8);
    __asm__ volatile("sti");
}

/* One request on the disk (5.2.6): the header, @len bytes of blk_buf
 * (device-writable for IN), the status byte; offered with a kick, then
 * its interrupt waited for. True if it came back once, in order, status
 * OK (an IN with its data and status written), with its interrupt. */
static bool blk_request(uint32_t type, uint64_t sector, uint32_t len)
{
    guest_blk_chain(&blk_vq, 0, &blk_hdr, type, sector, blk_buf, len, type == BLK_T_IN,
                    &blk_status);
    guest_virtq_offer(blk_regs, &blk_vq, BLK_QUEUE, 0, &blk_avail, true);
    blk_kicks++;
    for (uint32_t i = 0; blk_irqs != blk_kicks && i < BLK_WAIT_MAX; i++)
        __asm__ volatile("pause");
    uint32_t id = 0, used_len = 0;
    return guest_virtq_one_used(&blk_vq, &blk_seen, &id, &used_len) && id == 0 &&
           blk_status == BLK_S_OK && used_len == (type == BLK_T_IN ? len + 1 : 1) &&
           blk_irqs == blk_kicks;
}

/* After round @r: block @r written from the area and x, read back,
 * compared, and folded into *@digest. False if a request or the compare
 * failed. */
static bool blk_round(uint32_t r, uint32_t x, uint32_t *digest)
{
    const uint64_t sector = (uint64_t)(r - 1) * BLK_SECTORS;
    for (uint32_t i = 0; i < BLK_WORDS; i++)
        blk_buf[i] = AREA[(r * BLK_WORDS + i) % CALC_AREA_WORDS] ^ x;
    bool ok = blk_request(BLK_T_OUT, sector, BLK_BLOCK);
    for (uint32_t i = 0; i < BLK_WORDS; i++)
        blk_buf[i] = 0;
    ok = blk_request(BLK_T_IN, sector, BLK_BLOCK) && ok;
    for (uint32_t i = 0; i < BLK_WORDS; i++) {
        ok = ok && blk_buf[i] == (AREA[(r * BLK_WORDS + i) % CALC_AREA_WORDS] ^ x);
        *digest = calc_fnv_word(*digest, blk_buf[i]);
    }
    return ok;
}

/* Word @i of the carry block as round @r leaves it (blk=2). */
static uint32_t carry_word(uint32_t r, uint32_t i)
{
    return r * FILL_MUL ^ i ^ SEED;
}

/* The carry block (blk=2) at sector @sector: read and checked against
 * round @r - 1's words (unless @r is 0: the first write), then written
 * with round @r's. False if a request failed or it held other words. */
static bool carry_round(uint32_t r, uint64_t sector)
{
    bool ok = true;
    if (r) {
        ok = blk_request(BLK_T_IN, sector, BLK_BLOCK);
        for (uint32_t i = 0; i < BLK_WORDS; i++)
            ok = ok && blk_buf[i] == carry_word(r - 1, i);
    }
    for (uint32_t i = 0; i < BLK_WORDS; i++)
        blk_buf[i] = carry_word(r, i);
    return blk_request(BLK_T_OUT, sector, BLK_BLOCK) && ok;
}

/* @text (NUL-ended) out on transmitq0: one chain, a kick, used at once
 * (the device serves it within the kick). */
static bool con_send(const char *text)
{
    uint32_t n = 0, id = 0, len = 0;
    while (text[n])
        n++;
    con_txq.desc[0] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)text, .len = n };
    guest_virtq_offer(con_regs, &con_txq, CON_TXQ, 0, &con_tx_avail, true);
    return guest_virtq_one_used(&con_txq, &con_tx_seen, &id, &len) && id == 0;
}

/* CON_CHUNK bytes of input into con_in: a writable buffer offered on
 * receiveq0 with a kick; the device fills it after its reply and raises
 * the line. True if it came back with CON_CHUNK bytes and its interrupt. */
static bool con_read(void)
{
    con_rxq.desc[0] = (virtq_desc_t){ .addr = (uint32_t)(uintptr_t)con_in, .len = CON_CHUNK,
                                      .flags = VIRTQ_DESC_F_WRITE };
    guest_virtq_offer(con_regs, &con_rxq, CON_RXQ, 0, &con_rx_avail, true);
    con_rx_kicks++;
    for (uint32_t i = 0; con_irqs != con_rx_kicks && i < BLK_WAIT_MAX; i++)
        __asm__ volatile("pause");
    uint32_t id = 0, len = 0;
    return guest_virtq_one_used(&con_rxq, &con_rx_seen, &id, &len) && id == 0 &&
           len == CON_CHUNK && con_irqs == con_rx_kicks;
}

/* Text into con_text from *@at: a string, a number in decimal or in 8 hex digits. */
static void text_str(unsigned *at, const volatile char *s, unsigned n)
{
    for (unsigned i = 0; i < n && s[i] && *at < CON_TEXT_MAX - 1; i++)
        con_text[(*at)++] = s[i];
    con_text[*at] = 0;
}

static void text_num(unsigned *at, uint32_t v, bool hex)
{
    char d[10];
    unsigned n = 0;
    do {
        d[n++] = "0123456789abcdef"[hex ? v % 16 : v % 10];
        v = hex ? v / 16 : v / 10;
    } while (v || (hex && n < 8));
    while (n && *at < CON_TEXT_MAX - 1)
        con_text[(*at)++] = d[--n];
    con_text[*at] = 0;
}

static uint32_t fill_word(uint32_t i)
{
    return i * FILL_MUL ^ SEED;
}

int guest_main(void)
{
    const uint32_t rounds = guest_cmdline_number("rounds=", 24, 1000);
    const uint32_t hz = guest_cmdline_number("timer=", 0, 10000);
    const bool apic = guest_cmdline_number("apic=", 0, 1) != 0;
    const uint32_t fill_words = guest_cmdline_number("fill=", 0, FILL_MAX_MIB) * (1u << 20) / 4;
    const uint32_t blk_mode = guest_cmdline_number("blk=", 0, 2);
    const bool blk = blk_mode != 0, carry = blk_mode == 2;
    const uint64_t carry_sector = (uint64_t)rounds * BLK_SECTORS;
    const bool con = guest_cmdline_number("con=", 0, 1) != 0;
    for (uint32_t i = 0; i < fill_words; i++)
        FILL[i] = fill_word(i);
    if ((blk || con) && (!hz || apic || (blk && con))) {
        CHECK(false, "blk=1|2 or con=1 (not both) with timer=HZ and the 8259s (not apic=1)");
        return guest_report("calc");
    }
    /* 3.1.1: VERSION_1 negotiated, both queues live; transmitq0's used
     * buffer notifications suppressed (2.7.7: the flag in its avail ring). */
    if (con && !guest_virtio_init_queues(con_regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1),
                                         (guest_vq_t *const[]){ &con_rxq, &con_txq }, 2)) {
        CHECK(false, "the console's driver initialization");
        return guest_report("calc");
    }
    con_txq.avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    /* 3.1.1: VERSION_1 and FLUSH negotiated, requestq live. */
    if (blk && !guest_virtio_init(blk_regs, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) |
                                  VIRTIO_FEATURE(BLK_F_FLUSH), BLK_QUEUE, &blk_vq)) {
        CHECK(false, "the disk's driver initialization");
        return guest_report("calc");
    }
    if (blk && (blk_regs[BLK_CFG_CAPACITY / 4] | (uint64_t)blk_regs[BLK_CFG_CAPACITY / 4 + 1]
                << 32) < (uint64_t)(rounds + carry) * BLK_SECTORS) {
        CHECK(false, "a disk with a block per round (and the carry block)");
        return guest_report("calc");
    }
    if (hz)
        timer_start(hz, apic, blk ? on_blk : con ? on_con : (void (*)(guest_frame_t *))0);
    /* SDM Vol. 1 8.3.4: FILD pushes the integer, FISTP pops it back. */
    static const int32_t mark = FPU_MARK;
    __asm__ volatile("fninit; fildl %0" : : "m"(mark));
    uint32_t x = SEED, late_ticks = 0, late_lapic = 0, disk_digest = CALC_FNV_OFFSET, disk_bad = 0;
    uint32_t con_digest = CALC_FNV_OFFSET, con_bad = 0, con_bytes = 0;
    uint64_t tsc = rdtsc();
    bool tsc_forward = true;
    uint32_t carry_good = 0;
    if (carry && !carry_round(0, carry_sector))
        disk_bad++;
    for (uint32_t r = 1; r <= rounds; r++) {
        if (r == rounds - LATE_ROUNDS + 1) {
            late_ticks = ticks;
            late_lapic = lapic_ticks;
        }
        unsigned at = 0;
        if (con) {
            text_str(&at, "calc: hvc0 round ", CON_TEXT_MAX);
            text_num(&at, r, false);
            text_str(&at, ":", CON_TEXT_MAX);
            con_bad += !con_send(con_text);
            const bool read = con_read();
            con_bad += !read;
            for (unsigned i = 0; read && i < CON_CHUNK; i++)
                con_bytes += con_in[i] != 0;
            con_digest = calc_fnv_word(con_digest, read ? *(volatile uint32_t *)con_in : 0);
        }
        x = calc_round(AREA, x);
        if (carry)
            carry_good += carry_round(r, carry_sector);
        if (blk)
            disk_bad += !blk_round(r, x, &disk_digest);
        if (con) {
            at = 0;
            text_str(&at, " read \"", CON_TEXT_MAX);
            text_str(&at, con_in, CON_CHUNK);
            text_str(&at, "\", x=0x", CON_TEXT_MAX);
            text_num(&at, x, true);
            text_str(&at, "\n", CON_TEXT_MAX);
            con_bad += !con_send(con_text);
        }
        guest_printf("calc: round %u of %u\n", r, rounds);
        const uint64_t now = rdtsc();
        tsc_forward = tsc_forward && now > tsc;
        tsc = now;
    }
    const uint32_t digest = calc_digest(AREA, x);
    int32_t back = 0;
    __asm__ volatile("fistpl %0" : "=m"(back));
    guest_printf("calc: %u rounds: digest 0x%08x\n", rounds, digest);
    guest_printf("calc: x87 st(0) kept: %s\n", back == FPU_MARK ? "yes" : "no");
    CHECK(back == FPU_MARK, "the x87 register stack kept its value");
    if (fill_words) {
        uint32_t wrong = 0;
        for (uint32_t i = 0; i < fill_words; i++)
            wrong += FILL[i] != fill_word(i);
        guest_printf("calc: fill of %u MiB kept: %s (%u wrong words)\n",
                     fill_words / ((1u << 20) / 4), wrong ? "no" : "yes", wrong);
        CHECK(!wrong, "the fill kept every word");
    }
    if (blk) {
        /* 5.2.6.1: after a FLUSH what was written is on the medium; every
         * block read again must fold to the digest of the read-backs. */
        bool kept = blk_request(BLK_T_FLUSH, 0, 0);
        uint32_t again = CALC_FNV_OFFSET;
        for (uint32_t r = 1; r <= rounds; r++) {
            kept = blk_request(BLK_T_IN, (uint64_t)(r - 1) * BLK_SECTORS, BLK_BLOCK) && kept;
            for (uint32_t i = 0; i < BLK_WORDS; i++)
                again = calc_fnv_word(again, blk_buf[i]);
        }
        kept = kept && again == disk_digest;
        guest_printf("calc: disk: %u blocks written and read back, %u interrupts, digest "
                     "0x%08x; on the disk at the end: %s\n", rounds, blk_irqs, disk_digest,
                     kept ? "yes" : "no");
        CHECK(!disk_bad, "every block read back as written, each request with its interrupt");
        CHECK(kept, "every block on the disk at the end as written");
    }
    if (carry) {
        guest_printf("calc: disk: carry block as the round before left it: %u of %u rounds: "
                     "%s\n", carry_good, rounds, carry_good == rounds ? "yes" : "no");
        CHECK(carry_good == rounds, "the carry block as the round before left it, every round");
    }
    if (con) {
        guest_printf("calc: hvc0: %u lines, %u bytes of input read, %u interrupts, digest "
                     "0x%08x\n", rounds, con_bytes, con_irqs, con_digest);
        CHECK(!con_bad, "every line sent and every input chunk read, each with its interrupt");
    }
    guest_printf("calc: tsc ran forward: %s\n", tsc_forward ? "yes" : "no");
    CHECK(tsc_forward, "the TSC ran forward through every round");
    if (hz) {
        __asm__ volatile("cli");
        const bool late = ticks != late_ticks;
        guest_printf("calc: timer: ticks in the last %u rounds: %s\n", LATE_ROUNDS,
                     late ? "yes" : "no");
        CHECK(late, "timer interrupts in the last rounds");
        if (apic) {
            const bool late_apic = lapic_ticks != late_lapic;
            guest_printf("calc: apic: pit ticks %s, lapic timer ticks %s\n",
                         late ? "yes" : "no", late_apic ? "yes" : "no");
            CHECK(late_apic, "LAPIC timer interrupts in the last rounds");
        }
    }
    return guest_report("calc");
}
