/* arch/x86_64/serial.h - polled COM1 console. */
#ifndef ARCH_X86_64_SERIAL_H
#define ARCH_X86_64_SERIAL_H
#include <stdint.h>

void serial_init(void);
void serial_putc(char c);
/* @n bytes, each newline as CR LF, a transmit FIFO's worth per LSR look. */
void serial_write(const char *s, uint64_t n);
/* Wait until every byte has left the transmitter (LSR.TEMT). */
void serial_drain(void);

#endif
