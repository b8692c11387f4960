/* arch/x86_64/fpu.c - FPU/SSE/AVX state switching with XSAVE or FXSAVE. */
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/cr.h"
#include "arch/x86_64/io.h"
#include <string.h>

static uint32_t mxcsr_mask = MXCSR_MASK_DEFAULT;
uint64_t fpu_xcr0;              /* 0: FXSAVE mode */
static unsigned area_size = FXSAVE_AREA_SIZE;


static void enable_xsave(void)
{
    cpuid_regs_t f = cpuid(CPUID_LEAF_FEATURES, 0);
    if (!(f.ecx & CPUID_1_ECX_XSAVE))
        return;
    write_cr4(read_cr4() | (1ULL << CR4_OSXSAVE_BIT));
    fpu_xcr0 = XCR0_X87 | XCR0_SSE | ((f.ecx & CPUID_1_ECX_AVX) ? XCR0_AVX : 0);
    fpu_set_xcr0(fpu_xcr0);
    /* CPUID.(EAX=0DH,ECX=0):EBX: bytes needed for the components in XCR0. */
    unsigned size = cpuid(CPUID_LEAF_XSAVE, 0).ebx;
    if (size > FPU_AREA_MAX) {          /* cannot happen for x87|SSE|AVX (832) */
        fpu_xcr0 = XCR0_X87 | XCR0_SSE;
        fpu_set_xcr0(fpu_xcr0);
        size = cpuid(CPUID_LEAF_XSAVE, 0).ebx;
    }
    area_size = size;
}

void fpu_init(void)
{
    write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    static uint8_t probe[FXSAVE_AREA_SIZE] __attribute__((aligned(FPU_AREA_ALIGN)));
    __asm__ volatile("fninit; fxsave %0" : "=m"(probe));
    uint32_t mask;
    memcpy(&mask, probe + FXSAVE_MXCSR_MASK_OFFSET, sizeof(mask));
    if (mask)
        mxcsr_mask = mask;
    enable_xsave();
}

unsigned fpu_area_size(void) { return area_size; }
int fpu_uses_xsave(void) { return fpu_xcr0 != 0; }

void fpu_init_area(void *area)
{
    uint8_t *a = area;
    memset(a, 0, FPU_AREA_MAX);
    uint16_t fcw = FCW_DEFAULT;
    uint32_t mxcsr = MXCSR_DEFAULT;
    memcpy(a, &fcw, sizeof(fcw));
    /* XSTATE_BV = 0 in the header: every component starts in its initial
     * state, except MXCSR, which XRSTOR always loads (SDM Vol. 1 13.8.1). */
    memcpy(a + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
}

void fpu_sanitize_area(void *area)
{
    uint8_t *a = area;
    uint32_t mxcsr;
    memcpy(&mxcsr, a + FXSAVE_MXCSR_OFFSET, sizeof(mxcsr));
    mxcsr &= mxcsr_mask;        /* SDM Vol. 1 11.6.6: reserved bits set -> #GP */
    memcpy(a + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
    if (!fpu_xcr0)
        return;
    /* SDM Vol. 1 13.8.1: XRSTOR #GPs if XSTATE_BV has bits outside XCR0,
     * if XCOMP_BV is not 0 (standard form), or if header bytes 16-63 are set. */
    uint64_t bv;
    memcpy(&bv, a + XSAVE_HEADER_OFFSET, sizeof(bv));
    bv &= fpu_xcr0;
    memset(a + XSAVE_HEADER_OFFSET, 0, XSAVE_HEADER_SIZE);
    memcpy(a + XSAVE_HEADER_OFFSET, &bv, sizeof(bv));
}
