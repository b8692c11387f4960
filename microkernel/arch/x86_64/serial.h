/* arch/x86_64/serial.h - polled COM1 console. */
#ifndef ARCH_X86_64_SERIAL_H
#define ARCH_X86_64_SERIAL_H

void serial_init(void);
void serial_putc(char c);
/* Wait until every byte has left the transmitter (LSR.TEMT). */
void serial_drain(void);

#endif
