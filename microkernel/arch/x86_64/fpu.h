/*
 * arch/x86_64/fpu.h - x87/SSE state. Saved and restored eagerly with
 * FXSAVE/FXRSTOR at every thread switch (SDM Vol. 1 10.5): simple, and with
 * a single core the cost is a few hundred instructions per switch, only when
 * the thread really changes.
 */
#ifndef ARCH_X86_64_FPU_H
#define ARCH_X86_64_FPU_H
#include <stdint.h>

#define FXSAVE_AREA_SIZE 512
#define FXSAVE_ALIGN     16
#define FXSAVE_MXCSR_OFFSET 24
#define MXCSR_DEFAULT    0x1F80    /* all exceptions masked (SDM Vol. 1 10.2.3.1) */
#define FCW_DEFAULT      0x037F    /* x87 control word after FINIT */
#define MXCSR_MASK_DEFAULT 0xFFBF  /* used when FXSAVE reports a mask of 0 (SDM 11.6.6) */

/* Enable SSE for user code (CR4.OSFXSR, OSXMMEXCPT) and clear CR0.EM/TS. */
void fpu_init(void);
void fpu_save(void *area);
void fpu_restore(const void *area);
/* Fill @area with the state of a fresh thread. */
void fpu_init_area(void *area);
/* Make an FXSAVE image from user space safe to FXRSTOR (reserved MXCSR bits cause #GP). */
void fpu_sanitize_area(void *area);

#endif
