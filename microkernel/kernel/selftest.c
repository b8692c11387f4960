/* kernel/selftest.c - deliberate faults for the exception-path tests. */
#include "kernel/selftest.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include <stdint.h>
#include <string.h>

#define FAULT_OPTION_MAX 16

void selftest_run(const char *cmdline)
{
    char what[FAULT_OPTION_MAX];
    if (!cmdline_get(cmdline, "fault", what, sizeof(what)))
        return;
    if (strcmp(what, "gp") == 0) {
        kprintf("selftest: raising #GP by reading non-canonical 0x%llx\n",
                SELFTEST_GP_ADDRESS);
        (void)*(volatile uint64_t *)SELFTEST_GP_ADDRESS;
    } else if (strcmp(what, "pf") == 0) {
        kprintf("selftest: raising #PF by reading unmapped 0x%llx\n", SELFTEST_PF_ADDRESS);
        (void)*(volatile uint64_t *)SELFTEST_PF_ADDRESS;
    } else {
        kprintf("selftest: unknown fault=%s ignored (expected gp or pf)\n", what);
        return;
    }
    kprintf("selftest: the deliberate fault did not happen\n");
}
