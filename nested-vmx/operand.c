/*
 * nested-vmx/operand.c - the operands of VMX instructions: registers as the
 * instruction-information field numbers them, and memory operands from the
 * instruction-information field and the exit qualification (SDM Vol. 3C
 * 27.2.1, 27.2.5), with the segmentation checks and exceptions of each
 * instruction's "Protected Mode Exceptions" / "64-Bit Mode Exceptions"
 * (SDM Vol. 2C).
 */
#include "nvmx_insn.h"
#include <stddef.h>
#include <string.h>
#include <x86_arch.h>

#define MASK16 0xFFFFULL
#define MASK32 0xFFFFFFFFULL
/* An expand-down segment ends at 4 GiB - 1 with the B flag, else at 64 KiB
 * - 1 (SDM Vol. 3A 3.4.5). */
#define EXPAND_DOWN_TOP_BIG   MASK32
#define EXPAND_DOWN_TOP_SMALL MASK16

bool nvmx_long_mode(const nestor_vcpu_state_t *s)
{
    return (s->efer & X86_EFER_LMA) && (s->cs.ar & X86_AR_L);
}

unsigned nvmx_cpl(const nestor_vcpu_state_t *s)
{
    return (s->ss.ar >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK;
}

nestor_word_t *nvmx_gpr(nestor_vcpu_state_t *s, unsigned n)
{
    /* SDM 27.2.5, Table 27-13: 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP,
     * 6 RSI, 7 RDI, 8-15 R8-R15. */
    /* Offsets, not a table of pointers built at each call (this is on
     * every VMREAD/VMWRITE and L2 register access). */
#define GPR_OFF(r) (uint16_t) offsetof(nestor_vcpu_state_t, r)
    static const uint16_t off[NVMX_GPR_COUNT] = {
        GPR_OFF(rax), GPR_OFF(rcx), GPR_OFF(rdx), GPR_OFF(rbx),
        GPR_OFF(rsp), GPR_OFF(rbp), GPR_OFF(rsi), GPR_OFF(rdi),
        GPR_OFF(r8),  GPR_OFF(r9),  GPR_OFF(r10), GPR_OFF(r11),
        GPR_OFF(r12), GPR_OFF(r13), GPR_OFF(r14), GPR_OFF(r15),
    };
#undef GPR_OFF
    return (nestor_word_t *)((char *)s + off[n % NVMX_GPR_COUNT]);
}

unsigned nvmx_operand_size(const nestor_vcpu_state_t *s)
{
    return nvmx_long_mode(s) ? sizeof(uint64_t) : sizeof(uint32_t);
}

uint64_t nvmx_reg_operand(nestor_vcpu_state_t *s, unsigned n)
{
    uint64_t v = *nvmx_gpr(s, n);
    return nvmx_long_mode(s) ? v : (v & MASK32);
}

void nvmx_set_fault(nvmx_result_t *r, uint8_t vector, bool has_error, uint32_t error)
{
    r->status = NVMX_FAULT;
    r->vector = vector;
    r->has_error = has_error;
    r->error_code = error;
}

/* The linear address of the memory operand, @n bytes, checked as the
 * access would check it. false: c->r holds the exception. */
static bool operand_linear(nvmx_ctx_t *c, size_t n, bool write, uint64_t *la)
{
    nestor_vcpu_state_t *s = c->s;
    uint32_t ii = c->insn->instr_info;
    uint64_t amask;
    /* SDM 27.2.5: address size 0 16-bit, 1 32-bit, 2 64-bit; other values
     * are never reported (treated as an undefined encoding: #UD). */
    switch (VMX_II_ADDR_SIZE(ii)) {
    case VMX_II_ADDR_16:
        amask = MASK16;
        break;
    case VMX_II_ADDR_32:
        amask = MASK32;
        break;
    case VMX_II_ADDR_64:
        amask = ~0ULL;
        break;
    default:
        nvmx_set_fault(&c->r, X86_VEC_UD, false, 0);
        return false;
    }
    unsigned segi = VMX_II_SEG(ii);
    if (segi >= VMX_II_SEG_COUNT) {
        nvmx_set_fault(&c->r, X86_VEC_UD, false, 0);
        return false;
    }
    /* SDM 27.2.1: the exit qualification holds the displacement,
     * sign-extended to 64 bits (for RIP-relative addressing, the
     * displacement plus the next instruction's RIP). SDM Vol. 1 3.7.5:
     * offset = base + index * scale + displacement, in the address size. */
    uint64_t ea = c->insn->qualification;
    if (!VMX_II_BASE_INVALID(ii))
        ea += *nvmx_gpr(s, VMX_II_BASE(ii));
    if (!VMX_II_INDEX_INVALID(ii))
        ea += *nvmx_gpr(s, VMX_II_INDEX(ii)) << VMX_II_SCALE(ii);
    ea &= amask;

    const nestor_vcpu_seg_t *const segs[VMX_II_SEG_COUNT] = {
        &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
    };
    const nestor_vcpu_seg_t *seg = segs[segi];
    /* SDM Vol. 2C (each VMX instruction): a violation through SS is #SS(0),
     * through any other segment #GP(0). */
    uint8_t vec = segi == VMX_II_SEG_SS ? X86_VEC_SS : X86_VEC_GP;

    if (nvmx_long_mode(s)) {
        /* SDM Vol. 3A 3.4.4: in 64-bit mode only the FS and GS bases are
         * added; no limit checks. SDM Vol. 2C "64-Bit Mode Exceptions":
         * #GP(0) / #SS(0) for a non-canonical memory address (48 bits:
         * CR4.LA57 is fixed to 0 in VMX operation, NVMX_CR4_FIXED1). */
        uint64_t a = ea;
        if (segi == VMX_II_SEG_FS || segi == VMX_II_SEG_GS)
            a += seg->base;
        if (!x86_canonical(a) || !x86_canonical(a + n - 1)) {
            nvmx_set_fault(&c->r, vec, true, 0);
            return false;
        }
        *la = a;
        return true;
    }

    /* SDM Vol. 2C "Protected Mode Exceptions": #GP(0) for an unusable (null)
     * DS, ES, FS or GS (SS likewise, with #SS); for a destination in a
     * read-only data segment or any code segment; for a source in an
     * execute-only code segment; #GP(0) / #SS(0) for an effective address
     * outside the segment limit (SDM Vol. 3A 5.3). */
    uint32_t type = seg->ar & X86_AR_TYPE_MASK;
    bool code = type & X86_SEG_TYPE_CODE;
    if ((seg->ar & X86_AR_UNUSABLE) ||
        (write && (code || !(type & X86_SEG_TYPE_RW))) ||
        (!write && code && !(type & X86_SEG_TYPE_RW))) {
        nvmx_set_fault(&c->r, (seg->ar & X86_AR_UNUSABLE) ? vec : X86_VEC_GP, true, 0);
        return false;
    }
    uint64_t last = ea + n - 1;
    bool bad;
    if (!code && (type & X86_SEG_TYPE_CONFORMING)) {
        /* SDM Vol. 3A 5.3: valid offsets are limit + 1 up to the top. */
        uint64_t top = (seg->ar & X86_AR_DB) ? EXPAND_DOWN_TOP_BIG : EXPAND_DOWN_TOP_SMALL;
        bad = ea <= seg->limit || last > top;
    } else {
        bad = last > seg->limit;
    }
    if (bad) {
        nvmx_set_fault(&c->r, vec, true, 0);
        return false;
    }
    /* SDM Vol. 3A 3.4: linear = base + offset, 32 bits outside 64-bit mode. */
    *la = (seg->base + ea) & MASK32;
    return true;
}

static bool mem_access(nvmx_ctx_t *c, void *buf, size_t n, bool write)
{
    uint64_t la;
    if (!operand_linear(c, n, write, &la))
        return false;
    uint32_t error = 0;
    uint64_t addr = 0;
    nvmx_mem_t m = c->env->linear(c->env->ctx, c->s, la, buf, n, write, &error, &addr);
    if (m == NVMX_MEM_PAGE_FAULT) {
        /* SDM Vol. 2C: #PF(fault-code) for a page fault. */
        nvmx_set_fault(&c->r, X86_VEC_PF, true, error);
        c->r.cr2 = addr;
        return false;
    }
    /* Memory that is not RAM (nothing there, or a device nested-vmx cannot
     * reach) reads as all ones and drops writes, as a bus with nothing
     * behind it does. */
    if (m == NVMX_MEM_NOT_RAM && !write)
        memset(buf, 0xFF, n);
    return true;
}

bool nvmx_mem_read(nvmx_ctx_t *c, void *buf, size_t n)
{
    return mem_access(c, buf, n, false);
}

bool nvmx_mem_write(nvmx_ctx_t *c, const void *buf, size_t n)
{
    /* linear() takes a non-const buffer for both directions; a write only
     * reads it. */
    return mem_access(c, (void *)(uintptr_t)buf, n, true);
}
