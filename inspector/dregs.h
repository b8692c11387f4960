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

#endif
