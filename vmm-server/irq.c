/*
 * vmm-server/irq.c - a VM's interrupt controllers and timers, and getting
 * their interrupts into the guest (SDM Vol. 3C 26.6 event injection, 24.6.2
 * interrupt-window exiting). Time is guest time from the TSC.
 */
#include "vmm.h"
#include "cpu_policy.h"
#include "nvmx_setup.h"
#include <nestor/vmcs.h>
#include <x86_vmx.h>

#define PIT_IRQ            0
#define LAPIC_SVR_BIOS     0x1FF        /* what firmware leaves: enabled, spurious 0xFF */
#define LAPIC_LINT0_EXTINT 0x700        /* virtual wire: the PIC through LINT0 */
#define LAPIC_LINT1_NMI    0x400

static uint64_t tsc_per_ms = 1;
static unsigned timer_rate;         /* VMX-preemption timer: one unit per 2^rate TSC ticks */

void irq_set_clock(uint64_t tsc_per_tick, uint64_t timer_hz, unsigned vmx_timer_rate)
{
    timer_rate = vmx_timer_rate < 64 ? vmx_timer_rate : 0;
    if (tsc_per_tick && timer_hz)
        tsc_per_ms = tsc_per_tick * timer_hz / 1000;
    if (!tsc_per_ms)
        tsc_per_ms = 1;
}

/* There is no battery clock to read: the RTC starts at this moment (UTC) and
 * runs with guest time, so guests see the same dates in every run. */
#define RTC_EPOCH_UNIX 1767225600ULL        /* 2026-01-01 00:00:00 */

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

uint64_t vm_tsc_to_ns_ceil(uint64_t tsc)
{
    /* vm_now_ns() is floor(tsc * NS_PER_MS / tsc_per_ms); its ceiling is the
     * least reading that implies the TSC got there. */
    uint64_t q = tsc / tsc_per_ms, r = tsc % tsc_per_ms;
    if (q > (UINT64_MAX - NS_PER_MS) / NS_PER_MS)
        return UINT64_MAX;
    return q * NS_PER_MS + (r * NS_PER_MS + tsc_per_ms - 1) / tsc_per_ms;
}

void irq_init(vm_t *vm)
{
    pic_init(&vm->pic);
    pit_init(&vm->pit);
    rtc_init(&vm->rtc);
    sysctl_init(&vm->sysctl);
    i8042_init(&vm->kbc);
    uart16550_init(&vm->uart);
    lapic_init(&vm->lapic, 0);
    ioapic_init(&vm->ioapic, VM_IOAPIC_ID);
    acpi_pm_init(&vm->acpi_pm);
    pci_init(&vm->pci);
    vm->irq_lines = 0;
    msr_init(vm);                   /* IA32_APIC_BASE: enabled at 0xFEE00000 */
    /* No BIOS runs: leave the APIC as one would (virtual wire mode). */
    uint32_t v = LAPIC_SVR_BIOS;
    lapic_mmio(&vm->lapic, LAPIC_REG_SVR, true, &v, 0);
    v = LAPIC_LINT0_EXTINT;
    lapic_mmio(&vm->lapic, LAPIC_REG_LVT_LINT0, true, &v, 0);
    v = LAPIC_LINT1_NMI;
    lapic_mmio(&vm->lapic, LAPIC_REG_LVT_LINT1, true, &v, 0);
}

/* The I/O APIC pin of ISA IRQ @irq: the same number, but IRQ0 (the PIT)
 * is on pin 2 (the MADT's interrupt source override, ACPI 6.5 5.2.12.5;
 * pin 0 is the 8259's INTR). */
static unsigned isa_pin(unsigned irq)
{
    return irq == PIT_IRQ ? IOAPIC_PIN_PIT : irq;
}

void irq_line(vm_t *vm, unsigned irq, bool level)
{
    uint32_t bit = 1u << irq;
    if (irq >= PIC_IRQS || !!(vm->irq_lines & bit) == level)
        return;
    vm->irq_lines = level ? vm->irq_lines | bit : vm->irq_lines & ~bit;
    pic_set_irq(&vm->pic, irq, level);
    if (vm->devices & SC_DEV_LAPIC)
        ioapic_set_irq(&vm->ioapic, isa_pin(irq), level, &vm->lapic);
    vm->irq_quiet = false;
}

/* Advance the timers to now; raise what came due. */
static void tick(vm_t *vm, uint64_t now)
{
    lapic_timer_update(&vm->lapic, now);
    if (pit_irq0_due(&vm->pit, now)) {
        irq_line(vm, PIT_IRQ, true);
        irq_line(vm, PIT_IRQ, false);
    }
    /* The 8259's INTR output drives LINT0 (virtual wire, MP spec 3.6.2.2):
     * in NMI mode its rising edge is an NMI, and no INTA follows, so INTR
     * stays up until the guest masks or clears the request. It is also
     * the I/O APIC's pin 0 (virtual wire through the I/O APIC: ExtINT). */
    bool intr = pic_pending_vector(&vm->pic) >= 0;
    lapic_lint_level(&vm->lapic, 0, intr);
    if (vm->devices & SC_DEV_LAPIC)
        ioapic_set_irq(&vm->ioapic, IOAPIC_PIN_8259_INTR, intr, &vm->lapic);
}

/* Whether the CPU takes the 8259's vector (INTA): through LINT0 in ExtINT
 * mode, or an I/O APIC entry in ExtINT mode. */
static bool extint(const vm_t *vm)
{
    return lapic_extint_enabled(&vm->lapic) || ioapic_extint_pending(&vm->ioapic, &vm->lapic);
}

/* The vector the CPU would take now, the timers where they are. */
static int pending_vector(vm_t *vm)
{
    int v = lapic_pending_vector(&vm->lapic);
    if (v < 0 && extint(vm))
        v = pic_pending_vector(&vm->pic);
    return v;
}

int irq_pending(vm_t *vm)
{
    tick(vm, vm_now_ns());
    return pending_vector(vm);
}

static int ack(vm_t *vm)
{
    int v = lapic_pending_vector(&vm->lapic);
    if (v >= 0) {
        lapic_ack(&vm->lapic, (uint8_t)v);
        return v;
    }
    return extint(vm) ? pic_ack(&vm->pic) : -1;
}

int irq_acknowledge(vm_t *vm)
{
    /* SDM Vol. 3C 27.2.2: with "acknowledge interrupt on exit" the CPU
     * acknowledges the interrupt controller at the exit, whatever the
     * guest's RFLAGS.IF (25.2: external-interrupt exiting ignores it), and
     * the interrupt is in service from then on. */
    if (irq_pending(vm) < 0)            /* ticks the timers first */
        return -1;
    int v = ack(vm);
    if (v >= 0)
        vm->interrupts++;
    return v;
}

/* Turn a primary processor-based control bit (interrupt- or NMI-window
 * exiting) on or off, *state caching what it is. */
static void set_proc_control(vm_t *vm, nestor_word_t bit, bool on, bool *state)
{
    if (*state == on)
        return;
    nestor_word_t ctl;
    const nestor_word_t field = VMCS_PROC_CONTROLS;
    nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &ctl, 1);
    ctl = on ? ctl | bit : ctl & ~bit;
    const nestor_word_t args[] = { field, ctl };
    nu_invoke(vm->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 2, 0, 0, 0, 0);
    *state = on;
}

static void set_window_exiting(vm_t *vm, bool on)
{
    set_proc_control(vm, PROC_INTR_WINDOW_EXITING, on, &vm->window_exiting);
}

/* NMI-window exiting needs virtual NMIs (SDM Vol. 3C 26.2.1.1). */
static void set_nmi_window_exiting(vm_t *vm, bool on)
{
    if (vm->virtual_nmis)
        set_proc_control(vm, PROC_NMI_WINDOW_EXITING, on, &vm->nmi_window_exiting);
}

void irq_enable_virtual_nmis(vm_t *vm)
{
    /* SDM Vol. 3C 24.6.1 Table 24-5: with "virtual NMIs" (which needs "NMI
     * exiting", in the kernel's floor) the CPU tracks the guest's NMI
     * blocking in interruptibility bit 3: an injected NMI sets it, the
     * guest's IRET clears it (SDM 25.3, 26.6.1.2), and NMI-window exiting
     * tells the VMM when a held NMI can go in (25.2). Within the kernel's
     * NESTOR_PIN_CEILING and what the CPU allows; refused, it stays off and
     * a blocked NMI waits for the guest's next exit. */
    vm->virtual_nmis = false;
    vm->nmi_window_exiting = false;
    nestor_word_t pin, field = VMCS_PIN_CONTROLS;
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &pin, 1) != NESTOR_OK)
        return;
    const nestor_word_t args[] = { VMCS_PIN_CONTROLS, pin | PIN_VIRTUAL_NMIS };
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 2, 0, 0, 0, 0) != NESTOR_OK)
        return;
    vm->virtual_nmis =
        nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &pin, 1) == NESTOR_OK &&
        (pin & PIN_VIRTUAL_NMIS);
}

bool irq_nmi_pending(const vm_t *vm)
{
    return lapic_nmi_pending(&vm->lapic);
}

bool irq_nmi_may_come(vm_t *vm)
{
    return lapic_nmi_pending(&vm->lapic) ||
           (lapic_lint_nmi(&vm->lapic, 0) && irq_next_deadline(vm) != UINT64_MAX);
}

bool irq_due(vm_t *vm)
{
    bool intr = irq_pending(vm) >= 0;       /* ticks the timers first */
    return (intr && !vm->window_exiting) ||
           (lapic_nmi_pending(&vm->lapic) && !vm->nmi_window_exiting);
}

/* Fetch the interruptibility and activity state where the exit did not
 * bring it (a reply may load only fetched groups, nestor/vcpu.h). */
static void fetch_intr(vm_t *vm, vmexit_t *e)
{
    if (e->s->mtd & NESTOR_MTD_INTR)
        return;
    const nestor_word_t intr = NESTOR_MTD_INTR;
    nu_invoke(vm->vcpu, NESTOR_VCPU_STORE_STATE, &intr, 1, 0, 0, 0, 0);
    e->s->mtd |= NESTOR_MTD_INTR;
}

/*
 * Blocking by STI or MOV SS lasts until the instruction after STI or MOV
 * SS completes (SDM Vol. 2B STI, Vol. 3A 6.8.3; Vol. 3C 24.4.2 Table 24-3).
 * An exit in that shadow saves the blocking (the instruction did not
 * complete); once the VMM has carried the instruction out (the reply moves
 * RIP: advance_rip, an emulated MMIO access, a task switch) the shadow is
 * over, as after the instruction on the CPU. An exception injected for it
 * leaves RIP where it was, and the blocking too. Told by RIP, not by a
 * flag, so the exits that inject nothing pay nothing. Left in place,
 * "sti; hlt" with an interrupt pending would resume past the HLT with the
 * interrupt still blocked for one more instruction, and a guest that
 * disables interrupts right after its HLT ("sti; hlt; cli") would never
 * get it: its device interrupt was never delivered, and it halted again at
 * once, one HLT exit after another. Called where the blocking decides
 * whether an event goes in now, after fetch_intr.
 */
static void end_completed_shadow(vmexit_t *e)
{
    bool completed = (e->changed & NESTOR_MTD_RIP) && e->s->rip != e->rip;
    if (completed && (e->s->interruptibility & X86_INTR_BLOCK_SHADOW)) {
        e->s->interruptibility &= ~(nestor_word_t)X86_INTR_BLOCK_SHADOW;
        e->changed |= NESTOR_MTD_INTR;
    }
}

/* The vCPU's monitor timer (level 0: its exit is the VMM's,
 * nestor/invocations.h) set to @units, 0 taking it back. */
static void set_wake_timer(vm_t *vm, uint64_t units)
{
    const nestor_word_t args[] = { units, 0 };
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_SET_TIMER, args, 2, 0, 0, 0, 0) != NESTOR_OK) {
        vm->wake_timer_off = true;          /* no VMX-preemption timer: host ticks only */
        units = 0;
    }
    vm->wake_timer_armed = units != 0;
}

/*
 * A guest halted with a timer armed (the LAPIC timer, the PIT) would wait
 * for the host's next 1 kHz tick to be paused and given its interrupt, up
 * to 1 ms late. Instead its vCPU's monitor timer is set to the deadline:
 * the VMX-preemption timer, which counts down in the HLT activity state
 * too (SDM Vol. 3C 25.5.1) at one unit per 2^rate TSC ticks
 * (IA32_VMX_MISC[4:0]); when it runs out the guest exits (reason 52, SDM
 * 25.2; NESTOR_PREEMPT_MONITOR_TIMER) and irq_before_resume injects what
 * came due. Rounded up (vmx_timer_units): an exit before the deadline
 * would find nothing due.
 */
__attribute__((noinline)) void irq_arm_wake(vm_t *vm)
{
    uint64_t deadline = irq_next_deadline(vm), now = vm_now_ns();
    if (vm->wake_timer_off || deadline == UINT64_MAX)
        return;
    set_wake_timer(vm, vmx_timer_units(deadline > now ? deadline - now : 1, tsc_per_ms,
                                       timer_rate));
}

void irq_wake_timer_ran_out(vm_t *vm)
{
    vm->wake_timer_armed = false;
    /* Early (a wait longer than VMX_TIMER_MAX_NS was cut): set it again
     * if the guest is still halted with nothing due. */
    if (vm->halted && irq_pending(vm) < 0)
        irq_arm_wake(vm);
}

/* A halted guest wakes for the event injected (SDM Vol. 3C 26.6.2). A
 * wake-up timer still set (another interrupt came first) is taken back:
 * else it would end a later run of the guest for nothing. */
static void wake(vm_t *vm, vmexit_t *e)
{
    if (!vm->halted)
        return;
    e->s->activity = 0;
    e->s->interruptibility &= ~(nestor_word_t)X86_INTR_BLOCK_SHADOW;
    e->changed |= NESTOR_MTD_INTR;
    vm->halted = false;
    if (vm->wake_timer_armed)
        set_wake_timer(vm, 0);
}

/* The pending NMI, which goes before any maskable interrupt (SDM Vol. 3A
 * 6.9) and regardless of RFLAGS.IF (6.8.1). True if it was injected. */
static bool nmi_before_resume(vm_t *vm, vmexit_t *e)
{
    tick(vm, vm_now_ns());      /* a timer through LINT0 may raise one */
    if (!lapic_nmi_pending(&vm->lapic)) {
        set_nmi_window_exiting(vm, false);
        return false;
    }
    fetch_intr(vm, e);
    end_completed_shadow(e);
    switch (nmi_decide(true, e->changed & NESTOR_MTD_INJECT, e->s->interruptibility)) {
    case NMI_INJECT:
        break;
    case NMI_WAIT:          /* the NMI-window exit (reason 8) brings it back here */
        set_nmi_window_exiting(vm, true);
        return false;
    case NMI_NONE:
        return false;
    }
    /* SDM Vol. 3C 24.8.3, Table 24-16: type 2 (NMI), vector 2, no error
     * code; with virtual NMIs the entry sets virtual-NMI blocking (26.6.1.2)
     * until the guest's IRET (25.3). */
    lapic_nmi_ack(&vm->lapic);
    e->s->inject_info = X86_INTR_VALID | X86_INTR_TYPE_NMI | X86_VEC_NMI;
    e->s->inject_error = 0;
    e->s->inject_instr_len = 0;
    e->changed |= NESTOR_MTD_INJECT;
    wake(vm, e);
    vm->nmis++;
    set_nmi_window_exiting(vm, false);
    return true;
}

void irq_publish(vm_t *vm)
{
    nvmx_events_t *ev = vm->nvmx_events;
    if (!ev)
        return;
    /* An NMI held while L1 blocks NMIs gets no kick (main.c on_tick), yet
     * it makes L1's L2 exit with "NMI exiting" (SDM 25.2) or goes to L2
     * (25.3); so does an interrupt held for L1's interrupt window (L1
     * enters L2 with RFLAGS.IF 0) with "external-interrupt exiting" (25.2,
     * 26.7.5). nested-vmx looks at each L2 entry. What the decisions just
     * made saw: no tick here (one raised now would get neither the window
     * nor the pause those decisions gave the others). */
    ev->nmi = lapic_nmi_pending(&vm->lapic);
    ev->intr = pending_vector(vm) >= 0;
}

/*
 * SDM Vol. 3B 17.3.1.4: an instruction executed with RFLAGS.TF set is
 * followed by a single-step #DB trap. One carried out here (advance) left
 * the guest without executing it, so the trap is made pending as the CPU
 * would have left it (the pending debug exceptions' BS, SDM 24.4.2 Table
 * 24-4), delivered after the entry (26.7.3): a step through an emulated
 * CPUID or OUT ends right after it, not one instruction later. Out of
 * line: the VMM's exits pay one test of RFLAGS.
 */
__attribute__((noinline)) void irq_step_trap(vm_t *vm, vmexit_t *e)
{
    fetch_intr(vm, e);
    e->s->pending_dbg |= PENDING_DBG_BS;
    e->changed |= NESTOR_MTD_INTR;
    e->step_trap = true;
}

static void before_resume(vm_t *vm, vmexit_t *e)
{
    if (__builtin_expect(e->step_trap, 0)) {
        /* The trap of the instruction goes before an NMI or a maskable
         * interrupt (SDM Vol. 3A 6.9, priorities 4, 5 and 6): none is
         * injected with it; the windows bring them after the #DB. */
        tick(vm, vm_now_ns());
        if (lapic_nmi_pending(&vm->lapic))
            set_nmi_window_exiting(vm, true);
        set_window_exiting(vm, irq_pending(vm) >= 0);
        return;
    }
    if (nmi_before_resume(vm, e)) {
        /* A maskable interrupt due waits for the window the NMI handler
         * opens (its IRET, or at once through a trap gate). */
        set_window_exiting(vm, irq_pending(vm) >= 0);
        return;
    }
    if (e->changed & NESTOR_MTD_INJECT)
        return;                         /* an exception goes in first */
    if (irq_pending(vm) < 0) {
        set_window_exiting(vm, false);
        vm->irq_quiet = irq_next_deadline(vm) == UINT64_MAX && !lapic_nmi_pending(&vm->lapic);
        return;
    }
    /* The guest takes it only with RFLAGS.IF set and no STI/MOV SS shadow
     * (SDM Vol. 3C 26.3.1.5, 26.6.1). */
    if (e->s->rflags & X86_RFLAGS_IF_BIT) {
        fetch_intr(vm, e);
        end_completed_shadow(e);
    }
    if (!(e->s->rflags & X86_RFLAGS_IF_BIT) || (e->s->interruptibility & X86_INTR_BLOCK_SHADOW)) {
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
    wake(vm, e);                /* the interrupt wakes it (SDM 26.6.2) */
    vm->interrupts++;
    set_window_exiting(vm, false);
}

void irq_before_resume(vm_t *vm, vmexit_t *e)
{
    if (vm->irq_quiet)
        return;                         /* nothing can be due (published when it went quiet) */
    before_resume(vm, e);
    irq_publish(vm);
}

uint64_t irq_next_deadline(vm_t *vm)
{
    uint64_t a = pit_next_irq0_ns(&vm->pit), b = lapic_next_timer_ns(&vm->lapic);
    return a < b ? a : b;
}
