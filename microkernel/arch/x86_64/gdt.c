/*
 * arch/x86_64/gdt.c - kernel GDT and 64-bit TSS with IST stacks.
 */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/seg.h"
#include <stdint.h>

#define IST_STACK_SIZE 4096


typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
} desc_ptr_t;

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static desc_ptr_t gdt_ptr;
tss_iopb_t tss_iopb __attribute__((aligned(16)));
static uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

/* 16-byte TSS descriptor (SDM Vol. 3A 7.2.3, Figure 7-4). */
static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
    slot[0] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 |
              (uint64_t)(DESC_TYPE_TSS64_AVAIL | DESC_PRESENT) << 40 |
              (uint64_t)((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
    slot[1] = base >> 32;
}

void iopb_set(uint16_t first, uint16_t last, int allow)
{
    for (uint32_t p = first; p <= last; p++) {
        uint8_t bit = (uint8_t)(1u << (p % 8));
        if (allow)
            tss_iopb.iopb[p / 8] &= (uint8_t)~bit;
        else
            tss_iopb.iopb[p / 8] |= bit;
    }
}

uint64_t gdt_base(void)
{
    return (uint64_t)(uintptr_t)gdt;
}

void gdt_init(void)
{
    gdt[GDT_NULL] = 0;
    gdt[GDT_KCODE] = DESC_KCODE64;
    gdt[GDT_KDATA] = DESC_KDATA;
    gdt[GDT_UCODE32] = DESC_UCODE32;
    gdt[GDT_UDATA] = DESC_UDATA;
    gdt[GDT_UCODE64] = DESC_UCODE64;
    for (int i = 0; i < IST_COUNT; i++)
        tss_iopb.tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][IST_STACK_SIZE];
    /* Every port denied until a thread with an I/O grant runs. */
    __builtin_memset(tss_iopb.iopb, 0xFF, sizeof(tss_iopb.iopb));
    tss_iopb.iopb_end = 0xFF;
    tss_iopb.tss.iomap_base = sizeof(tss64_t);
    set_tss_descriptor(&gdt[GDT_TSS], (uint64_t)(uintptr_t)&tss_iopb, sizeof(tss_iopb) - 1);

    gdt_ptr = (desc_ptr_t){ sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w2, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "ltr %w3"
        :
        : "m"(gdt_ptr), "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(SEL_TSS)
        : "rax", "memory");
}

/*
 * SDM 27.5.2: a VM exit loads GDTR and IDTR bases from the VMCS but sets
 * both limits to 0xFFFF, and gives TR the limit 0x67. A GDT limit past the
 * table lets a user selector index kernel memory (a planted call gate runs
 * user code in ring 0); a TR limit of 0x67 cuts the I/O permission bitmap
 * off, so every granted user IN/OUT faults. Reload all three. LTR needs the
 * descriptor's busy bit clear (SDM 7.2.2, LTR): the CPU set it at the first
 * LTR and it is still set.
 */
void gdt_restore_after_vm_exit(void)
{
    gdt[GDT_TSS] &= ~((uint64_t)DESC_TSS_BUSY_BIT << 40);
    __asm__ volatile("lgdt %0\n\tltr %w1" : : "m"(gdt_ptr), "r"(SEL_TSS) : "memory");
}
