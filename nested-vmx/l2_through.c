/*
 * nested-vmx/l2_through.c - L2 exits that L1 did not ask for: the kernel's
 * floor (nestor/vmcs.h) makes every port and MSR access, CR8 access,
 * MONITOR/MWAIT, RDPMC and WBINVD of vcpu02 exit, and its own CR0/CR4 mask
 * bits, where L1's controls would let L2 go through to L1's platform (SDM
 * 25.1.3). nested-vmx carries these out as the CPU would have in L2: on
 * L2's state where the state is L2's (CRs, the MSRs the state page holds),
 * through the VMM where it is L1's platform (its devices, its platform MSRs,
 * its task priority: nvmx_setup.h NVMX_REQ_*). L1 never runs for them.
 */
#include "l2_through.h"
#include "checks_priv.h"
#include "monitor.h"
#include "msr_lists.h"
#include "nvmx_insn.h"
#include "nvmx_setup.h"
#include "strio.h"
#include "cpu_policy.h"
#include "guest_env.h"
#include <user/print.h>

#define CR8             8
#define LOW32           0xFFFFFFFFULL

nestor_word_t l2_ask_vmm(struct nvmx_monitor *m, nestor_word_t label, nestor_word_t a0,
                         nestor_word_t a1, nestor_word_t a2, nestor_word_t a3,
                         nestor_word_t *value)
{
    nu_msg_t msg = { .info = nestor_msginfo(label, 0, 0, 4), .mr = { a0, a1, a2, a3 } };
    if (nu_call(m->vmm, &msg) != NESTOR_OK)
        return NVMX_REQ_ENDED;
    *value = msg.mr[0];
    return nestor_msginfo_label(msg.info);
}

/* #GP(0) at L2's instruction (l2_raise: L1's exit or L2's fault). */
static nestor_word_t gp(struct nvmx_monitor *m, vmcs12_t *v, nestor_word_t *changed)
{
    return l2_raise(m, v, X86_VEC_GP, true, 0, 0, changed);
}

static nestor_word_t done(nestor_vcpu_state_t *s2, uint64_t len, nestor_word_t *changed)
{
    s2->rip += len;
    *changed |= NESTOR_MTD_RIP | NESTOR_MTD_GPRS;
    return NESTOR_EXIT_REPLY_RESUME;
}

/* L2's CR0, CR4 or EFER (NESTOR_MTD_CR) changed: loaded now, with L1's
 * read shadows put back over what loading them wrote (l2.c); L2 resumes
 * past the instruction of length @len. */
static nestor_word_t load_crs(struct nvmx_monitor *m, vmcs12_t *v, uint64_t len,
                              nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    nestor_word_t cr_mask = NESTOR_MTD_CR;
    if (nu_invoke(m->l2.vcpu, NESTOR_VCPU_LOAD_STATE, &cr_mask, 1, 0, 0, 0, 0) != NESTOR_OK ||
        l2_write_shadows(m, v) != NESTOR_OK)
        return gp(m, v, changed);
    s2->rip += len;
    *changed |= NESTOR_MTD_RIP;
    return NESTOR_EXIT_REPLY_RESUME;
}

/* L2's segment register @seg (X86_SEG_*, the order of SDM 27.2.5 Table
 * 27-8). */
static const nestor_vcpu_seg_t *l2_seg(const nestor_vcpu_state_t *s, unsigned seg)
{
    switch (seg) {
    case X86_SEG_ES: return &s->es;
    case X86_SEG_CS: return &s->cs;
    case X86_SEG_SS: return &s->ss;
    case X86_SEG_DS: return &s->ds;
    case X86_SEG_FS: return &s->fs;
    default: return &s->gs;
    }
}

/* EPT12 refused an access of L2's instruction (@f): L1's EPT violation or
 * misconfiguration, at that instruction (SDM 28.3.3.2, 27.2.1: the
 * guest-physical address, and the guest-linear one where the
 * qualification says it is valid). */
static nestor_word_t ept12_refused(struct nvmx_monitor *m, vmcs12_t *v, const l2mem_fault_t *f)
{
    nestor_word_t mr[NESTOR_EXIT_MR_COUNT] = { 0 };
    mr[NESTOR_EXIT_MR_GUEST_PHYS] = f->gpa2;
    if (f->qualification & EPT_QUAL_LINEAR_VALID)
        mr[NESTOR_EXIT_MR_GUEST_LINEAR] = f->la;
    return l2_reflect_carried(m, v, mr, f->reason, f->qualification);
}

/* INS/OUTS (with or without REP) to a port L1's I/O bitmaps pass (SDM
 * 25.1.3): carried out as the CPU would in L2 (SDM Vol. 2B INS, OUTS,
 * REP; vmm-server/strio.h decodes and steps), each element through L1's
 * device, memory through L2's paging, then EPT12 where L1 uses EPT for L2
 * (28.3.1), into L1's RAM. A REP runs STRIO_BATCH elements per exit and
 * leaves RIP at the instruction while the count is not 0 (it exits again:
 * L1's interrupts come between batches). A fault in L2's paging is L2's
 * #PF at that element, an access EPT12 refuses (a paging-structure entry's
 * or the element's) L1's EPT violation or misconfiguration there, the
 * elements before it done (SDM Vol. 2B REP: a fault leaves the registers
 * at the element). */
static nestor_word_t string_io(struct nvmx_monitor *m, vmcs12_t *v, uint64_t q,
                               const nestor_word_t *mr, nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    strio_op_t op;
    if (!strio_decode(q, (uint32_t)mr[NESTOR_EXIT_MR_INSTR_INFO], &op)) {
        printf("nested-vmx %s: L2 string I/O to port 0x%lx that L1 lets through "
               "(undecodable): VM stopped\n", m->name, (nestor_word_t)IOQ_PORT(q));
        return NESTOR_EXIT_REPLY_STOP;
    }
    const bool mode64 = (s2->efer & X86_EFER_LMA) && (s2->cs.ar & X86_AR_L);
    /* SDM Vol. 3A 3.4.4: in 64-bit mode only FS and GS have bases. */
    const uint64_t base = mode64 && op.seg != X86_SEG_FS && op.seg != X86_SEG_GS
                              ? 0 : l2_seg(s2, op.seg)->base;
    uint64_t *index = op.in ? &s2->rdi : &s2->rsi;
    const uint64_t n = strio_count(&op, s2->rcx);
    *changed |= NESTOR_MTD_GPRS;
    for (uint64_t i = 0; i < n; i++) {
        const uint64_t la = strio_linear(&op, base, *index, mode64);
        uint32_t value = 0, error = 0;
        uint64_t addr = 0;
        l2mem_fault_t ept12;
        nvmx_mem_t r = NVMX_MEM_OK;
        nestor_word_t got = 0;
        if (!op.in)
            r = l2mem_linear(m, la, &value, op.size, false, &error, &addr, &ept12);
        if (r == NVMX_MEM_OK &&
            l2_ask_vmm(m, NVMX_REQ_IO, op.port, op.size, op.in, value, &got) != NVMX_REQ_OK)
            return NESTOR_EXIT_REPLY_STOP;              /* L2 ended the VM */
        if (r == NVMX_MEM_OK && op.in) {
            value = (uint32_t)got;
            r = l2mem_linear(m, la, &value, op.size, true, &error, &addr, &ept12);
        }
        if (r == NVMX_MEM_PAGE_FAULT)
            return l2_raise(m, v, X86_VEC_PF, true, error, addr, changed);
        if (r == NVMX_MEM_EPT12)
            return ept12_refused(m, v, &ept12);
        if (r != NVMX_MEM_OK) {
            printf("nested-vmx %s: L2 string I/O at linear 0x%lx, outside L1's RAM: not "
                   "supported: VM stopped\n", m->name, la);
            return NESTOR_EXIT_REPLY_STOP;
        }
        strio_step(&op, s2->rflags, index, &s2->rcx);
    }
    if (op.rep && (s2->rcx & strio_addr_mask(&op)))
        return NESTOR_EXIT_REPLY_RESUME;                /* more: the same instruction again */
    return done(s2, mr[NESTOR_EXIT_MR_INSTR_LEN], changed);
}

/* IN/OUT to a port L1's I/O bitmaps pass (SDM 25.1.3): L1's device. */
static nestor_word_t io(struct nvmx_monitor *m, vmcs12_t *v, uint64_t q,
                        const nestor_word_t *mr, nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const uint64_t len = mr[NESTOR_EXIT_MR_INSTR_LEN];
    if (q & (X86_IOQ_STRING | X86_IOQ_REP))
        return string_io(m, v, q, mr, changed);
    const unsigned size = IOQ_SIZE(q);
    const bool in = q & X86_IOQ_IN;
    const uint64_t mask = size == 4 ? LOW32 : (1ULL << (8 * size)) - 1;
    nestor_word_t got = 0;
    if (l2_ask_vmm(m, NVMX_REQ_IO, IOQ_PORT(q), size, in, s2->rax & mask, &got) != NVMX_REQ_OK)
        return NESTOR_EXIT_REPLY_STOP;                  /* L2 ended the VM */
    if (in)     /* SDM Vol. 2A IN: a 32-bit destination zero-extends into RAX */
        s2->rax = size == 4 ? (got & LOW32) : (s2->rax & ~mask) | (got & mask);
    return done(s2, len, changed);
}

/* RDMSR/WRMSR L1's MSR bitmaps pass (SDM 24.6.9): the MSRs L2's state holds
 * here, the rest (L1's platform) through the VMM. */
static nestor_word_t msr(struct nvmx_monitor *m, vmcs12_t *v12, bool write, uint64_t len,
                         nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const uint32_t index = (uint32_t)s2->rcx;
    uint64_t v = (s2->rdx & LOW32) << 32 | (s2->rax & LOW32);
    nestor_word_t *field = nvmx_state_msr(s2, index);
    if (index == MSR_IA32_FS_BASE)
        field = &s2->fs.base;
    else if (index == MSR_IA32_GS_BASE)
        field = &s2->gs.base;
    else if (index == MSR_IA32_DEBUGCTL)
        field = &s2->debugctl;
    if (index == MSR_IA32_EFER) {
        /* SDM Vol. 4 Table 2-2, Vol. 3A 9.8.5: bits L1's CPUID does not
         * show, or LME changed with CR0.PG 1, #GP; LMA is not written. */
        if (write && !efer_write(s2->efer, v, s2->cr0, m->efer_allowed, &s2->efer))
            return gp(m, v12, changed);
        if (write)
            return load_crs(m, v12, len, changed);
        field = &s2->efer;
    }
    if (field && write) {
        /* SDM Vol. 4 Table 2-2, Vol. 2B WRMSR: what #GPs. */
        const bool address = index != MSR_IA32_STAR && index != MSR_IA32_FMASK &&
                             index != MSR_IA32_SYSENTER_CS && index != MSR_IA32_PAT &&
                             index != MSR_IA32_DEBUGCTL && index != MSR_IA32_TSC_AUX;
        if ((address && !x86_canonical(v)) || (index == MSR_IA32_PAT && !pat_ok(v)) ||
            (index == MSR_IA32_DEBUGCTL && (v & X86_DEBUGCTL_RESERVED)) ||
            (index == MSR_IA32_TSC_AUX && (v >> 32)))
            return gp(m, v12, changed);
        *field = index == MSR_IA32_SYSENTER_CS ? (v & LOW32) : v;
        *changed |= NESTOR_MTD_MSRS | NESTOR_MTD_SEGS | NESTOR_MTD_DEBUG;
        return done(s2, len, changed);
    }
    if (field) {
        v = *field;
    } else {
        nestor_word_t got = 0;
        nestor_word_t r = write ? l2_ask_vmm(m, NVMX_REQ_MSR, index, 1, v, 0, &got)
                                : l2_ask_vmm(m, NVMX_REQ_MSR, index, 0, 0, 0, &got);
        if (r == NVMX_REQ_FAULT)
            return gp(m, v12, changed);
        if (r != NVMX_REQ_OK)
            return NESTOR_EXIT_REPLY_STOP;
        v = got;
    }
    if (!write) {
        s2->rax = v & LOW32;
        s2->rdx = v >> 32;
    }
    return done(s2, len, changed);
}

/* A MOV to CR0/CR4, CLTS or LMSW that exited only for the kernel's own mask
 * bits: L2's CR changes as the instruction says (SDM Vol. 2B MOV CR, CLTS,
 * LMSW), within what VMX operation fixes (SDM 23.8: #GP otherwise). */
static nestor_word_t cr(struct nvmx_monitor *m, vmcs12_t *v, uint64_t q, uint64_t len,
                        nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const unsigned n = CRQ_NUMBER(q);
    if (n == CR8) {
        nestor_word_t got = 0, *reg = nvmx_gpr(s2, CRQ_GPR(q));
        const bool to = CRQ_TYPE(q) == CRQ_MOV_TO_CR;
        nestor_word_t r = l2_ask_vmm(m, NVMX_REQ_CR8, to, to ? *reg : 0, 0, 0, &got);
        if (r == NVMX_REQ_FAULT)
            return gp(m, v, changed);
        if (r != NVMX_REQ_OK)
            return NESTOR_EXIT_REPLY_STOP;
        if (!to)
            *reg = got;
        return done(s2, len, changed);
    }
    uint64_t value;
    switch (CRQ_TYPE(q)) {
    case CRQ_MOV_TO_CR:
        value = *nvmx_gpr(s2, CRQ_GPR(q));
        break;
    case CRQ_CLTS:
        value = s2->cr0 & ~(uint64_t)X86_CR0_TS;
        break;
    case CRQ_MOV_FROM_CR:
        printf("nested-vmx %s: L2 MOV from CR%u exited though L1 does not ask: VM stopped\n",
               m->name, n);
        return NESTOR_EXIT_REPLY_STOP;
    default:                    /* LMSW: loads PE MP EM TS, never clears PE */
        value = (s2->cr0 & ~LMSW_BITS) | (CRQ_LMSW_SRC(q) & LMSW_BITS) |
                (s2->cr0 & X86_CR0_PE);
        break;
    }
    const uint32_t proc2 = (v->field[V12_PROC_CONTROLS] & PROC_ACTIVATE_SECONDARY)
                               ? (uint32_t)v->field[V12_PROC_CONTROLS2] : 0;
    uint64_t fixed0 = n == 4 ? NVMX_CR4_FIXED0 : NVMX_CR0_FIXED0;
    const uint64_t fixed1 = n == 4 ? NVMX_CR4_FIXED1 : NVMX_CR0_FIXED1;
    if (n == 0 && (proc2 & PROC2_UNRESTRICTED_GUEST))
        fixed0 &= ~(uint64_t)(X86_CR0_PE | X86_CR0_PG);
    if ((value & fixed0) != fixed0 || (value & ~fixed1) || (n != 0 && n != 4))
        return gp(m, v, changed);
    if (n == 0)
        s2->cr0 = value;
    else
        s2->cr4 = value;
    return load_crs(m, v, len, changed);
}

/* L1's device at L1-physical @gpa (x86_mmio_read_fn/_write_fn for the
 * emulator): NVMX_REQ_MMIO, the VMM's device models as L1's own access
 * would reach them. */
static bool device_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    nestor_word_t got = 0;
    if (l2_ask_vmm(ctx, NVMX_REQ_MMIO, gpa, size, 0, 0, &got) != NVMX_REQ_OK)
        return false;
    *value = got;
    return true;
}

static bool device_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    nestor_word_t got = 0;
    return l2_ask_vmm(ctx, NVMX_REQ_MMIO, gpa, size, 1, value, &got) == NVMX_REQ_OK;
}

/* L2-linear memory for the emulator's other operands (MOVS, the stack of
 * PUSH/POP/CALL): RAM through L2's paging and EPT12. One in L1's device
 * memory, or refused by EPT12, is not carried out (X86_LIN_ERROR). */
static x86_lin_status_t l2_lin(void *ctx, uint64_t la, unsigned size, bool write,
                               uint64_t *value, uint64_t *fault_la)
{
    uint32_t error;
    l2mem_fault_t ept12;
    if (!write)
        *value = 0;                     /* @size bytes read, zero-extended */
    switch (l2mem_linear(ctx, la, value, size, write, &error, fault_la, &ept12)) {
    case NVMX_MEM_OK: return X86_LIN_OK;
    case NVMX_MEM_PAGE_FAULT: return X86_LIN_UNMAPPED;
    default: return X86_LIN_ERROR;
    }
}

/* The bytes of L2's instruction at CS:RIP (SDM Vol. 2A 2.3.11: at most
 * 15), as many as L2's paging, EPT12 and L1's RAM give, page by page. */
static size_t l2_fetch(struct nvmx_monitor *m, uint64_t la, uint8_t *bytes)
{
    size_t got = 0;
    while (got < X86_MAX_INSN_LEN) {
        size_t chunk = 0x1000 - ((la + got) & 0xFFF);
        if (chunk > X86_MAX_INSN_LEN - got)
            chunk = X86_MAX_INSN_LEN - got;
        uint32_t error;
        uint64_t addr;
        l2mem_fault_t ept12;
        if (l2mem_linear(m, la + got, bytes + got, chunk, false, &error, &addr, &ept12) !=
            NVMX_MEM_OK)
            break;
        got += chunk;
    }
    return got;
}

nestor_word_t l2_device_access(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                               uint64_t gpa1, nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const uint64_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
    /* Only an instruction's data access is carried out (SDM 27.2.1 Table
     * 27-7: bits 7 and 8 set, not a fetch): L2's page tables or code in
     * L1's device memory are not. */
    if ((q & (EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED)) !=
            (EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED) || (q & EPT_QUAL_FETCH)) {
        printf("nested-vmx %s: L2 %s L1's device memory at 0x%lx (qualification 0x%lx): not "
               "carried out: VM stopped\n", m->name,
               (q & EPT_QUAL_FETCH) ? "executes from" : "has paging structures in", gpa1, q);
        return NESTOR_EXIT_REPLY_STOP;
    }
    /* The instruction, decoded and carried out on L2's state against L1's
     * device as the CPU would (vmm-server/decode: its exceptions, RFLAGS,
     * RIP); L1's devices answer as to L1's own accesses (the access goes
     * to whatever is at L1's physical address, SDM 28.3.3.1). */
    const x86_mode_t mode = guest_cpu_mode(s2);
    const uint64_t la = (mode == X86_MODE_64 ? 0 : s2->cs.base) + s2->rip;
    uint8_t bytes[X86_MAX_INSN_LEN];
    const size_t got = l2_fetch(m, la, bytes);
    x86_insn_t insn;
    const x86_decode_status_t ds = x86_decode(bytes, got, mode, &insn);
    if (ds == X86_DECODE_INVALID)           /* SDM Vol. 2A 3.2 LOCK, Table A-6 */
        return l2_raise(m, v, X86_VEC_UD, false, 0, 0, changed);
    if (ds == X86_DECODE_TOO_LONG)          /* SDM Vol. 2A 2.3.11 */
        return l2_raise(m, v, X86_VEC_GP, true, 0, 0, changed);
    if (ds != X86_DECODE_OK) {
        printf("nested-vmx %s: L2's access to L1's device memory at 0x%lx, instruction at "
               "linear 0x%lx: %s: VM stopped\n", m->name, gpa1, la, x86_decode_status_str(ds));
        return NESTOR_EXIT_REPLY_STOP;
    }
    x86_regs_t regs;
    guest_regs_get(s2, &regs);
    x86_env_t env;
    guest_env_from_state(s2, &env);
    env.rd = device_read;
    env.wr = device_write;
    env.dev = m;
    env.lin = l2_lin;
    env.lin_ctx = m;
    x86_fault_t fault;
    const x86_emu_status_t es = x86_emulate(&insn, &regs, &env, gpa1, &fault);
    if (es == X86_EMU_FAULT)
        return l2_raise(m, v, fault.vector, fault.has_error, fault.error,
                        fault.has_cr2 ? fault.cr2 : 0, changed);
    if (es != X86_EMU_OK) {
        printf("nested-vmx %s: L2's access to L1's device memory at 0x%lx (rip 0x%lx): %s: VM "
               "stopped\n", m->name, gpa1, s2->rip, x86_emu_status_str(es));
        return NESTOR_EXIT_REPLY_STOP;
    }
    guest_regs_put(&regs, s2);
    m->l2.device_accesses++;
    *changed |= NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS | NESTOR_MTD_RIP;
    return NESTOR_EXIT_REPLY_RESUME;
}

nvmx_insn_t l2_insn(const nestor_word_t *mr)
{
    return (nvmx_insn_t){ .reason = (uint32_t)mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK,
                          .qualification = mr[NESTOR_EXIT_MR_QUALIFICATION],
                          .instr_info = (uint32_t)mr[NESTOR_EXIT_MR_INSTR_INFO],
                          .instr_len = (uint32_t)mr[NESTOR_EXIT_MR_INSTR_LEN] };
}

nestor_word_t l2_shadow_access(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                               nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const nvmx_insn_t insn = l2_insn(mr);
    const nvmx_result_t r = nvmx_l2_shadow_access(v, &m->env, s2, &insn);
    m->l2.shadow_served++;
    if (r.status == NVMX_FAULT)
        return l2_raise(m, v, r.vector, r.has_error, r.error_code, r.cr2, changed);
    *changed |= NESTOR_MTD_GPRS | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS | NESTOR_MTD_INTR;
    return NESTOR_EXIT_REPLY_RESUME;
}

nestor_word_t l2_through(struct nvmx_monitor *m, vmcs12_t *v, unsigned reason, uint64_t q,
                         const nestor_word_t *mr, nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const uint64_t len = mr[NESTOR_EXIT_MR_INSTR_LEN];
    switch (reason) {
    case NESTOR_EXIT_IO:
        return io(m, v, q, mr, changed);
    case NESTOR_EXIT_RDMSR:
    case NESTOR_EXIT_WRMSR:
        return msr(m, v, reason == NESTOR_EXIT_WRMSR, len, changed);
    case NESTOR_EXIT_CR_ACCESS:
        return cr(m, v, q, len, changed);
    case NESTOR_EXIT_MONITOR:       /* L1's CPU shows no MONITOR/MWAIT: #UD as there */
    case NESTOR_EXIT_MWAIT:
        return l2_raise(m, v, X86_VEC_UD, false, 0, 0, changed);
    case NESTOR_EXIT_RDPMC:         /* no performance counters shown (SDM Vol. 2B RDPMC) */
        return gp(m, v, changed);
    case NESTOR_EXIT_WBINVD:        /* the caches are coherent with L1's RAM */
        return done(s2, len, changed);
    default:
        printf("nested-vmx %s: L2 exit %u that L1 did not ask for: carrying it out is not "
               "supported yet: VM stopped\n", m->name, reason);
        return NESTOR_EXIT_REPLY_STOP;
    }
}
