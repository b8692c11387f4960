/*
 * vmm-server/msr.c - the MSRs a guest has (no MSR bitmap: every RDMSR and
 * WRMSR exits). Architectural numbers and layouts: SDM Vol. 4, Table 2-2.
 * Every MSR not in this table raises #GP, as on a CPU without it (SDM
 * Vol. 2B RDMSR/WRMSR); so do reserved bits and values.
 *
 * | MSR                         | read                 | write                                   |
 * |-----------------------------|----------------------|-----------------------------------------|
 * | TSC 10H                     | host TSC + offset    | sets the VMCS TSC offset (17.17); TSC_ADJUST moves by as much |
 * | TSC_ADJUST 3BH              | kept per VM (0 first)| moves the TSC by the change (17.17.3)   |
 * | APIC_BASE 1BH (with a LAPIC)| base, EN, EXTD, BSP  | 10.4.4: reserved bits #GP; BSP R/W;     |
 * |                             |                      | EN and the base move the LAPIC model;   |
 * |                             |                      | EXTD: the mode changes of 10.12.5       |
 * | x2APIC 800H-8FFH            | in x2APIC mode: the LAPIC's registers (devices/lapic.h, 10.12.1.2); else #GP |
 * | FEATURE_CONTROL 3AH         | locked, VMX off      | #GP (locked, 23.7)                      |
 * | BIOS_SIGN_ID 8BH            | microcode revision 1 in 63:32 | accepted, ignored (9.11.7.1)   |
 * | MTRRCAP FEH                 | 0: no ranges, no WC  | #GP (read-only)                         |
 * | TSC_DEADLINE 6E0H (with a LAPIC) | the armed deadline, else 0 | TSC-deadline mode: arms (non-zero) or disarms (0) the LAPIC timer at the guest TSC given (10.5.4.1); other modes: ignored |
 * | SYSENTER_CS/ESP/EIP 174-176H| state page (MSRS)    | state page; ESP/EIP canonical           |
 * | MISC_ENABLE 1A0H            | kept per VM: fast strings, no BTS/PEBS | R/W bits kept, R/O ignored, others #GP |
 * | DEBUGCTL 1D9H               | state page (DEBUG)   | BTF only, other bits #GP (17.4.1)       |
 * | PAT 277H                    | state page (MSRS)    | 11.12.2: types 2, 3, >= 8 #GP           |
 * | MTRR_DEF_TYPE 2FFH          | kept per VM          | 11.11.2.1: reserved bits, FE, bad type #GP |
 * | EFER C0000080H              | state page (CR)      | SCE LME NXE as CPUID shows SYSCALL LM NX; LME with paging on #GP |
 * | STAR/FMASK C0000081/84H     | state page (MSRS)    | state page                              |
 * | LSTAR/CSTAR C0000082/83H    | state page (MSRS)    | non-canonical #GP                       |
 * | FS_BASE/GS_BASE C0000100/1H | state page (SEGS)    | non-canonical #GP                       |
 * | KERNEL_GS_BASE C0000102H    | state page (MSRS)    | non-canonical #GP                       |
 * | TSC_AUX C0000103H           | state page (MSRS), where RDTSCP is on (else #GP) | 63:32 reserved: #GP |
 *
 * The exit masks of RDMSR/WRMSR (vmm_exit_mask) bring the CR, SEGS, MSRS
 * and DEBUG groups; a write changes the field and its group goes back in
 * the reply.
 */
#include "vmm.h"
#include "cpu_policy.h"
#include <nestor/vmcs.h>

#define MTRRCAP_VALUE   0ULL        /* VCNT 0, no FIX, no WC, no SMRR (11.11.1) */
/* IA32_BIOS_SIGN_ID: the microcode update signature in bits 63:32 (SDM Vol.
 * 3A 9.11.7.1: software writes 0, executes CPUID.1, then reads it). A VM
 * has no microcode: it reports revision 1 (0 would read as "no update
 * loaded", which guests such as Linux treat as suspect). */
#define MICROCODE_REV_VALUE (1ULL << 32)
#define DEBUGCTL_ALLOWED X86_DEBUGCTL_BTF
#define SYSENTER_CS_MASK 0xFFFFULL
#define CPUID_ADDR_SIZES 0x80000008u
#define MAXPHYADDR_DEFAULT 36       /* SDM Vol. 3A 4.1.4 without leaf 80000008H */

static uint64_t host_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The guest's MAXPHYADDR: CPUID.80000008H:EAX[7:0] as the guest sees it. */
unsigned msr_maxphyaddr(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
    if (a < CPUID_ADDR_SIZES)
        return MAXPHYADDR_DEFAULT;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(CPUID_ADDR_SIZES), "c"(0));
    return a & 0xFF;
}

void msr_init(vm_t *vm)
{
    vm->apic_base = X86_APIC_BASE_RESET;
    vm->xcr0 = X86_XCR0_X87;
    vm->tsc_offset = 0;
    vm->tsc_adjust = 0;
    vm->msr_mtrr_def = 0;
    vm->misc_enable = MISC_ENABLE_RESET;
}

/* SDM Vol. 3C 25.3 (TSC offsetting): with "use TSC offsetting" (SDM
 * 24.6.2) the guest's RDTSC/RDTSCP/RDMSR read the host TSC plus the offset.
 * The VMM turns it on at the first change. */
static bool set_tsc_offset(vm_t *vm, uint64_t offset);

/* SDM Vol. 3A 10.5.4.1: the TSC-deadline timer fires when the guest's TSC
 * (the host's plus the VMCS offset, SDM Vol. 3C 25.3) reaches @deadline;
 * in guest time (vm_now_ns, *@now_ns now), rounded up so that the
 * interrupt never comes before the guest's RDTSC reaches it. A deadline
 * not above the TSC now is due now. */
static uint64_t tsc_deadline_ns(const vm_t *vm, uint64_t deadline, uint64_t *now_ns)
{
    uint64_t host = host_tsc(), guest = host + vm->tsc_offset;
    *now_ns = vm_now_ns();
    if (deadline <= guest)
        return *now_ns;
    uint64_t delta = deadline - guest;
    return host > UINT64_MAX - delta ? UINT64_MAX : vm_tsc_to_ns_ceil(host + delta);
}

static void write_tsc_deadline(vm_t *vm, uint64_t deadline)
{
    uint64_t now, at = tsc_deadline_ns(vm, deadline, &now);
    lapic_set_tsc_deadline(&vm->lapic, deadline, at, now);
    vm->irq_quiet = false;
}

static bool set_tsc_offset(vm_t *vm, uint64_t offset)
{
    vm->tsc_offset = offset;
    nestor_word_t proc, field = VMCS_PROC_CONTROLS;
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &proc, 1) != NESTOR_OK)
        return false;
    const nestor_word_t args[] = { VMCS_TSC_OFFSET, vm->tsc_offset,
                                   VMCS_PROC_CONTROLS, proc | PROC_TSC_OFFSETTING };
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 4, 0, 0, 0, 0) != NESTOR_OK)
        return false;
    /* An armed TSC deadline is a TSC value: the TSC moved, so did the time
     * it comes due. */
    uint64_t armed = lapic_tsc_deadline(&vm->lapic, vm_now_ns());
    if (armed)
        write_tsc_deadline(vm, armed);
    return true;
}

/* SDM Vol. 3B 17.17.3: a write to IA32_TSC makes it count on from @value
 * and adds the change (value - TSC before) to IA32_TSC_ADJUST; a write of
 * X to IA32_TSC_ADJUST adds X - its old value to the TSC. */
static bool write_tsc(vm_t *vm, uint64_t value)
{
    uint64_t offset = value - host_tsc();
    vm->tsc_adjust += offset - vm->tsc_offset;
    return set_tsc_offset(vm, offset);
}

uint64_t msr_guest_tsc(const vm_t *vm)
{
    return host_tsc() + vm->tsc_offset;
}

bool msr_set_guest_tsc(vm_t *vm, uint64_t tsc)
{
    return set_tsc_offset(vm, tsc - host_tsc());
}

static bool write_tsc_adjust(vm_t *vm, uint64_t value)
{
    uint64_t delta = value - vm->tsc_adjust;
    vm->tsc_adjust = value;
    return set_tsc_offset(vm, vm->tsc_offset + delta);
}

void msr_enable_rdtscp(vm_t *vm)
{
    /* SDM Vol. 3C 24.6.2 Table 24-7: "enable RDTSCP" (else RDTSCP #UD,
     * 25.3), within the kernel's NESTOR_PROC2_CEILING and what the CPU
     * allows (a refused write leaves it off and RDTSCP hidden). */
    vm->rdtscp = false;
    if (!(host_cpuid(0x80000001, 0).edx & CPUID_81_EDX_RDTSCP))
        return;
    nestor_word_t proc2, field = VMCS_PROC_CONTROLS2;
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &proc2, 1) != NESTOR_OK)
        return;
    const nestor_word_t args[] = { VMCS_PROC_CONTROLS2, proc2 | PROC2_ENABLE_RDTSCP };
    vm->rdtscp = nu_invoke(vm->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 2, 0, 0, 0, 0) == NESTOR_OK;
}

static bool write_apic_base(vm_t *vm, uint64_t value)
{
    if (!apic_base_valid(vm->apic_base, value, msr_maxphyaddr(), true))
        return false;
    /* SDM Vol. 3A 10.4.3: globally disabling the APIC may return it to its
     * power-up state (10.4.7.1); it comes back in that state when enabled.
     * 10.12.5.1: leaving x2APIC mode (only for disabled) resets it too. */
    if ((vm->apic_base & X86_APIC_BASE_EN) && !(value & X86_APIC_BASE_EN))
        lapic_init(&vm->lapic, 0);
    lapic_set_x2apic(&vm->lapic, (value & X86_APIC_BASE_EXTD) != 0);
    vm->apic_base = value;
    vm->irq_quiet = false;
    return true;
}

bool msr_read(vmexit_t *e, uint32_t msr, uint64_t *value)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    switch (msr) {
    case MSR_IA32_TSC: *value = host_tsc() + vm->tsc_offset; return true;
    case MSR_IA32_TSC_ADJUST: *value = vm->tsc_adjust; return true;
    case MSR_IA32_TSC_AUX:
        /* SDM Vol. 4 Table 2-2: present with RDTSCP (or RDPID, hidden). */
        *value = s->tsc_aux;
        return vm->rdtscp;
    case MSR_IA32_APIC_BASE:
        /* Without a local APIC (CPUID.1:EDX.APIC = 0 from the start) the MSR
         * does not exist (SDM Vol. 4 Table 2-2). */
        if (!(vm->devices & SC_DEV_LAPIC))
            return false;
        *value = vm->apic_base;
        return true;
    case MSR_IA32_FEATURE_CONTROL: *value = X86_FEATURE_CONTROL_LOCK; return true;
    case MSR_IA32_MTRRCAP: *value = MTRRCAP_VALUE; return true;
    case MSR_IA32_TSC_DEADLINE:
        /* Present with the LAPIC that shows it (CPUID.1:ECX[24]). */
        if (!(vm->devices & SC_DEV_LAPIC))
            return false;
        *value = lapic_tsc_deadline(&vm->lapic, vm_now_ns());
        return true;
    case MSR_IA32_BIOS_SIGN_ID: *value = MICROCODE_REV_VALUE; return true;
    case MSR_IA32_SYSENTER_CS: *value = s->sysenter_cs; return true;
    case MSR_IA32_SYSENTER_ESP: *value = s->sysenter_esp; return true;
    case MSR_IA32_SYSENTER_EIP: *value = s->sysenter_eip; return true;
    case MSR_IA32_MISC_ENABLE: *value = vm->misc_enable; return true;
    case MSR_IA32_DEBUGCTL: *value = s->debugctl; return true;
    case MSR_IA32_PAT: *value = s->pat; return true;
    case MSR_IA32_MTRR_DEF_TYPE: *value = vm->msr_mtrr_def; return true;
    case MSR_IA32_EFER: *value = s->efer; return true;
    case MSR_IA32_STAR: *value = s->star; return true;
    case MSR_IA32_LSTAR: *value = s->lstar; return true;
    case MSR_IA32_CSTAR: *value = s->cstar; return true;
    case MSR_IA32_FMASK: *value = s->fmask; return true;
    case MSR_IA32_FS_BASE: *value = s->fs.base; return true;
    case MSR_IA32_GS_BASE: *value = s->gs.base; return true;
    case MSR_IA32_KERNEL_GS_BASE: *value = s->kernel_gs_base; return true;
    default:
        return (vm->devices & SC_DEV_LAPIC) &&
               lapic_x2apic_msr(&vm->lapic, msr, false, value, vm_now_ns());
    }
}

/* Store @v in a field of group @mtd if @ok. */
static bool put(vmexit_t *e, nestor_word_t *field, uint64_t v, nestor_word_t mtd, bool ok)
{
    if (!ok)
        return false;
    *field = v;
    e->changed |= mtd;
    return true;
}

bool msr_write(vmexit_t *e, uint32_t msr, uint64_t v)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    const nestor_word_t M = NESTOR_MTD_MSRS;
    switch (msr) {
    case MSR_IA32_TSC: return write_tsc(vm, v);
    case MSR_IA32_TSC_ADJUST: return write_tsc_adjust(vm, v);
    case MSR_IA32_TSC_AUX: return put(e, &s->tsc_aux, v, M, vm->rdtscp && !(v & ~X86_TSC_AUX_MASK));
    case MSR_IA32_APIC_BASE: return (vm->devices & SC_DEV_LAPIC) && write_apic_base(vm, v);
    case MSR_IA32_TSC_DEADLINE:
        if (!(vm->devices & SC_DEV_LAPIC))
            return false;
        write_tsc_deadline(vm, v);
        return true;
    case MSR_IA32_BIOS_SIGN_ID:
        return true;                    /* 9.11.7.1: the write that precedes CPUID.1 */
    case MSR_IA32_MISC_ENABLE:
        if (v & ~(MISC_ENABLE_RW | MISC_ENABLE_RO))
            return false;
        vm->misc_enable = (vm->misc_enable & ~MISC_ENABLE_RW) | (v & MISC_ENABLE_RW);
        return true;
    case MSR_IA32_SYSENTER_CS: return put(e, &s->sysenter_cs, v & SYSENTER_CS_MASK, M, true);
    case MSR_IA32_SYSENTER_ESP: return put(e, &s->sysenter_esp, v, M, x86_canonical(v));
    case MSR_IA32_SYSENTER_EIP: return put(e, &s->sysenter_eip, v, M, x86_canonical(v));
    case MSR_IA32_DEBUGCTL:
        return put(e, &s->debugctl, v, NESTOR_MTD_DEBUG, !(v & ~DEBUGCTL_ALLOWED));
    case MSR_IA32_PAT: return put(e, &s->pat, v, M, pat_valid(v));
    case MSR_IA32_MTRR_DEF_TYPE:
        if (!mtrr_def_type_valid(v))
            return false;
        vm->msr_mtrr_def = v;
        return true;
    case MSR_IA32_EFER: {
        uint64_t efer;
        static uint64_t allowed = UINT64_MAX;
        if (allowed == UINT64_MAX)
            allowed = efer_allowed(host_cpuid);
        if (!efer_write(s->efer, v, s->cr0, allowed, &efer))
            return false;
        return put(e, &s->efer, efer, NESTOR_MTD_CR, true);
    }
    case MSR_IA32_STAR: return put(e, &s->star, v, M, true);
    case MSR_IA32_FMASK: return put(e, &s->fmask, v, M, true);
    case MSR_IA32_LSTAR: return put(e, &s->lstar, v, M, x86_canonical(v));
    case MSR_IA32_CSTAR: return put(e, &s->cstar, v, M, x86_canonical(v));
    case MSR_IA32_KERNEL_GS_BASE: return put(e, &s->kernel_gs_base, v, M, x86_canonical(v));
    case MSR_IA32_FS_BASE: return put(e, &s->fs.base, v, NESTOR_MTD_SEGS, x86_canonical(v));
    case MSR_IA32_GS_BASE: return put(e, &s->gs.base, v, NESTOR_MTD_SEGS, x86_canonical(v));
    default:
        /* x2APIC registers (in x2APIC mode); FEATURE_CONTROL (locked),
         * MTRRCAP and unknown MSRs raise #GP. */
        if (!(vm->devices & SC_DEV_LAPIC) || !lapic_x2apic_msr(&vm->lapic, msr, true, &v, vm_now_ns()))
            return false;
        vm->irq_quiet = false;
        vm_lapic_written(vm);
        return true;
    }
}
