/*
 * tests/guests/hostile_vmcall.c - a hostile guest: hypercalls with numbers
 * the VMM does not define. Each must fail with VMM_HC_ERROR (all ones in
 * EAX) and leave the VM running; a defined one still works afterwards.
 */
#include "lib/guest.h"
#include <vmm_hypercall.h>

#define CALLS    100u

static uint32_t vmcall(uint32_t nr, uint32_t arg)
{
    uint32_t r;
    __asm__ volatile("vmcall" : "=a"(r) : "a"(nr), "b"(arg) : "memory");
    return r;
}

int guest_main(void)
{
    uint32_t bad = 0, nr = 0x12345679u;
    for (unsigned i = 0; i < CALLS; i++) {
        nr = nr * 1103515245u + 12345u;
        if (nr < 16)
            continue;                   /* keep clear of the defined numbers */
        bad += vmcall(nr, ~nr) != (uint32_t)VMM_HC_ERROR;
    }
    CHECK(bad == 0, "undefined hypercalls fail with VMM_HC_ERROR");
    CHECK(vmcall(VMM_HC_PING, 0) == 0, "a defined hypercall still works afterwards");
    return guest_report("hostile-vmcall");
}
