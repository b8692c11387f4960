/* kernel/console.h - kernel console output (COM1). */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct tcb;
/* A user thread's debug character (NESTOR_SYS_DEBUG_PUTCHAR): kept in its
 * line until '\n' or a full line, then the line is written whole. */
void console_thread_putc(struct tcb *t, char c);
/* Write what @t has of a line now (it blocks, faults or is deleted). */
void console_thread_flush(struct tcb *t);

#endif
