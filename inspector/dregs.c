/*
 * inspector/dregs.c - DR7 and addresses for the inspector (dregs.h).
 */
#include "dregs.h"
#include <x86_arch.h>

/* The largest linear address outside IA-32e mode (SDM Vol. 3A 3.3: 32 bits). */
#define LINEAR_32_MAX 0xFFFFFFFFull

int dregs_check(enum rsp_bp_type type, uint64_t addr, unsigned kind, unsigned *rw,
                unsigned *len)
{
    if (type == RSP_BP_READ)
        return RSP_UNSUPPORTED;   /* SDM 17.2.4: R/W has no read-only setting */
    if (type == RSP_BP_HARDWARE) {
        /* SDM 17.2.5: an instruction breakpoint has LEN 00, whatever gdb
         * says the instruction's length is. */
        *rw = X86_DR7_RW_EXEC;
        *len = 1;
        return 0;
    }
    if (type != RSP_BP_WRITE && type != RSP_BP_ACCESS)
        return -RSP_EINVAL;
    /* SDM 17.2.5: 1, 2, 4 or 8 bytes, at an address aligned to the length. */
    if ((kind != 1 && kind != 2 && kind != 4 && kind != 8) || (addr & (kind - 1)))
        return -RSP_EINVAL;
    *rw = type == RSP_BP_WRITE ? X86_DR7_RW_WRITE : X86_DR7_RW_ACCESS;
    *len = kind;
    return 0;
}

static unsigned len_field(unsigned kind)
{
    return kind == 1 ? X86_DR7_LEN_1 : kind == 2 ? X86_DR7_LEN_2
                     : kind == 4 ? X86_DR7_LEN_4 : X86_DR7_LEN_8;
}

uint64_t dregs_dr7(const insp_hwbp_t *hw, unsigned n)
{
    uint64_t dr7 = X86_DR7_FIXED1;
    for (unsigned i = 0; i < n && i < X86_DEBUG_SLOTS; i++)
        if (hw[i].used)
            dr7 |= X86_DR7_L(i) | X86_DR7_LE | (uint64_t)hw[i].rw << X86_DR7_RW_SHIFT(i) |
                   (uint64_t)len_field(hw[i].kind) << X86_DR7_LEN_SHIFT(i);
    return dr7;
}

bool dregs_va_ok(uint64_t va, bool long_mode)
{
    return long_mode ? x86_canonical(va) : va <= LINEAR_32_MAX;
}

/* Opcodes (SDM Vol. 2A Appendix A, Table ). */
#define OP_INT_IB    0xCD
#define OP_INTO      0xCE
#define OP_INT1      0xF1
#define OP_TWO_BYTE  0x0F
#define OP2_SYSCALL  0x05
#define OP2_SYSRET   0x07
#define OP_POPF      0x9D
#define OP_IRET      0xCF
#define OP_HLT       0xF4
#define OP_CLI       0xFA
#define OP_STI       0xFB

/* SDM Vol. 2A 2.1.1: lock/repeat (F0 F2 F3), segment overrides (2E 36 3E
 * 26 64 65), operand and address size (66 67); 2.2.1: REX (40-4F) in
 * 64-bit mode. */
bool dregs_is_prefix(uint8_t b, bool mode64)
{
    switch (b) {
    case 0xF0: case 0xF2: case 0xF3: case 0x2E: case 0x36: case 0x3E: case 0x26:
    case 0x64: case 0x65: case 0x66: case 0x67:
        return true;
    default:
        return mode64 && (b & 0xF0) == 0x40;
    }
}

void dregs_step_insn(const uint8_t *bytes, unsigned n, bool mode64, insp_step_insn_t *out)
{
    *out = (insp_step_insn_t){ STEP_PLAIN, 0, 0 };
    if (n > DREGS_INSN_MAX)
        n = DREGS_INSN_MAX;
    unsigned i = 0;
    while (i < n && dregs_is_prefix(bytes[i], mode64))
        i++;
    if (i >= n)
        return;
    const uint8_t op = bytes[i];
    if (op == DREGS_OP_PUSHF) {
        *out = (insp_step_insn_t){ STEP_PUSHF, 0, i + 1 };
    } else if (op == OP_INT_IB && i + 1 < n) {
        *out = (insp_step_insn_t){ STEP_INT, bytes[i + 1], i + 2 };
    } else if (op == X86_OP_INT3) {
        *out = (insp_step_insn_t){ STEP_INT, X86_VEC_BP, i + 1 };
    } else if (op == OP_INTO && !mode64) {
        /* SDM Vol. 2A INTO: #UD in 64-bit mode; elsewhere #OF if OF is set
         * (the step then ends at the #OF handler, else after it). */
        *out = (insp_step_insn_t){ STEP_INT, X86_VEC_OF, i + 1 };
    } else if (op == OP_INT1) {
        *out = (insp_step_insn_t){ STEP_INT, X86_VEC_DB, i + 1 };
    } else if (op == OP_TWO_BYTE && i + 1 < n && bytes[i + 1] == OP2_SYSCALL) {
        *out = (insp_step_insn_t){ STEP_SYSCALL, 0, i + 2 };
    } else if (op == OP_TWO_BYTE && i + 1 < n && bytes[i + 1] == OP2_SYSRET) {
        *out = (insp_step_insn_t){ STEP_SYSRET, 0, i + 2 };
    } else if (op == OP_CLI || op == OP_STI) {
        *out = (insp_step_insn_t){ STEP_CLI_STI, 0, i + 1 };
    } else if (op == OP_POPF) {
        *out = (insp_step_insn_t){ STEP_POPF, 0, i + 1 };
    } else if (op == OP_IRET) {
        *out = (insp_step_insn_t){ STEP_IRET, 0, i + 1 };
    } else if (op == OP_HLT) {
        *out = (insp_step_insn_t){ STEP_HLT, 0, i + 1 };
    }
}
