/*
 * vmm-server/decode/x86_decode.c - length and operand decoder for the x86
 * instructions that access MMIO (see x86_decode.h).
 *
 * Instruction layout (SDM Vol. 2A 2.1, Figure 2-1):
 *   legacy prefixes | REX (64-bit mode) | opcode (1-2 bytes) | ModRM | SIB |
 *   displacement | immediate
 * The bytes are untrusted guest memory: every byte is fetched through need(),
 * which refuses to go past `avail` (TRUNCATED) or past 15 bytes (INVALID).
 */
#include "x86_decode.h"

/* Legacy prefixes (SDM Vol. 2A 2.1.1). */
#define PFX_LOCK      0xF0   /* group 1 */
#define PFX_REPNE     0xF2   /* group 1 */
#define PFX_REP       0xF3   /* group 1 */
#define PFX_SEG_ES    0x26   /* group 2 */
#define PFX_SEG_CS    0x2E
#define PFX_SEG_SS    0x36
#define PFX_SEG_DS    0x3E
#define PFX_SEG_FS    0x64
#define PFX_SEG_GS    0x65
#define PFX_OPSIZE    0x66   /* group 3 */
#define PFX_ADDRSIZE  0x67   /* group 4 */

/* REX prefix 0100WRXB, 64-bit mode only (SDM Vol. 2A 2.2.1, Table 2-4). */
#define REX_MASK      0xF0
#define REX_BASE      0x40
#define REX_W         0x08   /* 64-bit operand size */
#define REX_R         0x04   /* extends ModRM.reg */
#define REX_X         0x02   /* extends SIB.index */
#define REX_B         0x01   /* extends ModRM.rm / SIB.base */

/* One-byte opcodes (SDM Vol. 2A Appendix A, Table A-2). */
#define OP_ALU_LAST    0x3F  /* 00-3F: eight ALU groups of 8 opcodes, group = opcode >> 3 */
#define OP_ALU_FORM    0x07  /* low 3 bits: 0 Eb,Gb  1 Ev,Gv  2 Gb,Eb  3 Gv,Ev */
#define OP_ALU_EB_GB   0
#define OP_ALU_EV_GV   1
#define OP_ALU_GB_EB   2
#define OP_ALU_GV_EV   3
#define OP_MOVSXD      0x63  /* 64-bit mode; ARPL elsewhere */
#define OP_GRP1_EB_IB  0x80
#define OP_GRP1_EV_IZ  0x81
#define OP_GRP1_EV_IB  0x83
#define OP_TEST_EB_GB  0x84
#define OP_TEST_EV_GV  0x85
#define OP_XCHG_EB_GB  0x86
#define OP_XCHG_EV_GV  0x87
#define OP_MOV_EB_GB   0x88
#define OP_MOV_EV_GV   0x89
#define OP_MOV_GB_EB   0x8A
#define OP_MOV_GV_EV   0x8B
#define OP_MOV_AL_OB   0xA0  /* moffs forms (SDM Vol. 2A 2.2.1.4) */
#define OP_MOV_AX_OV   0xA1
#define OP_MOV_OB_AL   0xA2
#define OP_MOV_OV_AX   0xA3
#define OP_MOVSB       0xA4
#define OP_MOVSV       0xA5
#define OP_CMPSB       0xA6
#define OP_CMPSV       0xA7
#define OP_STOSB       0xAA
#define OP_STOSV       0xAB
#define OP_LODSB       0xAC
#define OP_LODSV       0xAD
#define OP_SCASB       0xAE
#define OP_SCASV       0xAF
#define OP_IMUL_GV_EV_IZ 0x69
#define OP_IMUL_GV_EV_IB 0x6B
#define OP_GRP2_EB_IB  0xC0  /* group 2: shifts and rotates (Table A-6) by imm8 */
#define OP_GRP2_EV_IB  0xC1
#define OP_GRP2_EB_1   0xD0  /* ... by 1 */
#define OP_GRP2_EV_1   0xD1
#define OP_GRP2_EB_CL  0xD2  /* ... by CL */
#define OP_GRP2_EV_CL  0xD3
#define OP_GRP11_EB_IB 0xC6
#define OP_GRP11_EV_IZ 0xC7
#define OP_ESCAPE_0F   0x0F
#define OP_POP_EV      0x8F  /* group 1A: /0 POP (Table A-6) */
#define OP_GRP3_EB     0xF6  /* group 3: /0 /1 TEST with an immediate, /2 NOT, /3 NEG (Table A-6) */
#define OP_GRP3_EV     0xF7
#define OP_GRP4_EB     0xFE  /* group 4: /0 INC, /1 DEC, /2../7 undefined (Table A-6) */
#define OP_GRP5_EV     0xFF  /* group 5: /0 INC, /1 DEC, /6 PUSH (Table A-6) */
#define GRP1A_POP      0
#define GRP3_TEST      0
#define GRP3_TEST_ALIAS 1
#define GRP3_NOT       2
#define GRP3_NEG       3
#define GRP45_INC      0
#define GRP45_DEC      1
#define GRP5_CALL      2     /* near, indirect */
#define GRP5_CALLF     3
#define GRP5_JMP       4     /* near, indirect */
#define GRP5_JMPF      5
#define GRP5_PUSH      6
#define GRP2_SAL_ALIAS 6     /* blank in Table A-6 */
#define GRP8_FIRST_BT  4     /* 0F BA: /4 BT /5 BTS /6 BTR /7 BTC; /0../3 undefined */

/* Two-byte opcodes 0F xx (SDM Vol. 2A Appendix A, Table A-3). */
#define OP2_MOVZX_GV_EB 0xB6
#define OP2_MOVZX_GV_EW 0xB7
#define OP2_MOVSX_GV_EB 0xBE
#define OP2_MOVSX_GV_EW 0xBF
#define OP2_BT_EV_GV    0xA3
#define OP2_SHLD_IB     0xA4
#define OP2_SHLD_CL     0xA5
#define OP2_BTS_EV_GV   0xAB
#define OP2_SHRD_IB     0xAC
#define OP2_SHRD_CL     0xAD
#define OP2_CMPXCHG_EB  0xB0
#define OP2_CMPXCHG_EV  0xB1
#define OP2_BTR_EV_GV   0xB3
#define OP2_GRP8_EV_IB  0xBA  /* group 8: BT BTS BTR BTC with imm8 (Table A-6) */
#define OP2_BTC_EV_GV   0xBB
#define OP2_XADD_EB     0xC0
#define OP2_XADD_EV     0xC1
#define OP2_CMOV_FIRST  0x40  /* 0F 40..4F CMOVcc Gv, Ev */
#define OP2_CMOV_LAST   0x4F
#define OP2_SET_FIRST   0x90  /* 0F 90..9F SETcc Eb */
#define OP2_SET_LAST    0x9F
#define OP2_CC_MASK     0x0F  /* the condition in the low nibble */
#define OP2_IMUL_GV_EV  0xAF
#define OP2_POPCNT      0xB8  /* with F3 (without: JMPE) */
#define OP2_BSF         0xBC  /* F3: TZCNT */
#define OP2_BSR         0xBD  /* F3: LZCNT */
#define OP2_MOVNTI      0xC3
#define OP2_GRP9        0xC7  /* group 9: /1 CMPXCHG8B (Table A-6) */
#define GRP9_CMPXCHG8B  1
#define OP2_ESCAPE_38   0x38  /* three-byte opcodes 0F 38 xx (Table A-4) */
#define OP3_MOVBE_GV_MV 0xF0  /* without F2 (with F2: CRC32) */
#define OP3_MOVBE_MV_GV 0xF1

/* ModRM and SIB fields (SDM Vol. 2A 2.1.3, Figure 2-1). */
#define MODRM_MOD(b)  ((unsigned)(b) >> 6)
#define MODRM_REG(b)  (((unsigned)(b) >> 3) & 7u)
#define MODRM_RM(b)   ((unsigned)(b) & 7u)
#define SIB_BASE(b)   ((unsigned)(b) & 7u)
#define SIB_INDEX(b)  (((unsigned)(b) >> 3) & 7u)
#define SIB_SCALE(b)  ((unsigned)(b) >> 6)      /* log2 of the scale */
#define SIB_INDEX_NONE 4     /* index 100 without REX.X: no index (Table 2-3) */
#define MOD_NO_DISP   0
#define MOD_DISP8     1
#define MOD_DISP_FULL 2
#define MOD_REGISTER  3
#define RM_SIB        4      /* 32/64-bit addressing: a SIB byte follows (Table 2-2) */
#define RM_DISP32     5      /* mod 00: disp32, RIP-relative in 64-bit mode (2.2.1.6) */
#define SIB_BASE_NONE 5      /* mod 00: no base, disp32 (Table 2-3) */
#define RM16_DISP16   6      /* 16-bit addressing, mod 00: disp16 (Table 2-1) */

/* ModRM.reg digits of group 11 (C6/C7): only /0 is MOV (Table A-6). */
#define GRP11_MOV     0

/* 8-bit register numbers 4..7 are AH CH DH BH without a REX prefix and
 * SPL BPL SIL DIL with one (SDM Vol. 2A 3.1.1.1, Table 3-1). */
#define REG8_HIGH_FIRST 4

/* Operations of the ALU groups 00-3F (opcode >> 3) and of group 1 (80/81/83
 * ModRM.reg): the same order, ADD OR ADC SBB AND SUB XOR CMP (Tables ). */
static const x86_op_t alu_ops[8] = {
    X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
    X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
};

/* Group 2 (C0 C1 D0-D3) by ModRM.reg, Table A-6; /6 is blank there. */
static const x86_op_t shift_ops[8] = {
    X86_OP_ROL, X86_OP_ROR, X86_OP_RCL, X86_OP_RCR,
    X86_OP_SHL, X86_OP_SHR, X86_OP_NONE, X86_OP_SAR,
};

/* String instructions A4..AF by (opcode - A4) / 2 (Table A-2); A8/A9 are
 * TEST with the accumulator (no memory). */
static const x86_op_t string_ops[6] = {
    X86_OP_MOVS, X86_OP_CMPS, X86_OP_NONE, X86_OP_STOS, X86_OP_LODS, X86_OP_SCAS,
};

/* Group 8 (0F BA) /4../7, Table A-6. */
static const x86_op_t bt_ops[4] = { X86_OP_BT, X86_OP_BTS, X86_OP_BTR, X86_OP_BTC };

/* Sizes of an immediate operand. */
enum {
    IMM_NONE,
    IMM_8,      /* sign-extended to the operand size */
    IMM_8U,     /* a count or bit offset: zero-extended */
    IMM_Z,      /* 16 bits with 16-bit operands, else 32 */
};

typedef struct {
    const uint8_t *bytes;
    size_t avail;
    size_t pos;
} cursor_t;

/* May `n` more bytes be read at the cursor? */
static x86_decode_status_t need(const cursor_t *c, size_t n)
{
    if (c->pos + n > X86_MAX_INSN_LEN)
        return X86_DECODE_TOO_LONG;   /* SDM Vol. 2A 2.3.11: at most 15 bytes */
    if (c->pos + n > c->avail)
        return X86_DECODE_TRUNCATED;
    return X86_DECODE_OK;
}

/* Little-endian fetch of n <= 8 bytes that need() already allowed. */
static uint64_t fetch(cursor_t *c, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
    c->pos += n;
    return v;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned from_bytes)
{
    if (from_bytes >= 8)
        return v;
    uint64_t sign = (uint64_t)1 << (8 * from_bytes - 1);
    v &= size_mask(from_bytes);
    return (v ^ sign) - sign;
}

/* The base and index registers of the 16-bit forms by ModRM.rm (SDM Vol.
 * 2A 2.1.5, Table 2-1): [BX+SI] [BX+DI] [BP+SI] [BP+DI] [SI] [DI] [BP] [BX]. */
static const int8_t rm16_base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_RSI, X86_RDI,
                                     X86_RBP, X86_RBX };
static const int8_t rm16_index[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI, -1, -1, -1, -1 };

/* Read the SIB byte and displacement of a memory operand (mod != 3) into
 * d's address fields. SDM Vol. 2A 2.1.5: Table 2-1 (16-bit addressing),
 * Table 2-2 (32-bit), Table 2-3 (SIB; index 100 without REX.X is none);
 * 2.2.1.2: rm = 100 always means SIB and mod 00 rm 101 always means
 * disp32 (RIP-relative in 64-bit mode, 2.2.1.6), whatever REX.B. */
static x86_decode_status_t read_address(cursor_t *c, unsigned modrm, unsigned addr_size,
                                        unsigned rex, x86_mode_t mode, x86_insn_t *d)
{
    unsigned mod = MODRM_MOD(modrm), rm = MODRM_RM(modrm);
    size_t disp = 0;
    x86_decode_status_t st;

    d->has_ea = true;
    d->ea_scale = 1;
    if (addr_size == 2) {
        d->ea_base = rm16_base[rm];
        d->ea_index = rm16_index[rm];
        if (mod == MOD_DISP8) {
            disp = 1;
        } else if (mod == MOD_DISP_FULL || (mod == MOD_NO_DISP && rm == RM16_DISP16)) {
            disp = 2;
            if (mod == MOD_NO_DISP)
                d->ea_base = -1;
        }
    } else {
        const unsigned rex_b = (rex & REX_B) ? 8u : 0u;
        d->ea_base = (int)(rm | rex_b);
        if (rm == RM_SIB) {
            if ((st = need(c, 1)) != X86_DECODE_OK)
                return st;
            unsigned sib = (unsigned)fetch(c, 1);
            unsigned index = SIB_INDEX(sib) | ((rex & REX_X) ? 8u : 0u);
            d->ea_index = index == SIB_INDEX_NONE ? -1 : (int)index;
            d->ea_scale = 1u << SIB_SCALE(sib);
            d->ea_base = (int)(SIB_BASE(sib) | rex_b);
            if (mod == MOD_NO_DISP && SIB_BASE(sib) == SIB_BASE_NONE) {
                disp = 4;
                d->ea_base = -1;
            }
        }
        if (mod == MOD_DISP8) {
            disp = 1;
        } else if (mod == MOD_DISP_FULL || (mod == MOD_NO_DISP && rm == RM_DISP32)) {
            disp = 4;
            if (mod == MOD_NO_DISP && rm == RM_DISP32) {
                d->ea_base = -1;
                d->ea_rip = mode == X86_MODE_64;
            }
        }
    }
    if ((st = need(c, disp)) != X86_DECODE_OK)
        return st;
    d->ea_disp = disp ? sign_extend(fetch(c, disp), (unsigned)disp) : 0;
    return X86_DECODE_OK;
}

/* LOCK is legal only on read-modify-write instructions with a memory
 * destination (SDM Vol. 2B "LOCK": ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B DEC INC NEG
 * NOT OR SBB SUB XOR XADD XCHG); ALU ops not in their register-destination
 * forms. Anything else (BT, shifts, MOV, ...) is #UD with LOCK. */
static bool lock_allowed(const x86_insn_t *insn)
{
    switch (insn->op) {
    case X86_OP_ADD: case X86_OP_OR: case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR:
    case X86_OP_ADC: case X86_OP_SBB:
        return !insn->reg_dest;
    case X86_OP_INC: case X86_OP_DEC: case X86_OP_NOT: case X86_OP_NEG:
    case X86_OP_XCHG: case X86_OP_BTS: case X86_OP_BTR: case X86_OP_BTC:
    case X86_OP_CMPXCHG: case X86_OP_XADD: case X86_OP_CMPXCHG8B:
        return true;
    default:
        return false;
    }
}

static x86_decode_status_t decode(cursor_t *c, x86_mode_t mode, x86_insn_t *d)
{
    bool opsize_pfx = false, addrsize_pfx = false, rep_pfx = false, lock_pfx = false;
    bool repne_pfx = false;   /* the last of F2/F3 was F2 */
    unsigned rex = 0;   /* the REX byte in effect, 0 if none */
    x86_decode_status_t st;
    unsigned b;

    /* Prefixes. A REX prefix counts only right before the opcode: one
     * followed by a legacy prefix is ignored (SDM Vol. 2A 2.2.1). */
    for (;;) {
        if ((st = need(c, 1)) != X86_DECODE_OK)
            return st;
        b = c->bytes[c->pos];
        if (b == PFX_OPSIZE) {
            opsize_pfx = true;
        } else if (b == PFX_ADDRSIZE) {
            addrsize_pfx = true;
        } else if (b == PFX_REP || b == PFX_REPNE) {
            rep_pfx = true;
            repne_pfx = b == PFX_REPNE;
        } else if (b == PFX_LOCK) {
            lock_pfx = true;
        } else if (b == PFX_SEG_FS || b == PFX_SEG_GS) {
            d->seg_override = b == PFX_SEG_FS ? X86_SEG_FS : X86_SEG_GS;
        } else if (b == PFX_SEG_ES || b == PFX_SEG_CS || b == PFX_SEG_SS || b == PFX_SEG_DS) {
            /* In 64-bit mode these do not override (SDM Vol. 1 3.4.2.1). */
            if (mode != X86_MODE_64)
                d->seg_override = (int)((b >> 3) & 3u);   /* 26 2E 36 3E -> es cs ss ds */
        } else if (mode == X86_MODE_64 && (b & REX_MASK) == REX_BASE) {
            c->pos++;
            rex = b;
            continue;
        } else {
            break;
        }
        c->pos++;
        rex = 0;
    }

    /* Operand and address size (SDM Vol. 1 3.6.1, Tables 3-3 and 3-4). */
    unsigned opsize, addr_size;
    if (mode == X86_MODE_16) {
        opsize = opsize_pfx ? 4 : 2;
        addr_size = addrsize_pfx ? 4 : 2;
    } else {
        opsize = opsize_pfx ? 2 : 4;
        if (mode == X86_MODE_64)
            addr_size = addrsize_pfx ? 4 : 8;
        else
            addr_size = addrsize_pfx ? 2 : 4;
    }
    if (rex & REX_W)
        opsize = 8;   /* REX.W wins over 66 */
    d->addr_size = addr_size;

    /* Opcode. */
    unsigned opcode = (unsigned)fetch(c, 1);
    bool has_modrm = true, byte_op = false, reg_operand = true, group = false;
    bool shift_group = false, bt_group = false, string_op = false;
    bool f3_pfx = rep_pfx && !repne_pfx;   /* a mandatory F3 (POPCNT TZCNT LZCNT) */
    unsigned escape_op = 0;                /* the second byte after 0F */
    unsigned imm = IMM_NONE, mem_size = 0;

    if (opcode == OP_ESCAPE_0F) {
        if ((st = need(c, 1)) != X86_DECODE_OK)
            return st;
        unsigned op2 = (unsigned)fetch(c, 1);
        switch (op2) {
        case OP2_MOVZX_GV_EB: d->op = X86_OP_MOVZX; mem_size = 1; break;
        case OP2_MOVZX_GV_EW: d->op = X86_OP_MOVZX; mem_size = 2; break;
        case OP2_MOVSX_GV_EB: d->op = X86_OP_MOVSX; mem_size = 1; break;
        case OP2_MOVSX_GV_EW: d->op = X86_OP_MOVSX; mem_size = 2; break;
        case OP2_BT_EV_GV: d->op = X86_OP_BT; break;
        case OP2_BTS_EV_GV: d->op = X86_OP_BTS; break;
        case OP2_BTR_EV_GV: d->op = X86_OP_BTR; break;
        case OP2_BTC_EV_GV: d->op = X86_OP_BTC; break;
        case OP2_GRP8_EV_IB: group = true; bt_group = true; imm = IMM_8U; break;
        case OP2_SHLD_IB: d->op = X86_OP_SHLD; imm = IMM_8U; break;
        case OP2_SHLD_CL: d->op = X86_OP_SHLD; d->count_cl = true; break;
        case OP2_SHRD_IB: d->op = X86_OP_SHRD; imm = IMM_8U; break;
        case OP2_SHRD_CL: d->op = X86_OP_SHRD; d->count_cl = true; break;
        case OP2_CMPXCHG_EB: d->op = X86_OP_CMPXCHG; byte_op = true; break;
        case OP2_CMPXCHG_EV: d->op = X86_OP_CMPXCHG; break;
        case OP2_XADD_EB: d->op = X86_OP_XADD; byte_op = true; break;
        case OP2_XADD_EV: d->op = X86_OP_XADD; break;
        case OP2_IMUL_GV_EV: d->op = X86_OP_IMUL; d->reg_dest = true; break;
        case OP2_BSF: d->op = f3_pfx ? X86_OP_TZCNT : X86_OP_BSF; d->reg_dest = true; break;
        case OP2_BSR: d->op = f3_pfx ? X86_OP_LZCNT : X86_OP_BSR; d->reg_dest = true; break;
        case OP2_POPCNT:
            if (!f3_pfx)
                return X86_DECODE_UNSUPPORTED;   /* JMPE */
            d->op = X86_OP_POPCNT;
            d->reg_dest = true;
            break;
        case OP2_MOVNTI:
            if (opsize_pfx || rep_pfx)
                return X86_DECODE_INVALID;       /* "NP 0F C3": no 66 F2 F3 (SDM Vol. 2B MOVNTI) */
            d->op = X86_OP_MOVNTI;
            break;
        case OP2_GRP9: group = true; break;
        case OP2_ESCAPE_38: {
            if ((st = need(c, 1)) != X86_DECODE_OK)
                return st;
            unsigned op3 = (unsigned)fetch(c, 1);
            if ((op3 != OP3_MOVBE_GV_MV && op3 != OP3_MOVBE_MV_GV) || (rep_pfx && repne_pfx))
                return X86_DECODE_UNSUPPORTED;   /* CRC32 and the rest of Table A-4 */
            d->op = op3 == OP3_MOVBE_GV_MV ? X86_OP_MOVBE_LOAD : X86_OP_MOVBE_STORE;
            break;
        }
        default:
            if (op2 >= OP2_CMOV_FIRST && op2 <= OP2_CMOV_LAST) {
                d->op = X86_OP_CMOVCC;
                d->reg_dest = true;
            } else if (op2 >= OP2_SET_FIRST && op2 <= OP2_SET_LAST) {
                d->op = X86_OP_SETCC;
                byte_op = true;
                reg_operand = false;   /* ModRM.reg is ignored */
            } else {
                return X86_DECODE_UNSUPPORTED;
            }
            d->cc = op2 & OP2_CC_MASK;
            break;
        }
        escape_op = op2;
    } else if (opcode <= OP_ALU_LAST && (opcode & OP_ALU_FORM) <= OP_ALU_GV_EV) {
        d->op = alu_ops[opcode >> 3];
        unsigned form = opcode & OP_ALU_FORM;
        byte_op = form == OP_ALU_EB_GB || form == OP_ALU_GB_EB;
        d->reg_dest = form == OP_ALU_GB_EB || form == OP_ALU_GV_EV;
    } else {
        switch (opcode) {
        case OP_MOVSXD:
            if (mode != X86_MODE_64)
                return X86_DECODE_UNSUPPORTED;   /* ARPL */
            d->op = X86_OP_MOVSX;
            mem_size = opsize == 8 ? 4 : opsize;  /* without REX.W: a plain move */
            break;
        case OP_GRP1_EB_IB: group = true; byte_op = true; imm = IMM_8; break;
        case OP_GRP1_EV_IZ: group = true; imm = IMM_Z; break;
        case OP_GRP1_EV_IB: group = true; imm = IMM_8; break;
        case OP_TEST_EB_GB: d->op = X86_OP_TEST; byte_op = true; break;
        case OP_TEST_EV_GV: d->op = X86_OP_TEST; break;
        case OP_XCHG_EB_GB: d->op = X86_OP_XCHG; byte_op = true; break;
        case OP_XCHG_EV_GV: d->op = X86_OP_XCHG; break;
        case OP_GRP3_EB: group = true; byte_op = true; break;   /* immediate: by digit */
        case OP_GRP3_EV: group = true; break;
        case OP_GRP4_EB: group = true; byte_op = true; break;
        case OP_GRP5_EV: group = true; break;   /* PUSH's size: by digit, below */
        case OP_IMUL_GV_EV_IZ: d->op = X86_OP_IMUL; d->reg_dest = true; imm = IMM_Z; break;
        case OP_IMUL_GV_EV_IB: d->op = X86_OP_IMUL; d->reg_dest = true; imm = IMM_8; break;
        case OP_GRP2_EB_IB: case OP_GRP2_EV_IB:
        case OP_GRP2_EB_1: case OP_GRP2_EV_1:
        case OP_GRP2_EB_CL: case OP_GRP2_EV_CL:
            group = true;
            shift_group = true;
            byte_op = !(opcode & 1);
            if (opcode == OP_GRP2_EB_IB || opcode == OP_GRP2_EV_IB) {
                imm = IMM_8U;
            } else if (opcode == OP_GRP2_EB_1 || opcode == OP_GRP2_EV_1) {
                d->has_imm = true;   /* SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR: "r/m, 1" */
                d->imm = 1;
            } else {
                d->count_cl = true;
            }
            break;
        case OP_POP_EV:
            /* SDM Vol. 2B POP: the stack operand is 64 bits in 64-bit
             * mode (16 with 66), else the operand size. */
            group = true;
            if (mode == X86_MODE_64)
                opsize = opsize_pfx ? 2 : 8;
            break;
        case OP_MOV_EB_GB: d->op = X86_OP_MOV_STORE; byte_op = true; break;
        case OP_MOV_EV_GV: d->op = X86_OP_MOV_STORE; break;
        case OP_MOV_GB_EB: d->op = X86_OP_MOV_LOAD; byte_op = true; break;
        case OP_MOV_GV_EV: d->op = X86_OP_MOV_LOAD; break;
        case OP_GRP11_EB_IB: group = true; byte_op = true; imm = IMM_8; break;
        case OP_GRP11_EV_IZ: group = true; imm = IMM_Z; break;
        case OP_MOV_AL_OB: case OP_MOV_AX_OV: case OP_MOV_OB_AL: case OP_MOV_OV_AX:
            d->op = (opcode == OP_MOV_AL_OB || opcode == OP_MOV_AX_OV) ? X86_OP_MOV_LOAD
                                                                       : X86_OP_MOV_STORE;
            byte_op = opcode == OP_MOV_AL_OB || opcode == OP_MOV_OB_AL;
            has_modrm = false;
            break;
        case OP_MOVSB: case OP_MOVSV: case OP_CMPSB: case OP_CMPSV: case OP_STOSB:
        case OP_STOSV: case OP_LODSB: case OP_LODSV: case OP_SCASB: case OP_SCASV:
            /* Even opcodes byte-sized; MOVS CMPS take rSI and rDI, the
             * others the accumulator and one of them. */
            d->op = string_ops[(opcode - OP_MOVSB) / 2];
            byte_op = !(opcode & 1);
            has_modrm = false;
            reg_operand = d->op != X86_OP_MOVS && d->op != X86_OP_CMPS;
            break;
        default:
            return X86_DECODE_UNSUPPORTED;
        }
    }
    if (group)
        reg_operand = false;   /* ModRM.reg is an opcode extension */

    unsigned size = byte_op ? 1 : opsize;
    d->mem_size = mem_size ? mem_size : size;

    if (has_modrm) {
        if ((st = need(c, 1)) != X86_DECODE_OK)
            return st;
        unsigned modrm = (unsigned)fetch(c, 1);
        if (MODRM_MOD(modrm) == MOD_REGISTER)
            return lock_pfx ? X86_DECODE_INVALID : X86_DECODE_UNSUPPORTED;   /* no memory */
        unsigned digit = MODRM_REG(modrm);
        if (opcode == OP_GRP11_EB_IB || opcode == OP_GRP11_EV_IZ) {
            if (digit != GRP11_MOV)
                return X86_DECODE_INVALID;   /* #UD (Table A-6) */
            d->op = X86_OP_MOV_STORE_IMM;
        } else if (opcode == OP_GRP3_EB || opcode == OP_GRP3_EV) {
            if (digit == GRP3_TEST || digit == GRP3_TEST_ALIAS) {
                d->op = X86_OP_TEST;
                imm = opcode == OP_GRP3_EB ? IMM_8 : IMM_Z;
            } else if (digit == GRP3_NOT) {
                d->op = X86_OP_NOT;
            } else if (digit == GRP3_NEG) {
                d->op = X86_OP_NEG;
            } else {
                /* MUL IMUL DIV IDIV: GRP3_NEG + 1.. (Table A-6) */
                static const x86_op_t muldiv[4] = { X86_OP_MUL, X86_OP_IMUL1, X86_OP_DIV,
                                                    X86_OP_IDIV };
                d->op = muldiv[digit - GRP3_NEG - 1];
            }
        } else if (opcode == OP_GRP4_EB) {
            if (digit != GRP45_INC && digit != GRP45_DEC)
                return X86_DECODE_INVALID;       /* #UD (Table A-6) */
            d->op = digit == GRP45_INC ? X86_OP_INC : X86_OP_DEC;
        } else if (opcode == OP_GRP5_EV) {
            if (digit == GRP45_INC || digit == GRP45_DEC) {
                d->op = digit == GRP45_INC ? X86_OP_INC : X86_OP_DEC;
            } else if (digit == GRP5_PUSH) {
                /* SDM Vol. 2B PUSH: the stack operand is 64 bits in 64-bit
                 * mode (16 with 66), else the operand size. */
                d->op = X86_OP_PUSH;
                if (mode == X86_MODE_64)
                    d->mem_size = opsize_pfx ? 2 : 8;
            } else if (digit == GRP5_CALL || digit == GRP5_JMP) {
                /* SDM Vol. 2A CALL, JMP: near branches in 64-bit mode have a
                 * 64-bit operand whatever 66 says (Intel; 2.2.1.7: "the
                 * operand size is forced to 64 bits"); else the operand size. */
                d->op = digit == GRP5_CALL ? X86_OP_CALL_IND : X86_OP_JMP_IND;
                if (mode == X86_MODE_64)
                    d->mem_size = 8;
            } else if (digit == GRP5_CALLF || digit == GRP5_JMPF) {
                return X86_DECODE_UNSUPPORTED;   /* far CALL/JMP through memory */
            } else {
                return X86_DECODE_INVALID;       /* /7: #UD (Table A-6) */
            }
        } else if (shift_group) {
            if (digit == GRP2_SAL_ALIAS)
                return X86_DECODE_UNSUPPORTED;   /* not defined by the SDM */
            d->op = shift_ops[digit];
        } else if (escape_op == OP2_GRP9) {
            if (digit != GRP9_CMPXCHG8B || (rex & REX_W))
                return X86_DECODE_UNSUPPORTED;   /* CMPXCHG16B, VMPTRLD, ... */
            d->op = X86_OP_CMPXCHG8B;
            d->mem_size = 8;
        } else if (bt_group) {
            if (digit < GRP8_FIRST_BT)
                return X86_DECODE_INVALID;       /* #UD (Table A-6) */
            d->op = bt_ops[digit - GRP8_FIRST_BT];
        } else if (opcode == OP_POP_EV) {
            if (digit != GRP1A_POP)
                return X86_DECODE_INVALID;       /* #UD (Table A-6) */
            d->op = X86_OP_POP;
        } else if (group) {
            d->op = alu_ops[digit];
        }
        if (reg_operand) {
            d->reg = (int)(digit | ((rex & REX_R) ? 8u : 0u));
            if (byte_op && rex == 0 && digit >= REG8_HIGH_FIRST) {
                d->reg = (int)(digit - REG8_HIGH_FIRST);
                d->reg_high_byte = true;
            }
            /* MOVZX/MOVSX: the register is the wider destination. */
            d->reg_size = (d->op == X86_OP_MOVZX || d->op == X86_OP_MOVSX) ? opsize : size;
        }
        if (lock_pfx && !lock_allowed(d))
            return X86_DECODE_INVALID;
        if ((st = read_address(c, modrm, addr_size, rex, mode, d)) != X86_DECODE_OK)
            return st;
    } else {
        if (lock_pfx)
            return X86_DECODE_INVALID;
        if (reg_operand) {   /* moffs MOVs and STOS use AL/AX/EAX/RAX */
            d->reg = X86_RAX;
            d->reg_size = size;
        }
        string_op = d->op == X86_OP_MOVS || d->op == X86_OP_STOS || d->op == X86_OP_LODS ||
                    d->op == X86_OP_SCAS || d->op == X86_OP_CMPS;
        if (string_op) {
            d->rep = rep_pfx;
            d->repne = rep_pfx && repne_pfx;
        } else {
            /* moffs: an offset of the address size, 8 bytes in 64-bit mode
             * unless 67 (SDM Vol. 2A 2.2.1.4). */
            if ((st = need(c, addr_size)) != X86_DECODE_OK)
                return st;
            d->has_ea = true;
            d->ea_scale = 1;
            d->ea_disp = fetch(c, addr_size);
        }
    }

    if (imm != IMM_NONE) {
        /* Immediates are at most 32 bits, sign-extended to 64-bit operands
         * (SDM Vol. 2A 2.2.1.5); 83 ib is sign-extended to the operand size. */
        size_t n = imm == IMM_8 || imm == IMM_8U ? 1 : (size == 2 ? 2 : 4);
        if ((st = need(c, n)) != X86_DECODE_OK)
            return st;
        d->imm = imm == IMM_8U ? fetch(c, n)
                               : sign_extend(fetch(c, n), (unsigned)n) & size_mask(size);
        d->has_imm = true;
    }
    d->length = (unsigned)c->pos;
    return X86_DECODE_OK;
}

static const x86_insn_t insn_none = { .op = X86_OP_NONE, .reg = -1, .seg_override = -1,
                                       .ea_base = -1, .ea_index = -1, .ea_seg = -1 };

x86_decode_status_t x86_decode(const uint8_t *bytes, size_t avail, x86_mode_t mode,
                               x86_insn_t *out)
{
    if (!out)
        return X86_DECODE_INVALID;
    *out = insn_none;
    if (mode != X86_MODE_16 && mode != X86_MODE_32 && mode != X86_MODE_64)
        return X86_DECODE_INVALID;
    if (!bytes)
        return avail ? X86_DECODE_INVALID : X86_DECODE_TRUNCATED;

    cursor_t c = { .bytes = bytes, .avail = avail, .pos = 0 };
    x86_insn_t d = insn_none;
    x86_decode_status_t st = decode(&c, mode, &d);
    if (st == X86_DECODE_OK) {
        /* SDM Vol. 1 3.7.5, Table 3-5: a prefix's segment, else SS for an
         * address with rBP or rSP as its base (BP in the 16-bit forms),
         * else DS. */
        if (d.has_ea)
            d.ea_seg = d.seg_override >= 0                              ? d.seg_override
                       : d.ea_base == X86_RSP || d.ea_base == X86_RBP ? X86_SEG_SS
                                                                       : X86_SEG_DS;
        *out = d;
    }
    return st;
}

bool x86_decode_ea(const x86_insn_t *insn, const uint64_t gpr[16], uint64_t next_rip,
                   uint64_t *offset)
{
    if (!insn || !insn->has_ea || !gpr || !offset)
        return false;
    uint64_t ea = insn->ea_disp;
    if (insn->ea_rip)
        ea += next_rip;
    if (insn->ea_base >= 0 && insn->ea_base < 16)
        ea += gpr[insn->ea_base];
    if (insn->ea_index >= 0 && insn->ea_index < 16)
        ea += gpr[insn->ea_index] * insn->ea_scale;
    /* Computed in the address size, zero-extended (SDM Vol. 1 3.3.7). */
    *offset = ea & size_mask(insn->addr_size);
    return true;
}

const char *x86_decode_status_str(x86_decode_status_t st)
{
    switch (st) {
    case X86_DECODE_OK: return "ok";
    case X86_DECODE_TRUNCATED: return "truncated";
    case X86_DECODE_UNSUPPORTED: return "unsupported";
    case X86_DECODE_INVALID: return "invalid";
    case X86_DECODE_TOO_LONG: return "longer than 15 bytes";
    }
    return "unknown";
}
