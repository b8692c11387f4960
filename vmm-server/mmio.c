/*
 * vmm-server/mmio.c - memory-mapped devices. Device pages are left out of
 * the EPT, so a guest access exits as an EPT violation; the VMM fetches the
 * instruction through the guest's page tables, decodes it, and performs the
 * access on the device: the LAPIC or I/O APIC model (vmm-server/devices),
 * or a virtio device's server (virtio_fwd.c).
 */
#include "vmm.h"
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include <user/print.h>
#include <x86_vmx.h>                   /* segment type bits */

#define LAPIC_ACCESS  4                 /* the APIC takes aligned 32-bit accesses only */
#define GUEST_PAGE    0x1000ull         /* the smallest page of the guest's paging */

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
    if (!lapic_mmio(&vm->lapic, (uint32_t)(gpa - vm_lapic_mmio_base(vm)), false, &v, vm_now_ns()))
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
    lapic_mmio(&vm->lapic, (uint32_t)(gpa - vm_lapic_mmio_base(vm)), true, &v, vm_now_ns());
    vm_lapic_written(vm);
    return true;
}

void vm_lapic_written(vm_t *vm)
{
    /* The EOI of a level-triggered interrupt goes to the I/O APIC (SDM Vol.
     * 3A 10.8.5); an APIC software-enabled again takes what it held back. */
    int eoi = lapic_take_eoi_broadcast(&vm->lapic);
    if (eoi >= 0)
        ioapic_eoi(&vm->ioapic, (uint8_t)eoi, &vm->lapic);
    ioapic_retry(&vm->ioapic, &vm->lapic);
}

/* The I/O APIC's page (devices/ioapic.h): what the model does not define
 * (other offsets, sizes) reads as all ones and drops writes. */
static bool ioapic_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    vm_t *vm = ctx;
    uint32_t v = 0;
    vm->irq_quiet = false;
    bool defined = ioapic_mmio(&vm->ioapic, (uint32_t)(gpa - IOAPIC_BASE_GPA), size, false, &v,
                               &vm->lapic);
    *value = defined ? v : ~0ull;
    return true;
}

static bool ioapic_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    vm_t *vm = ctx;
    uint32_t v = (uint32_t)value;
    vm->irq_quiet = false;
    ioapic_mmio(&vm->ioapic, (uint32_t)(gpa - IOAPIC_BASE_GPA), size, true, &v, &vm->lapic);
    return true;
}

/* EPT-violation exit qualification: x86_vmx.h EPT_QUAL_* (SDM Vol. 3C
 * 27.2.1, Table 27-7). */

static bool in_lapic(const vm_t *vm, uint64_t gpa)
{
    uint64_t lapic = vm_lapic_mmio_base(vm);
    return lapic && gpa >= lapic && gpa < lapic + LAPIC_PAGE_SIZE;
}

/* The APIC's page while it is globally disabled or in x2APIC mode: no
 * longer the APIC's (SDM Vol. 3A 10.4.3; 10.12.1.2: x2APIC mode acts as a
 * globally disabled xAPIC there). */
static bool in_apic_page_off(const vm_t *vm, uint64_t gpa)
{
    uint64_t base = vm->apic_base & X86_APIC_BASE_ADDR;
    return (vm->devices & SC_DEV_LAPIC) && !vm_lapic_mmio_base(vm) && gpa >= base &&
           gpa < base + LAPIC_PAGE_SIZE;
}

/* Nothing answers there (the access goes to the bus): reads all ones,
 * writes are dropped, as on hardware. */
static bool absent_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)ctx, (void)gpa, (void)size;
    *value = ~0ull;
    return true;
}

static bool absent_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    (void)ctx, (void)gpa, (void)size, (void)value;
    return true;
}

/* The device an access to @gpa goes to, as the emulator calls it: the LAPIC
 * (which wins where a guest moved it over another device: SDM Vol. 3A
 * 10.4.1, its registers are in the processor's own address space), the
 * I/O APIC (with the LAPIC), or the server of the virtio window
 * (vm_layout.h) holding it. False: none. */
static bool device_at(vm_t *vm, uint64_t gpa, x86_mmio_read_fn *rd, x86_mmio_write_fn *wr,
                      void **ctx)
{
    if (in_lapic(vm, gpa)) {
        *rd = lapic_read;
        *wr = lapic_write;
        *ctx = vm;
        return true;
    }
    if (in_apic_page_off(vm, gpa)) {
        *rd = absent_read;
        *wr = absent_write;
        *ctx = vm;
        return true;
    }
    if ((vm->devices & SC_DEV_LAPIC) && gpa >= IOAPIC_BASE_GPA &&
        gpa < IOAPIC_BASE_GPA + IOAPIC_PAGE_SIZE) {
        *rd = ioapic_read;
        *wr = ioapic_write;
        *ctx = vm;
        return true;
    }
    vfwd_dev_t *vdev = vfwd_find(vm, gpa);
    if (!vdev)
        return false;
    *rd = vfwd_read;
    *wr = vfwd_write;
    *ctx = vdev;
    return true;
}

bool mmio_device_access(vm_t *vm, uint64_t gpa, unsigned size, bool write, uint64_t *value)
{
    x86_mmio_read_fn rd;
    x86_mmio_write_fn wr;
    void *dev;
    if ((size != 1 && size != 2 && size != 4 && size != 8) || !device_at(vm, gpa, &rd, &wr, &dev) ||
        ((gpa ^ (gpa + size - 1)) & ~(GUEST_PAGE - 1)))
        return false;
    return write ? wr(dev, gpa, size, *value) : rd(dev, gpa, size, value);
}

/* Guest-linear memory for the emulator (x86_lin_fn): the stack of PUSH,
 * POP and CALL, both operands of MOVS and CMPS. Every page the access
 * touches is translated through the guest's paging and checked against its
 * rights for the guest's own access (guest_translate_access: CPL, CR0.WP,
 * SMAP); then the LAPIC page (the access may not leave it) or RAM. */
static x86_lin_status_t guest_lin(void *ctx, uint64_t la, unsigned size, bool write,
                                  uint64_t *value, uint64_t *fault_la)
{
    vmexit_t *e = ctx;
    vm_t *vm = e->vm;
    uint64_t gpa = 0, first = la & ~(GUEST_PAGE - 1), last = (la + size - 1) & ~(GUEST_PAGE - 1);
    for (uint64_t page = first;; page += GUEST_PAGE) {
        uint64_t at = page == first ? la : page, g;
        uint32_t err;
        guest_mem_status_t st = guest_translate_access(vm, e->s, at, write, &g, &err);
        if (st != GUEST_MEM_OK) {
            *fault_la = at;
            return st == GUEST_MEM_DENIED ? X86_LIN_DENIED : X86_LIN_UNMAPPED;
        }
        if (page == first)
            gpa = g;
        if (page == last)
            break;
    }
    x86_mmio_read_fn rd;
    x86_mmio_write_fn wr;
    void *dev;
    if (device_at(vm, gpa, &rd, &wr, &dev)) {
        /* The access may not leave the device's page. */
        if (((gpa ^ (gpa + size - 1)) & ~(GUEST_PAGE - 1)) != 0)
            return X86_LIN_ERROR;
        bool ok = write ? wr(dev, gpa, size, *value) : rd(dev, gpa, size, value);
        return ok ? X86_LIN_OK : X86_LIN_ERROR;
    }
    return guest_copy_linear(vm, e->s, la, value, size, write, fault_la) == GUEST_MEM_OK
               ? X86_LIN_OK : X86_LIN_ERROR;
}

/* The emulator's view of the guest (guest_env.h) with its devices and
 * linear memory. */
static void guest_env(vmexit_t *e, x86_env_t *env, x86_mmio_read_fn rd, x86_mmio_write_fn wr,
                      void *dev)
{
    guest_env_from_state(e->s, env);
    env->rd = rd;
    env->wr = wr;
    env->dev = dev;
    env->lin = guest_lin;
    env->lin_ctx = e;
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
     * 10.4.4, 10.4.3); disabled, its page is unbacked like any other. A
     * virtio window goes to its device server. */
    x86_mmio_read_fn rd;
    x86_mmio_write_fn wr;
    void *dev;
    if (!device_at(vm, gpa, &rd, &wr, &dev))
        return vm_stop(vm, "access to guest-physical 0x%lx outside its RAM and devices "
                           "(EPT violation, qualification 0x%lx, rip 0x%lx)",
                       gpa, e->qualification, e->rip);
    /* Served by the device server at its doorbell, passed on for the line. */
    if (rd == vfwd_read && vfwd_doorbell_served(dev, gpa))
        return EXIT_RESUME;
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
    /* What a CPU raises for these before any access: #UD for LOCK where it
     * is not allowed and undefined opcode extensions (SDM Vol. 2A 3.2
     * "LOCK", Table A-6), #GP(0) past 15 bytes (2.3.11). */
    if (ds == X86_DECODE_INVALID)
        return vm_inject_exception(e, X86_VEC_UD, 0);
    if (ds == X86_DECODE_TOO_LONG)
        return vm_inject_exception(e, X86_VEC_GP, 0);
    if (ds != X86_DECODE_OK)
        return vm_stop(vm, "MMIO at 0x%lx: instruction at rip 0x%lx: %s", gpa, e->rip,
                       x86_decode_status_str(ds));
    x86_regs_t regs;
    guest_regs_get(s, &regs);
    regs.rip = e->rip;
    x86_env_t env;
    x86_fault_t fault;
    guest_env(e, &env, rd, wr, dev);
    x86_emu_status_t es = x86_emulate(&insn, &regs, &env, gpa, &fault);
    if (es == X86_EMU_FAULT) {
        if (fault.has_cr2) {
            s->cr2 = fault.cr2;
            e->changed |= NESTOR_MTD_CR;
        }
        return vm_inject_exception(e, fault.vector, fault.error);
    }
    if (es != X86_EMU_OK)
        return vm_stop(vm, "MMIO at 0x%lx (rip 0x%lx): %s", gpa, e->rip, x86_emu_status_str(es));
    guest_regs_put(&regs, s);
    e->changed |= NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS | NESTOR_MTD_RIP;
    vm->mmio_exits++;
    return EXIT_RESUME;
}
