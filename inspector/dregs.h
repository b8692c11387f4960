/*
 * inspector/dregs.h - the pure parts of the inspector's breakpoints and
 * addresses (dregs.c), unit-tested on the host (tests/unit/test_insp_dregs.c):
 * what DR7 holds for a set of hardware breakpoints (SDM Vol. 3B 17.2.4,
 * 17.2.5), which Z packets a debug register can serve, and which
 * guest-virtual addresses are addresses at all.
 */
#ifndef INSPECTOR_DREGS_H
#define INSPECTOR_DREGS_H
#include "rsp.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t addr;                /* guest-linear */
    unsigned kind, rw;            /* length; DR7 R/W (x86_arch.h X86_DR7_RW_*) */
    enum rsp_bp_type type;
    bool used;
} insp_hwbp_t;

/* The debug-register slot for a Z1/Z2/Z4 of @kind bytes at @addr: 0 with
 * *@rw and *@len (the bytes it covers) set, -RSP_EINVAL for a length or
 * alignment DR7 cannot express, RSP_UNSUPPORTED for Z3 (no read-only data
 * breakpoints on x86). */
int dregs_check(enum rsp_bp_type type, uint64_t addr, unsigned kind, unsigned *rw,
                unsigned *len);
/* DR7 for the @n slots of @hw (slot i in DR i): local enables, R/W and LEN
 * fields, LE, and the bit that reads as 1. */
uint64_t dregs_dr7(const insp_hwbp_t *hw, unsigned n);
/* Whether the guest itself could use linear address @va: canonical in
 * IA-32e mode (@long_mode), else 32 bits wide. */
bool dregs_va_ok(uint64_t va, bool long_mode);

/*
 * The instructions a single step must look after so that the guest never
 * sees our RFLAGS.TF (SDM Vol. 3B 17.3.1.4): those that store RFLAGS where
 * the guest reads it. PUSHF pushes it (SDM Vol. 2B PUSHF); SYSCALL saves it
 * in R11 (Vol. 2B SYSCALL); INT n, INT3, INTO and INT1 push it in the
 * handler's frame and enter the handler with TF clear (Vol. 3A 6.12.1), so
 * the step ends at the handler's first instruction, as gdb expects of a
 * bare machine. The same places must show the guest's IF, which a step
 * clears (no interrupt inside it); the instructions that write IF
 * themselves, and HLT, are told apart too (STEP_CLI_STI ... STEP_HLT).
 */
#define DREGS_INSN_MAX 15         /* bytes an instruction may have (SDM Vol. 2A 2.3.11) */
#define DREGS_OP_PUSHF 0x9C       /* SDM Vol. 2A Table A-2 */
#define DREGS_OP_OPSIZE 0x66      /* the operand-size prefix (SDM Vol. 2A 2.1.1) */

/* Whether @b is a prefix: lock/repeat, segment override, operand or
 * address size (SDM Vol. 2A 2.1.1), or in 64-bit mode (@mode64) REX
 * (2.2.1). */
bool dregs_is_prefix(uint8_t b, bool mode64);

typedef enum {
    STEP_PLAIN,                   /* nothing of TF escapes */
    STEP_PUSHF,                   /* 9C */
    STEP_SYSCALL,                 /* 0F 05 */
    STEP_INT,                     /* CD ib, CC, CE (outside 64-bit mode), F1 */
    /* The instructions that write RFLAGS.IF themselves (the step runs
     * with IF clear: their IF is the one to keep, target.c) and HLT (the
     * step over it runs with the guest's IF: it waits for an interrupt). */
    STEP_CLI_STI,                 /* FA, FB (SDM Vol. 2A CLI, Vol. 2B STI) */
    STEP_POPF,                    /* 9D: IF only with CPL <= IOPL (Vol. 2B POPF) */
    STEP_IRET,                    /* CF: the same rule (Vol. 2A IRET) */
    STEP_SYSRET,                  /* 0F 07: RFLAGS <- R11 (Vol. 2B SYSRET) */
    STEP_HLT,                     /* F4 */
} insp_step_kind_t;

typedef struct {
    insp_step_kind_t kind;
    unsigned vector;              /* STEP_INT: the vector it raises */
    unsigned len;                 /* bytes, prefixes included (0: not known) */
} insp_step_insn_t;

/* Classify the instruction in @bytes (@n of them, up to the 15 an
 * instruction may have, SDM Vol. 2A 2.3.11), @mode64 for 64-bit mode (REX
 * prefixes, no INTO). */
void dregs_step_insn(const uint8_t *bytes, unsigned n, bool mode64, insp_step_insn_t *out);

#endif
