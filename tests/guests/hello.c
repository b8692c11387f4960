/*
 * tests/guests/hello.c - the smallest guest: console output through the
 * virtual UART, CPUID through the VMM, the Multiboot handoff, then a clean
 * exit. Also booted bare (GRUB on Bochs, tests/system/guest-hello.spec):
 * the checks that depend on whether a hypervisor is underneath make as many
 * checks both ways, and the RAM size (the machine's, not a result) is a
 * marked line the spec checks under the VMM.
 */
#include "lib/guest.h"
#include <x86_arch.h>

/* The Multiboot memory map holds an available-RAM entry at @base of exactly
 * @bytes (Multiboot 0.6.96 3.3: mem_upper is the RAM from 1 MiB up to the
 * first hole). */
static int mmap_has_ram(const guest_mb_info_t *mb, uint64_t base, uint64_t bytes)
{
    if (!(mb->flags & GUEST_MB_INFO_MMAP))
        return 0;
    for (uint32_t off = 0; off + sizeof(guest_mb_mmap_t) <= mb->mmap_length;) {
        const guest_mb_mmap_t *e = (const guest_mb_mmap_t *)(uintptr_t)(mb->mmap_addr + off);
        if (e->type == GUEST_MB_MMAP_RAM && e->base == base && e->length == bytes)
            return 1;
        off += e->size + sizeof(e->size);
    }
    return 0;
}

/* Bare, CPUID.1:ECX.VMX shows the machine's VMX: CR4.VMXE can then be set
 * (SDM Vol. 3C 23.7: it enables VMX operation; a reserved bit without VMX). */
static int vmxe_sticks(void)
{
    uint32_t cr4 = read_cr4();
    write_cr4(cr4 | X86_CR4_VMXE);
    int set = (read_cr4() & X86_CR4_VMXE) != 0;
    write_cr4(cr4);
    return set;
}

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
    int hypervisor = (f.ecx & CPUID_1_ECX_HYPERVISOR) != 0;
    CHECK(hypervisor == !guest_bare, "CPUID.1:ECX.hypervisor is set under the VMM, clear bare");
    if (hypervisor)
        CHECK(!(f.ecx & CPUID_1_ECX_VMX), "CPUID.1:ECX.VMX is hidden by the VMM");
    else
        CHECK(!(f.ecx & CPUID_1_ECX_VMX) || vmxe_sticks(), "bare: CPUID.1:ECX.VMX shown, CR4.VMXE sets");
    /* Loaded by its Multiboot header: the loader's magic and memory sizes. */
    const guest_mb_info_t *mb = (const guest_mb_info_t *)guest_boot_info;
    CHECK(guest_boot_magic == GUEST_MB_LOADER_MAGIC, "EAX holds the Multiboot loader magic");
    CHECK(mb && (mb->flags & GUEST_MB_INFO_MEM) && mb->mem_lower <= 640 &&
              mmap_has_ram(mb, 1u << 20, (uint64_t)mb->mem_upper << 10),
          "Multiboot memory information: mem_upper is the memory map's RAM at 1 MiB");
    if (mb && (mb->flags & GUEST_MB_INFO_MEM))
        guest_env_printf("hello: memory: %u KiB lower, %u KiB upper\n", mb->mem_lower, mb->mem_upper);
    if (mb && (mb->flags & GUEST_MB_INFO_CMDLINE))
        guest_env_printf("command line: \"%s\"\n", (const char *)(uintptr_t)mb->cmdline);
    return guest_report("hello");
}
