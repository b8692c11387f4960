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

#define CR0_PE        BIT(0)
#define EFER_LMA      BIT(10)
#define CS_AR_L       BIT(13)           /* 64-bit code segment (SDM 24.4.1) */
#define CS_AR_DB      BIT(14)
#define LAPIC_ACCESS  4                 /* the APIC takes aligned 32-bit accesses only */

static x86_mode_t cpu_mode(const nestor_vcpu_state_t *s)
{
    if ((s->efer & EFER_LMA) && (s->cs.ar & CS_AR_L))
        return X86_MODE_64;
    if ((s->cr0 & CR0_PE) && (s->cs.ar & CS_AR_DB))
        return X86_MODE_32;
    return X86_MODE_16;
}

static bool lapic_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    vm_t *vm = ctx;
    uint32_t v = 0;
    vm->irq_quiet = false;
    if (size != LAPIC_ACCESS ||
        !lapic_mmio(&vm->lapic, (uint32_t)(gpa - LAPIC_BASE_GPA), false, &v, vm_now_ns()))
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
           lapic_mmio(&vm->lapic, (uint32_t)(gpa - LAPIC_BASE_GPA), true, &v, vm_now_ns());
}

/* The state page's registers in architectural order (x86_regs_t). */
static nestor_word_t *arch_gpr(nestor_vcpu_state_t *s, unsigned i)
{
    nestor_word_t *const regs[16] = { &s->rax, &s->rcx, &s->rdx, &s->rbx, &s->rsp, &s->rbp,
                                      &s->rsi, &s->rdi, &s->r8, &s->r9, &s->r10, &s->r11,
                                      &s->r12, &s->r13, &s->r14, &s->r15 };
    return regs[i];
}

exit_action_t mmio_exit(vmexit_t *e)
{
    vm_t *vm = e->vm;
    uint64_t gpa = e->guest_phys;
    if (gpa < LAPIC_BASE_GPA || gpa >= LAPIC_BASE_GPA + LAPIC_PAGE_SIZE)
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
        regs.gpr[i] = *arch_gpr(s, i);
    regs.rflags = s->rflags;
    x86_emu_status_t es = x86_emulate_mmio(&insn, &regs, gpa, lapic_read, lapic_write, vm);
    if (es != X86_EMU_OK)
        return vm_stop(vm, "MMIO at 0x%lx (rip 0x%lx): %s", gpa, e->rip, x86_emu_status_str(es));
    for (unsigned i = 0; i < 16; i++)
        *arch_gpr(s, i) = regs.gpr[i];
    s->rflags = regs.rflags;
    s->rip = e->rip + insn.length;
    e->changed |= NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS | NESTOR_MTD_RIP;
    vm->mmio_exits++;
    return EXIT_RESUME;
}
