/*
 * kernel/boot_root.h - creating the root task from a boot module.
 */
#ifndef KERNEL_BOOT_ROOT_H
#define KERNEL_BOOT_ROOT_H
#include "boot/multiboot2.h"
#include <stdbool.h>

/* The Multiboot2 module command line that marks the root task's ELF image. */
#define ROOT_TASK_MODULE_TAG "roottask"

/*
 * Build the root task named by a "roottask NAME" module: its CSpace, VSpace,
 * TCB and boot info, and every remaining free page as untyped capabilities.
 * Returns false (after saying why) if there is no root task to start.
 */
bool boot_root_task(const mb2_boot_t *boot, uint64_t mbi_phys, uint32_t mbi_size,
                    const char *cmdline, bool vmx_present);

#endif
