/*
 * tests/guests/ldtstep.c - a #UD handler reached through a code segment of
 * the LDT (tests/system/inspector-ldtstep.spec): the library's flat GDT
 * grows an LDT descriptor, the LDT holds one flat 32-bit code segment, and
 * the #UD gate of the IDT selects it (TI = 1, SDM Vol. 3A 3.4.2, 6.11). A
 * UD2 (ud2_ldt_here) reaches the library's handler in that segment; gdb
 * steps over it under the inspector, whose hidden int3 at the handler's
 * entry must follow the gate through the LDT: the step ends there, CS the
 * LDT's selector, and the frame the handler sees has no TF (17.3.1.4). It
 * checks the same with or without gdb.
 * Reports "ldtstep: N passed, N failed" on COM1, its status on port 0xF4.
 */
#include "lib/guest.h"

#define SEL_LDT       0x18            /* the LDT's descriptor, after the library's three */
#define SEL_LDT_CODE  0x04            /* LDT entry 0, TI = 1, RPL 0 (SDM Vol. 3A 3.4.2) */
#define GDT_ENTRIES   4
#define DESC_TYPE_LDT 0x82ull         /* present, DPL 0, system type 2: LDT (3.5, Table 3-2) */
#define DESC_TYPE_SHIFT 40
#define GATE_SEL_WORD 1               /* an IDT gate's selector: its second 16-bit word (6.11) */
#define GATE_WORDS    4               /* 8 bytes */
#define VEC_UD        6               /* SDM Vol. 3A Table 6-1 */
#define UD2_LEN       2
#define EFLAGS_TF     (1u << 8)

typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint32_t base;
} table_ptr_t;

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static uint64_t ldt[1] __attribute__((aligned(8)));
static volatile unsigned ud_count;
static volatile uint32_t ud_cs, ud_eflags;

/* A segment descriptor's base and limit fields (SDM Vol. 3A 3.4.5,
 * Figure 3-8): limit 15:0 in bits 15:0, base 23:0 in 39:16, 31:24 in 63:56. */
static uint64_t desc_base_limit(uint32_t base, uint16_t limit)
{
    return limit | (uint64_t)(base & 0xFFFFFF) << 16 | (uint64_t)(base >> 24) << 56;
}

/* The library's GDT copied with an LDT descriptor after it; the LDT's one
 * code segment is the library's flat code descriptor; the #UD gate selects
 * it. */
static void use_ldt(void)
{
    table_ptr_t g, i;
    __asm__ volatile("sgdt %0" : "=m"(g));
    const uint64_t *old = (const uint64_t *)(uintptr_t)g.base;
    for (unsigned k = 0; k < SEL_LDT / sizeof(uint64_t) && k * sizeof(uint64_t) < g.limit; k++)
        gdt[k] = old[k];
    ldt[0] = old[GUEST_SEL_CODE / sizeof(uint64_t)];
    gdt[SEL_LDT / sizeof(uint64_t)] =
        desc_base_limit((uint32_t)(uintptr_t)ldt, sizeof ldt - 1) | DESC_TYPE_LDT << DESC_TYPE_SHIFT;
    g.base = (uint32_t)(uintptr_t)gdt;
    g.limit = sizeof gdt - 1;
    __asm__ volatile("lgdt %0" : : "m"(g));
    __asm__ volatile("lldt %w0" : : "r"(SEL_LDT));
    __asm__ volatile("sidt %0" : "=m"(i));
    uint16_t *gate = (uint16_t *)(uintptr_t)i.base + VEC_UD * GATE_WORDS;
    gate[GATE_SEL_WORD] = SEL_LDT_CODE;
}

static void on_ud(guest_frame_t *f)
{
    uint32_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    ud_count++;
    ud_cs = cs;                       /* the handler's own (the frame's is the UD2's) */
    ud_eflags = f->eflags;
    f->eflags &= ~EFLAGS_TF;          /* (a failure shows in the checks, not as a stray #DB) */
    f->eip += UD2_LEN;
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(VEC_UD, on_ud);
    use_ldt();
    __asm__ volatile(".globl ud2_ldt_here\nud2_ldt_here:\n\tud2" : : : "memory");
    CHECK(ud_count == 1, "UD2 reached the #UD handler");
    CHECK(ud_cs == SEL_LDT_CODE, "the handler ran in the LDT's code segment");
    CHECK(!(ud_eflags & EFLAGS_TF), "#UD's frame without TF");
    return guest_report("ldtstep");
}
