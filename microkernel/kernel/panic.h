/*
 * kernel/panic.h - stopping the kernel on a broken internal invariant.
 *
 * Never reachable from user-supplied arguments: every call site says which
 * invariant failed. `grep -rn kpanic microkernel/` lists them all.
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

__attribute__((noreturn)) void kpanic(const char *why);

#endif
