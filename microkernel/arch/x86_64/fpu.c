/* arch/x86_64/fpu.c - FXSAVE-based FPU/SSE state switching. */
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/cr.h"
#include "arch/x86_64/io.h"
#include <string.h>

static uint32_t mxcsr_mask = MXCSR_MASK_DEFAULT;

void fpu_init(void)
{
    write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    static uint8_t probe[FXSAVE_AREA_SIZE] __attribute__((aligned(FXSAVE_ALIGN)));
    __asm__ volatile("fninit; fxsave %0" : "=m"(probe));
    uint32_t mask;
    memcpy(&mask, probe + 28, sizeof(mask));   /* MXCSR_MASK (SDM Vol. 1 10.5.1) */
    if (mask)
        mxcsr_mask = mask;
}

void fpu_save(void *area)
{
    __asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

void fpu_restore(const void *area)
{
    __asm__ volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}

void fpu_init_area(void *area)
{
    uint8_t *a = area;
    memset(a, 0, FXSAVE_AREA_SIZE);
    uint16_t fcw = FCW_DEFAULT;
    uint32_t mxcsr = MXCSR_DEFAULT;
    memcpy(a, &fcw, sizeof(fcw));
    memcpy(a + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
}

void fpu_sanitize_area(void *area)
{
    uint32_t mxcsr;
    memcpy(&mxcsr, (uint8_t *)area + FXSAVE_MXCSR_OFFSET, sizeof(mxcsr));
    mxcsr &= mxcsr_mask;       /* SDM Vol. 1 11.6.6: reserved bits set -> #GP */
    memcpy((uint8_t *)area + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
}
