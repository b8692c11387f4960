/*
 * vmm-server/decode/x86_emulate.c - execute a decoded MMIO access (see
 * x86_emulate.h). Register-write rules (SDM Vol. 1 3.4.1.1): 64-bit writes
 * replace the register, 32-bit writes zero bits 63:32, 16- and 8-bit writes
 * keep the other bits, AH/CH/DH/BH are bits 15:8. The 32-bit rule is applied
 * in every mode: outside 64-bit mode bits 63:32 are not architecturally
 * visible. Status flags follow SDM Vol. 1 3.4.3.1 and the instruction pages
 * of Vol. 2A/2B (AND/OR/XOR/TEST clear CF and OF; AF, undefined there, is
 * cleared; ADC/SBB take CF in; INC/DEC keep CF; NEG sets CF = (operand != 0);
 * NOT changes no flag; shifts, rotates and bit tests: see their helpers).
 * Where the SDM leaves a flag undefined the emulator writes a fixed choice,
 * named at each helper; tests compare only the defined ones.
 */
#include "x86_emulate.h"

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * size)) - 1;
}

static uint64_t sign_bit(unsigned size)
{
    return (uint64_t)1 << (8 * size - 1);
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static uint64_t sign_extend(uint64_t v, unsigned from)
{
    uint64_t sign = sign_bit(from);
    v &= size_mask(from);
    return (v ^ sign) - sign;
}

static uint64_t reg_read(const x86_regs_t *regs, int reg, bool high, unsigned size)
{
    uint64_t v = regs->gpr[reg];
    return high ? (v >> 8) & 0xFF : v & size_mask(size);
}

/* The new value of a register after a write of `size` bytes. */
static uint64_t reg_merge(uint64_t old, bool high, unsigned size, uint64_t v)
{
    switch (size) {
    case 1:
        if (high)
            return (old & ~(uint64_t)0xFF00) | ((v & 0xFF) << 8);
        return (old & ~(uint64_t)0xFF) | (v & 0xFF);
    case 2:
        return (old & ~(uint64_t)0xFFFF) | (v & 0xFFFF);
    case 4:
        return v & 0xFFFFFFFF;
    default:
        return v;
    }
}

static void reg_write(x86_regs_t *regs, int reg, bool high, unsigned size, uint64_t v)
{
    regs->gpr[reg] = reg_merge(regs->gpr[reg], high, size, v);
}

/* PF: set when the low byte of the result has an even number of 1 bits. */
static bool parity_even(uint64_t v)
{
    unsigned b = (unsigned)(v & 0xFF);
    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return !(b & 1);
}

/* Compute `a op b` on `size` bytes; returns the result, sets *flags (status bits only).
 * `carry` is the CF that ADC adds and SBB subtracts; the other operations ignore it.
 * SDM Vol. 2A "ADC" (DEST := DEST + SRC + CF), Vol. 2B "SBB" (DEST := DEST - (SRC + CF)):
 * OF SF ZF AF CF PF are set according to the result, as for ADD and SUB. */
static uint64_t alu(x86_op_t op, unsigned size, uint64_t a, uint64_t b, bool carry,
                    uint64_t *flags)
{
    uint64_t m = size_mask(size), sign = sign_bit(size), r;
    bool cf = false, of = false, af = false;
    uint64_t cin;

    a &= m;
    b &= m;
    switch (op) {
    case X86_OP_ADD:
    case X86_OP_ADC:
        cin = op == X86_OP_ADC && carry;
        r = (a + b + cin) & m;
        /* Carry out of the top bit: the sum wrapped below a, or, with a carry
         * in, came back to exactly a (b all ones). */
        cf = r < a || (cin && r == a);
        of = ((a ^ r) & (b ^ r) & sign) != 0;   /* both inputs one sign, result the other */
        af = ((a ^ b ^ r) & 0x10) != 0;         /* carry out of bit 3 */
        break;
    case X86_OP_SUB:
    case X86_OP_CMP:
    case X86_OP_SBB:
        cin = op == X86_OP_SBB && carry;
        r = (a - b - cin) & m;
        /* Borrow: a < b + CF, computed without overflowing b + CF. */
        cf = a < b || (cin && a == b);
        of = ((a ^ b) & (a ^ r) & sign) != 0;   /* inputs differ in sign, result not a's */
        af = ((a ^ b ^ r) & 0x10) != 0;         /* borrow into bit 3 */
        break;
    case X86_OP_AND:
    case X86_OP_TEST:
        r = a & b;
        break;
    case X86_OP_OR:
        r = a | b;
        break;
    default: /* X86_OP_XOR */
        r = a ^ b;
        break;
    }
    *flags = (cf ? X86_RFLAGS_CF : 0) | (parity_even(r) ? X86_RFLAGS_PF : 0) |
             (af ? X86_RFLAGS_AF : 0) | (r == 0 ? X86_RFLAGS_ZF : 0) |
             ((r & sign) ? X86_RFLAGS_SF : 0) | (of ? X86_RFLAGS_OF : 0);
    return r;
}

/* ZF SF PF of a result of `size` bytes (the flags every result sets). */
static uint64_t szp(uint64_t r, unsigned size)
{
    r &= size_mask(size);
    return (r == 0 ? X86_RFLAGS_ZF : 0) | ((r & sign_bit(size)) ? X86_RFLAGS_SF : 0) |
           (parity_even(r) ? X86_RFLAGS_PF : 0);
}

/* ---- the emulation context ---- */

typedef struct {
    const x86_insn_t *insn;
    const x86_env_t *env;
    x86_regs_t r;            /* the working copy; committed only on success */
    uint64_t gpa;
    x86_fault_t *fault;
} emu_t;

static x86_emu_status_t raise(emu_t *e, unsigned vector, bool has_error, uint32_t error)
{
    e->fault->vector = vector;
    e->fault->has_error = has_error;
    e->fault->error = error;
    e->fault->has_cr2 = false;
    e->fault->cr2 = 0;
    return X86_EMU_FAULT;
}

/* #AC: SDM Vol. 3A 6.15 "Interrupt 17-Alignment Check Exception": with CR0.AM,
 * RFLAGS.AC and CPL 3, a data access of 2, 4 or 8 bytes at an address that is
 * not a multiple of its size; the error code is 0. */
static bool misaligned(const emu_t *e, uint64_t addr, unsigned size)
{
    return e->env->cr0_am && (e->r.rflags & X86_RFLAGS_AC) && e->env->cpl == 3 &&
           (addr & (size - 1)) != 0;
}

/* The memory operand on the device at gpa (its page offset is the linear
 * address's, so it tells alignment too). Reads come back zero-extended. */
static x86_emu_status_t dev_read(emu_t *e, uint64_t gpa, unsigned size, uint64_t *v)
{
    if (!e->env->rd)
        return X86_EMU_UNSUPPORTED;
    if (misaligned(e, gpa, size))
        return raise(e, X86_VEC_AC, true, 0);
    if (!e->env->rd(e->env->dev, gpa, size, v))
        return X86_EMU_DEVICE_ERROR;
    *v &= size_mask(size);
    return X86_EMU_OK;
}

static x86_emu_status_t dev_write(emu_t *e, uint64_t gpa, unsigned size, uint64_t v)
{
    if (!e->env->wr)
        return X86_EMU_UNSUPPORTED;
    if (misaligned(e, gpa, size))
        return raise(e, X86_VEC_AC, true, 0);
    return e->env->wr(e->env->dev, gpa, size, v & size_mask(size)) ? X86_EMU_OK
                                                                    : X86_EMU_DEVICE_ERROR;
}

/*
 * A guest-linear access at seg:offset (offset already cut to the address
 * size). The checks a CPU makes first: in 64-bit mode the address must be
 * canonical (x86_canonical; ES/CS/SS/DS bases count as 0, SDM Vol. 3A 3.4.4),
 * elsewhere the offset must be inside the segment's limit (3.4.5.1, 5.3)
 * and the address wraps at 4 GiB; both faults are #SS(0) for the stack
 * segment and #GP(0) for the others (Vol. 2A/2B "Protected Mode Exceptions",
 * "64-Bit Mode Exceptions" of each instruction). Then #AC, then the access:
 * a page with no translation is #PF with W/R by the access and U/S by the
 * CPL, P clear, CR2 the address; one whose rights forbid the access the
 * same with P set (Vol. 3A 4.6, 4.7).
 */
static x86_emu_status_t lin_access(emu_t *e, int seg, uint64_t offset, unsigned size,
                                   bool write, uint64_t *v)
{
    const x86_env_t *env = e->env;
    unsigned vec = seg == X86_SEG_SS ? X86_VEC_SS : X86_VEC_GP;
    uint64_t la;

    if (!env->lin)
        return X86_EMU_UNSUPPORTED;
    if (env->mode == X86_MODE_64) {
        la = offset + ((seg == X86_SEG_FS || seg == X86_SEG_GS) ? env->seg[seg].base : 0);
        if (!x86_canonical(la) || !x86_canonical(la + size - 1))
            return raise(e, vec, true, 0);
    } else {
        const x86_seg_t *s = &env->seg[seg];
        if (offset < s->lo || offset + size - 1 > s->hi || offset + size - 1 < offset)
            return raise(e, vec, true, 0);
        la = (s->base + offset) & 0xFFFFFFFFull;
    }
    if (misaligned(e, la, size))
        return raise(e, X86_VEC_AC, true, 0);
    uint64_t fault_la = la;
    if (!write)
        *v = 0;
    x86_lin_status_t st = env->lin(env->lin_ctx, la, size, write, v, &fault_la);
    switch (st) {
    case X86_LIN_OK:
        if (!write)
            *v &= size_mask(size);
        return X86_EMU_OK;
    case X86_LIN_UNMAPPED:
    case X86_LIN_DENIED:
        raise(e, X86_VEC_PF, true,
              (uint32_t)((write ? X86_PF_WRITE : 0) | (env->cpl == 3 ? X86_PF_USER : 0) |
                         (st == X86_LIN_DENIED ? X86_PF_PRESENT : 0)));
        e->fault->has_cr2 = true;
        e->fault->cr2 = fault_la;
        return X86_EMU_FAULT;
    default:
        return X86_EMU_DEVICE_ERROR;
    }
}

/* The instruction-pointer width of the mode: RIP, EIP or IP. */
static uint64_t ip_mask(x86_mode_t mode)
{
    return mode == X86_MODE_64 ? ~(uint64_t)0 : mode == X86_MODE_32 ? 0xFFFFFFFFull : 0xFFFFull;
}

/* The stack's address size: 8 in 64-bit mode, else SS.B's (SDM Vol. 3A 3.4.5). */
static unsigned stack_addr_size(const x86_env_t *env)
{
    if (env->mode == X86_MODE_64)
        return 8;
    return env->stack_addr_size == 4 ? 4 : 2;
}

/* ---- string instructions ---- */

/* Move an index register (rSI rDI) by one element, down with DF (SDM Vol. 1
 * 3.4.3.2), at the address size. */
static void string_step(emu_t *e, int reg)
{
    unsigned n = e->insn->mem_size;
    uint64_t v = e->r.gpr[reg];
    v = (e->r.rflags & X86_RFLAGS_DF) ? v - n : v + n;
    reg_write(&e->r, reg, false, e->insn->addr_size, v);
}

/* Set the status flags to `flags` (the six), keeping the others. */
static void set_status(emu_t *e, uint64_t flags)
{
    e->r.rflags = (e->r.rflags & ~X86_RFLAGS_STATUS) | (flags & X86_RFLAGS_STATUS);
}

/*
 * One element of MOVS STOS LODS SCAS CMPS (SDM Vol. 2B, each page; REP
 * prefixes on "REP/REPE/REPZ/REPNE/REPNZ"): with REP and rCX = 0 nothing
 * happens; else one element, then rCX counts down. STOS LODS SCAS access
 * their one memory operand at gpa (ES:rDI for STOS and SCAS, DS:rSI or the
 * override for LODS); MOVS and CMPS reach both of theirs through env->lin.
 * SCAS and CMPS set the flags of CMP (first operand minus second: AL/AX/EAX/
 * RAX - ES:rDI, DS:rSI - ES:rDI).
 */
static x86_emu_status_t emulate_string(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned n = insn->mem_size, as = insn->addr_size;
    x86_emu_status_t st;
    uint64_t a, b, flags;

    if (as != 2 && as != 4 && as != 8)
        return X86_EMU_UNSUPPORTED;
    uint64_t amask = size_mask(as);
    uint64_t count = e->r.gpr[X86_RCX] & amask;
    if (insn->rep && count == 0)
        return X86_EMU_OK;
    int src_seg = insn->seg_override >= 0 ? insn->seg_override : X86_SEG_DS;
    uint64_t rsi = e->r.gpr[X86_RSI] & amask, rdi = e->r.gpr[X86_RDI] & amask;

    switch (insn->op) {
    case X86_OP_STOS:
        if ((st = dev_write(e, e->gpa, n, e->r.gpr[X86_RAX])) != X86_EMU_OK)
            return st;
        string_step(e, X86_RDI);
        break;
    case X86_OP_LODS:
        if ((st = dev_read(e, e->gpa, n, &a)) != X86_EMU_OK)
            return st;
        reg_write(&e->r, X86_RAX, false, n, a);
        string_step(e, X86_RSI);
        break;
    case X86_OP_SCAS:
        if ((st = dev_read(e, e->gpa, n, &b)) != X86_EMU_OK)
            return st;
        alu(X86_OP_CMP, n, e->r.gpr[X86_RAX], b, false, &flags);
        set_status(e, flags);
        string_step(e, X86_RDI);
        break;
    case X86_OP_MOVS:
        if ((st = lin_access(e, src_seg, rsi, n, false, &a)) != X86_EMU_OK ||
            (st = lin_access(e, X86_SEG_ES, rdi, n, true, &a)) != X86_EMU_OK)
            return st;
        string_step(e, X86_RSI);
        string_step(e, X86_RDI);
        break;
    default: /* X86_OP_CMPS */
        if ((st = lin_access(e, src_seg, rsi, n, false, &a)) != X86_EMU_OK ||
            (st = lin_access(e, X86_SEG_ES, rdi, n, false, &b)) != X86_EMU_OK)
            return st;
        alu(X86_OP_CMP, n, a, b, false, &flags);
        set_status(e, flags);
        string_step(e, X86_RSI);
        string_step(e, X86_RDI);
        break;
    }
    if (insn->rep)
        reg_write(&e->r, X86_RCX, false, as, count - 1);
    return X86_EMU_OK;
}

/* ---- arithmetic with the memory operand ---- */

static x86_emu_status_t emulate_alu(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size;
    uint64_t mem, src, flags, r;
    bool write_mem = insn->op != X86_OP_CMP && insn->op != X86_OP_TEST && !insn->reg_dest;
    x86_emu_status_t st;

    if (insn->has_imm) {
        if (insn->reg_dest)
            return X86_EMU_UNSUPPORTED;
        src = insn->imm;
    } else {
        if (insn->reg_size != size)
            return X86_EMU_UNSUPPORTED;
        src = reg_read(&e->r, insn->reg, insn->reg_high_byte, size);
    }
    if (write_mem && !e->env->wr)
        return X86_EMU_UNSUPPORTED;
    if ((st = dev_read(e, e->gpa, size, &mem)) != X86_EMU_OK)
        return st;

    bool carry = (e->r.rflags & X86_RFLAGS_CF) != 0;   /* ADC, SBB */
    if (insn->reg_dest)   /* reg = reg op mem (02/03, 0A/0B, ...): the register comes first */
        r = alu(insn->op, size, src, mem, carry, &flags);
    else
        r = alu(insn->op, size, mem, src, carry, &flags);

    if (write_mem && (st = dev_write(e, e->gpa, size, r)) != X86_EMU_OK)
        return st;
    if (insn->reg_dest && insn->op != X86_OP_CMP && insn->op != X86_OP_TEST)
        reg_write(&e->r, insn->reg, insn->reg_high_byte, size, r);
    set_status(e, flags);
    return X86_EMU_OK;
}

/* INC DEC NOT NEG: the memory operand is read, changed and written back.
 * SDM Vol. 2A "INC", "DEC": DEST := DEST +/- 1; CF is not affected, OF SF ZF AF
 * PF are set according to the result (so: ADD/SUB of 1 with the old CF kept).
 * Vol. 2B "NEG": DEST := 0 - DEST, "IF DEST = 0 THEN CF := 0 ELSE CF := 1";
 * OF SF ZF AF PF according to the result (so: SUB from 0, whose CF is exactly
 * that). Vol. 2B "NOT": DEST := NOT DEST; "Flags Affected: None". */
static x86_emu_status_t emulate_unary(emu_t *e)
{
    unsigned size = e->insn->mem_size;
    uint64_t mem, r, flags, keep = ~X86_RFLAGS_STATUS;
    x86_emu_status_t st;

    if (!e->env->wr)
        return X86_EMU_UNSUPPORTED;
    if ((st = dev_read(e, e->gpa, size, &mem)) != X86_EMU_OK)
        return st;
    switch (e->insn->op) {
    case X86_OP_INC:
        r = alu(X86_OP_ADD, size, mem, 1, false, &flags);
        keep |= X86_RFLAGS_CF;
        break;
    case X86_OP_DEC:
        r = alu(X86_OP_SUB, size, mem, 1, false, &flags);
        keep |= X86_RFLAGS_CF;
        break;
    case X86_OP_NEG:
        r = alu(X86_OP_SUB, size, 0, mem, false, &flags);
        break;
    default: /* X86_OP_NOT */
        r = ~mem & size_mask(size);
        flags = 0;
        keep = ~(uint64_t)0;
        break;
    }
    if ((st = dev_write(e, e->gpa, size, r)) != X86_EMU_OK)
        return st;
    e->r.rflags = (e->r.rflags & keep) | (flags & ~keep);
    return X86_EMU_OK;
}

/* ---- shifts and rotates ---- */

/* Shift and rotate counts (SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD/SHRD in
 * SDM Vol. 2B) are masked to 5 bits, 6 with a 64-bit operand. */
#define COUNT_MASK_32 0x1Fu
#define COUNT_MASK_64 0x3Fu

static unsigned count_mask(unsigned size)
{
    return size == 8 ? COUNT_MASK_64 : COUNT_MASK_32;
}

/*
 * Group 2 on `size` bytes by `count` (SDM Vol. 2B "SAL/SAR/SHL/SHR" and
 * "RCL/RCR/ROL/ROR", Operation and Flags Affected). The count is masked to 5
 * bits, 6 with a 64-bit operand; a masked count of 0 changes nothing (no
 * flag, and the emulator writes no memory). Returns the result; *flags gets
 * the new RFLAGS.
 *   Shifts: CF is the last bit shifted out (undefined for SHL/SHR when the
 *   count is >= the operand's bits: here the loop of the Operation section,
 *   so 0 beyond the size); SF ZF PF by the result; OF only for a count of 1
 *   (SHL: MSB(result) XOR CF; SHR: the operand's MSB; SAR: 0), undefined
 *   otherwise (here the same formulas); AF undefined (here cleared).
 *   Rotates: only CF and OF change. ROL/ROR rotate by the count modulo the
 *   bits, RCL/RCR (through CF) by the count modulo bits + 1 for 8 and 16
 *   bits; CF is the last bit rotated (ROL: LSB of the result, ROR: MSB);
 *   OF only for a count of 1 (ROL, RCL: MSB(result) XOR CF; ROR: the top two
 *   bits of the result XORed; RCR: MSB(operand) XOR old CF), undefined
 *   otherwise (here the same formulas).
 */
static uint64_t shift_rotate(x86_op_t op, unsigned size, uint64_t v, unsigned count,
                             uint64_t rflags, uint64_t *flags)
{
    unsigned bits = 8 * size;
    uint64_t m = size_mask(size), msb = sign_bit(size), r;
    unsigned c = count & count_mask(size);
    bool cf = (rflags & X86_RFLAGS_CF) != 0, of;

    v &= m;
    *flags = rflags;
    if (c == 0)
        return v;
    switch (op) {
    case X86_OP_ROL: case X86_OP_ROR: {
        unsigned t = c % bits;
        if (op == X86_OP_ROL) {
            r = t ? ((v << t) | (v >> (bits - t))) & m : v;
            cf = r & 1;
            of = ((r & msb) != 0) != cf;
        } else {
            r = t ? ((v >> t) | (v << (bits - t))) & m : v;
            cf = (r & msb) != 0;
            of = ((r & msb) != 0) != ((r & (msb >> 1)) != 0);
        }
        *flags = (rflags & ~(X86_RFLAGS_CF | X86_RFLAGS_OF)) | (cf ? X86_RFLAGS_CF : 0) |
                 (of ? X86_RFLAGS_OF : 0);
        return r;
    }
    case X86_OP_RCL: case X86_OP_RCR: {
        unsigned t = size == 1 ? c % 9 : size == 2 ? c % 17 : c;
        r = v;
        of = op == X86_OP_RCR && (((r & msb) != 0) != cf);   /* before rotating */
        for (unsigned i = 0; i < t; i++) {
            bool out;
            if (op == X86_OP_RCL) {
                out = (r & msb) != 0;
                r = ((r << 1) | (cf ? 1 : 0)) & m;
            } else {
                out = r & 1;
                r = (r >> 1) | (cf ? msb : 0);
            }
            cf = out;
        }
        if (op == X86_OP_RCL)
            of = ((r & msb) != 0) != cf;
        *flags = (rflags & ~(X86_RFLAGS_CF | X86_RFLAGS_OF)) | (cf ? X86_RFLAGS_CF : 0) |
                 (of ? X86_RFLAGS_OF : 0);
        return r;
    }
    case X86_OP_SHL:
        r = c < bits ? (v << c) & m : 0;
        cf = c < bits ? (v >> (bits - c)) & 1 : c == bits ? v & 1 : 0;
        of = ((r & msb) != 0) != cf;
        break;
    case X86_OP_SHR:
        r = c < bits ? v >> c : 0;
        cf = c <= bits ? (v >> (c - 1)) & 1 : 0;
        of = (v & msb) != 0;
        break;
    default: { /* X86_OP_SAR */
        uint64_t sv = sign_extend(v, size);
        unsigned s = c < bits ? c : bits - 1;   /* beyond the size: all sign bits */
        r = (uint64_t)((int64_t)sv >> s) & m;
        cf = c < bits ? ((uint64_t)((int64_t)sv >> (c - 1)) & 1) : (v & msb) != 0;
        of = false;
        break;
    }
    }
    *flags = (rflags & ~X86_RFLAGS_STATUS) | szp(r, size) | (cf ? X86_RFLAGS_CF : 0) |
             (of ? X86_RFLAGS_OF : 0);
    return r;
}

/*
 * SHLD/SHRD (SDM Vol. 2B "SHLD", "SHRD"): the count is masked to 5 bits (6
 * with REX.W); 0 changes nothing. DEST is shifted and the vacated bits are
 * filled from SRC; CF is the last bit shifted out of DEST; SF ZF PF by the
 * result; OF for a count of 1: set when the sign changed (undefined
 * otherwise: here the same); AF undefined (cleared). A count above the
 * operand's bits (16-bit operands only) leaves result and flags undefined:
 * here the operands are taken as a DEST:SRC:DEST rotation.
 */
static uint64_t shift_double(x86_op_t op, unsigned size, uint64_t v, uint64_t src,
                             unsigned count, uint64_t rflags, uint64_t *flags)
{
    unsigned bits = 8 * size;
    uint64_t m = size_mask(size), msb = sign_bit(size), r;
    unsigned c = count & count_mask(size);
    bool cf;

    v &= m;
    src &= m;
    *flags = rflags;
    if (c == 0)
        return v;
    if (op == X86_OP_SHLD) {
        if (c < bits) {
            r = ((v << c) | (src >> (bits - c))) & m;
            cf = (v >> (bits - c)) & 1;
        } else if (c == bits) {
            r = src;
            cf = v & 1;
        } else {
            r = ((src << (c - bits)) | (v >> (2 * bits - c))) & m;
            cf = (src >> (2 * bits - c)) & 1;
        }
    } else {
        if (c < bits) {
            r = ((v >> c) | (src << (bits - c))) & m;
            cf = (v >> (c - 1)) & 1;
        } else if (c == bits) {
            r = src;
            cf = (v & msb) != 0;
        } else {
            r = ((src >> (c - bits)) | (v << (2 * bits - c))) & m;
            cf = (src >> (c - bits - 1)) & 1;
        }
    }
    bool of = ((r ^ v) & msb) != 0;
    *flags = (rflags & ~X86_RFLAGS_STATUS) | szp(r, size) | (cf ? X86_RFLAGS_CF : 0) |
             (of ? X86_RFLAGS_OF : 0);
    return r;
}

static x86_emu_status_t emulate_shift(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size;
    uint64_t mem, r, flags;
    x86_emu_status_t st;
    bool dbl = insn->op == X86_OP_SHLD || insn->op == X86_OP_SHRD;

    if (!e->env->wr || (!insn->count_cl && !insn->has_imm) ||
        (dbl && insn->reg_size != size))
        return X86_EMU_UNSUPPORTED;
    unsigned count = (unsigned)(insn->count_cl ? e->r.gpr[X86_RCX] & 0xFF : insn->imm & 0xFF);
    if ((st = dev_read(e, e->gpa, size, &mem)) != X86_EMU_OK)
        return st;
    if (dbl)
        r = shift_double(insn->op, size, mem, reg_read(&e->r, insn->reg, false, size), count,
                         e->r.rflags, &flags);
    else
        r = shift_rotate(insn->op, size, mem, count, e->r.rflags, &flags);
    if ((count & count_mask(size)) != 0 &&
        (st = dev_write(e, e->gpa, size, r)) != X86_EMU_OK)
        return st;
    e->r.rflags = flags;
    return X86_EMU_OK;
}

/*
 * BT BTS BTR BTC (SDM Vol. 2A "BT", "BTC", "BTR", "BTS"): CF gets the bit,
 * then BTS sets it, BTR clears it, BTC flips it; ZF is unaffected, OF SF AF
 * PF are undefined (here unchanged). An immediate bit offset is taken modulo
 * the operand's bits. A register offset is a signed number that may address
 * a bit outside the operand: the CPU then accesses the operand-sized unit at
 * EA + size * (offset SAR log2(bits)) ("bit base, bit offset" of Vol. 2A
 * 3.1.1.9 and the BT page), and `gpa` is that unit, where the EPT violation
 * happened; the bit inside it is the offset modulo the bits.
 */
static x86_emu_status_t emulate_bt(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size, bits = 8 * size;
    uint64_t mem, offset;
    x86_emu_status_t st;

    if (size < 2)
        return X86_EMU_UNSUPPORTED;
    if (insn->has_imm)
        offset = insn->imm;
    else if (insn->reg_size == size && !insn->reg_high_byte)
        offset = reg_read(&e->r, insn->reg, false, size);
    else
        return X86_EMU_UNSUPPORTED;
    if (insn->op != X86_OP_BT && !e->env->wr)
        return X86_EMU_UNSUPPORTED;
    uint64_t bit = (uint64_t)1 << (offset & (bits - 1));
    if ((st = dev_read(e, e->gpa, size, &mem)) != X86_EMU_OK)
        return st;
    bool cf = (mem & bit) != 0;
    uint64_t r = insn->op == X86_OP_BTS ? mem | bit : insn->op == X86_OP_BTR ? mem & ~bit
               : mem ^ bit;
    if (insn->op != X86_OP_BT && (st = dev_write(e, e->gpa, size, r)) != X86_EMU_OK)
        return st;
    e->r.rflags = (e->r.rflags & ~X86_RFLAGS_CF) | (cf ? X86_RFLAGS_CF : 0);
    return X86_EMU_OK;
}

/*
 * XCHG, CMPXCHG, XADD with memory (SDM Vol. 2B "XCHG": swap, no flags;
 * "CMPXCHG": compare the accumulator with DEST, flags as CMP accumulator,
 * DEST; equal: DEST := SRC; else the accumulator := DEST and DEST is written
 * back unchanged ("the destination operand is written back if the
 * comparison fails"); "XADD": TEMP := SRC + DEST, SRC := DEST, DEST := TEMP,
 * flags as ADD). A LOCK prefix does not make the device access atomic.
 */
static x86_emu_status_t emulate_exchange(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size;
    uint64_t mem, src, r, flags;
    x86_emu_status_t st;

    if (!e->env->wr || insn->reg_size != size)
        return X86_EMU_UNSUPPORTED;
    src = reg_read(&e->r, insn->reg, insn->reg_high_byte, size);
    if ((st = dev_read(e, e->gpa, size, &mem)) != X86_EMU_OK)
        return st;
    switch (insn->op) {
    case X86_OP_XCHG:
        if ((st = dev_write(e, e->gpa, size, src)) != X86_EMU_OK)
            return st;
        reg_write(&e->r, insn->reg, insn->reg_high_byte, size, mem);
        return X86_EMU_OK;
    case X86_OP_XADD:
        r = alu(X86_OP_ADD, size, mem, src, false, &flags);
        if ((st = dev_write(e, e->gpa, size, r)) != X86_EMU_OK)
            return st;
        reg_write(&e->r, insn->reg, insn->reg_high_byte, size, mem);
        set_status(e, flags);
        return X86_EMU_OK;
    default: /* X86_OP_CMPXCHG */
        alu(X86_OP_CMP, size, e->r.gpr[X86_RAX], mem, false, &flags);
        bool equal = (flags & X86_RFLAGS_ZF) != 0;
        if ((st = dev_write(e, e->gpa, size, equal ? src : mem)) != X86_EMU_OK)
            return st;
        if (!equal)
            reg_write(&e->r, X86_RAX, false, size, mem);
        set_status(e, flags);
        return X86_EMU_OK;
    }
}

/* ---- multiply and divide ---- */

/* 64 x 64 -> 128 bits, unsigned: the low half, *hi the high. */
static uint64_t mul64(uint64_t a, uint64_t b, uint64_t *hi)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return (mid << 32) | (uint32_t)ll;
}

/* The product of `size`-byte operands (signed or not) as hi:lo, each half
 * `size` bytes (the 128-bit one for size 8). */
static void product(unsigned size, bool is_signed, uint64_t a, uint64_t b, uint64_t *lo,
                    uint64_t *hi)
{
    uint64_t m = size_mask(size);
    if (size < 8) {
        uint64_t p = is_signed ? (uint64_t)((int64_t)sign_extend(a, size) *
                                            (int64_t)sign_extend(b, size))
                               : (a & m) * (b & m);
        *lo = p & m;
        *hi = (p >> (4 * size) >> (4 * size)) & m;
        return;
    }
    *lo = mul64(a, b, hi);
    if (is_signed)   /* two's complement: subtract the other factor for each negative one */
        *hi -= ((a >> 63) ? b : 0) + ((b >> 63) ? a : 0);
}

/* 128 / 64 bits, unsigned, when the quotient fits 64 bits (hi < d). */
static uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0;
    for (int i = 0; i < 64; i++) {
        bool top = (hi >> 63) != 0;
        hi = (hi << 1) | (lo >> 63);
        lo <<= 1;
        q <<= 1;
        if (top || hi >= d) {
            hi -= d;
            q |= 1;
        }
    }
    *rem = hi;
    return q;
}

/*
 * MUL, one-operand IMUL, DIV, IDIV with a memory operand (SDM Vol. 2A "DIV",
 * "IDIV", "IMUL", "MUL"): the other operand and the result are AL/AX, DX:AX,
 * EDX:EAX or RDX:RAX by the size (AX = AL * m8; AL, AH = AX / m8, AX % m8).
 * MUL/IMUL set CF = OF = whether the upper half is needed (zero for MUL, the
 * sign of the lower half for IMUL); SF ZF AF PF are undefined (here SF ZF PF
 * of the lower half, AF cleared). DIV/IDIV: a zero divisor or a quotient too
 * wide for the size is #DE; the quotient rounds toward zero and the
 * remainder takes the dividend's sign; all six flags are undefined (here
 * unchanged).
 */
static x86_emu_status_t emulate_muldiv(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size;
    uint64_t m = size_mask(size), src, lo, hi, q, r;
    x86_emu_status_t st;
    bool is_signed = insn->op == X86_OP_IMUL1 || insn->op == X86_OP_IDIV;

    if ((st = dev_read(e, e->gpa, size, &src)) != X86_EMU_OK)
        return st;
    /* The accumulator pair: AX for bytes, else rDX:rAX. */
    uint64_t a_lo = size == 1 ? e->r.gpr[X86_RAX] & 0xFF : e->r.gpr[X86_RAX] & m;
    uint64_t a_hi = size == 1 ? (e->r.gpr[X86_RAX] >> 8) & 0xFF : e->r.gpr[X86_RDX] & m;

    if (insn->op == X86_OP_MUL || insn->op == X86_OP_IMUL1) {
        product(size, is_signed, a_lo, src, &lo, &hi);
        bool wide = is_signed ? hi != ((lo & sign_bit(size)) ? m : 0) : hi != 0;
        q = lo;
        r = hi;
        e->r.rflags = (e->r.rflags & ~X86_RFLAGS_STATUS) | szp(lo, size) |
                      (wide ? X86_RFLAGS_CF | X86_RFLAGS_OF : 0);
    } else {
        if (src == 0)
            return raise(e, X86_VEC_DE, false, 0);
        if (!is_signed) {
            if (a_hi >= src)
                return raise(e, X86_VEC_DE, false, 0);   /* the quotient needs more bits */
            if (size == 8) {
                q = div128(a_hi, a_lo, src, &r);
            } else {
                uint64_t n = (a_hi << (8 * size)) | a_lo;
                q = n / src;
                r = n % src;
            }
        } else {
            bool neg_n = (a_hi & sign_bit(size)) != 0, neg_d = (src & sign_bit(size)) != 0;
            uint64_t d = neg_d ? (~src + 1) & m : src;
            uint64_t n_lo = a_lo, n_hi = a_hi;
            if (neg_n) {   /* |dividend|, 2 * size bytes */
                n_lo = (~a_lo + 1) & m;
                n_hi = (~a_hi + (n_lo == 0)) & m;
            }
            if (n_hi >= d)
                return raise(e, X86_VEC_DE, false, 0);
            if (size == 8) {
                q = div128(n_hi, n_lo, d, &r);
            } else {
                uint64_t n = (n_hi << (8 * size)) | n_lo;
                q = n / d;
                r = n % d;
            }
            /* The quotient's magnitude must fit the signed size. */
            if (q > (neg_n != neg_d ? sign_bit(size) : sign_bit(size) - 1))
                return raise(e, X86_VEC_DE, false, 0);
            if (neg_n != neg_d)
                q = ~q + 1;
            if (neg_n)
                r = ~r + 1;
        }
    }
    if (size == 1) {
        reg_write(&e->r, X86_RAX, false, 2, ((r & 0xFF) << 8) | (q & 0xFF));
    } else {
        reg_write(&e->r, X86_RAX, false, size, q);
        reg_write(&e->r, X86_RDX, false, size, r);
    }
    return X86_EMU_OK;
}

/* IMUL r, m and IMUL r, m, imm (SDM Vol. 2A "IMUL", two- and three-operand
 * forms): the product truncated to the size; CF = OF = whether it did not
 * fit; SF ZF AF PF undefined (here SF ZF PF of the result, AF cleared). */
static x86_emu_status_t emulate_imul(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size;
    uint64_t mem, lo, hi;
    x86_emu_status_t st;

    if (insn->reg_size != size || size < 2)
        return X86_EMU_UNSUPPORTED;
    if ((st = dev_read(e, e->gpa, size, &mem)) != X86_EMU_OK)
        return st;
    uint64_t other = insn->has_imm ? insn->imm : reg_read(&e->r, insn->reg, false, size);
    product(size, true, mem, other, &lo, &hi);
    bool wide = hi != ((lo & sign_bit(size)) ? size_mask(size) : 0);
    reg_write(&e->r, insn->reg, false, size, lo);
    e->r.rflags = (e->r.rflags & ~X86_RFLAGS_STATUS) | szp(lo, size) |
                  (wide ? X86_RFLAGS_CF | X86_RFLAGS_OF : 0);
    return X86_EMU_OK;
}

/* ---- conditions, bit counts, byte order ---- */

/* Condition `cc` (the low nibble of Jcc/SETcc/CMOVcc) on RFLAGS, SDM Vol. 1
 * Appendix B, Table B-1: O B E BE S P L LE by cc >> 1, negated when cc is odd. */
static bool condition(unsigned cc, uint64_t f)
{
    bool cf = f & X86_RFLAGS_CF, zf = f & X86_RFLAGS_ZF, sf = f & X86_RFLAGS_SF;
    bool of = f & X86_RFLAGS_OF, pf = f & X86_RFLAGS_PF, r;
    switch ((cc >> 1) & 7) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return (cc & 1) ? !r : r;
}

/*
 * SETcc m8 (SDM Vol. 2B "SETcc": 1 or 0, no flags); CMOVcc r, m (Vol. 2A
 * "CMOVcc": the source is read either way; a 32-bit destination is written
 * either way, so its upper half clears, "IF (OperandSize = 32 and IA-32e
 * mode active) THEN DEST[63:32] := 0").
 */
static x86_emu_status_t emulate_cc(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    bool cond = condition(insn->cc, e->r.rflags);
    uint64_t v;
    x86_emu_status_t st;

    if (insn->op == X86_OP_SETCC)
        return dev_write(e, e->gpa, 1, cond ? 1 : 0);
    if (insn->reg_size != insn->mem_size || insn->mem_size < 2)
        return X86_EMU_UNSUPPORTED;
    if ((st = dev_read(e, e->gpa, insn->mem_size, &v)) != X86_EMU_OK)
        return st;
    if (!cond)
        v = reg_read(&e->r, insn->reg, false, insn->mem_size);
    reg_write(&e->r, insn->reg, false, insn->mem_size, v);
    return X86_EMU_OK;
}

/*
 * BSF BSR (SDM Vol. 2A "BSF", "BSR": the index of the lowest/highest set
 * bit; a zero source sets ZF and leaves the destination undefined, here
 * unwritten; CF OF SF AF PF undefined, here unchanged), TZCNT LZCNT (Vol. 2B:
 * trailing/leading zeros, the operand's bits for a zero source; CF = source
 * is zero, ZF = result is zero; OF SF AF PF undefined, here unchanged),
 * POPCNT (Vol. 2B: the number of set bits; ZF = source is zero, OF SF AF CF
 * PF cleared).
 */
static x86_emu_status_t emulate_bitcount(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size, bits = 8 * size, low = 0, high = 0, ones = 0;
    uint64_t v, f = e->r.rflags;
    x86_emu_status_t st;

    if (insn->reg_size != size || size < 2)
        return X86_EMU_UNSUPPORTED;
    if ((st = dev_read(e, e->gpa, size, &v)) != X86_EMU_OK)
        return st;
    for (unsigned i = 0; i < bits; i++) {
        if (!((v >> i) & 1))
            continue;
        if (!ones)
            low = i;
        high = i;
        ones++;
    }
    uint64_t r;
    switch (insn->op) {
    case X86_OP_BSF: case X86_OP_BSR:
        f = (f & ~X86_RFLAGS_ZF) | (v == 0 ? X86_RFLAGS_ZF : 0);
        e->r.rflags = f;
        if (v != 0)
            reg_write(&e->r, insn->reg, false, size, insn->op == X86_OP_BSF ? low : high);
        return X86_EMU_OK;
    case X86_OP_TZCNT: case X86_OP_LZCNT:
        r = v == 0 ? bits : insn->op == X86_OP_TZCNT ? low : bits - 1 - high;
        f &= ~(X86_RFLAGS_CF | X86_RFLAGS_ZF);
        f |= (v == 0 ? X86_RFLAGS_CF : 0) | (r == 0 ? X86_RFLAGS_ZF : 0);
        break;
    default: /* X86_OP_POPCNT */
        r = ones;
        f = (f & ~X86_RFLAGS_STATUS) | (v == 0 ? X86_RFLAGS_ZF : 0);
        break;
    }
    reg_write(&e->r, insn->reg, false, size, r);
    e->r.rflags = f;
    return X86_EMU_OK;
}

static uint64_t byte_swap(uint64_t v, unsigned size)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < size; i++)
        r |= ((v >> (8 * i)) & 0xFF) << (8 * (size - 1 - i));
    return r;
}

/*
 * MOVBE (SDM Vol. 2B "MOVBE": the bytes reversed, no flags), MOVNTI (Vol. 2B:
 * a store; the non-temporal hint means nothing to a device), CMPXCHG8B
 * (Vol. 2A "CMPXCHG8B/CMPXCHG16B": EDX:EAX against m64; equal: ZF = 1 and
 * ECX:EBX is stored; else ZF = 0, EDX:EAX := m64 and m64 is written back;
 * the other flags unaffected).
 */
static x86_emu_status_t emulate_moves(emu_t *e)
{
    const x86_insn_t *insn = e->insn;
    unsigned size = insn->mem_size;
    uint64_t v;
    x86_emu_status_t st;

    if ((insn->op == X86_OP_MOVBE_LOAD || insn->op == X86_OP_MOVBE_STORE) && size < 2)
        return X86_EMU_UNSUPPORTED;
    switch (insn->op) {
    case X86_OP_MOVBE_LOAD:
        if ((st = dev_read(e, e->gpa, size, &v)) != X86_EMU_OK)
            return st;
        reg_write(&e->r, insn->reg, false, insn->reg_size, byte_swap(v, size));
        return X86_EMU_OK;
    case X86_OP_MOVBE_STORE:
        return dev_write(e, e->gpa, size, byte_swap(reg_read(&e->r, insn->reg, false, size), size));
    case X86_OP_MOVNTI:
        return dev_write(e, e->gpa, size, reg_read(&e->r, insn->reg, false, size));
    default: { /* X86_OP_CMPXCHG8B */
        if (size != 8)
            return X86_EMU_UNSUPPORTED;
        if ((st = dev_read(e, e->gpa, 8, &v)) != X86_EMU_OK)
            return st;
        uint64_t cmp = ((e->r.gpr[X86_RDX] & 0xFFFFFFFFull) << 32) |
                       (e->r.gpr[X86_RAX] & 0xFFFFFFFFull);
        bool equal = v == cmp;
        uint64_t store = equal ? ((e->r.gpr[X86_RCX] & 0xFFFFFFFFull) << 32) |
                                     (e->r.gpr[X86_RBX] & 0xFFFFFFFFull)
                               : v;
        if ((st = dev_write(e, e->gpa, 8, store)) != X86_EMU_OK)
            return st;
        if (!equal) {
            reg_write(&e->r, X86_RAX, false, 4, v);
            reg_write(&e->r, X86_RDX, false, 4, v >> 32);
        }
        e->r.rflags = (e->r.rflags & ~X86_RFLAGS_ZF) | (equal ? X86_RFLAGS_ZF : 0);
        return X86_EMU_OK;
    }
    }
}

/* ---- the stack and branches ---- */

/* Push `v` (n bytes) at SS:rSP - n; rSP moves at the stack's address size. */
static x86_emu_status_t push(emu_t *e, unsigned n, uint64_t v)
{
    unsigned sas = stack_addr_size(e->env);
    uint64_t top = (e->r.gpr[X86_RSP] - n) & size_mask(sas);
    x86_emu_status_t st = lin_access(e, X86_SEG_SS, top, n, true, &v);
    if (st == X86_EMU_OK)
        reg_write(&e->r, X86_RSP, false, sas, top);
    return st;
}

/*
 * PUSH m, POP m (SDM Vol. 2B "PUSH", "POP"): the stack operand is the
 * operand size (64 bits in 64-bit mode, 16 with 66); the stack address size
 * is 64 bits in 64-bit mode, else SS.B's. PUSH reads the operand, then
 * decrements rSP and writes; POP reads SS:rSP, writes the operand, then
 * increments rSP. Stack faults are #SS(0).
 */
static x86_emu_status_t emulate_stack(emu_t *e)
{
    unsigned n = e->insn->mem_size, sas = stack_addr_size(e->env);
    uint64_t v;
    x86_emu_status_t st;

    if (e->insn->op == X86_OP_PUSH) {
        if ((st = dev_read(e, e->gpa, n, &v)) != X86_EMU_OK)
            return st;
        return push(e, n, v);
    }
    uint64_t rsp = e->r.gpr[X86_RSP] & size_mask(sas);
    if ((st = lin_access(e, X86_SEG_SS, rsp, n, false, &v)) != X86_EMU_OK ||
        (st = dev_write(e, e->gpa, n, v)) != X86_EMU_OK)
        return st;
    reg_write(&e->r, X86_RSP, false, sas, rsp + n);
    return X86_EMU_OK;
}

/*
 * CALL/JMP near, indirect through memory (SDM Vol. 2A "CALL", "JMP", near
 * forms): the target is the memory operand (its operand size; a 16-bit one
 * clears EIP's upper half). In 64-bit mode a non-canonical target is
 * #GP(0); elsewhere one beyond the CS limit is #GP(0). CALL first pushes the
 * return address (the next instruction's offset, operand-sized).
 */
static x86_emu_status_t emulate_branch(emu_t *e, uint64_t *new_rip)
{
    const x86_env_t *env = e->env;
    unsigned n = e->insn->mem_size;
    uint64_t target;
    x86_emu_status_t st;

    if ((st = dev_read(e, e->gpa, n, &target)) != X86_EMU_OK)
        return st;
    if (env->mode == X86_MODE_64 ? !x86_canonical(target) : target > env->cs_limit)
        return raise(e, X86_VEC_GP, true, 0);
    if (e->insn->op == X86_OP_CALL_IND) {
        uint64_t ret = (e->r.rip + e->insn->length) & ip_mask(env->mode);
        if ((st = push(e, n, ret)) != X86_EMU_OK)
            return st;
    }
    *new_rip = target;
    return X86_EMU_OK;
}

/* ---- dispatch ---- */

/* Does the instruction name a general register in ModRM.reg (or the
 * accumulator)? Then it must be a valid one. */
static bool uses_reg(const x86_insn_t *insn)
{
    switch (insn->op) {
    case X86_OP_MOV_LOAD: case X86_OP_MOV_STORE: case X86_OP_MOVZX: case X86_OP_MOVSX:
    case X86_OP_XCHG: case X86_OP_XADD: case X86_OP_CMPXCHG:
    case X86_OP_SHLD: case X86_OP_SHRD: case X86_OP_IMUL: case X86_OP_CMOVCC:
    case X86_OP_BSF: case X86_OP_BSR: case X86_OP_TZCNT: case X86_OP_LZCNT: case X86_OP_POPCNT:
    case X86_OP_MOVBE_LOAD: case X86_OP_MOVBE_STORE: case X86_OP_MOVNTI:
        return true;
    case X86_OP_BT: case X86_OP_BTS: case X86_OP_BTR: case X86_OP_BTC:
    case X86_OP_AND: case X86_OP_OR: case X86_OP_XOR: case X86_OP_ADD: case X86_OP_SUB:
    case X86_OP_CMP: case X86_OP_TEST: case X86_OP_ADC: case X86_OP_SBB:
        return !insn->has_imm;
    default:
        return false;
    }
}

static x86_emu_status_t run(emu_t *e, uint64_t *new_rip)
{
    const x86_insn_t *insn = e->insn;
    uint64_t v;
    x86_emu_status_t st;

    switch (insn->op) {
    case X86_OP_MOV_LOAD:
        if ((st = dev_read(e, e->gpa, insn->mem_size, &v)) != X86_EMU_OK)
            return st;
        reg_write(&e->r, insn->reg, insn->reg_high_byte, insn->reg_size, v);
        return X86_EMU_OK;
    case X86_OP_MOV_STORE:
        return dev_write(e, e->gpa, insn->mem_size,
                         reg_read(&e->r, insn->reg, insn->reg_high_byte, insn->mem_size));
    case X86_OP_MOV_STORE_IMM:
        if (!insn->has_imm)
            return X86_EMU_UNSUPPORTED;
        return dev_write(e, e->gpa, insn->mem_size, insn->imm);
    case X86_OP_MOVZX:
    case X86_OP_MOVSX:
        if ((st = dev_read(e, e->gpa, insn->mem_size, &v)) != X86_EMU_OK)
            return st;
        if (insn->op == X86_OP_MOVSX)
            v = sign_extend(v, insn->mem_size);
        reg_write(&e->r, insn->reg, false, insn->reg_size, v);
        return X86_EMU_OK;
    case X86_OP_STOS: case X86_OP_LODS: case X86_OP_SCAS: case X86_OP_MOVS: case X86_OP_CMPS:
        return emulate_string(e);
    case X86_OP_XCHG: case X86_OP_XADD: case X86_OP_CMPXCHG:
        return emulate_exchange(e);
    case X86_OP_AND: case X86_OP_OR: case X86_OP_XOR: case X86_OP_ADD: case X86_OP_SUB:
    case X86_OP_CMP: case X86_OP_TEST: case X86_OP_ADC: case X86_OP_SBB:
        return emulate_alu(e);
    case X86_OP_INC: case X86_OP_DEC: case X86_OP_NOT: case X86_OP_NEG:
        return emulate_unary(e);
    case X86_OP_ROL: case X86_OP_ROR: case X86_OP_RCL: case X86_OP_RCR:
    case X86_OP_SHL: case X86_OP_SHR: case X86_OP_SAR: case X86_OP_SHLD: case X86_OP_SHRD:
        return emulate_shift(e);
    case X86_OP_BT: case X86_OP_BTS: case X86_OP_BTR: case X86_OP_BTC:
        return emulate_bt(e);
    case X86_OP_PUSH: case X86_OP_POP:
        return emulate_stack(e);
    case X86_OP_CALL_IND: case X86_OP_JMP_IND:
        return emulate_branch(e, new_rip);
    case X86_OP_MUL: case X86_OP_IMUL1: case X86_OP_DIV: case X86_OP_IDIV:
        return emulate_muldiv(e);
    case X86_OP_IMUL:
        return emulate_imul(e);
    case X86_OP_SETCC: case X86_OP_CMOVCC:
        return emulate_cc(e);
    case X86_OP_BSF: case X86_OP_BSR: case X86_OP_TZCNT: case X86_OP_LZCNT: case X86_OP_POPCNT:
        return emulate_bitcount(e);
    case X86_OP_MOVBE_LOAD: case X86_OP_MOVBE_STORE: case X86_OP_MOVNTI: case X86_OP_CMPXCHG8B:
        return emulate_moves(e);
    default:   /* X86_OP_NONE */
        return X86_EMU_UNSUPPORTED;
    }
}

x86_emu_status_t x86_emulate(const x86_insn_t *insn, x86_regs_t *regs, const x86_env_t *env,
                             uint64_t gpa, x86_fault_t *fault)
{
    x86_fault_t scratch;
    if (!insn || !regs || !env || !valid_size(insn->mem_size) || insn->length == 0 ||
        insn->length > X86_MAX_INSN_LEN)
        return X86_EMU_UNSUPPORTED;
    if (env->mode != X86_MODE_16 && env->mode != X86_MODE_32 && env->mode != X86_MODE_64)
        return X86_EMU_UNSUPPORTED;
    if (insn->reg_high_byte && (insn->reg < X86_RAX || insn->reg > X86_RBX ||
                                insn->reg_size != 1))
        return X86_EMU_UNSUPPORTED;   /* AH..BH live in rax..rbx only */
    if (uses_reg(insn) && (insn->reg < 0 || insn->reg > 15 || !valid_size(insn->reg_size)))
        return X86_EMU_UNSUPPORTED;

    emu_t e = { .insn = insn, .env = env, .r = *regs, .gpa = gpa,
                .fault = fault ? fault : &scratch };
    uint64_t new_rip = (regs->rip + insn->length) & ip_mask(env->mode);
    x86_emu_status_t st = run(&e, &new_rip);
    if (st != X86_EMU_OK)
        return st;
    /* A REP string instruction with elements left runs again: RIP stays. */
    if (x86_emulate_rep_pending(insn, &e.r))
        new_rip = regs->rip;
    e.r.rip = new_rip;
    *regs = e.r;
    return X86_EMU_OK;
}

x86_emu_status_t x86_emulate_mmio(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                  x86_mmio_read_fn rd, x86_mmio_write_fn wr, void *ctx)
{
    x86_env_t env = { .mode = X86_MODE_64, .stack_addr_size = 8, .cs_limit = ~(uint64_t)0,
                      .rd = rd, .wr = wr, .dev = ctx };
    x86_fault_t fault;
    return x86_emulate(insn, regs, &env, gpa, &fault);
}

bool x86_emulate_rep_pending(const x86_insn_t *insn, const x86_regs_t *regs)
{
    if (!insn || !regs || !insn->rep)
        return false;
    if (insn->op != X86_OP_STOS && insn->op != X86_OP_MOVS && insn->op != X86_OP_LODS &&
        insn->op != X86_OP_SCAS && insn->op != X86_OP_CMPS)
        return false;
    if (!valid_size(insn->addr_size) || insn->addr_size == 1)
        return false;
    if ((regs->gpr[X86_RCX] & size_mask(insn->addr_size)) == 0)
        return false;
    if (insn->op == X86_OP_SCAS || insn->op == X86_OP_CMPS) {
        bool zf = (regs->rflags & X86_RFLAGS_ZF) != 0;
        return insn->repne ? !zf : zf;   /* REPNE stops on equal, REPE on unequal */
    }
    return true;
}

const char *x86_emu_status_str(x86_emu_status_t st)
{
    switch (st) {
    case X86_EMU_OK: return "ok";
    case X86_EMU_UNSUPPORTED: return "unsupported";
    case X86_EMU_DEVICE_ERROR: return "device error";
    case X86_EMU_FAULT: return "fault";
    }
    return "unknown";
}
