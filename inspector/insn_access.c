/*
 * inspector/insn_access.c - the guest-linear bytes an instruction reads
 * and writes (insn_access.h).
 */
#include "insn_access.h"
#include "dregs.h"

/* One-byte opcodes whose only memory access is the stack (SDM Vol. 2A
 * Table A-2), which the VMM's decoder does not take (no MMIO operand). */
#define OPC_PUSH_R_FIRST  0x50    /* 50+r PUSH r */
#define OPC_POP_R_FIRST   0x58    /* 58+r POP r */
#define OPC_REG_COUNT     8
#define OPC_PUSH_IZ       0x68
#define OPC_PUSH_IB       0x6A
#define OPC_POPF          0x9D
#define OPC_RET_IW        0xC2
#define OPC_RET           0xC3
#define OPC_LEAVE         0xC9
#define OPC_CALL_REL      0xE8

/* Whether the ModRM/moffs operand of @d is read and whether it is written
 * (each instruction's "Operation" in SDM Vol. 2A-2B). */
static void operand_kind(const x86_insn_t *d, bool *read, bool *write)
{
    *read = true;
    *write = false;
    switch (d->op) {
    case X86_OP_MOV_STORE: case X86_OP_MOV_STORE_IMM: case X86_OP_SETCC:
    case X86_OP_MOVBE_STORE: case X86_OP_MOVNTI: case X86_OP_POP:
        *read = false;
        *write = true;
        break;
    case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB: case X86_OP_AND:
    case X86_OP_SUB: case X86_OP_XOR:
        *write = !d->reg_dest;     /* r/m, reg and r/m, imm forms write memory */
        break;
    case X86_OP_INC: case X86_OP_DEC: case X86_OP_NOT: case X86_OP_NEG:
    case X86_OP_ROL: case X86_OP_ROR: case X86_OP_RCL: case X86_OP_RCR: case X86_OP_SHL:
    case X86_OP_SHR: case X86_OP_SAR: case X86_OP_SHLD: case X86_OP_SHRD:
    case X86_OP_BTS: case X86_OP_BTR: case X86_OP_BTC: case X86_OP_XCHG: case X86_OP_XADD:
    /* CMPXCHG and CMPXCHG8B write the destination either way (SDM Vol. 2A:
     * "the destination operand is written back if the comparison fails"). */
    case X86_OP_CMPXCHG: case X86_OP_CMPXCHG8B:
        *write = true;
        break;
    default:                      /* loads, compares, multiplies, PUSH/CALL/JMP sources */
        break;
    }
}

static uint64_t width_mask(unsigned bytes)
{
    return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

/* Guest-linear address of @off in segment @seg (SDM Vol. 3A 3.4: base +
 * offset; in 64-bit mode the bases of ES, CS, SS and DS count as 0,
 * 3.4.4; elsewhere addresses are 32 bits wide). */
static uint64_t lin_of(const insn_cpu_t *cpu, int seg, uint64_t off)
{
    if (seg < X86_SEG_ES || seg > X86_SEG_GS)
        seg = X86_SEG_DS;
    if (cpu->mode == X86_MODE_64)
        return seg == X86_SEG_FS || seg == X86_SEG_GS ? cpu->seg_base[seg] + off : off;
    return (uint32_t)(cpu->seg_base[seg] + off);
}

/* The stack slot @delta bytes from rSP, in the stack's address size. */
static uint64_t stack_lin(const insn_cpu_t *cpu, int64_t delta)
{
    const uint64_t sp = (cpu->gpr[X86_RSP] + (uint64_t)delta) & width_mask(cpu->stack_size);
    return lin_of(cpu, X86_SEG_SS, sp);
}

static void put(insn_access_t *out, int *n, uint64_t lin, unsigned len, bool read, bool write)
{
    out[*n] = (insn_access_t){ .lin = lin, .len = len, .read = read, .write = write };
    (*n)++;
}

/* log2 of a power of two up to 8 bytes' bits. */
static unsigned log2_bits(unsigned bytes)
{
    unsigned l = 3;               /* 8 bits a byte */
    for (unsigned b = bytes; b > 1; b >>= 1)
        l++;
    return l;
}

/*
 * The stack access of an instruction the decoder does not take: PUSH and
 * POP of a register or an immediate, PUSHF/POPF, near CALL and RET, LEAVE
 * (SDM Vol. 2A-2B, each instruction's Operation). The stack operand is
 * the operand size (66 toggles it; in 64-bit mode 8 bytes, 2 with 66),
 * near CALL and RET's 8 bytes in 64-bit mode whatever 66 says (2.2.1.7);
 * LEAVE pops rBP from where rBP points. -1 for any other instruction.
 */
static int stack_access(const uint8_t *code, size_t avail, const insn_cpu_t *cpu,
                        insn_access_t *out)
{
    const bool m64 = cpu->mode == X86_MODE_64;
    bool opsize_pfx = false;
    size_t i = 0;
    for (; i < avail && i < X86_MAX_INSN_LEN && dregs_is_prefix(code[i], m64); i++)
        opsize_pfx |= code[i] == DREGS_OP_OPSIZE;
    if (i >= avail || i >= X86_MAX_INSN_LEN)
        return -1;
    const unsigned def = m64 ? 8 : cpu->mode == X86_MODE_32 ? 4 : 2;
    const unsigned size = !opsize_pfx ? def : m64 || def == 4 ? 2 : 4;
    const unsigned branch = m64 ? 8 : size;
    int n = 0;
    const uint8_t op = code[i];
    if ((op >= OPC_PUSH_R_FIRST && op < OPC_PUSH_R_FIRST + OPC_REG_COUNT) ||
        op == OPC_PUSH_IZ || op == OPC_PUSH_IB || op == DREGS_OP_PUSHF)
        put(out, &n, stack_lin(cpu, -(int64_t)size), size, false, true);
    else if ((op >= OPC_POP_R_FIRST && op < OPC_POP_R_FIRST + OPC_REG_COUNT) ||
             op == OPC_POPF)
        put(out, &n, stack_lin(cpu, 0), size, true, false);
    else if (op == OPC_CALL_REL)
        put(out, &n, stack_lin(cpu, -(int64_t)branch), branch, false, true);
    else if (op == OPC_RET || op == OPC_RET_IW)
        put(out, &n, stack_lin(cpu, 0), branch, true, false);
    else if (op == OPC_LEAVE)
        put(out, &n, lin_of(cpu, X86_SEG_SS, cpu->gpr[X86_RBP] & width_mask(cpu->stack_size)),
            size, true, false);
    else
        return -1;
    return n;
}

int insn_accesses(const uint8_t *code, size_t avail, const insn_cpu_t *cpu,
                  insn_access_t out[INSN_ACCESS_MAX])
{
    x86_insn_t d;
    if (!cpu || !code)
        return -1;
    if (x86_decode(code, avail, cpu->mode, &d) != X86_DECODE_OK)
        return stack_access(code, avail, cpu, out);
    const uint64_t amask = width_mask(d.addr_size);
    const unsigned size = d.mem_size;
    int n = 0;
    bool read, write;
    operand_kind(&d, &read, &write);

    if (!d.has_ea) {
        /* String instructions (SDM Vol. 2B MOVS, CMPS, STOS, LODS, SCAS):
         * the element at DS:rSI (a prefix may change DS) and/or at ES:rDI
         * (ES always), in the address size; with REP none once rCX is 0. */
        if (d.op != X86_OP_MOVS && d.op != X86_OP_CMPS && d.op != X86_OP_STOS &&
            d.op != X86_OP_LODS && d.op != X86_OP_SCAS)
            return -1;
        if (d.rep && !(cpu->gpr[X86_RCX] & amask))
            return 0;
        const int src_seg = d.seg_override >= 0 ? d.seg_override : X86_SEG_DS;
        const uint64_t src = lin_of(cpu, src_seg, cpu->gpr[X86_RSI] & amask);
        const uint64_t dst = lin_of(cpu, X86_SEG_ES, cpu->gpr[X86_RDI] & amask);
        if (d.op == X86_OP_MOVS || d.op == X86_OP_CMPS || d.op == X86_OP_LODS)
            put(out, &n, src, size, true, false);
        if (d.op != X86_OP_LODS)
            put(out, &n, dst, size, d.op != X86_OP_STOS && d.op != X86_OP_MOVS,
                d.op == X86_OP_STOS || d.op == X86_OP_MOVS);
        return n;
    }

    uint64_t gpr[16];
    for (unsigned r = 0; r < 16; r++)
        gpr[r] = cpu->gpr[r];
    /* SDM Vol. 2B POP: with rSP as the base of the destination, its
     * address is computed after rSP is incremented. */
    if (d.op == X86_OP_POP && d.ea_base == X86_RSP)
        gpr[X86_RSP] = (gpr[X86_RSP] + size) & width_mask(cpu->stack_size);
    uint64_t off;
    if (!x86_decode_ea(&d, gpr, cpu->rip + d.length, &off))
        return -1;
    if ((d.op == X86_OP_BT || d.op == X86_OP_BTS || d.op == X86_OP_BTR ||
         d.op == X86_OP_BTC) && !d.has_imm && d.reg >= 0) {
        /* SDM Vol. 2A BT: a register bit offset is signed and may address
         * outside the operand: the unit at EA + size * (offset SAR
         * log2(bits)). */
        const unsigned bits = 8 * size;
        int64_t bit = (int64_t)(cpu->gpr[d.reg] << (64 - bits)) >> (64 - bits);
        off = (off + (uint64_t)((bit >> log2_bits(size)) * (int64_t)size)) & amask;
    }
    put(out, &n, lin_of(cpu, d.ea_seg, off), size, read, write);

    /* The stack (SDM Vol. 2B PUSH, POP; Vol. 2A CALL): PUSH and CALL store
     * below rSP (CALL's return address: 8 bytes in 64-bit mode, else the
     * operand size), POP reads at rSP. */
    if (d.op == X86_OP_PUSH || d.op == X86_OP_CALL_IND)
        put(out, &n, stack_lin(cpu, -(int64_t)size), size, false, true);
    else if (d.op == X86_OP_POP)
        put(out, &n, stack_lin(cpu, 0), size, true, false);
    return n;
}
