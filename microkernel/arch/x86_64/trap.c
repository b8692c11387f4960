/*
 * arch/x86_64/trap.c - IDT setup and trap dispatch.
 *
 * At this stage every CPU exception taken in the kernel is fatal: it is
 * dumped in full and the system stops with a FAIL verdict. Later, faults
 * raised by user threads become IPC to their fault handler instead.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/platform.h"
#include "arch/x86_64/seg.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/pic8259.h"
#include "kernel/console.h"
#include "kernel/ipc.h"
#include "kernel/irq.h"
#include "kernel/sched.h"
#include <fmt.h>
#include <nestor/limits.h>

/* IDT gate descriptor (SDM Vol. 3A 6.14.1, Figure 6-8). */
typedef struct __attribute__((packed)) {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} idt_gate_t;

typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
} idt_ptr_t;

extern const char trap_stubs[];
static idt_gate_t idt[IDT_VECTORS] __attribute__((aligned(16)));
static idt_ptr_t idt_ptr;
static uint64_t host_nmis;

static uint8_t ist_for_vector(unsigned v)
{
    /* SDM 6.14.5: run #DF, NMI and #MC on known-good stacks. */
    switch (v) {
    case VEC_DF: return IST_DOUBLE_FAULT;
    case VEC_NMI: return IST_NMI;
    case VEC_MC: return IST_MACHINE_CHECK;
    default: return 0;
    }
}

void trap_init(void)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        uint64_t addr = (uint64_t)(uintptr_t)(trap_stubs + v * TRAP_STUB_SIZE);
        idt[v] = (idt_gate_t){
            .offset_low = addr & 0xFFFF,
            .selector = SEL_KCODE,
            .ist = ist_for_vector(v),
            .type_attr = IDT_GATE_INTERRUPT,
            .offset_mid = (addr >> 16) & 0xFFFF,
            .offset_high = (uint32_t)(addr >> 32),
        };
    }
    idt_ptr = (idt_ptr_t){ sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idt_ptr));
}

/* SDM 27.5.2: a VM exit sets the IDTR limit to 0xFFFF. */
void idt_restore_after_vm_exit(void)
{
    __asm__ volatile("lidt %0" : : "m"(idt_ptr));
}

uint64_t trap_host_nmis(void)
{
    return host_nmis;
}

uint64_t idt_base(void)
{
    return (uint64_t)(uintptr_t)idt;
}

const char *trap_vector_name(uint64_t v)
{
    /* Mnemonics and names from SDM Vol. 3A 6.3.1, Table 6-1. */
    static const char *const names[] = {
        [VEC_DE] = "#DE divide error",
        [VEC_DB] = "#DB debug",
        [VEC_NMI] = "NMI",
        [VEC_BP] = "#BP breakpoint",
        [VEC_OF] = "#OF overflow",
        [VEC_BR] = "#BR bound range exceeded",
        [VEC_UD] = "#UD invalid opcode",
        [VEC_NM] = "#NM device not available",
        [VEC_DF] = "#DF double fault",
        [VEC_TS] = "#TS invalid TSS",
        [VEC_NP] = "#NP segment not present",
        [VEC_SS] = "#SS stack-segment fault",
        [VEC_GP] = "#GP general protection",
        [VEC_PF] = "#PF page fault",
        [VEC_MF] = "#MF x87 floating-point error",
        [VEC_AC] = "#AC alignment check",
        [VEC_MC] = "#MC machine check",
        [VEC_XM] = "#XM SIMD floating-point",
        [VEC_VE] = "#VE virtualization exception",
        [VEC_CP] = "#CP control protection",
        [VEC_HV] = "#HV hypervisor injection",
        [VEC_VC] = "#VC VMM communication",
        [VEC_SX] = "#SX security exception",
    };
    if (v < sizeof(names) / sizeof(names[0]) && names[v])
        return names[v];
    return v < VEC_FIRST_EXTERNAL ? "reserved exception" : "external interrupt";
}

void trap_dump(const trap_frame_t *f)
{
    kprintf("EXCEPTION: vector %lu (%s) error 0x%lx\n", f->vector,
            trap_vector_name(f->vector), f->error);
    kprintf("  rip 0x%016lx cs 0x%lx rflags 0x%lx rsp 0x%016lx ss 0x%lx\n",
            f->rip, f->cs, f->rflags, f->rsp, f->ss);
    kprintf("  cr0 0x%lx cr2 0x%016lx cr3 0x%lx cr4 0x%lx\n", read_cr0(), read_cr2(),
            read_cr3(), read_cr4());
    kprintf("  rax 0x%016lx rbx 0x%016lx rcx 0x%016lx rdx 0x%016lx\n", f->rax, f->rbx,
            f->rcx, f->rdx);
    kprintf("  rsi 0x%016lx rdi 0x%016lx rbp 0x%016lx\n", f->rsi, f->rdi, f->rbp);
    kprintf("  r8  0x%016lx r9  0x%016lx r10 0x%016lx r11 0x%016lx\n", f->r8, f->r9,
            f->r10, f->r11);
    kprintf("  r12 0x%016lx r13 0x%016lx r14 0x%016lx r15 0x%016lx\n", f->r12, f->r13,
            f->r14, f->r15);
}

/* Interrupts: the kernel's timer tick and user-level IRQ lines. */
static bool handle_interrupt(uint64_t vector)
{
    /* A host NMI (SDM 6.7.1) is the host's own event: counted, never turned
     * into a user exception or a kernel panic. The IRETQ that ends this
     * handler unblocks NMIs again (SDM 6.7.1). */
    if (vector == VEC_NMI) {
        host_nmis++;
        return true;
    }
    if (vector == VEC_LAPIC_TIMER) {
        lapic_eoi();
        sched_timer_interrupt();
        return true;
    }
    if (vector >= PIC1_VECTOR_BASE && vector < PIC1_VECTOR_BASE + NESTOR_IRQ_LINES) {
        irq_handle((unsigned)(vector - PIC1_VECTOR_BASE));
        return true;
    }
    return vector >= VEC_FIRST_EXTERNAL;    /* spurious: nothing to do */
}

void trap_from_kernel(trap_frame_t *f)
{
    if (handle_interrupt(f->vector))
        return;
    /* An exception in the kernel is a kernel bug: report it and stop. */
    trap_dump(f);
    char reason[64];
    fmt_snprintf(reason, sizeof(reason), "kernel exception %s", trap_vector_name(f->vector));
    platform_shutdown(false, reason);
}

void trap_from_user(trap_frame_t *f)
{
    tcb_t *t = sched_current;
    if (!handle_interrupt(f->vector)) {
        if (f->vector == VEC_PF) {
            uint64_t mrs[] = { f->rip, read_cr2(), f->error, 0 };
            fault_deliver(t, NESTOR_FAULT_VM, mrs, 4);
        } else {
            uint64_t mrs[] = { f->rip, f->rsp, f->rflags, f->vector, f->error };
            fault_deliver(t, NESTOR_FAULT_USER_EXCEPTION, mrs, 5);
        }
    }
    sched_run();
}
