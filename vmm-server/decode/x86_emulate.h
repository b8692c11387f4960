/*
 * vmm-server/decode/x86_emulate.h - carry out one decoded MMIO access
 * against a guest register file and a device (read/write callbacks).
 *
 * Supported: every x86_op_t the decoder returns: MOV forms, MOVZX MOVSX
 * MOVSXD, the ALU ops, TEST, INC DEC NOT NEG, shifts and rotates, SHLD SHRD,
 * BT BTS BTR BTC, XCHG CMPXCHG CMPXCHG8B XADD, MUL IMUL DIV IDIV, SETcc
 * CMOVcc, BSF BSR TZCNT LZCNT POPCNT, MOVBE MOVNTI, PUSH POP, CALL/JMP
 * through memory, and MOVS STOS LODS SCAS CMPS (one element per call) with
 * the SDM's RFLAGS and the exceptions a CPU raises (#DE #GP #SS #PF #AC).
 * Pure code: no system calls, no state.
 */
#ifndef VMM_DECODE_X86_EMULATE_H
#define VMM_DECODE_X86_EMULATE_H
#include "x86_decode.h"
#include "x86_arch.h"                   /* RFLAGS bits */

/* gpr[] in architectural order: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (X86_RAX..).
 * rip: the instruction's offset in CS (x86_emulate moves it on). */
typedef struct {
    uint64_t gpr[16];
    uint64_t rflags;
    uint64_t rip;
} x86_regs_t;

/* Device access at guest-physical `gpa` of `size` (1, 2, 4, 8) bytes; false = error. */
typedef bool (*x86_mmio_read_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t *value);
typedef bool (*x86_mmio_write_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t value);

/* What a guest-linear access (x86_lin_fn) found. */
typedef enum {
    X86_LIN_OK,
    X86_LIN_UNMAPPED,      /* the guest's paging does not map *fault_la: the guest gets #PF */
    X86_LIN_DENIED,        /* mapped, but its rights forbid this access at the guest's CPL
                              (U/S, R/W with CR0.WP, SMAP): #PF with P set */
    X86_LIN_ERROR,         /* not RAM nor a device, or a device error */
} x86_lin_status_t;

/* Read (write false: *value gets `size` bytes, zero-extended) or write
 * (*value's low `size` bytes) guest-linear `la`, through the guest's paging,
 * to RAM or a device, whichever is there. On X86_LIN_UNMAPPED *fault_la is
 * the first linear byte without a translation. */
typedef x86_lin_status_t (*x86_lin_fn)(void *ctx, uint64_t la, unsigned size, bool write,
                                       uint64_t *value, uint64_t *fault_la);

/* A data segment as the emulator checks it outside 64-bit mode: offsets
 * lo..hi are inside its limit (expand-up: 0..limit; expand-down:
 * limit+1..0xFFFF or 0xFFFFFFFF by its B flag, SDM Vol. 3A 3.4.5.1). */
typedef struct {
    uint64_t base;
    uint64_t lo, hi;
} x86_seg_t;

/* Where and how the guest runs, for the forms whose other operand is at a
 * guest-linear address (MOVS CMPS: DS:rSI and ES:rDI; PUSH POP CALL: SS:rSP)
 * and for the checks a CPU makes (segment limits, canonical addresses,
 * alignment, branch targets). */
typedef struct {
    x86_mode_t mode;
    unsigned cpl;                  /* 0..3 */
    bool cr0_am;                   /* CR0.AM: alignment checking allowed (#AC at CPL 3 with
                                      RFLAGS.AC) */
    unsigned stack_addr_size;      /* 2 or 4 outside 64-bit mode (SS.B); 8 in it */
    x86_seg_t seg[6];              /* X86_SEG_ES..GS; limits ignored in 64-bit mode */
    uint64_t cs_limit;             /* branch targets beyond it are #GP(0) outside 64-bit mode */
    x86_mmio_read_fn rd;           /* the device at `gpa` */
    x86_mmio_write_fn wr;
    void *dev;
    x86_lin_fn lin;                /* guest-linear memory; NULL: those forms are unsupported */
    void *lin_ctx;
} x86_env_t;

/* An exception the instruction raises instead of completing; registers,
 * RIP and RFLAGS are then as before it (a fault, SDM Vol. 3A 6.5). */
typedef struct {
    unsigned vector;               /* X86_VEC_* */
    bool has_error;
    uint32_t error;
    bool has_cr2;                  /* #PF: the linear address */
    uint64_t cr2;
} x86_fault_t;

typedef enum {
    X86_EMU_OK,
    X86_EMU_UNSUPPORTED,   /* the operation (or a malformed insn) is not emulated */
    X86_EMU_DEVICE_ERROR,  /* rd() or wr() returned false, or lin() X86_LIN_ERROR;
                              registers are unchanged */
    X86_EMU_FAULT,         /* the guest gets *fault; registers are unchanged */
} x86_emu_status_t;

/*
 * Carry out `insn` (from x86_decode) whose memory operand lies at `gpa` on
 * env's device (the ModRM, moffs, STOS LODS SCAS operand), the other
 * operand of MOVS/CMPS and the stack through env->lin (both MOVS/CMPS
 * operands go through lin, which finds the device itself). Then the register,
 * RFLAGS and RIP updates: RIP moves past the instruction, to the branch
 * target, or, for a REP string instruction with elements left, stays (one
 * element per call: the guest re-executes it for the next). Registers change
 * only if every access succeeded; on X86_EMU_FAULT *fault says what the
 * guest gets. Not atomic: LOCK is one read, then one write.
 */
x86_emu_status_t x86_emulate(const x86_insn_t *insn, x86_regs_t *regs, const x86_env_t *env,
                             uint64_t gpa, x86_fault_t *fault);

/*
 * The same in 64-bit mode at CPL 0 without guest-linear memory (MOVS CMPS
 * PUSH POP CALL: X86_EMU_UNSUPPORTED); the caller moves RIP by
 * insn->length, except while x86_emulate_rep_pending() (regs->rip is
 * moved too and may be ignored).
 */
x86_emu_status_t x86_emulate_mmio(const x86_insn_t *insn, x86_regs_t *regs, uint64_t gpa,
                                  x86_mmio_read_fn rd, x86_mmio_write_fn wr, void *ctx);

/* After an element of a REP string instruction: are elements left? rCX (by
 * addr_size) is not zero and, for CMPS/SCAS, REPE found equal (ZF=1) or
 * REPNE unequal (ZF=0) (SDM Vol. 2B REP/REPE/REPZ/REPNE/REPNZ). */
bool x86_emulate_rep_pending(const x86_insn_t *insn, const x86_regs_t *regs);

const char *x86_emu_status_str(x86_emu_status_t st);

#endif
