/* arch/x86_64/vm_boot.h - the boot address space built by boot.S. */
#ifndef ARCH_X86_64_VM_BOOT_H
#define ARCH_X86_64_VM_BOOT_H
#include "arch/x86_64/paging.h"
#include <stdint.h>

#define PHYSMAP_BOOT_LIMIT ((uint64_t)PHYSMAP_BOOT_GIB << 30)

/* Remove the identity mapping of low memory used only to enter long mode. */
void vm_boot_drop_identity(void);

/* Kernel pointer to physical address @pa (below PHYSMAP_BOOT_LIMIT). */
static inline void *phys_to_virt(uint64_t pa)
{
    return (void *)(uintptr_t)(PHYSMAP_BASE + pa);
}

#endif
