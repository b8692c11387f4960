/* tests/guests/lib/desc.c - GDT and IDT for test guests (SDM Vol. 3A 3.4.5, 6.11). */
#include "guest.h"

#define IDT_GATE_INT32 0x8E        /* present, DPL 0, 32-bit interrupt gate */
#define IDT_GATE_P     0x80        /* the gate's P flag (SDM Vol. 3A 6.11) */

typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint32_t base;
} desc_ptr_t;

typedef struct __attribute__((packed)) {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} idt_gate_t;

static const uint64_t gdt[] __attribute__((aligned(8))) = {
    0,
    0x00CF9A000000FFFFULL,         /* GUEST_SEL_CODE: flat 32-bit code */
    0x00CF92000000FFFFULL,         /* GUEST_SEL_DATA: flat data */
};
static idt_gate_t idt[GUEST_IDT_VECTORS] __attribute__((aligned(8)));
static guest_handler_t handlers[GUEST_IDT_VECTORS];
volatile unsigned guest_unhandled;

extern char guest_isr_stubs[];
void guest_load_gdt(const desc_ptr_t *p);
void guest_isr_dispatch(guest_frame_t *f);

void guest_isr_dispatch(guest_frame_t *f)
{
    if (f->vector < GUEST_IDT_VECTORS && handlers[f->vector])
        handlers[f->vector](f);
    else {
        guest_unhandled++;
        guest_printf("  unexpected vector %u (error 0x%x) at eip 0x%x\n", f->vector, f->error,
                     f->eip);
    }
}

void guest_set_handler(unsigned vector, guest_handler_t h)
{
    if (vector < GUEST_IDT_VECTORS)
        handlers[vector] = h;
}

void guest_set_gate_present(unsigned vector, int present)
{
    if (vector < GUEST_IDT_VECTORS)
        idt[vector].type = (uint8_t)(present ? idt[vector].type | IDT_GATE_P
                                             : idt[vector].type & ~IDT_GATE_P);
}

void guest_desc_init(void)
{
    static desc_ptr_t gp;
    gp.limit = sizeof(gdt) - 1;
    gp.base = (uint32_t)(uintptr_t)gdt;
    guest_load_gdt(&gp);
    for (unsigned v = 0; v < GUEST_IDT_VECTORS; v++) {
        uint32_t off = (uint32_t)(uintptr_t)(guest_isr_stubs + v * GUEST_ISR_STUB_SIZE);
        idt[v] = (idt_gate_t){ (uint16_t)off, GUEST_SEL_CODE, 0, IDT_GATE_INT32,
                               (uint16_t)(off >> 16) };
    }
    desc_ptr_t ip = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(ip));
}
