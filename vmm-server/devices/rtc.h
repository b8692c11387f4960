/*
 * vmm-server/devices/rtc.h - the Motorola MC146818 real-time clock and its
 * CMOS RAM as found in a PC: index port 0x70 (bit 7 is the NMI mask, which
 * this model ignores), data port 0x71.
 *
 * Pure model: the current time is passed in as Unix seconds on every access;
 * the clock registers are computed from it (plus an offset the guest sets by
 * writing the clock), never counted. References: MC146818A data sheet,
 * "Address Map", "Time, Calendar and Alarm Locations", "Registers A-D";
 * register 0x32 (century) is the PC/AT convention.
 */
#ifndef VMM_DEVICES_RTC_H
#define VMM_DEVICES_RTC_H
#include <stdbool.h>
#include <stdint.h>

/* Ports. */
#define RTC_PORT_INDEX    0x70
#define RTC_PORT_DATA     0x71
#define RTC_INDEX_MASK    0x7F    /* bit 7 of an index write masks NMI: ignored */
#define RTC_CMOS_SIZE     128

/* Register indexes. */
#define RTC_SECONDS       0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES       0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS         0x04
#define RTC_HOURS_ALARM   0x05
#define RTC_DAY_OF_WEEK   0x06    /* 1 = Sunday */
#define RTC_DAY           0x07
#define RTC_MONTH         0x08
#define RTC_YEAR          0x09    /* year % 100 */
#define RTC_REG_A         0x0A
#define RTC_REG_B         0x0B
#define RTC_REG_C         0x0C
#define RTC_REG_D         0x0D
#define RTC_NVRAM_FIRST   0x0E    /* 0x0E-0x7F: battery-backed RAM ... */
#define RTC_CENTURY       0x32    /* ... except the century byte */

/* Register A. */
#define RTC_A_UIP         0x80    /* update in progress: always 0 here */
#define RTC_A_WRITABLE    0x7F    /* divider (6-4) and rate select (3-0) */
#define RTC_A_RESET       0x26    /* 32.768 kHz time base, 1024 Hz rate */

/* Register B. */
#define RTC_B_SET         0x80    /* halt updates while the clock is set */
#define RTC_B_PIE         0x40
#define RTC_B_AIE         0x20
#define RTC_B_UIE         0x10
#define RTC_B_SQWE        0x08
#define RTC_B_DM_BINARY   0x04    /* 1: binary, 0: BCD */
#define RTC_B_24H         0x02    /* 1: 24-hour, 0: 12-hour (bit 7 of hours = PM) */
#define RTC_B_DSE         0x01
#define RTC_B_RESET       RTC_B_24H

/* Register C (read-only, cleared by reading). */
#define RTC_C_IRQF        0x80
#define RTC_C_PF          0x40
#define RTC_C_AF          0x20
#define RTC_C_UF          0x10

/* Register D (read-only). */
#define RTC_D_VRT         0x80    /* valid RAM and time */

#define RTC_HOURS_PM      0x80    /* 12-hour mode */
#define RTC_ALARM_DONT_CARE 0xC0  /* alarm bytes 0xC0-0xFF match any value */

/* A broken-down time (binary, 24-hour). */
typedef struct {
    uint64_t year;
    uint32_t month, day, hour, minute, second, weekday;  /* weekday: 0 = Sunday */
} rtc_time_t;

typedef struct {
    uint8_t index;
    uint8_t cmos[RTC_CMOS_SIZE]; /* alarms, A, B, C and the RAM bytes */
    uint64_t offset;             /* guest time = unix_seconds + offset (mod 2^64) */
    rtc_time_t set_time;         /* the clock being set while B.SET is 1 */
    uint64_t last_seen;          /* guest time at the last access (UF/AF) */
    bool seen;
} rtc_t;

void rtc_init(rtc_t *r);
/* A port access when the host says it is @unix_seconds (@in: read into
 * *value, else write *value). Returns false, touching nothing, for ports
 * other than 0x70 and 0x71. */
bool rtc_io(rtc_t *r, uint16_t port, bool in, uint8_t *value, uint64_t unix_seconds);

#endif
