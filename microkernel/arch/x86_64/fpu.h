/*
 * arch/x86_64/fpu.h - x87/SSE/AVX state of user threads.
 *
 * Saved and restored eagerly at every thread switch, only when the running
 * thread changes. With XSAVE (SDM Vol. 1 13), the kernel enables x87, SSE and
 * AVX in XCR0 and switches them with XSAVE/XRSTOR; without it (QEMU's TCG
 * CPU), x87 and SSE with FXSAVE/FXRSTOR (SDM Vol. 1 10.5). AVX-512 state is
 * not enabled, so its instructions fault in user mode.
 */
#ifndef ARCH_X86_64_FPU_H
#define ARCH_X86_64_FPU_H
#include <nestor/bits.h>
#include <stdint.h>

#define FXSAVE_AREA_SIZE    512
#define FPU_AREA_ALIGN      64      /* XSAVE needs 64 (FXSAVE 16) */
#define FPU_AREA_MAX        1024    /* room reserved in each TCB */
#define FXSAVE_MXCSR_OFFSET 24
#define FXSAVE_MXCSR_MASK_OFFSET 28
#define XSAVE_HEADER_OFFSET 512     /* XSTATE_BV, XCOMP_BV, reserved (SDM Vol. 1 13.4.2) */
#define XSAVE_HEADER_SIZE   64
#define MXCSR_DEFAULT       0x1F80  /* all exceptions masked (SDM Vol. 1 10.2.3.1) */
#define FCW_DEFAULT         0x037F  /* x87 control word after FINIT */
#define MXCSR_MASK_DEFAULT  0xFFBF  /* used when FXSAVE reports a mask of 0 (SDM 11.6.6) */

/* XCR0 state components (SDM Vol. 1 13.3) */
#define XCR0_X87            BIT(0)
#define XCR0_SSE            BIT(1)
#define XCR0_AVX            BIT(2)
#define CPUID_LEAF_XSAVE    0x0D
#define CR4_OSXSAVE_BIT     18

/* Enable the FPU for user code: CR0, CR4.OSFXSR/OSXMMEXCPT, XSAVE if present. */
void fpu_init(void);
/* Bytes of the state image (what READ_FPU returns). */
unsigned fpu_area_size(void);
/* Whether XSAVE (and so AVX, when the CPU has it) is in use. */
int fpu_uses_xsave(void);
/* XCR0 as set by fpu_init (0: FXSAVE mode). */
extern uint64_t fpu_xcr0;

/* XSETBV to XCR0 (SDM Vol. 2C XSETBV): the caller has checked the value. */
static inline void fpu_set_xcr0(uint64_t v)
{
    __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Save the CPU's state to @save_to and load @load_from: one mode test.
 * Inline: it runs on every thread switch, the IPC fast path included. */
static inline void fpu_switch_areas(void *save_to, const void *load_from)
{
    if (fpu_xcr0) {
        __asm__ volatile("xsave64 (%0)\n\txrstor64 (%1)"
                         : : "r"(save_to), "r"(load_from), "a"((uint32_t)fpu_xcr0), "d"(0)
                         : "memory");
    } else {
        __asm__ volatile("fxsave64 (%0)\n\tfxrstor64 (%1)" : : "r"(save_to), "r"(load_from)
                         : "memory");
    }
}

/* Fill @area with the state of a fresh thread. */
void fpu_init_area(void *area);
/* Make an image written by user space safe to restore: reserved MXCSR bits,
 * XSAVE header bits and components not enabled would fault in the kernel. */
void fpu_sanitize_area(void *area);

#endif
