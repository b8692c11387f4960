/*
 * nestor/verdict.h - how a Nestor system reports its end to the host.
 *
 * The last thing a system prints is one verdict line on COM1; host tools
 * (tools/judge) read it to decide whether a boot passed. This header is the
 * only definition of those lines: kernel, user space and host tools include it.
 */
#ifndef NESTOR_VERDICT_H
#define NESTOR_VERDICT_H

/* Printed at the start of a line, followed by an optional "(reason)". */
#define NESTOR_VERDICT_PASS_LINE "nestor: verdict: PASS"
#define NESTOR_VERDICT_FAIL_LINE "nestor: verdict: FAIL"

/*
 * QEMU's isa-debug-exit device (iobase 0xf4, iosize 4) ends QEMU with status
 * (value << 1) | 1, so PASS exits 33 and FAIL exits 35.
 */
#define NESTOR_QEMU_EXIT_PORT 0xf4
#define NESTOR_QEMU_EXIT_PASS 0x10
#define NESTOR_QEMU_EXIT_FAIL 0x11

/*
 * A test guest's line that may differ between the guest booted bare (GRUB on
 * the emulator, no Nestor) and the same guest under Nestor's VMM: a value of
 * the machine (memory size, a frequency, a known deviation of the emulator
 * from the SDM) rather than a result. It starts with this mark; the serial
 * judge's bare-against-virtual comparison (tools/judge, 'compare: bare' in a
 * spec) leaves such lines out and demands every other line be the same.
 */
#define NESTOR_ENV_LINE_MARK "~ "

/* Bochs quits when the string below is written byte by byte to this port. */
#define NESTOR_BOCHS_SHUTDOWN_PORT 0x8900
#define NESTOR_BOCHS_SHUTDOWN_STRING "Shutdown"

#endif
