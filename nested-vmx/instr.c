/*
 * nested-vmx/instr.c - the VMX instructions of L1 (nvmx.h), each as the
 * Operation section of SDM Vol. 2C "VMX Instruction Reference" (30.3 in
 * older editions) defines it for a CPU in VMX root operation: VMXON,
 * VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME
 * (their instruction checks; entry is the caller's), INVEPT, INVVPID.
 * L1 never runs in VMX non-root operation from its own point of view (its
 * VM exits are ours), so the "VM exit" branches never apply.
 */
#include "nvmx_caps.h"
#include "nvmx_insn.h"
#include <x86_arch.h>

#define MASK16 0xFFFFULL
#define MASK32 0xFFFFFFFFULL

vmcs12_t *nvmx_current(const nvmx_vcpu_t *v, const nvmx_env_t *env)
{
    if (v->current == NVMX_NO_VMCS)
        return NULL;
    return env->phys(env->ctx, v->current, VMCS12_REGION_SIZE);
}

/* The current VMCS made whole (nvmx.h nvmx_vcpu_t.stale) where @groups of
 * it are stale: before an instruction reads or writes one of their
 * fields, or leaves the VMCS region to software (SDM Vol. 2C VMCLEAR:
 * "ensure that data for VMCS referenced by the operand is in memory";
 * VMPTRLD of another VMCS and VMXOFF, after which SDM 24.11.1 has the
 * region's data in memory only if cleared: here they are in any case). */
static void sync_stale(nvmx_vcpu_t *v, const nvmx_env_t *env, uint64_t groups)
{
    if ((v->stale & groups) && env->sync)
        env->sync(env->ctx);
}

/* RIP past the instruction, wrapping at the code segment's size (SDM Vol.
 * 3A 3.5, 5.3: EIP/IP outside 64-bit mode); the instruction retired, so
 * blocking by STI or MOV SS ends (SDM Vol. 3C 24.4.2, Table 24-3). */
static void advance(nestor_vcpu_state_t *s, uint32_t len)
{
    if (nvmx_long_mode(s))
        s->rip += len;
    else if (s->cs.ar & X86_AR_DB)
        s->rip = (s->rip + len) & MASK32;
    else
        s->rip = (s->rip + len) & MASK16;
    s->interruptibility &= ~(nestor_word_t)X86_INTR_BLOCK_SHADOW;
}

/* SDM 30.2: CF, PF, AF, ZF, SF, OF := 0 but @set (VMsucceed: none,
 * VMfailInvalid: CF, VMfailValid: ZF); then past the instruction. */
static void conclude(nestor_vcpu_state_t *s, uint32_t len, uint64_t set)
{
    s->rflags = (s->rflags & ~(nestor_word_t)VMX_RFLAGS_ARITH) | set;
    advance(s, len);
}

void nvmx_succeed(nestor_vcpu_state_t *s, uint32_t len)
{
    conclude(s, len, 0);
}

static void fail_invalid(nestor_vcpu_state_t *s, uint32_t len)
{
    conclude(s, len, VMX_RFLAGS_CF);
}

void nvmx_fail(nvmx_vcpu_t *v, const nvmx_env_t *env, nestor_vcpu_state_t *s, uint32_t len,
               uint32_t error)
{
    /* SDM 30.2 VMfail(ErrorNumber): VMfailValid if there is a current VMCS,
     * else VMfailInvalid. VMfailValid: ZF := 1; CF, PF, AF, SF, OF := 0;
     * the VM-instruction error field := ErrorNumber. */
    vmcs12_t *vmcs = nvmx_current(v, env);
    if (!vmcs) {
        fail_invalid(s, len);
        return;
    }
    vmcs12_write(vmcs, VMCS_INSTR_ERROR, error);
    conclude(s, len, VMX_RFLAGS_ZF);
}

/* The three outcomes, with r->vm_error saying which. */
static void vm_succeed(nvmx_ctx_t *c)
{
    nvmx_succeed(c->s, c->insn->instr_len);
    c->r.vm_error = 0;
}

static void vm_fail_invalid(nvmx_ctx_t *c)
{
    fail_invalid(c->s, c->insn->instr_len);
    c->r.vm_error = NVMX_VMFAIL_INVALID;
}

static void vm_fail(nvmx_ctx_t *c, uint32_t error)
{
    c->r.vm_error = nvmx_current(c->v, c->env) ? error : NVMX_VMFAIL_INVALID;
    nvmx_fail(c->v, c->env, c->s, c->insn->instr_len, error);
}

static void raise_ud(nvmx_ctx_t *c)
{
    nvmx_set_fault(&c->r, X86_VEC_UD, false, 0);
}

static void raise_gp0(nvmx_ctx_t *c)
{
    nvmx_set_fault(&c->r, X86_VEC_GP, true, 0);
}

/* The #UD conditions every VMX instruction shares (SDM Vol. 2C, each
 * Operation section's first test): CR0.PE = 0, RFLAGS.VM = 1, or
 * IA32_EFER.LMA = 1 with CS.L = 0 (compatibility mode). */
static bool mode_ud(const nestor_vcpu_state_t *s)
{
    return !(s->cr0 & X86_CR0_PE) || (s->rflags & X86_RFLAGS_VM) ||
           ((s->efer & X86_EFER_LMA) && !(s->cs.ar & X86_AR_L));
}

/* The checks of every instruction but VMXON (SDM Vol. 2C Operation): #UD
 * for a register operand where only memory is allowed (@mem_only: bit 10
 * of the instruction information, SDM 27.2.5 Table 27-13), outside VMX
 * operation, or for mode_ud(); #GP(0) for CPL > 0. false: c->r holds the
 * exception. */
static bool common_checks(nvmx_ctx_t *c, bool mem_only)
{
    if ((mem_only && VMX_II_IS_REG(c->insn->instr_info)) || !c->v->vmxon || mode_ud(c->s)) {
        raise_ud(c);
        return false;
    }
    if (nvmx_cpl(c->s) > 0) {
        raise_gp0(c);
        return false;
    }
    return true;
}

/* SDM Vol. 2C VMXON, VMCLEAR, VMPTRLD: "addr is not 4KB-aligned or sets
 * any bits beyond the physical-address width". */
static bool pointer_ok(const nvmx_env_t *env, uint64_t addr)
{
    if (addr & (NVMX_REGION_ALIGN - 1))
        return false;
    return env->maxphyaddr >= 64 || (addr >> env->maxphyaddr) == 0;
}

/* SDM Vol. 2C VMXON: rev[30:0] must be the revision identifier and rev[31]
 * 0. VMPTRLD: rev[31] (the shadow-VMCS indicator, SDM 24.2) may be 1 where
 * the 1-setting of "VMCS shadowing" is supported, as it is here
 * (nvmx_caps.h): @shadow_ok. */
static bool revision_ok(uint32_t rev, bool shadow_ok)
{
    return (rev & VMX_BASIC_REVISION_MASK) == NVMX_REVISION &&
           (!(rev & VMCS_REVISION_SHADOW) ||
            (shadow_ok && (NVMX_PROC2_ALLOWED1 & PROC2_VMCS_SHADOWING)));
}

/* The 32 bits at physical address @addr; memory that is not RAM reads as
 * all ones (so no revision check passes there). */
static uint32_t region_revision(const nvmx_env_t *env, uint64_t addr)
{
    const uint32_t *p = env->phys(env->ctx, addr, sizeof(uint32_t));
    return p ? *p : ~0u;
}

static void vmxon(nvmx_ctx_t *c)
{
    nestor_vcpu_state_t *s = c->s;
    /* SDM Vol. 2C VMXON: #UD for a register operand, CR0.PE = 0,
     * CR4.VMXE = 0, RFLAGS.VM = 1, or IA32_EFER.LMA = 1 and CS.L = 0. */
    if (VMX_II_IS_REG(c->insn->instr_info) || !(s->cr4 & X86_CR4_VMXE) || mode_ud(s)) {
        raise_ud(c);
        return;
    }
    if (c->v->vmxon) {
        /* SDM Vol. 2C VMXON, in VMX root operation: #GP(0) at CPL > 0,
         * else VMfail("VMXON executed in VMX root operation"). */
        if (nvmx_cpl(s) > 0)
            raise_gp0(c);
        else
            vm_fail(c, VMXERR_VMXON_IN_ROOT);
        return;
    }
    /* SDM Vol. 2C VMXON, outside VMX operation: #GP(0) at CPL > 0, for CR0
     * or CR4 values not supported in VMX operation (SDM 23.8: every bit set
     * in IA32_VMX_CR0/CR4_FIXED0 set, every bit clear in FIXED1 clear; the
     * unrestricted-guest exception for PE and PG is L2's, SDM 26.3.1.1),
     * or IA32_FEATURE_CONTROL's lock bit or its "VMXON outside SMX" bit
     * clear (SDM 23.7). */
    bool cr_ok = (s->cr0 & NVMX_CR0_FIXED0) == NVMX_CR0_FIXED0 &&
                 (s->cr0 & ~NVMX_CR0_FIXED1) == 0 &&
                 (s->cr4 & NVMX_CR4_FIXED0) == NVMX_CR4_FIXED0 &&
                 (s->cr4 & ~NVMX_CR4_FIXED1) == 0;
    uint64_t fc = NVMX_FEATURE_CONTROL;
    bool fc_ok = (fc & X86_FEATURE_CONTROL_LOCK) && (fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
    if (nvmx_cpl(s) > 0 || !cr_ok || !fc_ok) {
        raise_gp0(c);
        return;
    }
    uint64_t addr;
    if (!nvmx_mem_read(c, &addr, sizeof(addr)))
        return;
    /* SDM Vol. 2C VMXON: a bad pointer or revision is VMfailInvalid (there
     * is no current VMCS). */
    if (!pointer_ok(c->env, addr) || !revision_ok(region_revision(c->env, addr), false)) {
        vm_fail_invalid(c);
        return;
    }
    /* "current-VMCS pointer := FFFFFFFF_FFFFFFFFH; enter VMX operation" */
    c->v->vmxon = true;
    c->v->vmxon_ptr = addr;
    c->v->current = NVMX_NO_VMCS;
    vm_succeed(c);
}

static void vmxoff(nvmx_ctx_t *c)
{
    if (!common_checks(c, false))
        return;
    /* SDM Vol. 2C VMXOFF: the dual-monitor treatment is never active (not
     * offered), so VMXOFF leaves VMX operation and succeeds. SDM 24.1: the
     * current-VMCS pointer has no meaning outside VMX operation; VMXON sets
     * it again. Lazy guest state goes to the region first. */
    sync_stale(c->v, c->env, NVMX_LAZY_GROUPS);
    c->v->vmxon = false;
    c->v->vmxon_ptr = NVMX_NO_VMCS;
    c->v->current = NVMX_NO_VMCS;
    vm_succeed(c);
}

/* The checks VMCLEAR and VMPTRLD share (SDM Vol. 2C VMCLEAR, VMPTRLD):
 * #UD/#GP(0) as common_checks(), the 64-bit VMCS pointer read from memory,
 * then VMfail(@bad_addr) if it is not 4-KByte aligned or beyond the
 * physical-address width, VMfail(@is_vmxon) if it is the VMXON pointer.
 * false: the instruction ended (an exception or VMfail). */
static bool vmcs_pointer(nvmx_ctx_t *c, uint64_t *addr, uint32_t bad_addr, uint32_t is_vmxon)
{
    if (!common_checks(c, true) || !nvmx_mem_read(c, addr, sizeof(*addr)))
        return false;
    if (!pointer_ok(c->env, *addr)) {
        vm_fail(c, bad_addr);
        return false;
    }
    if (*addr == c->v->vmxon_ptr) {
        vm_fail(c, is_vmxon);
        return false;
    }
    return true;
}

static void vmclear(nvmx_ctx_t *c)
{
    uint64_t addr;
    if (!vmcs_pointer(c, &addr, VMXERR_VMCLEAR_INVALID_ADDR, VMXERR_VMCLEAR_VMXON_PTR))
        return;
    /* "launch state of VMCS referenced by the operand := clear" (a region
     * that is not RAM keeps nothing); the current VMCS stops being current. */
    if (addr == c->v->current)          /* its data in the region (SDM 24.11.3) */
        sync_stale(c->v, c->env, NVMX_LAZY_GROUPS);
    vmcs12_t *vmcs = c->env->phys(c->env->ctx, addr, VMCS12_REGION_SIZE);
    if (vmcs)
        vmcs->launch_state = VMCS12_CLEAR;
    if (addr == c->v->current)
        c->v->current = NVMX_NO_VMCS;
    c->r.cleared = addr;
    vm_succeed(c);
}

static void vmptrld(nvmx_ctx_t *c)
{
    uint64_t addr;
    if (!vmcs_pointer(c, &addr, VMXERR_VMPTRLD_INVALID_ADDR, VMXERR_VMPTRLD_VMXON_PTR))
        return;
    /* The whole region must be RAM for nested-vmx to keep the VMCS there
     * (vmcs12.h); one that is not reads as all ones, a bad revision. */
    const vmcs12_t *vmcs = c->env->phys(c->env->ctx, addr, VMCS12_REGION_SIZE);
    if (!vmcs || !revision_ok(vmcs->revision, true)) {
        vm_fail(c, VMXERR_VMPTRLD_BAD_REVISION);
        return;
    }
    /* The VMCS that stops being current goes whole to its region first. */
    sync_stale(c->v, c->env, NVMX_LAZY_GROUPS);
    c->v->current = addr;
    vm_succeed(c);
}

static void vmptrst(nvmx_ctx_t *c)
{
    if (!common_checks(c, true))
        return;
    /* SDM Vol. 2C VMPTRST: "64 bits in memory (destination operand) :=
     * current-VMCS pointer". */
    uint64_t ptr = c->v->current;
    if (!nvmx_mem_write(c, &ptr, sizeof(ptr)))
        return;
    vm_succeed(c);
}

/* The field encoding of VMREAD/VMWRITE in register @reg (SDM Vol. 2C
 * VMREAD/VMWRITE): in 64-bit mode bits 63:32 must be 0, else the field is
 * unsupported; outside 64-bit mode the register has 32 bits. -1: no field
 * of ours. */
static int field_operand(nvmx_ctx_t *c, unsigned reg, uint32_t *encoding)
{
    uint64_t enc = nvmx_reg_operand(c->s, reg);
    if (enc >> 32)
        return -1;
    *encoding = (uint32_t)enc;
    return vmcs12_index(*encoding, NULL);
}

static void vmread(nvmx_ctx_t *c)
{
    if (!common_checks(c, false))
        return;
    /* SDM Vol. 2C VMREAD: no current VMCS -> VMfailInvalid; a field that
     * does not exist -> VMfailValid(12). */
    vmcs12_t *vmcs = nvmx_current(c->v, c->env);
    if (!vmcs) {
        vm_fail_invalid(c);
        return;
    }
    uint32_t ii = c->insn->instr_info, enc;
    if (field_operand(c, VMX_II_REG2(ii), &enc) < 0) {
        vm_fail(c, VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    /* The destination has the operand size (64 bits in 64-bit mode, else
     * 32): a shorter field is zero-extended, a longer one's high bits are
     * not read. */
    unsigned size = nvmx_operand_size(c->s);
    sync_stale(c->v, c->env, nvmx_lazy_group((unsigned)vmcs12_index(enc, NULL)));
    uint64_t value = vmcs12_read(vmcs, enc);
    if (size < sizeof(uint64_t))
        value &= MASK32;
    if (VMX_II_IS_REG(ii))
        *nvmx_gpr(c->s, VMX_II_REG1(ii)) = value;
    else if (!nvmx_mem_write(c, &value, size))
        return;
    vm_succeed(c);
}

static void vmwrite(nvmx_ctx_t *c)
{
    if (!common_checks(c, false))
        return;
    vmcs12_t *vmcs = nvmx_current(c->v, c->env);
    if (!vmcs) {
        vm_fail_invalid(c);     /* SDM Vol. 2C VMWRITE */
        return;
    }
    /* The source (register or memory) has the operand size; a shorter one
     * is zero-extended (the field's high bits are cleared). It is read
     * before the field is looked up: the Operation section does not order
     * the two, and a fault leaves nothing changed either way. */
    uint32_t ii = c->insn->instr_info, enc;
    uint64_t value = 0;
    if (VMX_II_IS_REG(ii))
        value = nvmx_reg_operand(c->s, VMX_II_REG1(ii));
    else if (!nvmx_mem_read(c, &value, nvmx_operand_size(c->s)))
        return;
    if (field_operand(c, VMX_II_REG2(ii), &enc) < 0) {
        vm_fail(c, VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    /* SDM Vol. 2C VMWRITE: a VM-exit information field (type read-only)
     * cannot be written unless IA32_VMX_MISC bit 29 is 1 (SDM A.6). */
    if (VMCS_FIELD_TYPE(enc) == VMCS_TYPE_READ_ONLY && !(NVMX_MISC & VMX_MISC_VMWRITE_ANY_FIELD)) {
        vm_fail(c, VMXERR_VMWRITE_READ_ONLY);
        return;
    }
    const int slot = vmcs12_index(enc, NULL);
    /* A stale group's field: the group as vcpu02 holds it first, then the
     * write (a VMRESUME loads the group from vmcs12 again: dirty). */
    sync_stale(c->v, c->env, nvmx_lazy_group((unsigned)slot));
    vmcs12_write(vmcs, enc, value);
    c->v->dirty[slot / 64] |= 1ULL << (slot % 64);
    vm_succeed(c);
}

static void vmlaunch_vmresume(nvmx_ctx_t *c, bool launch)
{
    if (!common_checks(c, false))
        return;
    /* SDM Vol. 2C VMLAUNCH/VMRESUME, in this order: no current VMCS ->
     * VMfailInvalid; blocking by MOV SS -> VMfailValid(26); VMLAUNCH of a
     * VMCS whose launch state is not clear -> 4, VMRESUME of one not
     * launched -> 5. */
    vmcs12_t *vmcs = nvmx_current(c->v, c->env);
    if (!vmcs) {
        vm_fail_invalid(c);
        return;
    }
    /* SDM 24.10, 26.1: a shadow VMCS (indicator set, SDM 24.2) cannot be
     * used for VM entry: VMfailInvalid, as with no current VMCS. */
    if (vmcs->revision & VMCS_REVISION_SHADOW) {
        vm_fail_invalid(c);
        return;
    }
    if (c->s->interruptibility & X86_INTR_BLOCK_MOVSS) {
        vm_fail(c, VMXERR_ENTRY_MOVSS_BLOCKING);
        return;
    }
    if (launch && vmcs->launch_state != VMCS12_CLEAR) {
        vm_fail(c, VMXERR_VMLAUNCH_NOT_CLEAR);
        return;
    }
    if (!launch && vmcs->launch_state != VMCS12_LAUNCHED) {
        vm_fail(c, VMXERR_VMRESUME_NOT_LAUNCHED);
        return;
    }
    /* The control, host-state and guest-state checks (SDM 26.2, 26.3) and
     * the entry are the caller's; the state is untouched. */
    c->r.status = NVMX_ENTER;
    c->r.launch = launch;
}

bool nvmx_eptp_valid(uint64_t eptp, unsigned maxphyaddr)
{
    /* SDM 26.2.1.1 (VM entry with "enable EPT"), EPTP format SDM 24.6.11:
     * a memory type IA32_VMX_EPT_VPID_CAP allows (bit 8 UC, bit 14 WB); a
     * page-walk length it allows (bit 6: 4 levels); the accessed/dirty
     * flag only if bit 21 allows it; bits 11:7 and bits beyond the
     * physical-address width 0. */
    uint64_t cap = NVMX_EPT_VPID_CAP;
    uint64_t type = eptp & EPTP_MEMTYPE_MASK;
    bool type_ok = (type == X86_MT_UC && (cap & EPT_CAP_MEMTYPE_UC)) ||
                   (type == X86_MT_WB && (cap & EPT_CAP_MEMTYPE_WB));
    bool walk_ok = (eptp & EPTP_WALK_MASK) == EPTP_WALK_4 && (cap & EPT_CAP_PAGE_WALK_4);
    bool ad_ok = !(eptp & EPTP_ACCESSED_DIRTY) || (cap & EPT_CAP_ACCESSED_DIRTY);
    bool addr_ok = maxphyaddr >= 64 || (eptp >> maxphyaddr) == 0;
    return type_ok && walk_ok && ad_ok && !(eptp & EPTP_RESERVED_LOW) && addr_ok;
}

static void invept(nvmx_ctx_t *c)
{
    /* Bit 10 of the instruction information is undefined for INVEPT and
     * INVVPID (SDM 27.2.5); a register operand is #UD before any exit. */
    if (!common_checks(c, false))
        return;
    /* SDM Vol. 2C INVEPT: the type (register operand, the operand size)
     * must be one IA32_VMX_EPT_VPID_CAP reports (bits 25, 26), else
     * VMfail(28); only then is the descriptor read. */
    uint64_t type = nvmx_reg_operand(c->s, VMX_II_REG2(c->insn->instr_info));
    if ((type != INVEPT_SINGLE_CONTEXT && type != INVEPT_ALL_CONTEXT) ||
        !(NVMX_EPT_VPID_CAP & BIT(EPT_CAP_INVEPT_TYPE_SHIFT + type))) {
        vm_fail(c, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    uint64_t desc[INV_DESC_SIZE / sizeof(uint64_t)];
    if (!nvmx_mem_read(c, desc, sizeof(desc)))
        return;
    /* Single-context: VMfail(28) if VM entry would fail due to the EPTP. */
    if (type == INVEPT_SINGLE_CONTEXT && !nvmx_eptp_valid(desc[0], c->env->maxphyaddr)) {
        vm_fail(c, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    vm_succeed(c);
    c->r.status = NVMX_INVALIDATE;
    c->r.inv_ept = true;
    c->r.inv_type = type;
    if (type == INVEPT_SINGLE_CONTEXT)
        c->r.inv_eptp = desc[0];
}

static void invvpid(nvmx_ctx_t *c)
{
    if (!common_checks(c, false))
        return;
    /* SDM Vol. 2C INVVPID: the type must be one IA32_VMX_EPT_VPID_CAP
     * reports (bits 40-43 for types 0-3), else VMfail(28). */
    uint64_t type = nvmx_reg_operand(c->s, VMX_II_REG2(c->insn->instr_info));
    if (type > INVVPID_SINGLE_NON_GLOBAL ||
        !(NVMX_EPT_VPID_CAP & BIT(VPID_CAP_INVVPID_TYPE_SHIFT + type))) {
        vm_fail(c, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    uint64_t desc[INV_DESC_SIZE / sizeof(uint64_t)];
    if (!nvmx_mem_read(c, desc, sizeof(desc)))
        return;
    /* INVVPID_DESC[63:16] must be 0; the VPID must not be 0 but for the
     * all-context type; an individual address must be canonical. */
    uint16_t vpid = (uint16_t)(desc[0] & INVVPID_DESC_VPID_MASK);
    bool bad = (desc[0] & ~INVVPID_DESC_VPID_MASK) != 0;
    if (type != INVVPID_ALL_CONTEXT && vpid == 0)
        bad = true;
    if (type == INVVPID_ADDRESS && !x86_canonical(desc[1]))
        bad = true;
    if (bad) {
        vm_fail(c, VMXERR_INVALID_INVEPT_INVVPID);
        return;
    }
    vm_succeed(c);
    c->r.status = NVMX_INVALIDATE;
    c->r.inv_ept = false;
    c->r.inv_type = type;
    if (type != INVVPID_ALL_CONTEXT)
        c->r.inv_vpid = vpid;
    if (type == INVVPID_ADDRESS)
        c->r.inv_addr = desc[1];
}

/* ---- L2's VMREAD/VMWRITE with L1's "VMCS shadowing" (VMX non-root) ---- */

/* The VMCS field encoding of L2's VMREAD/VMWRITE (the register named by
 * bits 31:28 of the instruction information), at the operand size. */
static uint64_t l2_field(nestor_vcpu_state_t *s2, const nvmx_insn_t *insn)
{
    return nvmx_reg_operand(s2, VMX_II_REG2(insn->instr_info));
}

bool nvmx_l2_shadow_exits(const vmcs12_t *v12, const nvmx_env_t *env, nestor_vcpu_state_t *s2,
                          const nvmx_insn_t *insn)
{
    const uint64_t *f = v12->field;
    const uint32_t proc = (uint32_t)f[V12_PROC_CONTROLS];
    const uint32_t proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? (uint32_t)f[V12_PROC_CONTROLS2] : 0;
    /* SDM 25.1.3 (VMREAD, VMWRITE): an exit if "VMCS shadowing" is 0, if
     * bits 63:15 (31:15 outside 64-bit mode: the operand size) of the
     * field operand are not all 0, or if bit n of the VMREAD (VMWRITE)
     * bitmap is 1, n being bits 14:0 of the field operand (SDM 24.6.15).
     * A bitmap byte outside L1's RAM reads as all ones: an exit. */
    if (!(proc2 & PROC2_VMCS_SHADOWING))
        return true;
    const uint64_t enc = l2_field(s2, insn);
    if (enc & ~(uint64_t)VMX_RW_BITMAP_INDEX_MASK)
        return true;
    const uint64_t bitmap = f[insn->reason == NESTOR_EXIT_VMREAD ? V12_VMREAD_BITMAP
                                                                 : V12_VMWRITE_BITMAP];
    const uint8_t *byte = env->phys(env->ctx, bitmap + (enc >> 3), 1);
    if (!byte || ((*byte >> (enc & 7)) & 1))
        return true;
    /* Not the SDM's: nested-vmx carries out register operands only (L2's
     * memory would need a walk of L2's paging through EPT12); a memory
     * operand exits to L1, as if its bitmap bit were 1 (nested-vmx/README.md). */
    return !VMX_II_IS_REG(insn->instr_info);
}

nvmx_result_t nvmx_l2_shadow_access(vmcs12_t *v12, const nvmx_env_t *env, nestor_vcpu_state_t *s2,
                                    const nvmx_insn_t *insn)
{
    nvmx_result_t r = { .status = NVMX_DONE };
    const uint32_t ii = insn->instr_info, len = insn->instr_len;
    /* SDM Vol. 2C VMREAD/VMWRITE, Operation, in VMX non-root operation past
     * the VM-exit test (nvmx_l2_shadow_exits): #UD for the modes; #GP(0) at
     * CPL > 0; VMfailInvalid if the VMCS link pointer is not valid; VMfail-
     * Valid(12) for a field that does not exist, VMWRITE: (13) for a
     * read-only one unless IA32_VMX_MISC[29]; else the access goes to the
     * VMCS the link pointer references. VMfailValid's error goes into the
     * current VMCS, L1's for L2 (SDM 30.2). */
    if (mode_ud(s2)) {
        nvmx_set_fault(&r, X86_VEC_UD, false, 0);
        return r;
    }
    if (nvmx_cpl(s2) > 0) {
        nvmx_set_fault(&r, X86_VEC_GP, true, 0);
        return r;
    }
    const uint64_t lp = v12->field[V12_LINK_POINTER];
    vmcs12_t *shadow = lp == VMCS_LINK_PTR_NONE ? NULL
                                                : env->phys(env->ctx, lp, VMCS12_REGION_SIZE);
    if (!shadow) {
        fail_invalid(s2, len);
        r.vm_error = NVMX_VMFAIL_INVALID;
        return r;
    }
    const uint32_t enc = (uint32_t)l2_field(s2, insn);
    uint32_t error = 0;
    if (vmcs12_index(enc, NULL) < 0)
        error = VMXERR_UNSUPPORTED_FIELD;
    else if (insn->reason == NESTOR_EXIT_VMWRITE && VMCS_FIELD_TYPE(enc) == VMCS_TYPE_READ_ONLY &&
             !(NVMX_MISC & VMX_MISC_VMWRITE_ANY_FIELD))
        error = VMXERR_VMWRITE_READ_ONLY;
    if (error) {
        vmcs12_write(v12, VMCS_INSTR_ERROR, error);
        conclude(s2, len, VMX_RFLAGS_ZF);
        r.vm_error = error;
        return r;
    }
    if (insn->reason == NESTOR_EXIT_VMREAD) {
        uint64_t value = vmcs12_read(shadow, enc);
        if (nvmx_operand_size(s2) < sizeof(uint64_t))
            value &= MASK32;
        *nvmx_gpr(s2, VMX_II_REG1(ii)) = value;
    } else {
        vmcs12_write(shadow, enc, nvmx_reg_operand(s2, VMX_II_REG1(ii)));
    }
    nvmx_succeed(s2, len);
    return r;
}

nvmx_result_t nvmx_instruction(nvmx_vcpu_t *v, const nvmx_env_t *env, nestor_vcpu_state_t *s,
                               const nvmx_insn_t *insn)
{
    nvmx_ctx_t c = { .v = v, .env = env, .s = s, .insn = insn, .r = { .status = NVMX_DONE } };
    switch (insn->reason) {
    case NESTOR_EXIT_VMXON:
        vmxon(&c);
        break;
    case NESTOR_EXIT_VMXOFF:
        vmxoff(&c);
        break;
    case NESTOR_EXIT_VMCLEAR:
        vmclear(&c);
        break;
    case NESTOR_EXIT_VMPTRLD:
        vmptrld(&c);
        break;
    case NESTOR_EXIT_VMPTRST:
        vmptrst(&c);
        break;
    case NESTOR_EXIT_VMREAD:
        vmread(&c);
        break;
    case NESTOR_EXIT_VMWRITE:
        vmwrite(&c);
        break;
    case NESTOR_EXIT_VMLAUNCH:
        vmlaunch_vmresume(&c, true);
        break;
    case NESTOR_EXIT_VMRESUME:
        vmlaunch_vmresume(&c, false);
        break;
    case NESTOR_EXIT_INVEPT:
        invept(&c);
        break;
    case NESTOR_EXIT_INVVPID:
        invvpid(&c);
        break;
    default:
        /* Not a VMX instruction: the caller's mistake; L1 sees #UD. */
        raise_ud(&c);
        break;
    }
    return c.r;
}

bool nvmx_vcpu_valid(const nvmx_vcpu_t *v, const nvmx_env_t *env)
{
    if (!v->vmxon)      /* as VMXOFF leaves it (vmxoff above) */
        return v->vmxon_ptr == NVMX_NO_VMCS && v->current == NVMX_NO_VMCS;
    /* What VMXON checked of its pointer and region (SDM Vol. 2C VMXON) ... */
    if (!pointer_ok(env, v->vmxon_ptr) || !revision_ok(region_revision(env, v->vmxon_ptr), false))
        return false;
    if (v->current == NVMX_NO_VMCS)
        return true;
    /* ... and VMPTRLD of the current VMCS (SDM Vol. 2C VMPTRLD): not the
     * VMXON pointer, a region of RAM with a supported revision. */
    const vmcs12_t *vmcs = nvmx_current(v, env);
    return pointer_ok(env, v->current) && v->current != v->vmxon_ptr && vmcs &&
           revision_ok(vmcs->revision, true);
}
