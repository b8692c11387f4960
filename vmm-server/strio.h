/*
 * vmm-server/strio.h - string port I/O (INS/OUTS, SDM Vol. 2B), the pure
 * part: what an I/O exit of a string instruction asks (exit qualification,
 * SDM Vol. 3C 27.2.1 Table 27-5; VM-exit instruction-information field,
 * 27.2.5 Table 27-8), how many elements one exit carries out, the
 * memory operand's linear address and the register updates. The memory
 * and port sides are in exits.c. Host-testable (tests/unit/test_vmm_strio.c).
 */
#ifndef VMM_STRIO_H
#define VMM_STRIO_H
#include "x86_arch.h"
#include "decode/x86_decode.h"
#include <stdbool.h>
#include <stdint.h>

/* Elements one exit carries out at most: a REP with a huge RCX goes on at
 * the next exit (RIP kept), so interrupts come between batches. */
#define STRIO_BATCH 64

typedef struct {
    unsigned size;          /* element size: 1, 2 or 4 bytes */
    bool in;                /* INS (port -> ES:rDI); else OUTS (seg:rSI -> port) */
    bool rep;
    uint16_t port;
    unsigned addr_size;     /* 2, 4 or 8 bytes: which of SI/ESI/RSI etc. count */
    unsigned seg;           /* X86_SEG_* (decode/x86_decode.h, the order of Table
                               27-8): ES for INS, DS or the override for OUTS */
} strio_op_t;

/* Decode a string I/O exit; false if the qualification is not a string
 * instruction's or the instruction information holds a reserved value. */
bool strio_decode(uint64_t qualification, uint32_t instr_info, strio_op_t *op);

/* The address-size mask: 0xFFFF, 0xFFFFFFFF or all ones. */
uint64_t strio_addr_mask(const strio_op_t *op);

/* Elements to carry out at this exit: 1 without REP; with REP, the count
 * register (masked by the address size) capped at STRIO_BATCH; 0 when it
 * is 0 (REP with rCX = 0 does nothing, SDM Vol. 2B REP). */
uint64_t strio_count(const strio_op_t *op, uint64_t rcx);

/* The memory operand's linear address for offset register value @reg:
 * segment base + the offset truncated to the address size; outside 64-bit
 * mode the sum wraps at 4 GiB (SDM Vol. 3A 3.4, 5.3). */
uint64_t strio_linear(const strio_op_t *op, uint64_t seg_base, uint64_t reg, bool mode64);

/* After one element: rSI (OUTS) or rDI (INS) moves by the element size,
 * down with RFLAGS.DF, and with REP rCX counts down; a 16-bit register
 * keeps bits 63:16 (SDM Vol. 2B INS/OUTS, REP: "the count
 * register is CX, ECX or RCX by the address size"), a 32-bit one
 * zero-extended as any 32-bit register write. @index is rSI or rDI. */
void strio_step(const strio_op_t *op, uint64_t rflags, uint64_t *index, uint64_t *rcx);

#endif
