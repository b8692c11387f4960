/* arch/x86_64/platform.c - verdict and shutdown on QEMU and Bochs. */
#include "arch/x86_64/platform.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/serial.h"
#include "kernel/console.h"
#include <nestor/verdict.h>

void platform_shutdown(bool pass, const char *reason)
{
    __asm__ volatile("cli");
    kprintf("%s%s%s%s\n", pass ? NESTOR_VERDICT_PASS_LINE : NESTOR_VERDICT_FAIL_LINE,
            reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    /* Without draining, the emulator exits with bytes still in the FIFO. */
    serial_drain();
    outl(NESTOR_QEMU_EXIT_PORT, pass ? NESTOR_QEMU_EXIT_PASS : NESTOR_QEMU_EXIT_FAIL);
    for (const char *p = NESTOR_BOCHS_SHUTDOWN_STRING; *p; p++)
        outb(NESTOR_BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
    cpu_halt_forever();
}
