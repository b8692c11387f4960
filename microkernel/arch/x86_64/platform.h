/* arch/x86_64/platform.h - ending the system on the emulators we boot on. */
#ifndef ARCH_X86_64_PLATFORM_H
#define ARCH_X86_64_PLATFORM_H
#include <stdbool.h>

/*
 * Print the verdict line (nestor/verdict.h), drain the UART and stop the
 * machine: QEMU's isa-debug-exit, then Bochs's shutdown port, then halt.
 * @reason may be NULL.
 */
__attribute__((noreturn)) void platform_shutdown(bool pass, const char *reason);

#endif
