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
#define RFLAGS_IF        BIT(9)

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
    uart_io(vm, port, in, size, &value);     /* unknown ports: reads 0xFF.., writes dropped */
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
    return vm_stop(e->vm, "halted waiting for an interrupt (no interrupt sources yet)");
}

static exit_action_t exit_triple_fault(vmexit_t *e)
{
    return vm_stop(e->vm, "triple fault at rip 0x%lx", e->rip);
}

typedef exit_action_t (*exit_handler_t)(vmexit_t *e);

static const exit_handler_t handlers[NESTOR_EXIT_REASONS] = {
    [NESTOR_EXIT_IO] = exit_io,
    [NESTOR_EXIT_CPUID] = exit_cpuid,
    [NESTOR_EXIT_HLT] = exit_hlt,
    [NESTOR_EXIT_TRIPLE_FAULT] = exit_triple_fault,
};

exit_action_t vm_handle_exit(vmexit_t *e)
{
    e->vm->exits++;
    if (e->reason & BIT(31))
        return vm_stop(e->vm, "VM entry failed (reason 0x%lx): invalid guest state", e->reason);
    unsigned basic = (unsigned)(e->reason & 0xFFFF);
    exit_handler_t h = basic < NESTOR_EXIT_REASONS ? handlers[basic] : 0;
    if (!h)
        return vm_stop(e->vm, "unhandled exit reason %u at rip 0x%lx", basic, e->rip);
    return h(e);
}
