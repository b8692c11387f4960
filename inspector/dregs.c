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
