/*
 * vmm-server/exits.c - the exit handlers, one per exit reason.
 * Exit qualification layouts: SDM Vol. 3C 27.2.1, Table 27-5 (I/O).
 */
#include "vmm.h"
#include <devsrv.h>
#include <vmm_hypercall.h>
#include "cpu_policy.h"
#include "strio.h"
#include "dev_state.h"
#include "nvmx_setup.h"
#include <x86_vmx.h>
#include <nestor/verdict.h>
#include <stdarg.h>
#include <string.h>
#include <fmt.h>
#include <user/print.h>

#define GUEST_EXIT_PORT  0xF4

exit_action_t vm_stop(vm_t *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
    va_end(ap);
    vm->status = VM_STOPPED;
    return EXIT_STOP;
}

/* The instruction is done: RIP past it, and the single-step trap it owes
 * (irq_step_trap) if the guest's RFLAGS.TF is set. */
static void advance_rip(vmexit_t *e)
{
    e->s->rip = e->rip + e->instr_len;
    e->changed |= NESTOR_MTD_RIP;
}

static void advance(vmexit_t *e)
{
    advance_rip(e);
    if (__builtin_expect(e->s->rflags & X86_RFLAGS_TF, 0))
        irq_step_trap(e->vm, e);
}

/* Bochs's shutdown port: "Shutdown" written byte by byte ends the VM. */
#define BOCHS_SHUTDOWN_PORT 0x8900
static const char shutdown_word[] = "Shutdown";

static bool shutdown_byte(vm_t *vm, char c)
{
    vm->shutdown_pos = (c == shutdown_word[vm->shutdown_pos]) ? vm->shutdown_pos + 1
                                                              : (c == shutdown_word[0]);
    if (shutdown_word[vm->shutdown_pos] != '\0')
        return false;
    vm->exit_code = 0;
    vm->status = VM_EXITED;
    return true;
}

/* The byte-wide legacy devices; the clock is read only for those that keep time. */
static bool device_io(vm_t *vm, uint16_t port, bool in, uint8_t *b)
{
    /* A device the VM's config leaves out is absent: its ports are empty. */
    if ((port >= PIT_PORT_CH0 && port <= PIT_PORT_CONTROL) || port == PIT_PORT_B)
        return (vm->devices & SC_DEV_PIT) && pit_io(&vm->pit, port, in, b, vm_now_ns());
    if (port == RTC_PORT_INDEX || port == RTC_PORT_DATA)
        return (vm->devices & SC_DEV_RTC) && rtc_io(&vm->rtc, port, in, b, vm_unix_seconds());
    return (vm->devices & SC_DEV_PIC) && pic_io(&vm->pic, port, in, b);
}

/* The 8042 (devices/i8042.h), out of line: the port check in port_access
 * stays one test for every other port's exit. Its output-buffer lines
 * drive IRQ 1 and IRQ 12 (edges: the PIC latches a rising one). */
static __attribute__((noinline)) i8042_result_t kbc_access(vm_t *vm, uint16_t port, bool in,
                                                           uint8_t *b)
{
    i8042_result_t r = i8042_io(&vm->kbc, port, in, b);
    if (vm->devices & SC_DEV_PIC) {     /* the 8259s and the I/O APIC (irq.c) */
        irq_line(vm, I8042_IRQ_KBD, i8042_irq_level(&vm->kbc, I8042_IRQ_KBD));
        irq_line(vm, I8042_IRQ_AUX, i8042_irq_level(&vm->kbc, I8042_IRQ_AUX));
    }
    return r;
}

/* The platform a Linux VM's ACPI tables describe: the PM1 registers
 * (devices/acpi_pm.h) and PCI configuration mechanism #1 (devices/pci.h),
 * out of line for the same reason as the 8042. Neither takes a port the
 * other has, nor one of the devices before them: a byte at 0xCF9 went to
 * the reset control register (sysctl_io) already. */
static __attribute__((noinline)) void platform_access(vm_t *vm, uint16_t port, bool in,
                                                      unsigned size, uint32_t *value)
{
    if (!acpi_pm_io(&vm->acpi_pm, port, in, size, value))
        (void)pci_io(&vm->pci, port, in, size, value);
}

typedef enum {
    PORT_OK,
    PORT_END,           /* the VM ended (the exit port, Bochs's shutdown port) */
    PORT_RESET,         /* a system reset was asked for (devices/sysctl.h) */
} port_result_t;

/* One port access of @size bytes (1, 2 or 4; a string instruction's
 * element too). IN fills *@value, OUT takes it. Ports with no device read
 * as all ones and drop writes. */
static port_result_t port_access(vm_t *vm, uint16_t port, bool in, unsigned size,
                                 uint32_t *value)
{
    uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    if (in)
        *value = 0xFFFFFFFFu;
    else
        *value &= mask;
    if (!in && port == GUEST_EXIT_PORT) {
        /* A Nestor inside ends as on QEMU's debug-exit port (nestor/verdict.h). */
        vm->exit_code = !vm->nestor_verdict ? *value : *value == NESTOR_QEMU_EXIT_PASS ? 0 : 1;
        vm->status = VM_EXITED;
        return PORT_END;
    }
    if (!in && port == BOCHS_SHUTDOWN_PORT && shutdown_byte(vm, (char)*value))
        return PORT_END;
    if (size == 1) {                    /* the system-control ports are byte-wide */
        uint8_t b = (uint8_t)*value;
        sysctl_result_t r = sysctl_io(&vm->sysctl, port, in, &b);
        /* One test for both 8042 ports (60h, 64h: they differ in bit 2). */
        if (r == SYSCTL_NOT_MINE &&
            (port & ~(I8042_PORT_DATA ^ I8042_PORT_CMD)) == I8042_PORT_DATA)
            r = kbc_access(vm, port, in, &b) == I8042_RESET ? SYSCTL_RESET : SYSCTL_DONE;
        if (r == SYSCTL_RESET)
            return PORT_RESET;
        if (r == SYSCTL_DONE) {
            *value = in ? b : *value;
            return PORT_OK;
        }
    }
    bool done = (vm->devices & SC_DEV_UART) && uart_io(vm, port, in, size, value);
    if (!done && size == 1) {
        uint8_t b = (uint8_t)*value;
        if (device_io(vm, port, in, &b)) {
            *value = in ? b : *value;
            vm->irq_quiet = false;      /* a device may have started a timer or raised a line */
            done = true;
        }
    }
    /* Last, out of line: the ACPI PM1 blocks its FADT describes and the
     * PCI configuration ports of the host bridge its DSDT describes (a VM
     * with ACPI tables); no other device has their ports. */
    if (!done && vm->linux_boot)
        platform_access(vm, port, in, size, value);
    *value &= mask;
    return PORT_OK;
}

/* A system reset the guest asked for: the VM restarts (vm_reset), at most
 * VMM_MAX_RESETS times. Everything is loaded by vm_reset: the reply loads
 * nothing more. */
static exit_action_t reset_vm(vmexit_t *e)
{
    vm_t *vm = e->vm;
    if (vm->resets >= VMM_MAX_RESETS)
        return vm_stop(vm, "asked for reset %u (at rip 0x%lx): more than %u resets, a reset loop",
                       vm->resets + 1, e->rip, VMM_MAX_RESETS);
    vm->resets++;
    /* A reset leaves VMX operation (INIT would not: SDM 23.8): nested-vmx
     * forgets L1's VMX state. It runs before the vCPU does. */
    if (vm->nvmx_reset)
        nu_signal(vm->nvmx_reset);
    uart_flush(vm);
    printf("vmm: vm %s: reset (%u)\n", vm->name, vm->resets);
    e->changed = 0;
    if (!vm_reset(vm))
        return vm_stop(vm, "reset %u failed: the image or the start state was refused",
                       vm->resets);
    return EXIT_RESUME;
}

/* State groups the exit did not bring, fetched where needed. */
static void fetch_state(vmexit_t *e, nestor_word_t need)
{
    if ((e->s->mtd & need) != need)
        nu_invoke(e->vm->vcpu, NESTOR_VCPU_STORE_STATE, &need, 1, 0, 0, 0, 0);
}

/* The CR and SEGS groups, which an I/O exit does not bring (the common
 * IN/OUT needs neither): fetched for string I/O, which needs the mode,
 * the segment bases, paging, and CR2 to raise a #PF. */
static void fetch_cr_segs(vmexit_t *e)
{
    fetch_state(e, NESTOR_MTD_CR | NESTOR_MTD_SEGS);
}

/*
 * INS/OUTS (SDM Vol. 2B INS/INSB/INSW/INSD, OUTS/OUTSB/OUTSW/OUTSD; REP):
 * the pure part is strio.c. Each element goes through the guest's paging
 * (guest_mem.c). INS touches memory only after its translation succeeded,
 * so a fault leaves the port unread. Up to STRIO_BATCH elements per exit;
 * with REP and elements left, RIP stays and the guest runs the instruction
 * again (as a CPU may between iterations, SDM Vol. 2B REP). An element
 * whose memory is unmapped raises #PF there (SDM Vol. 3A 4.7: P = 0, W/R
 * for INS, U/S at CPL 3; CR2 = its linear address) with the registers
 * counting the elements done; a non-canonical address #GP(0) (#SS(0) with
 * SS, SDM Vol. 2B INS/OUTS 64-bit mode exceptions); memory outside RAM
 * stops the VM (a string into MMIO is not emulated). Segment limits and
 * page protections are not checked.
 */
static exit_action_t exit_string_io(vmexit_t *e)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    strio_op_t op;
    if (!strio_decode(e->qualification, (uint32_t)e->instr_info, &op))
        return vm_stop(vm, "string I/O exit with an invalid qualification 0x%lx or instruction "
                           "information 0x%lx at rip 0x%lx", e->qualification, e->instr_info,
                       e->rip);
    fetch_cr_segs(e);
    x86_mode_t mode = guest_cpu_mode(s);
    nestor_word_t *index = op.in ? &s->rdi : &s->rsi;
    uint64_t n = strio_count(&op, s->rcx);
    uint64_t base = guest_seg_base(s, op.seg, mode);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t la = strio_linear(&op, base, *index, mode == X86_MODE_64), fault = la;
        if (mode == X86_MODE_64 && !(x86_canonical(la) && x86_canonical(la + op.size - 1))) {
            e->changed |= NESTOR_MTD_GPRS;
            return vm_inject_exception(e, op.seg == X86_SEG_SS ? X86_VEC_SS : X86_VEC_GP, 0);
        }
        uint32_t v = 0;
        guest_mem_status_t st = guest_copy_linear(vm, s, la, &v, op.size, false, &fault);
        if (st == GUEST_MEM_OK) {
            port_result_t pr = port_access(vm, op.port, op.in, op.size, &v);
            if (pr == PORT_END)
                return EXIT_STOP;
            if (pr == PORT_RESET)
                return reset_vm(e);
            if (op.in)
                st = guest_copy_linear(vm, s, la, &v, op.size, true, &fault);
        }
        if (st == GUEST_MEM_NOT_RAM)
            return vm_stop(vm, "%s at rip 0x%lx: memory operand at linear 0x%lx outside RAM",
                           op.in ? "INS" : "OUTS", e->rip, fault);
        e->changed |= NESTOR_MTD_GPRS;
        if (st == GUEST_MEM_UNMAPPED) {
            s->cr2 = fault;
            e->changed |= NESTOR_MTD_CR;
            return vm_inject_exception(e, X86_VEC_PF, (op.in ? X86_PF_WRITE : 0) |
                                                          (vm_cpl(s) == 3 ? X86_PF_USER : 0));
        }
        uint64_t rcx = s->rcx, idx = *index;
        strio_step(&op, s->rflags, &idx, &rcx);
        s->rcx = rcx;
        *index = idx;
    }
    e->changed |= NESTOR_MTD_GPRS;
    vm->string_io_elements += n;
    if (op.rep && (s->rcx & strio_addr_mask(&op)))
        return EXIT_RESUME;             /* RIP stays: the rest at the next exit */
    advance(e);
    return EXIT_RESUME;
}

static exit_action_t exit_io(vmexit_t *e)
{
    nestor_word_t q = e->qualification;
    uint16_t port = (uint16_t)(q >> X86_IOQ_PORT_SHIFT);
    e->vm->io_exits_by_port[port < VMM_IO_PORTS_COUNTED ? port : VMM_IO_PORTS_COUNTED]++;
    if (q & X86_IOQ_STRING)
        return exit_string_io(e);
    unsigned size = (unsigned)(q & X86_IOQ_SIZE_MASK) + 1;
    bool in = q & X86_IOQ_IN;
    uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    uint32_t value = (uint32_t)e->s->rax;
    port_result_t pr = port_access(e->vm, port, in, size, &value);
    if (pr == PORT_END)
        return EXIT_STOP;
    if (pr == PORT_RESET)
        return reset_vm(e);
    if (in) {
        e->s->rax = (e->s->rax & ~(nestor_word_t)mask) | value;
        e->changed |= NESTOR_MTD_GPRS;
    }
    advance(e);
    return EXIT_RESUME;
}

/* CPUID as the host answers it, for the allow-list (cpu_policy.c). The
 * XSAVE components are those the host kernel enabled (XGETBV 0): the kernel
 * switches the guest's XCR0 within them. */
cpuid_regs_t host_cpuid(uint32_t leaf, uint32_t sub)
{
    cpuid_regs_t r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(sub));
    if (leaf == 0xD && sub == 0) {
        uint32_t c1, a1, b1, d1;
        __asm__ volatile("cpuid" : "=a"(a1), "=b"(b1), "=c"(c1), "=d"(d1) : "a"(1), "c"(0));
        uint64_t host_xcr0 = 0;
        if (c1 & CPUID_1_ECX_OSXSAVE) {
            uint32_t lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            host_xcr0 = (uint64_t)hi << 32 | lo;
        }
        r.eax &= (uint32_t)host_xcr0;
        r.edx &= (uint32_t)(host_xcr0 >> 32);
    }
    return r;
}

static uint64_t guest_xcr0_allowed(void)
{
    static uint64_t allowed = UINT64_MAX;
    if (allowed == UINT64_MAX)
        allowed = xcr0_allowed(host_cpuid);
    return allowed;
}

static uint64_t guest_cr4_allowed(void)
{
    static uint64_t allowed = UINT64_MAX;
    if (allowed == UINT64_MAX)
        allowed = cr4_allowed(host_cpuid);
    return allowed;
}

uint64_t vm_lapic_base(const vm_t *vm)
{
    if (!(vm->devices & SC_DEV_LAPIC) || !(vm->apic_base & X86_APIC_BASE_EN))
        return 0;
    return vm->apic_base & X86_APIC_BASE_ADDR;
}

uint64_t vm_lapic_mmio_base(const vm_t *vm)
{
    /* SDM Vol. 3A 10.12.2: in x2APIC mode the xAPIC page is not the APIC's
     * (its accesses go where they would with the APIC disabled). */
    return vm->apic_base & X86_APIC_BASE_EXTD ? 0 : vm_lapic_base(vm);
}

unsigned vm_cpl(const nestor_vcpu_state_t *s)
{
    return guest_cpl(s);
}

/* The host-only part of CPUID per leaf and subleaf, computed once: a small
 * direct-mapped cache (the allow-list walk costs more than the exit). */
#define CPUID_CACHE_SLOTS 32
static struct {
    bool valid;
    uint32_t leaf, sub;
    cpuid_regs_t r;
} cpuid_cache[CPUID_CACHE_SLOTS];

static inline unsigned cpuid_cache_slot(uint32_t leaf, uint32_t sub)
{
    return (leaf ^ (leaf >> 25) ^ (sub * 7)) % CPUID_CACHE_SLOTS;
}

static inline bool cpuid_cache_hit(unsigned i, uint32_t leaf, uint32_t sub)
{
    return cpuid_cache[i].valid && cpuid_cache[i].leaf == leaf && cpuid_cache[i].sub == sub;
}

static cpuid_regs_t cpuid_static_cached(uint32_t leaf, uint32_t sub)
{
    unsigned i = cpuid_cache_slot(leaf, sub);
    if (!cpuid_cache_hit(i, leaf, sub)) {
        cpuid_cache[i].r = cpuid_static(leaf, sub, host_cpuid);
        cpuid_cache[i].leaf = leaf;
        cpuid_cache[i].sub = sub;
        cpuid_cache[i].valid = true;
    }
    return cpuid_cache[i].r;
}

/* The leaves whose values depend on the guest's state (cpuid_guest_state):
 * only they fetch it. Leaf 1 needs guest CR4 (OSXSAVE), leaf 80000001H the
 * mode (EFER.LMA, CS.L: SYSCALL is shown in 64-bit mode only), which the
 * exit does not bring: fetched on demand, so the other leaves cost no reads. */
static __attribute__((noinline)) cpuid_regs_t cpuid_stateful(vmexit_t *e, uint32_t leaf,
                                                            uint32_t sub, cpuid_regs_t r)
{
    if (leaf == 0x1)
        fetch_state(e, NESTOR_MTD_CR);
    else if (leaf == 0x80000001)
        fetch_cr_segs(e);
    const cpuid_guest_t g = { .cr4 = e->s->cr4, .xcr0 = e->vm->xcr0,
                              .apic_enabled = vm_lapic_base(e->vm) != 0, .apic_id = 0,
                              .rdtscp = e->vm->rdtscp, .vmx = e->vm->vmx_shown,
                              .x2apic = (e->vm->devices & SC_DEV_LAPIC) != 0,
                              .tsc_deadline = (e->vm->devices & SC_DEV_LAPIC) != 0,
                              .long64 = leaf == 0x80000001 &&
                                        guest_cpu_mode(e->s) == X86_MODE_64 };
    return cpuid_guest_state(leaf, sub, r, &g, host_cpuid);
}

/* The leaves below 32 whose result depends on the guest's state
 * (cpuid_guest_state): 1, 7, 0BH, 0DH; one bit test on the exit path. */
#define CPUID_STATEFUL_LOW (1u << 0x1 | 1u << 0x7 | 1u << 0xB | 1u << 0xD)

/* The guest's RAX..RDX from @r, and on past the instruction. */
static exit_action_t cpuid_answer(vmexit_t *e, const cpuid_regs_t *r)
{
    e->s->rax = r->eax;
    e->s->rbx = r->ebx;
    e->s->rcx = r->ecx;
    e->s->rdx = r->edx;
    e->changed |= NESTOR_MTD_GPRS;
    advance(e);
    return EXIT_RESUME;
}

static inline bool cpuid_leaf_stateful(uint32_t leaf)
{
    return (leaf < 32 && (CPUID_STATEFUL_LOW >> leaf & 1)) || leaf == 0x80000001;
}

/* A leaf not cached yet, or one that reads the guest's state. */
static __attribute__((noinline)) exit_action_t exit_cpuid_slow(vmexit_t *e, uint32_t leaf,
                                                               uint32_t sub)
{
    cpuid_regs_t r = cpuid_static_cached(leaf, sub);
    if (cpuid_leaf_stateful(leaf))
        r = cpuid_stateful(e, leaf, sub, r);
    return cpuid_answer(e, &r);
}

/* A cached stateless leaf (every CPUID exit of the bench, BENCHMARKS.md)
 * is answered with no call and no frame; the rest out of line. */
static exit_action_t exit_cpuid(vmexit_t *e)
{
    uint32_t leaf = (uint32_t)e->s->rax, sub = (uint32_t)e->s->rcx;
    unsigned i = cpuid_cache_slot(leaf, sub);
    if (!cpuid_cache_hit(i, leaf, sub) || cpuid_leaf_stateful(leaf))
        return exit_cpuid_slow(e, leaf, sub);
    return cpuid_answer(e, &cpuid_cache[i].r);
}

static exit_action_t exit_hlt(vmexit_t *e)
{
    /* An NMI wakes HLT whatever RFLAGS.IF says (SDM Vol. 2A HLT, Vol. 3A
     * 6.8.1), unless NMIs are blocked (in the guest's NMI handler, 6.7.1). */
    bool intr_on = e->s->rflags & X86_RFLAGS_IF_BIT;
    bool intr = irq_pending(e->vm) >= 0;        /* ticks the timers first */
    bool nmi_ok = !(e->s->interruptibility & X86_INTR_BLOCK_NMI);
    if (!intr_on && !(nmi_ok && irq_nmi_may_come(e->vm)))
        return vm_stop(e->vm, "halted with interrupts disabled at rip 0x%lx", e->rip);
    /* When it wakes, it runs on after the HLT. (No single-step trap here:
     * a halted guest takes its wake-up interrupt first; a step over HLT
     * ends after the handler and the next instruction.) */
    advance_rip(e);
    if ((intr_on && intr) || (nmi_ok && irq_nmi_pending(e->vm)))
        return EXIT_RESUME;     /* irq_before_resume injects it now */
    if (irq_next_deadline(e->vm) == UINT64_MAX && !e->vm->console_input &&
        !vfwd_may_signal(e->vm))
        return vm_stop(e->vm, "halted with interrupts on but no timer or device armed");
    /* Back in, halted (activity state HLT, SDM 24.4.2): the CPU waits in the
     * guest; the VMM pauses it when an interrupt is due and injects it. The
     * STI shadow of "sti; hlt" is over once RIP is past the HLT. */
    e->s->activity = X86_ACTIVITY_HLT;
    e->s->interruptibility = 0;
    e->changed |= NESTOR_MTD_INTR;
    e->vm->halted = true;
    irq_arm_wake(e->vm);        /* woken at its deadline, not the host's next tick */
    return EXIT_RESUME;
}

/* The VMM paused the guest (NESTOR_VCPU_PAUSE) because an interrupt is
 * due, or the guest can now take one (interrupt window) or its held NMI
 * (NMI window, SDM Vol. 3C 25.2: no virtual-NMI blocking, no STI/MOV SS
 * shadow): resuming is all, irq_before_resume injects it. */
static exit_action_t exit_inject_due(vmexit_t *e)
{
    if ((e->reason & NESTOR_EXIT_REASON_MASK) == NESTOR_EXIT_PREEMPT_TIMER &&
        e->qualification == NESTOR_PREEMPT_MONITOR_TIMER)
        irq_wake_timer_ran_out(e->vm);      /* the wake-up timer of a halted guest (irq.c) */
    return EXIT_RESUME;
}

static exit_action_t exit_triple_fault(vmexit_t *e)
{
    return vm_stop(e->vm, "triple fault at rip 0x%lx", e->rip);
}

exit_action_t vm_inject_exception(vmexit_t *e, unsigned vector, uint32_t error)
{
    /* SDM Vol. 3C 24.8.3, Table 24-16: type 3 (hardware exception); bit 11
     * delivers an error code for the exceptions that push one
     * (x86_exception_has_error). A fault: RIP stays, no length. */
    bool has_error = x86_exception_has_error(vector);
    e->s->inject_info = X86_INTR_VALID | X86_INTR_TYPE_HW_EXC | (vector & X86_INTR_VECTOR_MASK) |
                        (has_error ? X86_INTR_DELIVER_ERR : 0);
    e->s->inject_error = has_error ? error : 0;
    e->s->inject_instr_len = 0;
    e->changed |= NESTOR_MTD_INJECT;
    /* A fault pushes RF = 1 (SDM Vol. 3B 17.3.1.1: "for any fault-class
     * exception except a debug exception generated in response to an
     * instruction breakpoint"), but event injection pushes the guest's
     * RFLAGS as they are (SDM Vol. 3C 26.6.1.2): the VMM sets RF itself. */
    if (x86_exception_is_fault(vector)) {
        e->s->rflags |= X86_RFLAGS_RF;
        e->changed |= NESTOR_MTD_RFLAGS;
    }
    return EXIT_RESUME;
}

/* Hypercalls (vmm_hypercall.h): RAX selects; unknown ones return
 * VMM_HC_ERROR in RAX. */


/* The exits of @vm its device servers answered themselves at their
 * doorbells (virtio_fwd.h): with the VMM's own, the VM's exits. Inline
 * (no call in the hypercall's switch: VMCALL's path stays as it was). */
static inline uint64_t doorbell_exits(const vm_t *vm)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < vm->n_virtio; i++)
        if (vm->virtio[i].db_note)
            n += vm->virtio[i].db_resumed + vm->virtio[i].db_note->resumed;
    return n;
}

static exit_action_t exit_vmcall(vmexit_t *e)
{
    e->vm->hypercalls++;
    switch (e->s->rax) {
    case VMM_HC_PING:
        e->s->rax = 0;
        break;
    case VMM_HC_REPORT_CPUID:
        e->vm->guest_cpuid_reported = e->s->rbx;
        e->s->rax = 0;
        break;
    default:
        /* The bench's exit count, tested here so that PING's path (bench
         * exits' VMCALL) is the one it was: a third case cost it +4. */
        if (e->s->rax == VMM_HC_EXITS) {
            e->s->rax = e->vm->exits + doorbell_exits(e->vm);
            break;
        }
        e->s->rax = VMM_HC_ERROR;
        e->vm->bad_hypercalls++;
    }
    e->changed |= NESTOR_MTD_GPRS;
    advance(e);
    return EXIT_RESUME;
}

/* ---- MSRs: a per-VM policy (msr.c); anything else is #GP, as on hardware ---- */

static exit_action_t exit_rdmsr(vmexit_t *e)
{
    uint64_t v;
    if (!msr_read(e, (uint32_t)e->s->rcx, &v))
        return vm_inject_exception(e, X86_VEC_GP, 0);
    e->s->rax = v & 0xFFFFFFFFu;
    e->s->rdx = v >> 32;
    e->changed |= NESTOR_MTD_GPRS;
    advance(e);
    return EXIT_RESUME;
}

static exit_action_t exit_wrmsr(vmexit_t *e)
{
    uint64_t v = (e->s->rdx << 32) | (e->s->rax & 0xFFFFFFFFu);
    nestor_word_t before = e->changed;
    if (!msr_write(e, (uint32_t)e->s->rcx, v)) {
        e->changed = before;            /* nothing of a refused write goes back */
        return vm_inject_exception(e, X86_VEC_GP, 0);
    }
    advance(e);
    return EXIT_RESUME;
}

/* XSETBV (SDM Vol. 2C XSETBV, Vol. 1 13.3): #UD without CR4.OSXSAVE, #GP(0)
 * for what cpu_policy.c's xcr0_valid refuses; else the kernel loads the new
 * XCR0 for this vCPU (NESTOR_MTD_XCR0). */
static exit_action_t exit_xsetbv(vmexit_t *e)
{
    uint64_t v = (e->s->rdx << 32) | (e->s->rax & 0xFFFFFFFFu);
    if (!(e->s->cr4 & X86_CR4_OSXSAVE))
        return vm_inject_exception(e, X86_VEC_UD, 0);
    if (!xcr0_valid((uint32_t)e->s->rcx, v, vm_cpl(e->s), guest_xcr0_allowed()))
        return vm_inject_exception(e, X86_VEC_GP, 0);
    e->vm->xcr0 = v;
    e->s->xcr0 = v;
    e->changed |= NESTOR_MTD_XCR0;
    advance(e);
    return EXIT_RESUME;
}

/* Control-register accesses (SDM Vol. 3C 27.2.1, Table 27-3). MOV to
 * CR0/CR4 exits when it changes a bit VMX keeps fixed (CR0.NE, CR4.VMXE:
 * the kernel keeps the real bit and shows the guest its own) or CR4.OSXSAVE
 * (the kernel owns it so that it knows when the guest's XCR0 is live); the VMM then
 * carries out the whole write with the checks of MOV CR (cpu_policy.c):
 * #GP(0) for what the CPU refuses, EFER.LMA following CR0.PG with LME. The
 * reply's NESTOR_MTD_CR loads CR0, CR2, CR3, CR4 and EFER, so the exit mask
 * brings all of them (vmm_exit_mask). */
/* (The qualification's fields: x86_vmx.h CRQ_*.) */

#define CR8_TPR_MASK 0xF
#define CR8_TPR_SHIFT 4

/* SDM Vol. 3A 10.8.6.1: CR8 is the LAPIC's TPR seen as its priority class:
 * MOV to CR8 sets TPR[7:4] = CR8[3:0] and TPR[3:0] = 0, MOV from CR8
 * reads TPR[7:4]. A VM without a LAPIC keeps CR8 alone. */
static nestor_word_t vm_cr8(vm_t *vm)
{
    uint32_t tpr = 0;
    if (!(vm->devices & SC_DEV_LAPIC))
        return vm->cr8;
    lapic_mmio(&vm->lapic, LAPIC_REG_TPR, false, &tpr, vm_now_ns());
    return (tpr >> CR8_TPR_SHIFT) & CR8_TPR_MASK;
}

static void vm_set_cr8(vm_t *vm, nestor_word_t v)
{
    uint32_t tpr = (uint32_t)v << CR8_TPR_SHIFT;
    if (vm->devices & SC_DEV_LAPIC)
        lapic_mmio(&vm->lapic, LAPIC_REG_TPR, true, &tpr, vm_now_ns());
    else
        vm->cr8 = v;
    vm->irq_quiet = false;      /* a lower priority may let an interrupt through */
}

static exit_action_t exit_cr(vmexit_t *e)
{
    nestor_word_t q = e->qualification;
    unsigned cr = CRQ_NUMBER(q);
    nestor_vcpu_state_t *s = e->s;
    /* CR8 (the TPR) always exits: the guest gets a virtual one. */
    if (cr == 8 && (CRQ_TYPE(q) == CRQ_MOV_TO_CR || CRQ_TYPE(q) == CRQ_MOV_FROM_CR)) {
        if (CRQ_TYPE(q) == CRQ_MOV_TO_CR) {
            nestor_word_t v = *vm_gpr(s, CRQ_GPR(q));
            if (v & ~(nestor_word_t)CR8_TPR_MASK)      /* SDM Vol. 2B MOV CR: CR8[63:4] */
                return vm_inject_exception(e, X86_VEC_GP, 0);
            vm_set_cr8(e->vm, v);
        } else {
            *vm_gpr(s, CRQ_GPR(q)) = vm_cr8(e->vm);
        }
        e->changed |= NESTOR_MTD_GPRS;
        advance(e);
        return EXIT_RESUME;
    }
    if (CRQ_TYPE(q) != CRQ_MOV_TO_CR || (cr != 0 && cr != 4))
        return vm_stop(e->vm, "unexpected control-register exit (qualification 0x%lx)", q);
    nestor_word_t v = *vm_gpr(s, CRQ_GPR(q));
    const cr_state_t cur = { .cr0 = s->cr0, .cr4 = s->cr4, .efer = s->efer };
    cr_state_t out;
    bool ok = cr == 0 ? cr0_write(&cur, s->cs.ar & X86_AR_L, v, &out)
                      : cr4_write(&cur, s->cr3, v,
                                  guest_cr4_allowed() | (e->vm->vmx_shown ? X86_CR4_VMXE : 0),
                                  &out);
    if (!ok)
        return vm_inject_exception(e, X86_VEC_GP, 0);
    s->cr0 = out.cr0;
    s->cr4 = out.cr4;
    s->efer = out.efer;
    e->changed |= NESTOR_MTD_CR;
    advance(e);
    return EXIT_RESUME;
}

/* INVD, WBINVD (SDM Vol. 2A): the caches are the host's and coherent with
 * the guest's RAM (write-back EPT); nothing to do but go on. */
static exit_action_t exit_skip(vmexit_t *e)
{
    advance(e);
    return EXIT_RESUME;
}

/* Instructions the guest is not shown and that raise #UD on a CPU without
 * them: VMX (CPUID.1:ECX.VMX hidden, and CR4.VMXE cannot be set: SDM Vol.
 * 3C 30.3 VMXON etc. "#UD if CR4.VMXE = 0"), MONITOR/MWAIT (CPUID.1:ECX.
 * MONITOR hidden, Vol. 2B MONITOR "#UD if CPUID.01H:ECX.MONITOR = 0"),
 * INVPCID, XSAVES/XRSTORS (hidden; their controls are off), RDTSCP (exits
 * only where the VMM could not enable it, and then it is hidden), GETSEC
 * (SMX hidden, CR4.SMXE reserved). */
static exit_action_t exit_ud(vmexit_t *e)
{
    return vm_inject_exception(e, X86_VEC_UD, 0);
}

/* RDPMC (SDM Vol. 2B): no counters are shown (CPUID leaf 0AH is 0), so
 * every ECX is invalid: #GP(0). */
static exit_action_t exit_rdpmc(vmexit_t *e)
{
    return vm_inject_exception(e, X86_VEC_GP, 0);
}

typedef exit_action_t (*exit_handler_t)(vmexit_t *e);

static const exit_handler_t handlers[NESTOR_EXIT_REASONS] = {
    [NESTOR_EXIT_IO] = exit_io,
    [NESTOR_EXIT_CPUID] = exit_cpuid,
    [NESTOR_EXIT_HLT] = exit_hlt,
    [NESTOR_EXIT_TRIPLE_FAULT] = exit_triple_fault,
    [NESTOR_EXIT_VMCALL] = exit_vmcall,
    [NESTOR_EXIT_RDMSR] = exit_rdmsr,
    [NESTOR_EXIT_WRMSR] = exit_wrmsr,
    [NESTOR_EXIT_XSETBV] = exit_xsetbv,
    [NESTOR_EXIT_CR_ACCESS] = exit_cr,
    [NESTOR_EXIT_EPT_VIOLATION] = mmio_exit,
    [NESTOR_EXIT_INTR_WINDOW] = exit_inject_due,
    [NESTOR_EXIT_NMI_WINDOW] = exit_inject_due,
    [NESTOR_EXIT_PREEMPT_TIMER] = exit_inject_due,
    [NESTOR_EXIT_INVD] = exit_skip,
    [NESTOR_EXIT_WBINVD] = exit_skip,
    [NESTOR_EXIT_RDPMC] = exit_rdpmc,
    [NESTOR_EXIT_TASK_SWITCH] = exit_task_switch,
    [NESTOR_EXIT_MONITOR] = exit_ud,
    [NESTOR_EXIT_MWAIT] = exit_ud,
    [NESTOR_EXIT_GETSEC] = exit_ud,
    [NESTOR_EXIT_VMCLEAR] = exit_ud,
    [NESTOR_EXIT_VMLAUNCH] = exit_ud,
    [NESTOR_EXIT_VMPTRLD] = exit_ud,
    [NESTOR_EXIT_VMPTRST] = exit_ud,
    [NESTOR_EXIT_VMREAD] = exit_ud,
    [NESTOR_EXIT_VMRESUME] = exit_ud,
    [NESTOR_EXIT_VMWRITE] = exit_ud,
    [NESTOR_EXIT_VMXOFF] = exit_ud,
    [NESTOR_EXIT_VMXON] = exit_ud,
    [NESTOR_EXIT_INVEPT] = exit_ud,
    [NESTOR_EXIT_INVVPID] = exit_ud,
    [NESTOR_EXIT_VMFUNC] = exit_ud,
    [NESTOR_EXIT_RDTSCP] = exit_ud,
    [NESTOR_EXIT_INVPCID] = exit_ud,
    [NESTOR_EXIT_XSAVES] = exit_ud,
    [NESTOR_EXIT_XRSTORS] = exit_ud,
};

#define EXIT_MASK_BASE (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS)

nestor_word_t vmm_exit_mask(unsigned slot)
{
    switch (slot) {
    case NESTOR_EXIT_TASK_SWITCH:       /* a task switch needs the whole CPU state */
        return NESTOR_MTD_ALL;
    /* MMIO (mmio.c): the decoder and emulator read the registers, RIP,
     * RFLAGS, the mode, CPL and segments (SEGS), paging (CR) and write back
     * those and CR2; the interrupt state is fetched on demand (irq.c). */
    case NESTOR_EXIT_EPT_VIOLATION:
    case NESTOR_EXIT_CR_ACCESS:         /* the reply's NESTOR_MTD_CR loads CR0-CR4 and EFER */
        return EXIT_MASK_BASE | NESTOR_MTD_CR | NESTOR_MTD_SEGS;
    case NESTOR_EXIT_RDMSR:
    case NESTOR_EXIT_WRMSR:
        return EXIT_MASK_BASE | NESTOR_MTD_CR | NESTOR_MTD_SEGS | NESTOR_MTD_MSRS |
               NESTOR_MTD_DEBUG;
    case NESTOR_EXIT_XSETBV:
        return EXIT_MASK_BASE | NESTOR_MTD_CR | NESTOR_MTD_SEGS | NESTOR_MTD_XCR0;
    /* A reply may load only groups fetched at its exit (nestor/vcpu.h): the
     * exits after which the activity or interruptibility state changes (a
     * halt, the ticks that wake a halted guest, an interrupt or NMI window) fetch
     * them; irq.c fetches them on demand after any other exit. */
    case NESTOR_EXIT_HLT:
    case NESTOR_EXIT_PREEMPT_TIMER:
    case NESTOR_EXIT_INTR_WINDOW:
    case NESTOR_EXIT_NMI_WINDOW:
    case NESTOR_EXIT_EXTERNAL_INT:
        return EXIT_MASK_BASE | NESTOR_MTD_INTR;
    default:
        return slot >= NESTOR_EXIT_SLOT_ENTRY_FAIL ? NESTOR_MTD_ALL : EXIT_MASK_BASE;
    }
}

/* An exit that interrupted an event's delivery (SDM Vol. 3C 27.2.4). An EPT
 * violation then is the delivery's own access (IDT, GDT or stack outside
 * RAM), not the instruction's: not emulated. After the handler the event is
 * re-injected or it is lost (27.2.4, 26.6.1), unless the handler delivered
 * it (a task gate). If the handler raised a hardware exception during its
 * delivery, SDM Vol. 3A Table 6-5 decides: a double fault, a shutdown, or
 * (serially) the original event again, whose delivery raises the exception
 * anew. */
static __attribute__((noinline)) exit_action_t handle_vectoring(vmexit_t *e, exit_handler_t h,
                                                                unsigned basic)
{
    if (basic == NESTOR_EXIT_EPT_VIOLATION || basic == NESTOR_EXIT_EPT_MISCONFIG)
        return vm_stop(e->vm, "delivering event 0x%lx touched guest-physical 0x%lx outside RAM "
                              "(a descriptor table or stack in MMIO is not emulated)",
                       e->idt_vectoring, e->guest_phys);
    exit_action_t act = h(e);
    if (act != EXIT_RESUME || e->event_consumed)
        return act;
    if ((e->changed & NESTOR_MTD_INJECT) &&
        (e->s->inject_info & X86_INTR_TYPE_MASK) == X86_INTR_TYPE_HW_EXC) {
        switch (event_merge((uint32_t)e->idt_vectoring,
                            (unsigned)(e->s->inject_info & X86_INTR_VECTOR_MASK))) {
        case EVENT_TRIPLE_FAULT:
            return vm_stop(e->vm, "triple fault (an exception while delivering #DF) at rip 0x%lx",
                           e->rip);
        case EVENT_DOUBLE_FAULT:
            return vm_inject_exception(e, X86_VEC_DF, 0);
        case EVENT_SERIAL:
            break;
        }
    }
    uint32_t info, error, len;
    if (idt_reinject((uint32_t)e->idt_vectoring, (uint32_t)e->idt_error, (uint32_t)e->instr_len,
                     &info, &error, &len)) {
        e->s->inject_info = info;
        e->s->inject_error = error;
        e->s->inject_instr_len = len;
        e->changed |= NESTOR_MTD_INJECT;
    }
    return act;
}

exit_action_t vm_handle_exit(vmexit_t *e)
{
    e->vm->exits++;
    /* Basic reasons are below NESTOR_EXIT_REASONS (SDM Vol. 3D Appendix C). */
    e->vm->exits_by_reason[e->reason & (NESTOR_EXIT_REASONS - 1)]++;
    e->vm->pause_requested = false;     /* any exit serves (the kernel drops the pause) */
    if (e->vm->over_limit)
        return vm_stop(e->vm, "ran past its time limit (vmm.limit_ms) at rip 0x%lx", e->rip);
    if (e->reason & BIT(31))
        return vm_stop(e->vm, "VM entry failed (reason 0x%lx): invalid guest state", e->reason);
    unsigned basic = (unsigned)(e->reason & NESTOR_EXIT_REASON_MASK);
    exit_handler_t h = basic < NESTOR_EXIT_REASONS ? handlers[basic] : 0;
    if (!h)
        return vm_stop(e->vm, "unhandled exit reason %u at rip 0x%lx", basic, e->rip);
    if (__builtin_expect(e->idt_vectoring & X86_INTR_VALID, 0))
        return handle_vectoring(e, h, basic);
    return h(e);
}

/* MSRs of the VM's platform, kept by the VMM rather than in the state page. */
static bool platform_msr(uint32_t msr)
{
    switch (msr) {
    case MSR_IA32_TSC: case MSR_IA32_TSC_ADJUST: case MSR_IA32_APIC_BASE:
    case MSR_IA32_MISC_ENABLE: case MSR_IA32_MTRRCAP: case MSR_IA32_MTRR_DEF_TYPE:
        return true;
    default:
        return false;
    }
}

/* The requests of the checkpoint monitor stacked on @vm (checkpoint/
 * include/ckpt_dev.h): record words after MR CKPT_DEV_MR_DATA, in the IPC
 * buffer (dev_state.c). */
static void dev_state_request(vm_t *vm, nu_msg_t *m)
{
    dev_models_t d = {
        .devices = vm->devices | (vm->linux_boot ? DEV_STATE_ACPI_PM : 0),
        .pic = &vm->pic, .irq_lines = &vm->irq_lines, .pit = &vm->pit, .uart = &vm->uart,
        .rtc = &vm->rtc, .unix_now = vm_unix_seconds(), .lapic = &vm->lapic,
        .ioapic = &vm->ioapic, .kbc = &vm->kbc, .sysctl = &vm->sysctl, .acpi_pm = &vm->acpi_pm,
        .platform = { .apic_base = &vm->apic_base, .misc_enable = &vm->misc_enable,
                      .mtrr_def = &vm->msr_mtrr_def, .tsc_adjust = &vm->tsc_adjust,
                      .xcr0 = &vm->xcr0, .cr8 = &vm->cr8, .guest_tsc = msr_guest_tsc(vm),
                      .maxphyaddr = msr_maxphyaddr(), .xcr0_allowed = guest_xcr0_allowed() },
    };
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    uint8_t *words = (uint8_t *)&b->msg[CKPT_DEV_MR_DATA];
    ckpt_dev_record_t rec;
    nestor_word_t out = NVMX_REQ_OK;
    if (nestor_msginfo_label(m->info) == CKPT_REQ_DEV_DONE) {
        /* Every device server's device had its record (ckpt_dev.h). */
        const int n = dev_state_virtio_missing(vm->n_virtio, vm->virtio_loaded);
        *m = n < 0 ? (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_OK, 0, 0, 0) }
                   : (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_FAULT, 0, 0, 3),
                                 .mr = { CKPT_DEV_E_MISSING, CKPT_DEV_VIRTIO, (unsigned)n } };
        return;
    }
    if (nestor_msginfo_label(m->info) == CKPT_REQ_DEV_SAVE) {
        /* The models' records, then one per device server's device. */
        const unsigned k = (unsigned)m->mr[0], models = dev_state_count(&d);
        if (k >= models && k - models < vm->n_virtio) {
            dev_virtio_state_t vs;
            if (!vfwd_save(vm, k - models, &vs)) {
                *m = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_FAULT, 0, 0, 1),
                                 .mr = { CKPT_DEV_E_SERVER } };
                return;
            }
            rec = (ckpt_dev_record_t){ .id = CKPT_DEV_VIRTIO, .version = DEV_VIRTIO_STATE_VERSION,
                                       .bytes = sizeof vs, .instance = k - models };
            memcpy(words, &vs, sizeof vs);
        } else if (!dev_state_save(&d, k, &rec, words, vm_now_ns())) {
            *m = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_NONE, 0, 0, 0) };
            return;
        }
        *m = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_OK, 0, 0, CKPT_DEV_MR_DATA +
                                                (rec.bytes + 7) / 8),
                         .mr = { rec.id, rec.version, rec.bytes, rec.instance } };
        return;
    }
    rec = (ckpt_dev_record_t){ .id = (uint32_t)m->mr[CKPT_DEV_MR_ID],
                               .version = (uint32_t)m->mr[CKPT_DEV_MR_VERSION],
                               .bytes = (uint32_t)m->mr[CKPT_DEV_MR_BYTES],
                               .instance = (uint32_t)m->mr[CKPT_DEV_MR_INSTANCE] };
    unsigned e = CKPT_DEV_E_VERSION;
    if (m->mr[CKPT_DEV_MR_BYTES] > CKPT_DEV_MAX_BYTES ||
        nestor_msginfo_length(m->info) != CKPT_DEV_MR_DATA + (rec.bytes + 7) / 8) {
        e = CKPT_DEV_E_VERSION;
    } else if (rec.id == CKPT_DEV_VIRTIO) {
        dev_virtio_state_t vs;
        const char *why;
        e = dev_state_virtio_check(&rec, words, vm->n_virtio, &vs, &why);
        if (e)
            printf("vmm: vm %s: device record virtio.%u refused: %s\n", vm->name, rec.instance,
                   why);
        else if (!(e = vfwd_load(vm, rec.instance, &vs)))
            vm->virtio_loaded |= 1u << rec.instance;
    } else {
        e = dev_state_load(&d, &rec, words, vm_now_ns());
    }
    /* The platform record's TSC: the guest's counts on from where it was
     * (SDM Vol. 3C 25.3, the VMCS TSC offset). */
    if (!e && rec.id == CKPT_DEV_PLATFORM && !msr_set_guest_tsc(vm, d.platform.guest_tsc))
        e = CKPT_DEV_E_INVALID;
    if (e)
        out = NVMX_REQ_FAULT;
    else
        vm->irq_quiet = false;              /* a restored timer or line may be due */
    *m = (nu_msg_t){ .info = nestor_msginfo(out, 0, 0, 1), .mr = { e } };
}

/* The vCPU thread's FPU state for the checkpoint monitor (ckpt_dev.h
 * CKPT_REQ_FPU_*): read or written through our capability to the thread,
 * while it waits on the monitor's exit. */
static void fpu_request(vm_t *vm, nu_msg_t *m)
{
    nestor_word_t w[CKPT_FPU_WORDS];
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    if (nestor_msginfo_label(m->info) == CKPT_REQ_FPU_SAVE) {
        if (nu_invoke(vm->tcb, NESTOR_TCB_READ_FPU, 0, 0, 0, 0, w, CKPT_FPU_WORDS) != NESTOR_OK) {
            *m = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_FAULT, 0, 0, 0) };
            return;
        }
        *m = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_OK, 0, 0, CKPT_FPU_WORDS) };
        for (unsigned i = 0; i < CKPT_FPU_WORDS; i++) {
            if (i < NESTOR_MSG_REGISTERS_IN_CPU)
                m->mr[i] = w[i];
            else
                b->msg[i] = w[i];
        }
        return;
    }
    bool ok = nestor_msginfo_length(m->info) == CKPT_FPU_WORDS;
    for (unsigned i = 0; ok && i < CKPT_FPU_WORDS; i++)
        w[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m->mr[i] : b->msg[i];
    ok = ok && nu_invoke(vm->tcb, NESTOR_TCB_WRITE_FPU, w, CKPT_FPU_WORDS, 0, 0, 0, 0) ==
                   NESTOR_OK;
    *m = (nu_msg_t){ .info = nestor_msginfo(ok ? NVMX_REQ_OK : NVMX_REQ_FAULT, 0, 0, 0) };
}

/* A request of nested-vmx for an access its L2 makes that L1 lets through
 * to L1's own platform (nvmx_setup.h): the device or MSR answers as it
 * would the guest itself; or for the interrupt an L2 exit acknowledges. The platform MSRs only: those in the state page
 * are nested-vmx's to carry out on L2's state. */
void vm_monitor_request(vm_t *vm, nu_msg_t *m)
{
    const nestor_word_t label = nestor_msginfo_label(m->info);
    nestor_word_t out = NVMX_REQ_FAULT, value = 0;
    if (label == CKPT_REQ_DEV_SAVE || label == CKPT_REQ_DEV_LOAD || label == CKPT_REQ_DEV_DONE) {
        dev_state_request(vm, m);
        return;
    }
    if (label == CKPT_REQ_FPU_SAVE || label == CKPT_REQ_FPU_LOAD) {
        fpu_request(vm, m);
        return;
    }
    if (label == NVMX_REQ_IO && (m->mr[1] == 1 || m->mr[1] == 2 || m->mr[1] == 4) &&
        m->mr[0] <= 0xFFFF) {
        uint32_t v = (uint32_t)m->mr[3];
        port_result_t pr = port_access(vm, (uint16_t)m->mr[0], m->mr[2] == 1,
                                       (unsigned)m->mr[1], &v);
        if (pr == PORT_RESET)
            vm_stop(vm, "a system reset from a nested guest (not carried out for L1)");
        out = pr == PORT_OK ? NVMX_REQ_OK : NVMX_REQ_ENDED;
        value = v;
    } else if (label == NVMX_REQ_MSR && platform_msr((uint32_t)m->mr[0])) {
        static nestor_vcpu_state_t scratch;     /* platform MSRs touch no vCPU state */
        vmexit_t e = { .vm = vm, .s = &scratch };
        uint64_t v = m->mr[2];
        bool ok = m->mr[1] == 1 ? msr_write(&e, (uint32_t)m->mr[0], v)
                                : msr_read(&e, (uint32_t)m->mr[0], &v);
        out = ok ? NVMX_REQ_OK : NVMX_REQ_FAULT;
        value = v;
    } else if (label == NVMX_REQ_ACK && m->mr[0] == NVMX_ACK_NMI) {
        /* L1's NMI went to its L2: an NMI exit (SDM 25.2, "NMI exiting")
         * or delivered to L2 (25.3). Taken as the CPU takes an NMI. */
        out = NVMX_REQ_NONE;
        if (irq_nmi_pending(vm)) {
            lapic_nmi_ack(&vm->lapic);
            vm->nmis++;
            out = NVMX_REQ_OK;
        }
        irq_publish(vm);
    } else if (label == NVMX_REQ_ACK && m->mr[0] == NVMX_ACK_INTR) {
        /* Its L2 exits to L1 for L1's interrupt with "acknowledge interrupt
         * on exit" (SDM 27.2.2). With none pending any more (L2 masked it
         * through L1's devices) L2 goes on, and the next interrupt must
         * kick it again. */
        const int v = irq_acknowledge(vm);
        out = v >= 0 ? NVMX_REQ_OK : NVMX_REQ_NONE;
        value = v >= 0 ? (nestor_word_t)v : 0;
        if (v < 0)
            vm->pause_requested = false;
        irq_publish(vm);
    } else if (label == NVMX_REQ_MMIO) {
        /* Its L2's access to the VM's device memory, which EPT12 maps for
         * it: the device answers as to the VM's own access. */
        uint64_t v = m->mr[3];
        out = mmio_device_access(vm, m->mr[0], (unsigned)m->mr[1], m->mr[2] == 1, &v)
                  ? NVMX_REQ_OK : NVMX_REQ_NONE;
        value = v;
    } else if (label == NVMX_REQ_CR8) {
        /* SDM Vol. 2B MOV CR: CR8[63:4] reserved. */
        if (m->mr[0] != 1) {
            value = vm_cr8(vm);
            out = NVMX_REQ_OK;
        } else if (!(m->mr[1] & ~(nestor_word_t)CR8_TPR_MASK)) {
            vm_set_cr8(vm, m->mr[1]);
            out = NVMX_REQ_OK;
        }
    }
    *m = (nu_msg_t){ .info = nestor_msginfo(out, 0, 0, 1), .mr = { value } };
}
