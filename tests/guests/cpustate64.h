/* tests/guests/cpustate64.h - what cpustate64.c and cpustate64_64.S share. */
#ifndef TESTS_GUESTS_CPUSTATE64_H
#define TESTS_GUESTS_CPUSTATE64_H

/* GDT selectors (cpustate64.c builds the table). SYSCALL loads CS from
 * STAR[47:32] and SS from STAR[47:32] + 8; 64-bit SYSRET loads CS from
 * STAR[63:48] + 16 and SS from STAR[63:48] + 8, both with RPL 3 (SDM Vol. 2B
 * SYSCALL, SYSRET), hence this order. */
#define CS64_SEL_CODE32      0x08       /* flat 32-bit code (the guest library's) */
#define CS64_SEL_DATA        0x10       /* flat data */
#define CS64_SEL_CODE64      0x18       /* 64-bit code, DPL 0 = STAR[47:32] */
#define CS64_SEL_KDATA       0x20       /* data, DPL 0 = STAR[47:32] + 8 */
#define CS64_SEL_USER_BASE   0x28       /* 32-bit code, DPL 3 = STAR[63:48] */
#define CS64_SEL_UDATA       0x30       /* data, DPL 3 = STAR[63:48] + 8 */
#define CS64_SEL_UCODE64     0x38       /* 64-bit code, DPL 3 = STAR[63:48] + 16 */
#define CS64_RPL3            3

/* SYSCALL landing pads: LSTAR = cs64_syscall_pads + pad * CS64_PAD_SIZE; each
 * records its index and joins the common handler. */
#define CS64_PADS            8
#define CS64_PAD_SIZE        16

#define CS64_RFLAGS_DF       (1 << 10)  /* SDM Vol. 1 3.4.3 */
#define CS64_RFLAGS_AC       (1 << 18)

/* Debug registers (SDM Vol. 3A 17.2): DR6 and DR7 reset values, DR7 fields. */
#define CS64_DR6_RESET       0xFFFF0FF0
#define CS64_DR7_RESET       0x400
#define CS64_DR7_L0          (1 << 0)
#define CS64_DR7_L1          (1 << 2)
#define CS64_DR7_RW0_WRITE   (1 << 16)  /* R/W0 = 01: data writes */
#define CS64_DR7_LEN0_4      (3 << 18)  /* LEN0 = 11: 4 bytes */
#define CS64_DR6_B0          (1 << 0)
#define CS64_DR6_B1          (1 << 1)
#define CS64_DR6_BMASK       0xF

#define CS64_VEC_DB          1
#define CS64_VEC_UD          6
#define CS64_VEC_GP          13
#define CS64_IDT_VECTORS     256
#define CS64_GATE_INT64      0x8E       /* present, DPL 0, 64-bit interrupt gate */
#define CS64_EXIT_PORT       0xF4       /* GUEST_EXIT_PORT */
#define CS64_EXIT_UNEXPECTED 0xE0       /* status of an exception nobody expected */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Called from compatibility mode: far-jumps to 64-bit code, calls fn(arg)
 * with the System V AMD64 convention, returns its RAX in EDX:EAX. */
uint64_t cs64_call(void *fn, uint32_t arg);

/* 64-bit routines (cs64_call them). */
extern char cs64_lidt[];            /* arg: a 10-byte IDTR image */
extern char cs64_syscall_round[];   /* SYSCALL at CPL 0, SYSRET to CPL 3, SYSCALL back */
extern char cs64_swapgs_probe[];    /* %gs:0 before, after SWAPGS, after swapping back */
extern char cs64_fsgs_probe[];      /* %fs:0 and %gs:0 */
extern char cs64_dr_write[];        /* arg: uint64_t[5]: DR0-DR3, DR7 */
extern char cs64_dr_read[];         /* arg: uint64_t[5]: filled from DR0-DR3, DR7 */
extern char cs64_breakpoints[];     /* a data and an instruction breakpoint */
extern char cs64_xsetbv[];          /* arg: XCR0 value; returns the vector raised, or 0 */
extern char cs64_xgetbv[];          /* returns XCR0 */
extern char cs64_ext_edx[];         /* returns CPUID.80000001H:EDX, run in 64-bit mode */
extern char cs64_syscall_pads[];
extern char cs64_exc_db[], cs64_exc_ud[], cs64_exc_gp[], cs64_exc_other[];
extern char cs64_sysret_target[], cs64_after_syscall2[];

/* What the 64-bit routines saw. */
extern volatile uint64_t cs64_sc_count, cs64_sc_pad, cs64_sc_rcx[2], cs64_sc_r11[2],
    cs64_sc_hflags[2], cs64_sc_uflags, cs64_sc_ucs, cs64_sc_uss;
extern volatile uint64_t cs64_gs_before, cs64_gs_swapped, cs64_gs_after, cs64_msr_gs_swapped,
    cs64_msr_kgs_swapped, cs64_fs_load, cs64_gs_load;
extern volatile uint64_t cs64_db_count, cs64_db_dr6[2], cs64_bp_data, cs64_exc_vector,
    cs64_exc_error;
#endif
#endif
