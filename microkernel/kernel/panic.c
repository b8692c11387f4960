/* kernel/panic.c - report a broken kernel invariant and stop with FAIL. */
#include "kernel/panic.h"
#include "arch/x86_64/platform.h"
#include "kernel/console.h"

void kpanic(const char *why)
{
    kprintf("PANIC: %s\n", why);
    platform_shutdown(false, "kernel panic");
}
