/*
 * vmm-server/decode/x86_emulate.c - execute a decoded MMIO access (see
 * x86_emulate.h). Register-write rules (SDM Vol. 1 3.4.1.1): 64-bit writes
 * replace the register, 32-bit writes zero bits 63:32, 16- and 8-bit writes
 * keep the other bits, AH/CH/DH/BH are bits 15:8. The 32-bit rule is applied
 * in every mode: outside 64-bit mode bits 63:32 are not architecturally
 * visible. Status flags follow SDM Vol. 1 3.4.3.1 and the instruction pages
 * of Vol. 2A/2B (AND/OR/XOR/TEST clear CF and OF; AF, undefined there, is
 * cleared; ADC/SBB take CF in; INC/DEC keep CF; NEG sets CF = (operand != 0);
 * NOT changes no flag).
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

/* Write an index/count register (RSI RDI RCX) at the address size. */
static void addr_reg_write(x86_regs_t *regs, int reg, unsigned addr_size, uint64_t v)
{
    reg_write(regs, reg, false, addr_size, v);
}

static x86_emu_status_t emulate_stos(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                     x86_mmio_write_fn wr, void *ctx)
{
    unsigned as = insn->addr_size;
    if (!wr || !valid_size(as) || as == 1)
        return X86_EMU_UNSUPPORTED;
    uint64_t amask = size_mask(as);
    uint64_t count = regs->gpr[X86_RCX] & amask;
    if (insn->rep && count == 0)
        return X86_EMU_OK;   /* REP with (E/R)CX = 0: no iteration */

    if (!wr(ctx, gpa, insn->mem_size, regs->gpr[X86_RAX] & size_mask(insn->mem_size)))
        return X86_EMU_DEVICE_ERROR;

    /* DF = 1 walks down (SDM Vol. 1 3.4.3.2, Vol. 2B STOS). */
    uint64_t rdi = regs->gpr[X86_RDI];
    rdi = (regs->rflags & X86_RFLAGS_DF) ? rdi - insn->mem_size : rdi + insn->mem_size;
    addr_reg_write(regs, X86_RDI, as, rdi);
    if (insn->rep)
        addr_reg_write(regs, X86_RCX, as, count - 1);
    return X86_EMU_OK;
}

static x86_emu_status_t emulate_alu(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                    x86_mmio_read_fn rd, x86_mmio_write_fn wr, void *ctx)
{
    unsigned size = insn->mem_size;
    uint64_t mem, src, flags, r;
    bool write_mem = insn->op != X86_OP_CMP && insn->op != X86_OP_TEST && !insn->reg_dest;

    if (!rd || (write_mem && !wr))
        return X86_EMU_UNSUPPORTED;
    if (insn->has_imm) {
        if (insn->reg_dest)
            return X86_EMU_UNSUPPORTED;
        src = insn->imm;
    } else {
        if (insn->reg < 0 || insn->reg > 15 || insn->reg_size != size)
            return X86_EMU_UNSUPPORTED;
        src = reg_read(regs, insn->reg, insn->reg_high_byte, size);
    }
    if (!rd(ctx, gpa, size, &mem))
        return X86_EMU_DEVICE_ERROR;

    bool carry = (regs->rflags & X86_RFLAGS_CF) != 0;   /* ADC, SBB */
    if (insn->reg_dest)   /* reg = reg op mem (02/03, 0A/0B, ...): the register comes first */
        r = alu(insn->op, size, src, mem, carry, &flags);
    else
        r = alu(insn->op, size, mem, src, carry, &flags);

    if (write_mem && !wr(ctx, gpa, size, r))
        return X86_EMU_DEVICE_ERROR;
    if (insn->reg_dest && insn->op != X86_OP_CMP && insn->op != X86_OP_TEST)
        reg_write(regs, insn->reg, insn->reg_high_byte, size, r);
    regs->rflags = (regs->rflags & ~X86_RFLAGS_STATUS) | flags;
    return X86_EMU_OK;
}

/* INC DEC NOT NEG: the memory operand is read, changed and written back.
 * SDM Vol. 2A "INC", "DEC": DEST := DEST +/- 1; CF is not affected, OF SF ZF AF
 * PF are set according to the result (so: ADD/SUB of 1 with the old CF kept).
 * Vol. 2B "NEG": DEST := 0 - DEST, "IF DEST = 0 THEN CF := 0 ELSE CF := 1";
 * OF SF ZF AF PF according to the result (so: SUB from 0, whose CF is exactly
 * that). Vol. 2B "NOT": DEST := NOT DEST; "Flags Affected: None". */
static x86_emu_status_t emulate_unary(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                      x86_mmio_read_fn rd, x86_mmio_write_fn wr, void *ctx)
{
    unsigned size = insn->mem_size;
    uint64_t mem, r, flags, keep = ~X86_RFLAGS_STATUS;

    if (!rd || !wr)
        return X86_EMU_UNSUPPORTED;
    if (!rd(ctx, gpa, size, &mem))
        return X86_EMU_DEVICE_ERROR;
    switch (insn->op) {
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
    if (!wr(ctx, gpa, size, r))
        return X86_EMU_DEVICE_ERROR;
    regs->rflags = (regs->rflags & keep) | (flags & ~keep);
    return X86_EMU_OK;
}

x86_emu_status_t x86_emulate_mmio(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                  x86_mmio_read_fn rd, x86_mmio_write_fn wr, void *ctx)
{
    if (!insn || !regs || !valid_size(insn->mem_size))
        return X86_EMU_UNSUPPORTED;
    if (insn->reg_high_byte && (insn->reg < X86_RAX || insn->reg > X86_RBX))
        return X86_EMU_UNSUPPORTED;   /* AH..BH live in rax..rbx only */
    bool needs_reg = insn->op == X86_OP_MOV_LOAD || insn->op == X86_OP_MOV_STORE ||
                     insn->op == X86_OP_MOVZX || insn->op == X86_OP_MOVSX ||
                     insn->op == X86_OP_XCHG;
    if (needs_reg && (insn->reg < 0 || insn->reg > 15 || !valid_size(insn->reg_size) ||
                      (insn->reg_high_byte && insn->reg_size != 1)))
        return X86_EMU_UNSUPPORTED;

    uint64_t v;
    switch (insn->op) {
    case X86_OP_MOV_LOAD:
        if (!rd)
            return X86_EMU_UNSUPPORTED;
        if (!rd(ctx, gpa, insn->mem_size, &v))
            return X86_EMU_DEVICE_ERROR;
        reg_write(regs, insn->reg, insn->reg_high_byte, insn->reg_size,
                  v & size_mask(insn->mem_size));
        return X86_EMU_OK;
    case X86_OP_MOV_STORE:
        if (!wr)
            return X86_EMU_UNSUPPORTED;
        v = reg_read(regs, insn->reg, insn->reg_high_byte, insn->mem_size);
        return wr(ctx, gpa, insn->mem_size, v) ? X86_EMU_OK : X86_EMU_DEVICE_ERROR;
    case X86_OP_MOV_STORE_IMM:
        if (!wr || !insn->has_imm)
            return X86_EMU_UNSUPPORTED;
        return wr(ctx, gpa, insn->mem_size, insn->imm & size_mask(insn->mem_size))
                   ? X86_EMU_OK : X86_EMU_DEVICE_ERROR;
    case X86_OP_MOVZX:
    case X86_OP_MOVSX:
        if (!rd)
            return X86_EMU_UNSUPPORTED;
        if (!rd(ctx, gpa, insn->mem_size, &v))
            return X86_EMU_DEVICE_ERROR;
        v = insn->op == X86_OP_MOVSX ? sign_extend(v, insn->mem_size)
                                     : v & size_mask(insn->mem_size);
        reg_write(regs, insn->reg, false, insn->reg_size, v);
        return X86_EMU_OK;
    case X86_OP_STOS:
        return emulate_stos(insn, regs, gpa, wr, ctx);
    case X86_OP_XCHG: {
        /* SDM Vol. 2B XCHG: the register gets the memory operand and the
         * memory the register; no flags. */
        if (!rd || !wr || insn->reg_size != insn->mem_size)
            return X86_EMU_UNSUPPORTED;
        uint64_t r = reg_read(regs, insn->reg, insn->reg_high_byte, insn->mem_size);
        if (!rd(ctx, gpa, insn->mem_size, &v) || !wr(ctx, gpa, insn->mem_size, r))
            return X86_EMU_DEVICE_ERROR;
        reg_write(regs, insn->reg, insn->reg_high_byte, insn->reg_size,
                  v & size_mask(insn->mem_size));
        return X86_EMU_OK;
    }
    case X86_OP_AND: case X86_OP_OR: case X86_OP_XOR: case X86_OP_ADD: case X86_OP_SUB:
    case X86_OP_CMP: case X86_OP_TEST: case X86_OP_ADC: case X86_OP_SBB:
        return emulate_alu(insn, regs, gpa, rd, wr, ctx);
    case X86_OP_INC: case X86_OP_DEC: case X86_OP_NOT: case X86_OP_NEG:
        return emulate_unary(insn, regs, gpa, rd, wr, ctx);
    default:   /* X86_OP_NONE; MOVS, PUSH, POP (their other side is guest memory) */
        return X86_EMU_UNSUPPORTED;
    }
}

bool x86_emulate_rep_pending(const x86_insn_t *insn, const x86_regs_t *regs)
{
    if (!insn || !regs || !insn->rep || (insn->op != X86_OP_STOS && insn->op != X86_OP_MOVS))
        return false;
    if (!valid_size(insn->addr_size) || insn->addr_size == 1)
        return false;
    return (regs->gpr[X86_RCX] & size_mask(insn->addr_size)) != 0;
}

const char *x86_emu_status_str(x86_emu_status_t st)
{
    switch (st) {
    case X86_EMU_OK: return "ok";
    case X86_EMU_UNSUPPORTED: return "unsupported";
    case X86_EMU_DEVICE_ERROR: return "device error";
    }
    return "unknown";
}
