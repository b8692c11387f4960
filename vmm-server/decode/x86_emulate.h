/*
 * vmm-server/decode/x86_emulate.h - carry out one decoded MMIO access
 * against a guest register file and a device (read/write callbacks).
 *
 * Supported: MOV load/store/store-immediate (incl. moffs), MOVZX, MOVSX,
 * MOVSXD, STOS (one element per call), AND OR XOR ADD ADC SUB SBB CMP TEST
 * INC DEC NEG with flags, NOT, XCHG. Not supported (X86_EMU_UNSUPPORTED): MOVS, PUSH and POP, whose
 * other operand lies at a guest-linear address (DS:RSI, ES:RDI, SS:RSP) this
 * interface cannot reach (vmm-server/mmio.c does them).
 * Pure code: no system calls, no state.
 */
#ifndef VMM_DECODE_X86_EMULATE_H
#define VMM_DECODE_X86_EMULATE_H
#include "x86_decode.h"
#include "x86_arch.h"                   /* RFLAGS bits */

/* gpr[] in architectural order: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (X86_RAX..). */
typedef struct {
    uint64_t gpr[16];
    uint64_t rflags;
} x86_regs_t;

/* Device access at guest-physical `gpa` of `size` (1, 2, 4, 8) bytes; false = error. */
typedef bool (*x86_mmio_read_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t *value);
typedef bool (*x86_mmio_write_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t value);

typedef enum {
    X86_EMU_OK,
    X86_EMU_UNSUPPORTED,   /* the operation (or a malformed insn) is not emulated */
    X86_EMU_DEVICE_ERROR,  /* rd() or wr() returned false; registers are unchanged */
} x86_emu_status_t;

/*
 * Perform `insn` (from x86_decode) whose memory operand is at `gpa`:
 * one rd() and/or one wr() of insn->mem_size bytes, then the register and
 * RFLAGS updates. Registers and flags change only when every device access
 * succeeded. The caller advances RIP by insn->length, except while
 * x86_emulate_rep_pending() is true (the guest then re-executes the
 * instruction for the next element). Not atomic: a LOCK prefix is ignored.
 */
x86_emu_status_t x86_emulate_mmio(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                  x86_mmio_read_fn rd, x86_mmio_write_fn wr, void *ctx);

/* After x86_emulate_mmio: does a REP string instruction have elements left
 * (RCX/ECX/CX, by addr_size, non-zero)? Then RIP must not advance. */
bool x86_emulate_rep_pending(const x86_insn_t *insn, const x86_regs_t *regs);

const char *x86_emu_status_str(x86_emu_status_t st);

#endif
