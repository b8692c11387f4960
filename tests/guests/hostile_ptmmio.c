/*
 * tests/guests/hostile_ptmmio.c - a guest whose page table lies in the
 * LAPIC page: the CPU's page walk, not the instruction, touches the device
 * (EPT-violation qualification bit 8 clear, SDM Vol. 3C Table 27-7). The VMM
 * must not emulate the instruction as if its operand were the LAPIC; it stops
 * the VM and says why.
 */
#include "lib/guest.h"

#define CR0_PG       (1u << 31)
#define CR4_PSE      (1u << 4)
#define PDE_P        0x1
#define PDE_W        0x2
#define PDE_PS       0x80
#define LAPIC_GPA    0xFEE00000u
#define WALKED_VA    0x40000000u     /* its page table is the LAPIC page */

static uint32_t page_dir[1024] __attribute__((aligned(4096)));

int guest_main(void)
{
    for (unsigned i = 0; i < 2; i++)                 /* identity: the first 8 MiB */
        page_dir[i] = (i << 22) | PDE_P | PDE_W | PDE_PS;
    page_dir[WALKED_VA >> 22] = LAPIC_GPA | PDE_P | PDE_W;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)page_dir);
    write_cr0(read_cr0() | CR0_PG);
    guest_printf("hostile: loading through a page table in the LAPIC page\n");
    uint32_t v = *(volatile uint32_t *)WALKED_VA;
    guest_printf("hostile: still running after a page walk through MMIO (read 0x%x)\n", v);
    return 1;
}
