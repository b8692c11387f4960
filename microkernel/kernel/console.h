/* kernel/console.h - kernel console output (COM1). */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
