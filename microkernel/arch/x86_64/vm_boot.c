/*
 * arch/x86_64/vm_boot.c - adjust the boot page tables once in the high half.
 */
#include "arch/x86_64/vm_boot.h"
#include "arch/x86_64/io.h"

extern uint64_t boot_pml4[PT_ENTRIES];

void vm_boot_drop_identity(void)
{
    /* Low virtual addresses belong to user space from now on; a kernel
     * dereference of one (a NULL pointer, say) must fault. Reloading CR3
     * flushes the non-global TLB entries (SDM Vol. 3A 4.10.4.1). */
    boot_pml4[0] = 0;
    write_cr3(read_cr3());
}
