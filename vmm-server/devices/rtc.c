/*
 * vmm-server/devices/rtc.c - the MC146818 RTC and CMOS RAM (see rtc.h).
 *
 * The clock registers are a view of guest time = unix_seconds + offset,
 * converted to a Gregorian date (proleptic, UTC) on every read. Writing a
 * clock register moves the offset. The usual way to set the clock (set B.SET,
 * write the registers, clear B.SET) edits a frozen copy of the time that
 * takes effect when SET is cleared, as the data sheet describes ("Register
 * B", SET bit: updates are inhibited while it is 1).
 *
 * Register C: UF is set when the guest observes that the second changed
 * since its previous access (an update cycle ended), AF when the new time
 * matches the alarm bytes, IRQF when a flag is set whose enable bit in B is
 * set. PF is never set and no IRQ8 is raised (no periodic interrupt).
 */
#include "devices/rtc.h"
#include <string.h>

#define SECS_PER_DAY   86400u
#define DAYS_PER_400Y  146097u   /* days in any 400 consecutive Gregorian years */
#define EPOCH_YEAR     1970u
#define EPOCH_WEEKDAY  4u        /* 1970-01-01 was a Thursday */

static bool leap_year(uint64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static uint32_t days_in_year(uint64_t y)
{
    return leap_year(y) ? 366 : 365;
}

static uint32_t days_in_month(uint64_t y, uint32_t m)
{
    static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Unix seconds -> broken-down UTC time. At most 400 + 12 loop rounds. */
static void to_time(uint64_t t, rtc_time_t *tm)
{
    uint64_t days = t / SECS_PER_DAY;
    uint32_t secs = (uint32_t)(t % SECS_PER_DAY);
    tm->hour = secs / 3600;
    tm->minute = secs / 60 % 60;
    tm->second = secs % 60;
    tm->weekday = (uint32_t)((days + EPOCH_WEEKDAY) % 7);
    uint64_t year = EPOCH_YEAR + days / DAYS_PER_400Y * 400;
    days %= DAYS_PER_400Y;
    while (days >= days_in_year(year))
        days -= days_in_year(year++);
    uint32_t month = 1;
    while (days >= days_in_month(year, month))
        days -= days_in_month(year, month++);
    tm->year = year;
    tm->month = month;
    tm->day = (uint32_t)days + 1;
}

/* Broken-down time -> Unix seconds. Out-of-range fields carry over (day 31
 * of a 30-day month is the 1st of the next); the month is clamped to 1-12
 * and years before 1970 count as 1970. Wraps modulo 2^64, never traps. */
static uint64_t from_time(const rtc_time_t *tm)
{
    uint64_t year = tm->year < EPOCH_YEAR ? EPOCH_YEAR : tm->year;
    uint64_t cycles = (year - EPOCH_YEAR) / 400;
    uint64_t days = cycles * DAYS_PER_400Y;
    for (uint64_t y = EPOCH_YEAR + cycles * 400; y < year; y++)
        days += days_in_year(y);
    uint32_t month = tm->month < 1 ? 1 : tm->month > 12 ? 12 : tm->month;
    for (uint32_t m = 1; m < month; m++)
        days += days_in_month(year, m);
    days += tm->day ? tm->day - 1 : 0;
    return days * SECS_PER_DAY + (uint64_t)tm->hour * 3600 + (uint64_t)tm->minute * 60 +
           tm->second;
}

/* Data format per register B (data sheet, "Time, Calendar and Alarm Data
 * Modes"): DM = 1 binary, DM = 0 BCD. */
static uint8_t encode(const rtc_t *r, uint64_t v)
{
    v %= 100;
    if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)((v / 10) << 4 | v % 10);
}

static uint32_t decode(const rtc_t *r, uint8_t v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
        return v;
    return (uint32_t)(v >> 4) * 10 + (v & 0xF);
}

/* 12-hour mode: 12 AM is midnight, bit 7 set for PM. */
static uint8_t encode_hour(const rtc_t *r, uint32_t h)
{
    if (r->cmos[RTC_REG_B] & RTC_B_24H)
        return encode(r, h);
    h %= 24;
    return (uint8_t)(encode(r, h % 12 ? h % 12 : 12) | (h >= 12 ? RTC_HOURS_PM : 0));
}

static uint32_t decode_hour(const rtc_t *r, uint8_t v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_24H)
        return decode(r, v);
    return decode(r, v & (uint8_t)~RTC_HOURS_PM) % 12 + (v & RTC_HOURS_PM ? 12 : 0);
}

static bool is_clock_reg(uint8_t idx)
{
    switch (idx) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
    case RTC_DAY: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        return true;
    default:
        return false;
    }
}

static uint64_t guest_time(const rtc_t *r, uint64_t unix_seconds)
{
    return unix_seconds + r->offset;   /* modulo 2^64 */
}

void rtc_init(rtc_t *r)
{
    memset(r, 0, sizeof(*r));
    r->cmos[RTC_REG_A] = RTC_A_RESET;
    r->cmos[RTC_REG_B] = RTC_B_RESET;
}

static bool alarm_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE || alarm == now;
}

/* Register C flags from the passage of time since the previous access. */
static void update_flags(rtc_t *r, uint64_t unix_seconds)
{
    if (r->cmos[RTC_REG_B] & RTC_B_SET)
        return;                                  /* updates inhibited */
    uint64_t t = guest_time(r, unix_seconds);
    if (r->seen && t != r->last_seen) {
        rtc_time_t tm;
        to_time(t, &tm);
        uint8_t c = r->cmos[RTC_REG_C] | RTC_C_UF;
        if (alarm_matches(r->cmos[RTC_SECONDS_ALARM], encode(r, tm.second)) &&
            alarm_matches(r->cmos[RTC_MINUTES_ALARM], encode(r, tm.minute)) &&
            alarm_matches(r->cmos[RTC_HOURS_ALARM], encode_hour(r, tm.hour)))
            c |= RTC_C_AF;
        /* B's PIE/AIE/UIE sit at the bit positions of C's PF/AF/UF. */
        if (c & r->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF))
            c |= RTC_C_IRQF;
        r->cmos[RTC_REG_C] = c;
    }
    r->last_seen = t;
    r->seen = true;
}

static void current_time(const rtc_t *r, uint64_t unix_seconds, rtc_time_t *tm)
{
    if (r->cmos[RTC_REG_B] & RTC_B_SET)
        *tm = r->set_time;
    else
        to_time(guest_time(r, unix_seconds), tm);
}

static uint8_t read_clock(const rtc_t *r, uint8_t idx, uint64_t unix_seconds)
{
    rtc_time_t tm;
    current_time(r, unix_seconds, &tm);
    switch (idx) {
    case RTC_SECONDS:     return encode(r, tm.second);
    case RTC_MINUTES:     return encode(r, tm.minute);
    case RTC_HOURS:       return encode_hour(r, tm.hour);
    case RTC_DAY_OF_WEEK: return encode(r, tm.weekday % 7 + 1);
    case RTC_DAY:         return encode(r, tm.day);
    case RTC_MONTH:       return encode(r, tm.month);
    case RTC_YEAR:        return encode(r, tm.year % 100);
    default:              return encode(r, tm.year / 100 % 100);  /* RTC_CENTURY */
    }
}

static void write_clock(rtc_t *r, uint8_t idx, uint8_t v, uint64_t unix_seconds)
{
    rtc_time_t tm;
    current_time(r, unix_seconds, &tm);
    switch (idx) {
    case RTC_SECONDS:     tm.second = decode(r, v); break;
    case RTC_MINUTES:     tm.minute = decode(r, v); break;
    case RTC_HOURS:       tm.hour = decode_hour(r, v); break;
    case RTC_DAY_OF_WEEK: tm.weekday = (decode(r, v) + 6) % 7; break;
    case RTC_DAY:         tm.day = decode(r, v); break;
    case RTC_MONTH:       tm.month = decode(r, v); break;
    case RTC_YEAR:        tm.year = tm.year / 100 * 100 + decode(r, v); break;
    default:              tm.year = (uint64_t)decode(r, v) * 100 + tm.year % 100; break;
    }
    if (r->cmos[RTC_REG_B] & RTC_B_SET) {
        r->set_time = tm;          /* takes effect when SET is cleared */
        return;
    }
    /* The day of the week follows from the date outside the SET window. */
    r->offset = from_time(&tm) - unix_seconds;
    r->last_seen = guest_time(r, unix_seconds);
}

static void write_reg_b(rtc_t *r, uint8_t v, uint64_t unix_seconds)
{
    uint8_t old = r->cmos[RTC_REG_B];
    if (v & RTC_B_SET)
        v &= (uint8_t)~RTC_B_UIE;  /* data sheet: setting SET clears UIE */
    if (!(old & RTC_B_SET) && (v & RTC_B_SET))
        to_time(guest_time(r, unix_seconds), &r->set_time);
    if ((old & RTC_B_SET) && !(v & RTC_B_SET)) {
        r->offset = from_time(&r->set_time) - unix_seconds;
        r->last_seen = guest_time(r, unix_seconds);
        r->seen = true;
    }
    r->cmos[RTC_REG_B] = v;
}

bool rtc_io(rtc_t *r, uint16_t port, bool in, uint8_t *value, uint64_t unix_seconds)
{
    if (port == RTC_PORT_INDEX) {
        if (in)
            *value = 0xFF;         /* the index register is write-only */
        else
            r->index = *value & RTC_INDEX_MASK;
        return true;
    }
    if (port != RTC_PORT_DATA)
        return false;
    uint8_t idx = r->index;
    update_flags(r, unix_seconds);
    if (in) {
        if (is_clock_reg(idx)) {
            *value = read_clock(r, idx, unix_seconds);
        } else if (idx == RTC_REG_A) {
            *value = r->cmos[RTC_REG_A] & RTC_A_WRITABLE;  /* UIP always 0 */
        } else if (idx == RTC_REG_C) {
            *value = r->cmos[RTC_REG_C];
            r->cmos[RTC_REG_C] = 0;                      /* cleared by reading */
        } else if (idx == RTC_REG_D) {
            *value = RTC_D_VRT;
        } else {
            *value = r->cmos[idx];  /* B, alarm bytes, RAM */
        }
        return true;
    }
    uint8_t v = *value;
    if (is_clock_reg(idx))
        write_clock(r, idx, v, unix_seconds);
    else if (idx == RTC_REG_A)
        r->cmos[RTC_REG_A] = v & RTC_A_WRITABLE;
    else if (idx == RTC_REG_B)
        write_reg_b(r, v, unix_seconds);
    else if (idx != RTC_REG_C && idx != RTC_REG_D)
        r->cmos[idx] = v;
    return true;
}
