/*
 * vmm-server/decode/x86_decode.h - decode the x86 instructions guests use to
 * touch memory-mapped I/O (an EPT violation on a device page).
 *
 * The VMM already knows the faulting guest-physical address; the decoder only
 * finds the instruction's length, the operation, the access size and the
 * register or immediate involved. It follows the instruction format of the
 * Intel SDM Vol. 2A chapter 2 (2.1 legacy format, 2.2.1 REX) and the opcode
 * map of Vol. 2A Appendix A. Pure code: no system calls, no state.
 */
#ifndef VMM_DECODE_X86_DECODE_H
#define VMM_DECODE_X86_DECODE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest legal instruction, prefixes included (SDM Vol. 2A 2.3.11). */
#define X86_MAX_INSN_LEN 15

/* The code segment's default operand/address size (CS.D, CS.L, CR0.PE). */
typedef enum { X86_MODE_16, X86_MODE_32, X86_MODE_64 } x86_mode_t;

typedef enum {
    X86_OP_NONE,
    X86_OP_MOV_LOAD,      /* 8A 8B A0 A1: register <- memory */
    X86_OP_MOV_STORE,     /* 88 89 A2 A3: memory <- register */
    X86_OP_MOV_STORE_IMM, /* C6 /0, C7 /0: memory <- immediate */
    X86_OP_MOVZX,         /* 0F B6, 0F B7 */
    X86_OP_MOVSX,         /* 0F BE, 0F BF, 63 (movsxd, 64-bit mode) */
    X86_OP_MOVS,          /* A4 A5 */
    X86_OP_STOS,          /* AA AB */
    /* Read-modify-write and compare forms with a register or an immediate. */
    X86_OP_AND,
    X86_OP_OR,
    X86_OP_XOR,
    X86_OP_ADD,
    X86_OP_SUB,
    X86_OP_CMP,
    X86_OP_ADC,           /* 10-13, 80/81/83 /2: add with carry (CF in) */
    X86_OP_SBB,           /* 18-1B, 80/81/83 /3: subtract with borrow (CF in) */
    X86_OP_TEST,          /* 84 85, F6 /0 ib, F7 /0 iz */
    X86_OP_XCHG,          /* 86 87: memory <-> register */
    X86_OP_PUSH,          /* FF /6: stack <- memory (mem_size: the stack operand size) */
    X86_OP_POP,           /* 8F /0: memory <- stack */
    /* Read-modify-write forms with the memory operand only (no reg, no imm). */
    X86_OP_INC,           /* FE /0, FF /0 */
    X86_OP_DEC,           /* FE /1, FF /1 */
    X86_OP_NOT,           /* F6 /2, F7 /2 */
    X86_OP_NEG,           /* F6 /3, F7 /3 */
    /* Group 2 shifts and rotates (C0/C1 ib, D0/D1 by 1, D2/D3 by CL; Table A-6):
     * the count is `imm` (1 for D0/D1) or CL (`count_cl`). */
    X86_OP_ROL,           /* /0 */
    X86_OP_ROR,           /* /1 */
    X86_OP_RCL,           /* /2 */
    X86_OP_RCR,           /* /3 */
    X86_OP_SHL,           /* /4 (SAL) */
    X86_OP_SHR,           /* /5 */
    X86_OP_SAR,           /* /7 */
    X86_OP_SHLD,          /* 0F A4 ib, 0F A5 CL: reg is the source shifted in */
    X86_OP_SHRD,          /* 0F AC ib, 0F AD CL */
    /* Bit tests: 0F A3/AB/B3/BB with a register bit offset (signed, may address
     * outside the operand), 0F BA /4../7 ib with an immediate one (modulo size). */
    X86_OP_BT,
    X86_OP_BTS,
    X86_OP_BTR,
    X86_OP_BTC,
    X86_OP_CMPXCHG,       /* 0F B0 0F B1: compare with AL/AX/EAX/RAX, reg is the source */
    X86_OP_XADD,          /* 0F C0 0F C1 */
    X86_OP_LODS,          /* AC AD: accumulator <- DS:rSI */
    X86_OP_SCAS,          /* AE AF: compare accumulator with ES:rDI */
    X86_OP_CMPS,          /* A6 A7: compare DS:rSI with ES:rDI */
    X86_OP_CALL_IND,      /* FF /2: near call through memory (mem_size: the operand size) */
    X86_OP_JMP_IND,       /* FF /4: near jump through memory */
    /* Multiply and divide: F6/F7 /4../7 use the accumulator (and rDX); IMUL
     * 0F AF, 69, 6B multiply into reg (69/6B: memory times imm). */
    X86_OP_MUL,           /* F6/F7 /4 */
    X86_OP_IMUL1,         /* F6/F7 /5: one operand, like MUL */
    X86_OP_DIV,           /* F6/F7 /6 */
    X86_OP_IDIV,          /* F6/F7 /7 */
    X86_OP_IMUL,          /* 0F AF: reg *= mem; 69 iz, 6B ib: reg = mem * imm */
    X86_OP_SETCC,         /* 0F 90..9F: byte <- condition `cc` */
    X86_OP_CMOVCC,        /* 0F 40..4F: reg <- mem if condition `cc` */
    X86_OP_BSF,           /* 0F BC */
    X86_OP_BSR,           /* 0F BD */
    X86_OP_TZCNT,         /* F3 0F BC */
    X86_OP_LZCNT,         /* F3 0F BD */
    X86_OP_POPCNT,        /* F3 0F B8 */
    X86_OP_MOVBE_LOAD,    /* 0F 38 F0: reg <- byte-swapped mem */
    X86_OP_MOVBE_STORE,   /* 0F 38 F1: mem <- byte-swapped reg */
    X86_OP_MOVNTI,        /* 0F C3: a store (the hint means nothing to a device) */
    X86_OP_CMPXCHG8B,     /* 0F C7 /1: EDX:EAX against m64, ECX:EBX stored if equal */
} x86_op_t;

/* Segment registers in the order of their 3-bit sreg encoding (es=0 .. gs=5). */
enum { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

/* General-purpose registers in architectural (ModRM/REX) order. */
enum {
    X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
    X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

typedef struct {
    x86_op_t op;
    unsigned length;       /* instruction bytes, prefixes included */
    unsigned mem_size;     /* bytes accessed in memory: 1, 2, 4 or 8 */
    unsigned reg_size;     /* register operand size (movzx/movsx: destination); 0 if none */
    int reg;               /* register operand 0..15 (rax..r15), -1 if none. For AH/CH/DH/BH
                              this is the register holding the byte (0..3 = rax..rbx) */
    bool reg_high_byte;    /* AH/CH/DH/BH (8-bit reg field 4..7 without any REX prefix) */
    bool has_imm;
    uint64_t imm;          /* shift and rotate counts: the imm8 (1 for D0/D1); else the
                              immediate as the instruction uses it: sign-extended to the
                              operand size where the instruction sign-extends (83 ib,
                              REX.W C7/81 id), zero above the operand size */
    bool rep;              /* F3 or F2 prefix on a string instruction (MOVS STOS LODS
                              SCAS CMPS) */
    bool repne;            /* ... and the last of them was F2: REPNE for SCAS/CMPS */
    bool count_cl;         /* shifts, rotates, SHLD/SHRD: the count is CL, not imm */
    unsigned cc;           /* SETcc, CMOVcc: the condition (opcode & 0xF, SDM Vol. 1 B.1) */
    unsigned addr_size;    /* 2, 4 or 8: width of RSI/RDI/RCX for string instructions */
    int seg_override;      /* -1 or X86_SEG_*; in 64-bit mode only FS and GS override
                              (ES/CS/SS/DS prefixes are ignored there: SDM Vol. 1 3.4.2.1) */
    bool reg_dest;         /* ALU forms 02/03 0A/0B 22/23 2A/2B 32/33 3A/3B: the register is
                              the destination and first operand; otherwise memory is */
    /* The ModRM or moffs memory operand's address (x86_decode_ea): offset =
     * base + index * scale + disp in the address size (SDM Vol. 2A 2.1.5,
     * Tables 2-1, 2-2, 2-3), RIP-relative from the next instruction
     * (2.2.1.6), or the moffs offset (2.2.1.4). String instructions have
     * none (rSI/rDI). */
    bool has_ea;
    int ea_base;           /* register 0..15, -1 none */
    int ea_index;          /* register 0..15, -1 none */
    unsigned ea_scale;     /* 1, 2, 4 or 8 */
    uint64_t ea_disp;      /* sign-extended displacement, or the moffs offset */
    bool ea_rip;           /* RIP-relative */
    int ea_seg;            /* X86_SEG_*: the override, else SS with rBP or rSP as the
                              base, else DS (SDM Vol. 1 3.7.5, Table 3-5) */
} x86_insn_t;

typedef enum {
    X86_DECODE_OK = 0,
    X86_DECODE_TRUNCATED,   /* the instruction continues past `avail` bytes */
    X86_DECODE_UNSUPPORTED, /* a valid instruction this decoder does not handle, or one
                               without a memory operand (ModRM.mod = 3) */
    X86_DECODE_INVALID,     /* #UD: LOCK where it is not allowed, an undefined /digit */
    X86_DECODE_TOO_LONG,    /* #GP(0): longer than 15 bytes (SDM Vol. 2A 2.3.11) */
} x86_decode_status_t;

/*
 * Decode the instruction at bytes[0..avail). Never reads past `avail` nor past
 * X86_MAX_INSN_LEN bytes. On success fills *out; on failure *out is cleared
 * (op = X86_OP_NONE, reg = seg_override = -1). `bytes` may be NULL when avail is 0.
 */
x86_decode_status_t x86_decode(const uint8_t *bytes, size_t avail, x86_mode_t mode,
                               x86_insn_t *out);
const char *x86_decode_status_str(x86_decode_status_t st);

/*
 * The offset of a decoded instruction's ModRM/moffs memory operand in its
 * segment (insn->ea_seg), cut to the address size: @gpr the registers in
 * X86_RAX.. order, @next_rip the address of the next instruction (for
 * RIP-relative operands). false when it has none (insn->has_ea clear).
 */
bool x86_decode_ea(const x86_insn_t *insn, const uint64_t gpr[16], uint64_t next_rip,
                   uint64_t *offset);

#endif
