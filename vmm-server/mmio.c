/*
 * vmm-server/mmio.c - memory-mapped devices. Device pages are left out of
 * the EPT, so a guest access exits as an EPT violation; the VMM fetches the
 * instruction through the guest's page tables, decodes it, and performs the
 * access on the device model (vmm-server/decode, vmm-server/devices).
 */
#include "vmm.h"
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include <user/print.h>

#define LAPIC_ACCESS  4                 /* the APIC takes aligned 32-bit accesses only */

static x86_mode_t cpu_mode(const nestor_vcpu_state_t *s)
{
    /* SDM Vol. 3A 5.2.1: 64-bit mode is IA-32e mode with CS.L; CS.D gives
     * 32-bit code in protected mode (SDM Vol. 3C 24.4.1 access rights). */
    if ((s->efer & X86_EFER_LMA) && (s->cs.ar & X86_AR_L))
        return X86_MODE_64;
    if ((s->cr0 & X86_CR0_PE) && (s->cs.ar & X86_AR_DB))
        return X86_MODE_32;
    return X86_MODE_16;
}

static bool lapic_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    vm_t *vm = ctx;
    uint32_t v = 0;
    vm->irq_quiet = false;
    if (size != LAPIC_ACCESS ||
        !lapic_mmio(&vm->lapic, (uint32_t)(gpa - vm_lapic_base(vm)), false, &v, vm_now_ns()))
        return false;
    *value = v;
    return true;
}

static bool lapic_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    vm_t *vm = ctx;
    uint32_t v = (uint32_t)value;
    vm->irq_quiet = false;
    return size == LAPIC_ACCESS &&
           lapic_mmio(&vm->lapic, (uint32_t)(gpa - vm_lapic_base(vm)), true, &v, vm_now_ns());
}

#define EPT_QUAL_WRITE BIT(1)         /* SDM Vol. 3C Table 27-7: the access was a write */

/* A segment's base for a data access: in 64-bit mode only FS and GS have
 * one (SDM Vol. 3A 3.4.4). */
static uint64_t seg_base(const nestor_vcpu_state_t *s, int seg, x86_mode_t mode)
{
    if (mode == X86_MODE_64 && seg != X86_SEG_FS && seg != X86_SEG_GS)
        return 0;
    return (&s->es)[seg].base;          /* es cs ss ds fs gs: X86_SEG_* order */
}

/*
 * MOVS with one side in the device page (SDM Vol. 2B MOVS): the EPT
 * violation's direction says which. The other side is RAM at DS:RSI (or its
 * override) or ES:RDI. One element per exit; with REP the guest runs the
 * instruction again while RCX is not zero.
 */
static exit_action_t emulate_movs(vmexit_t *e, const x86_insn_t *insn, x86_regs_t *regs,
                                  x86_mode_t mode)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    unsigned n = insn->mem_size;
    uint64_t amask = insn->addr_size == 8 ? ~0ULL : (1ULL << (8 * insn->addr_size)) - 1;
    uint64_t *rsi = &regs->gpr[X86_RSI], *rdi = &regs->gpr[X86_RDI], *rcx = &regs->gpr[X86_RCX];
    if (insn->rep && (*rcx & amask) == 0)
        return EXIT_RESUME;                         /* nothing to move */
    int src_seg = insn->seg_override >= 0 ? insn->seg_override : X86_SEG_DS;
    uint64_t src = seg_base(s, src_seg, mode) + (*rsi & amask);
    uint64_t dst = seg_base(s, X86_SEG_ES, mode) + (*rdi & amask);
    uint64_t v = 0;
    bool ok;
    if (e->qualification & EPT_QUAL_WRITE) {        /* RAM -> device */
        ok = guest_read_linear(vm, s, src, &v, n) && lapic_write(vm, e->guest_phys, n, v);
    } else {                                        /* device -> RAM */
        ok = lapic_read(vm, e->guest_phys, n, &v) && guest_write_linear(vm, s, dst, &v, n);
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

exit_action_t mmio_exit(vmexit_t *e)
{
    vm_t *vm = e->vm;
    uint64_t gpa = e->guest_phys;
    /* The LAPIC answers at IA32_APIC_BASE while enabled (SDM Vol. 3A
     * 10.4.4, 10.4.3); disabled, its page is unbacked like any other. */
    uint64_t lapic = vm_lapic_base(vm);
    if (!lapic || gpa < lapic || gpa >= lapic + LAPIC_PAGE_SIZE)
        return vm_stop(vm, "access to guest-physical 0x%lx outside its RAM and devices "
                           "(EPT violation, qualification 0x%lx, rip 0x%lx)",
                       gpa, e->qualification, e->rip);
    uint8_t bytes[X86_MAX_INSN_LEN];
    nestor_vcpu_state_t *s = e->s;
    if (!guest_read_linear(vm, s, s->cs.base + e->rip, bytes, sizeof(bytes)))
        return vm_stop(vm, "MMIO at 0x%lx: cannot fetch the instruction at rip 0x%lx", gpa,
                       e->rip);
    x86_insn_t insn;
    x86_decode_status_t ds = x86_decode(bytes, sizeof(bytes), cpu_mode(s), &insn);
    if (ds != X86_DECODE_OK)
        return vm_stop(vm, "MMIO at 0x%lx: instruction at rip 0x%lx: %s", gpa, e->rip,
                       x86_decode_status_str(ds));
    x86_regs_t regs;
    for (unsigned i = 0; i < 16; i++)
        regs.gpr[i] = *vm_gpr(s, i);
    regs.rflags = s->rflags;
    if (insn.op == X86_OP_MOVS) {
        if (emulate_movs(e, &insn, &regs, cpu_mode(s)) == EXIT_STOP)
            return EXIT_STOP;
    } else {
        x86_emu_status_t es = x86_emulate_mmio(&insn, &regs, gpa, lapic_read, lapic_write, vm);
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
