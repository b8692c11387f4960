/* nestor/limits.h - scheduling and other system-wide limits. */
#ifndef NESTOR_LIMITS_H
#define NESTOR_LIMITS_H

#define NESTOR_PRIORITIES       256
#define NESTOR_PRIORITY_MAX     (NESTOR_PRIORITIES - 1)
#define NESTOR_TIMESLICE_TICKS  5      /* timer ticks per time slice */
#define NESTOR_TIMER_HZ         1000   /* LAPIC timer tick rate (kernel option timer_hz=) */
#define NESTOR_TIMER_HZ_MIN     10     /* the lowest timer_hz= takes */
#define NESTOR_CALL_TIMEOUT_MAX_MS 3600000u  /* NESTOR_TCB_SET_CALL_TIMEOUT: an hour */
/* First address user code may not map or run at. The last page below the
 * non-canonical hole stays unmappable, so no instruction can leave RIP at
 * 2^47, where SYSRET/IRETQ would fault in ring 0 (SDM Vol. 2B SYSRET). */
#define NESTOR_USER_TOP         0x00007FFFFFFFF000ULL
#define NESTOR_IRQ_LINES        16     /* legacy ISA IRQs 0-15 */
#define NESTOR_IOPORTS          65536

#endif
