/*
 * tests/guests/longmode.c - a guest that enters IA-32e mode itself, as a
 * 64-bit kernel does after a Multiboot loader (SDM Vol. 3A 9.8.5): 4-level
 * paging with 2 MiB pages, CR4.PAE, EFER.LME through WRMSR (which the VMM
 * emulates), CR0.PG. It then runs 64-bit code (longmode64.S) and comes back to
 * compatibility mode to report. Interrupts stay off: the guest library's IDT
 * is in the 32-bit format.
 */
#include "lib/guest.h"
#include "longmode.h"

#define CR0_PG    (1u << 31)
#define CR4_PAE   (1u << 5)
#define MSR_EFER  0xC0000080u
#define EFER_LME  (1u << 8)
#define EFER_LMA  (1u << 10)
#define PTE_P     (1u << 0)
#define PTE_RW    (1u << 1)
#define PTE_PCD   (1u << 4)
#define PTE_PS    (1u << 7)
#define PAGE_2M   0x200000u
#define CPUID_EXT_EDX_LM (1u << 29)
#define ALIAS_MARKER 0xA11A5ED0u

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd_low[512] __attribute__((aligned(4096)));    /* 0 - 1 GiB */
static uint64_t pd_alias[512] __attribute__((aligned(4096)));  /* 1 - 2 GiB */
static uint64_t pd_apic[512] __attribute__((aligned(4096)));   /* 3 - 4 GiB */

/* Null, flat 32-bit code, flat data, 64-bit code (L = 1, SDM 3.4.5). */
static const uint64_t gdt[] __attribute__((aligned(8))) = {
    0, 0x00CF9A000000FFFFULL, 0x00CF92000000FFFFULL, 0x00AF9A000000FFFFULL,
};

static void build_tables(void)
{
    for (unsigned i = 0; i < 512; i++)             /* identity, 2 MiB pages */
        pd_low[i] = (uint64_t)i * PAGE_2M | PTE_P | PTE_RW | PTE_PS;
    pd_alias[0] = (LM_ALIAS_GPA & ~(PAGE_2M - 1)) | PTE_P | PTE_RW | PTE_PS;
    uint32_t apic_page = LM_LAPIC_VERSION_GPA & ~(PAGE_2M - 1);
    pd_apic[(apic_page >> 21) & 511] = apic_page | PTE_P | PTE_RW | PTE_PCD | PTE_PS;
    pdpt[0] = (uint32_t)pd_low | PTE_P | PTE_RW;
    pdpt[1] = (uint32_t)pd_alias | PTE_P | PTE_RW;
    pdpt[3] = (uint32_t)pd_apic | PTE_P | PTE_RW;
    pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW;
}

int guest_main(void)
{
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    build_tables();
    *(volatile uint32_t *)LM_ALIAS_GPA = ALIAS_MARKER;

    write_cr4(read_cr4() | CR4_PAE);
    write_cr3((uint32_t)pml4);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_LME);
    write_cr0(read_cr0() | CR0_PG);               /* IA-32e mode: compatibility mode */
    uint64_t efer = rdmsr(MSR_EFER);
    CHECK((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
          "EFER.LME set through WRMSR, EFER.LMA set by paging");

    struct lm_results r = { 0 };
    long_mode_probe(&r);
    CHECK(r.ran64 == 1, "64-bit code ran and came back");
    CHECK(r.wide == LM_WIDE_EXPECTED, "64-bit arithmetic");
    CHECK(r.ext_edx & CPUID_EXT_EDX_LM, "CPUID.80000001h:EDX.LM is set");
    CHECK((r.lapic_version & 0xFF) == 0x14, "LAPIC MMIO load from 64-bit code");
    CHECK(r.alias == ALIAS_MARKER, "a 2 MiB page maps 1 GiB onto guest-physical 2 MiB");
    uint64_t buf = (uint64_t)(uintptr_t)r.str_buf;
    CHECK(r.str_rdi == buf + 3 && r.str_rcx == 0, "64-bit REP INSB: RDI + 3, RCX 0");
    CHECK(r.str32_rdi == buf + 5 && r.str32_rcx == 0,
          "0x67 REP INSB in 64-bit mode: EDI/ECX counted, written zero-extended");
    CHECK(r.cr8_tpr == LM_CR8_VALUE << 4 && r.tpr_cr8 == LM_TPR_VALUE >> 4,
          "CR8 is the LAPIC TPR's priority class, both ways (10.8.6.1)");
    CHECK(r.str_buf[0] == 0xFF && r.str_buf[4] == 0xFF && r.str_buf[5] == 0,
          "64-bit INSB wrote exactly 5 bytes of all ones");
    guest_printf("longmode: EFER 0x%x, 64-bit result 0x%x%08x\n", (unsigned)efer,
                 (unsigned)(r.wide >> 32), (unsigned)r.wide);
    return guest_report("longmode");
}
