/*
 * vmm-server/devices/pit8254.h - the Intel 8254 programmable interval timer
 * of a PC: three counters clocked at 1193182 Hz at ports 0x40-0x42, the
 * control word register at 0x43, and port 0x61 ("port B" of the AT system
 * control logic) carrying counter 2's GATE (bit 0) and OUT (bit 5).
 * Counter 0's OUT drives IRQ0.
 *
 * Pure model: time is guest time in nanoseconds, passed in by the VMM.
 * References: 8254 data sheet (Intel order no. 231164), "Control Word
 * Format", "Read Operations" (counter latch, read-back), "Mode Definitions".
 */
#ifndef VMM_DEVICES_PIT8254_H
#define VMM_DEVICES_PIT8254_H
#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ            1193182u
#define PIT_NS_PER_SEC    1000000000u
#define PIT_CHANNELS      3

/* Ports. */
#define PIT_PORT_CH0      0x40
#define PIT_PORT_CH1      0x41
#define PIT_PORT_CH2      0x42
#define PIT_PORT_CONTROL  0x43
#define PIT_PORT_B        0x61

/* Control word (written to 0x43). */
#define PIT_CW_SC_SHIFT   6       /* bits 7-6: counter select */
#define PIT_CW_SC_READBACK 3      /* SC = 11: read-back command */
#define PIT_CW_RW_SHIFT   4       /* bits 5-4: read/write (access) mode */
#define PIT_CW_RW_MASK    0x30
#define PIT_CW_MODE_SHIFT 1       /* bits 3-1: counter mode */
#define PIT_CW_MODE_MASK  0x0E
#define PIT_CW_BCD        0x01    /* bit 0: BCD counting */

/* Access modes (RW field). */
#define PIT_RW_LATCH      0       /* counter latch command */
#define PIT_RW_LO         1       /* least significant byte only */
#define PIT_RW_HI         2       /* most significant byte only */
#define PIT_RW_LOHI       3       /* LSB then MSB */

/* Counter modes. 6 and 7 are aliases of 2 and 3. */
#define PIT_MODE_TERMINAL_COUNT 0 /* interrupt on terminal count */
#define PIT_MODE_ONESHOT        1 /* hardware retriggerable one-shot */
#define PIT_MODE_RATE           2 /* rate generator */
#define PIT_MODE_SQUARE         3 /* square wave */
#define PIT_MODE_SW_STROBE      4 /* software triggered strobe */
#define PIT_MODE_HW_STROBE      5 /* hardware triggered strobe */

/* Read-back command: bits 5 and 4 are active low. */
#define PIT_RB_NO_COUNT   0x20
#define PIT_RB_NO_STATUS  0x10
#define PIT_RB_CHANNEL(n) (0x02u << (n))

/* Status byte (read-back). */
#define PIT_STATUS_OUT    0x80
#define PIT_STATUS_NULL   0x40

/* Port 0x61 bits. */
#define PIT_B_GATE2       0x01    /* R/W: counter 2 GATE */
#define PIT_B_SPEAKER     0x02    /* R/W: speaker data enable (stored only) */
#define PIT_B_WRITABLE    0x0F    /* bits 3-0 read back as written */
#define PIT_B_REFRESH     0x10    /* RO: toggles every refresh period */
#define PIT_B_OUT2        0x20    /* RO: counter 2 OUT */
#define PIT_REFRESH_NS    15085u  /* refresh request period, 15.085 us */

typedef struct {
    uint8_t mode;          /* effective mode 0-5 */
    uint8_t mode_bits;     /* bits 3-1 of the control word as written */
    uint8_t rw;            /* PIT_RW_* */
    bool bcd;
    bool gate;             /* counters 0 and 1: always high */
    bool write_msb;        /* LOHI: the next write is the MSB */
    uint8_t write_lsb;     /* LOHI: LSB written so far */
    bool read_msb;         /* LOHI: the next read is the MSB */
    bool count_latched;
    uint16_t latch;
    bool status_latched;
    uint8_t status;
    bool null_count;
    uint32_t reload;       /* last count written, 0 -> 65536 (10000 BCD) */
    uint32_t n;            /* the count the running cycle uses */
    bool loaded;           /* a count was written since the control word */
    bool counting;         /* the counting element runs (or waits for GATE) */
    uint64_t run_start_ns; /* when the gate last let it count */
    uint64_t elapsed;      /* ticks counted before run_start_ns */
} pit_channel_t;

typedef struct {
    pit_channel_t ch[PIT_CHANNELS];
    uint8_t port_b;        /* bits 3-0 of port 0x61 */
    uint64_t irq0_next_ns; /* next IRQ0 rising edge, UINT64_MAX if none */
} pit_t;

void pit_init(pit_t *p);
/* A port access at guest time @now_ns (@in: read into *value, else write
 * *value). Returns false, touching nothing, for ports other than 0x40-0x43
 * and 0x61. */
bool pit_io(pit_t *p, uint16_t port, bool in, uint8_t *value, uint64_t now_ns);
/* True if counter 0's OUT rose (an IRQ0 edge) since the last call that
 * returned true; missed periods are collapsed into one. */
bool pit_irq0_due(pit_t *p, uint64_t now_ns);
/* When the next IRQ0 edge is due, UINT64_MAX if none is scheduled. */
uint64_t pit_next_irq0_ns(const pit_t *p);

#endif
