/*
 * inspector/insn_access.h - the guest-linear bytes an instruction reads
 * and writes, from the VMM's decoder (vmm-server/decode: the operation,
 * its operand size and the ModRM/moffs address, x86_decode_ea). Pure,
 * unit-tested on the host (tests/unit/test_insp_access.c).
 *
 * What it is for: an EPT watchpoint's leaf is 2 MiB (ewatch.h), so the
 * first EPT violation of an instruction is often not the access gdb
 * watches (the page walk for its fetch, another operand); once the leaf's
 * rights are back for the step the watched access exits no more. Decoded
 * at the first violation, the instruction says which bytes it reads and
 * writes, and of what size.
 */
#ifndef INSPECTOR_INSN_ACCESS_H
#define INSPECTOR_INSN_ACCESS_H
#include "decode/x86_decode.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_ACCESS_MAX 2         /* a memory operand and the stack, or MOVS's two */

/* The CPU state an instruction's addresses come from. */
typedef struct {
    x86_mode_t mode;              /* CS.L and CS.D (SDM Vol. 3A 5.2.1) */
    uint64_t gpr[16];             /* X86_RAX.. order */
    uint64_t rip;                 /* the instruction's offset in CS */
    uint64_t seg_base[6];         /* X86_SEG_* order */
    unsigned stack_size;          /* 8 in 64-bit mode, else 4 with SS.B, 2 without */
    bool df;                      /* RFLAGS.DF (string instructions' direction) */
} insn_cpu_t;

/* One access: @len bytes at guest-linear @lin, read and/or written. */
typedef struct {
    uint64_t lin;
    unsigned len;
    bool read, write;
} insn_access_t;

/* The memory accesses of the instruction at @code (@avail bytes of it)
 * executed in @cpu: how many (0..INSN_ACCESS_MAX, in @out; 0 for a REP
 * string instruction with no element left), or -1 where neither the
 * decoder knows the instruction nor is it one whose only access is the
 * stack (PUSH/POP of a register or an immediate, PUSHF/POPF, near CALL and
 * RET, LEAVE); a register-only form is -1 too. */
int insn_accesses(const uint8_t *code, size_t avail, const insn_cpu_t *cpu,
                  insn_access_t out[INSN_ACCESS_MAX]);

#endif
