/*
 * vmm-server/irq.c - a VM's interrupt controllers and timers, and getting
 * their interrupts into the guest (SDM Vol. 3C 26.6 event injection, 24.6.2
 * interrupt-window exiting). Time is guest time from the TSC.
 */
#include "vmm.h"
#include <nestor/vmcs.h>

#define PIT_IRQ            0
#define LAPIC_SVR_BIOS     0x1FF        /* what firmware leaves: enabled, spurious 0xFF */
#define LAPIC_LINT0_EXTINT 0x700        /* virtual wire: the PIC through LINT0 */
#define LAPIC_LINT1_NMI    0x400

static uint64_t tsc_per_ms = 1;

void irq_set_clock(uint64_t tsc_per_tick)
{
    if (tsc_per_tick)
        tsc_per_ms = tsc_per_tick;   /* the kernel's tick is 1 ms */
}

/* There is no battery clock to read: the RTC starts at this moment (UTC) and
 * runs with guest time, so guests see the same dates in every run. */
#define RTC_EPOCH_UNIX 1767225600ULL        /* 2026-01-01 00:00:00 */
#define NS_PER_S       1000000000ULL

uint64_t vm_unix_seconds(void)
{
    return RTC_EPOCH_UNIX + vm_now_ns() / NS_PER_S;
}

uint64_t vm_now_ns(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t tsc = (uint64_t)hi << 32 | lo;
    return tsc / tsc_per_ms * NS_PER_MS + (tsc % tsc_per_ms) * NS_PER_MS / tsc_per_ms;
}

void irq_init(vm_t *vm)
{
    pic_init(&vm->pic);
    pit_init(&vm->pit);
    rtc_init(&vm->rtc);
    sysctl_init(&vm->sysctl);
    lapic_init(&vm->lapic, 0);
    msr_init(vm);                   /* IA32_APIC_BASE: enabled at 0xFEE00000 */
    /* No BIOS runs: leave the APIC as one would (virtual wire mode). */
    uint32_t v = LAPIC_SVR_BIOS;
    lapic_mmio(&vm->lapic, LAPIC_REG_SVR, true, &v, 0);
    v = LAPIC_LINT0_EXTINT;
    lapic_mmio(&vm->lapic, LAPIC_REG_LVT_LINT0, true, &v, 0);
    v = LAPIC_LINT1_NMI;
    lapic_mmio(&vm->lapic, LAPIC_REG_LVT_LINT1, true, &v, 0);
}

/* Advance the timers to now; raise what came due. */
static void tick(vm_t *vm, uint64_t now)
{
    lapic_timer_update(&vm->lapic, now);
    if (pit_irq0_due(&vm->pit, now)) {
        pic_set_irq(&vm->pic, PIT_IRQ, true);
        pic_set_irq(&vm->pic, PIT_IRQ, false);
    }
}

int irq_pending(vm_t *vm)
{
    tick(vm, vm_now_ns());
    int v = lapic_pending_vector(&vm->lapic);
    if (v < 0 && lapic_extint_enabled(&vm->lapic))
        v = pic_pending_vector(&vm->pic);
    return v;
}

static int ack(vm_t *vm)
{
    int v = lapic_pending_vector(&vm->lapic);
    if (v >= 0) {
        lapic_ack(&vm->lapic, (uint8_t)v);
        return v;
    }
    return lapic_extint_enabled(&vm->lapic) ? pic_ack(&vm->pic) : -1;
}

static void set_window_exiting(vm_t *vm, bool on)
{
    if (vm->window_exiting == on)
        return;
    nestor_word_t ctl;
    const nestor_word_t field = VMCS_PROC_CONTROLS;
    nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &ctl, 1);
    ctl = on ? ctl | PROC_INTR_WINDOW_EXITING : ctl & ~(nestor_word_t)PROC_INTR_WINDOW_EXITING;
    const nestor_word_t args[] = { field, ctl };
    nu_invoke(vm->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 2, 0, 0, 0, 0);
    vm->window_exiting = on;
}

void irq_before_resume(vm_t *vm, vmexit_t *e)
{
    if (vm->irq_quiet || (e->changed & NESTOR_MTD_INJECT))
        return;                         /* nothing can be due; or an exception goes in first */
    if (irq_pending(vm) < 0) {
        set_window_exiting(vm, false);
        vm->irq_quiet = irq_next_deadline(vm) == UINT64_MAX;
        return;
    }
    /* The guest takes it only with RFLAGS.IF set and no STI/MOV SS shadow;
     * the interrupt state is fetched here where the exit did not bring it
     * (a reply may load only fetched groups, nestor/vcpu.h). */
    if ((e->s->rflags & X86_RFLAGS_IF_BIT) && !(e->s->mtd & NESTOR_MTD_INTR)) {
        const nestor_word_t intr = NESTOR_MTD_INTR;
        nu_invoke(vm->vcpu, NESTOR_VCPU_STORE_STATE, &intr, 1, 0, 0, 0, 0);
        e->s->mtd |= NESTOR_MTD_INTR;
    }
    if (!(e->s->rflags & X86_RFLAGS_IF_BIT) || (e->s->interruptibility & 3)) {
        set_window_exiting(vm, true);
        return;
    }
    int v = ack(vm);
    if (v < 0)
        return;
    e->s->inject_info = X86_INTR_VALID | X86_INTR_TYPE_EXT | (unsigned)v;
    e->s->inject_error = 0;
    e->s->inject_instr_len = 0;
    e->changed |= NESTOR_MTD_INJECT;
    if (vm->halted) {           /* the interrupt wakes it (SDM 26.6.2) */
        e->s->activity = 0;
        e->s->interruptibility = 0;
        e->changed |= NESTOR_MTD_INTR;
        vm->halted = false;
    }
    vm->interrupts++;
    set_window_exiting(vm, false);
}

uint64_t irq_next_deadline(vm_t *vm)
{
    uint64_t a = pit_next_irq0_ns(&vm->pit), b = lapic_next_timer_ns(&vm->lapic);
    return a < b ? a : b;
}
