/*
 * tests/guests/hello.c - the smallest guest: console output through the
 * virtual UART, CPUID through the VMM, then a clean exit.
 */
#include "lib/guest.h"

int guest_main(void)
{
    guest_printf("hello from a guest under Nestor\n");
    guest_cpuid_t v = guest_cpuid(0, 0);
    char vendor[13];
    __builtin_memcpy(vendor, &v.ebx, 4);
    __builtin_memcpy(vendor + 4, &v.edx, 4);
    __builtin_memcpy(vendor + 8, &v.ecx, 4);
    vendor[12] = 0;
    guest_printf("cpu vendor as the VMM shows it: %s\n", vendor);
    guest_cpuid_t f = guest_cpuid(1, 0);
    CHECK(f.ecx & (1u << 31), "CPUID.1:ECX.hypervisor is set");
    CHECK(!(f.ecx & (1u << 5)), "CPUID.1:ECX.VMX is hidden");
    /* Loaded by its Multiboot header: the loader's magic and memory sizes. */
    const guest_mb_info_t *mb = (const guest_mb_info_t *)guest_boot_info;
    CHECK(guest_boot_magic == GUEST_MB_LOADER_MAGIC, "EAX holds the Multiboot loader magic");
    CHECK(guest_boot_info && (mb->flags & 1) && mb->mem_lower == 640 &&
              mb->mem_upper == (8u << 10) - 1024, "Multiboot memory information: 8 MiB of RAM");
    if (mb && (mb->flags & GUEST_MB_INFO_CMDLINE))
        guest_printf("command line: \"%s\"\n", (const char *)(uintptr_t)mb->cmdline);
    return guest_report("hello");
}
