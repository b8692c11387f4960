/*
 * tests/guests/exceptions.c - exceptions inside the guest are the guest's:
 * #UD, #GP, #DE, #BP and #PF go through its own IDT (the VMM intercepts
 * none of them), and its handlers fix things up and continue.
 */
#include "lib/guest.h"

#define CR0_PG    (1u << 31)
#define CR4_PSE   (1u << 4)
#define PDE_P     0x1
#define PDE_W     0x2
#define PDE_PS    0x80              /* 4 MiB page */
#define PAGE_4M_SHIFT 22
#define MAPPED_4M_PAGES 2           /* identity: the first 8 MiB */
#define FAULT_ADDR 0x40000123u      /* unmapped until the #PF handler maps it */

static volatile unsigned seen[GUEST_IDT_VECTORS];
static volatile uint32_t last_error, last_cr2;
static uint32_t page_dir[1024] __attribute__((aligned(4096)));

static void skip(guest_frame_t *f, unsigned len)
{
    seen[f->vector]++;
    last_error = f->error;
    f->eip += len;
}

static void on_ud(guest_frame_t *f) { skip(f, 2); }   /* ud2 */
static void on_gp(guest_frame_t *f) { skip(f, 2); }   /* mov %ax, %ds */
static void on_de(guest_frame_t *f) { skip(f, 2); }   /* div %ecx */
static void on_bp(guest_frame_t *f) { seen[f->vector]++; }   /* a trap: eip is already past */

static void on_pf(guest_frame_t *f)
{
    seen[f->vector]++;
    last_error = f->error;
    last_cr2 = read_cr2();
    /* Map the 4 MiB page holding the address onto physical 0, then retry. */
    page_dir[last_cr2 >> PAGE_4M_SHIFT] = PDE_P | PDE_W | PDE_PS;
    write_cr3((uint32_t)(uintptr_t)page_dir);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(6, on_ud);
    guest_set_handler(13, on_gp);
    guest_set_handler(0, on_de);
    guest_set_handler(3, on_bp);
    guest_set_handler(14, on_pf);

    __asm__ volatile("ud2");
    CHECK(seen[6] == 1, "#UD delivered to the guest's handler");

    /* Selector 0x18 is past the GDT's limit: #GP with the selector as error code. */
    __asm__ volatile("movw $0x18, %%ax; movw %%ax, %%ds" ::: "eax");
    __asm__ volatile("movw %0, %%ax; movw %%ax, %%ds" : : "i"(GUEST_SEL_DATA) : "eax");
    CHECK(seen[13] == 1, "#GP delivered to the guest's handler");
    CHECK(last_error == 0x18, "#GP error code is the selector");

    uint32_t zero = 0;
    __asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0" : : "c"(zero) : "eax", "edx");
    CHECK(seen[0] == 1, "#DE delivered");

    __asm__ volatile("int3");
    CHECK(seen[3] == 1, "#BP delivered");

    /* Paging with 4 MiB pages, identity for the first 8 MiB. */
    for (unsigned i = 0; i < MAPPED_4M_PAGES; i++)
        page_dir[i] = (i << PAGE_4M_SHIFT) | PDE_P | PDE_W | PDE_PS;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)page_dir);
    write_cr0(read_cr0() | CR0_PG);
    volatile uint32_t *p = (volatile uint32_t *)FAULT_ADDR;
    uint32_t v = *p;                /* #PF, mapped by the handler, retried */
    (void)v;
    CHECK(seen[14] == 1, "#PF delivered");
    CHECK(last_cr2 == FAULT_ADDR, "CR2 holds the faulting address");
    CHECK((last_error & 1) == 0, "#PF error: page not present");
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("exceptions");
}
