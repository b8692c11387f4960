/*
 * arch/x86_64/paging.h - 4-level paging entry bits (SDM Vol. 3A 4.5,
 * Tables 4-15..4-20) and the kernel's virtual memory layout.
 */
#ifndef ARCH_X86_64_PAGING_H
#define ARCH_X86_64_PAGING_H
#include <nestor/bits.h>

#define PTE_P           BIT(0)
#define PTE_W           BIT(1)
#define PTE_U           BIT(2)
#define PTE_PWT         BIT(3)
#define PTE_PCD         BIT(4)
#define PTE_A           BIT(5)
#define PTE_D           BIT(6)
#define PTE_PS          BIT(7)      /* 2 MiB / 1 GiB leaf in PD / PDPT */
#define PTE_G           BIT(8)

#define PAGE_SIZE       4096
#define LARGE_PAGE_SHIFT 21
#define LARGE_PAGE_SIZE (1 << LARGE_PAGE_SHIFT)
#define PT_ENTRIES      512

/*
 * Layout: the kernel image is linked at KERNEL_VMA + its physical address
 * (top 2 GiB, as -mcmodel=kernel requires); all of the first
 * PHYSMAP_BOOT_GIB GiB of physical memory is mapped at PHYSMAP_BASE.
 */
#define KERNEL_VMA          0xFFFFFFFF80000000
#define KERNEL_PHYS_LOAD    0x100000
#define PHYSMAP_BASE        0xFFFF800000000000
#define PHYSMAP_BOOT_GIB    4
#define PML4_INDEX_PHYSMAP  256
#define PML4_INDEX_KERNEL   511
#define PDPT_INDEX_KERNEL   510     /* KERNEL_VMA's PDPT slot */

#endif
