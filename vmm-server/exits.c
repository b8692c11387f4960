/*
 * vmm-server/exits.c - the exit handlers, one per exit reason.
 * Exit qualification layouts: SDM Vol. 3C 27.2.1, Table 27-5 (I/O).
 */
#include "vmm.h"
#include <stdarg.h>
#include <fmt.h>
#include <user/print.h>

#define IO_SIZE_MASK     0x7
#define IO_DIR_IN        BIT(3)
#define IO_STRING        BIT(4)
#define IO_PORT_SHIFT    16
#define GUEST_EXIT_PORT  0xF4
#define CPUID_1_ECX_VMX  BIT(5)
#define CPUID_1_ECX_HYPERVISOR BIT(31)
#define CPUID_HV_LEAF    0x40000000
#define GUEST_ACTIVITY_HLT 1

exit_action_t vm_stop(vm_t *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
    va_end(ap);
    vm->status = VM_STOPPED;
    return EXIT_STOP;
}

static void advance(vmexit_t *e)
{
    e->s->rip = e->rip + e->instr_len;
    e->changed |= NESTOR_MTD_RIP;
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

static exit_action_t exit_io(vmexit_t *e)
{
    vm_t *vm = e->vm;
    nestor_word_t q = e->qualification;
    unsigned size = (unsigned)(q & IO_SIZE_MASK) + 1;
    bool in = q & IO_DIR_IN;
    uint16_t port = (uint16_t)(q >> IO_PORT_SHIFT);
    uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    if (q & IO_STRING)
        return vm_stop(vm, "string port I/O (ins/outs) at port 0x%x is not emulated yet", port);
    uint32_t value = in ? 0xFFFFFFFFu : (uint32_t)e->s->rax & mask;
    if (!in && port == GUEST_EXIT_PORT) {
        vm->exit_code = value;
        vm->status = VM_EXITED;
        return EXIT_STOP;
    }
    if (!in && port == BOCHS_SHUTDOWN_PORT && shutdown_byte(vm, (char)value))
        return EXIT_STOP;
    if (!((vm->devices & SC_DEV_UART) && uart_io(vm, port, in, size, &value)) && size == 1) {
        uint8_t b = (uint8_t)value;
        if (device_io(vm, port, in, &b)) {
            value = in ? b : value;
            vm->irq_quiet = false;      /* a device may have started a timer or raised a line */
        }
    }
    /* Ports with no device: reads give all ones, writes are dropped. */
    if (in) {
        e->s->rax = (e->s->rax & ~(nestor_word_t)mask) | (value & mask);
        e->changed |= NESTOR_MTD_GPRS;
    }
    advance(e);
    return EXIT_RESUME;
}

static exit_action_t exit_cpuid(vmexit_t *e)
{
    uint32_t leaf = (uint32_t)e->s->rax, sub = (uint32_t)e->s->rcx, a, b, c, d;
    if (leaf == CPUID_HV_LEAF) {
        a = CPUID_HV_LEAF;                 /* "NestorNestor": the hypervisor's name */
        b = 0x7473654E; c = 0x4E726F74; d = 0x726F7473;
    } else {
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
        if (leaf == 1) {
            c &= ~(uint32_t)CPUID_1_ECX_VMX;   /* no nested VMX offered (yet) */
            c |= CPUID_1_ECX_HYPERVISOR;
        }
    }
    e->s->rax = a;
    e->s->rbx = b;
    e->s->rcx = c;
    e->s->rdx = d;
    e->changed |= NESTOR_MTD_GPRS;
    advance(e);
    return EXIT_RESUME;
}

static exit_action_t exit_hlt(vmexit_t *e)
{
    if (!(e->s->rflags & RFLAGS_IF))
        return vm_stop(e->vm, "halted with interrupts disabled at rip 0x%lx", e->rip);
    advance(e);                 /* when it wakes, it runs on after the HLT */
    if (irq_pending(e->vm) >= 0)
        return EXIT_RESUME;     /* irq_before_resume injects it now */
    if (irq_next_deadline(e->vm) == UINT64_MAX)
        return vm_stop(e->vm, "halted with interrupts on but no timer or device armed");
    /* Back in, halted (activity state HLT, SDM 24.4.2): the CPU waits in the
     * guest; the VMM pauses it when an interrupt is due and injects it. The
     * STI shadow of "sti; hlt" is over once RIP is past the HLT. */
    e->s->activity = GUEST_ACTIVITY_HLT;
    e->s->interruptibility = 0;
    e->changed |= NESTOR_MTD_INTR;
    e->vm->halted = true;
    return EXIT_RESUME;
}

/* The VMM paused the guest (NESTOR_VCPU_PAUSE) because an interrupt is
 * due, or the guest can now take one (interrupt window): resuming is all,
 * irq_before_resume injects it. */
static exit_action_t exit_inject_due(vmexit_t *e)
{
    (void)e;
    return EXIT_RESUME;
}

static exit_action_t exit_triple_fault(vmexit_t *e)
{
    return vm_stop(e->vm, "triple fault at rip 0x%lx", e->rip);
}

/* Hardware exception injection (SDM Vol. 3C 24.8.3, Table 24-16). */
#define INTR_INFO_DELIVER_ERR BIT(11)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define VEC_UD 6
#define VEC_GP 13

static exit_action_t inject_exception(vmexit_t *e, unsigned vector, bool error_code)
{
    e->s->inject_info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
                        (error_code ? INTR_INFO_DELIVER_ERR : 0);
    e->s->inject_error = 0;
    e->s->inject_instr_len = 0;
    e->changed |= NESTOR_MTD_INJECT;
    return EXIT_RESUME;
}

/* Hypercalls: RAX selects; unknown ones return VMM_HC_ERROR in RAX. */
#define VMM_HC_PING          0
#define VMM_HC_REPORT_CPUID  1      /* RBX: how many CPUIDs the guest executed */
#define VMM_HC_ERROR ((nestor_word_t)-1)

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
    if (!msr_read(e->vm, (uint32_t)e->s->rcx, &v))
        return inject_exception(e, VEC_GP, true);
    e->s->rax = v & 0xFFFFFFFFu;
    e->s->rdx = v >> 32;
    e->changed |= NESTOR_MTD_GPRS;
    advance(e);
    return EXIT_RESUME;
}

static exit_action_t exit_wrmsr(vmexit_t *e)
{
    uint64_t v = (e->s->rdx << 32) | (e->s->rax & 0xFFFFFFFFu);
    if (!msr_write(e->vm, (uint32_t)e->s->rcx, v))
        return inject_exception(e, VEC_GP, true);
    advance(e);
    return EXIT_RESUME;
}

/* XSETBV (SDM Vol. 2C): XCR0 must keep x87 and may add SSE/AVX (the
 * components the host switches). The guest runs with the host's XCR0. */
#define XCR0_GUEST_ALLOWED 0x7

static exit_action_t exit_xsetbv(vmexit_t *e)
{
    uint64_t v = (e->s->rdx << 32) | (e->s->rax & 0xFFFFFFFFu);
    if (e->s->rcx != 0 || !(v & 1) || (v & ~(uint64_t)XCR0_GUEST_ALLOWED))
        return inject_exception(e, VEC_GP, true);
    advance(e);
    return EXIT_RESUME;
}

/* MOV to/from CR0/CR4 that touches a bit VMX keeps fixed (SDM 27.2.1,
 * Table 27-3): the kernel keeps the real bit and shows the guest its own. */
#define CRQ_NUMBER(q)  ((q) & 0xF)
#define CRQ_TYPE(q)    (((q) >> 4) & 0x3)
#define CRQ_GPR(q)     (((q) >> 8) & 0xF)
#define CRQ_MOV_TO_CR  0
#define CRQ_MOV_FROM_CR 1

#define CR8_TPR_MASK 0xF

static exit_action_t exit_cr(vmexit_t *e)
{
    nestor_word_t q = e->qualification;
    unsigned cr = CRQ_NUMBER(q);
    /* CR8 (the TPR) always exits: the guest gets a virtual one. */
    if (cr == 8 && (CRQ_TYPE(q) == CRQ_MOV_TO_CR || CRQ_TYPE(q) == CRQ_MOV_FROM_CR)) {
        if (CRQ_TYPE(q) == CRQ_MOV_TO_CR)
            e->vm->cr8 = *vm_gpr(e->s, CRQ_GPR(q)) & CR8_TPR_MASK;
        else
            *vm_gpr(e->s, CRQ_GPR(q)) = e->vm->cr8;
        e->changed |= NESTOR_MTD_GPRS;
        advance(e);
        return EXIT_RESUME;
    }
    if (CRQ_TYPE(q) != CRQ_MOV_TO_CR || (cr != 0 && cr != 4))
        return vm_stop(e->vm, "unexpected control-register exit (qualification 0x%lx)", q);
    nestor_word_t v = *vm_gpr(e->s, CRQ_GPR(q));
    if (cr == 0)
        e->s->cr0 = v;
    else
        e->s->cr4 = v;
    e->changed |= NESTOR_MTD_CR;
    advance(e);
    return EXIT_RESUME;
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
    [NESTOR_EXIT_PREEMPT_TIMER] = exit_inject_due,
};

exit_action_t vm_handle_exit(vmexit_t *e)
{
    e->vm->exits++;
    e->vm->pause_requested = false;     /* any exit serves (the kernel drops the pause) */
    if (e->vm->over_limit)
        return vm_stop(e->vm, "ran past its time limit (vmm.limit_ms) at rip 0x%lx", e->rip);
    if (e->reason & BIT(31))
        return vm_stop(e->vm, "VM entry failed (reason 0x%lx): invalid guest state", e->reason);
    unsigned basic = (unsigned)(e->reason & NESTOR_EXIT_REASON_MASK);
    exit_handler_t h = basic < NESTOR_EXIT_REASONS ? handlers[basic] : 0;
    if (!h)
        return vm_stop(e->vm, "unhandled exit reason %u at rip 0x%lx", basic, e->rip);
    return h(e);
}
