/*
 * vmm-server/mmio.c - memory-mapped devices. Device pages are left out of
 * the EPT, so a guest access exits as an EPT violation; the VMM fetches the
 * instruction through the guest's page tables, decodes it, and performs the
 * access on the device: the LAPIC model (vmm-server/devices), or a virtio
 * device's server (virtio_fwd.c).
 */
#include "vmm.h"
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include <user/print.h>

#define LAPIC_ACCESS  4                 /* the APIC takes aligned 32-bit accesses only */

/* A 32-bit access to the APIC page. One to a reserved or unaligned offset
 * does not stop the VM: the model logs "illegal register address" in the
 * ESR (SDM Vol. 3A 10.5.3) for reserved registers, reads give 0 and writes
 * are dropped. Other sizes are refused (SDM 10.4.1: the registers take
 * 32-bit accesses; others are model specific). */
static bool lapic_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    vm_t *vm = ctx;
    uint32_t v = 0;
    vm->irq_quiet = false;
    if (size != LAPIC_ACCESS)
        return false;
    if (!lapic_mmio(&vm->lapic, (uint32_t)(gpa - vm_lapic_base(vm)), false, &v, vm_now_ns()))
        v = 0;
    *value = v;
    return true;
}

static bool lapic_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    vm_t *vm = ctx;
    uint32_t v = (uint32_t)value;
    vm->irq_quiet = false;
    if (size != LAPIC_ACCESS)
        return false;
    lapic_mmio(&vm->lapic, (uint32_t)(gpa - vm_lapic_base(vm)), true, &v, vm_now_ns());
    return true;
}

/* The device an access goes to: its read and write, as the emulator calls them. */
typedef struct {
    x86_mmio_read_fn read;
    x86_mmio_write_fn write;
    void *ctx;
} mmio_dev_t;

/* EPT-violation exit qualification (SDM Vol. 3C 27.2.1, Table 27-7). */
#define EPT_QUAL_WRITE       BIT(1)   /* the access was a write */
#define EPT_QUAL_LINEAR_VALID BIT(7)  /* the guest linear-address field is valid */
#define EPT_QUAL_TRANSLATED  BIT(8)   /* the access was to the translation of that linear
                                         address (clear: a paging-structure entry) */

/*
 * MOVS with one side in the device page (SDM Vol. 2B MOVS): the EPT
 * violation's direction says which. The other side is RAM at DS:RSI (or its
 * override) or ES:RDI. One element per exit; with REP the guest runs the
 * instruction again while RCX is not zero.
 */
static exit_action_t emulate_movs(vmexit_t *e, const mmio_dev_t *dev, const x86_insn_t *insn,
                                  x86_regs_t *regs, x86_mode_t mode)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    unsigned n = insn->mem_size;
    uint64_t amask = insn->addr_size == 8 ? ~0ULL : (1ULL << (8 * insn->addr_size)) - 1;
    uint64_t *rsi = &regs->gpr[X86_RSI], *rdi = &regs->gpr[X86_RDI], *rcx = &regs->gpr[X86_RCX];
    if (insn->rep && (*rcx & amask) == 0)
        return EXIT_RESUME;                         /* nothing to move */
    int src_seg = insn->seg_override >= 0 ? insn->seg_override : X86_SEG_DS;
    uint64_t src = guest_seg_base(s, src_seg, mode) + (*rsi & amask);
    uint64_t dst = guest_seg_base(s, X86_SEG_ES, mode) + (*rdi & amask);
    uint64_t v = 0;
    bool ok;
    if (e->qualification & EPT_QUAL_WRITE) {        /* RAM -> device */
        ok = guest_read_linear(vm, s, src, &v, n) && dev->write(dev->ctx, e->guest_phys, n, v);
    } else {                                        /* device -> RAM */
        ok = dev->read(dev->ctx, e->guest_phys, n, &v) && guest_write_linear(vm, s, dst, &v, n);
    }
    if (!ok)
        return vm_stop(vm, "MMIO at 0x%lx (rip 0x%lx): MOVS with its other side outside RAM "
                           "or a device error", e->guest_phys, e->rip);
    uint64_t step = regs->rflags & X86_RFLAGS_DF ? (uint64_t)-n : n;
    *rsi = (*rsi & ~amask) | ((*rsi + step) & amask);
    *rdi = (*rdi & ~amask) | ((*rdi + step) & amask);
    if (insn->rep)
        *rcx = (*rcx & ~amask) | ((*rcx - 1) & amask);
    return EXIT_RESUME;
}

/*
 * PUSH m / POP m with m in the device page (SDM Vol. 2B PUSH, POP): the
 * other side is the stack at SS:RSP, as wide as the stack address size
 * (64-bit mode: 64; else SS.B, SDM Vol. 3A 3.4.5). PUSH decrements RSP
 * first; POP reads, then increments it.
 */
static exit_action_t emulate_stack(vmexit_t *e, const mmio_dev_t *dev, const x86_insn_t *insn,
                                   x86_regs_t *regs, x86_mode_t mode)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    unsigned n = insn->mem_size;
    unsigned ss_size = mode == X86_MODE_64 ? 8 : (s->ss.ar & X86_AR_DB) ? 4 : 2;
    uint64_t amask = ss_size == 8 ? ~0ULL : (1ULL << (8 * ss_size)) - 1;
    uint64_t *rsp = &regs->gpr[X86_RSP], base = mode == X86_MODE_64 ? 0 : s->ss.base;
    uint64_t v = 0;
    bool ok;
    if (insn->op == X86_OP_PUSH) {
        uint64_t top = (*rsp - n) & amask;
        ok = dev->read(dev->ctx, e->guest_phys, n, &v) &&
             guest_write_linear(vm, s, base + top, &v, n);
        if (ok)
            *rsp = (*rsp & ~amask) | top;
    } else {
        ok = guest_read_linear(vm, s, base + (*rsp & amask), &v, n) &&
             dev->write(dev->ctx, e->guest_phys, n, v);
        if (ok)
            *rsp = (*rsp & ~amask) | ((*rsp + n) & amask);
    }
    if (!ok)
        return vm_stop(vm, "MMIO at 0x%lx (rip 0x%lx): %s with the stack outside RAM or a "
                           "device error", e->guest_phys, e->rip,
                       insn->op == X86_OP_PUSH ? "PUSH" : "POP");
    return EXIT_RESUME;
}

/* The instruction's bytes at CS:RIP, as many of the 15 as exist: a fetch
 * stops where the guest's paging has no translation or RAM ends. When the
 * instruction continues there, a CPU would fault on the fetch: #PF for an
 * unmapped page (SDM Vol. 3A 4.7: I/D set with NXE or SMEP, U/S from the
 * CPL); past the end of RAM is unbacked guest-physical memory, which stops
 * the VM as any access there does. */
static exit_action_t fetch_fault(vmexit_t *e, uint64_t la, bool unmapped)
{
    nestor_vcpu_state_t *s = e->s;
    if (!unmapped)
        return vm_stop(e->vm, "MMIO at 0x%lx: the instruction at rip 0x%lx continues at linear "
                              "0x%lx, outside RAM", e->guest_phys, e->rip, la);
    uint32_t err = 0;
    if ((s->efer & X86_EFER_NXE) || (s->cr4 & X86_CR4_SMEP))
        err |= X86_PF_FETCH;
    if (vm_cpl(s) == 3)
        err |= X86_PF_USER;
    s->cr2 = la;
    e->changed |= NESTOR_MTD_CR;
    return vm_inject_exception(e, X86_VEC_PF, err);
}

exit_action_t mmio_exit(vmexit_t *e)
{
    vm_t *vm = e->vm;
    uint64_t gpa = e->guest_phys;
    /* The LAPIC answers at IA32_APIC_BASE while enabled (SDM Vol. 3A
     * 10.4.4, 10.4.3); disabled, its page is unbacked like any other. */
    uint64_t lapic = vm_lapic_base(vm);
    /* A virtio window (vm_layout.h) goes to its device server; the LAPIC
     * wins where a guest moved it over one (SDM Vol. 3A 10.4.1: its
     * registers are in the processor's own physical address space). */
    bool in_lapic = lapic && gpa >= lapic && gpa < lapic + LAPIC_PAGE_SIZE;
    vfwd_dev_t *vdev = in_lapic ? NULL : vfwd_find(vm, gpa);
    mmio_dev_t dev = { lapic_read, lapic_write, vm };
    if (vdev)
        dev = (mmio_dev_t){ vfwd_read, vfwd_write, vdev };
    else if (!in_lapic)
        return vm_stop(vm, "access to guest-physical 0x%lx outside its RAM and devices "
                           "(EPT violation, qualification 0x%lx, rip 0x%lx)",
                       gpa, e->qualification, e->rip);
    /* Only the instruction's own data access is emulated: an access to a
     * paging-structure entry (a guest page table in the device page) is not. */
    if ((e->qualification & (EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED)) !=
        (EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED))
        return vm_stop(vm, "guest paging-structure access to device page 0x%lx (EPT violation, "
                           "qualification 0x%lx, rip 0x%lx): page tables in MMIO are not "
                           "emulated", gpa, e->qualification, e->rip);
    uint8_t bytes[X86_MAX_INSN_LEN];
    nestor_vcpu_state_t *s = e->s;
    uint64_t la = (guest_cpu_mode(s) == X86_MODE_64 ? 0 : s->cs.base) + e->rip;
    bool unmapped;
    size_t got = guest_fetch_linear(vm, s, la, bytes, sizeof(bytes), &unmapped);
    x86_insn_t insn;
    x86_decode_status_t ds = x86_decode(bytes, got, guest_cpu_mode(s), &insn);
    if (ds == X86_DECODE_TRUNCATED && got < sizeof(bytes))
        return fetch_fault(e, la + got, unmapped);
    if (ds != X86_DECODE_OK)
        return vm_stop(vm, "MMIO at 0x%lx: instruction at rip 0x%lx: %s", gpa, e->rip,
                       x86_decode_status_str(ds));
    x86_regs_t regs;
    for (unsigned i = 0; i < 16; i++)
        regs.gpr[i] = *vm_gpr(s, i);
    regs.rflags = s->rflags;
    if (insn.op == X86_OP_MOVS) {
        if (emulate_movs(e, &dev, &insn, &regs, guest_cpu_mode(s)) == EXIT_STOP)
            return EXIT_STOP;
    } else if (insn.op == X86_OP_PUSH || insn.op == X86_OP_POP) {
        if (emulate_stack(e, &dev, &insn, &regs, guest_cpu_mode(s)) == EXIT_STOP)
            return EXIT_STOP;
    } else {
        x86_emu_status_t es = x86_emulate_mmio(&insn, &regs, gpa, dev.read, dev.write, dev.ctx);
        if (es != X86_EMU_OK)
            return vm_stop(vm, "MMIO at 0x%lx (rip 0x%lx): %s", gpa, e->rip,
                           x86_emu_status_str(es));
    }
    for (unsigned i = 0; i < 16; i++)
        *vm_gpr(s, i) = regs.gpr[i];
    s->rflags = regs.rflags;
    /* A REP string instruction with elements left runs again (RIP stays). */
    s->rip = x86_emulate_rep_pending(&insn, &regs) ? e->rip : e->rip + insn.length;
    e->changed |= NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS | NESTOR_MTD_RIP;
    vm->mmio_exits++;
    return EXIT_RESUME;
}
